#!/usr/bin/env python3
"""A test HSS: the Diameter Cx peer (3GPP TS 29.228/29.229 over RFC 6733)
that Kamailio's S-CSCF modules (cdp, ims_auth, ims_registrar_scscf) talk
to. Only the standard library; only loopback.

As a program (spawned by a test, stopped by its PID):

    hss.py CONFIG.json

it listens on 127.0.0.1:CONFIG "listen" for the S-CSCF (whose cdp peer is
"127.0.0.1" at that port: nothing to resolve), answers its CER, sends one
DWR of its own and then answers whatever comes: DWR, DPR, and the Cx
requests

- MAR: one vector of the scheme asked for: "SIP Digest" (TS 29.229
  SIP-Digest-Authenticate, Digest-HA1 = MD5(IMPI:realm:password); the
  S-CSCF makes the nonce) or Kamailio's "Digest-MD5" (the nonce from us
  in SIP-Authenticate, the password in SIP-Authorization);
- SAR: the user profile (User-Data, TS 29.228 Annex B IMSSubscription)
  with the subscriber's Initial Filter Criteria, on REGISTRATION,
  RE_REGISTRATION and UNREGISTERED_USER; a bare 2001 on the others
  (de-registration, timeout);
- UAR / LIR: the S-CSCF's name (for an I-CSCF; answered, not needed by a
  lone S-CSCF).

Every message, both ways, is one JSON line in CONFIG "log" (command,
request or answer, the AVPs decoded by name), for the test to read.

CONFIG: {"listen": PORT, "log": PATH, "origin_host": "...",
"realm": "...", "scscf_name": "sip:...", "subscribers": [{"impi": "...",
"password": "...", "impus": ["sip:..."], "ifc": [IFC, ...]}]} with IFC
{"priority": N, "server": "sip:...", "cnf": bool, "spt": [[group,
{"method": "REGISTER", "reg_types": [0, 1, 2]} | {"header": "Event",
"content": "regex"} | {"session_case": N}], ...], "include_request":
bool, "include_response": bool, "default_handling": 0|1}.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import time
from xml.sax.saxutils import escape

# -- the codec (RFC 6733 §3, §4) -------------------------------------------

FLAG_R, FLAG_P, FLAG_E = 0x80, 0x40, 0x20
AVP_V, AVP_M = 0x80, 0x40
TGPP = 10415            # 3GPP's vendor id
CX = 16777216           # the Cx/Dx application

CER, DWR, DPR = 257, 280, 282
UAR, SAR, LIR, MAR = 300, 301, 302, 303
COMMANDS = {CER: "CE", DWR: "DW", DPR: "DP", UAR: "UA", SAR: "SA",
            LIR: "LI", MAR: "MA", 304: "RT", 305: "PP"}

# name: (code, vendor, type); type: u32, utf8, octets, addr, grouped
AVPS = {
    "User-Name": (1, 0, "utf8"),
    "Digest-Realm": (104, 0, "utf8"),
    "Digest-QoP": (110, 0, "utf8"),
    "Digest-Algorithm": (111, 0, "utf8"),
    "Digest-HA1": (121, 0, "utf8"),
    "Host-IP-Address": (257, 0, "addr"),
    "Auth-Application-Id": (258, 0, "u32"),
    "Acct-Application-Id": (259, 0, "u32"),
    "Vendor-Specific-Application-Id": (260, 0, "grouped"),
    "Session-Id": (263, 0, "utf8"),
    "Origin-Host": (264, 0, "utf8"),
    "Supported-Vendor-Id": (265, 0, "u32"),
    "Vendor-Id": (266, 0, "u32"),
    "Firmware-Revision": (267, 0, "u32"),
    "Result-Code": (268, 0, "u32"),
    "Product-Name": (269, 0, "utf8"),
    "Disconnect-Cause": (273, 0, "u32"),
    "Auth-Session-State": (277, 0, "u32"),
    "Origin-State-Id": (278, 0, "u32"),
    "Failed-AVP": (279, 0, "grouped"),
    "Error-Message": (281, 0, "utf8"),
    "Destination-Realm": (283, 0, "utf8"),
    "Route-Record": (282, 0, "utf8"),
    "Proxy-Info": (284, 0, "grouped"),
    "Destination-Host": (293, 0, "utf8"),
    "Origin-Realm": (296, 0, "utf8"),
    "Experimental-Result": (297, 0, "grouped"),
    "Experimental-Result-Code": (298, 0, "u32"),
    "Inband-Security-Id": (299, 0, "u32"),
    "Visited-Network-Identifier": (600, TGPP, "octets"),
    "Public-Identity": (601, TGPP, "utf8"),
    "Server-Name": (602, TGPP, "utf8"),
    "Server-Capabilities": (603, TGPP, "grouped"),
    "Mandatory-Capability": (604, TGPP, "u32"),
    "Optional-Capability": (605, TGPP, "u32"),
    "User-Data": (606, TGPP, "octets"),
    "SIP-Number-Auth-Items": (607, TGPP, "u32"),
    "SIP-Authentication-Scheme": (608, TGPP, "utf8"),
    "SIP-Authenticate": (609, TGPP, "octets"),
    "SIP-Authorization": (610, TGPP, "octets"),
    "SIP-Authentication-Context": (611, TGPP, "octets"),
    "SIP-Auth-Data-Item": (612, TGPP, "grouped"),
    "SIP-Item-Number": (613, TGPP, "u32"),
    "Server-Assignment-Type": (614, TGPP, "u32"),
    "Deregistration-Reason": (615, TGPP, "grouped"),
    "Charging-Information": (618, TGPP, "grouped"),
    "User-Authorization-Type": (623, TGPP, "u32"),
    "User-Data-Already-Available": (624, TGPP, "u32"),
    "Supported-Features": (628, TGPP, "grouped"),
    "Feature-List-ID": (629, TGPP, "u32"),
    "Feature-List": (630, TGPP, "u32"),
    "Associated-Identities": (632, TGPP, "grouped"),
    "Originating-Request": (633, TGPP, "u32"),
    "SIP-Digest-Authenticate": (635, TGPP, "grouped"),
    "Multiple-Registration-Indication": (648, TGPP, "u32"),
    "Session-Priority": (650, TGPP, "u32"),
}
BY_CODE = {(c, v): (n, t) for n, (c, v, t) in AVPS.items()}

# TS 29.228 §6.3.15 Server-Assignment-Type
SAT = {0: "NO_ASSIGNMENT", 1: "REGISTRATION", 2: "RE_REGISTRATION",
       3: "UNREGISTERED_USER", 4: "TIMEOUT_DEREGISTRATION",
       5: "USER_DEREGISTRATION", 6: "TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME",
       7: "USER_DEREGISTRATION_STORE_SERVER_NAME",
       8: "ADMINISTRATIVE_DEREGISTRATION", 9: "AUTHENTICATION_FAILURE",
       10: "AUTHENTICATION_TIMEOUT", 11: "DEREGISTRATION_TOO_MUCH_DATA"}


def avp(name, value):
    """One AVP by name; value: int, str, bytes, (family, ip) or a list of
    AVPs (grouped). The M bit is set, V when the AVP is a vendor's."""
    code, vendor, typ = AVPS[name]
    if typ == "u32":
        data = struct.pack("!I", value)
    elif typ == "grouped":
        data = b"".join(value)
    elif typ == "addr":
        data = struct.pack("!H", 1) + socket.inet_aton(value)
    elif isinstance(value, str):
        data = value.encode()
    else:
        data = value
    flags = AVP_M | (AVP_V if vendor else 0)
    hlen = 12 if vendor else 8
    head = struct.pack("!IB", code, flags) + (hlen + len(data)).to_bytes(3, "big")
    if vendor:
        head += struct.pack("!I", vendor)
    return head + data + b"\0" * (-len(data) % 4)


def parse_avps(buf):
    """[(name or code, vendor, value)] of a run of AVPs; grouped ones
    nested, unknown ones as hex."""
    out = []
    i = 0
    while i + 8 <= len(buf):
        code, flags = struct.unpack("!IB", buf[i:i + 5])
        length = int.from_bytes(buf[i + 5:i + 8], "big")
        if length < 8 or i + length > len(buf):
            raise ValueError("bad AVP length %d at %d" % (length, i))
        vendor, hlen = 0, 8
        if flags & AVP_V:
            vendor = struct.unpack("!I", buf[i + 8:i + 12])[0]
            hlen = 12
        data = buf[i + hlen:i + length]
        name, typ = BY_CODE.get((code, vendor), ("%d:%d" % (code, vendor),
                                                 "octets"))
        if typ == "u32" and len(data) == 4:
            val = struct.unpack("!I", data)[0]
        elif typ == "grouped":
            val = parse_avps(data)
        elif typ == "utf8":
            val = data.decode(errors="replace")
        elif typ == "addr" and len(data) == 6:
            val = socket.inet_ntoa(data[2:])
        else:
            try:
                val = data.decode()
            except UnicodeDecodeError:
                val = data.hex()
        out.append((name, val))
        i += length + (-length % 4)
    return out


class Message:
    def __init__(self, cmd, flags, app, hbh, e2e, avps):
        self.cmd, self.flags, self.app = cmd, flags, app
        self.hbh, self.e2e, self.avps = hbh, e2e, avps

    @property
    def request(self):
        return bool(self.flags & FLAG_R)

    def get(self, name, default=None):
        for n, v in self.avps:
            if n == name:
                return v
        return default

    def record(self, direction):
        return {"t": round(time.time(), 3), "dir": direction,
                "cmd": self.cmd, "name": COMMANDS.get(self.cmd, str(self.cmd))
                + ("R" if self.request else "A"),
                "app": self.app, "avps": self.avps}


def encode(cmd, flags, app, hbh, e2e, avps):
    body = b"".join(avps)
    return (struct.pack("!B", 1) + (20 + len(body)).to_bytes(3, "big") +
            struct.pack("!B", flags) + cmd.to_bytes(3, "big") +
            struct.pack("!III", app, hbh, e2e) + body)


def read_message(sock):
    head = _exact(sock, 20)
    if head is None:
        return None
    if head[0] != 1:
        raise ValueError("Diameter version %d" % head[0])
    length = int.from_bytes(head[1:4], "big")
    flags = head[4]
    cmd = int.from_bytes(head[5:8], "big")
    app, hbh, e2e = struct.unpack("!III", head[8:20])
    body = _exact(sock, length - 20) if length > 20 else b""
    if body is None:
        return None
    return Message(cmd, flags, app, hbh, e2e, parse_avps(body))


def _exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


# -- the user profile (TS 29.228 Annex B / Annex E) --------------------------

def _spt(group, s):
    x = "<SPT><ConditionNegated>%d</ConditionNegated><Group>%d</Group>" % (
        1 if s.get("negated") else 0, group)
    if "method" in s:
        x += "<Method>%s</Method>" % escape(s["method"])
        if "reg_types" in s:
            x += "<Extension>%s</Extension>" % "".join(
                "<RegistrationType>%d</RegistrationType>" % t
                for t in s["reg_types"])
    elif "header" in s:
        x += "<SIPHeader><Header>%s</Header>" % escape(s["header"])
        if "content" in s:
            x += "<Content>%s</Content>" % escape(s["content"])
        x += "</SIPHeader>"
    elif "session_case" in s:
        x += "<SessionCase>%d</SessionCase>" % s["session_case"]
    elif "request_uri" in s:
        x += "<RequestURI>%s</RequestURI>" % escape(s["request_uri"])
    return x + "</SPT>"


def _ifc(f):
    tp = "<TriggerPoint><ConditionTypeCNF>%d</ConditionTypeCNF>%s" \
         "</TriggerPoint>" % (1 if f.get("cnf", True) else 0,
                              "".join(_spt(g, s) for g, s in f["spt"]))
    ext = ""
    if f.get("include_request"):
        ext += "<IncludeRegisterRequest/>"
    if f.get("include_response"):
        ext += "<IncludeRegisterResponse/>"
    return ("<InitialFilterCriteria><Priority>%d</Priority>%s"
            "<ApplicationServer><ServerName>%s</ServerName>"
            "<DefaultHandling>%d</DefaultHandling>%s</ApplicationServer>"
            "</InitialFilterCriteria>" % (
                f.get("priority", 0), tp, escape(f["server"]),
                f.get("default_handling", 0),
                "<Extension>%s</Extension>" % ext if ext else ""))


def user_data(sub):
    """The IMSSubscription document of one subscriber: one service
    profile, every public identity in it, its iFCs."""
    ids = "".join("<PublicIdentity><Identity>%s</Identity></PublicIdentity>"
                  % escape(i) for i in sub["impus"])
    return ('<?xml version="1.0" encoding="UTF-8"?><IMSSubscription>'
            "<PrivateID>%s</PrivateID><ServiceProfile>%s%s</ServiceProfile>"
            "</IMSSubscription>" % (escape(sub["impi"]), ids,
                                    "".join(_ifc(f) for f in sub["ifc"])))


# -- the peer ------------------------------------------------------------------

class Hss:
    def __init__(self, conf):
        self.conf = conf
        self.host = conf.get("origin_host", "hss.example.com")
        self.realm = conf.get("realm", "example.com")
        self.sock = None
        self.log = open(conf["log"], "a", buffering=1)
        self.hbh = int(time.time()) & 0xffff

    def write(self, rec):
        self.log.write(json.dumps(rec) + "\n")

    def send(self, cmd, flags, app, avps, hbh=None, e2e=None):
        if hbh is None:
            self.hbh += 1
            hbh = e2e = self.hbh
        data = encode(cmd, flags, app, hbh, e2e, avps)
        self.sock.sendall(data)
        m = Message(cmd, flags, app, hbh, e2e, parse_avps(data[20:]))
        self.write(m.record("out"))
        return hbh

    def origin(self):
        return [avp("Origin-Host", self.host), avp("Origin-Realm", self.realm)]

    def capabilities(self):
        return [avp("Host-IP-Address", "127.0.0.1"),
                avp("Vendor-Id", TGPP),
                avp("Product-Name", "sippush test HSS"),
                avp("Supported-Vendor-Id", TGPP),
                avp("Auth-Application-Id", CX),
                avp("Vendor-Specific-Application-Id",
                    [avp("Vendor-Id", TGPP), avp("Auth-Application-Id", CX)])]

    def on_cer(self, cer):
        """The S-CSCF's CER: CEA 2001 with our Cx capabilities"""
        self.answer(cer, self.capabilities() +
                    [avp("Origin-State-Id", int(time.time()))])

    def answer(self, req, avps, result=2001, experimental=None):
        head = []
        if req.get("Session-Id") is not None:
            head.append(avp("Session-Id", req.get("Session-Id")))
        if req.app == CX:
            head += [avp("Vendor-Specific-Application-Id",
                         [avp("Vendor-Id", TGPP),
                          avp("Auth-Application-Id", CX)]),
                     avp("Auth-Session-State", 1)]
        if experimental is not None:
            head.append(avp("Experimental-Result", [
                avp("Vendor-Id", TGPP),
                avp("Experimental-Result-Code", experimental)]))
        else:
            head.append(avp("Result-Code", result))
        self.send(req.cmd, req.flags & FLAG_P, req.app, head +
                  self.origin() + avps, req.hbh, req.e2e)

    def subscriber(self, impi=None, impu=None):
        for s in self.conf["subscribers"]:
            if impi is not None and s["impi"] == impi:
                return s
            if impu is not None and impu in s["impus"]:
                return s
        return None

    def on_mar(self, req):
        """One vector of the scheme the S-CSCF asked for: "SIP Digest"
        (TS 29.228: Digest-HA1; the S-CSCF draws the nonce) or
        "Digest-MD5" (Kamailio's MD5: our nonce in SIP-Authenticate, the
        password in SIP-Authorization)"""
        impi = req.get("User-Name")
        impu = req.get("Public-Identity")
        sub = self.subscriber(impi=impi)
        if not sub or impu not in sub["impus"]:
            return self.answer(req, [], experimental=5001)  # user unknown
        item = dict(req.get("SIP-Auth-Data-Item") or [])
        scheme = item.get("SIP-Authentication-Scheme", "")
        if scheme == "Digest-MD5":
            vector = [avp("SIP-Authentication-Scheme", scheme),
                      avp("SIP-Authenticate", os.urandom(16)),
                      avp("SIP-Authorization", sub["password"])]
        else:
            ha1 = hashlib.md5(("%s:%s:%s" % (impi, self.realm,
                                             sub["password"])).encode())
            vector = [avp("SIP-Authentication-Scheme", "SIP Digest"),
                      avp("SIP-Digest-Authenticate", [
                          avp("Digest-Realm", self.realm),
                          avp("Digest-QoP", "auth"),
                          avp("Digest-HA1", ha1.hexdigest())])]
        self.answer(req, [
            avp("User-Name", impi), avp("Public-Identity", impu),
            avp("SIP-Number-Auth-Items", 1),
            avp("SIP-Auth-Data-Item", [avp("SIP-Item-Number", 1)] + vector)])

    def on_sar(self, req):
        impu = req.get("Public-Identity")
        impi = req.get("User-Name")
        sub = self.subscriber(impi=impi) if impi else None
        sub = sub or self.subscriber(impu=impu)
        if not sub:
            return self.answer(req, [], experimental=5001)
        sat = req.get("Server-Assignment-Type")
        avps = [avp("User-Name", sub["impi"])]
        if sat in (1, 2, 3):
            avps.append(avp("User-Data", user_data(sub).encode()))
        self.answer(req, avps)

    def on_uar(self, req):
        self.answer(req, [avp("Server-Name", self.conf["scscf_name"])],
                    experimental=2001)

    def on_lir(self, req):
        self.answer(req, [avp("Server-Name", self.conf["scscf_name"])])

    def serve(self):
        handlers = {MAR: self.on_mar, SAR: self.on_sar, UAR: self.on_uar,
                    LIR: self.on_lir}
        while True:
            try:
                m = read_message(self.sock)
            except OSError:
                m = None
            if m is None:
                self.write({"note": "the S-CSCF closed the connection"})
                return
            self.write(m.record("in"))
            if not m.request:
                continue
            if m.cmd == CER:
                self.on_cer(m)
                # a watchdog of ours, answered by the S-CSCF's DWA
                self.send(DWR, FLAG_R, 0,
                          self.origin() + [avp("Origin-State-Id", 1)])
            elif m.cmd == DWR:
                self.answer(m, [avp("Origin-State-Id", 1)])
            elif m.cmd == DPR:
                self.answer(m, [])
                return
            elif m.cmd in handlers:
                handlers[m.cmd](m)
            else:
                self.answer(m, [], result=3001)  # command unsupported


def main():
    with open(sys.argv[1]) as f:
        conf = json.load(f)
    hss = Hss(conf)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", conf["listen"]))
    lsock.listen(4)
    hss.write({"note": "listening"})
    while True:   # one S-CSCF at a time; again when it reconnects
        hss.sock, peer = lsock.accept()
        hss.write({"note": "connection from %s:%d" % peer})
        hss.serve()
        hss.sock.close()


if __name__ == "__main__":
    main()

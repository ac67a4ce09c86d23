"""A SIP digest client over UDP for the tests: one socket, a REGISTER or
SUBSCRIBE answered 401, then sent again with credentials (RFC 2617/7616
qop=auth; the client's nc counts up unless told otherwise)."""
import hashlib
import re
import socket
import time


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def challenge_of(answer):
    m = re.search(r"^WWW-Authenticate: *Digest (.*)$", answer, re.M | re.I)
    if not m:
        return None
    return dict(re.findall(r'(\w+)="?([^",]*)"?', m.group(1)))


def authorization(user, password, ch, method, uri, nc=1, cnonce="c0ffee"):
    ha1 = md5("%s:%s:%s" % (user, ch["realm"], password))
    ha2 = md5("%s:%s" % (method, uri))
    if "qop" in ch:
        resp = md5("%s:%s:%08x:%s:auth:%s" % (ha1, ch["nonce"], nc, cnonce,
                                              ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=MD5, qop=auth, nc=%08x, '
                'cnonce="%s"' % (user, ch["realm"], ch["nonce"], uri, resp,
                                 nc, cnonce))
    resp = md5("%s:%s:%s" % (ha1, ch["nonce"], ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5' % (user, ch["realm"], ch["nonce"],
                                              uri, resp))


class Client:
    """One UDP socket on 127.0.0.1; request() fills {via} and {branch}."""

    def __init__(self, port, timeout=5):
        self.port = port
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(timeout)
        self.lport = self.s.getsockname()[1]

    def send(self, text):
        text = text.replace("{via}", "127.0.0.1:%d" % self.lport)
        text = text.replace("{branch}", "z9hG4bK-%d" % time.time_ns())
        self.s.sendto(text.encode(), ("127.0.0.1", self.port))

    def recv(self):
        try:
            return self.s.recv(65535).decode(errors="replace")
        except socket.timeout:
            return ""

    def request(self, text):
        self.send(text)
        return self.recv()

    def close(self):
        self.s.close()


def register_text(user, contact, host="example.com", expires=600,
                  call_id=None, cseq=1, authz=None, extra=""):
    return ("REGISTER sip:%s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP {via};branch={branch};rport\r\n"
            "From: <sip:%s@%s>;tag=a%d\r\n"
            "To: <sip:%s@%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: %d REGISTER\r\n"
            "%s"
            "%s"
            "Expires: %d\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (host, user, host, cseq, user, host,
               call_id or "reg-%d@test" % time.time_ns(), cseq,
               "Contact: %s\r\n" % contact if contact else "",
               ("Authorization: %s\r\n" % authz if authz else "") + extra,
               expires))


def digest_register(port, user, password, contact, host="example.com",
                    expires=600, extra=""):
    """REGISTER with credentials: (final answer, the Authorization sent,
    the client, the Call-ID) — the client is left open for replays."""
    c = Client(port)
    cid = "reg-%d@test" % time.time_ns()
    first = c.request(register_text(user, contact, host, expires, cid, 1,
                                    extra=extra))
    ch = challenge_of(first)
    if not ch:
        return first, None, c, cid
    authz = authorization(user, password, ch, "REGISTER", "sip:" + host)
    ans = c.request(register_text(user, contact, host, expires, cid, 2,
                                  authz, extra))
    return ans, authz, c, cid

#!/usr/bin/env python3
"""The ISC interface against a real S-CSCF: Kamailio 5.6's IMS modules
(Debian's kamailio-ims-modules: cdp, ims_auth, ims_usrloc_scscf,
ims_registrar_scscf, ims_isc; tests/interop/kamailio/scscf.cfg) with a
test HSS on Diameter Cx (tests/interop/hss.py). sippush-agents register at
the S-CSCF with digest authentication (MAR), the S-CSCF downloads the user
profile (SAR) and its Initial Filter Criteria make it send sippushd the
third-party REGISTER (ims_isc); pushes go from sippushd through the S-CSCF
(the route the third-party REGISTER taught) to the terminals. Checked on
the wire (tshark decodes SIP and Diameter) and in sippushd's store.

What Kamailio 5.6.3's S-CSCF does not do, each shown where it matters:
no GRUU and no caller preferences (its lookup() drops ;gr= and forks to
every contact of the public identity, so a push meant for one terminal
reaches all); one reusable nonce per private identity (two terminals
on one IMPI: only the last to authenticate can refresh or de-register
without a new challenge, and that challenge has no stale=true); nc must
be exactly the last REGISTER's + 1 (a terminal that sent credentials on
another request since gets a 401); IncludeRegisterResponse brings a 200
the S-CSCF makes from the REGISTER (no Contact), and an iFC with both
Include elements brings only the REGISTER."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Capture, Daemon, check, free_port, run,
                     start_kamailio, wait_until)
from test_agent import Agent

HERE = os.path.dirname(os.path.abspath(__file__))
AOR = "sip:vera@example.com"
# the private identity the S-CSCF derives from the To of a REGISTER
# without credentials (the agent sends none before the 401): both
# terminals of the test use it
IMPI = "vera@example.com"
PASSWORD = "vera-secret"
CAPS = ("--vendor", "vendor.example", "--model", "X100",
        "--ua-version", "2.1")

# TS 29.228/29.229 codes
CER, DWR, SAR, MAR = 257, 280, 301, 303
SAT_REGISTRATION, SAT_RE_REGISTRATION, SAT_USER_DEREGISTRATION = 1, 2, 5

CDP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- the S-CSCF's Diameter peer: the HSS at 127.0.0.1 (no name to
     resolve); Tc short, so that a watchdog comes within the test -->
<DiameterPeer FQDN="scscf.example.com" Realm="example.com" Vendor_Id="10415"
  Product_Name="CDiameterPeer" AcceptUnknownPeers="0"
  DropUnknownOnDisconnect="1" Tc="2" Workers="2" QueueLength="32"
  ConnectTimeout="2" TransactionTimeout="5" SessionsHashSize="128"
  DefaultAuthSessionTimeout="3600" MaxAuthSessionTimeout="3600">
  <Peer FQDN="127.0.0.1" Realm="example.com" port="%d"/>
  <Auth id="16777216" vendor="10415"/>
  <SupportedVendor vendor="10415"/>
  <DefaultRoute FQDN="127.0.0.1" metric="10"/>
</DiameterPeer>
"""


def profile_ifcs(as_uri):
    """The subscriber's iFCs (TS 29.228 Annex B): every REGISTER of a push
    terminal (initial, re-, de-registration) to the Push Sender Agent with
    the REGISTER and its 200 (TS 24.229 §5.4.1.7); a second one asking for
    the 200 alone, which shows what Kamailio sends for it; the push
    subscription (SUBSCRIBE for ua-profile to a registered user,
    terminating) to the PSA."""
    reg = {"method": "REGISTER", "reg_types": [0, 1, 2]}
    return [
        {"priority": 0, "server": as_uri,
         "spt": [[0, reg], [1, {"header": "Contact",
                                "content": "pusheventapp"}]],
         "include_request": True, "include_response": True},
        {"priority": 1, "server": as_uri, "spt": [[0, reg]],
         "include_response": True},
        {"priority": 2, "server": as_uri,
         "spt": [[0, {"method": "SUBSCRIBE"}],
                 [1, {"header": "Event", "content": "ua-profile"}],
                 [2, {"session_case": 1}]]},
    ]


class Ims:
    """The HSS (its own process) and the S-CSCF (Kamailio) of one test.
    alg: what the S-CSCF asks the HSS for, "MD5" (Digest-MD5: the HSS's
    nonce) or "3GPP-Digest" (SIP Digest: the HSS's HA1, Kamailio's
    nonce)."""

    def __init__(self, env, as_port, alg):
        self.env = env
        self.alg = alg
        self.port = free_port()
        self.dia_port = free_port()
        self.uri = "sip:127.0.0.1:%d" % self.port
        self.as_uri = "sip:127.0.0.1:%d" % as_port
        self.hss_log = env.path("hss.jsonl")
        conf = {"listen": self.dia_port, "log": self.hss_log,
                "origin_host": "hss.example.com", "realm": "example.com",
                "scscf_name": self.uri,
                "subscribers": [{"impi": IMPI, "password": PASSWORD,
                                 "impus": [AOR],
                                 "ifc": profile_ifcs(self.as_uri)}]}
        with open(env.path("hss.json"), "w") as f:
            json.dump(conf, f)
        self.hss = env.spawn([sys.executable, os.path.join(HERE, "hss.py"),
                              env.path("hss.json")], "hss.log")
        wait_until(lambda: self._note("listening"), 10, "the HSS")

    def start(self, watchdog=False):
        """The S-CSCF; returns once it had our CEA (and, with watchdog,
        its first DWR our DWA)"""
        xml = self.env.path("scscf-cdp.xml")
        with open(xml, "w") as f:
            f.write(CDP_XML % self.dia_port)
        with open(os.path.join(HERE, "kamailio", "scscf.cfg")) as f:
            cfg = f.read().replace("__PORT__", str(self.port)).replace(
                "__CDP_XML__", xml).replace("__ALG__", self.alg)
        self.kam = start_kamailio(self.env, cfg)
        wait_until(lambda: self.diameter("CEA", "out"), 15,
                   "the S-CSCF's CER and our CEA")
        if watchdog:
            wait_until(lambda: self.diameter("DWA", "out"), 15,
                       "the S-CSCF's DWR and our DWA")
        return self

    def _note(self, note):
        if self.hss.poll() is not None:
            with open(self.env.path("hss.log"), errors="replace") as f:
                check(False, "hss.py exited: " + f.read()[-2000:])
        try:
            with open(self.hss_log) as f:
                return any(json.loads(l).get("note") == note for l in f)
        except OSError:
            return False

    def diameter(self, name=None, direction=None):
        """The Diameter messages as the HSS logged them"""
        out = []
        with open(self.hss_log) as f:
            for line in f:
                r = json.loads(line)
                if "cmd" in r and name in (None, r["name"]) and \
                        direction in (None, r["dir"]):
                    out.append(r)
        return out


def setup(env, alg="MD5", watchdog=False, agents=(("agent1", ()),),
          psa=()):
    """sippushd (its options psa) pushing through the S-CSCF (--outbound),
    the HSS, the S-CSCF, the agents (not started) and a capture"""
    d = Daemon(env, "--trust-udp", *psa)
    ims = Ims(env, d.sip_port, alg)
    d.extra += ["--outbound", ims.uri]
    pw = env.path("password")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    # --reg-retry 1: ims_auth sends its 401 before it stores the vector
    # (cxdx_mar.c): an answer back within a millisecond can miss it and
    # get a second 401, which the agent takes as a failure
    ags = [Agent(env, "vera", ims.port, "--auth-user", IMPI,
                 "--auth-pass-file", pw, "--reg-retry", "1", *extra,
                 name=name) for name, extra in agents]
    cap = Capture(env, [ims.port, d.sip_port, ims.dia_port] +
                  [a.port for a in ags])
    ims.start(watchdog)
    d.start()
    return d, ims, ags, cap


def bodies(a):
    """The contents an agent's handler got, one per push taken"""
    out = []
    for f in a.files():
        if not f.endswith(".meta"):
            with open(os.path.join(a.inbox, f), errors="replace") as fh:
                out.append(fh.read())
    return out


def registered(d, ims, agents):
    """Every agent known to sippushd, each by the S-CSCF's third-party
    REGISTER, reached through the S-CSCF"""
    terms = d.terminals(AOR)
    check(len(terms) == len(agents) and
          all(t["source"] == "third-party" and t["apps"] == ["mms.ua"] and
              t["path"] == "<%s;lr>" % ims.uri for t in terms),
          "records from the S-CSCF: %s" % terms)
    check(sorted(t["instance"] for t in terms) ==
          sorted(a.instance() for a in agents), "the instances: %s" % terms)


def tshark(cap, ims, display, fields):
    """Rows (one list per field, its occurrences) of the frames matching
    display: SIP decoded on the capture's UDP ports, Diameter on the
    S-CSCF's Cx connection"""
    args = ["tshark", "-r", cap.file, "-Y", display, "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=\x1f",
            "-d", "tcp.port==%d,diameter" % ims.dia_port]
    for p in cap.ports:
        if p != ims.dia_port:
            args += ["-d", "udp.port==%d,sip" % p]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "tshark -r: " + out.stderr[-500:])
    return [[c.split("\x1f") if c else [] for c in l.split("\t")]
            for l in out.stdout.splitlines() if l.strip()]


SIP_FIELDS = {"n": "frame.number", "src": "udp.srcport",
              "dst": "udp.dstport", "method": "sip.Method",
              "code": "sip.Status-Code", "cseq": "sip.CSeq.method",
              "ctype": "sip.Content-Type", "ruri": "sip.r-uri",
              "www": "sip.WWW-Authenticate", "nonce": "sip.auth.nonce",
              "contact": "sip.Contact", "expires": "sip.Expires",
              "ac": "sip.Accept-Contact",
              "rr": "sip.Record-Route", "route": "sip.Route",
              "event": "sip.Event", "callid": "sip.Call-ID",
              "seq": "sip.CSeq.seq"}


def sip_rows(cap, ims):
    keys = list(SIP_FIELDS)
    rows = []
    for r in tshark(cap, ims, "sip", [SIP_FIELDS[k] for k in keys]):
        row = dict(zip(keys, r))
        for k in ("n", "src", "dst"):
            row[k] = int(row[k][0])
        rows.append(row)
    return rows


def diameter_rows(cap, ims):
    names = ("code", "request", "sat", "scheme", "src", "ha1", "sip_auth",
             "user_data")
    rows = []
    for r in tshark(cap, ims, "diameter",
                    ["diameter.cmd.code", "diameter.flags.request",
                     "diameter.Server-Assignment-Type",
                     "diameter.3GPP-SIP-Authentication-Scheme",
                     "tcp.srcport", "diameter.Digest-HA1",
                     "diameter.3GPP-SIP-Authenticate",
                     "diameter.Cx-User-Data"]):
        row = dict(zip(names, r))
        row["code"] = int(row["code"][0])
        row["request"] = row["request"][0] in ("1", "True")
        row["src"] = int(row["src"][0])
        rows.append(row)
    return rows


def user_data(field):
    """The XML of a Cx-User-Data field (tshark shows octets as hex)"""
    v = field[0]
    return v if v.startswith("<") else bytes.fromhex(
        v.replace(":", "")).decode()


def check_cx(cap, ims, scheme, sats, maybe=()):
    """Diameter on the wire: CER/CEA, MAR/MAA in the scheme, SAR/SAA with
    the assignment types sats (and perhaps those in maybe), the profile
    naming sippushd with its iFC elements, nothing malformed"""
    dia = diameter_rows(cap, ims)
    for code, what in ((CER, "CER/CEA"), (MAR, "MAR/MAA"), (SAR, "SAR/SAA")):
        check(any(r["code"] == code and r["request"] for r in dia) and
              any(r["code"] == code and not r["request"] for r in dia),
              "%s on the wire: %s" % (what, dia))
    check(all(r["scheme"] == [scheme] for r in dia if r["code"] == MAR),
          "MAR/MAA in %s: %s" % (scheme, dia))
    got = [int(r["sat"][0]) for r in dia if r["code"] == SAR and
           r["request"]]
    check(set(sats) <= set(got) <= set(sats) | set(maybe),
          "SAR types %s, expected %s" % (got, sats))
    profiles = [user_data(r["user_data"]) for r in dia
                if r["code"] == SAR and not r["request"] and r["user_data"]]
    check(profiles and all(
        "<ServerName>%s</ServerName>" % ims.as_uri in p and
        "<IncludeRegisterRequest/><IncludeRegisterResponse/>" in p
        for p in profiles), "SAA profiles: %s" % profiles)
    bad = tshark(cap, ims, "_ws.malformed || _ws.expert.severity == error",
                 ["frame.number"])
    check(not bad, "malformed frames: %s" % bad)
    return dia


def third_party(rows, ims, d):
    """The S-CSCF's third-party REGISTERs to sippushd, as ([with the
    terminal's REGISTER], [with a 200])"""
    tp = [r for r in rows if r["src"] == ims.port and r["dst"] ==
          d.sip_port and r["method"][:1] == ["REGISTER"]]
    check(tp and all(r["ruri"][0] == ims.as_uri and
                     r["ctype"] == ["message/sip"] for r in tp),
          "third-party REGISTERs to the AS, message/sip: %s" % tp)
    return ([r for r in tp if r["method"] == ["REGISTER", "REGISTER"]],
            [r for r in tp if r["method"] == ["REGISTER"] and
             r["code"] == ["200"]])


def two_registered(env, psa=()):
    d, ims, (a1, a2), cap = setup(env, agents=(("agent1", ()),
                                               ("agent2", ())), psa=psa)
    a1.start()
    wait_until(lambda: len(d.terminals(AOR)) == 1, 20,
               "sippushd to learn agent1 from the S-CSCF")
    a2.start()
    wait_until(lambda: len(d.terminals(AOR)) == 2, 20,
               "sippushd to learn agent2 from the S-CSCF")
    registered(d, ims, (a1, a2))
    return d, ims, a1, a2, cap


def test_two_terminals_page_mode(env):
    """Two terminals of vera register at the S-CSCF (Digest-MD5); pushes
    to both and to one go through it, each addressed to a terminal's
    GRUU (--gruu construct, the default); one de-registers."""
    d, ims, a1, a2, cap = two_registered(env)

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="to-both")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 2 and
          all(x["sip_status"] == 200 for x in st["deliveries"]),
          "push to both: %s" % st)
    wait_until(lambda: "to-both" in bodies(a1) and "to-both" in bodies(a2),
               5, "each handler to get it")

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="to-one", terminals=a2.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["sip_status"] == 200, "push to one: %s" % st)
    wait_until(lambda: "to-one" in bodies(a2), 5, "agent2 to get it")

    # de-registration (Expires: 0 with its nonce again, nc 2): agent2, the
    # last to authenticate with vera's IMPI. ims_auth keeps one reusable
    # nonce per IMPI/IMPU: agent2's authentication spoiled agent1's.
    a2.proc.terminate()
    a2.proc.wait(15)
    wait_until(lambda: [t["instance"] for t in d.terminals(AOR)] ==
               [a1.instance()], 10, "sippushd to drop agent2")
    check(ims.kam.poll() is None, "the S-CSCF still running")
    cap.stop()

    # agent2's registration was a re-registration of vera's IMPU (SAR
    # type 2); its de-registration left agent1's contact: no SAR
    check_cx(cap, ims, "Digest-MD5", [SAT_REGISTRATION, SAT_RE_REGISTRATION])
    rows = sip_rows(cap, ims)
    agents = (a1.port, a2.port)
    check(sum(1 for r in rows if r["src"] == ims.port and
              r["code"] == ["401"] and r["dst"] in agents and
              "algorithm=MD5" in r["www"][0]) >= 2,
          "the S-CSCF's digest challenges")
    with_req, with_resp = third_party(rows, ims, d)
    # IncludeRegisterRequest: the terminal's REGISTER, its Contact with
    # the push tags (both registrations and the de-registration)
    check(len(with_req) == 3 and
          all(any("+g.oma.pusheventapp" in c for c in r["contact"])
              for r in with_req) and
          sorted(r["expires"][-1] for r in with_req) == ["0", "3600",
                                                         "3600"],
          "third-party REGISTERs with the terminal's REGISTER: %s"
          % with_req)
    # IncludeRegisterResponse alone: a 200 the S-CSCF builds from the
    # REGISTER (no Contact: the bindings are not in it; the one Contact
    # is the third-party REGISTER's own)
    check(len(with_resp) == 3 and
          all(r["contact"] == ["<%s>" % ims.uri] for r in with_resp),
          "third-party REGISTERs with a 200: %s" % with_resp)

    # every MESSAGE sippushd sent went to the S-CSCF; every MESSAGE an
    # agent got came from it
    msgs = [r for r in rows if r["method"] == ["MESSAGE"]]
    from_psa = [r for r in msgs if r["src"] == d.sip_port]
    to_agents = [r for r in msgs if r["dst"] in agents]
    check(len(from_psa) >= 3 and all(r["dst"] == ims.port and
                                     r["route"] == ["<%s;lr>" % ims.uri]
                                     for r in from_psa),
          "sippushd's MESSAGEs to the S-CSCF: %s" % from_psa)
    check(to_agents and all(r["src"] == ims.port for r in to_agents),
          "the agents' MESSAGEs from the S-CSCF: %s" % to_agents)
    # where the S-CSCF relayed each of sippushd's MESSAGEs
    relayed = [(m["ruri"][0], sorted(set(
        r["dst"] for r in to_agents if r["callid"] == m["callid"] and
        r["seq"] == m["seq"]))) for m in from_psa]
    # a GRUU (;gr=) reaches every contact of the public identity:
    # ims_registrar_scscf's lookup() keeps only user@host of the
    # Request-URI and forks (no RFC 5627 in Kamailio 5.6's S-CSCF)
    check(all(dst == sorted(agents) for ruri, dst in relayed
              if ";gr=" in ruri), "GRUU MESSAGEs forked to both "
          "contacts: %s" % relayed)
    print("sippushd's Request-URIs, the agents the S-CSCF relayed each "
          "to: %s (agent1 %d, agent2 %d); agent1 got %s, agent2 %s"
          % (relayed, a1.port, a2.port, bodies(a1), bodies(a2)))


def test_public_identity_given_only(env):
    """--gruu given-only (the S-CSCF gives no GRUU): a push to both
    terminals is one MESSAGE to the public identity, which the S-CSCF
    forks, one copy each; a push to one goes to the public identity with
    the terminal's instance as a caller preference, which Kamailio 5.6
    does not apply (no RFC 3841): every terminal gets it."""
    d, ims, a1, a2, cap = two_registered(env, ("--gruu", "given-only"))

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="to-both")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and st["deliveries"] and
          all(x["sip_status"] == 200 for x in st["deliveries"]),
          "push to both: %s" % st)
    wait_until(lambda: bodies(a1) == ["to-both"] and
               bodies(a2) == ["to-both"], 5, "one copy in each handler")

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="to-one", terminals=a2.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["sip_status"] == 200, "push to one: %s" % st)
    wait_until(lambda: "to-one" in bodies(a2), 5, "agent2 to get it")
    cap.stop()

    rows = sip_rows(cap, ims)
    agents = sorted((a1.port, a2.port))
    msgs = [r for r in rows if r["method"] == ["MESSAGE"]]
    from_psa = [r for r in msgs if r["src"] == d.sip_port]
    check(len(from_psa) == 2 and all(r["ruri"] == [AOR] and
                                     r["dst"] == ims.port
                                     for r in from_psa),
          "sippushd's MESSAGEs to the public identity: %s" % from_psa)
    check(any(a2.instance() in ac and "require" in ac and "explicit" in ac
              for ac in from_psa[1]["ac"]),
          "the push to one: agent2's instance as a caller preference: %s"
          % from_psa[1])
    relayed = [sorted(set(r["dst"] for r in msgs if r["src"] == ims.port
                          and r["callid"] == m["callid"] and
                          r["seq"] == m["seq"])) for m in from_psa]
    check(relayed == [agents, agents], "the S-CSCF forked both MESSAGEs "
          "to both contacts: %s" % relayed)
    print("agent1 got %s (pushed to agent2 only: %s)"
          % (bodies(a1), "to-one" in bodies(a1)))


def test_sip_digest_register_deregister(env):
    """One terminal, SIP Digest (the HSS gives HA1, the S-CSCF the
    nonce): watchdogs both ways, registration, a push, de-registration
    (the last contact: SAR USER_DEREGISTRATION)."""
    d, ims, (a1,), cap = setup(env, alg="3GPP-Digest", watchdog=True)
    a1.start()
    wait_until(lambda: d.terminals(AOR), 20,
               "sippushd to learn agent1 from the S-CSCF")
    registered(d, ims, (a1,))

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="one")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          [x["sip_status"] for x in st["deliveries"]] == [200],
          "push: %s" % st)
    wait_until(lambda: bodies(a1) == ["one"], 5, "the handler to get it")

    a1.proc.terminate()
    a1.proc.wait(15)
    wait_until(lambda: not d.terminals(AOR), 10, "sippushd to drop agent1")
    wait_until(lambda: [r for r in ims.diameter("SAR", "in") if dict(
        r["avps"]).get("Server-Assignment-Type") == SAT_USER_DEREGISTRATION],
               10, "the S-CSCF's SAR for the de-registration")
    cap.stop()

    dia = check_cx(cap, ims, "SIP Digest",
                   [SAT_REGISTRATION, SAT_USER_DEREGISTRATION])
    check(any(r["code"] == DWR and r["request"] and r["src"] == ims.dia_port
              for r in dia) and
          any(r["code"] == DWR and r["request"] and r["src"] != ims.dia_port
              for r in dia), "DWR/DWA both ways: %s" % dia)
    maa = [r for r in dia if r["code"] == MAR and not r["request"]]
    check(all(len(r["ha1"]) == 1 and not r["sip_auth"] for r in maa),
          "MAA: Digest-HA1, no nonce from the HSS: %s" % maa)
    rows = sip_rows(cap, ims)
    with_req, _ = third_party(rows, ims, d)
    check([r["expires"][-1] for r in with_req] == ["3600", "0"],
          "third-party REGISTERs for the registration and the "
          "de-registration: %s" % with_req)
    nonces = sorted(set(n for r in rows if r["code"] == ["401"]
                        for n in r["www"]))
    print("the S-CSCF's SIP Digest challenges: %s" % nonces)


def test_subscription_mode(env):
    """The terminal's SUBSCRIBE (ua-profile) to its own public identity
    goes to sippushd by the S-CSCF's terminating iFC; the enrollment
    NOTIFY and a push by NOTIFY come back through the S-CSCF, and so does
    the unSUBSCRIBE (sippushd's 200 gave the route set)."""
    d, ims, (a1,), cap = setup(env, agents=(
        ("agent1", ("--subscribe", AOR) + CAPS),))
    a1.start()
    wait_until(lambda: [s for t in d.terminals(AOR)
                        for s in t["subscriptions"]], 20,
               "agent1's subscription at sippushd")
    registered(d, ims, (a1,))
    t = d.terminals(AOR)[0]
    check(t["capabilities"]["vendor"] == "vendor.example" and
          t["subscriptions"][0]["app"] == "mms.ua", "subscribed: %s" % t)

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="by-notify", method="notify")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          [(x["method"], x["sip_status"]) for x in st["deliveries"]] ==
          [("notify", 200)], "push by NOTIFY: %s" % st)
    wait_until(lambda: bodies(a1) == ["by-notify"], 5,
               "the handler to get the NOTIFY's content")

    a1.proc.terminate()
    a1.proc.wait(15)
    wait_until(lambda: not [s for t in d.terminals(AOR)
                            for s in t["subscriptions"]], 10,
               "the unSUBSCRIBE to reach sippushd")
    cap.stop()

    rows = sip_rows(cap, ims)
    k, psa, ua = ims.port, d.sip_port, a1.port
    subs = [r for r in rows if r["method"] == ["SUBSCRIBE"]]
    # the initial SUBSCRIBE: agent -> S-CSCF -> (iFC) sippushd
    first = [r for r in subs if r["src"] == k and r["dst"] == psa and
             r["rr"]]
    check(first and any(r["src"] == ua and r["dst"] == k and
                        r["ruri"] == [AOR] for r in subs) and
          all(r["ruri"] == [AOR] and "ua-profile" in r["event"][0] and
              r["route"][0].startswith("<%s;lr>, <sip:iscmark@" %
                                       ims.as_uri) for r in first),
          "the SUBSCRIBE through the iFC: %s" % subs)
    # sippushd's 200 carries the S-CSCF's Record-Route to the agent
    ok = [r for r in rows if r["cseq"] == ["SUBSCRIBE"] and
          r["code"] == ["200"] and r["src"] == k and r["dst"] == ua]
    check(ok and all(o["rr"] == r["rr"] for o in ok[:1] for r in first
                     if (r["callid"], r["seq"]) == (o["callid"], o["seq"])),
          "the 200 to the SUBSCRIBE with its Record-Route: %s / %s"
          % (ok, first))
    # every NOTIFY (enrollment, the push, the final one) through the
    # S-CSCF, and the unSUBSCRIBE too
    notifies = [r for r in rows if r["method"] == ["NOTIFY"]]
    check(len([r for r in notifies if r["dst"] == ua]) >= 2 and
          all(r["src"] == k for r in notifies if r["dst"] == ua) and
          all(r["dst"] == k for r in notifies if r["src"] == psa),
          "NOTIFYs through the S-CSCF: %s" % notifies)
    unsub = [r for r in subs if r["expires"] == ["0"]]
    check(unsub and all(r["dst"] == k for r in unsub if r["src"] == ua),
          "the unSUBSCRIBE through the S-CSCF: %s" % unsub)
    # its de-registration: nc is 4 (the SUBSCRIBE and the unSUBSCRIBE
    # carried credentials too), ims_auth wants the last REGISTER's + 1
    # and challenges; the agent exits without it (no SAR)
    check_cx(cap, ims, "Digest-MD5", [SAT_REGISTRATION],
             maybe=[SAT_USER_DEREGISTRATION])


if __name__ == "__main__":
    run([test_two_terminals_page_mode, test_public_identity_given_only,
         test_sip_digest_register_deregister, test_subscription_mode])

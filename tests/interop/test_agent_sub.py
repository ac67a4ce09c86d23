#!/usr/bin/env python3
"""Subscription mode end to end: sippush-agent <-> sippushd (subscribe,
enrollment, content NOTIFY embedded and indirect, refresh, unsubscribe,
REFER -> SUBSCRIBE -> NOTIFY, two terminals of one AoR, the UAProf path),
and SIPp against the agent (NOTIFY before the 200, empty NOTIFY, REFER
refusals)."""
import http.server
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Capture, Daemon, Sipp, check, free_port, run, scenario,
                     wait_until)
from test_agent import Agent

AOR = "sip:alice@example.com"
CAPS = ("--vendor", "vendor.example", "--model", "X100", "--ua-version",
        "2.1")


def psa(env, *args, users=("alice",)):
    """sippushd as an agent meets it with no core between them: the agent
    is not a trusted peer (a terminal's SUBSCRIBE carries no asserted
    identity, TS §7.2.2.1), so it authenticates with digest. The agent's
    options for that, per user, in d.auth[user]."""
    d = Daemon(env, "--trust", "10.200.0.0/16", *args).start()
    d.auth = {}
    for u in users:
        st, doc, _ = d.http("PUT", "/v1/users/sip:%s@example.com/"
                            "credentials" % u, {"password": "pw-" + u})
        check(st == 202, "credentials: %s %s" % (st, doc))
        d.auth[u] = ("--auth-user", u, "--auth-pass", "pw-" + u)
    return d


def subs(d, aor=AOR):
    return [s for t in d.terminals(aor) for s in t["subscriptions"]]


def data_files(a):
    return [f for f in a.files() if not f.endswith(".meta")]


def read(a, name):
    with open(os.path.join(a.inbox, name), "rb") as f:
        return f.read()


def test_subscribe_notify_refresh_unsubscribe(env):
    d = psa(env, "--min-sub-expires", "1")
    a = Agent(env, "alice", d.sip_port, "--subscribe", "sip:push@localhost",
              "--sub-expires", "4", "--allow-private-fetch", *CAPS,
              *d.auth["alice"])
    cap = Capture(env, [d.sip_port, a.port])
    a.start()
    wait_until(lambda: subs(d), 10, "the agent's subscription")
    s0 = subs(d)[0]
    t = d.terminals(AOR)[0]
    check(s0["app"] == "mms.ua" and "*/*" in s0["accept"] and
          "message/external-body" in s0["accept"] and
          s0["methods"] == ["MESSAGE", "NOTIFY", "REFER", "INVITE"],
          "subscription: %s" % s0)
    check(t["capabilities"]["vendor"] == "vendor.example" and
          t["capabilities"]["model"] == "X100" and
          t["capabilities"]["version"] == "2.1", "caps: %s" % t)

    # embedded (method notify) and indirect (auto, too large to embed)
    p1 = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                body="by notify", method="notify")
    big = "x" * 5000
    p2 = d.push(to=AOR, app="mms.ua", content_type="text/plain", body=big)
    for pid, want_indirect in ((p1, False), (p2, True)):
        st = d.wait_final(pid)
        dl = st["deliveries"]
        check(st["state"] == "delivered" and dl[0]["method"] == "notify" and
              dl[0]["indirect"] == want_indirect, "status: %s" % st)
    wait_until(lambda: len(data_files(a)) == 2, 10, "both in the inbox")
    got = sorted(read(a, f) for f in data_files(a))
    check(got == sorted([b"by notify", big.encode()]), "contents")
    meta = [read(a, f).decode() for f in a.files() if f.endswith(".meta")]
    check(all("method: NOTIFY" in m for m in meta), "meta: %s" % meta)

    # refresh: a 4 s subscription is still there after 7 s
    call_id = subs(d)[0]["call_id"]
    import time
    time.sleep(7)
    s1 = subs(d)
    check(len(s1) == 1 and s1[0]["call_id"] == call_id and
          s1[0]["expires"] > 0, "refreshed in its dialog: %s" % s1)
    check(a.log().count("subscribed at sip:push@localhost") >= 3,
          "refresh SUBSCRIBEs: " + a.log()[-600:])

    # unsubscribe on shutdown (Expires: 0, final NOTIFY terminated)
    a.proc.terminate()
    check(a.proc.wait(10) == 0, "agent exit")
    wait_until(lambda: "unsubscribed" in d.log(), 5, "the unsubscribe")
    check(subs(d) == [], "subscription gone")
    cap.verify(12)
    d.stop()
    check(d.db_rows("SELECT count(*) FROM subs") == [(0,)], "store")


def test_refer_then_notify(env):
    """The app prefers subscription mode: auto REFERs the page-mode agent,
    which subscribes as told; the push then goes by NOTIFY and the refer
    subscription ends terminated;reason=noresource."""
    d = psa(env, "--app", "mms.ua method=notify")
    a = Agent(env, "alice", d.sip_port, *CAPS, *d.auth["alice"])
    cap = Capture(env, [d.sip_port, a.port])
    a.start()
    wait_until(lambda: d.terminals(AOR), 10, "registered")
    check(subs(d) == [], "no subscription before the REFER")
    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="after refer")
    st = d.wait_final(pid)
    dl = st["deliveries"][0]
    check(st["state"] == "delivered" and dl["method"] == "notify" and
          dl["steps"].startswith("refer; refer 202") and
          "subscribed: notify" in dl["steps"], "status: %s" % st)
    wait_until(lambda: "refer NOTIFY 200" in (
        d.status(pid)["deliveries"][0]["steps"] or ""), 5,
        "the final refer NOTIFY")
    check([read(a, f) for f in data_files(a)] == [b"after refer"], "inbox")
    check(len(subs(d)) == 1, "the referred subscription stays")
    d.stop()
    cap.stop()
    # on the wire: the final refer NOTIFY
    import subprocess
    out = subprocess.run(
        ["tshark", "-r", cap.file, "-Y", 'sip.Method == "NOTIFY" && '
         'sip.Event == "refer"', "-T", "fields", "-e",
         "sip.Subscription-State"], capture_output=True, text=True,
        timeout=60).stdout
    check("active;expires=60" in out and
          "terminated;reason=noresource" in out,
          "refer NOTIFYs on the wire: %r" % out)
    cap.verify(14)


def test_two_terminals_one_instance(env):
    d = psa(env)
    a = Agent(env, "alice", d.sip_port, "--subscribe", "sip:push@localhost",
              *CAPS, *d.auth["alice"], name="a1").start()
    b = Agent(env, "alice", d.sip_port, "--subscribe", "sip:push@localhost",
              *CAPS, *d.auth["alice"], name="a2").start()
    wait_until(lambda: len(subs(d)) == 2, 10, "two subscriptions")
    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="only b", terminals=b.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["method"] == "notify" and
          b.instance() in st["deliveries"][0]["terminal"],
          "status: %s" % st)
    wait_until(lambda: data_files(b), 5, "b's inbox")
    check(data_files(a) == [], "a got it too")
    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="both")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 2,
          "status: %s" % st)


class RdfHandler(http.server.BaseHTTPRequestHandler):
    doc = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/rdf+xml")
        self.send_header("Content-Length", str(len(self.doc)))
        self.end_headers()
        self.wfile.write(self.doc)

    def log_message(self, *args):
        pass


RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:prf="http://www.openmobilealliance.org/tech/profiles/UAPROF/ccppschema-20021212#">
<rdf:Description rdf:ID="Profile"><prf:component>
<rdf:Description rdf:ID="PushCharacteristics">
<prf:Push-Accept><rdf:Bag><rdf:li>application/vnd.wap.mms-message</rdf:li>
</rdf:Bag></prf:Push-Accept>
<prf:Push-Accept-AppID><rdf:Bag><rdf:li>x-wap-application:mms.ua</rdf:li>
</rdf:Bag></prf:Push-Accept-AppID>
<prf:Push-MsgSize>1400</prf:Push-MsgSize>
</rdf:Description></prf:component></rdf:Description></rdf:RDF>
"""


def test_uaprof(env):
    """dev-cap: sippushd fetches the RDF document from a local server and
    keeps its PushCharacteristics; a push of a type it does not list is
    refused with the reason, one it lists goes through."""
    RdfHandler.doc = RDF
    srv = http.server.HTTPServer(("127.0.0.1", 0), RdfHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        url = "http://127.0.0.1:%d/X100.rdf" % srv.server_address[1]
        d = psa(env, "--allow-private-fetch")
        a = Agent(env, "alice", d.sip_port, "--subscribe",
                  "sip:push@localhost", "--dev-cap", url,
                  *d.auth["alice"]).start()
        wait_until(lambda: d.terminals(AOR) and d.terminals(AOR)[0]
                   ["capabilities"] and d.terminals(AOR)[0]
                   ["capabilities"]["push_msgsize"], 10, "the UAProf")
        c = d.terminals(AOR)[0]["capabilities"]
        check(c["dev_cap"] == url and
              c["push_accept"] == ["application/vnd.wap.mms-message"] and
              c["push_appids"] == ["mms.ua"] and c["push_msgsize"] == 1400,
              "caps: %s" % c)
        # a type the UAProf does not list: refused, with the reason
        pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                     body="not for this device")
        st = d.wait_final(pid)
        dl = st["deliveries"]
        check(st["state"] == "undeliverable" and len(dl) == 1 and
              dl[0]["last_error"] == "content type not accepted" and
              dl[0]["pap_code"] == 2005, "status: %s" % st)
        # a listed one goes (by NOTIFY: the subscription is active)
        pid = d.push(to=AOR, app="mms.ua",
                     content_type="application/vnd.wap.mms-message",
                     body_base64="jAAA")
        st = d.wait_final(pid)
        check(st["state"] == "delivered" and
              st["deliveries"][0]["method"] == "notify", "status: %s" % st)
        check(len(data_files(a)) == 1, "inbox: %s" % a.files())
    finally:
        srv.shutdown()
    check("Push-MsgSize 1400" in d.log(), "logged: " + d.log()[-500:])




def test_restart_keeps_subscription(env):
    """kill -9 of sippushd: the subscription comes back from the store and
    the next push goes by NOTIFY in the same dialog, with a higher CSeq
    (the agent answers 500 to a lower one). 1,200 NOTIFYs go before the
    kill: more than the 1,000 a reload adds to the CSeq saved, so the
    saves every 256 NOTIFYs (not every NOTIFY) must have reached the
    store for the CSeq to go on growing."""
    d = psa(env)
    a = Agent(env, "alice", d.sip_port, "--subscribe", "sip:push@localhost",
              *CAPS, *d.auth["alice"]).start()
    wait_until(lambda: subs(d), 10, "subscribed")
    call_id = subs(d)[0]["call_id"]
    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="before")
    check(d.wait_final(pid)["deliveries"][0]["method"] == "notify",
          "by notify")
    many = []
    for _ in range(2):
        st, doc, _ = d.http("POST", "/v1/pushes", [
            {"to": AOR, "app": "mms.ua", "content_type": "text/plain",
             "body": "n", "method": "notify"}] * 600)
        check(st == 202, "batch: %s %s" % (st, doc))
        many += doc["ids"]
    wait_until(lambda: len(data_files(a)) == 1201, 120, "1,200 NOTIFYs")
    check(d.wait_final(many[-1])["state"] == "delivered", "the last one")
    time.sleep(0.2)   # past the lazy commit of the last save (50 ms)
    d.kill9()
    d.start()
    s = subs(d)
    check(len(s) == 1 and s[0]["call_id"] == call_id,
          "subscription after restart: %s" % s)
    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="after")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          st["deliveries"][0]["method"] == "notify" and
          st["deliveries"][0]["sip_status"] == 200, "status: %s" % st)
    wait_until(lambda: len(data_files(a)) == 1202, 5, "every push")
    got = sorted(read(a, f) for f in data_files(a))
    check(got == [b"after", b"before"] + [b"n"] * 1200, "inbox: %d files"
          % len(got))


class MiniCore:
    """A stateless UDP proxy standing for the SIP/IP core: REGISTER goes
    to the registrar, a request for example.com to the terminal that
    registered, any other to its Request-URI's address; a SUBSCRIBE gets
    the P-Asserted-Identity a core asserts: the terminal's
    P-Preferred-Identity, which it removes (RFC 3325 §9.1; kept in
    .preferred, with the Request-URI), else its From; responses follow
    their Via. Runs until stop()."""

    def __init__(self, registrar_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.registrar = ("127.0.0.1", registrar_port)
        self.terminal = None
        self.preferred = []
        self.n = 0
        self.done = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    @staticmethod
    def sent_by(via):
        m = re.match(r"SIP/2\.0/UDP ([^:;]+):(\d+)", via.strip())
        return (m.group(1), int(m.group(2))) if m else None

    def request(self, head, lines, body):
        method, ruri = head.split()[:2]
        vias = [ln for ln in lines if ln.lower().startswith("via:")]
        if method == "REGISTER":
            self.terminal = self.sent_by(vias[0][4:])
            dest = self.registrar
        elif "@example.com" in ruri:
            dest = self.terminal
        else:
            m = re.match(r"sips?:(?:[^@]*@)?([^:;>]+):(\d+)", ruri)
            dest = (m.group(1), int(m.group(2))) if m else None
        if not dest:
            return
        self.n += 1
        out = ["Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-core%d"
               % (self.port, self.n)] + lines
        if method == "SUBSCRIBE" and not any(
                ln.lower().startswith("p-asserted-identity:")
                for ln in lines):
            ppi = [ln for ln in out
                   if ln.lower().startswith("p-preferred-identity:")]
            frm = [ln for ln in lines if ln.lower().startswith("from:")]
            m = re.search(r"<([^>]+)>", (ppi or frm or [""])[0])
            if ppi:
                out.remove(ppi[0])
                self.preferred.append((ruri, m and m.group(1)))
            if m:
                out.append("P-Asserted-Identity: <%s>" % m.group(1))
        self.sock.sendto(("\r\n".join([head] + out) + "\r\n\r\n")
                         .encode() + body, dest)

    def response(self, head, lines, body):
        vias = [i for i, ln in enumerate(lines)
                if ln.lower().startswith("via:")]
        if len(vias) < 2:
            return
        del lines[vias[0]]
        dest = self.sent_by(lines[vias[1] - 1][4:])
        if dest:
            self.sock.sendto(("\r\n".join([head] + lines) +
                              "\r\n\r\n").encode() + body, dest)

    def loop(self):
        while not self.done.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            text, _, body = data.partition(b"\r\n\r\n")
            lines = text.decode(errors="replace").split("\r\n")
            if not lines or not lines[0]:
                continue       # a keep-alive
            if lines[0].startswith("SIP/2.0 "):
                self.response(lines[0], lines[1:], body)
            else:
                self.request(lines[0], lines[1:], body)

    def stop(self):
        self.done.set()
        self.th.join(5)
        self.sock.close()


def test_capabilities_to_every_psa(env):
    """TS §7.2: the capabilities go to every Push Sender Agent. An agent
    with two --subscribe PSAs, behind a core, subscribes at each (issue
    20 item 5: one URI only); both keep its capabilities and both push to
    it by NOTIFY in their own dialog. Its --ppi reaches the core in each
    SUBSCRIBE (TS §7.2.1.1 #2), which asserts it."""
    core = MiniCore(0)
    try:
        out = "sip:127.0.0.1:%d" % core.port
        d1 = Daemon(env, "--trust-udp", "--outbound", out)
        core.registrar = ("127.0.0.1", d1.sip_port)
        d1.start()
        # both log to sippushd.log
        d2 = Daemon(env, "--trust-udp", "--outbound", out,
                    db="psa2.db").start()
        psa1 = "sip:push@127.0.0.1:%d" % d1.sip_port
        psa2 = "sip:push@127.0.0.1:%d" % d2.sip_port
        a = Agent(env, "alice", core.port, "--subscribe", psa1,
                  "--subscribe", psa2, "--ppi", AOR, *CAPS).start()
        wait_until(lambda: len(subs(d1)) == 1 and len(subs(d2)) == 1, 10,
                   "a subscription at each PSA")
        for d in (d1, d2):
            c = d.terminals(AOR)[0]["capabilities"]
            check(c["vendor"] == "vendor.example" and c["model"] == "X100",
                  "capabilities: %s" % c)
        for d, body in ((d1, "from psa1"), (d2, "from psa2")):
            pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                         body=body, method="notify")
            st = d.wait_final(pid)
            check(st["state"] == "delivered" and
                  st["deliveries"][0]["method"] == "notify",
                  "status: %s" % st)
        wait_until(lambda: len(data_files(a)) == 2, 10, "both pushes")
        check(sorted(read(a, f) for f in data_files(a)) ==
              [b"from psa1", b"from psa2"], "inbox")
        check("subscribed at %s" % psa1 in a.log() and
              "subscribed at %s" % psa2 in a.log(), a.log()[-600:])
        # --ppi: each SUBSCRIBE offered the core P-Preferred-Identity
        check(set(core.preferred) == {(psa1, AOR), (psa2, AOR)},
              "P-Preferred-Identity: %s" % core.preferred)
    finally:
        core.stop()


def test_agent_against_sipp_notifier(env):
    """SIPp plays registrar and notifier: a NOTIFY before the 200 to the
    SUBSCRIBE is taken, an empty NOTIFY is answered 200 and keeps the
    subscription, a content NOTIFY reaches the application (SUBSCRIBE-only
    Event parameters ignored), terminated;reason=rejected ends it."""
    port = free_port()
    psa = Sipp(env, scenario(env, "uas_psa.xml"), port, calls=2,
               timeout=20)
    a = Agent(env, "alice", port, "--subscribe", "sip:push@localhost",
              "--no-require-pref", *CAPS)
    cap = Capture(env, [port, a.port])
    a.start()
    psa.ok(25)
    wait_until(lambda: data_files(a), 5, "the pushed content")
    # SIPp ends its body with CRLF
    check([read(a, f) for f in data_files(a)] == [b"by sipp notify\r\n"],
          "inbox: %s" % [read(a, f) for f in data_files(a)])
    meta = [read(a, f).decode() for f in a.files() if f.endswith(".meta")]
    check("push-id: sipp-push-1@psa" in meta[0], "meta: %s" % meta)
    wait_until(lambda: "subscription terminated" in a.log(), 5, "the end")
    import time
    time.sleep(1.5)
    check(a.log().count("SUBSCRIBE answered") == 0 and
          "subscribed at" in a.log(), a.log()[-800:])
    check("subscription terminated (rejected)" in a.log(), a.log()[-500:])
    # no new SUBSCRIBE after a rejection (SIPp would have failed a call)
    cap.verify(12)


def test_agent_refuses_bad_refer(env):
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "uma", d.sip_port, *CAPS).start()
    wait_until(lambda: "registered sip:uma" in a.log(), 10, "registered")
    pai = "P-Asserted-Identity: <sip:push@localhost>\r\n"
    good = ("<sip:push@localhost;method=SUBSCRIBE?Event=ua-profile%3B"
            "profile-type%3Doma-app%3Bevent-app-id%3Dmms.ua>")
    cases = [
        (400, pai, "Refer-To: <sip:push@localhost?Event=%ZZ\r\n"),
        (400, pai, ""),
        (403, "", "Refer-To: %s\r\n" % good),
        (603, pai, "Refer-To: %s\r\n" % good.replace("SUBSCRIBE",
                                                     "INVITE")),
        (489, pai, "Refer-To: <sip:push@localhost;method=SUBSCRIBE?"
                   "Event=presence>\r\n"),
        (603, pai, "Refer-To: %s\r\n" % good.replace("mms.ua", "ulp.ua")),
    ]
    for code, p, rt in cases:
        s = Sipp(env, scenario(env, "uac_refer_code.xml", code=code,
                               pai=p, referto=rt), free_port(),
                 "127.0.0.1:%d" % a.port, keys={"user": "uma"},
                 timeout=10)
        s.ok(15)
    check(d.terminals("sip:uma@example.com")[0]["subscriptions"] == [],
          "a refused REFER subscribed anyway")


if __name__ == "__main__":
    run([test_subscribe_notify_refresh_unsubscribe, test_refer_then_notify,
         test_two_terminals_one_instance, test_uaprof,
         test_restart_keeps_subscription, test_agent_against_sipp_notifier,
         test_agent_refuses_bad_refer, test_capabilities_to_every_psa])

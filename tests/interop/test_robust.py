#!/usr/bin/env python3
"""sippushd: durability across kill -9, bad input, identity (digest,
trust, third-party REGISTER), Require handling, and the sippush CLI."""
import http.client
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Daemon, Sipp, check, free_port, register, run,
                     register_udp, scenario, tok, udp_request, wait_until)
from test_hostile_sip import REGISTER
from test_pagemode import INST1, uas

CLI = os.path.join(BUILD, "cmd", "sippush")


def test_kill9_durability(env):
    d = Daemon(env, "--trust-udp", "--retry-base", "300").start()
    bport = free_port()
    register(env, d, "bob", bport, INST1)          # no terminal listens yet
    ids = {"bob": [], "ivan": []}
    for i in range(25):
        for user in ("bob", "ivan"):               # ivan is offline
            ids[user].append(d.push(to="sip:%s@example.com" % user,
                                    app="mms.ua", content_type="text/plain",
                                    body="%s%d" % (user, i)))
    d.kill9()                                     # right after the last 202
    rows = d.db_rows("SELECT COUNT(*) FROM pushes WHERE final_ms=0")
    check(rows == [(50,)], "every acknowledged push is in the store: %s" %
          rows)

    d.start()
    check(len(d.terminals("sip:bob@example.com")) == 1,
          "bob's terminal survived the restart")
    bob = uas(env, bport, calls=25, body="bob[0-9]+")
    bob.ok(60)
    for pid in ids["bob"]:
        check(d.wait_final(pid)["state"] == "delivered", "bob " + pid)
    order = re.findall(r"BODY=bob([0-9]+)", bob.log())
    check([int(x) for x in order] == list(range(25)),
          "per-target order kept: %s" % order)

    iport = free_port()
    ivan = uas(env, iport, calls=25, body="ivan[0-9]+")
    register(env, d, "ivan", iport, INST1)
    ivan.ok(60)
    for pid in ids["ivan"]:
        check(d.wait_final(pid)["state"] == "delivered", "ivan " + pid)
    d.stop()
    rows = d.db_rows("SELECT state, COUNT(*) FROM pushes GROUP BY state")
    check(rows == [("delivered", 50)], "store after delivery: %s" % rows)


def test_register_acked_survives_kill9(env):
    # the 200 to REGISTER is sent only after the binding is committed
    d = Daemon(env, "--trust-udp").start()
    register(env, d, "yuri", free_port(), INST1)
    d.kill9()                                     # right after the 200
    rows = d.db_rows("SELECT aor, instance FROM terminals")
    check(rows == [("sip:yuri@example.com", INST1)],
          "acknowledged binding in the file: %s" % rows)
    d.start()
    check(len(d.terminals("sip:yuri@example.com")) == 1, "after restart")


def test_retention_purge(env):
    # final pushes and their content go after --retention; pending ones stay
    d = Daemon(env, "--trust-udp", "--retention", "2s").start()
    tport = free_port()
    term = uas(env, tport)
    register(env, d, "zack", tport, INST1)
    done = d.push(to="sip:zack@example.com", app="mms.ua",
                  content_type="text/plain", body="x" * 2000)
    term.ok()
    check(d.wait_final(done)["state"] == "delivered", "delivered")
    waiting = d.push(to="sip:nobody@example.com", app="mms.ua",
                     content_type="text/plain", body="y")
    wait_until(lambda: d.http("GET", "/v1/pushes/" + done)[0] == 404, 10,
               "the final push to be purged")
    check(d.status(waiting)["state"] == "pending", "pending push kept")
    d.stop()
    check(d.db_rows("SELECT COUNT(*) FROM deliveries WHERE push_id=?",
                    (done,)) == [(0,)], "its deliveries purged too")


def test_bad_input(env):
    d = Daemon(env, "--trust-udp", "--api-token", "s3cret", "--max-push-size", "1k",
               "--max-queue", "3").start()
    ok = {"to": "sip:a@example.com", "app": "mms.ua",
          "content_type": "text/plain", "body": "x"}

    st, doc, h = d.http("POST", "/v1/pushes", ok, token="")
    check(st == 401 and h.get("WWW-Authenticate") == "Bearer", "no token")
    st, doc, _ = d.http("POST", "/v1/pushes", ok, token="wrong")
    check(st == 401, "wrong token: %s" % st)

    def bad(body, field, status=400, raw=None):
        st, doc, _ = d.http("POST", "/v1/pushes", body, raw=raw)
        check(st == status and isinstance(doc, dict) and
              doc.get("error", "").startswith(field),
              "%r: expected %d naming %s, got %s %s" % (
                  body if raw is None else raw[:40], status, field, st, doc))

    bad(None, "body: invalid JSON", raw=b'{"to": ')
    bad(None, "body: invalid JSON", raw=b'\xff\xfe')
    bad({k: v for k, v in ok.items() if k != "to"}, "to: missing")
    bad(dict(ok, to="mailto:a@example.com"), "to:")
    bad(dict(ok, to="sip:example.com"), "to:")
    bad(dict(ok, to=5), "to: must be a string")
    bad(dict(ok, app="mms ua"), "app:")
    bad(dict(ok, content_type="text/plain\r\nX-Evil: 1"), "content_type:")
    bad(dict(ok, content_type="textplain"), "content_type:")
    bad(dict(ok, url="http://x/"), "body:")
    bad({k: v for k, v in ok.items() if k != "body"}, "body: missing")
    bad(dict(ok, url="ftp://x/", body=None), "url:")
    bad(dict(ok, ttl=-1), "ttl:")
    bad(dict(ok, ttl="60"), "ttl: must be an integer")
    bad(dict(ok, priority=10), "priority:")
    bad(dict(ok, method="carrier-pigeon"), "method:")
    bad(dict(ok, terminals=""), "terminals:")
    bad(dict(ok, colour="red"), "colour: unknown field")
    bad(dict(ok, body_base64="!!!", body=None), "body_base64:")
    bad(dict(ok, body="y" * 2000), "body: larger")
    bad([], "body: a batch")
    bad(None, "body: larger than", status=413, raw=b"x" * 1500000)

    st, doc, _ = d.http("GET", "/nope")
    check(st == 404, "unknown path: %s" % st)
    st, doc, _ = d.http("PUT", "/v1/pushes")
    check(st == 405, "wrong method: %s" % st)
    st, doc, _ = d.http("GET", "/v1/pushes/0123")
    check(st == 404, "unknown push: %s" % st)
    # request headers: 12 KB served; past the connection's 16 KiB pool
    # (HTTP_CONN_MEMORY), 431, and the daemon goes on
    for size, want in ((12000, 404), (20000, 431)):
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        c.request("GET", "/v1/pushes/0123",
                  headers={"Authorization": "Bearer " + d.token,
                           "X-Long": "a" * size})
        st = c.getresponse().status
        c.close()
        check(st == want, "%d bytes of headers: %s, not %d" % (size, st, want))
    st, doc, _ = d.http("GET", "/v1/users/nobody/terminals")
    check(st == 400 and doc["error"].startswith("aor:"), "bad aor: %s" % doc)

    # the daemon kept serving; the queue bound answers 503 + Retry-After
    for i in range(3):
        d.push(**ok)
    st, doc, h = d.http("POST", "/v1/pushes", ok)
    check(st == 503 and h.get("Retry-After"), "queue full: %s %s" % (st, doc))
    st, doc, _ = d.http("GET", "/metrics")
    check(st == 200 and "sippush_pushes_accepted_total 3" in doc.decode(),
          "metrics: %s" % doc)
    d.stop()
    check(d.db_rows("SELECT COUNT(*) FROM pushes") == [(3,)],
          "only valid pushes were stored")


def test_digest_and_trust(env):
    d = Daemon(env, "--trust-udp", "--trust", "10.255.0.0/16").start()
    # no credentials yet: 403
    s = Sipp(env, scenario(env, "register_once.xml", final=403,
                           check="No credentials"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": "alice", "from_user": "alice", "extra": "X-Test: 1"})
    s.ok()
    out = subprocess.run([CLI, "--server", d.base] + tok(d) + [
                          "users", "add",
                          "sip:alice@example.com", "--password", "pw1"],
                         capture_output=True, text=True, timeout=20)
    check(out.returncode == 0, "users add: %s" % out.stderr)

    good = Sipp(env, scenario(env, "register_auth.xml", final=200,
                              user="alice", password="pw1"),
                free_port(), "127.0.0.1:%d" % d.sip_port,
                keys={"user": "alice"})
    good.ok()
    check(len(d.terminals("sip:alice@example.com")) == 1, "registered")

    wrong = Sipp(env, scenario(env, "register_auth.xml", final=403,
                               user="alice", password="nope"),
                 free_port(), "127.0.0.1:%d" % d.sip_port,
                 keys={"user": "alice"})
    wrong.ok()
    # someone else's AoR with alice's credentials is refused too
    other = Sipp(env, scenario(env, "register_once.xml", final=403,
                               check="Third-party"),
                 free_port(), "127.0.0.1:%d" % d.sip_port,
                 keys={"user": "bob", "from_user": "alice", "extra": "X-Test: 1"})
    other.ok()
    check(d.terminals("sip:bob@example.com") == [], "bob not registered")


def test_require_420(env):
    d = Daemon(env, "--trust-udp").start()
    s = Sipp(env, scenario(env, "register_once.xml", final=420,
                           check="Unsupported: *foo"),
             free_port(), "127.0.0.1:%d" % d.sip_port,
             keys={"user": "kim", "from_user": "kim",
                   "extra": "Require: pref, foo"})
    s.ok()
    s = Sipp(env, scenario(env, "register_once.xml", final=200,
                           check="200 OK"),
             free_port(), "127.0.0.1:%d" % d.sip_port,
             keys={"user": "kim", "from_user": "kim",
                   "extra": "Require: pref"})
    s.ok()


def test_third_party_register(env):
    d = Daemon(env, "--trust-udp").start()
    core, tport = free_port(), free_port()
    s = Sipp(env, os.path.join(os.path.dirname(__file__), "sipp",
                               "register_3pty.xml"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": "lea", "tport": tport, "instance": INST1,
                   "core_port": core})
    s.ok()
    t = d.terminals("sip:lea@example.com")
    check(len(t) == 1 and t[0]["source"] == "third-party" and
          t[0]["instance"] == INST1 and t[0]["apps"] == ["mms.ua"] and
          t[0]["contact"] == "sip:lea@127.0.0.1:%d" % tport and
          t[0]["path"] == "<sip:scscf@127.0.0.1:%d;lr>" % core,
          "terminal from the message/sip body: %s" % t)
    # the push goes through the core to the terminal's GRUU, never to its
    # contact (the core gave none: built as the core would, --gruu
    # construct, the default); issue 20: was the contact before
    check(t[0]["gruu"] == "sip:lea@example.com;gr=" + INST1 and
          t[0]["gruu_source"] == "constructed", "the GRUU used: %s" % t)
    c = uas(env, core, ruri=re.escape("sip:lea@example.com;gr=" + INST1))
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="via-core")
    c.ok()
    check("Route: <sip:scscf@127.0.0.1:%d;lr>" % core in c.messages(),
          "Route to the core")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")

    # no body: an AoR-level record, reached by the AoR through the core
    core2 = free_port()
    s = Sipp(env, os.path.join(os.path.dirname(__file__), "sipp",
                               "register_3pty_nobody.xml"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": "max", "core_port": core2})
    s.ok()
    t = d.terminals("sip:max@example.com")
    check(len(t) == 1 and t[0]["instance"] is None and
          t[0]["source"] == "third-party" and t[0]["push"],
          "AoR-level record: %s" % t)
    c2 = uas(env, core2, ruri=re.escape("sip:max@example.com"))
    pid = d.push(to="sip:max@example.com", app="mms.ua",
                 content_type="text/plain", body="by-aor")
    c2.ok()
    check(d.wait_final(pid)["state"] == "delivered", "AoR push delivered")


def third_party(env, d, user, tport, instance, core):
    s = Sipp(env, os.path.join(os.path.dirname(__file__), "sipp",
                               "register_3pty.xml"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": user, "tport": tport, "instance": instance,
                   "core_port": core})
    s.ok()


def request_lines(msgs, method="MESSAGE"):
    return re.findall(r"^%s (\S+) SIP/2.0" % method, msgs, re.M)


def accept_contacts(msgs):
    return re.findall(r"^Accept-Contact: (.*?)\r?$", msgs, re.M)


def uas_pref(env, port, ruri, instance=None):
    """A terminal (or the core) taking one MESSAGE to ruri whose
    Accept-Contact names the application and, given, one instance"""
    from harness import scenario
    from test_pagemode import PAI
    app = r"mms\.ua"
    if instance:
        app += r'\";\+sip\.instance=\"&lt;%s&gt;' % re.escape(instance)
    return Sipp(env, scenario(env, "uas_message.xml", app=app,
                              pai=re.escape(PAI), body=".*", code=200,
                              ruri=re.escape(ruri)), port, calls=1,
                timeout=30)


def test_gruu_given_only(env):
    """--gruu given-only: through a core that gave no GRUU, the public
    identity with the terminal's instance as a caller preference"""
    d = Daemon(env, "--trust-udp", "--gruu", "given-only").start()
    core = free_port()
    third_party(env, d, "lea", free_port(), INST1, core)
    t = d.terminals("sip:lea@example.com")
    check(len(t) == 1 and t[0]["gruu"] is None and
          t[0]["gruu_source"] is None, "no GRUU assumed: %s" % t)
    c = uas_pref(env, core, "sip:lea@example.com", INST1)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="by-aor")
    c.ok()
    ac = accept_contacts(c.messages())
    check(ac == ['*;+g.oma.pusheventapp="mms.ua";+sip.instance="<%s>";'
                 'require;explicit' % INST1], "caller preferences: %s" % ac)
    check(request_lines(c.messages()) == ["sip:lea@example.com"],
          "to the public identity: %s" % request_lines(c.messages()))
    check(d.wait_final(pid)["state"] == "delivered", "delivered")


def test_gruu_reloaded(env):
    """--gruu is reloadable: a SIGHUP that sets given-only takes effect
    (sender_reload() must take it, not only the option table say so)"""
    import signal
    conf = env.path("sippushd.conf")
    with open(conf, "w") as f:
        f.write("gruu construct\n")
    d = Daemon(env, "--trust-udp", "--config", conf).start()
    third_party(env, d, "lea", free_port(), INST1, free_port())
    t = d.terminals("sip:lea@example.com")
    check(t[0]["gruu_source"] == "constructed", "before: %s" % t)
    with open(conf, "w") as f:
        f.write("gruu given-only\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in d.log(), 5, "the reload")
    t = d.terminals("sip:lea@example.com")
    check(t[0]["gruu"] is None and t[0]["gruu_source"] is None,
          "after: %s" % t)


def test_gruu_refused_falls_back(env):
    """A GRUU the core answers 404: the public identity, once"""
    from harness import scenario
    d = Daemon(env, "--trust-udp").start()
    core = free_port()
    third_party(env, d, "lea", free_port(), INST1, core)
    c = Sipp(env, scenario(env, "uas_retry.xml", code="404", extra=""),
             core)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="again")
    c.ok()
    lines = request_lines(c.messages())
    check(lines == ["sip:lea@example.com;gr=" + INST1,
                    "sip:lea@example.com"], "GRUU, then AoR: %s" % lines)
    ac = accept_contacts(c.messages())
    check(len(ac) == 2 and "+sip.instance" not in ac[0] and
          '+sip.instance="<%s>"' % INST1 in ac[1],
          "the second names the terminal: %s" % ac)
    st = d.wait_final(pid)
    steps = st["deliveries"][0]["steps"]
    check(st["state"] == "delivered" and
          "GRUU 404: public identity" in steps, "status: %s" % st)


def received_sizes(msgs):
    return [int(n) for n in
            re.findall(r"message received \[(\d+)\] bytes", msgs)]


def test_1300_through_core(env):
    """The 1300-byte rule counts the request as sent: its GRUU and its
    Route to the core, not the AoR alone (issue 20: counted the AoR)"""
    from harness import scenario
    d = Daemon(env, "--trust-udp").start()
    core = free_port()
    third_party(env, d, "lea", free_port(), INST1, core)
    gruu = "sip:lea@example.com;gr=" + INST1
    # the bytes around the body, measured on the wire
    c = uas_pref(env, core, gruu)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="x")
    c.ok()
    around = received_sizes(c.messages())[0] - 1
    check(d.wait_final(pid)["state"] == "delivered", "first delivered")

    # 40 bytes under the limit as sent: inline
    c = uas_pref(env, core, gruu)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="y" * (1300 - around - 40))
    c.ok()
    n = received_sizes(c.messages())
    check(len(n) == 1 and n[0] <= 1300, "inline, under 1300: %s" % n)
    check(not d.wait_final(pid)["deliveries"][0]["indirect"], "inline")

    # 30 over as it would be sent (under, with the AoR and no Route):
    # by reference, within the limit
    big = "z" * (1300 - around + 30)
    c = Sipp(env, scenario(env, "uas_extbody.xml",
                           ctype=re.escape("text/plain"), size=len(big)),
             core)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body=big)
    c.ok()
    n = received_sizes(c.messages())
    check(len(n) == 1 and n[0] <= 1300, "by reference, under 1300: %s" % n)
    check(d.wait_final(pid)["deliveries"][0]["indirect"], "indirect")


def test_gruu_refer_and_invite(env):
    """Through a core, REFER and INVITE go to the terminal's GRUU too
    (TS §7.2.3.1 #1, §7.3.2.1), never to its contact"""
    from harness import scenario
    d = Daemon(env, "--trust-udp").start()
    core = free_port()
    s = Sipp(env, os.path.join(os.path.dirname(__file__), "sipp",
                               "register_3pty_methods.xml"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": "lea", "tport": free_port(), "instance": INST1,
                   "core_port": core})
    s.ok()
    gruu = re.escape("sip:lea@example.com;gr=" + INST1)
    for method, push_method, code in (("REFER", "refer", 603),
                                      ("INVITE", "session", 488)):
        ack = '<recv request="ACK"/>' if method == "INVITE" else ""
        c = Sipp(env, scenario(env, "uas_request_code.xml", method=method,
                               ruri=gruu, code=code, ack=ack), core)
        pid = d.push(to="sip:lea@example.com", app="mms.ua",
                     method=push_method, content_type="text/plain",
                     body="to the GRUU")
        c.ok()
        check("GOT %s sip:lea@example.com;gr=%s SIP/2.0" % (method, INST1)
              in c.log(), "%s to the GRUU: %s" % (method, c.log()))
        st = d.wait_final(pid)
        dl = st["deliveries"][0]
        check(st["state"] != "delivered" and dl["sip_status"] == code,
              "%s refused %d, the end: %s" % (method, code, st))


ICSI = "urn:urn-7:3gpp-service.ims.icsi.oma.push"


def test_ims_headers(env):
    """What sippushd originates carries the IMS headers: its charging
    vector (an icid per delivery, --orig-ioi), the application's ICSI as
    the asserted service, the push's Privacy; the core's vector of the
    third-party REGISTER lands in the audit log (issue 20: none of it)"""
    import json
    audit = env.path("audit.log")
    d = Daemon(env, "--trust-udp", "--orig-ioi", "op.example", "--icsi",
               ICSI + "=mms.ua", "--audit-log", audit).start()
    core = free_port()
    s = Sipp(env, os.path.join(os.path.dirname(__file__), "sipp",
                               "register_3pty_pcv.xml"), free_port(),
             "127.0.0.1:%d" % d.sip_port,
             keys={"user": "lea", "tport": free_port(), "instance": INST1,
                   "core_port": core})
    s.ok()
    st, doc, _ = d.http("POST", "/v1/pushes", {
        "to": "sip:lea@example.com", "app": "mms.ua", "privacy": "secret",
        "content_type": "text/plain", "body": "x"})
    check(st == 400 and doc["error"].startswith("privacy:"),
          "a bad privacy: %s %s" % (st, doc))

    c = uas_pref(env, core, "sip:lea@example.com;gr=" + INST1)
    pid = d.push(to="sip:lea@example.com", app="mms.ua", privacy="id",
                 content_type="text/plain", body="charged")
    c.ok()
    msgs = c.messages()
    pcv = re.findall(r"^P-Charging-Vector: (.*?)\r?$", msgs, re.M)
    check(len(pcv) == 1 and re.fullmatch(
        r"icid-value=%s\.[0-9a-f]{8};orig-ioi=op\.example" % pid, pcv[0]),
        "the charging vector: %s" % pcv)
    icid = pcv[0].split(";")[0].split("=")[1]
    check(re.findall(r"^P-Asserted-Service: (.*?)\r?$", msgs, re.M) ==
          [ICSI], "the asserted service")
    check(re.findall(r"^Privacy: (.*?)\r?$", msgs, re.M) == ["id"],
          "Privacy: id")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    d.stop()
    with open(audit) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    check(len(lines) == 1 and lines[0]["icid"] == icid and
          lines[0]["charging_vector"] ==
          'icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=";orig-ioi=home1.net',
          "the audit line: %s" % lines)


def test_all_terminals_at_once(env):
    """Two terminals, no GRUU from the core (given-only): a push for all
    goes once to the public identity; the core forks it"""
    d = Daemon(env, "--trust-udp", "--gruu", "given-only").start()
    core = free_port()
    inst2 = INST1[:-1] + "9"
    third_party(env, d, "lea", free_port(), INST1, core)
    third_party(env, d, "lea", free_port(), inst2, core)
    check(len(d.terminals("sip:lea@example.com")) == 2, "two terminals")
    c = uas_pref(env, core, "sip:lea@example.com")
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="all")
    c.ok()
    time.sleep(1)   # a second request would have come by now
    msgs = c.messages()
    check(request_lines(msgs) == ["sip:lea@example.com"],
          "one request: %s" % request_lines(msgs))
    ac = accept_contacts(msgs)
    check(ac == ['*;+g.oma.pusheventapp="mms.ua";require;explicit'],
          "no one terminal preferred: %s" % ac)
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["terminal"] == "sip:lea@example.com" and
          "the core forks" in st["deliveries"][0]["steps"],
          "one delivery, the core's: %s" % st)
    # one terminal named: caller preferences pick it
    c = uas_pref(env, core, "sip:lea@example.com", inst2)
    pid = d.push(to="sip:lea@example.com", app="mms.ua", terminals=inst2,
                 content_type="text/plain", body="one")
    c.ok()
    ac = accept_contacts(c.messages())
    check(ac == ['*;+g.oma.pusheventapp="mms.ua";+sip.instance="<%s>";'
                 'require;explicit' % inst2], "that one: %s" % ac)
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    # the one request for all is too large for the core (413): it goes
    # by reference, once (found by review: it ended "no other method")
    c = Sipp(env, scenario(env, "uas_retry.xml", code="413", extra=""),
             core)
    pid = d.push(to="sip:lea@example.com", app="mms.ua",
                 content_type="text/plain", body="all, by reference")
    c.ok()
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["indirect"] and
          "413: message by reference" in st["deliveries"][0]["steps"],
          "by reference after 413: %s" % st)
    check("Content-Type: message/external-body" in c.messages(),
          "the second was by reference: %s" % c.messages()[-400:])


def cli(d, *args, timeout=60):
    return subprocess.run([CLI, "--server", d.base] + tok(d) +
                          list(args),
                          capture_output=True, text=True, timeout=timeout)


def test_cli(env):
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    term = uas(env, tport, body="from-cli")
    register(env, d, "nora", tport, INST1)
    out = cli(d, "send", "--to", "sip:nora@example.com", "--app", "mms.ua",
              "--data", "from-cli", "--wait")
    check(out.returncode == 0, "send --wait: %s %s" % (out.stdout,
                                                       out.stderr))
    pid = out.stdout.split()[0]
    check(re.search(r"%s delivered" % pid, out.stdout) and
          "sip=200 pap=1000" in out.stdout, out.stdout)
    term.ok()

    out = cli(d, "status", pid)
    check(out.returncode == 0 and out.stdout.startswith(pid + " delivered"),
          out.stdout)
    out = cli(d, "terminals", "sip:nora@example.com")
    check(out.returncode == 0 and INST1 in out.stdout, out.stdout)

    # a refused push: exit 3
    t2 = uas(env, tport, code=486)
    out = cli(d, "send", "--to", "sip:nora@example.com", "--app", "mms.ua",
              "--data", "x", "--wait")
    check(out.returncode == 3 and "aborted" in out.stdout,
          "486: %s %s" % (out.returncode, out.stdout))
    t2.ok()

    # pending push, then cancel
    out = cli(d, "send", "--to", "sip:nobody@example.com", "--app",
              "mms.ua", "--data", "x")
    pid = out.stdout.strip()
    out = cli(d, "cancel", pid)
    check(out.returncode == 0 and "cancelled" in out.stdout, out.stdout)

    # errors: one line, non-zero
    for args, msg in ((["send", "--app", "mms.ua", "--data", "x"], "--to"),
                      (["send", "--to", "sip:a@b.c", "--app", "mms.ua"],
                       "exactly one"),
                      (["send", "--to", "bad", "--app", "mms.ua", "--data",
                        "x"], "to:"),
                      (["status", "ffff"], "no such push"),
                      (["frobnicate"], "unknown command")):
        out = cli(d, *args)
        check(out.returncode == 1 and msg in out.stderr and
              out.stderr.count("\n") == 1, "%s: %r" % (args, out.stderr))
    out = subprocess.run([CLI, "--server", "http://127.0.0.1:%d" %
                          free_port(), "status", "x"],
                         capture_output=True, text=True, timeout=20)
    check(out.returncode == 1 and out.stderr.count("\n") == 1,
          "server down: %r" % out.stderr)

    # --server as a list (a cluster's nodes): a node that cannot be
    # reached is skipped, one that answers (even with an error) is not
    dead = "http://127.0.0.1:%d" % free_port()
    out = subprocess.run([CLI, "--server", "%s,%s" % (dead, d.base)] +
                         tok(d) + ["send", "--to", "sip:nobody@example.com",
                                   "--app", "mms.ua", "--data", "listed"],
                         capture_output=True, text=True, timeout=20)
    pid = out.stdout.strip()
    check(out.returncode == 0 and re.fullmatch(r"[0-9a-f]{16}", pid) and
          "%s: Couldn't connect to server; trying the next" % dead
          in out.stderr, "skips the dead node: %r %r" % (out.stdout,
                                                         out.stderr))
    check(d.status(pid)["state"] == "pending", "taken by the live node")
    out = subprocess.run([CLI, "--server", "%s,%s" % (d.base, dead),
                          "--token", "wrong", "status", pid],
                         capture_output=True, text=True, timeout=20)
    check(out.returncode == 1 and "HTTP 401" in out.stderr and
          "trying the next" not in out.stderr,
          "an answer is final: %r" % out.stderr)
    out = subprocess.run([CLI, "--server", "%s,ftp://x" % d.base, "status",
                          pid], capture_output=True, text=True, timeout=20)
    check(out.returncode == 1 and "separated by commas" in out.stderr,
          "a bad list: %r" % out.stderr)


def test_kill9_mid_delivery_resumes(env):
    """kill -9 while one terminal's delivery has its outcome and the
    other's is in flight: after the restart the second is sent again (the
    same Call-ID, so its seen set keeps it once). Before, the push had a
    row and was not planned again: the second terminal never got it and
    the push ended delivered."""
    inst2 = "urn:uuid:7d3c1a2b-0000-4000-8000-000000000002"
    d = Daemon(env, "--trust-udp", "--retry-base", "300").start()
    p1, p2 = free_port(), free_port()
    t1 = uas(env, p1, body="both")
    t2 = Sipp(env, scenario(env, "uas_silent.xml"), p2, timeout=30)
    register(env, d, "ivy", p1, INST1)
    register(env, d, "ivy", p2, inst2)
    pid = d.push(to="sip:ivy@example.com", app="mms.ua",
                 content_type="text/plain", body="both")
    t1.ok()

    # the status shows what has a row: the first's outcome; the second
    # went at the same time and is unanswered (UDP: retransmitted)
    wait_until(lambda: [x["state"] for x in d.status(pid)["deliveries"]]
               == ["delivered"], 10, "the first delivered")
    time.sleep(0.3)
    d.kill9()
    t2.wait()
    cid2 = [x for x in d.db_rows("SELECT tkey, state FROM deliveries "
                                 "WHERE push_id=?", (pid,))]
    check(cid2 == [(INST1, "delivered")], "rows at the crash: %s" % cid2)

    t2 = uas(env, p2, body="both")
    d.start()
    st = d.wait_final(pid)
    t2.ok()
    check(st["state"] == "delivered" and sorted(
        (x["terminal"].split("gr=")[-1], x["state"]) for x in
        st["deliveries"]) == sorted([(INST1, "delivered"),
                                     (inst2, "delivered")]),
          "both delivered after the restart: %s" % st)
    sent = re.findall(r"CALLID= ?(\S+)", t2.log())
    want = [x["call_id"] for x in st["deliveries"]
            if x["terminal"].endswith(inst2)]
    check(sent == want, "the second terminal's Call-ID kept: %s %s"
          % (sent, want))


def sip_exchange(d, msg, tcp=False):
    """Send one raw request; return the status line of the answer."""
    import socket
    if tcp:
        s = socket.create_connection(("127.0.0.1", d.sip_port), 5)
        s.sendall(msg.encode())
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto(msg.encode(), ("127.0.0.1", d.sip_port))
    s.settimeout(5)
    data = s.recv(65535)
    s.close()
    return data.split(b"\r\n", 1)[0].decode()


def test_malformed_sip(env):
    d = Daemon(env, "--trust-udp").start()
    base = REGISTER
    cases = [
        ("CSeq: 1 REGISTER\r\n", "CSeq: 1 INVITE\r\n"),
        ("Expires: 60\r\n", "Expires: soon\r\n"),
        ("Max-Forwards: 70\r\n", ""),
        ("Content-Length: 0\r\n", "Content-Length: 4294967296\r\n"),
        ('+g.oma.pusheventapp=\"mms.ua\"', '+g.oma.pusheventapp=\"mms.ua'),
    ]
    n = 0
    for tcp in (False, True):
        for old, new in cases:
            n += 1
            msg = base.format(tp="TCP" if tcp else "UDP", n=n).replace(
                old, new)
            try:
                line = sip_exchange(d, msg, tcp)
            except OSError as e:
                line = "no answer (%s)" % e
            check(line.startswith("SIP/2.0 400"), "%r over %s: %s" % (
                new, "TCP" if tcp else "UDP", line))
        n += 1
        line = sip_exchange(d, base.format(tp="TCP" if tcp else "UDP", n=n),
                            tcp)
        check(line.startswith("SIP/2.0 200"), "valid after bad: " + line)
    # a method sippushd does not serve
    line = sip_exchange(d, base.format(tp="UDP", n=99).replace(
        "REGISTER sip:", "INFO sip:").replace("1 REGISTER", "1 INFO"))
    check(line.startswith("SIP/2.0 405"), "INFO: " + line)


def test_refusals_logged(env):
    """A refused request is in the log with its reason and source (an
    operator sees it without a capture); a flood of them costs at most 10
    lines a second and one count."""
    d = Daemon(env).start()    # no --trust-udp: a UDP REGISTER is a stranger's
    line = sip_exchange(d, REGISTER.format(tp="UDP", n=1).replace(
        "Max-Forwards: 70\r\n", ""))
    check(line.startswith("SIP/2.0 400"), "no Max-Forwards: " + line)
    line = sip_exchange(d, REGISTER.format(tp="UDP", n=2))
    check(line.startswith("SIP/2.0 403"), "untrusted, no credentials: "
          + line)
    for n in range(3, 63):
        sip_exchange(d, REGISTER.format(tp="UDP", n=n).replace(
            "Max-Forwards: 70\r\n", ""))
    wait_until(lambda: "more requests refused" in d.log(), 5,
               "the count of the refusals not logged")
    d.stop()
    log = d.log()
    check(re.search(r"refused REGISTER from 127\.0\.0\.1:\d+ \(UDP\): 400 "
                    r"Missing Max-Forwards", log), "400 not logged:\n" + log)
    check(re.search(r"refused REGISTER from 127\.0\.0\.1:\d+ \(UDP\): 403 ",
                    log), "403 not logged")
    lines = len(re.findall(r"refused REGISTER", log))
    check(lines < 62 and "more requests refused" in log,
          "62 refusals in about a second: %d lines, no count" % lines)



def test_waiting_says_why(env):
    """A push that sends nothing says why, in its status and in
    `sippush send --wait`: nobody registered, a terminal without the push
    feature tag (a plain SIP client), one carrying another application,
    a named terminal that is not there."""
    d = Daemon(env, "--trust-udp").start()

    def why(to, target=None):
        body = {"to": to, "app": "mms.ua", "content_type": "text/plain",
                "body": "w"}
        if target:
            body["terminals"] = target
        return d.status(d.push(**body)).get("waiting")

    check(why("sip:nobody@example.com") == "no terminal registered",
          "nobody: %s" % why("sip:nobody@example.com"))
    plain = REGISTER.format(tp="UDP", n=70).replace(
        ';+g.oma.pusheventapp="mms.ua"', "")
    check(sip_exchange(d, plain).startswith("SIP/2.0 200"), "plain REGISTER")
    w = why("sip:rita@example.com")
    check(w and "none takes push (no +g.oma.pusheventapp)" in w,
          "a plain SIP client: %s" % w)
    register_udp(d, "carol", 5999, "urn:uuid:00000000-0000-0000-0000-"
                 "0000000000d1", apps="syncml.dm")
    w = why("sip:carol@example.com")
    check(w and "application not registered (mms.ua)" in w,
          "another application: %s" % w)
    w = why("sip:carol@example.com", "urn:uuid:00000000-0000-0000-0000-"
            "0000000000ff")
    check(w and "not registered" in w and "0000000000ff" in w,
          "a named terminal that is not there: %s" % w)
    out = subprocess.run(
        [os.path.join(BUILD, "cmd", "sippush"), "--server", d.base]
        + (["--token", d.token] if d.token else [])
        + ["send", "--to", "sip:nobody@example.com", "--app", "mms.ua",
           "--data", "x", "--wait", "--timeout", "1"],
        capture_output=True, text=True, timeout=30)
    check("waiting: no terminal registered" in out.stdout and
          "no terminal registered" in out.stderr,
          "sippush send --wait: %r %r" % (out.stdout, out.stderr))


THIRD = ("REGISTER sip:push.example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:{{via}};branch=z9hG4bK-3p{n}\r\n"
         "From: <sip:scscf@example.com>;tag=c{n}\r\n"
         "To: <sip:ivy@example.com>\r\nCall-ID: 3p-{n}@core\r\n"
         "CSeq: {n} REGISTER\r\nContact: <sip:scscf@127.0.0.1:9>\r\n"
         "Expires: \r\nMax-Forwards: 70\r\n"
         "Content-Type: message/sip\r\nContent-Length: {len}\r\n\r\n{body}")
UE = ("REGISTER sip:example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5998;branch=z9hG4bK-ue{n}\r\n"
      "From: <sip:ivy@example.com>;tag=ue\r\nTo: <sip:ivy@example.com>\r\n"
      "Call-ID: ue-ivy@127.0.0.1\r\nCSeq: {n} REGISTER\r\n"
      "Contact: <sip:ivy@127.0.0.1:5998>;expires={exp};+sip.instance="
      "\"<urn:uuid:00000000-0000-0000-0000-0000000000e1>\";"
      "+g.oma.pusheventapp=\"mms.ua\"\r\nContent-Length: 0\r\n\r\n")


def test_third_party_expires_in_contact(env):
    """A terminal that puts its expiry in the Contact (;expires=) makes a
    core that copies the Expires header send an empty one (Kamailio's
    core.cfg did): the registration and the de-registration still count,
    from the body's Contact."""
    d = Daemon(env, "--trust-udp").start()
    for n, exp in ((1, 600), (2, 0)):
        body = UE.format(n=n, exp=exp)
        ans = udp_request(d.sip_port, THIRD.format(
            n=n, len=len(body), body=body))
        check(ans.startswith("SIP/2.0 200"), "third-party REGISTER with an "
              "empty Expires, Contact ;expires=%d: %s" % (exp, ans[:60]))
        t = d.terminals("sip:ivy@example.com")
        if exp:
            check(len(t) == 1 and 590 <= t[0]["expires"] <= 600,
                  "registered for 600 s: %s" % t)
        else:
            check(t == [], "de-registered: %s" % t)

if __name__ == "__main__":
    run([test_kill9_durability, test_kill9_mid_delivery_resumes,
         test_register_acked_survives_kill9,
         test_retention_purge, test_bad_input, test_digest_and_trust,
         test_require_420, test_third_party_register, test_cli,
         test_malformed_sip, test_refusals_logged,
         test_waiting_says_why, test_third_party_expires_in_contact,
         test_gruu_given_only, test_gruu_refused_falls_back,
         test_all_terminals_at_once, test_1300_through_core,
         test_ims_headers, test_gruu_refer_and_invite, test_gruu_reloaded])

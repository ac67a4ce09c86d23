#!/usr/bin/env python3
"""sippushd in page mode, end to end: SIPp terminals register and take
MESSAGE pushes; assertions on the wire (SIPp regexps, tshark) and in the
store (HTTP status, the SQLite file)."""
import hashlib
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Capture, Daemon, Sipp, check, free_port, register,
                     run, scenario, wait_until)

INST1 = "urn:uuid:6c2b6c1e-0000-4000-8000-000000000001"
INST2 = "urn:uuid:6c2b6c1e-0000-4000-8000-000000000002"
PAI = "sip:push@localhost"


def uas(env, port, calls=1, code=200, body=".*", app="mms.ua", ruri=None,
        timeout=30):
    scen = scenario(env, "uas_message.xml", app=re.escape(app),
                    pai=re.escape(PAI), body=body, code=code,
                    ruri=ruri or r"sip:[^ ]+")
    return Sipp(env, scen, port, calls=calls, timeout=timeout)


def test_register_and_push(env):
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    cap = Capture(env, [d.sip_port, tport])
    term = uas(env, tport, body="hello", ruri=re.escape(
        "sip:alice@127.0.0.1:%d" % tport))
    reg = register(env, d, "alice", tport, INST1)
    check("pub-gruu=\"sip:alice@example.com;gr=%s\"" % INST1 in reg.log(),
          "200 to REGISTER lacks the pub-gruu: " + reg.log())

    terms = d.terminals("sip:alice@example.com")
    check(len(terms) == 1, "one terminal expected: %s" % terms)
    t = terms[0]
    check(t["instance"] == INST1 and t["apps"] == ["mms.ua"] and
          t["methods"] == ["MESSAGE", "OPTIONS"] and
          t["gruu"] == "sip:alice@example.com;gr=" + INST1 and
          t["contact"] == "sip:alice@127.0.0.1:%d" % tport and
          0 < t["expires"] <= 600, "terminal record: %s" % t)

    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="hello")
    term.ok()
    st = d.wait_final(pid)
    check(st["state"] == "delivered", "state: %s" % st)
    dl = st["deliveries"]
    check(len(dl) == 1 and dl[0]["sip_status"] == 200 and
          dl[0]["pap_code"] == 1000 and dl[0]["state"] == "delivered" and
          dl[0]["attempts"] == 1 and dl[0]["method"] == "message",
          "deliveries: %s" % dl)
    check("CALLID=%s " % dl[0]["call_id"] in term.log(),
          "the MESSAGE's Call-ID is not the stored one")
    # REGISTER, 200, MESSAGE, 200
    cap.verify(4)
    d.stop()
    rows = d.db_rows("SELECT state, final_ms > 0 FROM pushes WHERE id=?",
                     (pid,))
    check(rows == [("delivered", 1)], "store: %s" % rows)
    rows = d.db_rows("SELECT state, sip_status, call_id FROM deliveries "
                     "WHERE push_id=?", (pid,))
    check(rows == [("delivered", 200, dl[0]["call_id"])], "store: %s" % rows)


def test_retry_same_call_id(env):
    d = Daemon(env, "--trust-udp", "--retry-base", "200").start()
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_retry.xml", code=480,
                                 extra=""), tport)
    register(env, d, "bob", tport, INST1)
    pid = d.push(to="sip:bob@example.com", app="mms.ua",
                 content_type="text/plain", body="again")
    term.ok()
    st = d.wait_final(pid)
    dl = st["deliveries"][0]
    check(st["state"] == "delivered" and dl["attempts"] == 2 and
          dl["sip_status"] == 200, "after 480 then 200: %s" % st)
    first = re.search(r"FIRST CSEQ= *(\d+) MESSAGE", term.log())
    again = re.search(r"RETRY CSEQ= *(\d+) MESSAGE", term.log())
    check(first and again and
          int(again.group(1)) == int(first.group(1)) + 1, term.log())


def test_retry_after(env):
    """A terminal answering 503 with Retry-After: 3 is not tried again
    before 3 s, whatever the backoff says (--retry-base 200): the attempt
    event carries the delay chosen."""
    d = Daemon(env, "--trust-udp", "--retry-base", "200").start()
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_retry.xml", code=503,
                              extra="\nRetry-After: 3 (maintenance)"),
                tport)
    register(env, d, "rita", tport, INST1)
    st, doc, _ = d.http("GET", "/v1/events?wait=0")
    after = doc["next"]
    pid = d.push(to="sip:rita@example.com", app="mms.ua",
                 content_type="text/plain", body="later")
    term.ok()
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          st["deliveries"][0]["attempts"] == 2, "503 then 200: %s" % st)
    st, doc, _ = d.http("GET", "/v1/events?after=%d" % after)
    first = [e for e in doc["events"] if e["type"] == "attempt" and
             e.get("push") == pid][0]
    check(first["sip_status"] == 503 and first["retry_ms"] == 3000,
          "the retry waits for Retry-After: %s" % first)


def test_refused_404(env):
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    term = uas(env, tport, code=404)
    register(env, d, "carol", tport, INST1)
    pid = d.push(to="sip:carol@example.com", app="mms.ua",
                 content_type="text/plain", body="x")
    term.ok()
    st = d.wait_final(pid)
    dl = st["deliveries"][0]
    check(st["state"] == "undeliverable" and dl["sip_status"] == 404 and
          dl["pap_code"] == 2002 and dl["attempts"] == 1,
          "404: %s" % st)


def test_two_terminals(env):
    d = Daemon(env, "--trust-udp").start()
    p1, p2 = free_port(), free_port()
    cap = Capture(env, [d.sip_port, p1, p2])
    t1 = uas(env, p1, calls=2, ruri=re.escape("sip:dave@127.0.0.1:%d" % p1))
    t2 = uas(env, p2, calls=1, ruri=re.escape("sip:dave@127.0.0.1:%d" % p2))
    register(env, d, "dave", p1, INST1)
    register(env, d, "dave", p2, INST2)
    check(len(d.terminals("sip:dave@example.com")) == 2, "two terminals")

    all_id = d.push(to="sip:dave@example.com", app="mms.ua",
                    content_type="text/plain", body="both")
    st = d.wait_final(all_id)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 2 and
          all(x["state"] == "delivered" for x in st["deliveries"]),
          "push to all: %s" % st)
    t2.ok()

    one_id = d.push(to="sip:dave@example.com", app="mms.ua",
                    content_type="text/plain", body="one",
                    terminals=INST1)
    st = d.wait_final(one_id)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["terminal"].endswith(INST1),
          "push to one instance: %s" % st)
    t1.ok()
    check(t2.log().count("PUSH ") == 1, "terminal 2 got a push for 1")
    cap.verify(2 * 2 + 3 * 2)


def test_offline_then_register(env):
    d = Daemon(env, "--trust-udp").start()
    pid = d.push(to="sip:erin@example.com", app="mms.ua",
                 content_type="text/plain", body="later", ttl=120)
    time.sleep(0.3)
    st = d.status(pid)
    check(st["state"] == "pending" and st["deliveries"] == [],
          "offline push: %s" % st)
    tport = free_port()
    term = uas(env, tport, body="later")
    register(env, d, "erin", tport, INST1)
    term.ok()
    check(d.wait_final(pid)["state"] == "delivered", "delivered on register")


def test_content_indirection(env):
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    big = ("0123456789abcdef" * 200)[:3000]
    scen = scenario(env, "uas_extbody.xml", ctype=re.escape("text/plain"),
                    size=len(big))
    term = Sipp(env, scen, tport)
    register(env, d, "frank", tport, INST1)
    pid = d.push(to="sip:frank@example.com", app="mms.ua",
                 content_type="text/plain", body=big)
    term.ok()
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and st["deliveries"][0]["indirect"],
          "indirect push: %s" % st)
    m = re.search(r"EXTBODY URL=(\S+) HASH=([0-9a-f]{40})",
                  term.log())
    check(m, "no URL in the MESSAGE: " + term.log())
    url, sha = m.group(1), m.group(2)
    check(url.startswith(d.base + "/v1/content/"), "URL: " + url)
    with urllib.request.urlopen(url, timeout=10) as r:
        data = r.read()
        check(r.headers["Content-Type"] == "text/plain", "content type")
    check(data.decode() == big, "fetched content differs")
    check(hashlib.sha1(data).hexdigest() == sha, "SHA-1 differs")
    st, _, _ = d.http("GET", "/v1/content/" + "0" * 32)
    check(st == 404, "unknown token: %s" % st)


def test_expiry_and_deregister(env):
    d = Daemon(env, "--trust-udp", "--min-expires", "1").start()
    register(env, d, "gina", free_port(), INST1, expires=2)
    p2 = free_port()
    register(env, d, "gina", p2, INST2, expires=600)
    check(len(d.terminals("sip:gina@example.com")) == 2, "two registered")
    # the 2 s binding goes by the daemon's own timer
    wait_until(lambda: len(d.terminals("sip:gina@example.com")) == 1, 6,
               "the expired terminal to go")
    # a re-REGISTER without push feature tags withdraws push
    register(env, d, "gina", p2, INST2, apps="", expires=600)
    t = d.terminals("sip:gina@example.com")
    check(len(t) == 1 and t[0]["push"] is False and t[0]["apps"] == [],
          "withdrawn push: %s" % t)
    register(env, d, "gina", p2, INST2, expires=0)
    check(d.terminals("sip:gina@example.com") == [], "Expires: 0 removes")


def test_topic_and_cancel(env):
    d = Daemon(env, "--trust-udp").start()
    a = d.push(to="sip:hank@example.com", app="mms.ua",
               content_type="text/plain", body="v1", topic="inbox")
    b = d.push(to="sip:hank@example.com", app="mms.ua",
               content_type="text/plain", body="v2", topic="inbox")
    check(d.wait_final(a, 5)["state"] == "cancelled", "older topic push")
    check(d.status(b)["state"] == "pending", "newer topic push pending")
    st, doc, _ = d.http("DELETE", "/v1/pushes/" + b)
    check(st == 200 and doc["state"] == "cancelled", "DELETE: %s %s" %
          (st, doc))
    st, doc, _ = d.http("DELETE", "/v1/pushes/" + b)
    check(st == 409, "second DELETE: %s %s" % (st, doc))
    st, doc, _ = d.http("DELETE", "/v1/pushes/ffffffffffffffff")
    check(st == 404, "unknown DELETE: %s" % st)


def test_batch(env):
    d = Daemon(env, "--trust-udp").start()
    body = [{"to": "sip:u%d@example.com" % i, "app": "mms.ua",
             "content_type": "text/plain", "body": "b%d" % i}
            for i in range(20)]
    st, doc, _ = d.http("POST", "/v1/pushes", body)
    check(st == 202 and len(doc["ids"]) == 20 and
          len(set(doc["ids"])) == 20, "batch: %s %s" % (st, doc))
    body[7]["to"] = "nope"
    st, doc, _ = d.http("POST", "/v1/pushes", body)
    check(st == 400 and doc["error"].startswith("[7].to:"),
          "bad batch: %s %s" % (st, doc))
    d.stop()
    n = d.db_rows("SELECT COUNT(*) FROM pushes")[0][0]
    check(n == 20, "a rejected batch stored nothing: %d rows" % n)


def test_method_names(env):
    """The API takes the method names the core knows, spelled as it does"""
    d = Daemon(env, "--trust-udp").start()
    push = {"to": "sip:mona@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "x"}
    for bad in ("pager", "MESSAGE", "", "notify "):
        st, doc, _ = d.http("POST", "/v1/pushes", dict(push, method=bad))
        check(st == 400 and doc["error"].startswith("method:"),
              "method %r: %s %s" % (bad, st, doc))
    ids = []
    for good in ("auto", "message", "notify", "refer", "session"):
        st, doc, _ = d.http("POST", "/v1/pushes", dict(push, method=good))
        check(st == 202, "method %r: %s %s" % (good, st, doc))
        ids.append(doc.get("id"))
    d.stop()
    m = d.db_rows("SELECT method FROM pushes ORDER BY seq")
    check([r[0] for r in m] == ["auto", "message", "notify", "refer",
                                "session"], "stored: %s" % m)


def test_partial_expired_url(env):
    d = Daemon(env, "--trust-udp").start()
    p1, p2 = free_port(), free_port()
    t1 = uas(env, p1, code=200)
    t2 = uas(env, p2, code=404)
    register(env, d, "ruth", p1, INST1)
    register(env, d, "ruth", p2, INST2)
    pid = d.push(to="sip:ruth@example.com", app="mms.ua",
                 content_type="text/plain", body="half")
    t1.ok()
    t2.ok()
    st = d.wait_final(pid)
    states = sorted(x["state"] for x in st["deliveries"])
    check(st["state"] == "partial" and
          states == ["delivered", "undeliverable"], "partial: %s" % st)

    # nobody registered for the whole TTL: expired, PAP 2001 on no delivery
    pid = d.push(to="sip:nobody@example.com", app="mms.ua",
                 content_type="text/plain", body="x", ttl=1)
    st = d.wait_final(pid, 5)
    check(st["state"] == "expired" and st["deliveries"] == [],
          "expired: %s" % st)

    # the push's own URL goes into message/external-body
    tport = free_port()
    t3 = uas(env, tport)
    register(env, d, "sam", tport, INST1)
    url = "http://127.0.0.1:1/content/42"
    pid = d.push(to="sip:sam@example.com", app="mms.ua",
                 content_type="application/vnd.wap.mms-message", url=url)
    t3.ok()
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and st["deliveries"][0]["indirect"],
          "url push: %s" % st)
    msgs = t3.messages()
    check('URL="%s"' % url in msgs and "access-type=\"URL\"" in msgs and
          "Content-Type: application/vnd.wap.mms-message" in msgs,
          "external-body with the push's URL: " + msgs[-1500:])


def test_tcp_terminal(env):
    # registration and push over TCP: Contact ;transport=tcp
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    scen = scenario(env, "uas_message.xml", app=re.escape("mms.ua"),
                    pai=re.escape(PAI), body="over-tcp", code=200,
                    ruri=re.escape("sip:pat@127.0.0.1:%d;transport=tcp" %
                                   tport))
    term = Sipp(env, scen, tport, transport="t1")
    reg = Sipp(env, scenario(env, "register.xml", check_gruu="true"),
               free_port(), "127.0.0.1:%d" % d.sip_port, transport="t1",
               keys={"contact_port": "%d;transport=tcp" % tport,
                     "instance": INST1, "aor_user": "pat", "expires": 600,
                     "params": ';+g.oma.pusheventapp="mms.ua"'})
    reg.ok()
    pid = d.push(to="sip:pat@example.com", app="mms.ua",
                 content_type="text/plain", body="over-tcp")
    term.ok()
    check(d.wait_final(pid)["state"] == "delivered", "TCP push")
    check("TCP message received" in term.messages() or
          "TCP message" in term.messages(), "went over TCP")


def test_outbound_gruu(env):
    # through a core (--outbound): the Request-URI is the terminal's GRUU
    core = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d" % core).start()
    register(env, d, "quinn", free_port(), INST1)
    c = uas(env, core, ruri=re.escape("sip:quinn@example.com;gr=" + INST1))
    pid = d.push(to="sip:quinn@example.com", app="mms.ua",
                 content_type="text/plain", body="via-outbound")
    c.ok()
    check(d.wait_final(pid)["state"] == "delivered", "delivered")


def test_plain_client_preference(env):
    """--plain-apps: the MESSAGE to a terminal registered without the tag
    names the application as a preference only (no require;explicit),
    which a core applying caller preferences (RFC 3841) would otherwise
    use to leave the terminal out; a tagged one keeps require;explicit"""
    import socket
    d = Daemon(env, "--trust-udp", "--plain-apps", "mms.ua").start()
    tport = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    s.sendto(("REGISTER sip:example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-plain\r\n"
              "From: <sip:pam@example.com>;tag=p1\r\n"
              "To: <sip:pam@example.com>\r\nCall-ID: plain-1@t\r\n"
              "CSeq: 1 REGISTER\r\nContact: <sip:pam@127.0.0.1:%d>\r\n"
              "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n"
              "\r\n" % (s.getsockname()[1], tport)).encode(),
             ("127.0.0.1", d.sip_port))
    check(s.recv(65535).startswith(b"SIP/2.0 200"), "registered")
    s.close()
    scen = scenario(env, "uas_message.xml", app=r"mms\.ua",
                    pai=re.escape(PAI), body="plain", code=200,
                    ruri=r"sip:pam@127\.0\.0\.1:%d" % tport)
    with open(scen) as f:
        txt = f.read()
    want = txt.replace(';require;explicit$"', '$"')
    check(want != txt, "the scenario's Accept-Contact check")
    with open(scen, "w") as f:
        f.write(want)
    term = Sipp(env, scen, tport)
    pid = d.push(to="sip:pam@example.com", app="mms.ua",
                 content_type="text/plain", body="plain")
    term.ok()
    check(d.wait_final(pid)["state"] == "delivered", "delivered")


if __name__ == "__main__":
    run([test_register_and_push, test_retry_same_call_id, test_retry_after,
         test_plain_client_preference,
         test_refused_404,
         test_two_terminals, test_offline_then_register,
         test_content_indirection, test_expiry_and_deregister,
         test_topic_and_cancel, test_batch, test_tcp_terminal,
         test_outbound_gruu, test_partial_expired_url, test_method_names])

#!/usr/bin/env python3
"""OMA PAP on POST /pap, driven by a small push initiator written here:
push-message (multipart/related) -> push-response 1001 -> the push
reaches a sippush-agent -> statusquery says delivered 1000; a duplicate
push-id gets 2007; a TYPE=PLMN address is mapped by --plmn-domain; a push
to an offline user is cancelled (cancel-result 1000, then statusquery
cancelled); a ccq-message returns the terminal's capabilities; malformed
and hostile documents get a badmessage-response naming the fragment."""
import html
import os
import re
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, register, run,
                     scenario, wait_until)
from test_agent import Agent

DT = ('<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP '
      '2.1//EN" "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd">\n')


def post(d, body, ctype, auth=None):
    """auth None: as the admin (the daemon's token); "": none"""
    headers = {"Content-Type": ctype}
    if auth is None and d.token:
        auth = "Bearer " + d.token
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(d.base + "/pap", data=body, method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def push_message(d, push_id, addrs, content=b"hello", app="mms.ua",
                 extra="", auth=None, method="confirmed"):
    xml = DT + ('<pap><push-message push-id="%s"%s>' % (push_id, extra) +
                "".join('<address address-value="%s"/>' % a for a in addrs)
                + '<quality-of-service priority="high" '
                'delivery-method="%s"/></push-message></pap>' % method)
    b = "pap-boundary-1"
    body = ("--%s\r\nContent-Type: application/xml\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: text/plain\r\n"
            "X-Wap-Application-Id: x-wap-application:%s\r\n\r\n"
            % (b, xml, b, app)).encode() + content + \
        ("\r\n--%s--\r\n" % b).encode()
    return post(d, body, 'multipart/related; type="application/xml"; '
                'boundary=%s' % b, auth)


def simple(d, xml):
    return post(d, (DT + xml).encode(), "application/xml")


def code(doc):
    m = re.search(r'code="(\d+)"', doc)
    return m.group(1) if m else None


def user(name):
    return "WAPPUSH=sip%%3A%s%%40example.com/TYPE=USER@ppg.example" % name


def test_pap_flow(env):
    d = Daemon(env, "--trust-udp", "--plmn-domain", "example.com").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")

    st, doc = push_message(d, "pi-1", [user("alice")])
    check(st == 202 and "<push-response" in doc and code(doc) == "1001",
          "push-response: %s %s" % (st, doc))
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the push at the agent")
    wait_until(lambda: 'message-state="delivered"' in simple(
        d, '<pap><statusquery-message push-id="pi-1"/></pap>')[1], 10,
        "statusquery delivered")
    st, doc = simple(d, '<pap><statusquery-message push-id="pi-1"/></pap>')
    check(st == 202 and 'code="1000"' in doc and
          user("alice") in doc, "statusquery: %s" % doc)

    st, doc = push_message(d, "pi-1", [user("alice")])
    check(code(doc) == "2007", "duplicate push-id: %s" % doc)

    # PLMN address, mapped; the user is offline: cancel it
    st, doc = push_message(d, "pi-2", ["WAPPUSH=%2B15551234567/TYPE=PLMN@"
                                       "ppg.example"])
    check(code(doc) == "1001", "PLMN push: %s" % doc)
    st, doc = simple(d, '<pap><statusquery-message push-id="pi-2"/></pap>')
    check('message-state="pending"' in doc and 'code="1001"' in doc,
          "pending: %s" % doc)
    st, doc = simple(d, '<pap><cancel-message push-id="pi-2"/></pap>')
    check("<cancel-response" in doc and code(doc) == "1000",
          "cancel: %s" % doc)
    st, doc = simple(d, '<pap><statusquery-message push-id="pi-2"/></pap>')
    check('message-state="cancelled"' in doc, "after cancel: %s" % doc)
    st, doc = simple(d, '<pap><cancel-message push-id="pi-9"/></pap>')
    check(code(doc) == "2004", "unknown push-id: %s" % doc)

    st, doc = simple(d, '<pap><ccq-message query-id="q-1"><address '
                     'address-value="%s"/></ccq-message></pap>' %
                     user("alice"))
    check("<ccq-response" in doc and code(doc) == "1000" and
          "mms.ua" in doc, "ccq: %s" % doc)
    d.stop()
    rows = d.db_rows("SELECT pap_id, count(*) FROM pap_pushes GROUP BY "
                     "pap_id ORDER BY pap_id")
    check(rows == [("pi-1", 1), ("pi-2", 1)], "store: %s" % rows)


def test_pap_bad(env):
    d = Daemon(env, "--trust-udp").start()
    cases = [
        ("<pap><push-message push-id=\"x\"><address address-value=\"a\">"
         "</push-message></pap>", "2000", "</push-message>"),
        ('<?xml version="1.0"?><!DOCTYPE pap [<!ENTITY a "aaaa">'
         '<!ENTITY b "&a;&a;&a;&a;&a;&a;">]><pap>&b;</pap>', "2000",
         "ENTITY"),
        ('<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD PAP 9.0//EN" "x"><pap/>',
         "3002", ""),
        ("not xml at all", "2000", ""),
    ]
    for xml, c, frag in cases:
        st, doc = post(d, xml.encode(), "application/xml")
        check(st == 400 and "<badmessage-response" in doc and
              code(doc) == c and frag in html.unescape(doc),
              "%r -> %s %s" % (xml, st, doc))
    # a push for an address that is no AoR: 2002; no content part: 2000
    st, doc = push_message(d, "pi-3", ["WAPPUSH=nobody/TYPE=USER@p"])
    check(code(doc) == "2002", "bad address: %s" % doc)
    st, doc = simple(d, '<pap><push-message push-id="pi-4"><address '
                     'address-value="%s"/></push-message></pap>' %
                     user("bob"))
    check(code(doc) == "2000", "no content: %s" % doc)
    # still serving
    st, doc = push_message(d, "pi-5", [user("bob")])
    check(code(doc) == "1001", "after bad input: %s" % doc)




class Notes:
    """The push initiator's HTTP listener for result notifications; the
    first `fail` requests get 503."""

    def __init__(self, port=0, fail=0):
        import http.server
        import threading
        outer = self
        self.bodies = []
        self.fail = fail

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(503)
                else:
                    outer.bodies.append(body)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", port), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_pap_result_notifications(env):
    """A resultnotification-message reaches the initiator's listener when
    the push ends (after a 503 and a retry), and one that could not be
    sent survives a kill -9 of sippushd."""
    import socket
    notes = Notes(fail=1)
    d = Daemon(env, "--trust-udp", "--notify-allow-private").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    url = "http://127.0.0.1:%d/notify" % notes.port
    st, doc = push_message(d, "rn-1", [user("alice")],
                           extra=' ppg-notify-requested-to="%s"' % url)
    check(code(doc) == "1001", "push: %s" % doc)
    wait_until(lambda: notes.bodies, 15, "the result notification")
    body = notes.bodies[0]
    check("<resultnotification-message" in body and 'push-id="rn-1"' in
          body and 'message-state="delivered"' in body and
          'code="1000"' in body and user("alice") in body,
          "notification: %s" % body)
    check(notes.fail == 0, "the 503 was not retried")
    notes.close()

    # nobody listens yet: the notification waits in the store
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = "http://127.0.0.1:%d/notify" % port
    st, doc = push_message(d, "rn-2", [user("nobody")],
                           extra=' ppg-notify-requested-to="%s"' % url)
    check(code(doc) == "1001", "push: %s" % doc)
    st, doc = simple(d, '<pap><cancel-message push-id="rn-2"/></pap>')
    check(code(doc) == "1000", "cancel: %s" % doc)
    import time
    time.sleep(0.5)   # a first attempt fails (connection refused)
    d.kill9()
    check(d.db_rows("SELECT count(*) FROM pap_notify") == [(1,)],
          "the notification is not in the store")
    later = Notes(port=port)
    d.start()
    wait_until(lambda: later.bodies, 20, "the notification after restart")
    check('push-id="rn-2"' in later.bodies[0] and
          'message-state="cancelled"' in later.bodies[0],
          "notification: %s" % later.bodies[0])
    later.close()
    d.stop()
    check(d.db_rows("SELECT count(*) FROM pap_notify") == [(0,)],
          "a confirmed notification stays in the store")



def test_pap_deferred(env):
    """deliver-after-timestamp: nothing reaches the terminal before it,
    the push goes once it has passed."""
    import datetime
    import time
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    after = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=3)
    t0 = time.time()
    st, doc = push_message(d, "df-1", [user("alice")], extra=
                           ' deliver-after-timestamp="%s"' %
                           after.strftime("%Y-%m-%dT%H:%M:%SZ"))
    check(code(doc) == "1001", "push: %s" % doc)
    time.sleep(1)
    check([f for f in a.files() if not f.endswith(".meta")] == [],
          "delivered before deliver-after-timestamp")
    st, doc = simple(d, '<pap><statusquery-message push-id="df-1"/></pap>')
    check('message-state="pending"' in doc, "status: %s" % doc)
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the deferred push")
    check(time.time() - t0 >= 1.5, "too early")



def test_delivery_method(env):
    """quality-of-service delivery-method: a relay's 202 confirms nothing,
    so "confirmed" waits for the terminal's own answer while
    "unconfirmed" takes the 202 as delivery."""
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_message.xml", app=r"mms\.ua",
                              pai=".*", body="hello", code=202,
                              ruri=r"sip:[^ ]+"), tport, calls=2)
    register(env, d, "ivan", tport,
             "<urn:uuid:00000000-0000-0000-0000-0000000000e1>")
    st, doc = push_message(d, "dm-u", [user("ivan")], method="unconfirmed")
    check(code(doc) == "1001", "push: %s" % doc)
    wait_until(lambda: 'message-state="delivered"' in simple(
        d, '<pap><statusquery-message push-id="dm-u"/></pap>')[1], 10,
        "unconfirmed: delivered on the 202")
    st, doc = push_message(d, "dm-c", [user("ivan")], method="confirmed")
    check(code(doc) == "1001", "push: %s" % doc)
    term.ok()
    st, doc = simple(d, '<pap><statusquery-message push-id="dm-c"/></pap>')
    check('message-state="pending"' in doc, "confirmed after a 202: %s"
          % doc)
    d.stop()
    rows = d.db_rows("SELECT p.relay, d.sip_status, d.state FROM pushes p "
                     "JOIN deliveries d ON d.push_id=p.id ORDER BY p.seq")
    check(rows == [(1, 202, "delivered"), (2, 202, "pending")],
          "store: %s" % rows)


def test_audit_log(env):
    """One JSON line per final delivery; SIGHUP reopens the file after a
    rotation (rename)."""
    import json
    import signal
    log = env.path("audit.log")
    d = Daemon(env, "--trust-udp", "--audit-log", log).start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    st, doc = push_message(d, "au-1", [user("alice")])
    wait_until(lambda: os.path.exists(log) and open(log).read(), 10,
               "the audit line")
    line = json.loads(open(log).read().splitlines()[0])
    check(line["initiator"] == "pap" and line["user"] ==
          "sip:alice@example.com" and line["app"] == "mms.ua" and
          line["method"] == "message" and line["state"] == "delivered" and
          line["sip_status"] == 200 and line["pap_code"] == 1000 and
          line["size"] == 5, "audit: %s" % line)
    os.rename(log, log + ".1")
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in d.log(), 5, "the reopen")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="second")
    d.wait_final(pid)
    wait_until(lambda: os.path.exists(log) and open(log).read(), 10,
               "a line in the new file")
    line = json.loads(open(log).read().splitlines()[0])
    check(line["push"] == pid and line["initiator"] == "api",
          "after rotation: %s" % line)
    check(len(open(log + ".1").read().splitlines()) == 1, "old file")



def test_metrics(env):
    """/metrics: deliveries by method and state, SIP responses by code,
    pushes by initiator, the delivery latency and store commit
    histograms."""
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    st, doc = push_message(d, "m-1", [user("alice")])
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="x")
    d.wait_final(pid)
    wait_until(lambda: 'state="delivered"' in simple(
        d, '<pap><statusquery-message push-id="m-1"/></pap>')[1], 10,
        "both delivered")
    st, txt, _ = d.http("GET", "/metrics")
    txt = txt.decode() if isinstance(txt, bytes) else str(txt)
    want = [
        'sippush_deliveries_total{method="message",state="delivered"} 2',
        'sippush_sip_responses_total{code="200"} 2',
        'sippush_pushes_accepted_by_initiator_total{initiator="api"} 1',
        'sippush_pushes_accepted_by_initiator_total{initiator="pap"} 1',
        'sippush_delivery_latency_seconds_count 2',
        'sippush_delivery_latency_seconds_bucket{le="+Inf"} 2',
        'sippush_store_commit_seconds_bucket{le="0.0005"}',
        "sippush_pushes_accepted_total 2",
        "sippush_terminals 1",
    ]
    for w in want:
        check(w in txt, "metrics lack %r:\n%s" % (w, txt))
    m = re.search(r"sippush_store_commit_seconds_count (\d+)", txt)
    check(m and int(m.group(1)) >= 2, "commit histogram: %s" % txt)



def test_initiators(env):
    """Named initiators: Bearer for REST, Basic for PAP, their
    applications and rate; a trusted one's identity is asserted (the
    terminal takes the push, From its identity), an untrusted one's is
    not (the terminal refuses: no trusted P-Asserted-Identity)."""
    import base64
    d = Daemon(env, "--trust-udp", "--initiator", "mmsc token=tok1 apps=mms.ua rate=2 "
               "identity=sip:mmsc@op.example trusted", "--initiator",
               "dm user=dm pass=s3cret apps=syncml.dm "
               "identity=sip:dm@op.example").start()
    a = Agent(env, "alice", d.sip_port, "--app",
              "syncml.dm=dir:" + env.path("dm-inbox")).start()
    wait_until(lambda: d.http("GET", "/v1/users/sip:alice@example.com/"
                              "terminals", token="tok1")[1]["terminals"],
               10, "registered")
    push = {"to": "sip:alice@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "from the mmsc"}

    st, doc, _ = d.http("POST", "/v1/pushes", push, token="")
    check(st == 401, "no credentials: %s %s" % (st, doc))
    st, doc, _ = d.http("POST", "/v1/pushes", push, token="nope")
    check(st == 401, "wrong token: %s" % st)
    st, doc, _ = d.http("POST", "/v1/pushes", dict(push, app="syncml.dm"),
                        token="tok1")
    check(st == 403 and "initiator" in doc["error"], "app: %s %s" % (st,
                                                                   doc))
    st, doc, _ = d.http("POST", "/v1/pushes", push, token="tok1")
    check(st == 202, "push: %s %s" % (st, doc))
    pid = doc["id"]
    st2, _, _ = d.http("POST", "/v1/pushes", push, token="tok1")
    st3, doc3, hdrs = d.http("POST", "/v1/pushes", push, token="tok1")
    check(st2 == 202 and st3 == 429 and hdrs.get("Retry-After"),
          "rate 2/s: %s %s" % (st2, st3))

    wait_until(lambda: d.http("GET", "/v1/pushes/" + pid, token="tok1")[1]
               ["state"] == "delivered", 10, "the trusted push")
    metas = [open(os.path.join(a.inbox, f)).read() for f in a.files()
             if f.endswith(".meta")]
    check(metas and "from: sip:mmsc@op.example" in metas[0],
          "the terminal saw: %s" % metas)

    basic = "Basic " + base64.b64encode(b"dm:s3cret").decode()
    st, doc = push_message(d, "dm-1", [user("alice")], app="syncml.dm",
                           auth="Basic " +
                           base64.b64encode(b"dm:wrong").decode())
    check(st == 401, "wrong Basic: %s %s" % (st, doc))
    st, doc = push_message(d, "dm-0", [user("alice")], app="mms.ua",
                           auth=basic)
    check(code(doc) == "2001", "app not allowed: %s" % doc)
    st, doc = push_message(d, "dm-1", [user("alice")], app="syncml.dm",
                           auth=basic)
    check(code(doc) == "1001", "PAP push: %s" % doc)
    wait_until(lambda: 'message-state="undeliverable"' in post(
        d, (DT + '<pap><statusquery-message push-id="dm-1"/></pap>')
        .encode(), "application/xml", basic)[1], 10, "the refusal")
    st, doc = post(d, (DT + '<pap><statusquery-message push-id="dm-1"/>'
                       '</pap>').encode(), "application/xml", basic)
    check('code="2001"' in doc and "403" in doc, "status: %s" % doc)
    check(not os.path.exists(env.path("dm-inbox")) or
          not os.listdir(env.path("dm-inbox")), "an unasserted push "
          "reached the application")



def test_cli_pap(env):
    """sippush pap: a push-message with its content, a status query, a
    broken document (exit 3), Basic credentials of an initiator."""
    import subprocess
    from harness import BUILD
    d = Daemon(env, "--trust-udp", "--initiator", "pi user=pi pass=pw apps=mms.ua "
               "identity=sip:pi@op.example trusted").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.http("GET", "/v1/users/sip:alice@example.com/"
                              "terminals", raw=None, token=None)[0] in
               (200, 401), 5, "up")
    doc = env.path("push.xml")
    with open(doc, "w") as f:
        f.write(DT + '<pap><push-message push-id="cli-1"><address '
                'address-value="%s"/></push-message></pap>' %
                user("alice"))
    content = env.path("content.txt")
    with open(content, "w") as f:
        f.write("from the CLI")
    cli = [os.path.join(BUILD, "cmd", "sippush"), "--server", d.base]

    def pap(*args, env_pw=None):
        e = dict(os.environ)
        if env_pw:
            e["SIPPUSH_PASSWORD"] = env_pw
        return subprocess.run(cli + ["pap"] + list(args),
                              capture_output=True, text=True, timeout=30,
                              env=e)

    out = pap(doc, "--content", content, "--type", "text/plain", "--app",
              "x-wap-application:mms.ua", "--user", "pi", env_pw="wrong")
    check(out.returncode == 1 and "401" in out.stderr, "wrong password: "
          "%s %s" % (out.returncode, out.stderr))
    out = pap(doc, "--content", content, "--type", "text/plain", "--app",
              "mms.ua", "--user", "pi", "--password", "pw")
    check(out.returncode == 0 and 'code="1001"' in out.stdout,
          "push: %s %s" % (out.returncode, out.stdout + out.stderr))
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the push at the agent")
    q = env.path("query.xml")
    with open(q, "w") as f:
        f.write(DT + '<pap><statusquery-message push-id="cli-1"/></pap>')
    wait_until(lambda: 'message-state="delivered"' in pap(
        q, "--user", "pi", "--password", "pw").stdout, 10, "delivered")
    bad = env.path("bad.xml")
    with open(bad, "w") as f:
        f.write("<pap><push-message")
    out = pap(bad, "--user", "pi", "--password", "pw")
    check(out.returncode == 3 and "badmessage-response" in out.stdout,
          "broken: %s %s" % (out.returncode, out.stdout))


if __name__ == "__main__":
    run([test_delivery_method, test_pap_flow, test_pap_bad, test_pap_result_notifications,
         test_pap_deferred, test_audit_log, test_metrics,
         test_initiators, test_cli_pap])

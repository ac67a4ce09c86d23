#!/usr/bin/env python3
"""sippushd's HTTP API under attack (issue 18): who may do what, what is
read before the token, the default token, browser-style cross-site
requests, and what content URLs serve. Each test performs the attack;
assertions are on what goes over the wire and what lands in the store."""
import base64
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, register, run,
                     scenario, wait_until)

INST1 = "urn:uuid:6c2b6c1e-0000-4000-8000-0000000000a1"


def content_url(env, d, user, ctype, body):
    """Push body to a terminal that takes it by content indirection; the
    push's id and the URL the MESSAGE carried."""
    tport = free_port()
    scen = scenario(env, "uas_extbody.xml", ctype=re.escape(ctype),
                    size=len(body))
    term = Sipp(env, scen, tport)
    register(env, d, user, tport, INST1)
    pid = d.push(to="sip:%s@example.com" % user, app="mms.ua",
                 content_type=ctype, body=body)
    term.ok()
    m = re.search(r"EXTBODY URL=(\S+) HASH=", term.log())
    check(m, "no URL in the MESSAGE: " + term.log())
    return pid, m.group(1)


def test_content_not_rendered(env):
    """Issue 18 item 9: an initiator's text/html served from the API's
    origin (where the status page keeps the token) must not run there."""
    d = Daemon(env, "--trust-udp").start()
    html = "<script>alert(sessionStorage.token)</script>" + "x" * 3000
    _, url = content_url(env, d, "hank", "text/html", html)
    with urllib.request.urlopen(url, timeout=10) as r:
        h = r.headers
        data = r.read().decode()
    check(data == html, "content differs")
    check((h["Content-Disposition"] or "").startswith("attachment"),
          "Content-Disposition: %s" % h["Content-Disposition"])
    check(h["X-Content-Type-Options"] == "nosniff",
          "X-Content-Type-Options: %s" % h["X-Content-Type-Options"])
    check("sandbox" in (h["Content-Security-Policy"] or ""),
          "Content-Security-Policy: %s" % h["Content-Security-Policy"])


def test_content_token_128_bits(env):
    """Issue 18 item 10: the content token's unpredictable part is 128
    random bits (the rest is the push id, which anyone may guess)."""
    d = Daemon(env, "--trust-udp").start()
    pid, url = content_url(env, d, "ivan", "text/plain", "y" * 3000)
    tok = url.rsplit("/", 1)[1]
    check(tok.startswith(pid), "token %s does not start with the id %s"
          % (tok, pid))
    rnd = tok[len(pid):]
    check(re.fullmatch(r"[0-9a-f]{32,}", rnd),
          "random part %r: %d bits, not 128" % (rnd, 4 * len(rnd)))
    # the database holds the same token
    d.stop()
    rows = d.db_rows("SELECT token FROM pushes WHERE id=?", (pid,))
    check(rows == [(tok,)], "stored token: %s" % rows)


def raw_request(d, head, timeout=3):
    """Send a request's head only (no body) and read what comes back
    within timeout: b"" when the daemon still waits for the body."""
    s = socket.create_connection(("127.0.0.1", d.http_port), 5)
    s.settimeout(timeout)
    got = b""
    try:
        s.sendall(head.encode())
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionError):
        pass
    finally:
        s.close()
    return got


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


BIG = 50 * 1000 * 1000

UNAUTH = [
    ("PUT", "/v1/users/sip:alice@example.com/credentials",
     "application/json"),
    ("POST", "/pap", "application/xml"),
    ("POST", "/v1/pushes", "application/json"),
    ("DELETE", "/v1/pushes/0000000000000000", "application/json"),
    ("POST", "/v1/nothing", "application/json"),
]


def test_unauthenticated_body_never_read(env):
    """Issue 18 item 4: a request without the token is answered 401 on
    its headers, before any body is read (and no 100 Continue invites
    one); whatever body follows is never buffered."""
    d = Daemon(env, "--api-token", "s3cret-admin").start()
    for method, path, ctype in UNAUTH:
        for expect in ("", "Expect: 100-continue\r\n"):
            got = raw_request(d, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                              "Content-Type: %s\r\nContent-Length: %d\r\n"
                              "%s\r\n" % (method, path, d.http_port, ctype,
                                           BIG, expect))
            first = got.split(b"\r\n", 1)[0].decode(errors="replace")
            check(first.startswith("HTTP/1.1 401"),
                  "%s %s (%s): %r before the body, not 401" %
                  (method, path, expect.strip() or "no Expect", first))

    # 16 connections each sending 8 MB of a 16 MB body without the token
    # (held open, never complete): nothing held
    # (and the public URLs, which need no token, keep no body either)
    before = rss_kib(d.proc.pid)
    socks = []
    chunk = b"x" * (1 << 20)
    for i in range(16):
        s = socket.create_connection(("127.0.0.1", d.http_port), 5)
        s.settimeout(5)
        s.sendall(("%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Content-Type: application/xml\r\nContent-Length: %d"
                   "\r\n\r\n" % ("POST /pap" if i % 2 else "GET /",
                                  d.http_port, 16 << 20)).encode())
        try:
            for _ in range(8):
                s.sendall(chunk)
        except (socket.timeout, ConnectionError):
            pass
        socks.append(s)
    time.sleep(1.0)   # what was sent is read by now
    grown = rss_kib(d.proc.pid) - before
    for s in socks:
        s.close()
    check(grown < 32 * 1024, "sippushd grew by %d KiB on unauthenticated "
          "bodies" % grown)

    # the token still works, body and all
    st, doc, _ = d.http("PUT", "/v1/users/sip:alice@example.com/credentials",
                        {"password": "pw"})
    check(st == 202 and doc == {"stored": True}, "with the token: %s %s"
          % (st, doc))


INST2 = "urn:uuid:6c2b6c1e-0000-4000-8000-0000000000a2"
ADMIN = "adm1n-token"
ROLES = {"admin": "Bearer " + ADMIN, "boss": "Bearer tok-boss",
         "a": "Bearer tok-a", "b": "Bearer tok-b", "none": None}


def call(d, method, path, body=None, auth=None, ctype="application/json"):
    """One request as whom auth says; (status, parsed body or text)."""
    data = body if isinstance(body, bytes) else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(d.base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            st, txt = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        st, txt = e.code, e.read().decode()
    try:
        return st, json.loads(txt)
    except ValueError:
        return st, txt


def pap(d, xml, auth):
    return call(d, "POST", "/pap", (PAP_DT + xml).encode(), auth,
                "application/xml")


PAP_DT = ('<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD '
          'PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/'
          'pap_2.1.dtd">\n')


def pap_push(d, push_id, user, app, auth):
    xml = PAP_DT + ('<pap><push-message push-id="%s"><address address-value='
                    '"WAPPUSH=sip%%3A%s%%40example.com/TYPE=USER@ppg.example"'
                    '/></push-message></pap>' % (push_id, user))
    b = "pap-b"
    body = ("--%s\r\nContent-Type: application/xml\r\n\r\n%s\r\n--%s\r\n"
            "Content-Type: text/plain\r\nX-Wap-Application-Id: %s\r\n\r\n"
            "hi\r\n--%s--\r\n" % (b, xml, b, app, b)).encode()
    return call(d, "POST", "/pap", body, auth, 'multipart/related; '
                'type="application/xml"; boundary=' + b)


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()
                                       ).decode()


def test_scopes(env):
    """Issue 18 item 1: every endpoint x role. An initiator sees and
    cancels only its own pushes (PAP: its own push-ids), reads terminals
    and events only for its applications; credentials and /metrics are
    the admin's (--api-token or an initiator marked admin)."""
    d = Daemon(env, "--trust-udp", "--api-token", ADMIN,
               "--drain-timeout", "0",
               "--initiator", "a token=tok-a user=ua pass=pa apps=app.a",
               "--initiator", "b token=tok-b user=ub pass=pb apps=app.b",
               "--initiator", "boss token=tok-boss admin").start()
    register(env, d, "carol", free_port(), INST1, apps="app.a")
    register(env, d, "carol", free_port(), INST2, apps="app.b")
    carol = "sip:carol@example.com"

    def push(who, app):
        st, doc = call(d, "POST", "/v1/pushes", {
            "to": carol, "app": app, "content_type": "text/plain",
            "body": "for " + app, "ttl": 600}, ROLES[who])
        check(st == 202, "push by %s: %s %s" % (who, st, doc))
        return doc["id"]

    pa, pb = push("a", "app.a"), push("b", "app.b")
    st, doc = call(d, "POST", "/v1/pushes", {
        "to": carol, "app": "app.b", "content_type": "text/plain",
        "body": "x"}, ROLES["a"])
    check(st == 403, "a pushing app.b: %s %s" % (st, doc))

    # the admins push too (theirs: the token's is nobody's initiator)
    pboss = push("boss", "app.b")
    padm = push("admin", "app.a")

    # nobody: 401 everywhere that is not public
    for m, path, body in [
            ("GET", "/v1/pushes/" + pb, None), ("GET", "/v1/pushes", None),
            ("DELETE", "/v1/pushes/" + pb, None), ("GET", "/metrics", None),
            ("GET", "/v1/events", None),
            ("GET", "/v1/users/%s/terminals" % carol, None),
            ("POST", "/v1/pushes", {"to": carol, "app": "app.a",
                                    "content_type": "text/plain",
                                    "body": "x"}),
            ("PUT", "/v1/users/%s/credentials" % carol, {"password": "x"})]:
        st, _ = call(d, m, path, body)
        check(st == 401, "%s %s without a token: %s" % (m, path, st))
    st, _ = pap(d, '<pap><statusquery-message push-id="pb-1"/></pap>', None)
    check(st == 401, "PAP without credentials: %s" % st)

    # one push, read by each role
    want = {"admin": 200, "boss": 200, "b": 200, "a": 403}
    for who, code in want.items():
        st, doc = call(d, "GET", "/v1/pushes/" + pb, auth=ROLES[who])
        check(st == code, "GET b's push as %s: %s %s" % (who, st, doc))
        check(code != 403 or pb not in json.dumps(doc),
              "a 403 that tells: %s" % doc)

    # the list: each initiator its own
    every = {pa, pb, pboss, padm}
    for who, ids in [("a", {pa}), ("b", {pb}), ("boss", every),
                     ("admin", every)]:
        st, doc = call(d, "GET", "/v1/pushes?limit=200", auth=ROLES[who])
        got = {p["id"] for p in doc["pushes"]} if st == 200 else None
        check(got == ids, "GET /v1/pushes as %s: %s %s" % (who, st, got))

    # cancelling another's push: refused, and it is not cancelled
    st, doc = call(d, "DELETE", "/v1/pushes/" + pb, auth=ROLES["a"])
    check(st == 403, "a cancelling b's push: %s %s" % (st, doc))
    st, doc = call(d, "GET", "/v1/pushes/" + pb, auth=ROLES["admin"])
    check(doc["state"] != "cancelled", "b's push after a's DELETE: %s"
          % doc["state"])
    st, doc = call(d, "DELETE", "/v1/pushes/" + pa, auth=ROLES["a"])
    check(st in (200, 409), "a cancelling its own: %s %s" % (st, doc))

    # terminals: only those of its applications
    for who, apps in [("a", [["app.a"]]), ("b", [["app.b"]]),
                      ("admin", [["app.a"], ["app.b"]]),
                      ("boss", [["app.a"], ["app.b"]])]:
        st, doc = call(d, "GET", "/v1/users/%s/terminals" % carol,
                       auth=ROLES[who])
        got = sorted(t["apps"] for t in doc["terminals"]) if st == 200 \
            else None
        check(got == apps, "terminals as %s: %s %s" % (who, st, got))

    # events: a's feed tells nothing of b's pushes or app.b terminals
    st, doc = call(d, "GET", "/v1/events?after=0", auth=ROLES["a"])
    check(st == 200, "events as a: %s" % st)
    txt = json.dumps(doc["events"])
    check(pa in txt and pb not in txt and "app.b" not in txt and
          INST2 not in txt, "a's events: %s" % txt)
    for who in ("admin", "boss"):
        st, doc = call(d, "GET", "/v1/events?after=0", auth=ROLES[who])
        txt = json.dumps(doc["events"])
        check(pa in txt and pb in txt and INST2 in txt,
              "%s's events: %s" % (who, txt))
    # a long poll of a's is not answered by b's news
    import threading
    got = {}

    def poll():
        got["r"] = call(d, "GET", "/v1/events?wait=3", auth=ROLES["a"])
    t0 = time.time()
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    push("b", "app.b")
    th.join(10)
    check(time.time() - t0 >= 2.5 and got["r"][0] == 200 and
          got["r"][1]["events"] == [], "a's long poll: %.1f s %s"
          % (time.time() - t0, got.get("r")))

    # administration: credentials and metrics
    for who, code in [("a", 403), ("b", 403), ("boss", 202),
                      ("admin", 202)]:
        st, doc = call(d, "PUT", "/v1/users/sip:%s@example.com/credentials"
                       % who, {"password": "pw-" + who}, ROLES[who])
        check(st == code, "PUT credentials as %s: %s %s" % (who, st, doc))
        st, doc = call(d, "GET", "/metrics", auth=ROLES[who])
        check(st == (200 if code == 202 else 403), "metrics as %s: %s"
              % (who, st))

    # PAP: b's push-id is b's
    st, doc = pap_push(d, "pb-1", "carol", "app.b", basic("ub", "pb"))
    check('code="1001"' in doc, "PAP push by b: %s" % doc)
    for kind in ("statusquery", "cancel"):
        st, doc = pap(d, '<pap><%s-message push-id="pb-1"/></pap>' % kind,
                      basic("ua", "pa"))
        check('code="2001"' in doc and "carol" not in doc,
              "PAP %s of b's push-id by a: %s" % (kind, doc))
    st, doc = pap(d, '<pap><statusquery-message push-id="pb-1"/></pap>',
                  basic("ub", "pb"))
    check('message-state="pending"' in doc, "b's statusquery: %s" % doc)
    st, doc = pap(d, '<pap><ccq-message query-id="q"><address address-value='
                  '"WAPPUSH=sip%3Acarol%40example.com/TYPE=USER@ppg.example"'
                  '/></ccq-message></pap>', basic("ua", "pa"))
    check('code="1000"' in doc and "app.a" in doc and "app.b" not in doc,
          "ccq by a: %s" % doc)

    d.stop()
    users = d.db_rows("SELECT aor FROM users ORDER BY aor")
    check(users == [("sip:admin@example.com",), ("sip:boss@example.com",)],
          "credentials stored: %s" % users)
    states = dict(d.db_rows("SELECT id, state FROM pushes"))
    check(states[pb] != "cancelled", "b's push in the store: %s" % states)


def test_default_not_open(env):
    """Issue 18 item 6: what `make run` starts (no token given) is not an
    open API: an admin token is generated at the first start, printed,
    kept beside the database (0600) and read again at the next start."""
    d = Daemon(env, "--drain-timeout", "0")
    d.token = ""   # none given: what the daemon made up is read below
    d.start()
    path = d.db + ".token"
    check(os.path.exists(path), "no token file beside the database")
    tok = open(path).read().strip()
    check(re.fullmatch(r"[0-9a-f]{32}", tok), "token: %r" % tok)
    mode = os.stat(path).st_mode & 0o777
    check(mode == 0o600, "token file mode %o" % mode)
    check("generated the admin API token %s" % tok in d.log(),
          "not printed: " + d.log())

    push = {"to": "sip:x@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "hi"}
    st, _ = call(d, "POST", "/v1/pushes", push)
    check(st == 401, "no token on the default daemon: %s" % st)
    st, _ = call(d, "PUT", "/v1/users/sip:x@example.com/credentials",
                 {"password": "pw"})
    check(st == 401, "credentials without a token: %s" % st)
    st, doc = call(d, "POST", "/v1/pushes", push, "Bearer " + tok)
    check(st == 202, "with the generated token: %s %s" % (st, doc))

    # the next start reads it, prints it no more
    d.stop()
    d.start()
    st, doc = call(d, "POST", "/v1/pushes", push, "Bearer " + tok)
    check(st == 202, "after a restart: %s %s" % (st, doc))
    check(d.log().count("generated the admin API token") == 1,
          "generated twice: " + d.log())
    d.stop()
    check(len(d.db_rows("SELECT id FROM pushes")) == 2, "pushes stored")


def raw(d, method, path, headers, body=b""):
    """A request with exactly these headers (Host too); (status, text)."""
    s = socket.create_connection(("127.0.0.1", d.http_port), 5)
    s.settimeout(5)
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in headers.items()) + \
        "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    got = b""
    try:
        s.sendall(head.encode() + body)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionError):
        pass
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d+)", got)
    return (int(m.group(1)) if m else 0), got.decode(errors="replace")


def test_cross_site(env):
    """Issue 18 item 6: what a web page can make a browser send reaches
    nothing, even when the browser holds the credentials (cached Basic):
    a foreign Origin, a foreign Host (DNS rebinding), a form's or a
    no-cors fetch's Content-Type. The same request from a client is
    served."""
    d = Daemon(env, "--drain-timeout", "0", "--http-host", "push.example",
               "--initiator", "pi user=pi pass=pw admin").start()
    me = "127.0.0.1:%d" % d.http_port
    push = json.dumps({"to": "sip:x@example.com", "app": "mms.ua",
                       "content_type": "text/plain",
                       "body": "from a page"}).encode()
    cred = json.dumps({"password": "pwned"}).encode()
    creds = "/v1/users/sip:victim@example.com/credentials"
    attacks = [
        ("cross-site form", "POST", "/v1/pushes",
         {"Host": me, "Origin": "http://evil.example",
          "Content-Type": "text/plain"}, push, 403),
        ("cross-site json", "POST", "/v1/pushes",
         {"Host": me, "Origin": "http://evil.example",
          "Content-Type": "application/json"}, push, 403),
        ("other local origin", "PUT", creds,
         {"Host": me, "Origin": "http://127.0.0.1:1",
          "Content-Type": "application/json"}, cred, 403),
        ("sandboxed page", "POST", "/v1/pushes",
         {"Host": me, "Origin": "null",
          "Content-Type": "application/json"}, push, 403),
        ("rebinding", "POST", "/v1/pushes",
         {"Host": "evil.example:%d" % d.http_port,
          "Origin": "http://evil.example:%d" % d.http_port,
          "Content-Type": "application/json"}, push, 421),
        ("rebinding read", "GET", "/v1/pushes",
         {"Host": "evil.example:%d" % d.http_port}, b"", 421),
        ("no-cors text/plain", "POST", "/v1/pushes",
         {"Host": me, "Content-Type": "text/plain"}, push, 415),
        ("form-urlencoded", "PUT", creds,
         {"Host": me, "Content-Type": "application/x-www-form-urlencoded"},
         cred, 415),
        ("no type", "PUT", creds, {"Host": me}, cred, 415),
        ("PAP as text/plain", "POST", "/pap",
         {"Host": me, "Content-Type": "text/plain"},
         b"<pap><statusquery-message push-id=\"x\"/></pap>", 415),
    ]
    for name, method, path, hdrs, body, want in attacks:
        for auth in ("Bearer " + d.token, basic("pi", "pw")):
            h = dict(hdrs, Authorization=auth)
            st, txt = raw(d, method, path, h, body)
            check(st == want, "%s (%s): %s, not %s: %s" % (
                name, auth.split()[0], st, want, txt[-300:]))

    # the same from a client (or the status page, same origin): served
    for host, origin in [(me, None), (me, "http://" + me),
                         ("localhost:%d" % d.http_port, None),
                         ("push.example", "https://push.example")]:
        h = {"Host": host, "Content-Type": "application/json",
             "Authorization": "Bearer " + d.token}
        if origin:
            h["Origin"] = origin
        st, txt = raw(d, "POST", "/v1/pushes", h, push)
        check(st == 202, "client %s %s: %s %s" % (host, origin, st,
                                                 txt[-300:]))
    st, _ = raw(d, "PUT", creds, {"Host": me, "Content-Type":
                                  "application/json; charset=utf-8",
                                  "Authorization": "Bearer " + d.token},
                json.dumps({"password": "set-by-admin"}).encode())
    check(st == 202, "credentials from a client: %s" % st)
    # public: the page and content URLs whatever the Host
    st, _ = raw(d, "GET", "/", {"Host": "whatever"})
    check(st == 200, "status page: %s" % st)

    d.stop()
    n = d.db_rows("SELECT count(*) FROM pushes")[0][0]
    check(n == 4, "pushes stored: %d (only the 4 clients')" % n)
    users = d.db_rows("SELECT ha1 FROM users")
    check(len(users) == 1, "credentials rows: %s" % users)


def test_secrets_off_the_command_line(env):
    """Issue 18 item 16 (sippushd): the admin token and an initiator's
    secrets come from files or the environment, so `ps` shows none."""
    tf, pf, itf = (env.path("admin.tok"), env.path("pi.pass"),
                   env.path("pi.tok"))
    for path, secret in [(tf, "file-admin-secret"), (pf, "file-pi-pw"),
                         (itf, "file-pi-tok")]:
        with open(path, "w") as f:
            f.write(secret + "\n")
        os.chmod(path, 0o600)
    d = Daemon(env, "--drain-timeout", "0", "--api-token-file", tf,
               "--initiator", "pi user=pi pass-file=%s token-file=%s apps="
               "mms.ua" % (pf, itf))
    d.token = "file-admin-secret"
    d.start()
    with open("/proc/%d/cmdline" % d.proc.pid, "rb") as f:
        cmdline = f.read().decode()
    check(not re.search("file-(admin-secret|pi-pw|pi-tok)", cmdline),
          "ps shows: %s" % cmdline)
    check("command line" not in d.log(), "a needless warning: " + d.log())
    st, _ = call(d, "GET", "/metrics", auth="Bearer file-admin-secret")
    check(st == 200, "token from the file: %s" % st)
    st, _ = call(d, "GET", "/metrics", auth="Bearer " + tf)
    check(st == 401, "the path is no token: %s" % st)
    st, _ = call(d, "GET", "/v1/pushes", auth="Bearer file-pi-tok")
    check(st == 200, "initiator token from a file: %s" % st)
    st, doc = pap(d, '<pap><statusquery-message push-id="x"/></pap>',
                  basic("pi", "file-pi-pw"))
    check(st == 202 and 'code="2004"' in doc, "PAP with the file's "
          "password: %s %s" % (st, doc))
    d.stop()

    # the environment
    secrets = {"SIPPUSH_API_TOKEN": "env-admin-secret",
               "PI_TOKEN": "env-pi-tok", "PI_PASS": "env-pi-pw"}
    d2 = Daemon(env, "--drain-timeout", "0", "--initiator",
                "pi user=pi pass-env=PI_PASS token-env=PI_TOKEN",
                db="env.db")
    d2.token = "env-admin-secret"
    old = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        d2.start()
    finally:
        for k, v in old.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v
    with open("/proc/%d/cmdline" % d2.proc.pid, "rb") as f:
        cmdline = f.read().decode()
    check("env-" not in cmdline, "ps shows: %s" % cmdline)
    st, _ = call(d2, "GET", "/metrics", auth="Bearer env-admin-secret")
    check(st == 200, "token from the environment: %s" % st)
    st, _ = call(d2, "GET", "/v1/pushes", auth="Bearer env-pi-tok")
    check(st == 200, "initiator token from the environment: %s" % st)
    st, _ = call(d2, "GET", "/v1/pushes", auth="Bearer PI_TOKEN")
    check(st == 401, "the variable's name is no token: %s" % st)
    st, _ = pap(d2, '<pap><statusquery-message push-id="x"/></pap>',
                basic("pi", "env-pi-pw"))
    check(st == 202, "initiator password from the environment: %s" % st)
    check(not os.path.exists(d2.db + ".token"), "a token generated too")
    d2.stop()

    # on the command line: it works, with a warning
    d3 = Daemon(env, "--drain-timeout", "0", "--api-token", "argv-secret",
                db="argv.db").start()
    check("shows in ps" in d3.log(), "no warning: " + d3.log())
    d3.stop()


if __name__ == "__main__":
    run([test_content_not_rendered, test_content_token_128_bits,
         test_unauthenticated_body_never_read, test_scopes,
         test_default_not_open, test_cross_site,
         test_secrets_off_the_command_line])

#!/usr/bin/env python3
"""sippushd's HTTP API under attack (issue 18): who may do what, what is
read before the token, the default token, browser-style cross-site
requests, and what content URLs serve. Each test performs the attack;
assertions are on what goes over the wire and what lands in the store."""
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, register, run,
                     scenario)

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


if __name__ == "__main__":
    run([test_content_not_rendered, test_content_token_128_bits])

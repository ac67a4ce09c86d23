#!/usr/bin/env python3
"""The status page at / rendered by headless Chromium (driven over the
DevTools protocol, cdp.py) against a running sippushd with data in it (an
API token set): the counters, the recent pushes with their per-terminal
outcome and a user's terminals are in the rendered DOM, a screenshot is
kept as a test artifact; and what happens after the page was opened
shows there through the event feed."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, Daemon, check, run, wait_until
from test_agent import Agent
from cdp import Page


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def test_status_page(env):
    check(chromium() is not None, "chromium is not installed")
    d = Daemon(env, "--trust-udp", "--api-token", "tok").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="for the page")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    waiting = d.push(to="sip:bob@example.com", app="mms.ua",
                     content_type="text/plain", body="offline")

    # the page without a token: static HTML, but no data
    st, html, hdrs = d.http("GET", "/", token="")
    check(st == 200 and "text/html" in hdrs.get("Content-Type", ""),
          "GET /: %s %s" % (st, hdrs))

    # the list the page reads: newest first, bounded, and needs the token
    st, body, _ = d.http("GET", "/v1/pushes?limit=1", token="tok")
    check(st == 200 and [p["id"] for p in body["pushes"]]
          == [waiting], "GET /v1/pushes?limit=1: %s %s" % (st, body))
    for bad in ("0", "201", "x", "-1"):
        st, body, _ = d.http("GET", "/v1/pushes?limit=" + bad, token="tok")
        check(st == 400 and "limit" in str(body), "limit=%s: %s %s"
              % (bad, st, body))
    st, _, _ = d.http("GET", "/v1/pushes", token="")
    check(st == 401, "GET /v1/pushes without the token: %s" % st)

    shot = env.path("statuspage.png")
    page = Page(env, chromium(), d.base +
                "/#token=tok&aor=sip:alice@example.com")
    try:
        wait_until(lambda: page.text("p-" + waiting) is not None and
                   a.instance() in (page.text("terms") or ""), 30,
                   "the page to draw its tables")
        dom = page.dom()
        page.screenshot(shot)
    finally:
        page.close()
    check('id="p-%s"' % pid in dom and 'id="p-%s"' % waiting in dom,
          "recent pushes not rendered: %s" % dom[-2000:])
    row = dom[dom.index('id="p-%s"' % pid):]
    row = row[:row.index("</tr>")]
    check('class="delivered"' in row and "message 200 delivered" in row,
          "the delivered push's row: %s" % row)
    check('id="c-sippush_pushes_accepted_total"' in dom and
          ">2<" in dom[dom.index('id="c-sippush_pushes_accepted_total"'):
                       dom.index('id="c-sippush_pushes_accepted_total"')
                       + 200], "counters: %s" % dom[:3000])
    check('"instance": "%s"' % a.instance() in dom,
          "terminals lookup: %s" % dom[-3000:])
    check(os.path.getsize(shot) > 1000, "no screenshot")
    # the artifact lives in the build tree (the temp dir goes at the end)
    arts = os.path.join(BUILD,
                        "test-artifacts")
    os.makedirs(arts, exist_ok=True)
    shutil.copy(shot, os.path.join(arts, "statuspage.png"))
    print("screenshot kept: " + os.path.join(arts, "statuspage.png"))


def test_status_page_live(env):
    """The page follows the event feed: what happens after it was opened
    shows without a reload (its fallback poll is 60 s; this test ends
    well before one would run)."""
    check(chromium() is not None, "chromium is not installed")
    d = Daemon(env, "--trust-udp", "--api-token", "tok").start()
    page = Page(env, chromium(), d.base + "/#token=tok")
    try:
        wait_until(lambda: page.text("live") == "(live)", 30,
                   "the page to follow the feed")
        row = "document.getElementById('p-%s')"
        waiting = d.push(to="sip:bob@example.com", app="mms.ua",
                         content_type="text/plain", body="offline")
        state = "(e => e ? e.children[3].textContent : '')(%s)" % row
        wait_until(lambda: page.eval(state % waiting) == "pending", 10,
                   "the new push's row, pending")

        a = Agent(env, "alice", d.sip_port).start()
        pid = d.push(to="sip:alice@example.com", app="mms.ua",
                     content_type="text/plain", body="live")
        check(d.wait_final(pid)["state"] == "delivered", "delivered")
        wait_until(lambda: page.eval(
            "(e => e ? e.children[3].className : '')(%s)" % (row % pid)) ==
            "delivered", 10, "the delivered push on the page")
        want = ["accepted %s" % waiting, "registered sip:alice@example.com",
                "accepted %s" % pid, "delivery %s" % pid, "push %s" % pid]

        # the row may be redrawn by a refresh (an earlier event's) before
        # the feed's next batch, which lists the delivery, is in
        def listed():
            ev = page.eval("[...document.querySelectorAll('#events li')]"
                           ".map(e => e.textContent)")
            return ev if all(any(w in e for e in ev) for w in want) else None
        try:
            events = wait_until(listed, 10, "the events listed")
        except Exception:
            events = page.eval("[...document.querySelectorAll('#events "
                               "li')].map(e => e.textContent)")
        for w in want:
            check(any(w in e for e in events), "event %r listed: %s"
                  % (w, events))
        check(any(a.instance() in e or "alice" in e for e in events if
                  e.split(" ")[1] == "registered"), "registered: %s" % events)
        # the counters were redrawn by the feed too
        acc = page.eval("document.getElementById("
                        "'c-sippush_pushes_accepted_total')"
                        ".children[1].textContent")
        check(acc == "2", "accepted counter: %s" % acc)
    finally:
        page.close()


if __name__ == "__main__":
    run([test_status_page, test_status_page_live])

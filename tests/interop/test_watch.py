#!/usr/bin/env python3
"""GET /v1/events and `sippush watch`: the live feed an operator follows.
What a terminal did on the wire (SIPp answering 480, then 200) must show
up as events in order, the long poll must wake on news, bad parameters
get a 400 naming them, and the watcher rides out a restart of the
daemon."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Daemon, Sipp, check, free_port, read_text,
                     register, run, scenario, wait_until)

CLI = os.path.join(BUILD, "cmd", "sippush")
INST = "<urn:uuid:00000000-0000-0000-0000-0000000000b1>"


def watcher(env, d, *args):
    out = open(env.path("watch.out"), "wb")
    err = open(env.path("watch.err"), "wb")
    p = subprocess.Popen([CLI, "--server", d.base, "--token", "tok",
                          "watch"] + list(args), stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL)
    out.close()
    err.close()
    env.procs.append(p)
    return p


def lines(env, name="watch.out"):
    with open(env.path(name), errors="replace") as f:
        return [json.loads(l) for l in f if l.startswith("{")]


def find(evs, **want):
    return [e for e in evs if all(e.get(k) == v for k, v in want.items())]


def test_events_follow_the_wire(env):
    d = Daemon(env, "--trust-udp", "--api-token", "tok", "--retry-base", "200").start()
    w = watcher(env, d, "--json", "--after", "0", "--for", "60")
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_retry.xml", code=480,
                                 extra=""), tport)
    register(env, d, "bob", tport, INST)
    pid = d.push(to="sip:bob@example.com", app="mms.ua",
                 content_type="text/plain", body="again")
    term.ok()
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    off = d.push(to="sip:carol@example.com", app="mms.ua",
                 content_type="text/plain", body="nobody")
    st, _, _ = d.http("DELETE", "/v1/pushes/" + off)
    check(st == 200, "cancel: %s" % st)

    wait_until(lambda: find(lines(env), type="push", push=off), 15,
               "the cancelled push in the watch output")
    evs = lines(env)
    mine = [e for e in evs if e.get("push") == pid]
    kinds = [e["type"] for e in mine]
    check(kinds == ["accepted", "attempt", "attempt", "delivery", "push"],
          "events of the push, in order: %s" % mine)
    a1, a2 = mine[1], mine[2]
    check(a1["attempt"] == 1 and a1["sip_status"] == 480 and
          a1["retry_ms"] > 0 and "480" in a1["reason"] and
          a1["method"] == "message", "first attempt: %s" % a1)
    check(a2["attempt"] == 2 and a2["sip_status"] == 200 and
          "retry_ms" not in a2, "second attempt: %s" % a2)
    check(mine[3]["state"] == "delivered" and mine[3]["pap_code"] == 1000
          and mine[4]["state"] == "delivered" and
          mine[0]["to"] == "sip:bob@example.com" and
          mine[0]["initiator"] == "api", "delivery and push: %s" % mine)
    reg = find(evs, type="registered", user="sip:bob@example.com")
    check(len(reg) == 1 and reg[0]["source"] == "register" and
          reg[0]["apps"] == "mms.ua" and evs.index(reg[0]) <
          evs.index(mine[0]), "registration event: %s" % reg)
    check([e["type"] for e in evs if e.get("push") == off] ==
          ["accepted", "push"] and find(evs, push=off, type="push")[0]
          ["state"] == "cancelled", "cancelled push: %s" % evs)
    seqs = [e["seq"] for e in evs]
    check(seqs == list(range(1, len(seqs) + 1)), "numbered: %s" % seqs)

    # the human form, from the start, stopping after 3 lines
    out = subprocess.run([CLI, "--server", d.base, "--token", "tok",
                          "watch", "--after", "0", "--count", "3"],
                         capture_output=True, text=True, timeout=30)
    txt = out.stdout.splitlines()
    check(out.returncode == 0 and len(txt) == 3 and
          "registered" in txt[0] and "sip:bob@example.com" in txt[0] and
          "accepted" in txt[1] and pid in txt[1] and
          "attempt" in txt[2] and "480" in txt[2] and "retry in" in txt[2],
          "watch --count 3: %s %s" % (out.returncode, out.stdout))
    w.terminate()
    w.wait(10)


def test_long_poll_and_bad_input(env):
    d = Daemon(env, "--trust-udp", "--api-token", "tok").start()
    st, doc, _ = d.http("GET", "/v1/events?wait=0")
    check(st == 200 and doc["events"] == [] and doc["next"] == 0,
          "nothing yet: %s %s" % (st, doc))

    # a waiting GET wakes on the first news, well before its deadline
    got = {}

    def poll():
        t0 = time.monotonic()
        got["ans"] = d.http("GET", "/v1/events?after=0&wait=20")
        got["took"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    pid = d.push(to="sip:dave@example.com", app="mms.ua",
                 content_type="text/plain", body="wake up")
    t.join(25)
    st, doc, _ = got["ans"]
    check(st == 200 and doc["events"][0]["type"] == "accepted" and
          doc["events"][0]["push"] == pid and got["took"] < 15,
          "woken by the push: %s %s after %.1f s" % (st, doc,
                                                      got.get("took", -1)))
    # caught up, with a short deadline: an empty answer that keeps the place
    st, doc2, _ = d.http("GET", "/v1/events?after=%d&wait=1" % doc["next"])
    check(st == 200 and doc2["events"] == [] and
          doc2["next"] == doc["next"], "deadline: %s %s" % (st, doc2))

    # numbers from another run of the daemon read from the start
    st, doc3, _ = d.http("GET", "/v1/events?after=%d&boot=%s&wait=0"
                         % (doc["next"], doc["boot"]))
    check(doc3["events"] == [], "this run: %s" % doc3)
    st, doc3, _ = d.http("GET", "/v1/events?after=%d&boot=0123&wait=0"
                         % doc["next"])
    check(st == 200 and doc3["events"][0]["seq"] == 1 and
          doc3["boot"] == doc["boot"], "another run: %s" % doc3)

    for q, field in (("wait=31", "wait"), ("wait=x", "wait"),
                     ("after=-1", "after"), ("after=1e3", "after"),
                     ("after=" + "9" * 25, "after")):
        st, doc, _ = d.http("GET", "/v1/events?" + q)
        check(st == 400 and field in doc["error"], "%s: %s %s"
              % (q, st, doc))
    st, _, _ = d.http("GET", "/v1/events", token="")
    check(st == 401, "no token: %s" % st)
    st, _, _ = d.http("GET", "/v1/events", token="wrong")
    check(st == 401, "wrong token: %s" % st)

    for args, msg in ((["--count", "0"], "--count"),
                      (["--for", "x"], "--for"),
                      (["--after", "-3"], "--after"),
                      (["extra"], "unexpected")):
        out = subprocess.run([CLI, "--server", d.base, "--token", "tok",
                              "watch"] + args, capture_output=True,
                             text=True, timeout=10)
        check(out.returncode == 1 and msg in out.stderr and
              len(out.stderr.splitlines()) == 1, "watch %s: %s %s"
              % (args, out.returncode, out.stderr))
    out = subprocess.run([CLI, "--server", "http://127.0.0.1:%d" %
                          free_port(), "watch"], capture_output=True,
                         text=True, timeout=10)
    check(out.returncode == 1 and len(out.stderr.splitlines()) == 1,
          "nobody there: %s %s" % (out.returncode, out.stderr))


def test_watch_survives_a_restart(env):
    d = Daemon(env, "--trust-udp", "--api-token", "tok").start()
    w = watcher(env, d, "--json", "--for", "60")
    time.sleep(0.5)   # its first GET is in (it starts from "now")
    first = d.push(to="sip:erin@example.com", app="mms.ua",
                   content_type="text/plain", body="one")
    wait_until(lambda: find(lines(env), push=first), 10, "first event")
    d.kill9()
    wait_until(lambda: "not answering" in read_text(env.path("watch.err")),
               10, "the watcher noticing")
    d.start()
    second = d.push(to="sip:erin@example.com", app="mms.ua",
                    content_type="text/plain", body="two")
    wait_until(lambda: find(lines(env), push=second, type="accepted"), 15,
               "the event after the restart")
    check("back" in read_text(env.path("watch.err")) and
          w.poll() is None, "watcher still running")
    w.terminate()
    w.wait(10)


if __name__ == "__main__":
    run([test_events_follow_the_wire, test_long_poll_and_bad_input,
         test_watch_survives_a_restart])

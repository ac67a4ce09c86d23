#!/usr/bin/env python3
"""Crash durability under load: pushes go in at a steady rate while
sippushd is killed with SIGKILL at random moments and restarted (same
store, same ports). At the end every push that got a 202 is final and
delivered, and each reached its sippush-agent's handler exactly once (the
agents de-duplicate by Content-ID what sippushd may send again); the
terminals' registrations survived every restart. The same in
subscription mode: the agents subscribe (ua-profile, oma-app), pushes say
"method": "notify" and go as NOTIFYs in the dialogs that sippushd reloads
from its store after each kill; the subscriptions survive too.

run(env, seconds, rate, kills, method=...) is shared with
bench/crash_load.py."""
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run as run_tests, wait_until
from test_agent import Agent
from test_agent_sub import psa

USERS = ("alice", "bob")
CAPS = ("--vendor", "vendor.example", "--model", "X100", "--ua-version",
        "2.1")


def post(d, body):
    req = urllib.request.Request(
        d.base + "/v1/pushes", data=json.dumps(body).encode(),
        method="POST", headers={"Content-Type": "application/json",
                                "Authorization": "Bearer %s" % d.token})
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError):
        return 0, None            # down, or cut off mid-answer


def inbox_bodies(agent):
    out = []
    for f in agent.files():
        if f.endswith(".meta"):
            continue
        with open(os.path.join(agent.inbox, f), "rb") as fh:
            out.append(fh.read().decode())
    return out


def subscribed(d, u):
    t = d.terminals("sip:%s@example.com" % u)
    return len(t) == 1 and len(t[0]["subscriptions"]) == 1


def run(env, seconds=8.0, rate=40, kills=4, seed=None, method="message"):
    rnd = random.Random(seed)
    notify = method == "notify"
    retry = ("--retry-base", "200", "--retry-max", "1000")
    if notify:
        # a SUBSCRIBE straight from a terminal asserts nothing: digest
        d = psa(env, *retry, users=USERS)
    else:
        d = Daemon(env, "--trust-udp", *retry).start()
        d.auth = {u: () for u in USERS}
    sub = ("--subscribe", "sip:push@localhost") + CAPS if notify else ()
    agents = {u: Agent(env, u, d.sip_port, *sub, *d.auth[u],
                       name="agent-" + u).start() for u in USERS}
    for u in USERS:
        wait_until(lambda u=u: d.terminals("sip:%s@example.com" % u), 10,
                   "%s registered" % u)
        if notify:
            wait_until(lambda u=u: subscribed(d, u), 10,
                       "%s subscribed" % u)

    acked = {}                    # push id -> (user, body)
    refused = [0]
    stop = threading.Event()

    def pusher():
        n = 0
        t0 = time.monotonic()
        while not stop.is_set():
            user = USERS[n % len(USERS)]
            body = "push-%06d" % n
            st, doc = post(d, {"to": "sip:%s@example.com" % user,
                               "app": "mms.ua", "content_type": "text/plain",
                               "body": body, "method": method})
            if st == 202:
                acked[doc["id"]] = (user, body)
            else:
                refused[0] += 1
            n += 1
            # steady rate: the n-th push at n/rate seconds
            delay = t0 + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    th = threading.Thread(target=pusher)
    th.start()
    t_end = time.monotonic() + seconds
    for k in range(kills):
        time.sleep(rnd.uniform(0.2, max(0.3, seconds / kills - 0.3)))
        d.kill9()
        d.start()
    time.sleep(max(0.0, t_end - time.monotonic()))
    stop.set()
    th.join(10)

    # everything acknowledged ends, delivered
    def all_final():
        for pid in acked:
            st, doc, _ = d.http("GET", "/v1/pushes/" + pid)
            if st != 200 or doc["state"] == "pending":
                return False
        return True
    wait_until(all_final, 90, "every acknowledged push to be final", 0.5)
    states, methods = {}, {}
    for pid in acked:
        st, doc, _ = d.http("GET", "/v1/pushes/" + pid)
        states[doc["state"]] = states.get(doc["state"], 0) + 1
        for dl in doc["deliveries"]:
            methods[dl["method"]] = methods.get(dl["method"], 0) + 1
    check(states == {"delivered": len(acked)},
          "acknowledged pushes' states: %s" % states)
    check(methods == {method: len(acked)},
          "every delivery by %s: %s" % (method, methods))

    # exactly once at each handler
    for u in USERS:
        want = sorted(b for (user, b) in acked.values() if user == u)
        got = inbox_bodies(agents[u])
        dup = sorted(set(b for b in got if got.count(b) > 1))
        check(not dup, "%s's handler got duplicates: %s" % (u, dup[:10]))
        missing = sorted(set(want) - set(got))
        check(not missing, "%s's handler misses acknowledged pushes: %s"
              % (u, missing[:10]))
        check(len(d.terminals("sip:%s@example.com" % u)) == 1,
              "%s's registration survived" % u)
        if notify:
            check(subscribed(d, u), "%s's subscription survived" % u)
    return {"acked": len(acked), "not_acked": refused[0], "kills": kills,
            "restarts": kills, "seconds": seconds, "rate": rate,
            "method": method}


def test_kill9_under_load(env):
    r = run(env, seed=20261124)
    check(r["acked"] > 100, "too few pushes acknowledged: %s" % r)
    print("crash under load: %s" % r)


def test_kill9_under_load_notify(env):
    r = run(env, seed=20261125, method="notify")
    check(r["acked"] > 100, "too few pushes acknowledged: %s" % r)
    print("crash under load, subscription mode: %s" % r)


if __name__ == "__main__":
    run_tests([test_kill9_under_load, test_kill9_under_load_notify])

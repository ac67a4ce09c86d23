#!/usr/bin/env python3
"""The slower page-mode cases, in their own ctest entry so they run in
parallel with the rest: a terminal that never answers (the transaction
times out after 32 s), and outbound pacing."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Sipp, check, free_port, register, run, scenario
from test_pagemode import INST1, uas


def test_no_answer_timeout(env):
    # TTL shorter than SIP's 32 s transaction timer: no retry is possible
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_silent.xml"), tport, timeout=60)
    register(env, d, "olga", tport, INST1)
    pid = d.push(to="sip:olga@example.com", app="mms.ua",
                 content_type="text/plain", body="x", ttl=10)
    st = d.wait_final(pid, timeout=45)
    dl = st["deliveries"][0]
    check(st["state"] == "timeout" and dl["state"] == "timeout" and
          dl["pap_code"] == 4000 and dl["attempts"] == 1 and
          dl["sip_status"] == 0 and "timed out" in (dl["last_error"] or ""),
          "no answer: %s" % st)
    term.wait(40)


def test_pacing(env):
    # 5 requests/s, burst 1: 10 pushes to 10 terminals cannot all go at once
    d = Daemon(env, "--trust-udp", "--pace", "5", "--pace-burst", "1").start()
    ports = [free_port() for _ in range(10)]
    terms = [uas(env, p) for p in ports]
    for i, p in enumerate(ports):
        register(env, d, "pace%d" % i, p, INST1)
    t0 = time.time()
    ids = [d.push(to="sip:pace%d@example.com" % i, app="mms.ua",
                  content_type="text/plain", body="p") for i in range(10)]
    for pid in ids:
        check(d.wait_final(pid, 20)["state"] == "delivered", pid)
    spread = time.time() - t0
    for t in terms:
        t.ok()
    # 9 tokens at 5/s need 1.8 s; unpaced this takes a few ms
    check(spread >= 1.5, "10 pushes at 5/s went out in %.2f s" % spread)


if __name__ == "__main__":
    run([test_no_answer_timeout, test_pacing])

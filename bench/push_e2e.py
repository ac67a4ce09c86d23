#!/usr/bin/env python3
"""bench/push-e2e: pushes over HTTP to sippushd, delivered as MESSAGE to
registered SIPp terminals answering 200, with the store durable (WAL,
synchronous=FULL, group commit).

Reports accepted/s (wrk, keep-alive, several connections), delivered/s
(from the first POST until the queue is empty), p50/p99 accept->delivered
latency (created_ms -> final_ms in the store, i.e. 202 to the 200 OK of
the MESSAGE), sippushd's CPU and peak RSS, and RSS per in-flight push.

usage: bench/push_e2e.py [SECONDS] [USERS] [CONNECTIONS] [UAS_PROCS]
                         ["sippushd options"] [OFFERED_RATE/s]
"""
import re
import sys
import threading
import time

from benchlib import (harness, metrics, print_cpu_per_push, print_delivery,
                      uas_scenario, wrk_then_drain)

Daemon, Env, free_port = harness.Daemon, harness.Env, harness.free_port
register_udp = harness.register_udp

LUA = """
local n = 0
request = function()
  n = n + 1
  local u = math.random(0, %d)
  local body = string.format('{"to":"sip:u%%d@example.com","app":"mms.ua",'
    .. '"content_type":"text/plain","body":"push %%d from wrk"}', u, n)
  return wrk.format("POST", "/v1/pushes",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer " .. os.getenv("SIPPUSH_TOKEN")}, body)
end
"""

# an offered rate instead of as fast as possible: each connection waits
# between requests (wrk's delay() hook)
LUA_RATE = """
function delay()
  return %d
end
"""



def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    nuas = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    extra = sys.argv[5].split() if len(sys.argv) > 5 else []
    rate = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    env = Env("bench-push-e2e")
    try:
        d = Daemon(env, "--trust-udp", "--log-level", "warn", *extra).start()
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario())
        ports = [free_port() for _ in range(nuas)]
        for p in ports:
            env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i",
                       "127.0.0.1", "-p", str(p), "-nostdin", "-trace_err",
                       "-error_file", env.path("uas-%d.err" % p)],
                      "uas-%d.out" % p)
        for i in range(users):
            register_udp(d, "u%d" % i, ports[i % nuas],
                         "urn:uuid:00000000-0000-4000-8000-%012d" % i)
        time.sleep(0.5)
        with open(env.path("push.lua"), "w") as f:
            f.write(LUA % (users - 1))
            if rate:
                f.write(LUA_RATE % max(1, conns * 1000 // rate))

        peak_pending = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    peak_pending[0] = max(peak_pending[0], metrics(d).get(
                        "sippush_pushes_pending", 0))
                except OSError:
                    pass
                time.sleep(0.5)
        th = threading.Thread(target=sample)
        th.start()

        r = wrk_then_drain(d, env.path("push.lua"), secs, conns)
        stop.set()
        th.join()
        d.stop()

        reqs = re.search(r"(\d+) requests in", r.out)
        accepted = r.m.get("sippush_pushes_accepted_total", 0)
        rows = d.db_rows("SELECT state, COUNT(*) FROM pushes GROUP BY state")
        lat = [r[0] for r in d.db_rows(
            "SELECT final_ms - created_ms FROM pushes WHERE state="
            "'delivered'")]
        delivered = dict(rows).get("delivered", 0)

        print("bench/push-e2e: %d s of POST /v1/pushes (wrk, %d "
              "connections, keep-alive, %s), %d users with one registered "
              "terminal each on %d SIPp UAS, store SQLite WAL "
              "synchronous=FULL" % (secs, conns, "offered ~%d/s" % rate if
                                    rate else "as fast as accepted", users,
                                    nuas))
        print("  wrk: %s" % " ".join(r.wrk))
        print("  requests %s, non-2xx %s, socket errors: %s" % (
            reqs.group(1) if reqs else "?", r.non2xx, r.errors))
        print("  accepted:  %d pushes, %.0f/s" % (accepted,
                                                 accepted / r.t_post))
        print("  delivered: %d pushes, %.0f/s (first POST to empty queue, "
              "%.1f s)" % (delivered, delivered / r.t_all, r.t_all))
        print("  final states in the store: %s" % dict(rows))
        print_delivery(lat, "MESSAGE", r, "at start", accepted, delivered)
        print_cpu_per_push(env, r, delivered, conns)
        if peak_pending[0] >= 1000:   # else the ratio means nothing
            print("  peak pending %d pushes: %.2f kB RSS per in-flight "
                  "push" % (peak_pending[0], (r.hwm - r.rss0) /
                            peak_pending[0]))
        print("  command: %s" % " ".join(sys.argv))
    finally:
        env.close()


if __name__ == "__main__":
    main()

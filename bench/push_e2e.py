#!/usr/bin/env python3
"""bench/push-e2e: pushes over HTTP to sippushd, delivered as MESSAGE to
registered SIPp terminals answering 200, with the store durable (WAL,
synchronous=FULL, group commit).

Reports accepted/s (wrk, keep-alive, several connections), delivered/s
(from the first POST until the queue is empty), p50/p99 accept->delivered
latency (created_ms -> final_ms in the store, i.e. 202 to the 200 OK of
the MESSAGE), sippushd's CPU and peak RSS, and RSS per in-flight push.

With --store postgresql the same run is made on SQLite, then on a
PostgreSQL server of the bench's own (tests/pgserver.py; fsync and
synchronous_commit on, the durability of SQLite's synchronous=FULL), and
the ratios printed, with the server's CPU per push (the postmaster and
its processes, from /proc).

usage: bench/push_e2e.py [--store sqlite|postgresql] [SECONDS] [USERS]
                         [CONNECTIONS] [UAS_PROCS] ["sippushd options"]
                         [OFFERED_RATE/s]
"""
import re
import sys
import threading
import time

import os

from benchlib import (SIPP_BUF, harness, metrics, pct, print_cpu_per_push,
                      print_delivery, store_arg, store_daemon, tree_cpu,
                      uas_scenario,
                      wrk_then_drain)

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



def run(store, secs, users, conns, nuas, extra, rate):
    """One run on one store; prints its lines, returns its figures"""
    env = Env("bench-push-e2e-" + store)
    try:
        d = store_daemon(env, store, "--trust-udp", "--log-level", "warn",
                         *extra).start()
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario())
        ports = [free_port() for _ in range(nuas)]
        for p in ports:
            env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i",
                       "127.0.0.1", "-p", str(p), "-nostdin"] + SIPP_BUF + [
                       "-trace_err",
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

        pg_cpu0 = tree_cpu(d.pg.proc.pid) if d.pg else 0.0
        r = wrk_then_drain(d, env.path("push.lua"), secs, conns)
        pg_cpu = tree_cpu(d.pg.proc.pid) - pg_cpu0 if d.pg else 0.0
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
              "terminal each on %d SIPp UAS, store %s" % (
                  secs, conns, "offered ~%d/s" % rate if rate else
                  "as fast as accepted", users, nuas,
                  "SQLite WAL synchronous=FULL" if store == "sqlite" else
                  "PostgreSQL %s (fsync=on, synchronous_commit=on; server "
                  "on this machine)" % os.path.basename(
                      os.path.dirname(d.pg.bin))))
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
        if not d.pg and accepted:
            # the WAL's frames (whole pages) and the checkpoints' copies
            print("  store writes: %.0f B per push (sippushd's write_bytes "
                  "in /proc/PID/io while posting and draining)" % (
                      r.wbytes / accepted))
        if d.pg and delivered:
            print("  PostgreSQL server CPU (postmaster and its processes): "
                  "%.1f s, %.1f us per push" % (pg_cpu,
                                               pg_cpu * 1e6 / delivered))
        if peak_pending[0] >= 1000:   # else the ratio means nothing
            print("  peak pending %d pushes: %.2f kB RSS per in-flight "
                  "push" % (peak_pending[0], (r.hwm - r.rss0) /
                            peak_pending[0]))
        sys.stdout.flush()
        return {"accepted": accepted / r.t_post,
                "delivered": delivered / r.t_all,
                "p50": pct(lat, 50), "p99": pct(lat, 99),
                "cpu_us": r.cpu * 1e6 / max(delivered, 1),
                "pg_us": pg_cpu * 1e6 / max(delivered, 1)}
    finally:
        env.close()


def main():
    argv = sys.argv[1:]
    stores = store_arg(argv)
    secs = int(argv[0]) if len(argv) > 0 else 60
    users = int(argv[1]) if len(argv) > 1 else 1000
    conns = int(argv[2]) if len(argv) > 2 else 16
    nuas = int(argv[3]) if len(argv) > 3 else 1
    extra = argv[4].split() if len(argv) > 4 else []
    rate = int(argv[5]) if len(argv) > 5 else 0
    got = {}
    for store in stores:
        got[store] = run(store, secs, users, conns, nuas, extra, rate)
    if len(got) == 2:
        s, p = got["sqlite"], got["postgresql"]
        print("  PostgreSQL / SQLite, same run: accepted/s %.2f, "
              "delivered/s %.2f (target >= 0.70), p50 %.0f / %.0f ms, p99 "
              "%.0f / %.0f ms (target <= 50 ms), sippushd CPU per push "
              "%.1f / %.1f us, + PostgreSQL's %.1f us" % (
                  p["accepted"] / s["accepted"],
                  p["delivered"] / s["delivered"], p["p50"], s["p50"],
                  p["p99"], s["p99"], p["cpu_us"], s["cpu_us"], p["pg_us"]))
    print("  command: %s" % " ".join(sys.argv))


if __name__ == "__main__":
    main()

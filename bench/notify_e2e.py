#!/usr/bin/env python3
"""bench/notify-e2e: subscription mode under load. SUBSCRIBERS terminals
(one SIPp client process, one dialog each: ua-profile;profile-type=oma-app)
subscribe to sippushd and answer 200 to every NOTIFY; pushes with
"method": "notify" are POSTed over HTTP (wrk) to random subscribers for
SECONDS; each goes out as a content NOTIFY in its subscriber's dialog (one
in flight per dialog, the rest queued). The store is durable (WAL,
synchronous=FULL, group commit).

Reports accepted/s, delivered/s (first POST until the queue is empty),
p50/p99 accept->delivered latency from the store, the method every
delivery used (all must be notify), sippushd's CPU and peak RSS.

usage: bench/notify_e2e.py [SECONDS] [SUBSCRIBERS] [CONNECTIONS]
                          ["sippushd options"]
(sippushd runs under SIPPUSHD_WRAP if set: benchlib.store_daemon)
"""
import sys

from benchlib import (harness, metrics, print_delivery, store_daemon,
                      wrk_then_drain)

Daemon, Env, wait_until = harness.Daemon, harness.Env, harness.wait_until

EVENT = ('ua-profile;profile-type=oma-app;event-app-id="mms.ua";'
         'vendor="vendor.example";model="X100";version="2.1"')

SUBSCRIBER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="subscriber">
  <send retrans="500"><![CDATA[
SUBSCRIBE sip:push@localhost SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:u[call_number]@example.com>;tag=[pid]s[call_number]
To: <sip:push@localhost>
Call-ID: [call_id]
CSeq: 1 SUBSCRIBE
Contact: <sip:u[call_number]@[local_ip]:[local_port]>
P-Asserted-Identity: <sip:u[call_number]@example.com>
Event: %s
Accept-Contact: *;+g.oma.pusheventapp="mms.ua";methods="NOTIFY,MESSAGE"
Accept: text/plain
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" rrs="true"/>
  <label id="1"/>
  <recv request="NOTIFY"/>
  <send next="1"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
""" % EVENT

LUA = """
local n = 0
request = function()
  n = n + 1
  local u = math.random(1, %d)
  local body = string.format('{"to":"sip:u%%d@example.com","app":"mms.ua",'
    .. '"method":"notify","content_type":"text/plain",'
    .. '"body":"notify %%d from wrk"}', u, n)
  return wrk.format("POST", "/v1/pushes",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer " .. os.getenv("SIPPUSH_TOKEN")}, body)
end
"""



def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    subs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    env = Env("bench-notify-e2e")
    try:
        extra = sys.argv[4].split() if len(sys.argv) > 4 else []
        d = store_daemon(env, "sqlite", "--trust-udp", "--log-level",
                         "warn", *extra).start()
        with open(env.path("sub.xml"), "w") as f:
            f.write(SUBSCRIBER)
        with open(env.path("push.lua"), "w") as f:
            f.write(LUA % subs)
        # SIPp numbers its calls from 1: subscribers u1..uN
        env.spawn(["sipp", "-sf", env.path("sub.xml"), "-i", "127.0.0.1",
                   "-p", str(harness.free_port()), "-m", str(subs),
                   "-r", "500", "-l", str(subs), "-nostdin", "-trace_err",
                   "-error_file", env.path("sub.err"),
                   "127.0.0.1:%d" % d.sip_port], "sub.out")
        wait_until(lambda: metrics(d).get("sippush_subscriptions", 0) ==
                   subs, 60, "%d subscriptions" % subs)

        r = wrk_then_drain(d, env.path("push.lua"), secs, conns)
        d.stop()

        accepted = r.m.get("sippush_pushes_accepted_total", 0)
        rows = dict(d.db_rows("SELECT state, COUNT(*) FROM pushes "
                              "GROUP BY state"))
        methods = dict(d.db_rows("SELECT method, COUNT(*) FROM deliveries "
                                 "GROUP BY method"))
        lat = [r[0] for r in d.db_rows(
            "SELECT final_ms - created_ms FROM pushes WHERE state="
            "'delivered'")]
        delivered = rows.get("delivered", 0)

        print("bench/notify-e2e: %d s of POST /v1/pushes (method notify; "
              "wrk, %d connections, keep-alive) to %d subscribers (one "
              "SIPp process, a dialog each), store SQLite WAL "
              "synchronous=FULL" % (secs, conns, subs))
        print("  wrk: %s" % " ".join(r.wrk))
        print("  non-2xx %s, socket errors: %s" % (r.non2xx, r.errors))
        print("  accepted:  %d pushes, %.0f/s" % (accepted,
                                                 accepted / r.t_post))
        print("  delivered: %d pushes, %.0f/s (first POST to empty queue, "
              "%.1f s)" % (delivered, delivered / r.t_all, r.t_all))
        print("  final states: %s; delivery methods: %s" % (rows, methods))
        print_delivery(lat, "NOTIFY", r, "after subscribing", accepted,
                       delivered)
        print("  command: %s" % " ".join(sys.argv))
    finally:
        env.close()


if __name__ == "__main__":
    main()

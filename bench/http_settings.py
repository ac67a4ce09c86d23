#!/usr/bin/env python3
"""bench/http-settings: what an initiator's HTTP settings cost sippushd.

For each setting (keep-alive or a new connection per request; 1, 10 or
100 pushes per POST as a JSON array) wrk posts for SECONDS on CONNECTIONS
connections to a fresh sippushd; the pushes are for offline users, so
what is measured is the HTTP and acknowledgement path alone (parse,
validate, group commit, 202), not delivery. Printed per setting: pushes
accepted per second and sippushd's CPU (user + system, from /proc) per
push, which does not depend on what else runs on the machine as much as
the rate does.

usage: bench/http_settings.py [SECONDS] [CONNECTIONS]
"""
import os
import re
import subprocess
import sys

from benchlib import harness, metrics, proc_cpu

Daemon, Env = harness.Daemon, harness.Env

LUA = """
local n = 0
local close = %s
local batch = %d
request = function()
  local items = {}
  for i = 1, batch do
    n = n + 1
    items[i] = string.format('{"to":"sip:u%%d@example.com","app":"mms.ua",'
      .. '"content_type":"text/plain","body":"push %%d"}',
      math.random(0, 999), n)
  end
  local body = batch == 1 and items[1] or ("[" .. table.concat(items, ",") .. "]")
  local h = {["Content-Type"] = "application/json",
             ["Authorization"] = "Bearer " .. os.getenv("SIPPUSH_TOKEN")}
  if close then h["Connection"] = "close" end
  return wrk.format("POST", "/v1/pushes", h, body)
end
"""


def run_one(env, secs, conns, keepalive, batch):
    d = Daemon(env, "--log-level", "warn", "--max-batch", "100",
               db="s-%s-%d.db" % ("ka" if keepalive else "close", batch)
               ).start()
    lua = env.path("s.lua")
    with open(lua, "w") as f:
        f.write(LUA % ("false" if keepalive else "true", batch))
    cpu0 = proc_cpu(d.proc.pid)
    cmd = ["wrk", "-t", "1", "-c", str(conns), "-d", "%ds" % secs, "-s",
           lua, d.base]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=secs + 60,
                         env=dict(os.environ, SIPPUSH_TOKEN=d.token)).stdout
    cpu = proc_cpu(d.proc.pid) - cpu0
    accepted = metrics(d)["sippush_pushes_accepted_total"]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    d.stop()
    return accepted, cpu, non2xx.group(1) if non2xx else "0", cmd


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    env = Env("bench-http-settings")
    try:
        print("bench/http-settings: %d s each, %d connections, offline "
              "users (no delivery); SIPPUSH_BUILD=%s python3 "
              "bench/http_settings.py %d %d" % (secs, conns, harness.BUILD,
                                                 secs, conns))
        print("  %-24s %12s %14s %8s" % ("setting", "pushes/s",
                                         "CPU us/push", "non-2xx"))
        for keepalive in (True, False):
            for batch in (1, 10, 100):
                acc, cpu, bad, _ = run_one(env, secs, conns, keepalive,
                                           batch)
                print("  %-24s %12.0f %14.1f %8s" % (
                    "%s, %d per POST" % ("keep-alive" if keepalive
                                         else "new connection", batch),
                    acc / secs, 1e6 * cpu / max(acc, 1), bad))
                sys.stdout.flush()
    finally:
        env.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench/ack-kill: is anything acknowledged lost at saturation? wrk posts
single pushes for offline users on CONNECTIONS keep-alive connections
(each 202 body logged by its Lua script), sippushd is killed with SIGKILL
after KILL_AT seconds, then every id answered 202 is looked up in the
store. ROUNDS rounds, each on a new database.

usage: bench/ack_kill.py [ROUNDS] [CONNECTIONS] [KILL_AT] ["sippushd options"]
"""
import glob
import os
import re
import signal
import subprocess
import sys
import time

from benchlib import harness

Daemon, Env = harness.Daemon, harness.Env

# one file of 202 bodies per wrk thread, line-buffered: wrk is stopped
# when the daemon is gone, and what it read must be on disk by then
LUA = """
local f
nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  f = io.open(string.format("%s/acks-%%d.txt", tid), "w")
  f:setvbuf("line")
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"to":"sip:off%%d@example.com","app":"mms.ua",'
    .. '"content_type":"text/plain","body":"push %%d"}', n %% 1000, n)
  return wrk.format("POST", "/v1/pushes",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer " .. os.getenv("SIPPUSH_TOKEN")}, body)
end
function response(status, headers, body)
  if status == 202 then f:write(body, "\\n") end
end
"""


def one_round(env, conns, kill_at, extra, k):
    d = Daemon(env, "--trust-udp", "--log-level", "warn", *extra,
               db="ack-%d.db" % k).start()
    out = env.path("r%d" % k)
    os.mkdir(out)
    lua = env.path("acks-%d.lua" % k)
    with open(lua, "w") as f:
        f.write(LUA % out)
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % (kill_at + 3),
           "-s", lua, d.base]
    w = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, SIPPUSH_TOKEN=d.token))
    time.sleep(kill_at)
    d.kill9()
    time.sleep(0.5)
    w.send_signal(signal.SIGINT)
    try:
        w.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        w.kill()
        w.communicate()
    acked = []
    for fn in glob.glob(os.path.join(out, "acks-*.txt")):
        with open(fn) as f:
            acked += re.findall(r'"id":"([0-9a-f]+)"', f.read())
    stored = {r[0] for r in d.db_rows("SELECT id FROM pushes")}
    lost = [i for i in acked if i not in stored]
    return cmd, len(acked), len(lost), len(stored)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    kill_at = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    extra = sys.argv[4].split() if len(sys.argv) > 4 else []
    env = Env("bench-ack-kill")
    total_lost = 0
    try:
        print("bench/ack_kill.py %d %d %g %r" % (rounds, conns, kill_at,
                                                 " ".join(extra)))
        for k in range(rounds):
            cmd, acked, lost, stored = one_round(env, conns, kill_at,
                                                 extra, k)
            total_lost += lost
            if k == 0:
                print("  load: %s" % " ".join(cmd))
            print("  round %d: %d acknowledged in %.1f s (%.0f/s), %d rows "
                  "stored, %d acknowledged missing after kill -9"
                  % (k + 1, acked, kill_at, acked / kill_at, stored, lost))
            sys.stdout.flush()
        print("  missing in all: %d" % total_lost)
    finally:
        env.close()
    sys.exit(1 if total_lost else 0)


if __name__ == "__main__":
    main()

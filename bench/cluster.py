#!/usr/bin/env python3
"""bench/cluster: 1, 2 and 3 sippushd --cluster nodes on one PostgreSQL
(a server of the bench's own, synchronous_commit=on, fsync on), the same
push_e2e-style load spread over the nodes (one wrk per node, keep-alive),
users registered round robin at the nodes on SIPp terminals answering 200.

Prints per node count: accepted/s, delivered/s (first POST to nothing
pending in the store), p50/p99 202->200 OK (created_ms -> final_ms in the
store), CPU per delivered push of each node and of PostgreSQL (all its
processes); then, with 3 nodes, the takeover time (kill -9 of a node ->
first delivery, by a survivor, of a push for one of its users posted
after the kill) and the rebalance time (a node joins two settled ones ->
the last lease that moves).

usage: bench/cluster.py [SECONDS] [USERS] [CONNECTIONS] [NODES,...]
"""
import os
import subprocess
import sys
import threading
import time

from benchlib import (SIPP_BUF, harness, pct, proc_cpu, tree_cpu,
                      uas_scenario)
from push_e2e import LUA   # the same POST, the token from SIPPUSH_TOKEN

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests"))
import test_cluster as tc  # noqa: E402  (its Node, Terminals, leases)

Env, free_port = harness.Env, harness.free_port

def pending(env, db):
    return int(env.pg.psql("SELECT count(*) FROM pushes WHERE final_ms=0",
                           db)[0][0])


def run_load(env, n, secs, users, conns, uas_ports):
    db = "b%d" % n
    nodes, _ = tc.cluster(env, db, ["n%d" % i for i in range(n)],
                          "--log-level", "warn")
    tc.wait_settled(env, db, [x.name for x in nodes], timeout=90)
    for i in range(users):
        harness.register_udp(nodes[i % n], "u%d" % i,
                             uas_ports[i % len(uas_ports)],
                             "urn:uuid:00000000-0000-4000-8000-%012d" % i)
    time.sleep(1.0)
    lua = env.path("push.lua")
    with open(lua, "w") as f:
        f.write(LUA % (users - 1))

    cpu0 = [proc_cpu(x.proc.pid) for x in nodes]
    pg0 = tree_cpu(env.pg.proc.pid)
    outs = [None] * n
    per = max(1, conns // n)

    def wrk(k):
        outs[k] = subprocess.run(
            ["wrk", "-t", "1", "-c", str(per), "-d", "%ds" % secs, "-s",
             lua, nodes[k].base], capture_output=True, text=True,
            timeout=secs + 60,
            env=dict(os.environ, SIPPUSH_TOKEN=tc.TOKEN)).stdout
    t0 = time.time()
    ths = [threading.Thread(target=wrk, args=(k,)) for k in range(n)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    t_post = time.time() - t0
    end = time.time() + 180
    while time.time() < end and pending(env, db) > 0:
        time.sleep(0.1)
    t_all = time.time() - t0
    cpu = [proc_cpu(x.proc.pid) - c for x, c in zip(nodes, cpu0)]
    pgc = tree_cpu(env.pg.proc.pid) - pg0
    rows = dict(env.pg.psql("SELECT state, count(*) FROM pushes GROUP BY "
                            "state", db))
    lat = [int(r[0]) for r in env.pg.psql(
        "SELECT final_ms - created_ms FROM pushes WHERE state="
        "'delivered'", db)]
    accepted = sum(int(v) for v in rows.values())
    delivered = int(rows.get("delivered", 0))
    print("  %d node(s): accepted %d (%.0f/s), delivered %d (%.0f/s, %.1f s "
          "first POST to none pending), p50 %.0f ms, p99 %.0f ms; states %s"
          % (n, accepted, accepted / t_post, delivered, delivered / t_all,
             t_all, pct(lat, 50), pct(lat, 99), rows))
    print("    CPU per delivered push: %s; PostgreSQL %.0f us" % (
        ", ".join("%s %.0f us" % (x.name, 1e6 * c / max(1, delivered))
                  for x, c in zip(nodes, cpu)), 1e6 * pgc / max(1, delivered)))
    for x in nodes:
        x.proc.terminate()
        x.proc.wait(30)
    return delivered / t_all


def takeover(env):
    db = "t3"
    nodes, _ = tc.cluster(env, db, ["t0", "t1", "t2"], "--log-level", "warn")
    tc.wait_settled(env, db, [x.name for x in nodes], timeout=90)
    own = {int(s): o for s, o, e in tc.leases(env, db)}
    victim = nodes[1]
    users = [i for i in range(200)
             if own[tc.shard("sip:k%d@example.com" % i)] == victim.name][:4]
    terms = tc.Terminals(len(users))
    try:
        for k, i in enumerate(users):
            tc.register(nodes[0], "k%d" % i, terms.ports[k])
        stop = threading.Event()
        kill_t = [None]

        def post():
            j = 0
            while not stop.is_set():
                j += 1
                nodes[2].post({"to": "sip:k%d@example.com" %
                               users[j % len(users)], "app": "mms.ua",
                               "content_type": "text/plain",
                               "body": "t%d" % j})
                time.sleep(0.02)
        th = threading.Thread(target=post)
        th.start()
        time.sleep(1.0)
        kill_t[0] = time.time()
        victim.kill9()
        harness.wait_until(lambda: any(
            r[0] > kill_t[0] + 0.05 and r[3] != victim.sip_port
            for r in terms.records()), 30, "a survivor's delivery")
        first = min(r[0] for r in terms.records()
                    if r[0] > kill_t[0] + 0.05 and r[3] != victim.sip_port)
        stop.set()
        th.join()
        print("  takeover: kill -9 -> first delivery by a survivor of a "
              "push for the dead node's users: %.2f s (lease 4 s, rounds "
              "1 s)" % (first - kill_t[0]))
    finally:
        terms.close()

    # rebalance: a node joins the two survivors
    t0 = time.time()
    tc.Node(env, "t3", nodes[0].url, "--log-level", "warn").start()
    tc.wait_settled(env, db, ["t0", "t2", "t3"], timeout=120)
    moves = env.pg.psql("SELECT count(*) FROM leases WHERE owner='t3'", db)
    print("  rebalance: a third node joins two: it holds %s shards, settled "
          "(no lease moving for 3 s) %.1f s after its start (16 given up a "
          "round per node)" % (moves[0][0], time.time() - t0 - 3.0))


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    counts = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 \
        else [1, 2, 3]
    env = Env("bench-cluster")
    try:
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario())
        ports = [free_port() for _ in range(2)]
        for p in ports:
            env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i",
                       "127.0.0.1", "-p", str(p), "-nostdin"] + SIPP_BUF,
                      "uas-%d.out" % p)
        print("bench/cluster: %d s of POST /v1/pushes per run, %d users, %d "
              "keep-alive connections spread over the nodes; one PostgreSQL "
              "(synchronous_commit=on, fsync on); load average %s" % (
                  secs, users, conns, " ".join(
                      open("/proc/loadavg").read().split()[:3])))
        rates = {}
        for n in counts:
            rates[n] = run_load(env, n, secs, users, conns, ports)
        if 1 in rates:
            print("  delivered/s relative to one node: %s" % ", ".join(
                "%d: %.2f" % (n, r / rates[1]) for n, r in rates.items()))
        takeover(env)
        print("  command: %s" % " ".join(sys.argv))
    finally:
        env.close()


if __name__ == "__main__":
    main()

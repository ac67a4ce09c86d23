#!/usr/bin/env python3
"""Failover of the PostgreSQL store: a primary with a streaming standby in
synchronous replication (synchronous_standby_names, sippushd's
synchronous_commit=on), sippushd on a multi-host conninfo with
target_session_attrs=read-write. Under 16 connections posting pushes the
primary is killed with SIGKILL and the standby promoted: sippushd finds the
new primary by itself, and every push answered 202 — before, during or
after — is in the promoted standby.

At the agents (sippush-agent processes registered at sippushd, each with
its seen set and a dir: handler): every push answered 202 reaches a
handler exactly once, with the Call-ID its delivery has in the store. Every
request carries an Idempotency-Key; those answered 503 or not at all are
tried again by the client with the same key and body until answered 202:
each key yields exactly one push, in the store and at the handlers."""
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from harness import Daemon, check, run, wait_until
from pgserver import PgServer
from test_agent import Agent
import loadgen

USERS = ["fo%d" % i for i in range(4)]


def push_doc(n):
    return {"to": "sip:%s@example.com" % USERS[n % len(USERS)],
            "app": "mms.ua", "content_type": "text/plain",
            "body": "push %d" % n}


def acked(http):
    return [json.loads(b)["id"] for _, st, b in http.answers if st == 202]


def post_keyed(d, n):
    """The client's retry: the same body with the same key; (status, doc)"""
    req = urllib.request.Request(
        d.base + "/v1/pushes", method="POST",
        data=json.dumps(push_doc(n)).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + d.token,
                 "Idempotency-Key": "k%d" % n})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError):
        return 0, None


def handed_over(agents):
    """What the agents' handlers got: (body, push identity) per push"""
    out = []
    for a in agents:
        for f in a.files():
            if not f.endswith(".meta"):
                continue
            with open(os.path.join(a.inbox, f)) as fh:
                meta = dict(line.split(": ", 1) for line in
                            fh.read().splitlines() if ": " in line)
            with open(os.path.join(a.inbox, f[:-5]), "rb") as fh:
                out.append((fh.read().decode(), meta.get("push-id")))
    return out


def test_failover(env):
    primary = PgServer("primary").start()
    standby = None
    try:
        primary.createdb("fo")
        standby = PgServer.standby_of(primary)
        primary.psql("ALTER SYSTEM SET synchronous_standby_names='*'")
        primary.psql("SELECT pg_reload_conf()")
        wait_until(lambda: primary.psql("SELECT sync_state FROM "
                                        "pg_stat_replication") ==
                   [("sync",)], 15, "a synchronous standby", 0.1)
        url = ("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=fo "
               "user=postgres target_session_attrs=read-write"
               % (primary.port, standby.port))
        d = Daemon(env, "--log-level", "info", "--store", url,
                   "--trust-udp", "--retry-base", "200", "--retry-max",
                   "1000").start()
        agents = [Agent(env, u, d.sip_port, name="agent-" + u).start()
                  for u in USERS]
        for u in USERS:
            wait_until(lambda u=u: d.terminals("sip:%s@example.com" % u),
                       10, "%s registered" % u)

        issued = {}

        def push_req(n):
            issued[n] = "push %d" % n
            return ("POST", "/v1/pushes", "application/json",
                    json.dumps(push_doc(n)).encode(), n,
                    {"Idempotency-Key": "k%d" % n})

        http = loadgen.Http(d.http_port, 16, push_req, d.token)
        marks = {}

        async def killer():
            await asyncio.sleep(1.5)
            marks["before"] = len(acked(http))
            primary.kill9()
            await asyncio.to_thread(standby.psql,
                                    "SELECT pg_promote(true, 30)")
            marks["promoted"] = len(acked(http))
            # the load goes on until sippushd has found the new primary
            # and a few hundred more are acknowledged (at most 15 s: a
            # promotion slowed by a loaded machine must not end the run
            # before sippushd's next try)
            end = time.monotonic() + 15
            while (time.monotonic() < end and
                   len(acked(http)) < marks["promoted"] + 300):
                await asyncio.sleep(0.1)
            http.stop()

        async def main():
            await asyncio.gather(killer(), http.run(40))
        asyncio.run(main())

        got = acked(http)
        answer = {k: (st, b) for k, st, b in http.answers}
        stored = {r[0] for r in standby.psql("SELECT id FROM pushes", "fo")}
        lost = [i for i in got if i not in stored]
        refused = sum(1 for _, st, _ in http.answers if st != 202)
        print("failover: %d acknowledged before the kill, %d more after "
              "the promotion (%d in all, %d refused, %d requests sent, "
              "%d unanswered); lost: %d"
              % (marks["before"], len(got) - marks["promoted"], len(got),
                 refused, http.sent, len(issued) - len(answer), len(lost)))
        check(marks["before"] > 50, "too few before the kill: %d"
              % marks["before"])
        check(len(got) > marks["promoted"], "nothing acknowledged after "
              "the promotion")
        check(not lost, "%d acknowledged pushes missing on the promoted "
              "standby (first: %s)" % (len(lost), lost[:5]))

        # the clients whose requests were refused or never answered try
        # again with the same key until they get their 202
        ids = {k: json.loads(b)["id"] for k, (st, b) in answer.items()
               if st == 202}
        retried = sorted(set(issued) - set(ids))
        end = time.time() + 60
        for n in retried:
            while True:
                st, doc = post_keyed(d, n)
                if st == 202:
                    ids[n] = doc["id"]
                    break
                check(st in (503, 0) and time.time() < end,
                      "a retry of k%d: %s %s" % (n, st, doc))
                time.sleep(0.2)
        print("failover: %d requests tried again with their keys"
              % len(retried))

        # one push per key, in the store
        rows = standby.psql("SELECT id, convert_from(body, 'UTF8') FROM "
                            "pushes", "fo")
        bodies = {}
        for pid, body in rows:
            bodies.setdefault(body, []).append(pid)
        twice = {b: p for b, p in bodies.items() if len(p) > 1}
        check(not twice, "%d keys stored more than once (first: %s)"
              % (len(twice), list(twice.items())[:3]))
        check(len(rows) == len(issued), "%d pushes stored for %d keys"
              % (len(rows), len(issued)))
        for n, pid in ids.items():
            check(bodies.get(issued[n]) == [pid], "k%d answered %s, stored "
                  "%s" % (n, pid, bodies.get(issued[n])))

        # each delivered once at the handlers, with its stored Call-ID
        def all_final():
            st = standby.psql("SELECT count(*) FROM pushes WHERE "
                              "final_ms=0", "fo")
            return st == [("0",)]
        try:
            wait_until(all_final, 90, "every push final in the store", 0.5)
        finally:
            pend = standby.psql("SELECT p.id, convert_from(p.body, 'UTF8'),"
                                " d.state, d.call_id FROM pushes p LEFT "
                                "JOIN deliveries d ON d.push_id=p.id WHERE "
                                "p.final_ms=0 LIMIT 5", "fo")
            if pend:
                seen = {b for b, _ in handed_over(agents)}
                print("still pending in the store: %s; at a handler: %s"
                      % (pend, [p[1] in seen for p in pend]))
        states = standby.psql("SELECT state, count(*) FROM pushes GROUP BY "
                              "state", "fo")
        check(states == [("delivered", str(len(issued)))],
              "states in the store: %s" % states)
        cid = dict(standby.psql("SELECT push_id, call_id FROM deliveries",
                                "fo"))
        got_at = handed_over(agents)
        count = {}
        for body, pid in got_at:
            count[body] = count.get(body, 0) + 1
        dup = sorted(b for b, c in count.items() if c > 1)
        check(not dup, "%d pushes handed over twice (first: %s)"
              % (len(dup), dup[:5]))
        missing = sorted(b for b in issued.values() if b not in count)
        check(not missing, "%d pushes never handed over (first: %s)"
              % (len(missing), missing[:5]))
        by_body = dict(got_at)
        wrong = [n for n, pid in ids.items()
                 if by_body.get(issued[n]) != cid.get(pid)]
        check(not wrong, "%d handed over with another identity than their "
              "delivery's Call-ID (first: k%s)" % (len(wrong), wrong[:3]))
        print("failover: %d pushes, each handed over once at %d agents"
              % (len(issued), len(agents)))
        d.stop()
    finally:
        if standby:
            standby.stop()
        # crash-recovered and stopped cleanly: nothing of it stays behind
        if primary.proc.poll() is not None:
            primary.restart()
        primary.stop()


if __name__ == "__main__":
    run([test_failover])

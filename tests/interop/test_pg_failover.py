#!/usr/bin/env python3
"""Failover of the PostgreSQL store: a primary with a streaming standby in
synchronous replication (synchronous_standby_names, sippushd's
synchronous_commit=on), sippushd on a multi-host conninfo with
target_session_attrs=read-write. Under 16 connections posting pushes the
primary is killed with SIGKILL and the standby promoted: sippushd finds the
new primary by itself, and every push answered 202 — before, during or
after — is in the promoted standby."""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from harness import Daemon, check, run, wait_until
from pgserver import PgServer
import loadgen


def push_req(n):
    body = json.dumps({"to": "sip:off%d@example.com" % (n % 200),
                       "app": "mms.ua", "content_type": "text/plain",
                       "body": "push %d" % n}).encode()
    return "/v1/pushes", "application/json", body, n


def acked(http):
    return [json.loads(b)["id"] for _, st, b in http.answers if st == 202]


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
        d = Daemon(env, "--log-level", "info", "--store", url).start()

        http = loadgen.Http(d.http_port, 16, push_req, d.token)
        marks = {}

        async def killer():
            await asyncio.sleep(1.5)
            marks["before"] = len(acked(http))
            primary.kill9()
            await asyncio.to_thread(standby.psql,
                                    "SELECT pg_promote(true, 30)")
            marks["promoted"] = len(acked(http))

        async def main():
            await asyncio.gather(killer(), http.run(6))
        asyncio.run(main())

        got = acked(http)
        wait_until(lambda: d.http("POST", "/v1/pushes", {
            "to": "sip:late@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "late"})[0] == 202,
            20, "a push accepted on the new primary", 0.2)
        stored = {r[0] for r in standby.psql("SELECT id FROM pushes", "fo")}
        lost = [i for i in got if i not in stored]
        refused = sum(1 for _, st, _ in http.answers if st != 202)
        print("failover: %d acknowledged before the kill, %d more after "
              "the promotion (%d in all, %d refused, %d requests sent); "
              "lost: %d" % (marks["before"], len(got) - marks["promoted"],
                            len(got), refused, http.sent, len(lost)))
        check(marks["before"] > 50, "too few before the kill: %d"
              % marks["before"])
        check(len(got) > marks["promoted"], "nothing acknowledged after "
              "the promotion")
        check(not lost, "%d acknowledged pushes missing on the promoted "
              "standby (first: %s)" % (len(lost), lost[:5]))
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

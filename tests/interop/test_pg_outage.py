#!/usr/bin/env python3
"""The PostgreSQL store going away and coming back: while the server is
stopped sippushd answers new pushes 503 with Retry-After (never 202) and
keeps answering HTTP; it reconnects by itself once the server is back on
the same address, and pushes are acknowledged and stored again. What was
acknowledged before stays; what was refused is not in the store."""
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from harness import Daemon, check, free_port, run, wait_until
from pgserver import PgServer
from test_agent import Agent

PUSH = {"to": "sip:off@example.com", "app": "mms.ua",
        "content_type": "text/plain", "body": "x"}


def ids(pg, url):
    return {r[0] for r in pg.psql("SELECT id FROM pushes",
                                  url.rsplit("/", 1)[1])}


def test_server_restart(env):
    pg = PgServer("outage").start()
    env.pg = pg                    # stopped with the test's processes
    url = pg.createdb("outage")
    d = Daemon(env, "--log-level", "info", "--store", url).start()

    st, doc, _ = d.http("POST", "/v1/pushes", PUSH)
    check(st == 202, "before: %s %s" % (st, doc))
    before = doc["id"]

    pg.stop(remove=False)          # fast shutdown: sessions terminated
    refused = 0
    for _ in range(5):
        t0 = time.time()
        st, doc, hdrs = d.http("POST", "/v1/pushes", PUSH)
        check(time.time() - t0 < 3, "an answer took %.1f s"
              % (time.time() - t0))
        check(st == 503, "while the database is away: %s %s" % (st, doc))
        check(hdrs.get("Retry-After") == "1", "Retry-After: %s" % hdrs)
        refused += 1
        time.sleep(0.2)
    st, _, _ = d.http("GET", "/metrics")
    check(st == 200, "the loop still answers: %s" % st)

    pg.restart()
    got = {}

    def accepted():
        s, doc, _ = d.http("POST", "/v1/pushes", PUSH)
        if s == 202:
            got["id"] = doc["id"]
            return True
        check(s == 503, "while reconnecting: %s %s" % (s, doc))
        return False
    wait_until(accepted, 15, "a push accepted again", 0.2)
    stored = ids(pg, url)
    check(before in stored and got["id"] in stored,
          "acknowledged pushes in the store: %s" % stored)
    check(len(stored) == 2, "only the acknowledged ones: %s" % stored)
    check("connected again" in d.log(), d.log()[-1500:])
    print("refused %d pushes while the server was stopped, accepted again "
          "after its restart" % refused)
    d.stop()


def test_server_silent(env):
    """A server that stops answering without an error (its process for
    sippushd's session stopped: as a network cut looks): the push waiting
    for its commit gets 503 once the commit is 5 s overdue, not a 202;
    when it answers again sippushd is on a new connection (the old
    session, still holding sippushd's lock, ended by it)."""
    pg = PgServer("silent").start()
    env.pg = pg
    url = pg.createdb("silent")
    d = Daemon(env, "--log-level", "info", "--store", url).start()
    st, doc, _ = d.http("POST", "/v1/pushes", PUSH)
    check(st == 202, "before: %s %s" % (st, doc))
    before = doc["id"]
    pid = int(pg.psql("SELECT pid FROM pg_stat_activity WHERE datname="
                      "'silent' AND pid<>pg_backend_pid()")[0][0])
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        st, doc, hdrs = d.http("POST", "/v1/pushes", PUSH)
        took = time.time() - t0
        check(st == 503 and hdrs.get("Retry-After") == "1",
              "a commit never answered: %s %s" % (st, doc))
        check(4 < took < 9, "answered after %.1f s, want 5-6" % took)
    finally:
        os.kill(pid, signal.SIGCONT)
    got = {}

    def accepted():
        s, doc, _ = d.http("POST", "/v1/pushes", PUSH)
        if s == 202:
            got["id"] = doc["id"]
            return True
        return False
    wait_until(accepted, 15, "a push accepted again", 0.2)
    stored = ids(pg, url)
    check(before in stored and got["id"] in stored,
          "acknowledged pushes in the store: %s" % stored)
    print("503 after %.1f s of silence, accepted again after" % took)
    d.stop()


def metric(d, name):
    st, doc, _ = d.http("GET", "/metrics")
    check(st == 200, "/metrics: %s" % st)
    for line in doc.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    return None


def test_progress_kept(env):
    """A delivery that completes while the database is away: its progress
    (the delivery's record, the push delivered) is kept in memory and
    written once the server is back, before a new push is acknowledged;
    after a restart of sippushd the push shows delivered and the agent
    gets nothing again (its log would say "already handed over")."""
    pg = PgServer("progress").start()
    env.pg = pg
    url = pg.createdb("progress")
    d = Daemon(env, "--log-level", "info", "--store", url, "--trust-udp",
               "--retry-base", "200", "--retry-max", "1000").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered")

    # the agent holds the MESSAGE until the database is gone
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        pid = d.push(to="sip:alice@example.com", app="mms.ua",
                     content_type="text/plain", body="during the outage")
        wait_until(lambda: metric(d, "sippush_messages_sent_total") == 1,
                   5, "the MESSAGE sent")
        pg.stop(remove=False)
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    wait_until(lambda: metric(d, "sippush_deliveries_delivered_total") == 1,
               10, "delivered while the database is away")
    check(len(a.files()) == 2, "handed over: %s" % a.files())
    st, _, _ = d.http("POST", "/v1/pushes", PUSH)
    check(st == 503, "a push while the database is away: %s" % st)

    pg.restart()
    wait_until(lambda: d.http("POST", "/v1/pushes", PUSH)[0] == 202, 15,
               "a push accepted again", 0.2)
    # acknowledged after the kept progress: it is in the store already
    rows = pg.psql("SELECT p.state, d.state, d.attempts, d.call_id FROM "
                   "pushes p JOIN deliveries d ON d.push_id=p.id WHERE "
                   "p.id='%s'" % pid, "progress")
    check(len(rows) == 1 and rows[0][:2] == ("delivered", "delivered"),
          "the delivery written when the store came back: %s" % rows)
    check("delivery progress records kept" in d.log(), d.log()[-1500:])
    cid = rows[0][3]

    d.stop()
    seen = len(a.log())
    d.start()
    st, doc, _ = d.http("GET", "/v1/pushes/" + pid)
    check(st == 200 and doc["state"] == "delivered" and
          doc["deliveries"][0]["attempts"] == 1,
          "after the restart: %s %s" % (st, doc))
    time.sleep(2)                 # what a reloaded pending push would take
    check(metric(d, "sippush_messages_sent_total") == 0,
          "sippushd sent again after its restart")
    again = a.log()[seen:]
    check(cid not in again, "the agent saw %s again: %s" % (cid, again))
    check(len(a.files()) == 2, "handed over once: %s" % a.files())
    print("a delivery done while the database was away: written when it "
          "came back, not repeated after a restart")
    d.stop()


class Proxy:
    """TCP between sippushd and the server, on a free loopback port;
    mute_after(k) lets the server's next k answers through on the
    connections open now (up to and including k ReadyForQuery messages,
    the protocol's end of a pipeline Sync) and drops what it sends after
    them (its answers lost, as when a primary dies after its commit); new
    connections pass"""

    def __init__(self, port):
        self.target = port
        self.port = free_port()
        self.lsock = socket.create_server(("127.0.0.1", self.port))
        self.pairs = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
                s = socket.create_connection(("127.0.0.1", self.target), 5)
                s.settimeout(None)
            except OSError:
                return
            pair = {"mute": False, "arm": None, "buf": b"",
                    "socks": (c, s)}
            self.pairs.append(pair)
            for src, dst, back in ((c, s, False), (s, c, True)):
                threading.Thread(target=self._pipe, daemon=True,
                                 args=(src, dst, pair, back)).start()

    def _pipe(self, src, dst, pair, back):
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                if back and pair["arm"] is not None:
                    dst.sendall(self._count(pair, data))
                elif not (back and pair["mute"]):
                    dst.sendall(data)
            except OSError:
                break
        for sk in pair["socks"]:
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _count(pair, data):
        """whole messages (type, length) until the armed number of
        ReadyForQuery have passed; nothing after"""
        pair["buf"] += data
        out = b""
        while not pair["mute"] and len(pair["buf"]) >= 5:
            n = 1 + int.from_bytes(pair["buf"][1:5], "big")
            if len(pair["buf"]) < n:
                break
            msg, pair["buf"] = pair["buf"][:n], pair["buf"][n:]
            out += msg
            if msg[:1] == b"Z":
                pair["arm"] -= 1
                pair["mute"] = pair["arm"] <= 0
        return out

    def mute_after(self, k):
        for p in self.pairs:
            p["arm"] = k

    def close(self):
        self.lsock.close()
        for p in self.pairs:
            for sk in p["socks"]:
                sk.close()


def test_commit_answer_lost(env):
    """A push's commit reaches the database but its answer never comes
    back: sippushd answers 503 after 5 s and forgets the push. The client
    retries with its Idempotency-Key: it gets the push's id, not a second
    push, and that push is delivered (before, it stayed pending in the
    store until sippushd was restarted)."""
    pg = PgServer("lost").start()
    env.pg = pg
    pg.createdb("lost")
    proxy = Proxy(pg.port)
    try:
        url = "postgresql://postgres@127.0.0.1:%d/lost" % proxy.port
        d = Daemon(env, "--log-level", "info", "--store", url,
                   "--trust-udp").start()
        a = Agent(env, "alice", d.sip_port).start()
        wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
                   "the agent registered")
        push = dict(PUSH, to="sip:alice@example.com", body="lost answer")

        def post():
            req = urllib.request.Request(
                d.base + "/v1/pushes", method="POST",
                data=json.dumps(push).encode(),
                headers={"Content-Type": "application/json",
                         "Authorization": "Bearer " + d.token,
                         "Idempotency-Key": "lost-1"})
            try:
                with urllib.request.urlopen(req, timeout=15) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        # the key's look-up is answered (its own Sync), the commit not;
        # the registration's own writes are done first
        time.sleep(0.5)
        proxy.mute_after(1)
        st, doc = post()
        check(st == 503 and b"commit failed" in doc,
              "a commit never answered: %s %s" % (st, doc))
        rows = pg.psql("SELECT id, state FROM pushes", "lost")
        check(len(rows) == 1 and rows[0][1] == "pending",
              "committed all the same: %s" % rows)
        got = {}

        def retried():
            st, doc = post()
            if st == 202:
                got["doc"] = doc
            return st == 202
        wait_until(retried, 20, "the retry answered 202", 0.2)
        check(got["doc"]["id"] == rows[0][0], "the retry's answer %s, the "
              "stored push %s" % (got["doc"], rows))
        wait_until(lambda: pg.psql("SELECT state FROM pushes", "lost") ==
                   [("delivered",)], 15, "the push delivered", 0.2)
        check(len(a.files()) == 2, "handed over once: %s" % a.files())
        print("a commit whose answer was lost: 503, the retry with its "
              "key got %s, delivered once" % rows[0][0])
        d.stop()
    finally:
        proxy.close()


if __name__ == "__main__":
    run([test_server_restart, test_server_silent, test_progress_kept,
         test_commit_answer_lost])

#!/usr/bin/env python3
"""Kamailio's dispatcher in front of several sippushd (issue #24's core
side, kamailio/dispatcher.cfg): third-party REGISTERs go round robin to
the live nodes; OPTIONS probing takes a killed node out, and the
registrations after it teach the survivors; the node back, it gets its
share again. Requests for the AS (OPTIONS to sip:push@example.com) reach a
live node, the next one when the chosen one does not answer.

test_dispatcher_nodes: each node keeps its own SQLite store; what is
asserted is where the core sends (the nodes' terminals and the core's log).
test_dispatcher_cluster: three `sippushd --cluster` sharing one PostgreSQL
database (a server of the test's own) behind the same core; pushes go to
the terminals through the core; one node killed, the probe takes it out,
the core's third-party REGISTERs teach the survivors (the shared store's
terminals table), and the survivors deliver the dead node's users' pushes
once its leases end. Skipped when no PostgreSQL server is installed."""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, check, free_port, run, start_kamailio,
                     udp_request, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))

REG = ("REGISTER sip:example.com SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:{via};rport;branch=z9hG4bK-ds{n}\r\n"
       "From: <sip:{user}@example.com>;tag=ds{n}\r\n"
       "To: <sip:{user}@example.com>\r\nCall-ID: ds-{user}@127.0.0.1\r\n"
       "CSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nExpires: 600\r\n"
       "Contact: <sip:{user}@127.0.0.1:5997>;+sip.instance="
       "\"<urn:uuid:00000000-0000-0000-0000-{n:012d}>\";"
       "+g.oma.pusheventapp=\"mms.ua\"\r\nContent-Length: 0\r\n\r\n")

OPTIONS = ("OPTIONS sip:push@example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:{via};rport;branch=z9hG4bK-dso{n}\r\n"
           "From: <sip:t@example.com>;tag=dso{n}\r\n"
           "To: <sip:push@example.com>\r\nCall-ID: dso-{n}@127.0.0.1\r\n"
           "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def register(kport, n):
    user = "u%d" % n
    ans = udp_request(kport, REG.replace("{user}", user).replace(
        "{n:012d}", "%012d" % n).replace("{n}", str(n)))
    check(ans.startswith("SIP/2.0 200"), "REGISTER %s: %s" % (user, ans[:60]))
    return "sip:%s@example.com" % user


def learnt(d, aors):
    return [a for a in aors if d.terminals(a)]


def sent_to(klog, port):
    return len(re.findall(r"core sent third-party REGISTER for \S+ to "
                          r"sip:127\.0\.0\.1:%d\b" % port, klog()))


def core(env, kport, sip_ports):
    """Kamailio on dispatcher.cfg, the nodes' SIP ports in its list"""
    ds = env.path("dispatcher.list")
    with open(ds, "w") as f:
        for p in sip_ports:
            f.write("1 sip:127.0.0.1:%d\n" % p)
    with open(os.path.join(HERE, "kamailio", "dispatcher.cfg")) as f:
        cfg = f.read().replace("__PORT__", str(kport)).replace(
            "__DS_LIST__", ds).replace("__CTL__", env.path("kamailio.ctl"))
    start_kamailio(env, cfg)

    def klog():
        with open(env.path("kamailio.log"), errors="replace") as f:
            return f.read()
    return klog


def ds_flags(env):
    """kamcmd dispatcher.list: {node's SIP port: flags} ("AP" active,
    "IP" inactive and probed, ...)"""
    out = subprocess.run(["kamcmd", "-s", "unix:" + env.path("kamailio.ctl"),
                          "dispatcher.list"], capture_output=True, text=True,
                         timeout=10)
    check(out.returncode == 0, "kamcmd dispatcher.list: %s" % out.stderr)
    return {int(p): f for p, f in re.findall(
        r"URI: sip:127\.0\.0\.1:(\d+)\s+FLAGS: (\w+)", out.stdout)}


def test_dispatcher_nodes(env):
    kport = free_port()
    nodes = [Daemon(env, "--trust-udp", "--outbound",
                    "sip:127.0.0.1:%d" % kport, "--node", "n%d" % i,
                    db="n%d.db" % i) for i in (1, 2)]
    for d in nodes:
        d.start()
    klog = core(env, kport, [d.sip_port for d in nodes])

    a, b = nodes
    # both alive: round robin, every registration learnt by exactly one
    aors = [register(kport, n) for n in range(1, 5)]
    wait_until(lambda: len(learnt(a, aors)) + len(learnt(b, aors)) == 4,
               10, "the nodes to learn the four registrations")
    la, lb = learnt(a, aors), learnt(b, aors)
    check(len(la) == 2 and len(lb) == 2 and not set(la) & set(lb),
          "round robin: a %s, b %s" % (la, lb))
    ans = udp_request(kport, OPTIONS.replace("{n}", "1"))
    check(ans.startswith("SIP/2.0 200") and "sippushd" in ans,
          "OPTIONS for the AS answered by a node: %s" % ans[:200])

    # a killed: the probe takes it out; what comes next teaches b alone
    a.kill9()
    before = sent_to(klog, a.sip_port)
    time.sleep(3)   # a probe each second, 1 s without answer: out
    check(ds_flags(env).get(a.sip_port, "A")[0] == "I",
          "dispatcher.list after the probe: %s" % ds_flags(env))
    aors2 = [register(kport, n) for n in range(5, 9)]
    wait_until(lambda: len(learnt(b, aors2)) == 4, 10,
               "the survivor to learn every new registration")
    check(sent_to(klog, a.sip_port) == before,
          "nothing sent to the dead node after the probe")
    for n in range(2, 6):
        ans = udp_request(kport, OPTIONS.replace("{n}", str(n)))
        check(ans.startswith("SIP/2.0 200"), "OPTIONS with a node down: %s"
              % ans[:80])

    # a back (same port, its own store): probed active, gets its share
    a.start()
    wait_until(lambda: "sip:127.0.0.1:%d" % a.sip_port in klog() and
               udp_request(kport, OPTIONS.replace("{n}", "9")).startswith(
                   "SIP/2.0 200"), 10, "node a back")
    time.sleep(2)
    aors3 = [register(kport, n) for n in range(9, 13)]
    wait_until(lambda: len(learnt(a, aors3)) + len(learnt(b, aors3)) == 4,
               10, "the nodes to learn the last four")
    check(len(learnt(a, aors3)) >= 1, "node a back in the rotation: %s"
          % learnt(a, aors3))
    check(all(d.proc.poll() is None for d in nodes), "both still running")


# A terminal's REGISTER at the core: its Contact is one of the Terminals'
# sockets, which answer 200 to each MESSAGE the core relays to them
TREG = ("REGISTER sip:example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{via};rport;branch=z9hG4bK-dc{n}\r\n"
        "From: <sip:{user}@example.com>;tag=dc{n}\r\n"
        "To: <sip:{user}@example.com>\r\nCall-ID: dc-{user}@127.0.0.1\r\n"
        "CSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nExpires: 600\r\n"
        "Contact: <sip:{user}@127.0.0.1:{port}>;+sip.instance="
        "\"<urn:uuid:00000000-0000-0000-0000-{inst}>\";"
        "+g.oma.pusheventapp=\"mms.ua\";methods=\"MESSAGE\"\r\n"
        "Content-Length: 0\r\n\r\n")


def test_dispatcher_cluster(env):
    """Three sippushd --cluster on one PostgreSQL behind the dispatcher:
    the core's third-party REGISTERs spread over the live nodes, pushes
    posted round robin reach the terminals through the core once each;
    kill -9 of one node: the probe takes it out, the next registrations
    teach the survivors, its users' pushes are delivered by survivors once
    its leases end; every push answered 202 is delivered, once per id."""
    from test_cluster import Node, Terminals, leases, owners, shard, \
        wait_settled
    first, late = 24, 12      # users registered before / after the kill
    kport = free_port()
    url = env.pg_db("dc")
    names = ["d1", "d2", "d3"]
    nodes = [Node(env, n, url, "--outbound", "sip:127.0.0.1:%d" % kport)
             for n in names]
    for n in nodes:
        n.start()
    klog = core(env, kport, [n.sip_port for n in nodes])
    wait_settled(env, "dc", names)
    by_port = {n.sip_port: n.name for n in nodes}
    flags = ds_flags(env)
    check(sorted(flags) == sorted(by_port) and
          all(f.startswith("A") for f in flags.values()),
          "dispatcher.list at the start: %s" % flags)

    class CoreTerminals(Terminals):
        """Terminals that also note which node sent each MESSAGE (the
        second Via: the core's is on top)"""
        def __init__(self, n):
            self.sender = {}   # (Call-ID, CSeq) -> node's SIP port
            Terminals.__init__(self, n)

        def _answer(self, s, data, src):
            text = data.decode("utf-8", "replace")
            head = text.split("\r\n\r\n", 1)[0].split("\r\n")
            vias = [l for l in head[1:] if l.split(":", 1)[0].strip()
                    .lower() in ("via", "v")]
            hdr = {}
            for l in head[1:]:
                k, _, v = l.partition(":")
                hdr.setdefault(k.strip().lower(), v.strip())
            m = re.search(r"127\.0\.0\.1:(\d+)", vias[1]) \
                if len(vias) > 1 else None
            with self.lock:
                self.sender[(hdr.get("call-id", hdr.get("i", "")),
                             hdr.get("cseq", ""))] = \
                    int(m.group(1)) if m else 0
            Terminals._answer(self, s, data, src)

    back = 6                  # users registered once it is back
    terms = CoreTerminals(first + late + back)

    def aor(i):
        return "sip:dc%d@example.com" % i

    def reg(i):
        ans = udp_request(kport, TREG.replace("{user}", "dc%d" % i).replace(
            "{port}", str(terms.ports[i])).replace(
            "{inst}", "%012d" % (i + 1)).replace("{n}", str(i)))
        check(ans.startswith("SIP/2.0 200"), "REGISTER dc%d at the core: %s"
              % (i, ans[:60]))

    def stored(users):
        """the users among these with a third-party terminal in the store,
        its Path the core"""
        rows = env.pg.psql("SELECT aor, path FROM terminals WHERE source = "
                           "'third-party'", "dc")
        have = {a for a, p in rows if "127.0.0.1:%d" % kport in p}
        return [i for i in users if aor(i) in have]

    acked = {}     # push id -> user index

    def post(i, to_nodes, k):
        n = to_nodes[k % len(to_nodes)]
        st, doc = n.post({"to": aor(i), "app": "mms.ua",
                          "content_type": "text/plain",
                          "body": "dc%d-%d" % (i, k)})
        check(st == 202, "push for dc%d at %s: %s" % (i, n.name, st))
        acked[doc["id"]] = i
        return doc["id"]

    def delivered(pids):
        got = {r[2] for r in terms.records() if r[7]}
        return all(p in got for p in pids)

    def once_each():
        """every acknowledged push at its own terminal, one Call-ID each"""
        by_push = {}
        for r in terms.records():
            if r[2] in acked:
                check(acked[r[2]] == r[1], "push %s for dc%d at dc%d's "
                      "terminal" % (r[2], acked[r[2]], r[1]))
            by_push.setdefault(r[2], set()).add(r[5])
        two = {p: c for p, c in by_push.items() if len(c) > 1}
        check(not two, "pushes under two Call-IDs: %s" % list(two.items())[:3])
        stray = [p for p in by_push if p not in acked]
        check(not stray, "pushes nobody acknowledged: %s" % stray[:3])

    def sent_counts():
        return {n.name: sent_to(klog, n.sip_port) for n in nodes}

    try:
        # 1. registrations at the core, spread over the three nodes
        for i in range(first):
            reg(i)
        wait_until(lambda: len(stored(range(first))) == first, 15,
                   "the store to hold the %d registrations" % first)
        spread = sent_counts()
        print("  %d third-party REGISTERs from the core: %s" % (first, spread))
        check(sum(spread.values()) == first and
              all(v == first // 3 for v in spread.values()),
              "round robin over three: %s" % spread)
        # every node knows every terminal (only the owner delivers)
        for n in nodes:
            st = n.get("/v1/users/%s/terminals" % aor(first - 1))
            check(len(st["terminals"]) == 1, "%s: %s" % (n.name, st))

        # 2. pushes round robin to the nodes' APIs: through the core, once
        own = {int(s): o for s, o, e in leases(env, "dc")}
        owner = {i: own[shard(aor(i))] for i in range(first)}
        t0 = time.time()
        pids = [post(i, nodes, k) for k, i in
                enumerate(list(range(first)) * 3)]
        wait_until(lambda: delivered(pids), 20, "the first %d pushes at "
                   "their terminals" % len(pids))
        once_each()
        recs = [r for r in terms.records() if r[2] in pids]
        check(len({(r[5], r[4]) for r in recs}) == len(pids),
              "one MESSAGE transaction a push: %d for %d pushes" % (
                  len({(r[5], r[4]) for r in recs}), len(pids)))
        check({r[3] for r in recs} == {kport}, "through the core: Via %s"
              % {r[3] for r in recs})
        wrong = [(r[2], by_port.get(terms.sender[(r[5], r[4])]))
                 for r in recs
                 if by_port.get(terms.sender[(r[5], r[4])]) != owner[r[1]]]
        check(not wrong, "pushes not sent by their user's owner: %s" %
              wrong[:3])
        print("  %d pushes posted round robin, delivered through the core "
              "in %.1f s, each once, each by its user's owner (users per "
              "owner: %s)" % (
                  len(pids), time.time() - t0,
                  {n: list(owner.values()).count(n) for n in names}))

        # 3. kill -9 of the node owning most users, right after a burst
        victim = max(nodes, key=lambda n: list(owner.values()).count(n.name))
        live = [n for n in nodes if n is not victim]
        orphans = [i for i in range(first) if owner[i] == victim.name]
        check(len(orphans) >= 3, "%s owns too few users: %s" % (
            victim.name, orphans))
        burst = [post(i, nodes, k) for k, i in enumerate(range(first))]
        victim.kill9()
        kill_t = time.time()
        # when its leases end, by the store's clock: no survivor may serve
        # its users before the first of them
        left = env.pg.psql(
            "SELECT min(until_ms) - (extract(epoch FROM clock_timestamp())"
            " * 1000)::bigint, max(until_ms) - (extract(epoch FROM "
            "clock_timestamp()) * 1000)::bigint FROM leases WHERE owner = "
            "'%s'" % victim.name, "dc")[0]
        ends = [time.time() - kill_t + int(v) / 1000.0 for v in left]
        taken_at = []   # when no lease was the dead node's any more

        def watch_leases():
            while time.time() - kill_t < 15 and not terms.stop:
                if victim.name not in owners(env, "dc"):
                    taken_at.append(time.time())
                    return
                time.sleep(0.1)
        watcher = threading.Thread(target=watch_leases, daemon=True)
        watcher.start()
        # its users' pushes, posted to the survivors: 202 (stored), held
        held = [post(i, live, k) for k, i in enumerate(orphans)]

        # the dispatcher's probe takes it out
        wait_until(lambda: ds_flags(env).get(victim.sip_port, "A")[0] == "I",
                   10, "the dispatcher to mark %s inactive" % victim.name,
                   0.2)
        mark = time.time() - kill_t
        sent_dead = sent_to(klog, victim.sip_port)
        print("  %s killed; marked inactive by the probe %.1f s later (%s)"
              % (victim.name, mark, ds_flags(env)))

        # 4. new registrations: the core teaches only the survivors
        before = sent_counts()
        for i in range(first, first + late):
            reg(i)
        wait_until(lambda: len(stored(range(first, first + late))) == late,
                   15, "the store to learn the %d registrations after the "
                   "kill" % late)
        after = sent_counts()
        check(after[victim.name] == sent_dead,
              "third-party REGISTERs sent to the dead node after the "
              "probe: %d" % (after[victim.name] - sent_dead))
        grew = {n: after[n] - before[n] for n in names}
        # round robin over the list: a dead node's turn goes to the next
        check(sum(grew.values()) == late and
              all(grew[n.name] >= 1 for n in live),
              "after the kill the survivors take them in turn: %s" % grew)
        # among them users of the dead node's shards: a survivor stored
        # them, the owner-to-be loads them when it takes the shard
        theirs = [i for i in range(first, first + late)
                  if own[shard(aor(i))] == victim.name]
        check(theirs, "no new user of %s's shards" % victim.name)
        print("  %d REGISTERs after the mark: %s; all %d in the store's "
              "terminals table, %d of them users of %s's shards" % (
                  late, grew, late, len(theirs), victim.name))
        newp = [post(i, live, k) for k, i in
                enumerate(range(first, first + late))]
        # requests for the AS go to the survivors only
        dead_as = len(re.findall(r"core dispatches \S+ (?:again, )?to "
                                 r"sip:127\.0\.0\.1:%d\b" % victim.sip_port,
                                 klog()))
        for n in range(4):
            ans = udp_request(kport, OPTIONS.replace("{n}", "c%d" % n))
            check(ans.startswith("SIP/2.0 200") and "sippushd" in ans,
                  "OPTIONS for the AS with a node dead: %s" % ans[:80])
        check(len(re.findall(r"core dispatches \S+ (?:again, )?to "
                             r"sip:127\.0\.0\.1:%d\b" % victim.sip_port,
                             klog())) == dead_as,
              "OPTIONS for the AS dispatched to the dead node")

        # 5. the survivors take its shards, deliver what waited for them
        watcher.join(16)
        check(taken_at, "%s's shards not taken by the survivors in 15 s"
              % victim.name)
        taken = taken_at[0] - kill_t
        wait_until(lambda: delivered(burst + held + newp), 30,
                   "every push answered 202 delivered")
        once_each()
        first_orphan = min(r[0] for r in terms.records()
                           if r[2] in held) - kill_t
        print("  %s's leases ran out %.1f-%.1f s after the kill (lease 4 s), "
              "all its shards taken by %.1f s; its users' first push "
              "delivered at %.1f s, by %s" % (
                  victim.name, ends[0], ends[1], taken, first_orphan,
                  sorted({by_port.get(terms.sender[(r[5], r[4])])
                          for r in terms.records() if r[2] in held})))
        check(first_orphan >= ends[0] - 0.05, "a dead node's user served "
              "%.2f s after the kill, before its first lease ended (%.2f s)"
              % (first_orphan, ends[0]))
        check(taken <= 8.0 and first_orphan <= 8.0,
              "takeover %.1f s, first delivery %.1f s" % (taken,
                                                          first_orphan))
        late_senders = {by_port.get(terms.sender[(r[5], r[4])])
                        for r in terms.records()
                        if r[0] > kill_t + 0.5}
        check(victim.name not in late_senders,
              "a MESSAGE from the dead node: %s" % late_senders)
        check({n.name for n in live} <= late_senders,
              "both survivors deliver: %s" % late_senders)
        wait_until(lambda: int(env.pg.psql(
            "SELECT count(*) FROM pushes WHERE state <> 'delivered'",
            "dc")[0][0]) == 0, 20, "every push delivered in the store")
        total = len(acked)
        sends = len({(r[5], r[4]) for r in terms.records()})
        # a push sent twice (same Call-ID, higher CSeq): only one the dead
        # node had sent before it died, its outcome not yet committed
        tx = {}
        for r in terms.records():
            tx.setdefault(r[2], {}).setdefault((r[5], r[4]), r)
        again = {p: sorted(t.values()) for p, t in tx.items() if len(t) > 1}
        for p, rs in again.items():
            check(len(rs) == 2 and terms.sender[(rs[0][5], rs[0][4])] ==
                  victim.sip_port and rs[0][0] < kill_t and
                  terms.sender[(rs[1][5], rs[1][4])] != victim.sip_port,
                  "push %s sent twice, not a dead node's unfinished one: "
                  "%s" % (p, rs))
        print("  %d pushes answered 202, %d delivered (one Call-ID each), %d "
              "MESSAGE transactions (%d sent again by a survivor after the "
              "dead node had sent it); %d third-party REGISTERs in all: %s"
              % (total, len({r[2] for r in terms.records()}), sends,
                 len(again), sum(sent_counts().values()), sent_counts()))
        check(all(n.proc.poll() is None for n in live), "survivors running")

        # 6. the node back: probed active, taught again, its shards back
        victim.start()
        back_t = time.time()
        wait_until(lambda: ds_flags(env).get(victim.sip_port, "I")[0] ==
                   "A", 10, "the dispatcher to mark %s active again" %
                   victim.name, 0.2)
        wait_settled(env, "dc", names)
        print("  %s restarted: active at the core, shards settled %.1f s "
              "later: %s" % (victim.name, time.time() - back_t,
                             owners(env, "dc")))
        before = sent_counts()
        for i in range(first + late, first + late + back):
            reg(i)
        wait_until(lambda: len(stored(range(first + late,
                                            first + late + back))) == back,
                   15, "the store to learn the %d registrations after the "
                   "restart" % back)
        grew = {n: sent_counts()[n] - before[n] for n in names}
        check(grew[victim.name] >= 1, "%s back in the core's rotation: %s"
              % (victim.name, grew))
        own = {int(s): o for s, o, e in leases(env, "dc")}
        everyone = range(first + late + back)
        t1 = time.time()
        lastp = [post(i, nodes, k) for k, i in enumerate(everyone)]
        wait_until(lambda: delivered(lastp), 20, "the pushes after the "
                   "restart at their terminals")
        once_each()
        recs = [r for r in terms.records() if r[2] in lastp]
        wrong = [(r[2], by_port.get(terms.sender[(r[5], r[4])]))
                 for r in recs if by_port.get(terms.sender[(r[5], r[4])])
                 != own[shard(aor(r[1]))]]
        check(not wrong, "after the restart, pushes not sent by their "
              "user's owner: %s" % wrong[:3])
        mine = len([r for r in recs if terms.sender[(r[5], r[4])] ==
                    victim.sip_port])
        check(mine >= 1, "%s delivers nothing after its restart" %
              victim.name)
        print("  after the restart: %d REGISTERs %s; %d pushes delivered "
              "in %.1f s, %d by %s" % (back, grew, len(lastp),
                                      time.time() - t1, mine, victim.name))
    finally:
        terms.close()


if __name__ == "__main__":
    from pgserver import bindir
    tests = [test_dispatcher_nodes]
    if bindir():
        tests.append(test_dispatcher_cluster)
    else:
        print("SKIP test_dispatcher_cluster: no PostgreSQL server installed")
        if sys.argv[1:] == ["test_dispatcher_cluster"]:
            sys.exit(77)
    run(tests)

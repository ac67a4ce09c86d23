#!/usr/bin/env python3
"""Kamailio's dispatcher in front of several sippushd (issue #24's core
side, kamailio/dispatcher.cfg): third-party REGISTERs go round robin to
the live nodes; OPTIONS probing takes a killed node out, and the
registrations after it teach the survivors; the node back, it gets its
share again. Requests for the AS (OPTIONS to sip:push@example.com) reach a
live node, the next one when the chosen one does not answer.

Each node here keeps its own SQLite store: what is asserted is where the
core sends (the nodes' terminals and the core's log), not yet one shared
store (that is the PostgreSQL cluster)."""
import os
import re
import sys
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


def test_dispatcher_nodes(env):
    kport = free_port()
    nodes = [Daemon(env, "--trust-udp", "--outbound",
                    "sip:127.0.0.1:%d" % kport, "--node", "n%d" % i,
                    db="n%d.db" % i) for i in (1, 2)]
    ds = env.path("dispatcher.list")
    with open(ds, "w") as f:
        for d in nodes:
            f.write("1 sip:127.0.0.1:%d\n" % d.sip_port)
    for d in nodes:
        d.start()
    with open(os.path.join(HERE, "kamailio", "dispatcher.cfg")) as f:
        cfg = f.read().replace("__PORT__", str(kport)).replace(
            "__DS_LIST__", ds)
    start_kamailio(env, cfg)

    def klog():
        with open(env.path("kamailio.log"), errors="replace") as f:
            return f.read()

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


if __name__ == "__main__":
    run([test_dispatcher_nodes])

#!/usr/bin/env python3
"""Through Kamailio as the SIP/IP core: two sippush-agents register one AoR
at Kamailio (registrar with GRUU); Kamailio sends sippushd a third-party
REGISTER carrying each terminal's REGISTER; sippushd pushes through
Kamailio (--outbound) by GRUU. All push traffic goes via Kamailio."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Capture, Daemon, check, free_port, run,
                     start_kamailio, udp_request, wait_until)
from test_agent import Agent

HERE = os.path.dirname(os.path.abspath(__file__))


def kamailio(env, port, as_port):
    with open(os.path.join(HERE, "kamailio", "core.cfg")) as f:
        cfg = f.read().replace("__PORT__", str(port)).replace(
            "__AS_PORT__", str(as_port))
    return start_kamailio(env, cfg)


def test_two_agents_via_kamailio(env):
    kport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d" % kport)
    kam = kamailio(env, kport, d.sip_port)
    d.start()
    a1 = Agent(env, "vera", kport, name="agent1")
    a2 = Agent(env, "vera", kport, name="agent2")
    cap = Capture(env, [kport, d.sip_port, a1.port, a2.port])
    a1.start()
    a2.start()
    wait_until(lambda: len(d.terminals("sip:vera@example.com")) == 2, 15,
               "sippushd to learn both terminals from Kamailio")
    terms = d.terminals("sip:vera@example.com")
    check(all(t["source"] == "third-party" and t["apps"] == ["mms.ua"] and
              t["path"] == "<sip:scscf@127.0.0.1:%d;lr>" % kport
              for t in terms), "records from the core: %s" % terms)
    check(sorted(t["instance"] for t in terms) ==
          sorted([a1.instance(), a2.instance()]), "both instances")

    pid = d.push(to="sip:vera@example.com", app="mms.ua",
                 content_type="text/plain", body="to-both")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 2 and
          all(x["sip_status"] == 200 for x in st["deliveries"]),
          "push to all: %s" % st)
    check(len([f for f in a1.files() if not f.endswith(".meta")]) == 1 and
          len([f for f in a2.files() if not f.endswith(".meta")]) == 1,
          "each handler got it")

    pid = d.push(to="sip:vera@example.com", app="mms.ua",
                 content_type="text/plain", body="to-one",
                 terminals=a2.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1,
          "push to one: %s" % st)
    check(len([f for f in a1.files() if not f.endswith(".meta")]) == 1 and
          len([f for f in a2.files() if not f.endswith(".meta")]) == 2,
          "only agent2 got the second push")

    # every MESSAGE reached the agents from Kamailio, none from sippushd
    cap.stop()
    out = subprocess.run(
        ["tshark", "-r", cap.file, "-Y", "sip.Method == \"MESSAGE\"",
         "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport"] +
        sum([["-d", "udp.port==%d,sip" % p] for p in cap.ports], []),
        capture_output=True, text=True, timeout=60).stdout.split("\n")
    pairs = [tuple(int(x) for x in l.split()) for l in out if l.strip()]
    to_agents = [p for p in pairs if p[1] in (a1.port, a2.port)]
    check(len(to_agents) >= 3 and all(p[0] == kport for p in to_agents),
          "MESSAGEs to the agents came from Kamailio: %s" % pairs)
    check(all(p[1] == kport for p in pairs if p[0] == d.sip_port),
          "sippushd sent every MESSAGE to Kamailio: %s" % pairs)
    bad = cap._count("_ws.malformed || _ws.expert.severity == error")
    check(bad == 0, "%d malformed frames" % bad)

    # de-registration travels the same way
    a1.proc.terminate()
    a1.proc.wait(10)
    wait_until(lambda: len(d.terminals("sip:vera@example.com")) == 1, 10,
               "sippushd to drop the de-registered terminal")
    check(kam.poll() is None, "kamailio still running")



UE_REG = ("REGISTER sip:example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.1:{via};rport;branch=z9hG4bK-ce{n}\r\n"
          "From: <sip:cleo@example.com>;tag=ce{n}\r\n"
          "To: <sip:cleo@example.com>\r\nCall-ID: ce@127.0.0.1\r\n"
          "CSeq: {n} REGISTER\r\nMax-Forwards: 70\r\n"
          "Contact: <sip:cleo@127.0.0.1:5997>;expires={exp};+sip.instance="
          "\"<urn:uuid:00000000-0000-0000-0000-0000000000f1>\";"
          "+g.oma.pusheventapp=\"mms.ua\"\r\nContent-Length: 0\r\n\r\n")


def test_expiry_in_the_contact_via_kamailio(env):
    """A terminal that gives its expiry only in its Contact (;expires=,
    no Expires header): Kamailio's third-party REGISTER reaches sippushd
    and counts, and so does the de-registration (expires=0)."""
    kport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d" % kport)
    kamailio(env, kport, d.sip_port)
    d.start()
    for n, exp in ((1, 600), (2, 0)):
        ans = udp_request(kport, UE_REG.replace("{n}", str(n)).replace(
            "{exp}", str(exp)))
        check(ans.startswith("SIP/2.0 200"), "REGISTER at Kamailio, "
              "expires=%d in the Contact: %s" % (exp, ans[:60]))
        if exp:
            wait_until(lambda: d.terminals("sip:cleo@example.com"), 10,
                       "sippushd to learn cleo from the core")
            t = d.terminals("sip:cleo@example.com")
            check(len(t) == 1 and 590 <= t[0]["expires"] <= 600,
                  "registered for 600 s: %s" % t)
        else:
            wait_until(lambda: not d.terminals("sip:cleo@example.com"), 10,
                       "the de-registration to reach sippushd")

if __name__ == "__main__":
    run([test_two_agents_via_kamailio,
         test_expiry_in_the_contact_via_kamailio])

#!/usr/bin/env python3
"""Terminal discovery from the reg event (RFC 3680, TS §8.1).

Against a real notifier: Kamailio 5.6 with presence + presence_reginfo,
its usrloc published by pua_reginfo. A sippush-agent registers at the
core, sippushd (third-party REGISTER switched off) learns it from the reg
event alone (an AoR-level record: Kamailio sends no feature tags) and a
push reaches it through the core; the agent de-registers and the record
goes. With --reg-watch-auto, a third-party REGISTER makes sippushd watch
that AoR, and the reg event's contact merges with the richer record.

Against SIPp replaying documents: feature tags and GRUU, partial state,
an out-of-order version, a gap (refresh for full state), a broken
document (400), full state pruning, terminated;reason=rejected."""
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, read_text, run,
                     scenario, start_kamailio, wait_until)
from test_agent import Agent

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = "/usr/share/kamailio/db_sqlite"


def kamailio(env, port, as_port, third_party=False):
    db = env.path("kamailio.db")
    c = sqlite3.connect(db)
    for name in ("standard", "presence"):
        with open(os.path.join(SCHEMA, name + "-create.sql")) as f:
            c.executescript(f.read())
    c.commit()
    c.close()
    with open(os.path.join(HERE, "kamailio", "reginfo.cfg")) as f:
        cfg = f.read()
    for k, v in (("__PORT__", port), ("__AS_PORT__", as_port),
                 ("__DB__", db), ("__THIRD_PARTY__", int(third_party))):
        cfg = cfg.replace(k, str(v))
    return start_kamailio(env, cfg)


def metric(d, name):
    st, doc, _ = d.http("GET", "/metrics")
    m = re.search(rb"^%s (\d+)$" % name.encode(), doc, re.M)
    return int(m.group(1)) if m else -1


def check_parsed(klog):
    """Kamailio took every datagram for SIP: this core offers no outbound
    (no Require: outbound, no Flow-Timer), so the agent must not send it
    RFC 5626 STUN keep-alives, which it would log as unparsable SIP."""
    bad = [l for l in klog.splitlines()
           if "core parsing of SIP message failed" in l]
    check(not bad, "Kamailio could not parse: %s" % bad)


def test_learnt_from_kamailio_reg_event(env):
    kport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d;lr" % kport,
               "--reg-watch", "sip:alice@example.com")
    kamailio(env, kport, d.sip_port)
    d.start()
    wait_until(lambda: "alice@example.com: watching" in d.log(), 10,
               "the reg subscription accepted by Kamailio")
    a = Agent(env, "alice", kport).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 15,
               "sippushd to learn the terminal from the reg event")
    t = d.terminals("sip:alice@example.com")
    check(len(t) == 1 and t[0]["source"] == "reg" and
          t[0]["instance"] is None and t[0]["apps"] == [] and
          t[0]["contact"] == "sip:alice@127.0.0.1:%d" % a.port and
          t[0]["path"] == "<sip:127.0.0.1:%d;lr>" % kport,
          "an AoR-level record from the reg event: %s" % t)
    check("third-party" not in read_text(env.path("kamailio.log")) and
          metric(d, "sippush_reg_watches") == 1, "no third-party REGISTER")

    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="learnt from reg")
    st = d.wait_final(pid)
    check(st["state"] == "delivered", "push: %s" % st)
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the push at the agent")
    klog = read_text(env.path("kamailio.log"))
    check_parsed(klog)
    check("core: MESSAGE for sip:alice@example.com" in klog and
          "core relays MESSAGE sip:alice@127.0.0.1:%d" % a.port in klog,
          "the MESSAGE went to the AoR through the core: %s" % klog[-1500:])

    a.proc.terminate()
    a.proc.wait(10)
    wait_until(lambda: not d.terminals("sip:alice@example.com"), 15,
               "the record to go with the de-registration")
    check("unregistered (reg event)" in d.log(), d.log()[-800:])

    # stopping unsubscribes: Kamailio sees Expires: 0 and answers it
    d.stop()
    unsub = "core: SUBSCRIBE reg for sip:alice@example.com expires 0"
    wait_until(lambda: unsub in read_text(env.path("kamailio.log")), 5,
               "an unsubscribe at the core")
    check("sip:alice@example.com: unsubscribed (answered)" in d.log(),
          d.log()[-800:])


def test_auto_watch_merges(env):
    kport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d;lr" % kport,
               "--reg-watch-auto")
    kamailio(env, kport, d.sip_port, third_party=True)
    d.start()
    a = Agent(env, "carol", kport).start()
    wait_until(lambda: metric(d, "sippush_reg_watches") == 1, 15,
               "a watch of the AoR the third-party REGISTER taught")
    wait_until(lambda: "carol@example.com: watching" in d.log(), 10,
               "the reg subscription accepted")
    klog = env.path("kamailio.log")
    wait_until(lambda: "SUBSCRIBE reg for sip:carol@example.com" in
               read_text(klog), 10, "Kamailio saw the SUBSCRIBE")
    # the reg event's contact is the third-party record's: one terminal
    pid = d.push(to="sip:carol@example.com", app="mms.ua",
                 content_type="text/plain", body="once")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    t = d.terminals("sip:carol@example.com")
    check(len(t) == 1 and t[0]["source"] == "third-party" and
          t[0]["instance"] == a.instance(), "merged: %s" % t)
    files = [f for f in a.files() if not f.endswith(".meta")]
    check(len(files) == 1, "exactly one copy at the agent: %s" % files)
    check_parsed(read_text(klog))


def test_sipp_documents(env):
    sport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d;lr" % sport,
               "--reg-watch", "sip:bob@example.com")
    core = Sipp(env, scenario(env, "uas_reginfo.xml"), sport)
    d.start()
    core.ok(30)
    log = core.log()
    check("REFRESH" in log, "a refresh after the gap: %s" % log)
    t = {x["contact"]: x for x in d.terminals("sip:bob@example.com")}
    check(set(t) == {"sip:bob@127.0.0.1:5990", "sip:bob@127.0.0.1:5995"},
          "c1 and c5 only (c2 unregistered, c3 pruned by full state, c4 "
          "out of order): %s" % t)
    c1 = t["sip:bob@127.0.0.1:5990"]
    check(c1["instance"] ==
          "urn:uuid:00000000-0000-0000-0000-0000000000f1" and
          c1["apps"] == ["mms.ua"] and c1["source"] == "reg" and
          c1["gruu"] == "sip:bob@example.com;gr=urn:uuid:"
          "00000000-0000-0000-0000-0000000000f1" and
          c1["path"] == "<sip:127.0.0.1:%d;lr>" % sport,
          "feature tags and GRUU: %s" % c1)
    c5 = t["sip:bob@127.0.0.1:5995"]
    check(c5["instance"] is None and
          c5["path"] == "<sip:127.0.0.1:%d;lr>" % sport, "c5: %s" % c5)
    lg = d.log()
    check("version 1 after 2: ignored" in lg and
          "asking for full state" in lg and "bad reginfo" in lg and
          "terminated (rejected)" in lg, lg[-2000:])
    check(metric(d, "sippush_reg_watches") == 0, "the rejected watch ended")

    # a third-party REGISTER teaches c5's instance: it replaces the
    # AoR-level record of the same contact
    inst = "urn:uuid:00000000-0000-0000-0000-0000000000f5"
    Sipp(env, os.path.join(HERE, "sipp", "register_3pty.xml"), free_port(),
         "127.0.0.1:%d" % d.sip_port,
         keys={"user": "bob", "tport": 5995, "instance": inst,
               "core_port": sport}).ok()
    t = d.terminals("sip:bob@example.com")
    check(sorted((x["contact"], x["source"], x["instance"]) for x in t) ==
          [("sip:bob@127.0.0.1:5990", "reg",
            "urn:uuid:00000000-0000-0000-0000-0000000000f1"),
           ("sip:bob@127.0.0.1:5995", "third-party", inst)],
          "merged: %s" % t)
    check(d.proc.poll() is None, "still running")
    d.stop()
    rows = d.db_rows("SELECT contact, source FROM terminals ORDER BY "
                     "contact")
    check(rows == [("sip:bob@127.0.0.1:5990", "reg"),
                   ("sip:bob@127.0.0.1:5995", "third-party")],
          "store: %s" % rows)


if __name__ == "__main__":
    run([test_sipp_documents, test_learnt_from_kamailio_reg_event,
         test_auto_watch_merges])

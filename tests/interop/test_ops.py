#!/usr/bin/env python3
"""Operations: the example configuration files load (sippushd and the
agent start from them, with the command line overriding), and
`cmake --install` stages programs, configuration, systemd units and man
pages under DESTDIR (and the man pages render); SIGTERM drains what is in
flight before stopping, SIGHUP reloads the configuration."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import signal
from harness import (BUILD, Daemon, Sipp, check, free_port, register, run,
                     scenario, wait_until)
from test_agent import Agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_example_configs(env):
    d = Daemon(env, "--trust-udp", "--config", os.path.join(ROOT, "etc",
                                             "sippushd.conf")).start()
    st, doc, _ = d.http("GET", "/metrics")
    check(st == 200, "sippushd from etc/sippushd.conf: %s" % st)
    # the example as shipped, but its handler directory (a system path)
    # left to the test's own --app
    conf = env.path("agent.conf")
    with open(os.path.join(ROOT, "etc", "sippush-agent.conf")) as f:
        lines = [l for l in f if not l.startswith("app ")]
    with open(conf, "w") as f:
        f.writelines(lines)
    a = Agent(env, "alice", d.sip_port, "--config", conf,
              "--trust", "127.0.0.0/8").start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered with the example file + overrides")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="configured")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    check([f for f in a.files() if not f.endswith(".meta")],
          "the push in the inbox")


def test_install_tree(env):
    dest = env.path("dest")
    out = subprocess.run(["cmake", "--install", BUILD, "--prefix",
                          "/usr/local"], env=dict(os.environ,
                                                  DESTDIR=dest),
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, "cmake --install: %s" % out.stderr[-500:])
    want = ["usr/local/bin/sippushd", "usr/local/bin/sippush-agent",
            "usr/local/bin/sippush", "usr/local/etc/sippush/sippushd.conf",
            "usr/local/etc/sippush/sippush-agent.conf",
            "usr/local/lib/systemd/system/sippushd.service",
            "usr/local/lib/systemd/system/sippush-agent.service",
            "usr/local/share/man/man8/sippushd.8",
            "usr/local/share/man/man8/sippush-agent.8",
            "usr/local/share/man/man1/sippush.1"]
    for w in want:
        check(os.path.exists(os.path.join(dest, w)), "missing " + w)
    out = subprocess.run([os.path.join(dest, "usr/local/bin/sippushd"),
                          "--version"], capture_output=True, text=True,
                         timeout=10)
    check(out.returncode == 0 and "sippushd" in out.stdout,
          "installed sippushd: %s" % out)
    # the man page is valid roff: groff renders it with its name
    txt = subprocess.run(["sh", "-c", "groff -man -Tascii %s 2>&1 || "
                          "cat %s" % ((os.path.join(
                              dest, "usr/local/share/man/man8/sippushd.8"),)
                              * 2)], capture_output=True, text=True,
                         timeout=30).stdout
    txt = re.sub(".\x08", "", txt)   # no overstrike bold
    check("sippushd" in txt and "SIGHUP" in txt and "OPTIONS" in txt,
          "man page: %s" % txt[:300])


def inflight(d):
    st, doc, _ = d.http("GET", "/metrics")
    m = re.search(rb"^sippush_messages_inflight (\d+)$", doc, re.M)
    return int(m.group(1)) if m else -1


INST = "<urn:uuid:00000000-0000-0000-0000-0000000000d1>"


def test_sigterm_drains(env):
    d = Daemon(env, "--trust-udp").start()
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_slow.xml", delay=3000), tport)
    register(env, d, "frank", tport, INST)
    first = d.push(to="sip:frank@example.com", app="mms.ua",
                   content_type="text/plain", body="in flight")
    wait_until(lambda: inflight(d) == 1, 10, "the MESSAGE in flight")
    queued = d.push(to="sip:frank@example.com", app="mms.ua",
                    content_type="text/plain", body="queued")

    d.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "draining 1 request" in d.log(), 5, "draining")
    st, doc, hdrs = d.http("POST", "/v1/pushes", {
        "to": "sip:frank@example.com", "app": "mms.ua",
        "content_type": "text/plain", "body": "too late"})
    check(st == 503 and "shutting down" in doc["error"] and
          hdrs.get("Retry-After"), "a push while draining: %s %s"
          % (st, doc))
    rc = d.proc.wait(20)
    check(rc == 0 and "drained: stopping" in d.log(), "exit %s: %s"
          % (rc, d.log()[-600:]))
    term.ok()
    rows = dict(d.db_rows("SELECT id, state FROM pushes"))
    check(rows == {first: "delivered", queued: "pending"},
          "the answered one delivered, the queued one kept: %s" % rows)
    rows = d.db_rows("SELECT COALESCE(SUM(attempts), 0) FROM deliveries "
                     "WHERE push_id=?", (queued,))
    check(rows == [(0,)], "nothing of the queued one was sent: %s" % rows)
    n = len(re.findall(r"GOT CALLID", term.log()))
    check(n == 1, "one MESSAGE on the wire: %d" % n)

    # the next start sends the queued one
    scen = scenario(env, "uas_message.xml", app="mms\\.ua",
                    pai=".*", body="queued", code=200, ruri=r"sip:[^ ]+")
    term2 = Sipp(env, scen, tport)
    d.start()
    check(d.wait_final(queued)["state"] == "delivered", "queued delivered")
    term2.ok()


def test_drain_timeout(env):
    d = Daemon(env, "--trust-udp", "--drain-timeout", "1").start()
    tport = free_port()
    Sipp(env, scenario(env, "uas_silent.xml"), tport)
    register(env, d, "gina", tport, INST)
    pid = d.push(to="sip:gina@example.com", app="mms.ua",
                 content_type="text/plain", body="never answered")
    wait_until(lambda: inflight(d) == 1, 10, "the MESSAGE in flight")
    d.proc.send_signal(signal.SIGTERM)
    rc = d.proc.wait(15)
    check(rc == 0 and "drain timeout: 1 request(s)" in d.log(),
          "exit %s: %s" % (rc, d.log()[-600:]))
    rows = d.db_rows("SELECT state FROM pushes WHERE id=?", (pid,))
    check(rows == [("pending",)], "kept for the next start: %s" % rows)


def test_sighup_reloads(env):
    conf = env.path("sippushd.conf")

    def write(lines):
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    write(["initiator a token=ta apps=mms.ua", "max-batch 5"])
    d = Daemon(env, "--trust-udp", "--config", conf).start()
    push = {"to": "sip:hal@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "x"}

    def code(tok, body=None):
        return d.http("POST", "/v1/pushes", body or push, token=tok)[0]

    check(code("ta") == 202 and code("tb") == 401, "before the reload")
    check(code("ta", [push] * 6) == 400, "max-batch 5")

    write(["initiator b token=tb apps=mms.ua", "max-batch 10"])
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in d.log(), 5, "the reload")
    check(code("tb") == 202 and code("ta") == 401, "after the reload")
    check(code("tb", [push] * 6) == 202, "max-batch 10")

    # a broken file changes nothing, and says so
    write(["initiator c bogus=1"])
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "nothing reloaded" in d.log(), 5, "the refusal")
    check(code("tb") == 202 and d.proc.poll() is None, "still b, running")
    d.stop()


def test_node_label(env):
    """--node NAME: named at start and a node label on every /metrics
    sample (a cluster's nodes told apart); without it the plain names;
    a name that would need escaping is refused with one line"""
    d = Daemon(env, "--node", "psa-7").start()
    st, txt, _ = d.http("GET", "/metrics")
    samples = [l for l in txt.decode().split("\n") if l and l[0] != "#"]
    check(st == 200 and len(samples) > 20 and
          all(re.match(r'^sippush_\w+\{node="psa-7"[,}]', l) for l in samples),
          "every sample labelled: %s" % [l for l in samples
                                          if 'node="psa-7"' not in l][:3])
    check(re.search(r'^sippush_pushes_accepted_total\{node="psa-7"\} 0$',
                    txt.decode(), re.M), "a plain counter labelled")
    wait_until(lambda: "node psa-7: SIP on" in d.log(), 5, "named at start")
    d.stop()
    d2 = Daemon(env, db="plain.db").start()
    st, txt, _ = d2.http("GET", "/metrics")
    check(re.search(r"^sippush_pushes_accepted_total 0$", txt.decode(),
                    re.M) and b"node=" not in txt, "no label by default")
    out = subprocess.run([os.path.join(BUILD, "cmd", "sippushd"),
                          "--node", 'a"b', "--db", env.path("x.db")],
                         capture_output=True, text=True, timeout=10)
    check(out.returncode != 0 and "--node" in out.stderr and
          out.stderr.count("\n") == 1, "bad --node: %r" % out.stderr)


if __name__ == "__main__":
    run([test_example_configs, test_install_tree, test_sigterm_drains,
         test_drain_timeout, test_sighup_reloads, test_node_label])

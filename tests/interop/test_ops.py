#!/usr/bin/env python3
"""Operations: the example configuration files load (sippushd and the
agent start from them, with the command line overriding), and
`cmake --install` stages programs, configuration, systemd units and man
pages under DESTDIR (and the man pages render)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, Daemon, check, run, wait_until
from test_agent import Agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_example_configs(env):
    d = Daemon(env, "--config", os.path.join(ROOT, "etc",
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


if __name__ == "__main__":
    run([test_example_configs, test_install_tree])

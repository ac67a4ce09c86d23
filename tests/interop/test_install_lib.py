#!/usr/bin/env python3
"""The installed receiver library, as an embedder sees it: `cmake --install`
into a DESTDIR stages libsippush.a, the public headers (include/sippush/
holds only those) and sippush.pc; examples/receiver_min.c, copied out of
the tree, builds with nothing but `cc $(pkg-config --cflags --libs
sippush)` against that tree, runs on the project's timers, registers with
sippushd and prints a push.

SIPPUSH_CC is the build's C compiler and SIPPUSH_SAN_FLAGS its sanitizer
flags (the ASan build's library needs its runtime)."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Daemon, check, free_port, read_text, run,
                     wait_until)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CC = os.environ.get("SIPPUSH_CC", "cc")
SAN = os.environ.get("SIPPUSH_SAN_FLAGS", "").split()


def sh(args, env=None, cwd=None, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def installed(env):
    """Install into DESTDIR; the directory of sippush.pc"""
    dest = env.path("dest")
    out = sh(["cmake", "--install", BUILD, "--prefix", "/usr/local"],
             env=dict(os.environ, DESTDIR=dest))
    check(out.returncode == 0, "cmake --install: %s" % out.stderr[-500:])
    prefix = os.path.join(dest, "usr/local")
    inc = os.path.join(prefix, "include/sippush")
    check(sorted(os.listdir(inc)) == ["cidr.h", "log.h", "receiver.h"],
          "public headers: %s" % sorted(os.listdir(inc)))
    pcs = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs
           if f == "sippush.pc"]
    check(len(pcs) == 1, "one sippush.pc: %s" % pcs)
    pcdir = os.path.dirname(pcs[0])
    libdir = os.path.dirname(pcdir)
    check(os.path.exists(os.path.join(libdir, "libsippush.a")),
          "libsippush.a beside pkgconfig/ in %s" % libdir)
    return pcdir


def test_embed_installed(env):
    pcdir = installed(env)
    penv = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    out = sh(["pkg-config", "--cflags", "--libs", "sippush"], env=penv)
    check(out.returncode == 0, "pkg-config: %s" % out.stderr)
    flags = out.stdout.split()
    dest = env.path("dest")
    check(any(f.startswith("-I" + dest) for f in flags) and
          any(f.startswith("-L" + dest) for f in flags),
          "the .pc's paths resolve inside DESTDIR: %s" % flags)

    # out of the tree: only the copied source and pkg-config's flags
    shutil.copy(os.path.join(ROOT, "examples", "receiver_min.c"), env.dir)
    out = sh([CC, "-std=c11", "-Wall", "-Wextra", "-Werror",
              "-Wno-missing-field-initializers", "-Wstrict-prototypes"] +
             SAN + ["receiver_min.c", "-o", "receiver-min"] + flags,
             cwd=env.dir, timeout=300)
    check(out.returncode == 0, "cc: %s" % (out.stdout + out.stderr)[-2000:])
    prog = env.path("receiver-min")
    syms = sh(["nm", prog]).stdout
    check("tmrset_count" in syms and "inspos_handler" not in syms,
          "linked on the project's timers, not libre.a's tmr.o")
    out = sh([prog], timeout=10)
    check(out.returncode == 2 and "usage: receiver-min" in out.stderr,
          "usage: %s %s" % (out.returncode, out.stderr))

    # and it works: registers with sippushd, prints a push
    d = Daemon(env, "--trust-udp").start()
    p = env.spawn([prog, "sip:emma@example.com",
                   "sip:127.0.0.1:%d;transport=tcp" % d.sip_port,
                   "127.0.0.1:%d" % free_port(), env.path("emma-state")],
                  "example.log")
    wait_until(lambda: d.terminals("sip:emma@example.com"), 10, "register")
    pid = d.push(to="sip:emma@example.com", app="mms.ua",
                 content_type="text/plain", body="hi embedder")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    wait_until(lambda: "hi embedder" in read_text(env.path("example.log")),
               5, "the program to print the push")
    p.terminate()
    check(p.wait(10) == 0, "exit status")


if __name__ == "__main__":
    run([test_embed_installed])

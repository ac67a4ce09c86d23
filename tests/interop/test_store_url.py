#!/usr/bin/env python3
"""--store and --db: sqlite:PATH is the same store as --db PATH (its token
file beside it), a --db path with '=' in it is still a SQLite file (not a
libpq conninfo), and a --store URL no backend takes is refused at start."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, Daemon, check, run

PUSH = {"to": "sip:off@example.com", "app": "mms.ua",
        "content_type": "text/plain", "body": "x"}


def test_sqlite_urls(env):
    d = Daemon(env, db="a=b.db").start()
    first = d.push(**PUSH)
    d.stop()
    check(os.path.exists(env.path("a=b.db")), "the file: %s"
          % os.listdir(env.dir))
    # the same file through --store sqlite:PATH (the token beside it)
    d2 = Daemon(env, "--store", "sqlite:" + env.path("a=b.db"),
                db="other.db")
    d2.db = env.path("a=b.db")
    d2.start()
    check(d2.status(first)["id"] == first, "the push through --store")
    d2.stop()
    check(not os.path.exists(env.path("other.db")), "--db was not used")


def test_bad_url(env):
    p = subprocess.run([os.path.join(BUILD, "cmd", "sippushd"), "--store",
                        "sqlite:"], capture_output=True, timeout=10,
                       cwd=env.dir)
    check(p.returncode == 2 and b"--store" in p.stderr,
          "exit %s: %s" % (p.returncode, p.stderr[-300:]))


def test_pg_needs_spool(env):
    """On PostgreSQL the spool is not named after --db: --spool must be
    given, as an absolute path; refused before any connection is tried
    (the URL names a port where nothing listens)"""
    url = "postgresql://postgres@127.0.0.1:1/none"
    for extra in ([], ["--spool", "relative.spool"]):
        p = subprocess.run([os.path.join(BUILD, "cmd", "sippushd"),
                            "--store", url] + extra, capture_output=True,
                           timeout=10, cwd=env.dir)
        err = p.stderr.decode(errors="replace")
        if "this build has PostgreSQL only when" in err:
            print("no PostgreSQL in this build: skipped")
            return
        check(p.returncode == 2 and err.count("\n") == 1 and
              "needs --spool DIR, an absolute path" in err,
              "%s: exit %s: %s" % (extra, p.returncode, err[-300:]))
    check(os.listdir(env.dir) == [], "nothing made: %s" % os.listdir(env.dir))
    # given: it starts (on the test's server), the spool where given
    d = Daemon(env, "--store", env.pg_db("spool"), "--spool",
               env.path("shared-spool"))
    d.start()
    check(os.path.isdir(env.path("shared-spool")) and
          not os.path.exists(d.db + ".spool"), "the spool: %s"
          % os.listdir(env.dir))
    d.stop()


if __name__ == "__main__":
    run([test_sqlite_urls, test_bad_url, test_pg_needs_spool])

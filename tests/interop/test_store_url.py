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


if __name__ == "__main__":
    run([test_sqlite_urls, test_bad_url])

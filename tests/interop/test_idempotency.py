#!/usr/bin/env python3
"""POST /v1/pushes with an Idempotency-Key: the same request again (a
client whose connection died before the answer) gets the first answer and
stores nothing new, also after a kill -9 and a restart of sippushd; the key
is per key (another key is another push); a malformed key is refused 400.
Runs on SQLite and (ctest's _pg variant) on PostgreSQL."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run

PUSH = {"to": "sip:off@example.com", "app": "mms.ua",
        "content_type": "text/plain", "body": "once"}


def post(d, body, key):
    req = urllib.request.Request(d.base + "/v1/pushes", method="POST",
                                 data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + d.token)
    if key is not None:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def count(d):
    return d.db_rows("SELECT COUNT(*) FROM pushes")[0][0]


def test_idempotency_key(env):
    d = Daemon(env, "--log-level", "warn").start()
    st, first = post(d, PUSH, "order-17")
    check(st == 202, "first: %s %s" % (st, first))
    st, again = post(d, PUSH, "order-17")
    check(st == 202 and again == first, "again: %s %s (first %s)"
          % (st, again, first))
    st, other = post(d, PUSH, "order-18")
    check(st == 202 and other["id"] != first["id"], "another key: %s" % other)
    st, b1 = post(d, [PUSH, PUSH], "batch-1")
    st2, b2 = post(d, [PUSH, PUSH], "batch-1")
    check(st == 202 and st2 == 202 and b1 == b2 and len(b1["ids"]) == 2,
          "a batch again: %s %s" % (b1, b2))
    st, _ = post(d, PUSH, None)
    check(st == 202, "no key: %s" % st)
    for bad in ("a b", "x" * 256):
        st, doc = post(d, PUSH, bad)
        check(st == 400 and b"Idempotency-Key" in doc, "key %r: %s %s"
              % (bad[:20], st, doc))

    # what a key answered survives a crash
    d.kill9()
    n = count(d)
    check(n == 5, "pushes stored: %d, want 5 (2 keys, a batch of 2, one "
          "without a key)" % n)
    d.start()
    st, after = post(d, PUSH, "order-17")
    check(st == 202 and after == first, "after kill -9: %s %s" % (st, after))
    d.stop()
    check(count(d) == n, "a repeat after the restart stored nothing new")


if __name__ == "__main__":
    run([test_idempotency_key])

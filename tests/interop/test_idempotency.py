#!/usr/bin/env python3
"""POST /v1/pushes with an Idempotency-Key: the same request again (a
client whose connection died before the answer) gets the first answer and
stores nothing new, also after a kill -9 and a restart of sippushd, for
JSON pushes and for multipart uploads (pushes with files: no file row nor
file in the spool either); the key is per key (another key is another push); a malformed key is refused 400.
Runs on SQLite and (ctest's _pg variant) on PostgreSQL."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run, wait_until

PUSH = {"to": "sip:off@example.com", "app": "mms.ua",
        "content_type": "text/plain", "body": "once"}


def post(d, body, key, ctype="application/json"):
    req = urllib.request.Request(d.base + "/v1/pushes", method="POST",
                                 data=body if isinstance(body, bytes) else
                                 json.dumps(body).encode())
    req.add_header("Content-Type", ctype)
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


def multipart(push, files):
    """A push with files as multipart/form-data: (body, Content-Type)"""
    b = "sippush-idem-boundary"
    out = b"--%s\r\nContent-Disposition: form-data; name=\"push\"\r\n" \
        b"Content-Type: application/json\r\n\r\n%s\r\n" % (
            b.encode(), json.dumps(push).encode())
    for name, data in files:
        out += b"--%s\r\nContent-Disposition: form-data; name=\"file\"; " \
            b"filename=\"%s\"\r\nContent-Type: application/octet-stream" \
            b"\r\n\r\n%s\r\n" % (b.encode(), name.encode(), data)
    return out + b"--%s--\r\n" % b.encode(), \
        "multipart/form-data; boundary=" + b


def test_idempotency_key_upload(env):
    """The same on multipart uploads (pushes with files): a repeat gets
    the first answer, and neither a push, a file row nor a file in the
    spool is added (the repeat's upload is removed); after kill -9 too"""
    d = Daemon(env, "--log-level", "warn").start()
    push = {"to": "sip:off@example.com", "app": "mms.ua",
            "content_type": "application/octet-stream"}
    body, ctype = multipart(push, [("a.bin", b"\x00\x01" * 3000),
                                   ("b.bin", b"second")])
    spool = d.db + ".spool"

    def files():
        """the spool once the requests' uploads are gone (an upload never
        accepted is removed when its request ends, just after its answer)"""
        wait_until(lambda: not [f for f in os.listdir(spool)
                                if f.startswith(".up-")], 5,
                   "the uploads not kept to be removed")
        return sorted(os.listdir(spool))

    st, first = post(d, body, "up-1", ctype)
    check(st == 202 and first["files"] == 2, "first: %s %s" % (st, first))
    mine = files()
    check(len(mine) == 2 and all(f.startswith(first["id"]) for f in mine),
          "the first push's files: %s" % mine)
    st, again = post(d, body, "up-1", ctype)
    check(st == 202 and again == first, "again: %s %s (first %s)"
          % (st, again, first))
    check(files() == mine, "a repeat left files: %s" % files())
    st, doc = post(d, body, "a b", ctype)
    check(st == 400 and b"Idempotency-Key" in doc, "a bad key: %s %s"
          % (st, doc))
    st, other = post(d, body, "up-2", ctype)
    check(st == 202 and other["id"] != first["id"], "another key: %s"
          % (other,))
    mine = files()
    check(len(mine) == 4, "two pushes' files: %s" % mine)
    d.kill9()

    def rows():
        return (count(d),
                d.db_rows("SELECT COUNT(*) FROM push_files")[0][0])
    check(rows() == (2, 4), "stored: %s, want 2 pushes with 4 files"
          % (rows(),))
    d.start()
    st, again = post(d, body, "up-1", ctype)
    check(st == 202 and again == first, "after kill -9: %s %s"
          % (st, again))
    check(files() == mine, "after the restart: %s" % files())
    d.stop()
    check(rows() == (2, 4), "a repeat after the restart stored: %s"
          % (rows(),))


if __name__ == "__main__":
    run([test_idempotency_key, test_idempotency_key_upload])

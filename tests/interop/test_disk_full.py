#!/usr/bin/env python3
"""A full disk: sippushd runs under a file-size limit (prlimit --fsize:
writes beyond it fail as on a full disk, with SIGXFSZ ignored). Pushes
are accepted until the store cannot commit; from then on new pushes get
503 and nothing is acknowledged; the daemon stays up and still answers
reads. Restarted without the limit, every push that got a 202 is there
and new pushes are accepted again."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run, wait_until
from test_agent import Agent

LIMIT = 512 * 1024


def test_disk_full(env):
    d = Daemon(env, "--trust-udp", wrap=["prlimit", "--fsize=%d" % LIMIT]).start()
    body = "x" * 8000
    acked, refused = [], []
    for i in range(400):
        st, doc, hdrs = d.http("POST", "/v1/pushes", {
            "to": "sip:nobody@example.com", "app": "mms.ua",
            "content_type": "text/plain", "body": "%04d%s" % (i, body)})
        if st == 202:
            check(not refused, "a 202 after a refusal: the store is "
                  "full, it cannot have committed: %s" % doc)
            acked.append(doc["id"])
        else:
            check(st == 503 and "store" in doc["error"],
                  "push %d: %s %s" % (i, st, doc))
            refused.append(i)
            if len(refused) >= 20:
                break
    check(acked and refused, "%d acknowledged, %d refused: the limit was "
          "never reached" % (len(acked), len(refused)))
    check(d.proc.poll() is None, "sippushd died on a full disk: %s"
          % d.log()[-800:])
    st, doc, _ = d.http("GET", "/v1/pushes/" + acked[-1])
    check(st == 200, "reads still work: %s %s" % (st, doc))

    print("log: " + "; ".join(l for l in d.log().splitlines()
                              if "store" in l or "commit" in l)[:400])
    d.proc.terminate()
    rc = d.proc.wait(40)
    check(rc >= 0, "killed by a signal on the way out: %s" % rc)

    d2 = Daemon(env, "--trust-udp").start()
    missing = [pid for pid in acked
               if d2.http("GET", "/v1/pushes/" + pid)[0] != 200]
    check(not missing, "%d of %d acknowledged pushes lost: %s"
          % (len(missing), len(acked), missing[:5]))
    pid = d2.push(to="sip:nobody@example.com", app="mms.ua",
                  content_type="text/plain", body="room again")
    check(d2.status(pid)["state"] == "pending", "accepted again")
    print("disk full: %d acknowledged, then 503 (limit %d bytes)"
          % (len(acked), LIMIT))
    d2.stop()


def agent_disk_full(env, method):
    """The terminal's disk is full (sippush-agent under prlimit --fsize):
    the push (by content indirection, or by an MSRP session) cannot be
    written, so the agent answers 500 (SIP or MSRP), not 200, and
    sippushd keeps it pending and tries again; once there is room (the
    limit lifted with prlimit --pid), the next attempt lands it, exactly
    once."""
    d = Daemon(env, "--trust-udp", "--msrp-allow", "127.0.0.1/32",
               "--retry-base", "500", "--retry-max", "1000").start()
    a = Agent(env, "alice", d.sip_port, "--allow-private-fetch")
    # a soft limit only: raising it again needs no privilege
    a.args = ["prlimit", "--fsize=16384:unlimited"] + a.args
    a.start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    body = "".join("%05d " % i for i in range(7000))   # 42 kB: indirect
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body=body, method=method)

    def attempts():
        dl = d.status(pid)["deliveries"]
        return dl[0]["attempts"] if dl else 0
    wait_until(lambda: attempts() >= 2, 15, "a second attempt")
    st = d.status(pid)
    dl = st["deliveries"][0]
    check(st["state"] == "pending" and dl["method"] == method and
          ("msrp 500" in dl["steps"] if method == "session" else
           dl["sip_status"] == 500), "refused while the disk is full: %s"
          % st)
    check(a.files() == [], "nothing (partial) in the inbox: %s"
          % a.files())
    check(("file not received" if method == "session" else "cannot write")
          in a.log(), a.log()[-1000:])

    subprocess.run(["prlimit", "--pid", str(a.proc.pid),
                    "--fsize=unlimited:unlimited"], check=True, timeout=10)
    st = d.wait_final(pid, timeout=20)
    check(st["state"] == "delivered", "after room was made: %s" % st)
    wait_until(lambda: len(a.files()) == 2, 10, "the push and its .meta")
    data = [f for f in a.files() if not f.endswith(".meta")]
    with open(os.path.join(a.inbox, data[0])) as f:
        check(f.read() == body, "the content")
    time.sleep(1)
    check(len(a.files()) == 2, "exactly once: %s" % a.files())
    a.proc.terminate()   # de-registers while sippushd is up
    a.proc.wait(10)


def test_agent_disk_full_indirect(env):
    agent_disk_full(env, "message")


def test_agent_disk_full_session(env):
    agent_disk_full(env, "session")


if __name__ == "__main__":
    run([test_disk_full, test_agent_disk_full_indirect,
         test_agent_disk_full_session])

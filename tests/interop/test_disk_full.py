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
from harness import BUILD, Daemon, check, run, wait_until

LIMIT = 512 * 1024


class LimitedDaemon(Daemon):
    """The same daemon, started under prlimit --fsize."""

    def start(self):
        args = ["prlimit", "--fsize=%d" % LIMIT,
                os.path.join(BUILD, "cmd", "sippushd"),
                "--sip", "127.0.0.1:%d" % self.sip_port,
                "--http", "127.0.0.1:%d" % self.http_port,
                "--db", self.db] + self.extra
        self.proc = self.env.spawn(args, "sippushd.log")
        wait_until(self._up, 10, "sippushd's HTTP API")
        return self


def test_disk_full(env):
    d = LimitedDaemon(env).start()
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

    d2 = Daemon(env).start()
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


if __name__ == "__main__":
    run([test_disk_full])

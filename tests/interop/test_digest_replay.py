#!/usr/bin/env python3
"""Digest replay (issue 18, item 8): a digest response covers the nonce,
method and URI, not the Contact. Whoever saw alice's REGISTER could put
her Authorization on a REGISTER of their own for the nonce's 300 s and
bind their contact to her. sippushd counts nonce uses (qop=auth, nc must
grow, RFC 7616 §3.4): the replay is refused, alice's next count passes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run
from sipauth import (Client, authorization, challenge_of, digest_register,
                     register_text)


def test_replayed_authorization(env):
    d = Daemon(env).start()
    st, doc, _ = d.http("PUT", "/v1/users/sip:alice@example.com/credentials",
                        {"password": "alice-secret"})
    check(st in (200, 201, 202, 204), "credentials: %s %s" % (st, doc))
    good = "<sip:alice@127.0.0.1:%d>" % free_port()
    evil = "<sip:evil@127.0.0.1:%d>" % free_port()

    ans, authz, c, cid = digest_register(d.sip_port, "alice", "alice-secret",
                                         good)
    check(ans.startswith("SIP/2.0 200"), "alice: %r" % ans[:80])
    check("qop=auth" in authz, "the client answered with qop=auth")

    # the captured Authorization on the attacker's own REGISTER
    m = Client(d.sip_port)
    got = m.request(register_text("alice", evil, authz=authz))
    m.close()
    print("replayed Authorization:", got.split("\r\n")[0])
    check(got.startswith("SIP/2.0 401") or got.startswith("SIP/2.0 403"),
          "replay: %r" % got[:80])
    contacts = [t["contact"] for t in d.terminals("sip:alice@example.com")]
    check(contacts == [good[1:-1]], "alice's terminals: %s" % contacts)

    # alice herself goes on with the next count of the same nonce
    nonce = challenge_of("WWW-Authenticate: " + authz)["nonce"]
    again = authorization("alice", "alice-secret",
                          {"realm": "sippush", "nonce": nonce, "qop": "auth"},
                          "REGISTER", "sip:example.com", nc=2)
    got = c.request(register_text("alice", good, call_id=cid, cseq=3,
                                  authz=again))
    c.close()
    check(got.startswith("SIP/2.0 200"), "nc=2: %r" % got[:80])

    d.stop()
    rows = d.db_rows("SELECT contact FROM terminals WHERE aor=?",
                     ("sip:alice@example.com",))
    check(rows == [(good[1:-1],)], "stored: %s" % rows)


if __name__ == "__main__":
    run([test_replayed_authorization])

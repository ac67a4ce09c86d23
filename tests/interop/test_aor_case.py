#!/usr/bin/env python3
"""One user, one spelling (issue 18, item 3): RFC 3261 §19.1.4 compares
scheme and host case-insensitively and the user part case-sensitively.
The attack: whoever holds credentials for sip:DAVE@example.com registers
as DAVE and receives dave's push, and removes dave's bindings with
Contact: *. Every table and lookup must key by one canonical AoR."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run
from sipauth import digest_register


def creds(d, aor, password):
    st, doc, _ = d.http("PUT", "/v1/users/%s/credentials" % aor,
                        {"password": password})
    check(st in (200, 201, 202, 204), "credentials of %s: %s %s" % (aor, st, doc))


def contacts(d, aor):
    return sorted(t["contact"] for t in d.terminals(aor))


def test_user_part_is_case_sensitive(env):
    d = Daemon(env).start()
    creds(d, "sip:dave@example.com", "dave-secret")
    creds(d, "sip:DAVE@example.com", "mallory-secret")
    good = "<sip:dave@127.0.0.1:%d>" % free_port()
    evil = "<sip:mallory@127.0.0.1:%d>" % free_port()

    ans, _, c, _ = digest_register(d.sip_port, "dave", "dave-secret", good)
    c.close()
    check(ans.startswith("SIP/2.0 200"), "dave: %r" % ans[:80])
    ans, _, c, _ = digest_register(d.sip_port, "DAVE", "mallory-secret",
                                   evil)
    c.close()
    check(ans.startswith("SIP/2.0 200"), "DAVE: %r" % ans[:80])
    got = contacts(d, "sip:dave@example.com")
    print("dave's contacts after DAVE registered:", got)
    check(got == [good[1:-1]], "dave's terminals: %s" % got)

    # DAVE removes every binding of his: dave's stay
    ans, _, c, _ = digest_register(d.sip_port, "DAVE", "mallory-secret",
                                   "*", expires=0)
    c.close()
    check(ans.startswith("SIP/2.0 200"), "DAVE Contact *: %r" % ans[:80])
    got = contacts(d, "sip:dave@example.com")
    print("dave's contacts after DAVE's Contact *:", got)
    check(got == [good[1:-1]], "dave's terminals after *: %s" % got)

    d.stop()
    rows = d.db_rows("SELECT aor, contact FROM terminals ORDER BY aor")
    check(rows == [("sip:dave@example.com", good[1:-1])], "store: %s" % rows)


def test_host_and_scheme_fold(env):
    """sip:dave@EXAMPLE.com is dave: his credentials apply, his bindings
    are one user's in memory and in the store."""
    d = Daemon(env).start()
    creds(d, "SIP:dave@Example.COM", "dave-secret")
    good = "<sip:dave@127.0.0.1:%d>" % free_port()
    ans, _, c, _ = digest_register(d.sip_port, "dave", "dave-secret", good,
                                   host="EXAMPLE.com")
    c.close()
    print("REGISTER To sip:dave@EXAMPLE.com:", ans.split("\r\n")[0])
    check(ans.startswith("SIP/2.0 200"), "dave@EXAMPLE.com: %r" % ans[:80])
    check(contacts(d, "sip:dave@example.com") == [good[1:-1]],
          "dave@example.com: %s" % d.terminals("sip:dave@example.com"))
    d.stop()
    check(d.db_rows("SELECT aor FROM users") == [("sip:dave@example.com",)],
          "users: %s" % d.db_rows("SELECT aor FROM users"))
    check(d.db_rows("SELECT aor FROM terminals") ==
          [("sip:dave@example.com",)],
          "terminals: %s" % d.db_rows("SELECT aor FROM terminals"))


if __name__ == "__main__":
    run([test_user_part_is_case_sensitive, test_host_and_scheme_fold])

#!/usr/bin/env python3
"""Reg-event NOTIFYs (issue 18, item 11): they create terminal records, so
they are believed only from a trusted peer (the core, --trust; over UDP
only with --trust-udp) and only for the AoR the watch is about. The
attacks: a NOTIFY in the watch's dialog from another address binds the
attacker's contact to bob; the core's own document adds a contact for
alice, whom nobody watched."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run, wait_until

DOC = ('<?xml version="1.0"?><reginfo xmlns="urn:ietf:params:xml:ns:reginfo"'
       ' version="%d" state="full">%s</reginfo>')
REG = ('<registration aor="%s" id="r%d" state="active"><contact id="c%d" '
       'state="active" event="registered" expires="600"><uri>%s</uri>'
       '</contact></registration>')


def hdr(msg, name):
    m = re.search(r"^%s: *(.*)$" % name, msg, re.M | re.I)
    return m.group(1).strip() if m else ""


class Core:
    """The notifier of sippushd's reg watch, on UDP 127.0.0.1."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.port = free_port()
        self.s.bind(("127.0.0.1", self.port))
        self.s.settimeout(10)

    def accept_subscribe(self):
        while True:
            data, src = self.s.recvfrom(65535)
            msg = data.decode(errors="replace")
            if msg.startswith("SUBSCRIBE"):
                break
        self.sub = msg
        self.peer = src
        via = hdr(msg, "Via")
        self.ltag = "core%d" % time.time_ns()
        self.s.sendto(("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\n"
                       "To: %s;tag=%s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                       "Contact: <sip:core@127.0.0.1:%d>\r\nExpires: 600\r\n"
                       "Content-Length: 0\r\n\r\n" % (
                           via, hdr(msg, "From"), hdr(msg, "To"), self.ltag,
                           hdr(msg, "Call-ID"), hdr(msg, "CSeq"), self.port)
                       ).encode(), src)
        self.target = re.search(r"<([^>]+)>", hdr(msg, "Contact")).group(1)
        self.cseq = 0

    def notify(self, body, sock=None):
        """A NOTIFY in the watch's dialog (from sock: someone else)."""
        sock = sock or self.s
        self.cseq += 1
        lport = sock.getsockname()
        text = ("NOTIFY %s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%d;rport\r\n"
                "From: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
                "CSeq: %d NOTIFY\r\nContact: <sip:core@127.0.0.1:%d>\r\n"
                "Event: reg\r\nSubscription-State: active;expires=600\r\n"
                "Content-Type: application/reginfo+xml\r\nMax-Forwards: 70\r\n"
                "Content-Length: %d\r\n\r\n%s" % (
                    self.target, lport[0], lport[1], time.time_ns(),
                    hdr(self.sub, "To"), self.ltag, hdr(self.sub, "From"),
                    hdr(self.sub, "Call-ID"), self.cseq, self.port,
                    len(body.encode()), body))
        sock.settimeout(5)
        sock.sendto(text.encode(), self.peer)
        while True:
            try:
                ans = sock.recv(65535).decode(errors="replace")
            except socket.timeout:
                return ""
            if ans.startswith("SIP/2.0"):
                return ans


def test_reg_notify_spoof(env):
    core = Core()
    d = Daemon(env, "--drain-timeout", "0", "--trust-udp", "--trust",
               "127.0.0.1/32", "--outbound",
               "sip:127.0.0.1:%d;lr" % core.port, "--reg-watch",
               "sip:bob@example.com").start()
    core.accept_subscribe()

    # the core itself: bob's contact is taken, alice's is not its to give
    ans = core.notify(DOC % (2, REG % ("sip:bob@example.com", 1, 1,
                                       "sip:bob@127.0.0.1:5990") +
                             REG % ("sip:alice@example.com", 2, 2,
                                    "sip:evil@127.0.0.1:6666")))
    check(ans.startswith("SIP/2.0 200"), "the core's NOTIFY: %r" % ans[:80])
    wait_until(lambda: d.terminals("sip:bob@example.com"), 5, "bob's record")
    alice = d.terminals("sip:alice@example.com")
    print("alice's terminals from bob's watch:", alice)
    check(alice == [], "alice: %s" % alice)

    # someone else (127.0.0.3, outside --trust) in the watch's dialog
    evil = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    evil.bind(("127.0.0.3", 0))
    ans = core.notify(DOC % (3, REG % ("sip:bob@example.com", 1, 1,
                                       "sip:evil@127.0.0.3:6666")), evil)
    evil.close()
    print("NOTIFY from 127.0.0.3:", ans.split("\r\n")[0])
    check(not ans.startswith("SIP/2.0 200"), "forged NOTIFY: %r" % ans[:80])
    time.sleep(0.3)
    bob = [t["contact"] for t in d.terminals("sip:bob@example.com")]
    check(bob == ["sip:bob@127.0.0.1:5990"], "bob: %s" % bob)

    d.stop()
    rows = d.db_rows("SELECT aor, contact FROM terminals ORDER BY aor")
    check(rows == [("sip:bob@example.com", "sip:bob@127.0.0.1:5990")],
          "store: %s" % rows)


def test_reg_notify_udp_untrusted_by_default(env):
    """Without --trust-udp the core's NOTIFY over UDP is not believed
    (its source could be anyone's); over TCP it would be."""
    core = Core()
    d = Daemon(env, "--drain-timeout", "0", "--outbound",
               "sip:127.0.0.1:%d;lr" % core.port,
               "--reg-watch", "sip:bob@example.com").start()
    core.accept_subscribe()
    ans = core.notify(DOC % (1, REG % ("sip:bob@example.com", 1, 1,
                                       "sip:bob@127.0.0.1:5990")))
    print("the core's NOTIFY over UDP, no --trust-udp:", ans.split("\r\n")[0])
    check(ans.startswith("SIP/2.0 403"), "UDP NOTIFY: %r" % ans[:80])
    check(d.terminals("sip:bob@example.com") == [], "bob")


if __name__ == "__main__":
    run([test_reg_notify_spoof, test_reg_notify_udp_untrusted_by_default])

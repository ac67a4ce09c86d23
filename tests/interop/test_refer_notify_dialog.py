#!/usr/bin/env python3
"""Refer NOTIFYs (issue 18, item 12): sippushd matched the NOTIFYs of the
refer subscription its REFER created by Call-ID alone — and that Call-ID
("r." + the delivery's) is in the push's status JSON. Anyone could write
steps into a delivery's status. A NOTIFY must match the whole dialog:
Call-ID, our tag and the terminal's."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run, udp_request, wait_until

AOR = "sip:alice@example.com"


def hdr(msg, name):
    m = re.search(r"^%s: *(.*)$" % name, msg, re.M | re.I)
    return m.group(1).strip() if m else ""


def notify(port, refer, call_id, from_tag, to_tag, frag, sock=None):
    text = ("NOTIFY sip:push@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:{via};branch=z9hG4bK-%d;rport\r\n"
            "From: <%s>;tag=%s\r\n"
            "To: %s;tag=%s\r\n"
            "Call-ID: %s\r\nCSeq: 1 NOTIFY\r\nEvent: refer\r\n"
            "Max-Forwards: 70\r\n"
            "Subscription-State: active;expires=60\r\n"
            "Content-Type: message/sipfrag\r\nContact: <sip:x@127.0.0.1:9>\r\n"
            "Content-Length: %d\r\n\r\n%s" % (
                port, time.time_ns(), AOR, from_tag,
                re.sub(r";tag=[^;>]*", "", hdr(refer, "From")), to_tag,
                call_id, len(frag), frag))
    if sock is None:
        return udp_request(port, text)
    sock.sendto(text.replace("{via}", str(sock.getsockname()[1])).encode(),
                ("127.0.0.1", port))
    return sock.recv(65535).decode(errors="replace")


def test_refer_notify_needs_the_dialog(env):
    d = Daemon(env, "--trust-udp").start()
    term = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    term.bind(("127.0.0.1", 0))
    term.settimeout(10)
    tport = term.getsockname()[1]
    reg = ("REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-r1\r\n"
           "From: <%s>;tag=r1\r\nTo: <%s>\r\nCall-ID: reg-refer@t\r\n"
           "CSeq: 1 REGISTER\r\n"
           "Contact: <sip:alice@127.0.0.1:%d>;+sip.instance=\"<urn:uuid:r1>\";"
           "+g.oma.pusheventapp=\"mms.ua\";"
           "methods=\"MESSAGE,REFER,NOTIFY,SUBSCRIBE\"\r\n"
           "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
           % (tport, AOR, AOR, tport))
    term.sendto(reg.encode(), ("127.0.0.1", d.sip_port))
    ans = term.recv(65535)
    check(ans.startswith(b"SIP/2.0 200"), "registered: %r" % ans[:80])

    pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                 body="refer me", method="refer")
    while True:
        refer = term.recv(65535).decode(errors="replace")
        if refer.startswith("REFER"):
            break
    term.sendto(("SIP/2.0 202 Accepted\r\nVia: %s\r\nFrom: %s\r\n"
                 "To: %s;tag=term1\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                 "Content-Length: 0\r\n\r\n" % (
                     hdr(refer, "Via"), hdr(refer, "From"), hdr(refer, "To"),
                     hdr(refer, "Call-ID"), hdr(refer, "CSeq"))).encode(),
                ("127.0.0.1", d.sip_port))
    wait_until(lambda: "refer 202" in (d.status(pid)["deliveries"][0]
                                       ["steps"] or ""), 5, "refer 202")

    # what the status shows is enough to aim a NOTIFY
    call_id = "r." + d.status(pid)["deliveries"][0]["call_id"]
    ours = re.search(r";tag=([^;>\s]+)", hdr(refer, "From")).group(1)
    ans = notify(d.sip_port, refer, call_id, "guess", "guess",
                 "SIP/2.0 603 Declined\r\n")
    print("NOTIFY with the Call-ID of the status, other tags:",
          ans.split("\r\n")[0])
    check(ans.startswith("SIP/2.0 481"), "forged NOTIFY: %r" % ans[:80])
    ans = notify(d.sip_port, refer, call_id, "guess", ours,
                 "SIP/2.0 603 Declined\r\n")
    check(ans.startswith("SIP/2.0 481"), "their tag wrong: %r" % ans[:80])
    steps = d.status(pid)["deliveries"][0]["steps"]
    check("603" not in steps, "steps: %s" % steps)

    # the terminal's own NOTIFY, in the dialog, is taken
    ans = notify(d.sip_port, refer, call_id, "term1", ours,
                 "SIP/2.0 100 Trying\r\n", term)
    check(ans.startswith("SIP/2.0 200"), "the dialog's NOTIFY: %r" % ans[:80])
    wait_until(lambda: "refer NOTIFY 100" in (
        d.status(pid)["deliveries"][0]["steps"] or ""), 5, "its step")
    term.close()


if __name__ == "__main__":
    run([test_refer_notify_needs_the_dialog])

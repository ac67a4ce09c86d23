#!/usr/bin/env python3
"""The MSRP peer of a session-mode push (issue 18, item 5): sippushd
connected to whatever MSRP path the terminal's SDP answer named, so a
fake terminal could point it at a service on this host or its network,
which then received the push body inside an MSRP SEND. The path's
address must be the one the SIP dialog reached, and public — or within
--msrp-allow."""
import base64
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, register, run,
                     scenario)

AOR = "sip:alice@example.com"
INST = "urn:uuid:00000000-0000-4000-8000-0000000000e5"
SECRET = b"the-push-body-for-alice"


class Service:
    """A TCP service on this host: what it is sent, if anything."""

    def __init__(self, host):
        self.ls = socket.socket()
        self.ls.bind((host, 0))
        self.ls.listen(4)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.data = b""
        self.conns = 0
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            self.conns += 1
            c.settimeout(0.5)
            end = time.time() + 3
            while time.time() < end:
                try:
                    b = c.recv(65536)
                except socket.timeout:
                    continue
                if not b:
                    break
                self.data += b
            c.close()
        self.ls.close()


def attempt(env, d, host, svc):
    tport = free_port()
    term = Sipp(env, scenario(env, "uas_invite_msrp_elsewhere.xml",
                              msrp_host=host, msrp_port=svc.port), tport,
                timeout=15)
    register(env, d, "alice", tport, INST, methods="MESSAGE,INVITE")
    pid = d.push(to=AOR, app="mms.ua",
                 content_type="application/octet-stream",
                 body_base64=base64.b64encode(SECRET).decode(),
                 method="session", ttl=5)
    time.sleep(3)
    term.wait(20)
    return d.status(pid)


def test_msrp_path_elsewhere(env):
    """The path names 127.0.0.2 while the dialog reached 127.0.0.1."""
    d = Daemon(env, "--trust-udp").start()
    svc = Service("127.0.0.2")
    st = attempt(env, d, "127.0.0.2", svc)
    svc.stop.set()
    print("the service at 127.0.0.2 got %d connection(s), %r" %
          (svc.conns, svc.data[:60]))
    check(svc.conns == 0 and SECRET not in svc.data,
          "sippushd connected to the service: %r" % svc.data[:200])
    check(st["state"] != "delivered", "status: %s" % st)


def test_msrp_loopback_needs_allow(env):
    """The dialog's own address, but loopback: only with --msrp-allow."""
    d = Daemon(env, "--trust-udp").start()
    svc = Service("127.0.0.1")
    attempt(env, d, "127.0.0.1", svc)
    svc.stop.set()
    print("loopback without --msrp-allow: %d connection(s)" % svc.conns)
    check(svc.conns == 0, "connected to loopback: %r" % svc.data[:200])

    d2 = Daemon(env, "--trust-udp", "--msrp-allow", "127.0.0.1/32",
                db="allow.db").start()
    svc2 = Service("127.0.0.1")
    attempt(env, d2, "127.0.0.1", svc2)
    svc2.stop.set()
    check(svc2.conns == 1 and SECRET in svc2.data,
          "with --msrp-allow: %d, %r" % (svc2.conns, svc2.data[:200]))


if __name__ == "__main__":
    run([test_msrp_path_elsewhere, test_msrp_loopback_needs_allow])

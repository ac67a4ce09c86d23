#!/usr/bin/env python3
"""Limits at their edge: terminals per user (--max-terminals) and
subscriptions per terminal (--max-subs) — one more gets 403 naming the
limit, a refresh or a replacement still passes, and room made is room
to use. Delivery's backlog (--max-backlog): while more deliveries wait to
go out than the bound, a new push gets 503 + Retry-After at once (not a
queue that grows until memory runs out); a queue that waits out a retry
delay is not backlog, and intake resumes."""
import os
import socket
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Sipp, check, free_port, register_udp, run,
                     scenario, wait_until)

REG = ("REGISTER sip:example.com SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-{n}\r\n"
       "From: <sip:rita@example.com>;tag=1\r\n"
       "To: <sip:rita@example.com>\r\n"
       "Call-ID: lim-{n}@x\r\n"
       "CSeq: 1 REGISTER\r\n"
       "Contact: <sip:rita@127.0.0.1:{port}>;+sip.instance=\"<urn:uuid:"
       "00000000-0000-0000-0000-00000000000{i}>\";"
       "+g.oma.pusheventapp=\"mms.ua\"\r\n"
       "Max-Forwards: 70\r\nExpires: {exp}\r\nContent-Length: 0\r\n\r\n")
EVENT = ('ua-profile;profile-type=oma-app;event-app-id="%s";'
         'vendor="v";model="m";version="1"')


def register(d, n, i, exp=60):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(REG.format(n=n, i=i, port=5000 + i, exp=exp).encode(),
             ("127.0.0.1", d.sip_port))
    s.settimeout(5)
    line = s.recv(65535).split(b"\r\n", 1)[0].decode()
    s.close()
    return line


def test_delivery_backlog(env):
    d = Daemon(env, "--trust-udp", "--max-backlog", "4", "--retry-base",
               "20000").start()
    term = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    term.bind(("127.0.0.1", 0))
    term.settimeout(5)
    register_udp(d, "slow", term.getsockname()[1],
                 "urn:uuid:00000000-0000-0000-0000-0000000000b1")

    def post(to):
        return d.http("POST", "/v1/pushes", {
            "to": to, "app": "mms.ua", "content_type": "text/plain",
            "body": "b"})
    # one MESSAGE in flight (the terminal holds it), four queued behind
    for i in range(5):
        st, doc, _ = post("sip:slow@example.com")
        check(st == 202, "push %d to the slow terminal: %s %s" % (i, st,
                                                                doc))
    msg, addr = term.recvfrom(65535)
    check(msg.startswith(b"MESSAGE "), "the first push: %r" % msg[:60])
    met = d.http("GET", "/metrics")[1]
    met = met.decode() if isinstance(met, bytes) else str(met)
    check("sippush_delivery_backlog 5" in met, "backlog gauge: %s" %
          [ln for ln in met.splitlines() if "backlog" in ln])

    # more than 4 wait: even a push for someone else waits for delivery
    st, doc, hdrs = post("sip:offline@example.com")
    check(st == 503 and hdrs.get("Retry-After") == "1" and
          "delivery behind" in doc["error"],
          "over the backlog: %s %s %s" % (st, doc, hdrs))

    # the terminal fails the MESSAGE: its queue waits out the retry
    # delay (20 s), which is not delivery's backlog: intake resumes
    txt = msg.decode()
    hdr = [ln for ln in txt.split("\r\n") if ln.split(":")[0] in
           ("Via", "From", "To", "Call-ID", "CSeq")]
    term.sendto(("SIP/2.0 500 Busy Here\r\n%s\r\nContent-Length: 0"
                 "\r\n\r\n" % "\r\n".join(hdr)).encode(), addr)
    wait_until(lambda: post("sip:offline@example.com")[0] == 202, 10,
               "intake to resume once the queue waits out a retry")
    term.close()


def test_backlog_not_held_by_silent_terminals(env):
    """Terminals that never answer hold their queues for a transaction
    timeout (32 s); after 2 s without an answer they are no longer
    counted as delivery's backlog: pushes to everybody else go on."""
    d = Daemon(env, "--trust-udp", "--max-backlog", "2").start()
    socks = []
    for i in range(3):
        t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t.bind(("127.0.0.1", 0))
        socks.append(t)
        register_udp(d, "mute%d" % i, t.getsockname()[1],
                     "urn:uuid:00000000-0000-0000-0000-0000000000c%d" % i)

    def post(to):
        return d.http("POST", "/v1/pushes", {
            "to": to, "app": "mms.ua", "content_type": "text/plain",
            "body": "m"})[0]
    for i in range(3):
        check(post("sip:mute%d@example.com" % i) == 202, "push %d" % i)
    for t in socks:
        t.settimeout(5)
        check(t.recv(65535).startswith(b"MESSAGE "), "a MESSAGE arrived")
    check(post("sip:offline@example.com") == 503,
          "3 deliveries in flight over --max-backlog 2: 503")
    t0 = time.time()
    wait_until(lambda: post("sip:offline@example.com") == 202, 10,
               "pushes accepted while the silent terminals time out")
    print("accepted again %.1f s after the terminals fell silent"
          % (time.time() - t0))
    for t in socks:
        t.close()


def test_terminals_per_user(env):
    d = Daemon(env, "--trust-udp", "--max-terminals", "2").start()
    check(register(d, 1, 1).startswith("SIP/2.0 200"), "first")
    check(register(d, 2, 2).startswith("SIP/2.0 200"), "second")
    line = register(d, 3, 3)
    check(line == "SIP/2.0 403 Too many terminals for this user",
          "third: %s" % line)
    check(register(d, 4, 1).startswith("SIP/2.0 200"), "a refresh passes")
    check(len(d.terminals("sip:rita@example.com")) == 2, "two kept")
    check(register(d, 5, 2, exp=0).startswith("SIP/2.0 200"), "one goes")
    check(register(d, 6, 3).startswith("SIP/2.0 200"), "room made is used")
    d.stop()
    check(d.db_rows("SELECT COUNT(*) FROM terminals") == [(2,)], "store")


def test_subscriptions_per_terminal(env):
    d = Daemon(env, "--trust-udp", "--max-subs", "1").start()
    port = free_port()   # one Contact: one terminal

    def subscribe(app, code, chk):
        Sipp(env, scenario(env, "uac_subscribe_code.xml",
                           event=EVENT % app, code=code, check=chk,
                           extra="P-Asserted-Identity: "
                           "<sip:alice@example.com>\r\n"), port,
                  "127.0.0.1:%d" % d.sip_port,
             timeout=10).ok(15)

    subscribe("mms.ua", 200, "Expires: 600")
    subscribe("other.app", 403, "Too many subscriptions for this terminal")
    subscribe("mms.ua", 200, "Expires: 600")   # replaces its own
    t = d.terminals("sip:alice@example.com")
    check(len(t) == 1 and len(t[0]["subscriptions"]) == 1 and
          t[0]["subscriptions"][0]["app"] == "mms.ua",
          "one subscription: %s" % t)


def metrics_req(d):
    """GET /metrics as the admin (the daemon's token) on a raw socket."""
    return ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
            "Bearer %s\r\n\r\n" % d.token).encode()


def test_http_connections(env):
    """--http-max-conns: one more connection waits (unserved) until a held
    one goes; --http-timeout closes an idle one."""
    d = Daemon(env, "--trust-udp", "--http-max-conns", "2").start()
    req = metrics_req(d)
    held = [socket.create_connection(("127.0.0.1", d.http_port), 5)
            for _ in range(2)]
    time.sleep(0.3)   # accepted before the next one comes
    extra = socket.create_connection(("127.0.0.1", d.http_port), 5)
    extra.sendall(req)
    extra.settimeout(1.5)
    try:
        got = extra.recv(100)
    except socket.timeout:
        got = None
    check(got is None, "a third connection was served: %r" % got)
    held[0].sendall(req)
    held[0].settimeout(3)
    check(held[0].recv(100).startswith(b"HTTP/1.1 200"), "a held one works")
    held[0].close()
    held[1].close()
    extra.settimeout(5)
    check(extra.recv(100).startswith(b"HTTP/1.1 200"),
          "the waiting one is served once there is room")
    extra.close()

    d2 = Daemon(env, "--trust-udp", "--http-timeout", "1", db="idle.db").start()
    idle = socket.create_connection(("127.0.0.1", d2.http_port), 5)
    idle.settimeout(5)
    try:
        got = idle.recv(100)
    except OSError:
        got = b""
    check(got == b"", "the idle connection was not closed: %r" % got)
    idle.close()


def test_http_connections_per_peer(env):
    """--http-max-conns-per-peer 2: a third connection from the same
    address is closed at once; one from another address is served."""
    d = Daemon(env, "--trust-udp", "--http-max-conns-per-peer", "2").start()
    req = metrics_req(d)
    # the harness's readiness probe may still count: both held
    # connections must be served (kept alive) before the third comes
    wait_until(lambda: d.http("GET", "/metrics")[0] == 200, 5, "idle")
    time.sleep(0.3)
    held = []
    for _ in range(2):
        h = socket.create_connection(("127.0.0.1", d.http_port), 5)
        h.sendall(req)
        h.settimeout(5)
        check(h.recv(65535).startswith(b"HTTP/1.1 200"), "a held one")
        held.append(h)
    extra = socket.create_connection(("127.0.0.1", d.http_port), 5)
    extra.settimeout(5)
    try:
        extra.sendall(req)
        got = extra.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b""
    check(got == b"", "a third connection from 127.0.0.1 was served: %r"
          % got)
    extra.close()
    other = socket.create_connection(("127.0.0.1", d.http_port), 5,
                                     source_address=("127.0.0.2", 0))
    other.sendall(req)
    other.settimeout(5)
    check(other.recv(100).startswith(b"HTTP/1.1 200"),
          "another address is served")
    other.close()
    held[0].sendall(req)
    held[0].settimeout(5)
    check(held[0].recv(100).startswith(b"HTTP/1.1 200"), "a held one works")
    for h in held:
        h.close()


if __name__ == "__main__":
    run([test_delivery_backlog, test_backlog_not_held_by_silent_terminals,
         test_terminals_per_user, test_subscriptions_per_terminal,
         test_http_connections, test_http_connections_per_peer])

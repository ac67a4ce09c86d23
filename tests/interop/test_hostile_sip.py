#!/usr/bin/env python3
"""Malformed and hostile SIP against both daemons, over UDP and TCP, and
a flood of MSRP connections that never bind to a session.

Each case has an expected outcome: a 400 whose reason names what is wrong,
or a silent drop where libre cannot decode the message (no response can be
formed: no Via, not SIP/2.0, an unparsable start line or CSeq), or a
closed connection. After each group a valid request still succeeds. Then
a bounded mutation run (random byte edits of a valid request, 1500 per
daemon and transport) must leave the daemon alive and answering."""
import os
import base64
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run, wait_until
from test_agent import Agent

DROP = ("no answer", "closed", "reset")

REGISTER = ("REGISTER sip:example.com SIP/2.0\r\n"
            "Via: SIP/2.0/{tp} 127.0.0.1:9;rport;branch=z9hG4bK-{n}\r\n"
            "From: <sip:rita@example.com>;tag=1\r\n"
            "To: <sip:rita@example.com>\r\n"
            "Call-ID: bad-{n}@x\r\n"
            "CSeq: 1 REGISTER\r\n"
            "Contact: <sip:rita@127.0.0.1:9>;+g.oma.pusheventapp=\"mms.ua\"\r\n"
            "Max-Forwards: 70\r\n"
            "Expires: 60\r\n"
            "Content-Length: 0\r\n\r\n")

MESSAGE = ("MESSAGE sip:alice@127.0.0.1:{port} SIP/2.0\r\n"
           "Via: SIP/2.0/{tp} 127.0.0.1:9;rport;branch=z9hG4bK-{n}\r\n"
           "From: <sip:push@example.com>;tag=1\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: bad-{n}@x\r\n"
           "CSeq: 1 MESSAGE\r\n"
           "P-Asserted-Identity: <sip:push@example.com>\r\n"
           "Accept-Contact: *;+g.oma.pusheventapp=\"mms.ua\";require;"
           "explicit\r\n"
           "Max-Forwards: 70\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: 2\r\n\r\nhi")


def exchange(port, data, tcp, wait=1.0):
    """Send raw bytes; the status line of the answer, or what happened."""
    if tcp:
        s = socket.create_connection(("127.0.0.1", port), 5)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            s.close()
            return "reset"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto(data, ("127.0.0.1", port))
    s.settimeout(wait)
    try:
        got = s.recv(65535)
        return got.split(b"\r\n", 1)[0].decode(errors="replace") \
            if got else "closed"
    except socket.timeout:
        return "no answer"
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


def hdr(name, value=None):
    """Drop a header (value None) or set its value."""
    def f(m):
        rx = re.compile(r"^%s:[^\r]*\r\n" % re.escape(name), re.M)
        check(rx.search(m), "no %s in the base" % name)
        return rx.sub("" if value is None else "%s: %s\r\n" % (name, value),
                      m, count=1)
    return f


def first_line(old, new):
    def f(m):
        line, rest = m.split("\r\n", 1)
        check(old in line, "%s not in %s" % (old, line))
        return line.replace(old, new) + "\r\n" + rest
    return f


def common(method):
    """(name, transform, expected over UDP, expected over TCP); an
    expected "400 X" means a 400 whose reason contains X."""
    return [
        ("garbage", lambda m: "hello world\r\n\r\n", DROP, DROP),
        ("truncated start line", first_line(" SIP/2.0", ""), DROP, DROP),
        ("truncated headers", lambda m: m[:m.index("Call-ID")], DROP, DROP),
        ("no From", hdr("From"), "400 From", "400 From"),
        ("no To", hdr("To"), "400 To", "400 To"),
        ("no Call-ID", hdr("Call-ID"), "400 Call-ID", "400 Call-ID"),
        ("no CSeq", hdr("CSeq"), "400 CSeq", "400 CSeq"),
        ("no Via", hdr("Via"), DROP, "400 Via"),
        ("CSeq of another method", hdr("CSeq", "1 INVITE"), "400 CSeq",
         "400 CSeq"),
        ("CSeq not a number", hdr("CSeq", "one " + method), DROP, DROP),
        ("CSeq 2^32", hdr("CSeq", "4294967296 " + method), "400 CSeq",
         "400 CSeq"),
        ("CSeq 2^64", hdr("CSeq", "18446744073709551616 " + method),
         "400 CSeq", "400 CSeq"),
        ("Content-Length 2^32", hdr("Content-Length", "4294967296"),
         "400 Content-Length", "400 Content-Length"),
        ("Content-Length 2^64", hdr("Content-Length",
                                    "18446744073709551616"),
         "400 Content-Length", "400 Content-Length"),
        ("Content-Length not a number", hdr("Content-Length", "ten"),
         "400 Content-Length", "400 Content-Length"),
        # over TCP the stream waits for the rest (then the idle timeout)
        ("Content-Length beyond the body", hdr("Content-Length", "100"),
         "400 Content-Length", DROP),
        ("NUL in a header", hdr("To", "<sip:ri\0ta@example.com>"),
         "400 NUL", "400 NUL"),
        ("SIP/3.0", first_line("SIP/2.0", "SIP/3.0"), DROP, DROP),
        ("empty Request-URI", first_line(" sip:", " sip: "), DROP, DROP),
        ("Request-URI without scheme", first_line(" sip:", " "),
         DROP + ("400 Request-URI",), DROP + ("400 Request-URI",)),
    ]


def matches(got, want):
    """want: "no answer"/"closed"/"reset", or "NNN word" (a response with
    that code whose reason holds the word)"""
    if want in DROP:
        return got == want
    code, word = want.split(" ", 1)
    return got.startswith("SIP/2.0 " + code) and \
        word.lower() in got.lower()


def expect(got, want, what):
    opts = want if isinstance(want, tuple) else (want,)
    check(any(matches(got, w) for w in opts), "%s: got %r, want %r"
          % (what, got, want))


def battery(port, base, cases, valid_code):
    n = 0
    for tcp in (False, True):
        tp = "TCP" if tcp else "UDP"
        for name, f, want_udp, want_tcp in cases:
            n += 1
            msg = f(base.format(tp=tp, n=n)).encode()
            expect(exchange(port, msg, tcp), want_tcp if tcp else want_udp,
                   "%s over %s" % (name, tp))
        n += 1
        got = exchange(port, base.format(tp=tp, n=n).encode(), tcp, 5)
        check(got.startswith("SIP/2.0 %d" % valid_code),
              "a valid request over %s after the bad ones: %s" % (tp, got))
    # 1 MB of header over TCP: the connection goes, the daemon stays
    big = base.format(tp="TCP", n=n + 1).replace(
        "Max-Forwards: 70\r\n", "X-Big: " + "a" * (1 << 20) +
        "\r\nMax-Forwards: 70\r\n")
    try:
        got = exchange(port, big.encode(), True, 5)
    except (BrokenPipeError, ConnectionResetError):
        got = "reset"
    check(got in DROP, "1 MB header: %s" % got)
    # a datagram as large as UDP takes, with a matching Content-Length
    body = "x" * 60000
    msg = base.format(tp="UDP", n=n + 2)
    msg = msg[:msg.index("\r\n\r\n")] + "\r\n\r\n"
    msg = re.sub(r"Content-Length: \d+", "Content-Length: %d" % len(body),
                 msg)
    if "Content-Type" not in msg:
        msg = msg.replace("Content-Length", "Content-Type: text/plain\r\n"
                          "Content-Length")
    got = exchange(port, (msg + body).encode(), False, 2)
    check(got in DROP or got.startswith("SIP/2.0 4") or
          got.startswith("SIP/2.0 2"), "60 kB datagram: %s" % got)
    got = exchange(port, base.format(tp="UDP", n=n + 3).encode(), False, 5)
    check(got.startswith("SIP/2.0 %d" % valid_code), "still serving: %s"
          % got)


def mutations(port, base, valid_code, proc, count=1500):
    """Random edits of a valid request; bounded in count and time."""
    rnd = random.Random(20261124)
    end = time.monotonic() + 60
    answered = 0
    for i in range(count):
        if time.monotonic() > end:
            break
        m = bytearray(base.format(tp="UDP", n="m%d" % i).encode())
        for _ in range(rnd.randint(1, 8)):
            op = rnd.randint(0, 2)
            at = rnd.randrange(len(m))
            if op == 0:
                m[at] = rnd.randrange(256)
            elif op == 1:
                del m[at:at + rnd.randint(1, 16)]
            else:
                m[at:at] = bytes(rnd.choice(b":;<>\"=\r\n\0%@ ,")
                                 for _ in range(rnd.randint(1, 8)))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(bytes(m), ("127.0.0.1", port))
        s.settimeout(0.002)
        try:
            s.recv(65535)
            answered += 1
        except OSError:
            pass
        s.close()
    check(proc.poll() is None, "the daemon died under mutations")
    got = exchange(port, base.format(tp="UDP", n="after").encode(), False,
                   5)
    check(got.startswith("SIP/2.0 %d" % valid_code),
          "valid after %d mutations: %s" % (count, got))
    print("mutations: %d sent, %d answered at once" % (count, answered))


def test_sippushd(env):
    d = Daemon(env, "--trust-udp").start()
    cases = common("REGISTER") + [
        ("Expires not a number", hdr("Expires", "soon"), "400 Expires",
         "400 Expires"),
        ("Expires 2^32", hdr("Expires", "4294967356"), "400 Expires",
         "400 Expires"),
        ("bad feature tag", hdr("Contact", "<sip:rita@127.0.0.1:9>;"
                                "+g.oma.pusheventapp=\"mms.ua"),
         "400 Contact", "400 Contact"),
    ]
    battery(d.sip_port, REGISTER, cases, 200)
    mutations(d.sip_port, REGISTER, 200, d.proc)
    d.stop()


def test_agent(env):
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "alice", d.sip_port, "--trust", "127.0.0.0/8").start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered")
    base = MESSAGE.replace("{port}", str(a.port))
    cases = common("MESSAGE") + [
        ("bad Accept-Contact", hdr("Accept-Contact",
                                   "*;+g.oma.pusheventapp=\"mms.ua"),
         "400 Accept-Contact", "400 Accept-Contact"),
        ("bad P-Asserted-Identity", hdr("P-Asserted-Identity", "<sip:"),
         ("400 P-Asserted-Identity", "403 "), None),
    ]
    # the last case is the same over TCP
    cases[-1] = cases[-1][:3] + (cases[-1][2],)
    battery(a.port, base, cases, 200)
    mutations(a.port, base, 200, a.proc)
    check(a.proc.poll() is None, "the agent is alive")


def msrp_send(tid, to_path, extra=b"", body=b"hi", end=b"$"):
    return (b"MSRP " + tid + b" SEND\r\nTo-Path: " + to_path +
            b"\r\nFrom-Path: msrp://127.0.0.1:9/x;tcp\r\nMessage-ID: m1\r\n"
            b"Byte-Range: 1-%d/%d\r\n" % (len(body), len(body)) + extra +
            b"Content-Type: text/plain\r\n\r\n" + body + b"\r\n-------" +
            tid + end + b"\r\n")


def msrp_agent(env):
    """sippushd and a registered agent whose MSRP listener is on a known
    port: (daemon, agent, port)"""
    d = Daemon(env, "--trust-udp", "--msrp-allow", "127.0.0.1/32").start()
    mport = free_port()
    a = Agent(env, "alice", d.sip_port, "--trust", "127.0.0.0/8",
              "--msrp", "127.0.0.1:%d" % mport).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered")
    return d, a, mport


def test_msrp_hostile(env):
    """Malformed MSRP on the agent's listener: garbage and an oversized
    header close the connection, a request for an unknown session gets
    481, a frame whose end-line never comes is dropped at the deadline;
    a real session still works after."""
    d, a, mport = msrp_agent(env)
    path = b"msrp://127.0.0.1:%d/nosuchsession;tcp" % mport
    cases = [
        ("garbage", b"hello world\r\n\r\n", DROP),
        ("not MSRP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", DROP),
        ("header over 8 KiB", b"MSRP tid00001 SEND\r\nX-Big: " + b"a" * 9000 +
         b"\r\n", DROP),
        ("unknown session", msrp_send(b"tid00002", path), ("MSRP tid00002 481",)),
        ("bad Byte-Range", msrp_send(b"tid00003", path).replace(
            b"Byte-Range: 1-2/2", b"Byte-Range: 0-1/2"), DROP + (
            "MSRP tid00003 400", "MSRP tid00003 481")),
        ("no To-Path", msrp_send(b"tid00004", path).replace(
            b"To-Path: " + path + b"\r\n", b""), DROP + ("MSRP tid00004 400",)),
    ]
    for name, data, want in cases:
        got = exchange(mport, data, True, 3)
        check(any(got == w or got.startswith(w + " ") for w in want),
              "%s: %s (want %s)" % (name, got, want))
    check(a.proc.poll() is None, "the agent is alive")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="application/octet-stream",
                 body_base64=base64.b64encode(b"r" * 3000).decode(),
                 method="session", filename="f.bin")
    st = d.wait_final(pid)
    check(st["state"] == "delivered", "a session after: %s" % st)


def test_msrp_flood(env):
    """Connections that send nothing: at most 8 per peer address are held
    (each for 30 s at most), the rest are closed at once, and a real
    session still gets through."""
    d, a, mport = msrp_agent(env)
    socks = [socket.create_connection(("127.0.0.1", mport), 5)
             for _ in range(12)]
    closed = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
    check(closed == 4, "12 idle connections from one address: %d closed "
          "(want the 4 beyond 8)" % closed)
    check("too many connections without a session" in a.log(), a.log())
    # the held ones still count: a session from the same address is
    # refused a connection only while they last; free them and push
    for s in socks:
        s.close()
    time.sleep(0.3)
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="application/octet-stream",
                 body_base64=base64.b64encode(b"q" * 5000).decode(),
                 method="session", filename="f.bin")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          st["deliveries"][0]["method"] == "session", "session: %s" % st)



def http_raw(port, data, wait=3.0):
    """One raw HTTP request: the status line, or what happened."""
    return exchange(port, data, True, wait)


def test_http_raw(env):
    """The HTTP API at the protocol level: each broken request gets a 4xx
    or a closed connection, and the next good one is served."""
    d = Daemon(env, "--trust-udp").start()
    good = ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
            "Bearer %s\r\nConnection: close\r\n\r\n" % d.token).encode()
    push = b'{"to":"sip:a@example.com","app":"mms.ua","body":"x"}'
    cases = [
        ("garbage", b"hello\r\n\r\n"),
        ("HTTP/9.9", b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", "505"),
        ("no Host", b"GET /metrics HTTP/1.1\r\n\r\n"),
        ("200 kB header", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
         b"a" * 200000 + b"\r\n\r\n"),
        ("Content-Length 2^64", b"POST /v1/pushes HTTP/1.1\r\nHost: x\r\n"
         b"Content-Type: application/json\r\n"
         b"Content-Length: 18446744073709551616\r\n\r\n" + push),
        ("negative Content-Length", b"POST /v1/pushes HTTP/1.1\r\nHost: x"
         b"\r\nContent-Length: -5\r\n\r\n" + push),
        ("bad chunk size", b"POST /v1/pushes HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + push + b"\r\n0\r\n"
         b"\r\n"),
        ("NUL in the path", b"GET /met\0rics HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]
    for case in cases:
        name, data = case[0], case[1]
        code = case[2] if len(case) > 2 else r"4\d\d"
        got = http_raw(d.http_port, data)
        check(got in DROP or re.match(r"HTTP/1\.[01] %s" % code, got),
              "%s: %s" % (name, got))
        got = http_raw(d.http_port, good)
        check(got.startswith("HTTP/1.1 200"), "after %s: %s" % (name, got))
    check(d.proc.poll() is None, "sippushd is alive")
    d.stop()
    check(d.db_rows("SELECT COUNT(*) FROM pushes") == [(0,)],
          "nothing stored from broken requests")


def closed_within(s, seconds):
    """True when the peer closes (or resets) s within seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(65535) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def tcp_guard(port, request, log):
    """The guard's rules against a daemon started with a first-message
    deadline of 2 s and 4 connections per address: request(n) is a valid
    request answered 200, log() the daemon's log."""
    good = socket.create_connection(("127.0.0.1", port), 5)
    good.sendall(request("g"))
    good.settimeout(5)
    check(good.recv(65535).startswith(b"SIP/2.0 200"), "a whole request")

    slow = socket.create_connection(("127.0.0.1", port), 5)
    t0 = time.monotonic()
    closed = False
    for ch in request("s")[:40]:
        try:
            slow.sendall(bytes([ch]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if closed_within(slow, 0.25):
            closed = True
            break
        if time.monotonic() - t0 > 8:
            break
    check(closed, "a slow-loris connection was not shut down (%.1f s)"
          % (time.monotonic() - t0))
    slow.close()

    # 2 more from the same address are fine, the newest 3 beyond 4 go
    flood = [socket.create_connection(("127.0.0.1", port), 5)
             for _ in range(5)]
    for i, s in enumerate(flood[:3]):   # they keep the deadline
        s.sendall(request("f%d" % i))
        s.settimeout(5)
        s.recv(65535)
    wait_until(lambda: "over the connections per address" in log(), 5,
               "the cap to act")
    cut = [closed_within(s, 1.5) for s in flood]
    check(cut == [False, False, False, True, True],
          "which flood connections were shut down: %s" % cut)
    check(not closed_within(good, 0.5), "the first, good connection stays")
    for s in flood + [good]:
        s.close()
    time.sleep(1)
    got = exchange(port, request("after"), True, 5)
    check(got.startswith("SIP/2.0 200"), "a new connection after: %s" % got)
    check("no whole message in time" in log(), log()[-800:])


def test_sip_tcp_slowloris_and_flood(env):
    """libre keeps a partial SIP message up to 900 s and takes every
    connection: the guard shuts down one that sends no whole message in
    time and the newest beyond the per-address cap; one that sent a
    REGISTER stays, and the daemon keeps serving."""
    d = Daemon(env, "--trust-udp", "--sip-tcp-first-msg", "2",
               "--sip-tcp-max-per-peer", "4").start()
    tcp_guard(d.sip_port,
              lambda n: REGISTER.format(tp="TCP", n=n).encode(), d.log)


def test_agent_tcp_slowloris_and_flood(env):
    """The same guard on sippush-agent's SIP listener (a MESSAGE push as
    the valid request)."""
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "alice", d.sip_port, "--sip-tcp-first-msg", "2",
              "--sip-tcp-max-per-peer", "4").start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered")
    base = MESSAGE.replace("{port}", str(a.port))
    tcp_guard(a.port, lambda n: base.format(tp="TCP", n="tcp" + n).encode(),
              a.log)
    check(a.proc.poll() is None, "the agent is alive")


if __name__ == "__main__":
    run([test_sippushd, test_agent, test_msrp_flood, test_msrp_hostile,
         test_http_raw,
         test_sip_tcp_slowloris_and_flood,
         test_agent_tcp_slowloris_and_flood])

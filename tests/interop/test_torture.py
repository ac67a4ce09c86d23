#!/usr/bin/env python3
"""The RFC 4475 SIP torture messages against both daemons, over UDP and
TCP: each gets what the RFC expects of it, or the deviation documented in
the README ("Hostile input") with its reason — and neither daemon dies.

The messages are the RFC's own (RFC 4475 §4; the .dat files in
torture/rfc4475/, byte for byte). Over TCP they go as they are, each on a
new connection. Over UDP a Via naming this test's socket is put on top
(as a proxy forwarding it would): the messages' own Vias name 192.0.2.x,
and a datagram's answer goes to the topmost Via — never off this machine.

Expectations, per message: "ok" = acted on (any answer but the
refusals 400/416/420/501/505); a number = that status; None = no answer
(a response, which a UAS drops, or a documented deviation)."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run, udp_request, wait_until
from test_agent import Agent

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torture",
                   "rfc4475")
REFUSALS = (400, 416, 420, 501, 505)

# name: (section, over UDP, over TCP); D: a documented deviation
VALID = "ok"
E = {
    # 3.1.1 valid messages
    "wsinv.dat": ("3.1.1.1 short tortuous INVITE", VALID, VALID),
    "intmeth.dat": ("3.1.1.2 D: quoted-pair NUL refused on purpose",
                    400, 400),
    "esc01.dat": ("3.1.1.3 valid % escaping", VALID, VALID),
    "escnull.dat": ("3.1.1.4 escaped NULs in URIs", VALID, VALID),
    "esc02.dat": ("3.1.1.5 % not an escape: unknown method", 501, 501),
    "lwsdisp.dat": ("3.1.1.6 no LWS before <", VALID, VALID),
    "longreq.dat": ("3.1.1.7 long values; D over TCP: no branch "
                    "(RFC 2543 transaction), libre drops it", VALID, None),
    "dblreq.dat": ("3.1.1.8 extra octets in a datagram", VALID, VALID),
    "semiuri.dat": ("3.1.1.9 ; in the user part", VALID, VALID),
    "transports.dat": ("3.1.1.10 varied transports", VALID, VALID),
    "mpart01.dat": ("3.1.1.11 multipart MIME", VALID, VALID),
    "unreason.dat": ("3.1.1.12 a response: dropped", None, None),
    "noreason.dat": ("3.1.1.13 a response: dropped", None, None),
    # 3.1.2 invalid messages
    "badinv01.dat": ("3.1.2.1 extraneous separators; D over TCP: the "
                     "topmost Via is the bad one, libre drops it", 400, None),
    "clerr.dat": ("3.1.2.2 Content-Length larger than the message "
                  "(a stream waits for the rest)", 400, None),
    "ncl.dat": ("3.1.2.3 negative Content-Length", 400, 400),
    "scalar02.dat": ("3.1.2.4 overlarge scalars", 400, 400),
    "scalarlg.dat": ("3.1.2.5 a response: dropped", None, None),
    "quotbal.dat": ("3.1.2.6 unterminated quoted string", 400, 400),
    "ltgtruri.dat": ("3.1.2.7 <> around the Request-URI; D over TCP: "
                     "libre drops it", 400, None),
    "lwsruri.dat": ("3.1.2.8 D: LWS in the Request-URI, libre's start "
                    "line parser drops it", None, None),
    "lwsstart.dat": ("3.1.2.9 D: several SP in the request line, "
                     "libre drops it", None, None),
    "trws.dat": ("3.1.2.10 D: SP at the end of the request line, "
                 "libre drops it", None, None),
    "escruri.dat": ("3.1.2.11 D: escaped headers in the Request-URI, "
                    "taken liberally", VALID, VALID),
    "baddate.dat": ("3.1.2.12 D: bad Date time zone, Date unused: taken",
                    VALID, VALID),
    "regbadct.dat": ("3.1.2.13 D: name-addr without <>, taken liberally",
                     VALID, VALID),
    "badaspec.dat": ("3.1.2.14 D: spaces in addr-spec, taken liberally",
                     VALID, VALID),
    "baddn.dat": ("3.1.2.15 D: non-token display name, taken liberally",
                  VALID, VALID),
    "badvers.dat": ("3.1.2.16 D: SIP/7.0 wants 505, libre drops it",
                    None, None),
    "mismatch01.dat": ("3.1.2.17 CSeq method mismatch", 400, 400),
    "mismatch02.dat": ("3.1.2.18 unknown method, CSeq mismatch", 400, 400),
    "bigcode.dat": ("3.1.2.19 a response: dropped", None, None),
    # 3.2 transaction layer
    "badbranch.dat": ("3.2.1 branch without a transaction id", VALID,
                      VALID),
    # 3.3 application layer
    "insuf.dat": ("3.3.1 missing required headers", 400, 400),
    "unkscm.dat": ("3.3.2 unknown Request-URI scheme", 416, 416),
    "novelsc.dat": ("3.3.3 known but unsupported scheme", 416, 416),
    "unksm2.dat": ("3.3.4 D: unknown scheme in To, libre drops it",
                   None, None),
    "bext01.dat": ("3.3.5 Require of unknown extensions", 420, 420),
    "invut.dat": ("3.3.6 D: unknown Content-Type in an INVITE: refused "
                  "before the body is looked at (488/403)", VALID, VALID),
    "regaut01.dat": ("3.3.7 unknown Authorization scheme (a trusted "
                     "peer: not challenged)", VALID, VALID),
    "multi01.dat": ("3.3.8 multiple single-value headers", 400, 400),
    "mcl01.dat": ("3.3.9 multiple Content-Length", 400, 400),
    "bcast.dat": ("3.3.10 a response: dropped", None, None),
    "zeromf.dat": ("3.3.11 Max-Forwards 0 at a UAS", VALID, VALID),
    "cparam01.dat": ("3.3.12 Contact parameter", VALID, VALID),
    "cparam02.dat": ("3.3.13 url-parameter", VALID, VALID),
    "regescrt.dat": ("3.3.14 URL-escaped header in Contact", VALID,
                     VALID),
    "sdp01.dat": ("3.3.15 D: unacceptable Accept in an INVITE: refused "
                  "(488/403)", VALID, VALID),
    # 3.4 backward compatibility
    "inv2543.dat": ("3.4.1 D: RFC 2543 INVITE (no Max-Forwards; no branch "
                    "over TCP, libre drops it)", 400, None),
}


def with_via(data, port, n):
    """data with a Via of ours on top (requests only)"""
    if data.startswith(b"SIP/"):
        return data
    first, rest = data.split(b"\n", 1)
    nl = b"\r\n" if first.endswith(b"\r") else b"\n"
    return (first + b"\n" + b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch="
            b"z9hG4bK-torture-%d;rport" % (port, n) + nl + rest)


def status_of(answer):
    if not answer:
        return None
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def send_udp(port, data, n, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(wait)
    try:
        s.sendto(with_via(data, s.getsockname()[1], n), ("127.0.0.1", port))
        return status_of(s.recv(65535))
    except socket.timeout:
        return None
    finally:
        s.close()


def send_tcp(port, data, wait):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(wait)
    try:
        s.sendall(data)
        return status_of(s.recv(65535))
    except socket.timeout:
        return None
    except ConnectionResetError:
        return None
    finally:
        s.close()


def meets(got, want):
    if want == VALID:
        return got is not None and got not in REFUSALS
    return got == want


def torture(name, port, alive):
    files = sorted(os.listdir(DIR))
    check(sorted(E) == files, "expectations and messages differ: %s"
          % sorted(set(E) ^ set(files)))
    bad = []
    for n, f in enumerate(files):
        with open(os.path.join(DIR, f), "rb") as fh:
            data = fh.read()
        sec, w_udp, w_tcp = E[f]
        for tp, want in (("udp", w_udp), ("tcp", w_tcp)):
            wait = 3 if want is not None else 0.4
            got = (send_udp(port, data, n, wait) if tp == "udp" else
                   send_tcp(port, data, wait))
            if not meets(got, want):
                bad.append("%s over %s (%s): got %s, want %s"
                           % (f, tp, sec, got, want))
        check(alive(), "%s died after %s" % (name, f))
    print("%s: %d messages x 2 transports, %d not as expected"
          % (name, len(files), len(bad)))
    check(not bad, "%s:\n  %s" % (name, "\n  ".join(bad)))


OPTIONS = ("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:{via};branch=z9hG4bK-alive{n}\r\n"
           "From: <sip:t@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
           "Call-ID: alive-{n}@t\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n")


def answers(port, proc, n=[0]):
    n[0] += 1
    return proc.poll() is None and udp_request(
        port, OPTIONS.replace("{n}", str(n[0]))).startswith("SIP/2.0 200")


def test_torture_sippushd(env):
    d = Daemon(env, "--log-level", "warn").start()
    torture("sippushd", d.sip_port, lambda: answers(d.sip_port, d.proc))


def test_torture_agent(env):
    d = Daemon(env, "--trust-udp", "--log-level", "warn").start()
    a = Agent(env, "alice", d.sip_port).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "the agent registered")
    torture("sippush-agent", a.port, lambda: answers(a.port, a.proc))


if __name__ == "__main__":
    run([test_torture_sippushd, test_torture_agent])

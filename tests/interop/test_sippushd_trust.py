#!/usr/bin/env python3
"""sippushd's trust by source address (issue 18, item 2).

A --trust peer's third-party or credential-less REGISTER and its asserted
SUBSCRIBE are believed. Over UDP the source address is whatever the
sender writes in the IP header, so by default only TCP/TLS peers are
trusted (--trust-udp widens that; --trust-cert narrows it to TLS peers
presenting a given certificate). The attack: a REGISTER with a forged
127.0.0.2 source, sent through a raw socket, binding an attacker's contact
to alice."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, check, free_port, run, udp_request,
                     wait_until)


def raw_udp(src, sport, dst, dport, payload):
    """One UDP datagram with a forged source (IP_HDRINCL; needs root)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x4242, 0,
                     64, socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.sendto(ip + udp, (dst, 0))
    finally:
        s.close()


def forged(port, text, src="127.0.0.2"):
    """Send text from src (not an address of ours: nothing answers it but
    the socket bound here) and return sippushd's answer, or ""."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind((src, 0))
    r.settimeout(3)
    sport = r.getsockname()[1]
    try:
        raw_udp(src, sport, "127.0.0.1", port,
                text.replace("{src}", "%s:%d" % (src, sport)).encode())
        return r.recv(65535).decode(errors="replace")
    except socket.timeout:
        return ""
    finally:
        r.close()


def third_party(user, contact, via="{src}", transport="UDP"):
    return ("REGISTER sip:push.example.com SIP/2.0\r\n"
            "Via: SIP/2.0/%s %s;branch=z9hG4bK-%d;rport\r\n"
            "From: <sip:scscf@example.com>;tag=f1\r\n"
            "To: <sip:%s@example.com>\r\n"
            "Call-ID: forged-%d@example.com\r\n"
            "CSeq: 1 REGISTER\r\n"
            "Contact: <%s>\r\n"
            "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (transport, via, time.time_ns(), user, time.time_ns(),
               contact))


def first_party(user, contact, via="{src}", transport="UDP"):
    return ("REGISTER sip:push.example.com SIP/2.0\r\n"
            "Via: SIP/2.0/%s %s;branch=z9hG4bK-%d;rport\r\n"
            "From: <sip:%s@example.com>;tag=f2\r\n"
            "To: <sip:%s@example.com>\r\n"
            "Call-ID: forged-%d@example.com\r\n"
            "CSeq: 1 REGISTER\r\n"
            "Contact: <%s>;+sip.instance=\"<urn:uuid:evil>\";"
            "+g.oma.pusheventapp=\"mms.ua\";methods=\"MESSAGE\"\r\n"
            "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (transport, via, time.time_ns(), user, user, time.time_ns(),
               contact))


def subscribe(user, via="{src}"):
    return ("SUBSCRIBE sip:push@localhost SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%d;rport\r\n"
            "From: <sip:%s@example.com>;tag=s1\r\n"
            "To: <sip:push@localhost>\r\n"
            "Call-ID: sub-%d@example.com\r\n"
            "CSeq: 1 SUBSCRIBE\r\n"
            "Contact: <sip:%s@127.0.0.1:9;gr=urn:uuid:evil>\r\n"
            "P-Asserted-Identity: <sip:%s@example.com>\r\n"
            "Event: ua-profile;profile-type=oma-app;event-app-id=\"mms.ua\";"
            "vendor=\"v\";model=\"m\";version=\"1\"\r\n"
            "Accept: text/plain\r\n"
            "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (via, time.time_ns(), user, time.time_ns(), user, user))


def tcp_request(port, text, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        via = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(text.replace("{src}", via).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65535)
            if not d:
                break
            buf += d
        return buf.decode(errors="replace")
    finally:
        s.close()


def code(answer):
    return answer.split("\r\n", 1)[0]


def stored(d, user):
    d.stop()
    return d.db_rows("SELECT aor, contact FROM terminals WHERE aor=?",
                     ("sip:%s@example.com" % user,))


def test_forged_udp_refused(env):
    """Under the defaults (--trust 127.0.0.0/8, no --trust-udp) a
    forged-source REGISTER binds nothing: third-party and first-party."""
    check(os.geteuid() == 0, "a raw socket needs root")
    d = Daemon(env).start()
    evil = "sip:evil@127.0.0.1:%d" % free_port()

    got = forged(d.sip_port, third_party("alice", evil))
    print("forged third-party REGISTER:", code(got))
    check(got.startswith("SIP/2.0 403"), "forged third-party REGISTER: %r"
          % got[:80])
    got = forged(d.sip_port, first_party("alice", evil))
    print("forged first-party REGISTER:", code(got))
    check(got.startswith("SIP/2.0 403") or got.startswith("SIP/2.0 401"),
          "forged credential-less REGISTER: %r" % got[:80])
    # a real UDP peer at a trusted address is no more believed
    got = udp_request(d.sip_port, subscribe("alice", "127.0.0.1:{via}"))
    print("asserted SUBSCRIBE over UDP:", code(got))
    check(got.startswith("SIP/2.0 403") or got.startswith("SIP/2.0 401"),
          "UDP SUBSCRIBE with P-Asserted-Identity: %r" % got[:80])

    check(d.terminals("sip:alice@example.com") == [],
          "alice has terminals: %s" % d.terminals("sip:alice@example.com"))
    rows = stored(d, "alice")
    check(rows == [], "forged bindings stored: %s" % rows)
    check(d.db_rows("SELECT call_id FROM subs") == [], "a subscription")


def test_tcp_trusted_udp_with_flag(env):
    """The same requests over TCP from a --trust address are believed; over
    UDP only with --trust-udp."""
    d = Daemon(env).start()
    # the default is said at start, with what it means (the line comes
    # just after the HTTP API listens: wait for it)
    wait_until(lambda: "trusted peers" in d.log(), 5, "the start-up line")
    check("trusted peers (P-Asserted-Identity believed, REGISTER and "
          "third-party REGISTER without digest): 127.0.0.0/8 over TCP and "
          "TLS only" in d.log(), "start-up line: %s" % d.log()[-600:])
    core = "sip:scscf@127.0.0.1:%d" % free_port()
    got = tcp_request(d.sip_port, third_party("bob", core,
                                              transport="TCP"))
    check(got.startswith("SIP/2.0 200"), "TCP third-party: %r" % got[:80])
    got = udp_request(d.sip_port, third_party("carol", core,
                                              "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 403"), "UDP third-party: %r" % got[:80])
    d.stop()
    check(len(d.db_rows("SELECT 1 FROM terminals WHERE aor=?",
                        ("sip:bob@example.com",))) == 1, "bob over TCP")

    d2 = Daemon(env, "--trust-udp", db="udp.db").start()
    wait_until(lambda: "127.0.0.0/8 over UDP, TCP and TLS" in d2.log(), 5,
               "--trust-udp said")
    got = udp_request(d2.sip_port, third_party("carol", core,
                                               "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 200"), "--trust-udp: %r" % got[:80])
    check(len(d2.terminals("sip:carol@example.com")) == 1, "carol")


def test_trust_cert(env):
    """--trust-cert NAME: only a TLS peer whose verified certificate names
    NAME is trusted (TCP is not, TLS without that certificate is not)."""
    import ssl
    from test_tls import make_pki
    make_pki(env)
    tport = free_port()
    d = Daemon(env, "--sip-tls", "127.0.0.1:%d" % tport, "--tls-cert",
               env.path("push.pem"), "--tls-ca", env.path("ca1.crt"),
               "--trust-cert", "core.test").start()
    wait_until(lambda: "127.0.0.0/8 over TLS only, with a certificate "
               "naming core.test" in d.log(), 5,
               "the start-up line saying the certificate decides")
    core = "sip:scscf@127.0.0.1:%d" % free_port()

    def tls(user, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(env.path("ca1.crt"))
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(env.path(cert + ".pem"))
        raw = socket.create_connection(("127.0.0.1", tport), 5)
        s = ctx.wrap_socket(raw)
        try:
            via = "127.0.0.1:%d" % s.getsockname()[1]
            s.sendall(third_party(user, core, via, "TLS").encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                b = s.recv(65535)
                if not b:
                    break
                buf += b
            return buf.decode(errors="replace")
        finally:
            s.close()

    got = tls("dave", "good")          # CN/SAN core.test, signed by ca1
    check(got.startswith("SIP/2.0 200"), "core.test over TLS: %r" % got[:80])
    got = tls("erin", "wrongname")     # evil.test
    check(got.startswith("SIP/2.0 403"), "evil.test over TLS: %r" % got[:80])
    got = tls("erin", None)            # no certificate
    check(got.startswith("SIP/2.0 403"), "no cert over TLS: %r" % got[:80])
    got = tcp_request(d.sip_port, third_party("erin", core,
                                              transport="TCP"))
    check(got.startswith("SIP/2.0 403"), "TCP with --trust-cert: %r"
          % got[:80])
    d.stop()
    check(d.db_rows("SELECT aor FROM terminals ORDER BY aor") ==
          [("sip:dave@example.com",)], "stored: %s" %
          d.db_rows("SELECT aor FROM terminals"))


if __name__ == "__main__":
    run([test_forged_udp_refused, test_tcp_trusted_udp_with_flag,
         test_trust_cert])

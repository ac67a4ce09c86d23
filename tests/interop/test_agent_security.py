#!/usr/bin/env python3
"""The terminal under attack (issue 18): forged-source UDP pushes (raw
socket on loopback), trusted peers off the registration flow, TLS peers
without the expected certificate, symlinks planted in the agent's
directories, descriptors leaked to exec handlers, a registrar answering
expires=0, and the password on the command line."""
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Daemon, check, free_port, run, udp_request,
                     wait_until)
from test_agent import AGENT
from test_agent import Agent as _Agent


def Agent(*args, **kw):
    """The agent with its defaults (no test-only trust options)"""
    return _Agent(*args, legacy=False, **kw)


def message(port, call_id, via_port, tp="UDP", app="mms.ua",
            body="pushed", pai="sip:push@localhost", via="127.0.0.1"):
    return ("MESSAGE sip:u@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK-%s\r\n"
            "From: <sip:push@localhost>;tag=f1\r\n"
            "To: <sip:u@example.com>\r\nCall-ID: %s\r\n"
            "CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
            "P-Asserted-Identity: <%s>\r\n"
            "Accept-Contact: *;+g.oma.pusheventapp=\"%s\";require;"
            "explicit\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\n\r\n%s" % (
                port, tp, via, via_port, call_id.replace("@", "-"), call_id,
                pai, app, len(body), body))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def forged_udp(src, sport, dport, payload):
    """One UDP datagram to 127.0.0.1:dport whose IP source is src:sport,
    built by hand (IP_HDRINCL): what anyone on the path can send."""
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton("127.0.0.1") + \
        struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp = struct.pack("!HHHH", sport, dport, udp_len,
                      csum(pseudo + udp) or 0xffff) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x5151, 0,
                     64, socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton("127.0.0.1"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    try:
        s.sendto(ip + udp, ("127.0.0.1", dport))
    finally:
        s.close()


def answer_socket(addr="127.0.0.1"):
    """Where the agent's answer goes (the forged request's Via)"""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    s.settimeout(3)
    return s


def recv_answer(s):
    try:
        return s.recv(65535).decode(errors="replace")
    except socket.timeout:
        return ""


def data_files(a):
    return [f for f in a.files() if not f.endswith(".meta")]


def test_forged_udp_source(env):
    """The recommended settings (README, Security model): --trust the
    registrar's /32, registered over TCP. A MESSAGE with P-Asserted-
    Identity forged from the registrar's own address and port over UDP
    is refused (403) and nothing lands; the real push, over the
    registration's TCP flow, is taken."""
    d = Daemon(env).start()
    a = Agent(env, "alice", d.sip_port, "--trust", "127.0.0.1/32",
              "--registrar", "sip:127.0.0.1:%d;transport=tcp" % d.sip_port)
    a.start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered over TCP")
    s = answer_socket()
    try:
        forged_udp("127.0.0.1", d.sip_port, a.port, message(
            a.port, "forged-1@x", s.getsockname()[1]).encode())
        got = recv_answer(s)
    finally:
        s.close()
    print("forged from the registrar's address over UDP: %r" % got[:40])
    check(got.startswith("SIP/2.0 403"), "a forged-source UDP push: %r"
          % got[:200])
    check(data_files(a) == [], "nothing landed: %s" % a.files())

    # another source in 127/8, not the /32
    s = answer_socket("127.0.0.9")
    try:
        forged_udp("127.0.0.9", 5060, a.port, message(
            a.port, "forged-2@x", s.getsockname()[1],
            via="127.0.0.9").encode())
        got = recv_answer(s)
    finally:
        s.close()
    check(got.startswith("SIP/2.0 403"), "forged from 127.0.0.9: %r"
          % got[:200])

    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="the real one")
    check(d.wait_final(pid)["state"] == "delivered", "the real push")
    wait_until(lambda: data_files(a), 5, "the real push landed")
    check(len(data_files(a)) == 1, "only the real push: %s" % a.files())


def test_recommended_modes(env):
    """The recommended settings take every kind of push sippushd sends:
    page mode on the flow, a subscription's NOTIFY (in our own dialog, on
    a connection sippushd opens to our TCP Contact) and session mode."""
    from test_agent_sub import AOR, CAPS, psa, subs
    # sippushd's MSRP rule: loopback only when allowed; no core between
    # them, so the agent authenticates (psa())
    d = psa(env, "--msrp-allow", "127.0.0.1/32")
    a = Agent(env, "alice", d.sip_port, "--subscribe", "sip:push@localhost",
              "--registrar", "sip:127.0.0.1:%d;transport=tcp" % d.sip_port,
              "--trust", "127.0.0.1/32", *CAPS, *d.auth["alice"]).start()
    wait_until(lambda: subs(d), 10, "the subscription")
    check(";transport=tcp" in d.terminals(AOR)[0]["contact"],
          "a TCP Contact: %s" % d.terminals(AOR)[0])
    for method in ("message", "notify", "session"):
        pid = d.push(to=AOR, app="mms.ua", content_type="text/plain",
                     body="by " + method, method=method)
        st = d.wait_final(pid, 30)
        check(st["state"] == "delivered" and
              st["deliveries"][0]["method"] == method, "%s: %s" % (
                  method, st))
    wait_until(lambda: len(data_files(a)) == 3, 10, "three pushes landed")
    check("not trusted" not in a.log(), a.log()[-500:])


def tcp_request(port, text, timeout=5):
    c = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        c.sendall(text.replace("{via}", str(c.getsockname()[1])).encode())
        buf = b""
        end = time.time() + timeout
        while b"\r\n\r\n" not in buf and time.time() < end:
            chunk = c.recv(65535)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")
    except socket.timeout:
        return ""
    finally:
        c.close()


def test_trusted_peer_off_the_flow(env):
    """A trusted address that is not the registration's flow (another
    process on the machine, over TCP) is refused by default; with
    --pushes-via-flow no it is believed. UDP from a trusted address is
    believed only with --trust-udp."""
    d = Daemon(env, "--trust-udp").start()
    a = Agent(env, "bob", d.sip_port, "--registrar",
              "sip:127.0.0.1:%d;transport=tcp" % d.sip_port).start()
    wait_until(lambda: d.terminals("sip:bob@example.com"), 10, "registered")
    got = tcp_request(a.port, message(a.port, "offflow-1@x", 0, "TCP")
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 403"), "off the flow: %r" % got[:100])

    b = Agent(env, "carl", d.sip_port, "--pushes-via-flow", "no",
              name="agent2").start()
    wait_until(lambda: d.terminals("sip:carl@example.com"), 10, "registered")
    got = tcp_request(b.port, message(b.port, "tcp-1@x", 0, "TCP")
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 200"), "TCP, any flow: %r" % got[:100])
    got = udp_request(b.port, message(b.port, "udp-1@x", 0)
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 403"), "UDP without --trust-udp: %r"
          % got[:100])

    c = Agent(env, "dora", d.sip_port, "--pushes-via-flow", "no",
              "--trust-udp", name="agent3").start()
    wait_until(lambda: d.terminals("sip:dora@example.com"), 10, "registered")
    got = udp_request(c.port, message(c.port, "udp-2@x", 0)
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 200"), "UDP with --trust-udp: %r"
          % got[:100])


def test_trust_cert(env):
    """--trust-cert NAME: the registrar's certificate names NAME, the
    push over the TLS flow is taken; an agent expecting another name
    trusts nothing it is sent over TLS (here: it cannot even register)."""
    from test_tls import make_pki
    make_pki(env)
    tport = free_port()
    d = Daemon(env, "--sip-tls", "127.0.0.1:%d" % tport, "--tls-cert",
               env.path("push.pem"), "--tls-ca", env.path("ca1.crt"),
               "--tls-verify-host", "127.0.0.1").start()
    reg = "sip:127.0.0.1:%d;transport=tls" % tport
    tls = ["--tls-cert", env.path("agent.pem"), "--tls-ca",
           env.path("ca1.crt"), "--tls-verify-host", "push.test",
           "--registrar", reg]
    a = Agent(env, "alice", d.sip_port, "--sip-tls",
              "127.0.0.1:%d" % free_port(), "--trust-cert", "push.test",
              *tls).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 15,
               "registered over TLS")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="from push.test")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    wait_until(lambda: data_files(a), 10, "the push landed")

    b = Agent(env, "bob", d.sip_port, "--sip-tls",
              "127.0.0.1:%d" % free_port(), "--trust-cert", "core.test",
              *tls, name="bob").start()
    wait_until(lambda: "warn agent: registration:" in b.log(), 15,
               "bob's TLS peer refused")
    pid = d.push(to="sip:bob@example.com", app="mms.ua",
                 content_type="text/plain", body="to bob")
    check(not d.terminals("sip:bob@example.com"), "bob not registered")
    check(data_files(b) == [], "nothing for bob: %s" % b.files())


def plant(link, target):
    os.symlink(target, link)


def test_symlinks_and_modes(env):
    """Symlinks planted where the agent writes (its temp names in the
    inbox, the seen file's rewrite in the state dir) do not make a push
    overwrite another file; files are 0640 (handler) and 0600 (state);
    a world-writable inbox owned by someone else is refused."""
    victim = env.path("victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    state = env.path("agent-state")
    inbox = env.path("agent-inbox")
    os.mkdir(state, 0o700)
    os.mkdir(inbox, 0o700)
    for name in (".evil1.tmp", ".evil1.meta.tmp"):
        plant(os.path.join(inbox, name), victim)
    plant(os.path.join(state, "seen.tmp"), victim)

    a = Agent(env, "eve", free_port(), "--pushes-via-flow", "no",
              "--trust-udp").start()
    wait_until(lambda: os.path.exists(os.path.join(state, "seen")), 10,
               "the agent up")
    got = udp_request(a.port, message(a.port, "evil1", 0, body="OWNED")
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    with open(victim) as f:
        now = f.read()
    print("victim after the push: %r (answer %r)" % (now, got[:30]))
    check(now == "precious\n", "the victim was overwritten: %r" % now)
    check(got.startswith("SIP/2.0 200"), "the push taken: %r" % got[:100])
    with open(os.path.join(inbox, "evil1")) as f:
        check(f.read() == "OWNED", "the push landed in the inbox")
    modes = {n: stat.S_IMODE(os.lstat(os.path.join(inbox, n)).st_mode)
             for n in ("evil1", "evil1.meta")}
    modes.update({n: stat.S_IMODE(os.lstat(os.path.join(state, n)).st_mode)
                  for n in ("seen", "instance")})
    print("modes: %s" % {k: oct(v) for k, v in modes.items()})
    check(modes == {"evil1": 0o640, "evil1.meta": 0o640, "seen": 0o600,
                    "instance": 0o600}, "modes: %s" % modes)

    # an inbox anyone may write to, owned by another user: refused
    shared = env.path("shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    os.chown(shared, 65534, 65534)
    out = subprocess.run([AGENT, "--aor", "sip:x@example.com",
                          "--registrar", "sip:127.0.0.1:9", "--sip",
                          "127.0.0.1:%d" % free_port(), "--state-dir",
                          env.path("x-state"), "--app",
                          "mms.ua=dir:" + shared], capture_output=True,
                         text=True, timeout=10)
    print("world-writable inbox: exit %s %r" % (out.returncode,
                                               out.stderr[-200:]))
    check(out.returncode == 2 and "--app" in out.stderr,
          "a world-writable inbox of another user: %s %s" % (
              out.returncode, out.stderr))


def test_store_mode(env):
    """sippushd's store (and its WAL) are 0600, its spool directory 0700
    (the spool's files are mkstemp's, 0600 already)"""
    d = Daemon(env).start()
    d.push(to="sip:nobody@example.com", app="mms.ua",
           content_type="text/plain", body="x")
    modes = {n: oct(stat.S_IMODE(os.stat(env.path(n)).st_mode))
             for n in os.listdir(env.dir) if n.startswith("sippush.db")}
    print("store modes: %s" % modes)
    check(modes and all(m == ("0o700" if os.path.isdir(env.path(n)) else
                              "0o600") for n, m in modes.items()),
          "store modes: %s" % modes)


def test_exec_descriptors(env):
    """An exec handler inherits nothing but stdin, stdout and stderr"""
    out = env.path("fds.out")
    script = env.path("fds.py")
    with open(script, "w") as f:
        f.write("#!/usr/bin/env python3\nimport os\nres = []\n"
                "for n in sorted(os.listdir('/proc/self/fd'), key=int):\n"
                "    try:\n"
                "        res.append('%%s %%s' %% (n, os.readlink("
                "'/proc/self/fd/' + n)))\n"
                "    except OSError:\n        pass\n"
                "open(%r, 'w').write('\\n'.join(res))\n" % out)
    os.chmod(script, stat.S_IRWXU)
    a = Agent(env, "fred", free_port(), "--pushes-via-flow", "no",
              "--trust-udp", "--app", "syncml.dm=exec:" + script).start()
    wait_until(lambda: "registering at" in a.log(), 10, "the agent up")
    got = udp_request(a.port, message(a.port, "fds-1@x", 0, app="syncml.dm")
                      .replace("127.0.0.1:0", "127.0.0.1:{via}"))
    check(got.startswith("SIP/2.0 200"), "taken: %r" % got[:100])
    wait_until(lambda: os.path.exists(out), 10, "the handler ran")
    lines = open(out).read().splitlines()
    extra = [l for l in lines if int(l.split()[0]) > 2 and
             "/proc/" not in l]
    print("inherited beyond 0-2: %s" % extra)
    check(extra == [], "descriptors inherited: %s" % extra)


class FakeRegistrar:
    """Answers every REGISTER 200 with the agent's Contact;expires=N, and
    every SUBSCRIBE 200 with Expires: sub_expires"""

    def __init__(self, expires, sub_expires=3600):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", free_port()))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.expires = expires
        self.sub_expires = sub_expires
        self.times = []
        self.subs = []
        self.stop = False
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    def serve(self):
        while not self.stop:
            try:
                data, peer = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            txt = data.decode(errors="replace")
            hdrs = {}
            for line in txt.split("\r\n\r\n")[0].split("\r\n")[1:]:
                k, _, v = line.partition(":")
                hdrs.setdefault(k.strip().lower(), v.strip())
            if txt.startswith("SUBSCRIBE "):
                self.subs.append(time.monotonic())
                to = hdrs["to"] if ";tag=" in hdrs["to"] else \
                    hdrs["to"] + ";tag=sub"
                resp = ("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\n"
                        "To: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                        "Contact: <sip:n@127.0.0.1:%d>\r\nExpires: %d\r\n"
                        "Content-Length: 0\r\n\r\n" % (
                            hdrs["via"], hdrs["from"], to, hdrs["call-id"],
                            hdrs["cseq"], self.port, self.sub_expires))
                self.s.sendto(resp.encode(), peer)
                continue
            if not txt.startswith("REGISTER "):
                continue
            self.times.append(time.monotonic())
            resp = ("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\n"
                    "To: %s;tag=reg\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                    "Contact: %s;expires=%d\r\nContent-Length: 0\r\n\r\n"
                    % (hdrs["via"], hdrs["from"], hdrs["to"],
                       hdrs["call-id"], hdrs["cseq"],
                       hdrs["contact"].split(";expires")[0], self.expires))
            self.s.sendto(resp.encode(), peer)

    def close(self):
        self.stop = True
        self.th.join(2)
        self.s.close()


def test_expires_zero_loop(env):
    """A registrar granting expires=0 (or 1): the agent refreshes with a
    floor and backoff, not every millisecond"""
    for expires in (0, 1):
        r = FakeRegistrar(expires)
        try:
            a = Agent(env, "gil", r.port, name="agent-%d" % expires).start()
            wait_until(lambda: r.times, 10, "the first REGISTER")
            time.sleep(4)
            n = len(r.times)
            a.proc.terminate()
            a.proc.wait(10)
        finally:
            r.close()
        print("expires=%d: %d REGISTERs in 4 s" % (expires, n))
        check(n <= 4, "expires=%d: %d REGISTERs in 4 s" % (expires, n))


def test_sub_expires_one(env):
    """A notifier granting Expires: 1 to every SUBSCRIBE: refreshed after
    1 s, then 2, 4 ... (not twice a second)"""
    from test_agent_sub import CAPS
    r = FakeRegistrar(3600, sub_expires=1)
    try:
        a = Agent(env, "hub", r.port, "--subscribe", "sip:push@localhost",
                  *CAPS).start()
        wait_until(lambda: r.subs, 10, "the first SUBSCRIBE")
        time.sleep(4)
        n = len(r.subs)
        a.proc.terminate()
        a.proc.wait(10)
    finally:
        r.close()
    print("Expires: 1: %d SUBSCRIBEs in 4 s" % n)
    check(n <= 3, "Expires: 1: %d SUBSCRIBEs in 4 s" % n)


def test_password_not_on_command_line(env):
    """--auth-pass-file and SIPPUSH_AUTH_PASS: the password registers
    and is not in the agent's command line (what ps shows)"""
    d = Daemon(env, "--trust", "10.200.0.0/16").start()
    st, doc, _ = d.http("PUT", "/v1/users/sip:hal@example.com/credentials",
                        {"password": "pa55-file"})
    check(st == 202, "credentials: %s %s" % (st, doc))
    st, doc, _ = d.http("PUT", "/v1/users/sip:ida@example.com/credentials",
                        {"password": "pa55-env"})
    check(st == 202, "credentials: %s %s" % (st, doc))
    pw = env.path("pw")
    with open(pw, "w") as f:
        f.write("pa55-file\n")
    os.chmod(pw, 0o600)
    a = Agent(env, "hal", d.sip_port, "--auth-user", "hal",
              "--auth-pass-file", pw).start()
    os.environ["SIPPUSH_AUTH_PASS"] = "pa55-env"
    try:
        b = Agent(env, "ida", d.sip_port, "--auth-user", "ida",
                  name="agent-env").start()
    finally:
        del os.environ["SIPPUSH_AUTH_PASS"]
    wait_until(lambda: d.terminals("sip:hal@example.com") and
               d.terminals("sip:ida@example.com") or
               a.proc.poll() is not None, 10, "digest registrations")
    check(a.proc.poll() is None, "agent: " + a.log()[-300:])
    for p in (a, b):
        with open("/proc/%d/cmdline" % p.proc.pid, "rb") as f:
            cmd = f.read()
        check(b"pa55" not in cmd, "password on the command line: %r" % cmd)
    out = subprocess.run([AGENT, "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    check("--auth-pass-file" in out and "SIPPUSH_AUTH_PASS" in out,
          "--help says so: " + out)


if __name__ == "__main__":
    run([test_forged_udp_source, test_recommended_modes,
         test_trusted_peer_off_the_flow,
         test_trust_cert, test_symlinks_and_modes, test_store_mode,
         test_exec_descriptors, test_expires_zero_loop, test_sub_expires_one,
         test_password_not_on_command_line])

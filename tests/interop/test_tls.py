#!/usr/bin/env python3
"""TLS: SIP over TLS on sippushd (its certificate offered; every server it
connects to verified — chain and name, which libre 1.1.0 does not do by
itself) and the HTTP API over HTTPS. The peers are Python's ssl module:
a client that checks sippushd's certificate and registers over TLS, and
three terminals' TLS servers — one with a good certificate (the push is
delivered), one whose certificate names another host and one signed by
an untrusted CA (sippushd refuses both handshakes: nothing reaches
them)."""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run, wait_until
from test_agent import Agent


def openssl(env, *args):
    subprocess.run(["openssl"] + list(args), cwd=env.dir, check=True,
                   capture_output=True, timeout=60)


def make_pki(env):
    """Two CAs; certificates for sippushd and three terminals."""
    for ca in ("ca1", "ca2"):
        openssl(env, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2",
                "-subj", "/CN=sippush test " + ca)

    def leaf(name, ca, san):
        with open(env.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        openssl(env, "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj",
                "/CN=" + name)
        openssl(env, "x509", "-req", "-in", name + ".csr", "-CA",
                ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
                "-out", name + ".crt", "-days", "2", "-extfile",
                name + ".ext")
        with open(env.path(name + ".pem"), "w") as out:
            for part in (".crt", ".key"):
                with open(env.path(name + part)) as f:
                    out.write(f.read())
    leaf("push", "ca1", "DNS:push.test,IP:127.0.0.1")
    leaf("good", "ca1", "DNS:core.test")
    leaf("wrongname", "ca1", "DNS:evil.test")
    leaf("untrusted", "ca2", "DNS:core.test")
    leaf("agent", "ca1", "IP:127.0.0.1")


class TlsTerminal:
    """A TLS server answering 200 to every request; records handshakes
    and the requests it read."""

    def __init__(self, env, name):
        self.port = free_port()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(env.path(name + ".pem"))
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(8)
        self.ls.settimeout(0.2)
        self.handshakes = 0
        self.failures = []
        self.requests = []
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    def serve(self):
        end = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return   # closed
            c.settimeout(5)
            try:
                s = self.ctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.failures.append(str(e))
                c.close()
                continue
            self.handshakes += 1
            threading.Thread(target=self.conn, args=(s,),
                             daemon=True).start()

    def conn(self, s):
        buf = b""
        try:
            while not self.stop.is_set():
                data = s.recv(65535)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    m = re.search(rb"(?im)^content-length: *(\d+)", head)
                    n = int(m.group(1)) if m else 0
                    if len(rest) < n:
                        break
                    buf = rest[n:]
                    self.requests.append(head.split(b"\r\n", 1)[0])
                    keep = [l for l in head.split(b"\r\n")[1:] if
                            re.match(rb"(?i)(via|from|to|call-id|cseq):", l)]
                    s.sendall(b"SIP/2.0 200 OK\r\n" + b"\r\n".join(
                        l + (b";tag=t1" if l.lower().startswith(b"to:")
                             else b"") for l in keep) +
                        b"\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            return

    def close(self):
        self.stop.set()
        self.ls.close()


def register_over_tls(env, d, port, user, term_port):
    """REGISTER over TLS to sippushd, checking its certificate."""
    ctx = ssl.create_default_context(cafile=env.path("ca1.crt"))
    raw = socket.create_connection(("127.0.0.1", port), 5)
    s = ctx.wrap_socket(raw, server_hostname="push.test")
    msg = ("REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TLS 127.0.0.1:9;rport;branch=z9hG4bK-%s\r\n"
           "From: <sip:%s@example.com>;tag=1\r\n"
           "To: <sip:%s@example.com>\r\n"
           "Call-ID: tls-%s@x\r\n"
           "CSeq: 1 REGISTER\r\n"
           "Contact: <sip:%s@127.0.0.1:%d;transport=tls>;"
           "+g.oma.pusheventapp=\"mms.ua\"\r\n"
           "Max-Forwards: 70\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
           % (user, user, user, user, user, term_port))
    s.sendall(msg.encode())
    s.settimeout(5)
    line = s.recv(65535).split(b"\r\n", 1)[0]
    s.close()
    return line


def https(env, d, method, path, body=None):
    ctx = ssl.create_default_context(cafile=env.path("ca1.crt"))
    req = urllib.request.Request("https://127.0.0.1:%d%s" % (d.http_port,
                                                             path),
                                 data=json.dumps(body).encode() if body
                                 else None, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer %s"
                                          % d.token})
    with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
        return r.status, json.loads(r.read() or b"null") if \
            r.headers.get("Content-Type", "").startswith("application/json") \
            else r.read()


class TlsDaemon(Daemon):
    def _up(self):
        if self.proc.poll() is not None:
            return super()._up()
        try:
            socket.create_connection(("127.0.0.1", self.http_port),
                                     0.2).close()
            return True
        except OSError:
            return False


def test_sip_tls_and_https(env):
    make_pki(env)
    tport = free_port()
    d = TlsDaemon(env, "--sip-tls", "127.0.0.1:%d" % tport, "--tls-cert",
                  env.path("push.pem"), "--tls-ca", env.path("ca1.crt"),
                  "--tls-verify-host", "core.test", "--http-cert",
                  env.path("push.pem"), "--retry-base", "300").start()
    terms = {n: TlsTerminal(env, n) for n in ("good", "wrongname",
                                               "untrusted")}
    try:
        # the API over HTTPS, verified by the client; plain HTTP refused
        st, body = https(env, d, "GET", "/metrics")
        check(st == 200 and b"sippush_pushes_accepted_total" in body,
              "GET /metrics over HTTPS: %s" % st)
        try:
            urllib.request.urlopen(d.base + "/metrics", timeout=5)
            plain = "answered"
        except Exception as e:   # noqa: BLE001  (any failure will do)
            plain = type(e).__name__
        check(plain != "answered", "plain HTTP on the HTTPS port answered")

        # REGISTER over TLS, sippushd's certificate checked by the client
        for n, t in terms.items():
            line = register_over_tls(env, d, tport, n, t.port)
            check(line.startswith(b"SIP/2.0 200"), "REGISTER %s over TLS: "
                  "%s" % (n, line))

        ids = {}
        for n in terms:
            st, doc = https(env, d, "POST", "/v1/pushes", {
                "to": "sip:%s@example.com" % n, "app": "mms.ua",
                "content_type": "text/plain", "body": "over tls", "ttl": 4})
            check(st == 202, "push to %s: %s" % (n, st))
            ids[n] = doc["id"]

        def state(n):
            return https(env, d, "GET", "/v1/pushes/" + ids[n])[1]
        wait_until(lambda: state("good")["state"] == "delivered", 15,
                   "the push over a verified TLS connection")
        check(terms["good"].requests and
              terms["good"].requests[0].startswith(b"MESSAGE sip:good@"),
              "the good terminal got the MESSAGE: %s" %
              terms["good"].requests)
        for n in ("wrongname", "untrusted"):
            wait_until(lambda n=n: state(n)["state"] != "pending", 20,
                       "%s's push to end" % n)
            st = state(n)
            t = terms[n]
            check(st["state"] != "delivered" and not t.requests and
                  t.failures and t.handshakes == 0,
                  "%s: push %s, requests %s, handshakes %d, failures %s" %
                  (n, st, t.requests, t.handshakes, t.failures[:2]))
    finally:
        for t in terms.values():
            t.close()


def test_agent_over_tls(env):
    """sippush-agent registers over TLS (checking sippushd's certificate
    by name) and takes a push over TLS (sippushd checking the agent's by
    IP); an agent that does not trust sippushd's CA never registers."""
    make_pki(env)
    tport = free_port()
    d = Daemon(env, "--sip-tls", "127.0.0.1:%d" % tport, "--tls-cert",
               env.path("push.pem"), "--tls-ca", env.path("ca1.crt"),
               "--tls-verify-host", "127.0.0.1").start()
    reg = "sip:127.0.0.1:%d;transport=tls" % tport
    a = Agent(env, "alice", d.sip_port, "--sip-tls",
              "127.0.0.1:%d" % free_port(), "--tls-cert",
              env.path("agent.pem"), "--tls-ca", env.path("ca1.crt"),
              "--tls-verify-host", "push.test", "--registrar", reg).start()
    wait_until(lambda: d.terminals("sip:alice@example.com"), 15,
               "the agent registered over TLS")
    t = d.terminals("sip:alice@example.com")[0]
    check("transport=tls" in t["contact"], "a TLS contact: %s" % t)
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="tls all the way")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the push in the agent's inbox")

    b = Agent(env, "bob", d.sip_port, "--sip-tls",
              "127.0.0.1:%d" % free_port(), "--tls-cert",
              env.path("agent.pem"), "--tls-ca", env.path("ca2.crt"),
              "--registrar", reg, name="bob").start()
    wait_until(lambda: "warn agent: registration:" in b.log(), 15,
               "bob's registration to fail")
    time.sleep(1)
    check(not d.terminals("sip:bob@example.com") and b.proc.poll() is None,
          "bob, not trusting sippushd's CA, is not registered: %s" %
          b.log()[-600:])


def test_tls_needs_a_certificate(env):
    out = subprocess.run([os.path.join(os.environ.get(
        "SIPPUSH_BUILD", os.path.join(os.path.dirname(__file__), "..", "..",
                                      "build")), "cmd", "sippushd"),
        "--sip", "127.0.0.1:%d" % free_port(), "--http",
        "127.0.0.1:%d" % free_port(), "--db", env.path("x.db"),
        "--sip-tls", "127.0.0.1:%d" % free_port()], capture_output=True,
        text=True, timeout=20)
    check(out.returncode != 0 and "--tls-cert" in out.stderr,
          "--sip-tls without --tls-cert: %s %s" % (out.returncode,
                                                    out.stderr))


if __name__ == "__main__":
    run([test_sip_tls_and_https, test_agent_over_tls,
         test_tls_needs_a_certificate])

#!/usr/bin/env python3
"""RFC 5626 outbound at sippushd's registrar. A terminal that registers
straight to sippushd asking for outbound (Supported: outbound, Contact with
+sip.instance and reg-id) gets Require: outbound and the --flow-timer as
Flow-Timer, and its pushes come back on the flow it registered on: to the
REGISTER's source over UDP, on the same connection over TCP. The Contact
names a port where nothing listens, as behind a NAT, so a push can only
arrive by the flow. Without outbound in Supported, nothing changes: no
Require, the push goes to the Contact. And sippush-agent over TCP: its
keep-alive takes the Flow-Timer and its pushes come on its connection.
Through Kamailio as an RFC 5626 edge proxy (outbound + path modules): the
Path with ;ob is the route, pushes go down the terminal's flow."""
import os
import re
import signal
import socket
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, check, free_port, read_text, run,
                     start_kamailio, wait_until)
from test_agent import Agent

HERE = os.path.dirname(os.path.abspath(__file__))


def register_msg(user, local, dead_port, transport, supported, instance):
    return ("REGISTER sip:example.com SIP/2.0\r\n"
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s\r\n"
            "From: <sip:%s@example.com>;tag=ob1\r\n"
            "To: <sip:%s@example.com>\r\n"
            "Call-ID: %s@ob\r\n"
            "CSeq: 1 REGISTER\r\n"
            "Contact: <sip:%s@127.0.0.1:%d;transport=%s>;+sip.instance="
            "\"<%s>\";reg-id=1;+g.oma.pusheventapp=\"mms.ua\"\r\n"
            "Supported: %s\r\n"
            "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (transport.upper(), local, uuid.uuid4().hex, user, user,
               uuid.uuid4().hex, user, dead_port, transport.lower(),
               instance, supported)).encode()


class Flow:
    """One UDP socket or TCP connection of a terminal, read whole SIP
    messages at a time (Content-Length 0 or as given)."""

    def __init__(self, port, tcp):
        self.tcp = tcp
        if tcp:
            self.s = socket.create_connection(("127.0.0.1", port), 5)
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind(("127.0.0.1", 0))
            self.s.connect(("127.0.0.1", port))
        self.s.settimeout(10)
        self.local = self.s.getsockname()[1]
        self.buf = b""

    @classmethod
    def accepted(cls, sock):
        """The registrar's end of a connection a terminal opened"""
        f = cls.__new__(cls)
        f.tcp, f.s, f.buf = True, sock, b""
        f.s.settimeout(10)
        f.local = f.s.getpeername()[1]   # the terminal's port
        return f

    def send(self, data):
        self.s.sendall(data)

    def recv(self):
        if not self.tcp:
            return self.s.recv(65535).decode(errors="replace")
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65535)
            check(chunk, "the flow was closed")
            self.buf += chunk
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        clen = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                clen = int(line.split(b":", 1)[1])
        while len(rest) < clen:
            chunk = self.s.recv(65535)
            check(chunk, "the flow was closed")
            rest += chunk
        self.buf = rest[clen:]
        return (head + b"\r\n\r\n" + rest[:clen]).decode(errors="replace")

    def close(self):
        self.s.close()


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def answer_200(req):
    keep = [line for line in req.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
            if line.split(":", 1)[0].lower() in
            ("via", "from", "call-id", "cseq")]
    to = header(req, "To") + ";tag=term"
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nTo: " + to +
            "\r\nContent-Length: 0\r\n\r\n").encode()


def tcp_agent(env, user, port, *extra):
    """A sippush-agent registering over TCP (so with a TCP flow)"""
    a = Agent(env, user, port, *extra)
    i = a.args.index("--registrar")
    a.args[i + 1] += ";transport=tcp"
    return a.start()


def took_outbound(a, flow_timer):
    """The agent's log says it keeps the registrar's flow alive at the
    Flow-Timer it was given"""
    wait_until(lambda: "flow keep-alive every %d s (Flow-Timer)" % flow_timer
               in a.log() and "the registrar keeps this flow (outbound)"
               in a.log(), 5, "the agent to take outbound and the "
               "Flow-Timer")


def push_over_flow(env, d, tcp):
    user = "ob" + ("tcp" if tcp else "udp")
    aor = "sip:%s@example.com" % user
    dead = free_port()     # nothing listens there
    f = Flow(d.sip_port, tcp)
    inst = "urn:uuid:%s" % uuid.uuid4()
    try:
        f.send(register_msg(user, f.local, dead, "tcp" if tcp else "udp",
                            "gruu, outbound", inst))
        ok = f.recv()
        check(ok.startswith("SIP/2.0 200"), "REGISTER: %s" % ok)
        check(header(ok, "Require") == "outbound" and
              header(ok, "Flow-Timer") == "25", "outbound in the 200: %s"
              % ok)
        t = d.terminals(aor)
        want = "<sip:127.0.0.1:%d%s;lr>" % (
            f.local, ";transport=tcp" if tcp else "")
        check(len(t) == 1 and t[0]["path"] == want and
              t[0]["contact"].startswith("sip:%s@127.0.0.1:%d" %
                                         (user, dead)),
              "the flow is the route: %s" % t)

        pid = d.push(to=aor, app="mms.ua", content_type="text/plain",
                     body="over the flow")
        req = f.recv()
        check(req.startswith("MESSAGE sip:%s@127.0.0.1:%d" % (user, dead)),
              "the MESSAGE, to the Contact, on the flow: %s" % req[:300])
        check(req.endswith("over the flow"), "body: %s" % req)
        f.send(answer_200(req))
        st = d.wait_final(pid)
        check(st["state"] == "delivered", "push: %s" % st)
    finally:
        f.close()


def test_udp_flow(env):
    d = Daemon(env, "--trust-udp", "--flow-timer", "25").start()
    push_over_flow(env, d, tcp=False)


def test_tcp_flow(env):
    d = Daemon(env, "--trust-udp", "--flow-timer", "25").start()
    push_over_flow(env, d, tcp=True)


def test_without_outbound(env):
    """No outbound in Supported: no Require, no Flow-Timer, the Contact
    is where the push goes (here it is where the terminal listens)."""
    d = Daemon(env, "--trust-udp", "--flow-timer", "25").start()
    f = Flow(d.sip_port, tcp=False)
    try:
        f.send(register_msg("plain", f.local, f.local, "udp", "gruu",
                            "urn:uuid:%s" % uuid.uuid4()))
        ok = f.recv()
        check(ok.startswith("SIP/2.0 200") and
              header(ok, "Require") is None and
              header(ok, "Flow-Timer") is None, "plain 200: %s" % ok)
        t = d.terminals("sip:plain@example.com")
        check(len(t) == 1 and t[0]["path"] is None, "no route: %s" % t)
    finally:
        f.close()

    # through a proxy without ;ob in its Path: not ours to keep
    f = Flow(d.sip_port, tcp=False)
    try:
        msg = register_msg("viaedge", f.local, f.local, "udp",
                           "gruu, outbound", "urn:uuid:%s" % uuid.uuid4())
        msg = msg.replace(b"Supported:", b"Path: <sip:edge@127.0.0.1:%d;lr>"
                          b"\r\nSupported:" % f.local)
        f.send(msg)
        ok = f.recv()
        check(ok.startswith("SIP/2.0 200") and header(ok, "Require") is None,
              "Path without ob: %s" % ok)
        msg = msg.replace(b";lr>", b";lr;ob>").replace(b"CSeq: 1", b"CSeq: 2")
        f.send(msg)
        ok = f.recv()
        check(ok.startswith("SIP/2.0 200") and
              header(ok, "Require") == "outbound", "Path with ob: %s" % ok)
        t = d.terminals("sip:viaedge@example.com")
        check(len(t) == 1 and t[0]["path"] ==
              "<sip:edge@127.0.0.1:%d;lr;ob>" % f.local,
              "the edge keeps the flow: %s" % t)
    finally:
        f.close()


def test_agent_tcp_flow(env):
    d = Daemon(env, "--trust-udp", "--flow-timer", "20").start()
    a = tcp_agent(env, "alice", d.sip_port)
    wait_until(lambda: d.terminals("sip:alice@example.com"), 10,
               "registered")
    t = d.terminals("sip:alice@example.com")[0]
    check(t["path"] is not None and ";transport=tcp;lr>" in t["path"],
          "the agent's TCP flow is its route: %s" % t)
    took_outbound(a, 20)
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="tcp flow")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    wait_until(lambda: [f for f in a.files() if not f.endswith(".meta")],
               10, "the push at the agent")


def plain_register(f, what):
    """Answer the agent's REGISTER on f as a registrar without outbound
    (no Require: outbound, no Flow-Timer); the REGISTER"""
    req = f.recv()
    check(req.startswith("REGISTER ") and "reg-id=" in req and
          "outbound" in (header(req, "Supported") or ""),
          "%s: a REGISTER asking for outbound: %s" % (what, req))
    f.send(answer_200(req).replace(
        b"Content-Length:", b"Contact: %s;expires=3600\r\nContent-Length:"
        % header(req, "Contact").encode()))
    return req


def test_agent_tcp_without_outbound(env):
    """A plain RFC 3261 registrar over TCP: no Require: outbound, no
    Flow-Timer. The agent sends it no keep-alive (libre's sipreg neither):
    it need not answer a CRLF ping, and the agent used to close its
    connection and register again every 2 minutes. It still watches the
    connection: pushes must come on it (--pushes-via-flow yes), so when the
    registrar closes it the agent registers again on a new one."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(2)
    ls.settimeout(10)
    try:
        a = tcp_agent(env, "plain", ls.getsockname()[1])
        f = Flow.accepted(ls.accept()[0])
        try:
            first = plain_register(f, "first")
            wait_until(lambda: "no flow keep-alive: the registrar did not "
                       "say outbound" in a.log(), 10,
                       "the agent to take the 200 without outbound")
            check("flow keep-alive at" not in a.log() and
                  "flow keep-alive every" not in a.log(), a.log())
        finally:
            f.close()
        try:
            g = Flow.accepted(ls.accept()[0])
        except socket.timeout:
            check(False, "no new connection after the close: %s" % a.log())
        try:
            again = plain_register(g, "after the close")
            check(header(again, "Call-ID") == header(first, "Call-ID"),
                  "the same registration, refreshed: %s" % again)
            wait_until(lambda: a.log().count("watching the connection") == 2,
                       10, "registered on the new connection")
            check("connection to the registrar closed" in a.log(), a.log())
        finally:
            g.close()
    finally:
        ls.close()


def test_agent_flow_lost(env):
    """A TCP flow dies with sippushd (kill -9). The push made after the
    restart first fails on the old flow and waits out a long retry delay
    (--retry-base 60 s); the agent (held with SIGSTOP until then) sees its
    flow closed and registers on a new connection, which sends the
    waiting push at once, down the new flow."""
    d = Daemon(env, "--trust-udp", "--flow-timer", "20", "--retry-base", "60000").start()
    a = tcp_agent(env, "carol", d.sip_port, "--reg-retry", "1")
    wait_until(lambda: d.terminals("sip:carol@example.com"), 10,
               "registered")
    old = d.terminals("sip:carol@example.com")[0]["path"]
    a.proc.send_signal(signal.SIGSTOP)
    try:
        d.kill9()
        d.start()
        pid = d.push(to="sip:carol@example.com", app="mms.ua",
                     content_type="text/plain", body="after the flow died")
        # the delivery appears once the push is planned, after its commit
        wait_until(lambda: [x for x in d.status(pid)["deliveries"]
                            if x["attempts"] == 1], 10,
                   "the first attempt, on the dead flow")
        check(d.status(pid)["state"] == "pending", "still pending")
    finally:
        a.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: "flow keep-alive failed" in a.log(), 10,
               "the agent to see its flow gone")
    st = d.wait_final(pid, timeout=15)   # not the 60 s retry delay
    check(st["state"] == "delivered", "push: %s" % st)
    new = d.terminals("sip:carol@example.com")[0]["path"]
    check(new != old and ";transport=tcp;lr>" in new,
          "a new flow: %s -> %s" % (old, new))
    dl = st["deliveries"][0]
    check(dl["attempts"] == 2 and "route <sip:127.0.0.1" in dl["steps"],
          "two attempts, the second on the new route: %s" % dl)
    wait_until(lambda: [x for x in a.files() if not x.endswith(".meta")],
               10, "the push at the agent")


def test_through_kamailio_edge(env):
    """Kamailio's outbound + path modules as the edge proxy: the terminal
    registers through it; sippushd sees a Path with the flow token and
    ;ob, keeps it as the route and answers Require: outbound (relayed to
    the terminal with the Flow-Timer); the push goes to Kamailio, which
    sends it down the terminal's flow, not to its (dead) Contact."""
    d = Daemon(env, "--trust-udp", "--flow-timer", "25").start()
    kport = free_port()
    with open(os.path.join(HERE, "kamailio", "edge.cfg")) as f:
        cfg = f.read().replace("__PORT__", str(kport)).replace(
            "__AS_PORT__", str(d.sip_port))
    start_kamailio(env, cfg)
    dead = free_port()
    f = Flow(kport, tcp=False)
    try:
        f.send(register_msg("edge", f.local, dead, "udp", "gruu, outbound",
                            "urn:uuid:%s" % uuid.uuid4()))
        ok = f.recv()
        check(ok.startswith("SIP/2.0 200") and
              header(ok, "Require") == "outbound" and
              header(ok, "Flow-Timer") == "25",
              "the 200 through the edge: %s" % ok)
        t = d.terminals("sip:edge@example.com")
        check(len(t) == 1 and t[0]["path"] and ";ob>" in t[0]["path"] and
              "@127.0.0.1:%d;lr" % kport in t[0]["path"],
              "the edge's Path (flow token, ob) is the route: %s" % t)

        pid = d.push(to="sip:edge@example.com", app="mms.ua",
                     content_type="text/plain", body="through the edge")
        req = f.recv()
        check(req.startswith("MESSAGE sip:edge@127.0.0.1:%d" % dead) and
              req.endswith("through the edge"),
              "the MESSAGE down the flow: %s" % req[:400])
        f.send(answer_200(req))
        st = d.wait_final(pid)
        check(st["state"] == "delivered", "push: %s" % st)
    finally:
        f.close()
    klog = read_text(env.path("kamailio.log"))
    check(re.search(r"edge: MESSAGE sip:edge@127\.0\.0\.1:%d\S* over the "
                    r"flow to sip:127\.0\.0\.1:%d\b" % (dead, f.local), klog),
          klog[-1500:])

    # sippush-agent behind the same edge: outbound end to end
    a = Agent(env, "bob", kport).start()
    wait_until(lambda: d.terminals("sip:bob@example.com"), 10,
               "the agent registered through the edge")
    t = d.terminals("sip:bob@example.com")[0]
    check(";ob>" in (t["path"] or ""), "the agent's route: %s" % t)
    took_outbound(a, 25)
    pid = d.push(to="sip:bob@example.com", app="mms.ua",
                 content_type="text/plain", body="agent via edge")
    check(d.wait_final(pid)["state"] == "delivered", "delivered")
    wait_until(lambda: [x for x in a.files() if not x.endswith(".meta")],
               10, "the push at the agent")
    check(re.search(r"edge: MESSAGE sip:bob@127\.0\.0\.1:%d\S* over the "
                    r"flow" % a.port, read_text(env.path("kamailio.log"))),
          "the agent's push went down its flow")
    a.proc.terminate()   # it de-registers through the edge, still up
    check(a.proc.wait(10) == 0, "the agent stopped")
    wait_until(lambda: not d.terminals("sip:bob@example.com"), 5,
               "the de-registration through the edge")


if __name__ == "__main__":
    run([test_udp_flow, test_tcp_flow, test_without_outbound,
         test_agent_tcp_flow, test_agent_tcp_without_outbound,
         test_agent_flow_lost,
         test_through_kamailio_edge])

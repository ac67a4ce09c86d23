#!/usr/bin/env python3
"""Softphones nobody here wrote, as terminals (Debian's packages).

linphone (liblinphone 5.1 on belle-sip, run as linphone-daemon) carries
+g.oma.pusheventapp through its account's contact_parameters and prints an
event per MESSAGE it takes; baresip 1.0 cannot carry the tag at all and
prints each MESSAGE's text. Straight to sippushd (its registrar, digest)
and through Kamailio as the core (third-party REGISTER, GRUU): what each
softphone reports taking is what is asserted, once per push."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Daemon, check, free_port, run, start_kamailio,
                     tok, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
TAG = '+g.oma.pusheventapp="mms.ua"'


class Softphone:
    """One softphone process on its own config directory; stdin stays
    open (both quit on EOF) and is how it is told to quit."""

    def __init__(self, env, name, span=1):
        self.env = env
        self.name = name
        self.port = free_port(span)
        self.home = env.path(name)
        os.makedirs(self.home)
        self.out = env.path(name + ".out")
        self.proc = None

    def spawn(self, args):
        f = open(self.out, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=f,
                                     stderr=subprocess.STDOUT, cwd=self.home,
                                     env=dict(os.environ, HOME=self.home,
                                              TMPDIR=self.home))
        f.close()
        self.env.procs.append(self.proc)

    def text(self):
        with open(self.out, errors="replace") as f:
            return f.read()

    def stop(self, cmd):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(cmd)
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(5)


class Linphone(Softphone):
    """linphone-daemon registering USER@example.com at PROXY_PORT."""

    def __init__(self, env, name, user, proxy_port, uuid, password=None,
                 params=TAG):
        super().__init__(env, name)
        self.uuid = uuid
        os.makedirs(os.path.join(self.home, ".local/share/linphone"))
        auth = ("[auth_info_0]\nusername=%s\nuserid=%s\npasswd=%s\n"
                % (user, user, password)) if password else ""
        self.rc = os.path.join(self.home, "linphonerc")
        with open(self.rc, "w") as f:
            # no network monitor: the daemon is told the network is up
            # (else belle-sip opens no listening point here)
            f.write("[sip]\nsip_port=%d\nsip_tcp_port=-1\nsip_tls_port=-1\n"
                    "default_proxy=0\nauto_net_state_mon=0\n"
                    "register_only_when_network_is_up=0\n"
                    "[net]\nipv6=0\n"
                    "[sound]\ncapture_dev_id=Null\nplayback_dev_id=Null\n"
                    "[misc]\nuuid=%s\n"
                    "[proxy_0]\nreg_proxy=<sip:127.0.0.1:%d;transport=udp>\n"
                    "reg_identity=sip:%s@example.com\nreg_expires=600\n"
                    "reg_sendregister=1\npublish=0\ncontact_parameters=%s\n%s"
                    % (self.port, uuid, proxy_port, user, params, auth))

    def instance(self):
        return "urn:uuid:" + self.uuid

    def start(self):
        self.spawn(["linphone-daemon", "--config", self.rc,
                    "--log", os.path.join(self.home, "linphone.log")])
        return self

    def messages(self):
        """(Call-ID, text) of every message-received event so far"""
        out = []
        for block in self.text().split("Event-type: ")[1:]:
            if not block.startswith("message-received"):
                continue
            cid = re.search(r"^Id: (.*)$", block, re.M)
            txt = re.search(r'^Content: "(.*)"$', block, re.M)
            out.append((cid.group(1) if cid else None,
                        txt.group(1) if txt else None))
        return out

    def stop(self):
        super().stop(b"quit\n")


class Baresip(Softphone):
    """baresip registering USER@example.com at REGISTRAR_PORT (no feature
    tags: baresip 1.0 has no way to add one)."""

    def __init__(self, env, name, user, registrar_port, password=None):
        # baresip 1.0 listens for TLS on the next port too, whatever
        # sip_transports says
        super().__init__(env, name, span=2)
        with open(os.path.join(self.home, "config"), "w") as f:
            f.write("sip_listen 127.0.0.1:%d\nsip_transports udp\n"
                    "module_path /usr/lib/baresip/modules\n"
                    "module stdio.so\nmodule g711.so\n"
                    "module_app account.so\nmodule_app menu.so\n"
                    "audio_player aufile,/dev/null\n"
                    "audio_source aufile,/dev/null\n" % self.port)
        auth = ";auth_pass=%s" % password if password else ""
        with open(os.path.join(self.home, "accounts"), "w") as f:
            f.write('<sip:%s@example.com>%s;outbound="sip:127.0.0.1:%d";'
                    'regint=600\n' % (user, auth, registrar_port))

    def start(self):
        self.spawn(["baresip", "-f", self.home])
        wait_until(lambda: "registered successfully" in self.text() or
                   self.proc.poll() is not None, 15, "baresip to register")
        check(self.proc.poll() is None, "baresip exited: " + self.text())
        return self

    def messages(self):
        """texts of the MESSAGEs it printed ('FROM: "TEXT"')"""
        return re.findall(r'^sip:\S+: "(.*)"$', self.text(), re.M)

    def stop(self):
        super().stop(b"q\n")


def settle(counts, timeout=3.0):
    """Wait until the counts stop changing for a second (a second copy, if
    there is one, arrives within that), at most timeout; returns them."""
    last, since, end = counts(), time.time(), time.time() + timeout
    while time.time() < end:
        time.sleep(0.2)
        now = counts()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= 1.0:
            break
    return last


def credentials(d, user, password="s3cret"):
    st, doc, _ = d.http("PUT", "/v1/users/sip:%s@example.com/credentials"
                        % user, {"password": password})
    check(st == 202, "credentials: %s %s" % (st, doc))


def test_linphone_straight(env):
    """sippushd as linphone's registrar: digest, +sip.instance and the
    tag from contact_parameters, a GRUU; a push to all and one by GRUU"""
    d = Daemon(env).start()
    credentials(d, "lin")
    l1 = Linphone(env, "l1", "lin", d.sip_port,
                  "00000000-0000-4000-8000-0000000000a1", "s3cret").start()
    l2 = Linphone(env, "l2", "lin", d.sip_port,
                  "00000000-0000-4000-8000-0000000000a2", "s3cret").start()
    wait_until(lambda: len(d.terminals("sip:lin@example.com")) == 2, 15,
               "both linphones to register")
    terms = d.terminals("sip:lin@example.com")
    check(sorted(t["instance"] for t in terms) ==
          [l1.instance(), l2.instance()] and
          all(t["push"] and t["apps"] == ["mms.ua"] and
              t["gruu"] == "sip:lin@example.com;gr=" + t["instance"]
              for t in terms), "records: %s" % terms)

    pid = d.push(to="sip:lin@example.com", app="mms.ua",
                 content_type="text/plain", body="to both linphones")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 2,
          "push to all: %s" % st)
    cids = sorted(x["call_id"] for x in st["deliveries"])
    got = settle(lambda: (l1.messages(), l2.messages()))
    check(sorted([got[0][0][0], got[1][0][0]]) == cids and
          all(m == [(m[0][0], "to both linphones")] for m in got),
          "each linphone took it once: %s" % (got,))

    pid = d.push(to="sip:lin@example.com", app="mms.ua",
                 content_type="text/plain", body="only the second",
                 terminals=l2.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["terminal"] ==
          "sip:lin@example.com;gr=" + l2.instance(), "by GRUU: %s" % st)
    got = settle(lambda: (l1.messages(), l2.messages()))
    check(len(got[0]) == 1 and [m[1] for m in got[1]] ==
          ["to both linphones", "only the second"],
          "only the named one took it: %s" % (got,))
    l1.stop()
    l2.stop()


def test_baresip_plain_client(env):
    """baresip registers without the tag: a push waits and says why (API
    and sippush send --wait); --plain-apps given by a SIGHUP sends the
    waiting pushes to it as plain MESSAGEs, once each"""
    conf = env.path("sippushd.conf")
    with open(conf, "w") as f:
        f.write("# plain-apps comes with the SIGHUP\n")
    d = Daemon(env, "--config", conf).start()
    credentials(d, "bara")
    b = Baresip(env, "baresip", "bara", d.sip_port, "s3cret").start()
    terms = d.terminals("sip:bara@example.com")
    check(len(terms) == 1 and not terms[0]["push"], "record: %s" % terms)

    pid = d.push(to="sip:bara@example.com", app="mms.ua",
                 content_type="text/plain", body="plain one")
    out = subprocess.run(
        [os.path.join(BUILD, "cmd", "sippush"), "--server", d.base] +
        tok(d) + ["send", "--to", "sip:bara@example.com", "--app", "mms.ua",
                  "--data", "plain two", "--wait", "--timeout", "2"],
        capture_output=True, text=True, timeout=30)
    check(out.returncode == 3 and "1 terminal(s) registered, none takes "
          "push (no +g.oma.pusheventapp)" in out.stdout,
          "send --wait says why: %s %s" % (out.returncode, out.stdout))
    st = d.status(pid)
    check(st["state"] == "pending" and not st["deliveries"] and
          "none takes push" in st["waiting"], "waits: %s" % st)
    check(b.messages() == [], "nothing sent: %s" % b.messages())

    with open(conf, "w") as f:
        f.write("plain-apps syncml.dm,mms.ua\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in d.log(), 5, "the reload")
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and st["deliveries"][0]["method"] ==
          "message" and st["deliveries"][0]["terminal"] ==
          terms[0]["contact"], "a plain MESSAGE: %s" % st)
    got = settle(lambda: sorted(b.messages()))
    check(got == ["plain one", "plain two"], "baresip took each once: %s"
          % got)
    # session mode is not for a plain client: refused by its capabilities
    pid = d.push(to="sip:bara@example.com", app="mms.ua", method="session",
                 content_type="text/plain", body="no session")
    st = d.wait_final(pid)
    check(st["state"] == "undeliverable", "no session: %s" % st)
    # too large for a MESSAGE: a plain client fetches no content by
    # reference, so it is not sent that way (found by review)
    pid = d.push(to="sip:bara@example.com", app="mms.ua",
                 content_type="text/plain", body="x" * 3000)
    st = d.wait_final(pid)
    check(st["state"] == "undeliverable" and not st["deliveries"][0][
        "indirect"] and "too large" in st["deliveries"][0]["last_error"],
          "too large for a plain client: %s" % st)
    # an application not named stays waiting
    pid = d.push(to="sip:bara@example.com", app="x-oma-application:ulp.ua",
                 content_type="text/plain", body="not for plain")
    time.sleep(0.5)
    check(d.status(pid)["state"] == "pending", "ulp.ua waits")
    b.stop()


def kamailio(env, port, as_port):
    """core.cfg sending sippushd every registration (plain clients too)"""
    with open(os.path.join(HERE, "kamailio", "core.cfg")) as f:
        cfg = "#!define THIRD_PARTY_ALL\n" + f.read().replace(
            "__PORT__", str(port)).replace("__AS_PORT__", str(as_port))
    return start_kamailio(env, cfg)


def test_through_kamailio(env):
    """Two linphones (GRUU from Kamailio) and a baresip (no instance, no
    GRUU) of one user, registered at Kamailio; sippushd learns them by
    third-party REGISTER. A push for all goes as one request to the public
    identity (Kamailio forks it; it ignores caller preferences): each
    softphone takes it exactly once. One by GRUU reaches only its own."""
    kport = free_port()
    d = Daemon(env, "--trust-udp", "--outbound", "sip:127.0.0.1:%d" % kport,
               "--plain-apps", "mms.ua")
    kamailio(env, kport, d.sip_port)
    d.start()
    l1 = Linphone(env, "l1", "kim", kport,
                  "00000000-0000-4000-8000-0000000000b1").start()
    l2 = Linphone(env, "l2", "kim", kport,
                  "00000000-0000-4000-8000-0000000000b2").start()
    b = Baresip(env, "baresip", "kim", kport).start()
    wait_until(lambda: len(d.terminals("sip:kim@example.com")) == 3, 15,
               "sippushd to learn three terminals from Kamailio")
    terms = {t["instance"]: t for t in d.terminals("sip:kim@example.com")}
    check(all(t["source"] == "third-party" for t in terms.values()) and
          terms[l1.instance()]["gruu"] and terms[l2.instance()]["gruu"] and
          terms[None]["gruu"] is None and not terms[None]["push"],
          "records from the core: %s" % terms)

    pid = d.push(to="sip:kim@example.com", app="mms.ua",
                 content_type="text/plain", body="once each")
    st = d.wait_final(pid)
    got = settle(lambda: ([m[1] for m in l1.messages()],
                          [m[1] for m in l2.messages()], b.messages()))
    check(got == (["once each"], ["once each"], ["once each"]),
          "each softphone took it exactly once: %s" % (got,))
    check(st["state"] == "delivered" and len(st["deliveries"]) == 1 and
          st["deliveries"][0]["terminal"] == "sip:kim@example.com" and
          "3 terminals behind the core" in st["deliveries"][0]["steps"],
          "one request to the public identity: %s" % st)

    pid = d.push(to="sip:kim@example.com", app="mms.ua",
                 content_type="text/plain", body="l1 only",
                 terminals=l1.instance())
    st = d.wait_final(pid)
    check(st["state"] == "delivered" and
          st["deliveries"][0]["terminal"] ==
          terms[l1.instance()]["gruu"], "by GRUU: %s" % st)
    got = settle(lambda: ([m[1] for m in l1.messages()],
                          [m[1] for m in l2.messages()], b.messages()))
    check(got == (["once each", "l1 only"], ["once each"], ["once each"]),
          "only l1 took the second: %s" % (got,))
    for p in (l1, l2, b):
        p.stop()


if __name__ == "__main__":
    run([test_linphone_straight, test_baresip_plain_client,
         test_through_kamailio])

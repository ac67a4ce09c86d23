#!/usr/bin/env python3
"""Nothing acknowledged is lost, with many requests in flight at once:
16 and 64 keep-alive HTTP connections (each sends its next request as
soon as its answer came) post pushes, batches or PAP push-messages while
REGISTERs arrive over UDP with 16 outstanding; sippushd is killed with
SIGKILL in the middle of it; then every push id answered 202, every PAP
push-id answered 1001 and every AoR answered 200 must be in the store.

The users are offline (the pushes stay pending), so the store holds
exactly what was acknowledged plus what was in flight: a missing row is
an acknowledgement sent before its COMMIT."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, free_port, run as run_tests
import loadgen

PAP_DT = ('<?xml version="1.0"?>\n<!DOCTYPE pap PUBLIC "-//WAPFORUM//DTD '
          'PAP 2.1//EN" "http://www.openmobilealliance.org/tech/DTD/'
          'pap_2.1.dtd">\n')


def push_req(n):
    body = json.dumps({"to": "sip:off%d@example.com" % (n % 500),
                       "app": "mms.ua", "content_type": "text/plain",
                       "body": "push %d" % n}).encode()
    return "/v1/pushes", "application/json", body, n


def batch_req(n):
    body = json.dumps([{"to": "sip:off%d@example.com" % ((n * 8 + i) % 500),
                        "app": "mms.ua", "content_type": "text/plain",
                        "body": "push %d.%d" % (n, i)} for i in range(8)])
    return "/v1/pushes", "application/json", body.encode(), n


def pap_req(n):
    pid = "ack-%d@loadgen" % n
    xml = PAP_DT + (
        '<pap><push-message push-id="%s"><address address-value="WAPPUSH='
        'sip%%3Aoff%d%%40example.com/TYPE=USER@ppg.example"/>'
        '</push-message></pap>' % (pid, n % 500))
    b = "ackb"
    body = ("--%s\r\nContent-Type: application/xml\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: text/plain\r\n"
            "X-Wap-Application-Id: x-wap-application:mms.ua\r\n\r\n"
            "hello %d\r\n--%s--\r\n" % (b, xml, b, n, b)).encode()
    return ("/pap", 'multipart/related; type="application/xml"; '
            'boundary=%s' % b, body, pid)


def acked(http, kind):
    """What the daemon acknowledged: push ids, or PAP push-ids"""
    out = []
    for key, status, body in http.answers:
        if kind == "pap":
            if status == 202 and b'code="1001"' in body:
                out.append(key)
        elif status == 202:
            doc = json.loads(body)
            out.extend(doc["ids"] if "ids" in doc else [doc["id"]])
    return out


def round_(env, kind, conns, seconds=2.5, kill_at=1.8, tag=""):
    make = {"push": push_req, "batch": batch_req, "pap": pap_req}[kind]
    # the REGISTERs come over UDP from loopback without credentials: the
    # test is about what is acknowledged, so that peer is trusted
    d = Daemon(env, "--log-level", "warn", "--plmn-domain", "example.com",
               "--trust-udp", db="ack-%s-%d%s.db" % (kind, conns, tag)).start()
    http = loadgen.Http(d.http_port, conns, make, d.token)
    reg = loadgen.Register(d.sip_port, 16, "r%s%d%s-" % (kind, conns, tag),
                           free_port())
    loadgen.run_then_kill([http, reg], seconds, kill_at, d.kill9)

    got = acked(http, kind)
    if kind == "pap":
        stored = {r[0] for r in d.db_rows("SELECT pap_id FROM pap_pushes")}
    else:
        stored = {r[0] for r in d.db_rows("SELECT id FROM pushes")}
    aors = {r[0] for r in d.db_rows("SELECT aor FROM terminals")}
    lost = [k for k in got if k not in stored]
    lost_reg = [a for a in reg.ok if a not in aors]
    print("%s x%d: %d acknowledged (%d requests sent), %d REGISTERs "
          "answered 200; lost after kill -9: %d acks, %d registrations"
          % (kind, conns, len(got), http.sent, len(reg.ok), len(lost),
             len(lost_reg)))
    sys.stdout.flush()
    check(len(got) > 100, "too few acknowledged to mean anything: %d"
          % len(got))
    check(len(reg.ok) > 20, "too few REGISTERs answered 200 to mean "
          "anything: %d" % len(reg.ok))
    check(not lost, "%d acknowledged %s lost after kill -9 (first: %s)"
          % (len(lost), kind, lost[:5]))
    check(not lost_reg, "%d registrations answered 200 lost after kill "
          "-9 (first: %s)" % (len(lost_reg), lost_reg[:5]))


def test_cancel_16(env):
    """DELETE /v1/pushes/{id} answered 200 (cancelled) must be cancelled
    in the store after a kill -9, like a 202 must be there"""
    d = Daemon(env, "--log-level", "warn", db="ack-cancel.db").start()
    # pending pushes to cancel, committed first (batches of 500)
    ids = []
    for b in range(40):
        st, doc, _ = d.http("POST", "/v1/pushes", [
            {"to": "sip:off%d@example.com" % i, "app": "mms.ua",
             "content_type": "text/plain", "body": "c"} for i in range(500)])
        check(st == 202, "batch: %s %s" % (st, doc))
        ids += doc["ids"]

    def make(n):
        if n >= len(ids):
            return None
        return ("DELETE", "/v1/pushes/" + ids[n], "application/json", b"",
                ids[n])
    http = loadgen.Http(d.http_port, 16, make, d.token)
    # in the middle of it: after a quarter of them
    loadgen.run_then_kill([http], 30.0, 20.0, d.kill9,
                          when=lambda: len(http.answers) >= len(ids) // 4)
    got = [k for k, st, _ in http.answers if st == 200]
    state = dict(d.db_rows("SELECT id, state FROM pushes"))
    lost = [k for k in got if state.get(k) != "cancelled"]
    print("cancel x16: %d cancellations answered 200 of %d sent; not "
          "cancelled in the store after kill -9: %d" % (len(got), http.sent,
                                                       len(lost)))
    check(len(got) > 100 and len(got) < len(ids),
          "the kill came too early or too late: %d answered" % len(got))
    check(not lost, "%d cancellations answered 200 but not in the store "
          "(first: %s)" % (len(lost), lost[:5]))


def test_pushes_16(env):
    round_(env, "push", 16)


def test_pushes_64(env):
    round_(env, "push", 64)


def test_batches_16(env):
    round_(env, "batch", 16)


def test_pap_16(env):
    round_(env, "pap", 16)


if __name__ == "__main__":
    run_tests([test_pushes_16, test_pushes_64, test_batches_16,
               test_pap_16, test_cancel_16])

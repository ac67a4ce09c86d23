#!/usr/bin/env python3
"""Subscription mode at sippushd: SIPp terminals subscribe (ua-profile,
oma-app), take the enrollment NOTIFY and content NOTIFYs; refusals (489,
403, 400); a NOTIFY answered 481 falls back to MESSAGE. Assertions on the
wire (SIPp regexps, tshark) and in the store (HTTP status, SQLite)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD, Capture, Daemon, Sipp, check, free_port, register,
                     run, scenario, wait_until)

INST1 = "urn:uuid:7d3c1a2b-0000-4000-8000-000000000001"
PAI = "sip:push@localhost"
# what the core adds to a terminal's SUBSCRIBE
PAI_HDR = "P-Asserted-Identity: <sip:alice@example.com>\r\n"
EVENT = ('ua-profile;profile-type=oma-app;event-app-id="mms.ua";'
         'vendor="vendor.example";model="X100";version="2.1"')


def content_block(code, body, ctype):
    """SIPp recv/send pair for one content NOTIFY."""
    return """
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *ua-profile" search_in="hdr" header="Event:" check_it="true" assign_to="ev"/>
      <ereg regexp="^ *active;expires=[0-9]+" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="ss"/>
      <ereg regexp="^ *&lt;%s&gt;$" search_in="hdr" header="P-Asserted-Identity:" check_it="true" assign_to="pai"/>
      <ereg regexp="^ *%s" search_in="hdr" header="Content-Type:" check_it="true" assign_to="ct"/>
      <ereg regexp="^ *&lt;[^&gt;]+@sippush&gt;$" search_in="hdr" header="Content-ID:" check_it="true" assign_to="cid"/>
      <ereg regexp="%s" search_in="body" check_it="true" assign_to="body"/>
      <log message="CONTENT EVENT=[$ev] STATE=[$ss] PAI=[$pai] CT=[$ct] CID=[$cid] BODY=[$body]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 %d Answer
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
""" % (re.escape(PAI), re.escape(ctype), body, code)


def subscriber(env, d, port, contact, pushes=(), expires=600, event=EVENT,
               timeout=30, accept_contact=None, our_contact=None):
    blocks = "".join(content_block(*p) for p in pushes)
    scen = scenario(env, "uac_subscribe.xml", aor="alice@example.com",
                    event=event, instance=INST1, expires=expires,
                    content=blocks)
    with open(scen) as f:
        txt = f.read().replace(
            "Contact: <sip:alice@example.com;gr=%s>" % INST1,
            "Contact: " + contact)
    if accept_contact:
        txt = re.sub(r"(?m)^Accept-Contact: .*$",
                     "Accept-Contact: " + accept_contact, txt)
    if our_contact:
        # sippushd's Contact, exactly, in its 200 and in every NOTIFY
        want = "^ *&lt;%s&gt;$" % re.escape(our_contact)
        txt = txt.replace("^ *&lt;sip:push@127\\.0\\.0\\.1:[0-9]+", want)
        check(want in txt, "the scenario's Contact check")
        txt = txt.replace(
            '<recv request="NOTIFY">\n    <action>\n',
            '<recv request="NOTIFY">\n    <action>\n      <ereg regexp="%s" '
            'search_in="hdr" header="Contact:" check_it="true" '
            'assign_to="nct"/>\n      <log message="NCONTACT=[$nct]"/>\n'
            % want)
    with open(scen, "w") as f:
        f.write(txt)
    return Sipp(env, scen, port, "127.0.0.1:%d" % d.sip_port,
                timeout=timeout)


def test_subscribe_enroll_notify(env):
    """Subscribe with the GRUU as Contact: capabilities stored and shown,
    enrollment NOTIFY, then a push by NOTIFY (method notify) and one by
    auto (the active subscription wins) reach the terminal in the
    dialog; both delivered with the 200 as the report."""
    d = Daemon(env, "--trust-udp").start()
    sport = free_port()
    cap = Capture(env, [d.sip_port, sport])
    # the terminal registers the port it subscribes from
    register(env, d, "alice", sport, INST1)
    sub = subscriber(env, d, sport,
                     "<sip:alice@example.com;gr=%s>" % INST1,
                     pushes=[(200, "^first$", "text/plain"),
                             (200, "^second$", "text/plain")])
    wait_until(lambda: d.terminals("sip:alice@example.com")[0]
               ["subscriptions"], 10, "the subscription")
    t = d.terminals("sip:alice@example.com")[0]
    s0 = t["subscriptions"][0]
    check(s0["app"] == "mms.ua" and 0 < s0["expires"] <= 600 and
          "message/external-body" in s0["accept"] and
          s0["methods"] == ["NOTIFY", "MESSAGE"], "subscription: %s" % s0)
    c = t["capabilities"]
    check(c["vendor"] == "vendor.example" and c["model"] == "X100" and
          c["version"] == "2.1" and c["dev_cap"] is None,
          "capabilities: %s" % c)

    p1 = d.push(to="sip:alice@example.com", app="mms.ua",
                content_type="text/plain", body="first", method="notify")
    st1 = d.wait_final(p1)
    p2 = d.push(to="sip:alice@example.com", app="mms.ua",
                content_type="text/plain", body="second")
    st2 = d.wait_final(p2)
    sub.ok()
    for st in (st1, st2):
        dl = st["deliveries"]
        check(st["state"] == "delivered" and len(dl) == 1 and
              dl[0]["method"] == "notify" and dl[0]["sip_status"] == 200
              and dl[0]["pap_code"] == 1000, "status: %s" % st)
    log = sub.log()
    check("ENROLL EVENT=" in log and "CL=Content-Length: 0" in log,
          "no empty enrollment NOTIFY: " + log[-800:])
    check("CID= <%s>" % st1["deliveries"][0]["call_id"] in log,
          "Content-ID is not the delivery's identity: " + log[-800:])
    # REGISTER + 200, SUBSCRIBE + 200, 3 NOTIFY + 3 200
    cap.verify(10)
    d.stop()
    rows = d.db_rows("SELECT aor, tkey, app FROM subs")
    check(rows == [("sip:alice@example.com", INST1, "mms.ua")],
          "store: %s" % rows)
    rows = d.db_rows("SELECT vendor, model, version FROM caps")
    check(rows == [("vendor.example", "X100", "2.1")], "store: %s" % rows)


def test_contact_uri(env):
    """--contact-uri: the dialog's Contact is the cluster's address (the
    dispatcher in front of the nodes), in the 200 to SUBSCRIBE and in
    every NOTIFY, so the terminal's in-dialog requests reach any node"""
    d = Daemon(env, "--trust-udp", "--contact-uri",
               "sip:push@psa.example.com").start()
    sport = free_port()
    register(env, d, "alice", sport, INST1)
    sub = subscriber(env, d, sport,
                     "<sip:alice@example.com;gr=%s>" % INST1,
                     pushes=[(200, "^in the dialog$", "text/plain")],
                     our_contact="sip:push@psa.example.com")
    wait_until(lambda: d.terminals("sip:alice@example.com")[0]
               ["subscriptions"], 10, "the subscription")
    p1 = d.push(to="sip:alice@example.com", app="mms.ua",
                content_type="text/plain", body="in the dialog",
                method="notify")
    check(d.wait_final(p1)["state"] == "delivered", "delivered")
    sub.ok()
    log = sub.log()
    check("CONTACT= <sip:push@psa.example.com>" in log,
          "the 200's Contact: " + log[-600:])
    check(log.count("NCONTACT= <sip:push@psa.example.com>") == 2,
          "both NOTIFYs' Contact: " + log[-600:])
    out = subprocess.run([os.path.join(BUILD, "cmd", "sippushd"),
                          "--contact-uri", "push@x", "--db",
                          env.path("x.db")], capture_output=True, text=True,
                         timeout=10)
    check(out.returncode != 0 and "--contact-uri" in out.stderr,
          "bad --contact-uri: %r" % out.stderr)


def test_subscribe_refused(env):
    """489 with Allow-Events for another package, 400 for a malformed
    Event and for one without capabilities, 403 from an untrusted peer
    without credentials and from a trusted one without
    P-Asserted-Identity; then a valid SUBSCRIBE still works."""
    d = Daemon(env, "--trust-udp", "--trust", "127.0.0.2/32").start()
    cases = [
        ("presence", 489, "Allow-Events: *ua-profile", ""),
        ('ua-profile;profile-type="', 400, "Bad Event", ""),
        ("ua-profile;profile-type=oma-app;event-app-id=mms.ua", 403,
         "SIP/2.0 403", ""),
    ]
    for ev, code, chk, extra in cases:
        s = Sipp(env, scenario(env, "uac_subscribe_code.xml", event=ev,
                               code=code, check=chk, extra=extra),
                 free_port(), "127.0.0.1:%d" % d.sip_port, timeout=10)
        s.ok(15)
    d.stop()
    # from a trusted peer: no P-Asserted-Identity -> 403 (TS §7.2.2.1 #2;
    # its From was taken before issue 20 item 2), no capabilities -> 400,
    # complete -> 200
    d2 = Daemon(env, "--trust-udp").start()
    s = Sipp(env, scenario(env, "uac_subscribe_code.xml", event=EVENT,
                           code=403, check="SIP/2.0 403 No "
                           "P-Asserted-Identity", extra=""),
             free_port(), "127.0.0.1:%d" % d2.sip_port, timeout=10)
    s.ok(15)
    s = Sipp(env, scenario(env, "uac_subscribe_code.xml",
                           event="ua-profile;profile-type=oma-app;"
                           "event-app-id=mms.ua", code=400,
                           check="dev-cap or vendor", extra=PAI_HDR),
             free_port(), "127.0.0.1:%d" % d2.sip_port, timeout=10)
    s.ok(15)
    s = Sipp(env, scenario(env, "uac_subscribe_code.xml", event=EVENT,
                           code=200, check="Expires: 600", extra=PAI_HDR),
             free_port(), "127.0.0.1:%d" % d2.sip_port, timeout=10)
    s.ok(15)
    check(len(d2.terminals("sip:alice@example.com")) == 1,
          "only the asserted SUBSCRIBE subscribed")
    # no event-app-id: the ICSI in Accept-Contact names the application
    icsi = "urn:urn-7:3gpp-service.ims.icsi.oma.push"
    s = Sipp(env, scenario(env, "uac_subscribe_code.xml",
                           event='ua-profile;profile-type=oma-app;'
                           'vendor="v";model="m";version="1"', code=200,
                           check="Expires: 600",
                           extra=PAI_HDR + 'Accept-Contact: *;'
                           '+g.3gpp.icsi-ref="%s"\r\n'
                           % icsi.replace(":", "%3A")),
             free_port(), "127.0.0.1:%d" % d2.sip_port, timeout=10)
    s.ok(15)
    apps = sorted(x["app"] for t in d2.terminals("sip:alice@example.com")
                  for x in t["subscriptions"])
    check(apps == sorted(["mms.ua", icsi]),
          "applications: %s" % apps)
    st, txt, _ = d2.http("GET", "/metrics")
    check(b"sippush_subscriptions 2" in txt, "metrics: %s" % txt)
    d2.stop()
    check(d2.db_rows("SELECT count(*) FROM subs") == [(2,)],
          "the good SUBSCRIBEs are not stored")


def test_notify_481_falls_back(env):
    """A content NOTIFY answered 481: the subscription is purged and the
    push goes by MESSAGE to the registered contact, visibly."""
    d = Daemon(env, "--trust-udp").start()
    sport, mport = free_port(), free_port()
    term = Sipp(env, scenario(env, "uas_message.xml", app="mms\\.ua",
                              pai=re.escape(PAI), body="^fallback$",
                              code=200, ruri="sip:[^ ]+"), mport)
    register(env, d, "alice", mport, INST1)
    sub = subscriber(env, d, sport,
                     '<sip:alice@127.0.0.1:%d>;+sip.instance="<%s>"'
                     % (sport, INST1),
                     pushes=[(481, "^fallback$", "text/plain")])
    wait_until(lambda: d.terminals("sip:alice@example.com")[0]
               ["subscriptions"], 10, "the subscription")
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="fallback")
    st = d.wait_final(pid)
    sub.ok()
    term.ok()
    dl = st["deliveries"]
    check(st["state"] == "delivered" and len(dl) == 1 and
          dl[0]["method"] == "message" and "481" in (dl[0]["steps"] or "")
          and dl[0]["steps"].startswith("notify"), "status: %s" % st)
    t = d.terminals("sip:alice@example.com")[0]
    check(t["subscriptions"] == [], "subscription kept: %s" % t)
    d.stop()
    check(d.db_rows("SELECT count(*) FROM subs") == [(0,)],
          "subscription still stored")


def test_one_time_fetch(env):
    """A new SUBSCRIBE with Expires: 0 is a fetch (RFC 6665 §4.4.3): 200
    with Expires: 0, then one NOTIFY in that dialog with the state and
    terminated;reason=timeout; the capabilities are kept, no subscription
    (issue 20 item 3: no NOTIFY came)."""
    d = Daemon(env, "--trust-udp").start()
    s = Sipp(env, scenario(env, "uac_subscribe_fetch.xml",
                           aor="alice@example.com"), free_port(),
             "127.0.0.1:%d" % d.sip_port, timeout=10)
    s.ok(15)
    log = s.log()
    m200 = re.search(r"FETCH200 EXPIRES= *0 TAG=(\S+)", log)
    mnot = re.search(r"FETCHNOTIFY EVENT= *ua-profile STATE= *"
                     r"terminated;reason=timeout TAG=(\S+)", log)
    check(m200 and mnot and m200.group(1) == mnot.group(1),
          "the NOTIFY in the fetch's dialog: " + log[-600:])
    check(all(t["subscriptions"] == [] for t in
              d.terminals("sip:alice@example.com")), "a subscription kept")
    d.stop()
    check(d.db_rows("SELECT count(*) FROM subs") == [(0,)], "stored")
    check(d.db_rows("SELECT vendor, model, version FROM caps") ==
          [("vendor.example", "X100", "2.1")], "capabilities not kept")


def test_icsi_names_the_ari(env):
    """--icsi ICSI=ARI: a SUBSCRIBE naming the application only by its
    ICSI subscribes to the ARI, so a push addressed by the ARI goes by
    NOTIFY in that dialog (issue 20 item 4: the subscription was kept
    under the ICSI, which no push names)."""
    icsi = "urn:urn-7:3gpp-service.ims.icsi.oma.push"
    d = Daemon(env, "--trust-udp", "--icsi", icsi + "=mms.ua").start()
    sport = free_port()
    register(env, d, "alice", sport, INST1)
    sub = subscriber(env, d, sport,
                     "<sip:alice@example.com;gr=%s>" % INST1,
                     event='ua-profile;profile-type=oma-app;vendor="v";'
                     'model="m";version="1"',
                     accept_contact='*;+g.3gpp.icsi-ref="%s";'
                     'methods="NOTIFY"' % icsi.replace(":", "%3A"),
                     pushes=[(200, "^by ari$", "text/plain")])
    wait_until(lambda: d.terminals("sip:alice@example.com")[0]
               ["subscriptions"], 10, "the subscription")
    s0 = d.terminals("sip:alice@example.com")[0]["subscriptions"]
    check([x["app"] for x in s0] == ["mms.ua"], "subscribed to: %s" % s0)
    pid = d.push(to="sip:alice@example.com", app="mms.ua",
                 content_type="text/plain", body="by ari")
    st = d.wait_final(pid)
    sub.ok()
    dl = st["deliveries"]
    check(st["state"] == "delivered" and dl[0]["method"] == "notify",
          "status: %s" % st)


if __name__ == "__main__":
    run([test_subscribe_enroll_notify, test_contact_uri, test_subscribe_refused,
         test_notify_481_falls_back, test_one_time_fetch,
         test_icsi_names_the_ari])

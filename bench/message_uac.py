#!/usr/bin/env python3
"""bench/message-uac: raw page-mode MESSAGE rate of sippushd's SIP layer
(libre + src/tmr + pagemsg, built as bench-message-uac) over UDP to a SIPp
UAS, and, in the same run, Kamailio 5.6 relaying the same MESSAGEs
statefully (t_relay) to the same UAS, driven by the same client.

usage: bench/message_uac.py [SECONDS] [WINDOW] [KAMAILIO_CHILDREN]
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
from harness import BUILD, Env, free_port, wait_until  # noqa: E402

UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas 200">
  <recv request="MESSAGE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]t[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""

KAMAILIO = """#!KAMAILIO
debug=0
log_stderror=yes
fork=yes
children={children}
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}
"""


def client(target, ruri, secs, window):
    cmd = [os.path.join(BUILD, "bench", "bench-message-uac"), target, ruri,
           str(secs), str(window)]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=secs + 120)
    m = re.search(r"sent=(\d+) ok=(\d+) fail=(\d+) timeout=(\d+) "
                  r"seconds=([\d.]+) rate=(\d+)", out.stdout)
    if not m:
        raise SystemExit("client failed: %s %s" % (out.stdout, out.stderr))
    return cmd, {k: float(v) for k, v in zip(
        ("sent", "ok", "fail", "timeout", "seconds", "rate"), m.groups())}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    window = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    children = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    env = Env("bench-message-uac")
    try:
        uas_port, kam_port = free_port(), free_port()
        with open(env.path("uas.xml"), "w") as f:
            f.write(UAS)
        uas = env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i",
                         "127.0.0.1", "-p", str(uas_port), "-nostdin",
                         "-trace_err", "-error_file", env.path("uas.err")],
                        "uas.out")
        time.sleep(0.5)
        ruri = "sip:user@127.0.0.1:%d" % uas_port

        c0 = cpu_seconds(uas.pid)
        cmd1, direct = client("127.0.0.1:%d" % uas_port, ruri, secs, window)
        uas_cpu_direct = cpu_seconds(uas.pid) - c0

        with open(env.path("kamailio.cfg"), "w") as f:
            f.write(KAMAILIO.format(port=kam_port, children=children))
        kam = env.spawn(["kamailio", "-f", env.path("kamailio.cfg"), "-DD",
                         "-E", "-m", "2048", "-M", "16", "-P",
                         env.path("kamailio.pid")], "kamailio.log")
        wait_until(lambda: "Listening on" in open(
            env.path("kamailio.log")).read() or kam.poll() is not None,
                   15, "kamailio")
        time.sleep(1)
        cmd2, relay = client("127.0.0.1:%d" % kam_port, ruri, secs, window)

        print("bench/message-uac: page-mode MESSAGE over UDP, stateful, "
              "window %d outstanding, %.0f s each" % (window, secs))
        print("  direct:   %s" % " ".join(cmd1))
        print("            %d MESSAGE/s (%d ok, %d failed, %d timed out); "
              "SIPp UAS used %.0f%% of a core" % (
                  direct["rate"], direct["ok"], direct["fail"],
                  direct["timeout"], 100 * uas_cpu_direct /
                  direct["seconds"]))
        print("  kamailio: same client -> Kamailio 5.6 t_relay (children=%d)"
              " -> same UAS" % children)
        print("            %s" % " ".join(cmd2))
        print("            %d MESSAGE/s (%d ok, %d failed, %d timed out)" % (
            relay["rate"], relay["ok"], relay["fail"], relay["timeout"]))
        print("  ratio sippush SIP layer / Kamailio relay: %.2f" % (
            direct["rate"] / max(relay["rate"], 1)))
        print("  command: %s" % " ".join(sys.argv))
    finally:
        env.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench/message-uac: raw page-mode MESSAGE rate of sippushd's SIP layer
(libre + src/tmr + pagemsg, built as bench-message-uac) over UDP to a SIPp
UAS, and, in the same run, Kamailio 5.6 relaying the same MESSAGEs
statefully (t_relay) to the same UAS, driven by the same client.

The client's CPU per MESSAGE (user + system, from its rusage) is printed
beside each rate; with valgrind installed, the instructions (Ir) per
MESSAGE of the direct client too, counted under callgrind (runs of N and
2N MESSAGEs, N=20000, so that start-up cancels out): a figure that does
not depend on what else runs on the machine.

usage: bench/message_uac.py [SECONDS] [WINDOW] [KAMAILIO_CHILDREN]
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import time

from benchlib import SIPP_BUF, harness, proc_cpu, uas_scenario

BUILD, Env, free_port = harness.BUILD, harness.Env, harness.free_port

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


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def client(target, ruri, secs, window):
    cmd = [os.path.join(BUILD, "bench", "bench-message-uac"), target, ruri,
           str(secs), str(window)]
    c0 = children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=secs + 120)
    cpu = children_cpu() - c0
    m = re.search(r"sent=(\d+) ok=(\d+) fail=(\d+) timeout=(\d+) "
                  r"seconds=([\d.]+) rate=(\d+)", out.stdout)
    if not m:
        raise SystemExit("client failed: %s %s" % (out.stdout, out.stderr))
    res = {k: float(v) for k, v in zip(
        ("sent", "ok", "fail", "timeout", "seconds", "rate"), m.groups())}
    res["cpu_us"] = 1e6 * cpu / max(res["ok"] + res["fail"] +
                                    res["timeout"], 1)
    return cmd, res


def client_ir(env, target, ruri, window, n=20000):
    """Ir per MESSAGE of the client under callgrind: runs of n and 2n
    MESSAGEs (one user: the same Request-URI's host), difference / n"""
    tot = []
    host = ruri.split("@", 1)[1]
    for k in (n, 2 * n):
        out = env.path("uac-%d.cg" % k)
        subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out,
                        os.path.join(BUILD, "bench", "bench-message-uac"),
                        target, "sip:u@" + host, "600", str(window), "1",
                        str(k)], check=True, capture_output=True,
                       timeout=900)
        with open(out) as f:
            tot.append(next(int(line.split()[1]) for line in f
                            if line.startswith(("summary:", "totals:"))))
    return (tot[1] - tot[0]) / n


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    window = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    children = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    env = Env("bench-message-uac")
    try:
        uas_port, kam_port = free_port(), free_port()
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario())
        uas = env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i",
                         "127.0.0.1", "-p", str(uas_port), "-nostdin"] +
                        SIPP_BUF + ["-trace_err", "-error_file",
                                    env.path("uas.err")],
                        "uas.out")
        time.sleep(0.5)
        ruri = "sip:user@127.0.0.1:%d" % uas_port

        c0 = proc_cpu(uas.pid)
        cmd1, direct = client("127.0.0.1:%d" % uas_port, ruri, secs, window)
        uas_cpu_direct = proc_cpu(uas.pid) - c0
        ir = (client_ir(env, "127.0.0.1:%d" % uas_port, ruri, window)
              if shutil.which("valgrind") else None)

        harness.start_kamailio(env, KAMAILIO.format(port=kam_port,
                                                    children=children),
                               2048, 16)
        cmd2, relay = client("127.0.0.1:%d" % kam_port, ruri, secs, window)

        print("bench/message-uac: page-mode MESSAGE over UDP, stateful, "
              "window %d outstanding, %.0f s each" % (window, secs))
        print("  direct:   %s" % " ".join(cmd1))
        print("            %d MESSAGE/s (%d ok, %d failed, %d timed out); "
              "client CPU %.1f us per MESSAGE; SIPp UAS used %.0f%% of a "
              "core" % (direct["rate"], direct["ok"], direct["fail"],
                        direct["timeout"], direct["cpu_us"],
                        100 * uas_cpu_direct / direct["seconds"]))
        if ir:
            print("            client under callgrind: %.0f Ir per MESSAGE "
                  "(sent and its 200 taken)" % ir)
        print("  kamailio: same client -> Kamailio 5.6 t_relay (children=%d)"
              " -> same UAS" % children)
        print("            %s" % " ".join(cmd2))
        print("            %d MESSAGE/s (%d ok, %d failed, %d timed out); "
              "client CPU %.1f us per MESSAGE" % (
                  relay["rate"], relay["ok"], relay["fail"],
                  relay["timeout"], relay["cpu_us"]))
        print("  ratio sippush SIP layer / Kamailio relay: %.2f" % (
            direct["rate"] / max(relay["rate"], 1)))
        print("  command: %s" % " ".join(sys.argv))
    finally:
        env.close()


if __name__ == "__main__":
    main()

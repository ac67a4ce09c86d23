#!/usr/bin/env python3
"""bench/offline-drain: store-and-forward for offline users.

100,000 pushes for 1,000 offline users are accepted (HTTP batches of 100,
several keep-alive connections); then the 1,000 users register within
~1 s (SIPp, 1,000 REGISTER/s) and the queue drains to SIPp terminals.
In the same run, Kamailio 5.6 with msilo on SQLite (WAL) stores the same
MESSAGEs for the same offline users (m_store, answering 202) and dumps them
on REGISTER (m_dump) to the same terminals.

With --store postgresql the sippushd half runs on SQLite, then on a
PostgreSQL server of the bench's own (fsync and synchronous_commit on),
in the same run, and the ratios are printed with each one's CPU per push
(sippushd's, and the server's processes'); --no-msilo leaves Kamailio out.

usage: bench/offline_drain.py [--store sqlite|postgresql] [--no-msilo]
                              [PUSHES] [USERS] [UAS_PROCS]
"""
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

from benchlib import (HERE, SIPP_BUF, harness, metrics, proc_cpu,
                      proc_rss_kb, store_arg, store_daemon, tree_cpu,
                      uas_scenario, udp_drops)

BUILD, Daemon, Env = harness.BUILD, harness.Daemon, harness.Env
free_port, wait_until = harness.free_port, harness.wait_until

KAMAILIO = """#!KAMAILIO
debug=0
log_stderror=yes
fork=yes
children=1
disable_tcp=yes
auto_aliases=no
alias="example.com"
listen=udp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "db_sqlite.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "msilo.so"
modparam("usrloc", "db_mode", 0)
modparam("msilo", "db_url", "sqlite://{db}")
modparam("msilo", "from_address", "sip:msilo@example.com")
modparam("msilo", "contact_hdr", "Contact: <sip:msilo@127.0.0.1:{port}>\\r\\n")
modparam("msilo", "use_contact", 0)
# dumped MESSAGEs go to the AoR through this same Kamailio (lookup, relay),
# never to a DNS lookup of the AoR's domain
modparam("msilo", "outbound_proxy", "sip:127.0.0.1:{port}")
# delivered rows leave the table on msilo's timer: every second
modparam("msilo", "check_time", 1)
modparam("msilo", "clean_period", 1)
request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (save("location")) {{
            m_dump();
        }}
        exit;
    }}
    if (is_method("MESSAGE")) {{
        if (!lookup("location")) {{
            if (m_store("$ru")) {{
                sl_send_reply("202", "Accepted");
            }} else {{
                sl_send_reply("503", "Service Unavailable");
            }}
            exit;
        }}
        t_relay();
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}
"""


def post_batches(d, bodies, conns):
    """POST the batches over `conns` keep-alive connections."""
    errors = []
    parts = [bodies[i::conns] for i in range(conns)]

    def worker(part):
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=60)
        for b in part:
            c.request("POST", "/v1/pushes", b,
                      {"Content-Type": "application/json",
                       "Authorization": "Bearer " + d.token})
            r = c.getresponse()
            r.read()
            if r.status != 202:
                errors.append(r.status)
        c.close()
    ths = [threading.Thread(target=worker, args=(p,)) for p in parts]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return errors


def start_uas(env, ports, tag):
    procs = []
    for p in ports:
        procs.append(env.spawn(
            ["sipp", "-sf", env.path("uas.xml"), "-i", "127.0.0.1", "-p",
             str(p), "-nostdin"] + SIPP_BUF + ["-trace_logs", "-log_file",
             env.path("uas-%s-%d.log" % (tag, p)), "-trace_err",
             "-error_file", env.path("uas-%s-%d.err" % (tag, p))],
            "uas-%s-%d.out" % (tag, p)))
    time.sleep(0.5)
    return procs


def stop_uas(env, procs, ports, tag):
    for p in procs:
        p.terminate()
        p.wait(10)
    cids = []
    for port in ports:
        with open(env.path("uas-%s-%d.log" % (tag, port))) as f:
            cids += re.findall(r"^CID (\S+)", f.read(), re.M)
    return len(cids), len(set(cids))


def register_all(env, target_port, users, ports, limit_s=120):
    """Register every user (SIPp, 1,000/s); returns (seconds, registered)."""
    csv = env.path("users.csv")
    with open(csv, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(users):
            f.write("u%d;%d;urn:uuid:00000000-0000-4000-8000-%012d\n" % (
                i, ports[i % len(ports)], i))
    t0 = time.time()
    out = subprocess.run(
        ["sipp", "-sf", os.path.join(HERE, "register_csv.xml"), "-inf", csv,
         "-i", "127.0.0.1", "-p", str(free_port()), "-r", "1000", "-m",
         str(users), "-nostdin", "-timeout", "%ds" % limit_s,
         "-recv_timeout", "%d" % (limit_s * 1000),
         "127.0.0.1:%d" % target_port], capture_output=True, text=True,
        timeout=limit_s + 60)
    m = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", out.stdout)
    return time.time() - t0, int(m.group(1)) if m else 0


def sippushd(store, total, users, nuas):
    """The sippushd half on one store: prints its lines, returns
    (accepted/s, delivered/s, sippushd CPU us and the server's per push)"""
    batch, conns = 100, 8
    env = Env("bench-offline-drain-" + store)
    try:
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario(log_callid=True))
        ports = [free_port() for _ in range(nuas)]
        d = store_daemon(env, store, "--trust-udp", "--log-level",
                         "warn").start()
        rss_idle = proc_rss_kb(d.proc.pid)
        anon_idle = proc_rss_kb(d.proc.pid, "RssAnon")
        bodies = []
        for b in range(0, total, batch):
            bodies.append(json.dumps([
                {"to": "sip:u%d@example.com" % ((b + i) % users),
                 "app": "mms.ua", "content_type": "text/plain",
                 "body": "offline push %d" % (b + i)}
                for i in range(min(batch, total - b))]))
        cpu0 = proc_cpu(d.proc.pid)
        pg0 = tree_cpu(d.pg.proc.pid) if d.pg else 0.0
        t0 = time.time()
        errors = post_batches(d, bodies, conns)
        t_acc = time.time() - t0
        accepted = metrics(d)["sippush_pushes_accepted_total"]
        rss_acc = proc_rss_kb(d.proc.pid)

        uas = start_uas(env, ports, "sippush")
        sent0 = metrics(d)["sippush_messages_sent_total"]
        cpu1 = proc_cpu(d.proc.pid)
        drops0 = udp_drops()
        t1 = time.time()
        t_reg, nreg = register_all(env, d.sip_port, users, ports)
        wait_until(lambda: metrics(d)["sippush_pushes_pending"] == 0, 300,
                   "the queue to drain", 0.05)
        t_drain = time.time() - t1
        cpu_drain = proc_cpu(d.proc.pid) - cpu1
        drops = udp_drops() - drops0
        cpu = proc_cpu(d.proc.pid) - cpu0
        pg_cpu = tree_cpu(d.pg.proc.pid) - pg0 if d.pg else 0.0
        m = metrics(d)
        rss_drained = proc_rss_kb(d.proc.pid)
        time.sleep(7)   # its last SIP transactions end (Timer K, 5 s)
        rss_later = proc_rss_kb(d.proc.pid)
        anon_later = proc_rss_kb(d.proc.pid, "RssAnon")
        got, distinct = stop_uas(env, uas, ports, "sippush")
        d.stop()
        states = dict(d.db_rows("SELECT state, COUNT(*) FROM pushes "
                                "GROUP BY state"))
        acc_rate = accepted / t_acc
        drain_rate = states.get("delivered", 0) / t_drain
        print("bench/offline-drain: %d pushes for %d offline users, then "
              "they register; terminals: %d SIPp UAS" % (total, users, nuas))
        print("  sippushd (%s, group commit):" % (
            "SQLite WAL, synchronous=FULL" if store == "sqlite" else
            "PostgreSQL %s, fsync=on, synchronous_commit=on, server on "
            "this machine" % os.path.basename(os.path.dirname(d.pg.bin))))
        print("    accepted %d in %.2f s = %.0f pushes/s (HTTP batches of "
              "%d, %d connections; %d errors)" % (accepted, t_acc, acc_rate,
                                                  batch, conns, len(errors)))
        print("    %d/%d REGISTER ok in %.2f s; drained in %.2f s = %.0f "
              "delivered/s" % (nreg, users, t_reg, t_drain, drain_rate))
        print("    store: %s; MESSAGEs sent %d (re-sends %d); terminals got "
              "%d, distinct Call-IDs %d (duplicates %d); lost %d" % (
                  states, m["sippush_messages_sent_total"] - sent0,
                  m["sippush_messages_sent_total"] - sent0 - total, got,
                  distinct, got - distinct,
                  accepted - states.get("delivered", 0)))
        print("    CPU per push (accepted and delivered): sippushd %.1f us%s"
              % (cpu * 1e6 / max(accepted, 1), "; PostgreSQL server %.1f us"
                 % (pg_cpu * 1e6 / max(accepted, 1)) if d.pg else ""))
        print("    of it, registering and draining: %.1f us per delivered "
              "push (%.0f %% of one core); UDP datagrams dropped for a full "
              "receive buffer meanwhile (machine-wide): %d" % (
                  cpu_drain * 1e6 / max(states.get("delivered", 0), 1),
                  100 * cpu_drain / t_drain, drops))
        print("    RSS: idle %.1f MB, %d pushes pending %.1f MB (%.0f B per "
              "pending push), drained %.1f MB, 7 s later %.1f MB" % (
                  rss_idle / 1024, accepted, rss_acc / 1024,
                  (rss_acc - rss_idle) * 1024 / max(accepted, 1),
                  rss_drained / 1024, rss_later / 1024))
        print("    RSS anonymous (the rest is the store file mapped, which "
              "the kernel reclaims): idle %.1f MB, 7 s after the drain "
              "%.1f MB" % (
                  anon_idle / 1024, anon_later / 1024))
        sys.stdout.flush()
        return (acc_rate, drain_rate, cpu * 1e6 / max(accepted, 1),
                pg_cpu * 1e6 / max(accepted, 1))
    finally:
        env.close()


def msilo(total, users, nuas):
    """The same with Kamailio 5.6's msilo; returns (stored/s, drained/s)"""
    env = Env("bench-offline-drain-msilo")
    try:
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario(log_callid=True))
        ports = [free_port() for _ in range(nuas)]
        # ---- Kamailio + msilo
        kport = free_port()
        kdb = env.path("msilo.db")
        c = sqlite3.connect(kdb)
        c.executescript(open("/usr/share/kamailio/db_sqlite/"
                             "standard-create.sql").read())
        c.executescript(open("/usr/share/kamailio/db_sqlite/"
                             "msilo-create.sql").read())
        c.execute("PRAGMA journal_mode=WAL")
        c.commit()
        c.close()
        harness.start_kamailio(env, KAMAILIO.format(port=kport, db=kdb),
                               1024, 32)
        cmd = [os.path.join(BUILD, "bench", "bench-message-uac"),
               "127.0.0.1:%d" % kport, "sip:u0@example.com", "600", "200",
               str(users), str(total)]
        t0 = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=900).stdout
        t_kacc = time.time() - t0
        km = re.search(r"ok=(\d+) fail=(\d+) timeout=(\d+)", out)
        kstored = sqlite3.connect(kdb).execute(
            "SELECT COUNT(*) FROM silo").fetchone()[0]

        uas = start_uas(env, ports, "kamailio")
        t1 = time.time()
        kt_reg, knreg = register_all(env, kport, users, ports, 300)

        # done when the terminals have all (or nothing new came for 10 s)
        def received():
            n = 0
            for port in ports:
                try:
                    with open(env.path("uas-kamailio-%d.log" % port)) as f:
                        n += f.read().count("CID ")
                except OSError:
                    pass
            return n
        last_n, last_t, end = -1, time.time(), time.time() + 300
        while time.time() < end:
            n = received()
            if n != last_n:
                last_n, last_t = n, time.time()
            if n >= kstored or time.time() - last_t > 10:
                break
            time.sleep(0.1)
        kt_drain = last_t - t1
        left = sqlite3.connect(kdb, timeout=5).execute(
            "SELECT COUNT(*) FROM silo").fetchone()[0]
        kgot, kdistinct = stop_uas(env, uas, ports, "kamailio")

        kacc_rate = kstored / t_kacc
        kdrain_rate = last_n / kt_drain
        print("  Kamailio 5.6 msilo (db_sqlite, WAL), same users and "
              "terminals:")
        print("    %s" % " ".join(cmd))
        print("    stored %d in %.2f s = %.0f MESSAGE/s (202: %s, failed: "
              "%s, timed out: %s)" % (kstored, t_kacc, kacc_rate,
                                      km.group(1) if km else "?",
                                      km.group(2) if km else "?",
                                      km.group(3) if km else "?"))
        print("    %d/%d REGISTER ok in %.2f s (m_dump runs inside "
              "REGISTER handling); drained in %.2f s = %.0f "
              "delivered/s; terminals got %d, distinct %d; left in silo "
              "%d (drain = REGISTER start to the last MESSAGE a terminal "
              "received)" % (
                  knreg, users, kt_reg, kt_drain, kdrain_rate, kgot,
                  kdistinct,
                  left))
        return kacc_rate, kdrain_rate
    finally:
        env.close()


def main():
    argv = sys.argv[1:]
    stores = store_arg(argv)
    no_msilo = "--no-msilo" in argv
    if no_msilo:
        argv.remove("--no-msilo")
    total = int(argv[0]) if len(argv) > 0 else 100000
    users = int(argv[1]) if len(argv) > 1 else 1000
    nuas = int(argv[2]) if len(argv) > 2 else 2
    got = {st: sippushd(st, total, users, nuas) for st in stores}
    if not no_msilo:
        kacc, kdrain = msilo(total, users, nuas)
        acc, drain = got["sqlite"][:2]
        print("  ratios sippushd (SQLite)/msilo: accept %.2f, drain %.2f" % (
            acc / max(kacc, 1), drain / max(kdrain, 1)))
    if len(got) == 2:
        s, p = got["sqlite"], got["postgresql"]
        print("  PostgreSQL / SQLite, same run: accepted/s %.2f, "
              "delivered/s %.2f (target >= 0.70); sippushd CPU per push "
              "%.1f / %.1f us, + PostgreSQL's %.1f us" % (
                  p[0] / s[0], p[1] / s[1], p[2], s[2], p[3]))
    print("  command: %s" % " ".join(sys.argv))


if __name__ == "__main__":
    main()

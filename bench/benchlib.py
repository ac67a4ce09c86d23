"""What the benchmarks share: the interop harness, a SIPp terminal that
answers 200 to every MESSAGE, and readings of a process and of sippushd."""
import os
import shlex
import re
import subprocess
import sys
import time
import types
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import harness  # noqa: E402,F401  (re-exported for the benches)

_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="terminal">
  <recv request="MESSAGE">%s</recv>
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

_LOG_CALLID = """
    <action>
      <ereg regexp="[^ ]+" search_in="hdr" header="Call-ID:" check_it="true" assign_to="cid"/>
      <log message="CID [$cid]"/>
    </action>
  """


# A SIPp process stands for hundreds of terminals on one socket: its
# default buffer (64 KiB) overflows when a drain sends to all of them at
# once, and each MESSAGE dropped there waits 500 ms for its retransmission
# (2,000 drops in an offline drain of 100,000 here, its rate varying from
# 19k to 26k/s). A phone has a socket of its own: 4 MiB (net.core.rmem_max
# here) keeps the bench measuring sippushd, not SIPp's buffer.
SIPP_BUF = ["-buff_size", "4194304"]


def udp_drops():
    """UDP datagrams dropped machine-wide so far because a socket's
    receive buffer was full (/proc/net/snmp RcvbufErrors)"""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def uas_scenario(log_callid=False):
    """A terminal answering 200; with log_callid, one 'CID <Call-ID>' log
    line per MESSAGE (to count what arrived, and duplicates)."""
    return _UAS % (_LOG_CALLID if log_callid else "")


def proc_cpu(pid):
    """User + system CPU seconds of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def metrics(d):
    """sippushd's /metrics as a dict."""
    req = urllib.request.Request(d.base + "/metrics", headers={
        "Authorization": "Bearer %s" % d.token})
    with urllib.request.urlopen(req, timeout=10) as r:
        txt = r.read().decode()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^(sippush_\w+) ([\d.]+)$", txt, re.M)}


def pct(v, p):
    """The p-th percentile of v (nan when empty)."""
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def proc_write_bytes(pid):
    """Bytes a process had written to storage (/proc/PID/io)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def wrk_then_drain(d, lua, secs, conns):
    """POST with wrk for secs on conns keep-alive connections (lua: the
    request script), then wait (at most 120 s) until nothing is pending.
    Returns what the benches print: .wrk (the command), .out, .non2xx and
    .errors (from wrk's output), .t_post and .t_all (seconds posting, in
    all), sippushd's .cpu (seconds), .rss0 and .hwm (kB, before and
    peak), .m (its /metrics after), .wbytes (what it wrote to storage)."""
    r = types.SimpleNamespace(rss0=proc_rss_kb(d.proc.pid))
    cpu0 = proc_cpu(d.proc.pid)
    wb0 = proc_write_bytes(d.proc.pid)
    t0 = time.time()
    r.wrk = ["wrk", "-t", "1", "-c", str(conns), "-d", "%ds" % secs,
             "--latency", "-s", lua, d.base]
    r.out = subprocess.run(r.wrk, capture_output=True, text=True,
                           timeout=secs + 60,
                           env=dict(os.environ, SIPPUSH_TOKEN=d.token)
                           ).stdout
    r.t_post = time.time() - t0
    r.m_post = metrics(d)     # at the end of posting: delivered meanwhile
    end = time.time() + 120
    while time.time() < end and metrics(d).get(
            "sippush_pushes_pending", 1) > 0:
        time.sleep(0.05)
    r.t_all = time.time() - t0
    r.m = metrics(d)
    r.cpu = proc_cpu(d.proc.pid) - cpu0
    r.wbytes = proc_write_bytes(d.proc.pid) - wb0
    r.hwm = proc_rss_kb(d.proc.pid, "VmHWM")
    n = re.search(r"Non-2xx or 3xx responses: (\d+)", r.out)
    e = re.search(r"Socket errors: (.*)", r.out)
    r.non2xx = n.group(1) if n else "0"
    r.errors = e.group(1) if e else "none"
    return r


def print_delivery(lat, request, r, rss0_when, accepted, delivered):
    """The lines both end-to-end benches print: latency from the store,
    sippushd's CPU and memory (r: from wrk_then_drain), what was lost."""
    print("  delivered while posting: %.0f/s (delivery's share of the loop "
          "under the HTTP load; backlog at the end %d)" % (
              r.m_post.get("sippush_deliveries_delivered_total", 0) /
              r.t_post, r.m_post.get("sippush_delivery_backlog", 0)))
    print("  accept->delivered (202 .. 200 OK to the %s): "
          "p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (
              request, pct(lat, 50), pct(lat, 99), max(lat) if lat else 0))
    print("  sippushd CPU: %.1f s over %.1f s (%.0f%% of one core); "
          "RSS %d kB %s, peak %d kB" % (r.cpu, r.t_all,
                                         100 * r.cpu / r.t_all, r.rss0,
                                         rss0_when, r.hwm))
    print("  lost: %d (accepted but not delivered)" % (accepted -
                                                        delivered))


def floor_cpu_us(env, conns, n=20000):
    """CPU microseconds per push of bench-floor (the same syscalls and SQL
    in a minimal loop; its own process only), run now on this machine,
    or None when it is not built."""
    exe = os.path.join(harness.BUILD, "bench", "bench-floor")
    if not os.path.exists(exe):
        return None
    out = subprocess.run([exe, str(n), str(min(conns, 64)),
                          env.path("floor.db")], capture_output=True,
                         text=True, timeout=300).stdout
    m = re.search(r"([\d.]+) us CPU per push", out)
    return float(m.group(1)) if m else None


def print_cpu_per_push(env, r, pushes, conns):
    """sippushd's CPU per push beside the floor's, as a multiple"""
    if not pushes:
        return
    us = r.cpu * 1e6 / pushes
    fl = floor_cpu_us(env, conns)
    print("  sippushd CPU per push: %.1f us%s" % (us, (
        "; floor (bench-floor, same connections, run just after): %.1f "
        "us, sippushd is %.1f times the floor" % (fl, us / fl))
        if fl else ""))


def store_arg(argv):
    """--store sqlite|postgresql taken out of argv (the rest positional):
    the stores to run, in order; postgresql runs SQLite first, then
    PostgreSQL, in the same run, for the ratio"""
    stores = ["sqlite"]
    if "--store" in argv:
        i = argv.index("--store")
        which = argv[i + 1] if i + 1 < len(argv) else ""
        del argv[i:i + 2]
        if which.startswith("postgres"):
            stores = ["sqlite", "postgresql"]
        elif which != "sqlite":
            sys.exit("--store sqlite|postgresql")
    return stores


def pg_durable(env, name):
    """A PostgreSQL server of the bench's own (tests/pgserver.py) with the
    durability SQLite's synchronous=FULL has: fsync and synchronous_commit
    on, full_page_writes on; returns (server, conninfo of a new database).
    env stops it with the bench's processes."""
    from pgserver import PgServer
    pg = PgServer(name).start("fsync=on", "synchronous_commit=on",
                              "full_page_writes=on", "max_wal_size=1GB")
    env.pg = pg
    url = pg.createdb("bench")
    env.pg_dbs.add("bench")
    return pg, url


def tree_cpu(pid):
    """CPU seconds of a process and its children now alive (the
    PostgreSQL postmaster and its backends, WAL writer, checkpointer...)"""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / \
                os.sysconf("SC_CLK_TCK")
    return total


def store_daemon(env, store, *args):
    """A sippushd for a bench on SQLite (harness default) or on a durable
    PostgreSQL of the bench's own; .pg is the server or None. It runs
    under SIPPUSHD_WRAP if set (a command and its arguments, e.g. "env
    LD_PRELOAD=build/bench/libslowsync.so SLOWSYNC_US=1000": a slower
    disk, bench/slowsync.c)"""
    wrap = shlex.split(os.environ.get("SIPPUSHD_WRAP", ""))
    if wrap:
        print("  sippushd runs under: %s" % " ".join(wrap))
    if store == "sqlite":
        d = harness.Daemon(env, *args, wrap=wrap)
        d.pg = None
        return d
    pg, url = pg_durable(env, "bench")
    d = harness.Daemon(env, "--store", url, *args, wrap=wrap)
    d.store = url                     # db_rows through psql
    d.pg = pg
    return d

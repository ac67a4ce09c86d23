#!/usr/bin/env python3
"""bench/push-ir: sippushd's instructions per push under callgrind, a
figure that does not depend on what else runs on the machine.

A fixed load: PUSHES pushes POSTed one per request on CONNECTIONS keep-alive
connections, each delivered as a MESSAGE to a SIPp terminal answering 200,
store durable (WAL, synchronous=FULL). A warm-up first (2,500 pushes, or
a tenth of PUSHES: enough for the event ring to wrap);
then the counters are zeroed (callgrind_control -z), the measured pushes
sent and delivered, and the counters dumped (callgrind_control -d).
Printed: instructions (Ir) per push, the share of each object file,
the functions costing most (self), and the allocations per push
(calls to malloc, calloc and realloc as callgrind counted them).

With --drain the measured pushes go to USERS who are offline; once all
are accepted the counters are zeroed, the users register, and the queue
drains: Ir per delivered push of an offline drain (bench/offline_drain.py's
second half), REGISTERs included.

usage: bench/push_ir.py [--drain] [PUSHES] [CONNECTIONS] [USERS]
                        ["sippushd options"]
  SIPPUSH_IR_KEEP=DIR keeps the callgrind file there (for
  callgrind_annotate).
  SIPPUSH_IR_CACHE=1 adds callgrind's cache simulation (about twice as
  slow): first-level and last-level misses per push, and callgrind's
  estimate of cycles (Ir + 10 x L1 misses + 100 x LL misses), a model of
  what memory costs that does not depend on this machine's load either.
"""
import collections
import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from benchlib import SIPP_BUF, harness, metrics, uas_scenario

Daemon, Env, free_port = harness.Daemon, harness.Env, harness.free_port
ALLOC = ("malloc", "calloc", "realloc")


def post_all(d, n, conns, users, first, prefix="u"):
    """n pushes, one per POST, on conns keep-alive connections; each
    waits for its 202 before the next (so a loop turn sees at most conns)"""
    bad = []
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    hdr = {"Content-Type": "application/json",
           "Authorization": "Bearer " + d.token}

    def run(i, count):
        c = http.client.HTTPConnection("127.0.0.1", d.http_port,
                                       timeout=120)
        for k in range(count):
            m = first + i * 100000 + k
            body = ('{"to":"sip:%s%d@example.com","app":"mms.ua",'
                    '"content_type":"text/plain","body":"push %d from '
                    'push_ir"}' % (prefix, m % users, m))
            c.request("POST", "/v1/pushes", body, hdr)
            r = c.getresponse()
            r.read()
            if r.status != 202:
                bad.append(r.status)
        c.close()
    ths = [threading.Thread(target=run, args=(i, per[i]))
           for i in range(conns)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(600)
    harness.check(not bad, "POSTs refused: %s" % bad[:5])


def drained(d, want, timeout=600):
    end = time.time() + timeout
    while time.time() < end:
        m = metrics(d)
        if m.get("sippush_pushes_pending", 1) == 0 and \
                m.get("sippush_deliveries_delivered_total", 0) >= want:
            return
        time.sleep(1)
    raise harness.Fail("not delivered within %d s" % timeout)


def parse(path):
    """Self Ir per (object, function) and calls to each function, from a
    callgrind file (name compression: "(id) name" then "(id)")."""
    names = {"fn": {}, "ob": {}, "fl": {}, "cfn": {}, "cob": {}}
    self_ir = collections.Counter()
    calls = collections.Counter()
    edges = collections.Counter()
    total = 0
    totals = {}
    ob = fn = cfn = None
    pending_call = None
    events = None

    def name(kind, val):
        tab = names["fn" if kind in ("fn", "cfn") else
                    "ob" if kind in ("ob", "cob") else "fl"]
        m = re.match(r"\((\d+)\)(?: (.*))?$", val)
        if not m:
            return val
        if m.group(2) is not None:
            tab[m.group(1)] = m.group(2)
        return tab.get(m.group(1), val)

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    pending_call = None     # the call's inclusive cost
                    continue
                self_ir[(ob, fn)] += ir
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = name("ob", val)
            elif key == "fn":
                fn = name("fn", val)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                name("fl", val)
            elif key == "cob":
                name("cob", val)
            elif key == "cfn":
                cfn = name("cfn", val)
            elif key == "calls":
                calls[cfn] += int(val.split()[0])
                edges[(fn, cfn)] += int(val.split()[0])
                pending_call = True
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
                totals = dict(zip(events or [], map(int, line.split()[1:])))
    if events and events[0] != "Ir":
        raise harness.Fail("no Ir in %s" % path)
    parse.totals = totals
    return total, self_ir, calls, edges


def print_cache(totals, n):
    """callgrind's cache simulation, per push (SIPPUSH_IR_CACHE=1)"""
    l1 = sum(totals.get(e, 0) for e in ("I1mr", "D1mr", "D1mw"))
    ll = sum(totals.get(e, 0) for e in ("ILmr", "DLmr", "DLmw"))
    if not l1 and not ll:
        return
    print("  cache (callgrind's simulation, per push): L1 misses %.0f "
          "(data %.0f), last-level misses %.1f (data %.1f); estimated "
          "cycles %.0f" % (
              l1 / n, (totals.get("D1mr", 0) + totals.get("D1mw", 0)) / n,
              ll / n, (totals.get("DLmr", 0) + totals.get("DLmw", 0)) / n,
              (totals.get("Ir", 0) + 10 * l1 + 100 * ll) / n))


# wrappers whose callers are the ones to name
WRAPPERS = ("mem_alloc", "mem_zalloc", "mem_realloc", "str_dup", "pl_strdup",
            "mbuf_alloc", "mbuf_resize", "strdup", "re_sdprintf",
            "re_vsdprintf", "print_handler_dyn", "mbuf_printf",
            "mbuf_vprintf", "mbuf_write_mem", "mbuf_write_str",
            "sqlite3Malloc", "sqlite3MallocZero", "sqlite3DbMallocRaw",
            "sqlite3DbMallocZero", "sqlite3DbMallocRawNN", "jsonp_malloc",
            "jsonp_strdup", "jsonp_strndup")


def alloc_sources(edges):
    """Allocations by the first caller that is not an allocation wrapper
    (an unknown-named function counts as its own source)."""
    callers = collections.defaultdict(collections.Counter)
    for (fn, cfn), c in edges.items():
        callers[cfn][fn] += c
    out = collections.Counter()

    def walk(fn, n, depth):
        base = fn.split("'")[0]
        total = sum(callers[fn].values())
        if depth > 6 or base not in WRAPPERS + ALLOC or not total:
            out[fn] += n
            return
        for caller, c in callers[fn].items():
            walk(caller, n * c / total, depth + 1)
    for a in ALLOC:
        for caller, c in callers[a].items():
            walk(caller, c, 0)
    return out


def floor_ir(env, n, conns):
    """Ir per push of bench-floor (the same syscalls and SQL in a minimal
    loop) under callgrind: the difference of a run of 2n and one of n
    pushes, so its start-up cancels out. None when it is not built."""
    exe = os.path.join(harness.BUILD, "bench", "bench-floor")
    if not os.path.exists(exe):
        return None
    tot = []
    for k in (n, 2 * n):
        db = env.path("floor-%d.db" % k)
        out = env.path("floor-%d.cg" % k)
        subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out, exe, str(k),
                        str(conns), db], check=True, capture_output=True,
                       timeout=600)
        tot.append(parse(out)[0])
    return (tot[1] - tot[0]) / n


def pending(d, want, timeout=600):
    end = time.time() + timeout
    while time.time() < end:
        if metrics(d).get("sippush_pushes_pending", 0) >= want:
            return
        time.sleep(0.5)
    raise harness.Fail("not %d pending within %d s" % (want, timeout))


def main():
    cmd = " ".join(sys.argv)
    drain = "--drain" in sys.argv[1:]
    if drain:
        sys.argv.remove("--drain")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    users = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    extra = sys.argv[4].split() if len(sys.argv) > 4 else []
    # the warm-up fills the event ring (4,096 lines, ~1.9 per push): until
    # it wraps each line allocates its slot's buffer, which the steady
    # state never does
    warm = max(2500, n // 10)
    if not shutil.which("valgrind"):
        print("bench/push-ir: skipped, no valgrind (apt-get install valgrind)")
        return
    env = Env("bench-push-ir")
    out = env.path("callgrind.out")
    cache = (["--cache-sim=yes"] if os.environ.get("SIPPUSH_IR_CACHE")
             else [])
    try:
        d = Daemon(env, "--trust-udp", "--log-level", "warn", *extra,
                   wrap=["valgrind", "--tool=callgrind",
                         "--callgrind-out-file=" + out] + cache).start()
        harness.wait_until(lambda: metrics(d) is not None, 60, "metrics")
        with open(env.path("uas.xml"), "w") as f:
            f.write(uas_scenario())
        port = free_port()
        env.spawn(["sipp", "-sf", env.path("uas.xml"), "-i", "127.0.0.1",
                   "-p", str(port), "-nostdin"] + SIPP_BUF, "uas.out")
        # the warm-up's users; with --drain the measured ones register
        # only after their pushes are accepted
        for i in range(users):
            harness.register_udp(d, "u%d" % i, port,
                                 "urn:uuid:00000000-0000-4000-8000-%012d"
                                 % i, timeout=30)
        post_all(d, warm, conns, users, 0)
        drained(d, warm)
        if drain:
            post_all(d, n, conns, users, 10 ** 7, "o")
            pending(d, n)
        subprocess.run(["callgrind_control", "-z", str(d.proc.pid)],
                       check=True, capture_output=True, timeout=60)
        t0 = time.time()
        if drain:
            for i in range(users):
                harness.register_udp(
                    d, "o%d" % i, port,
                    "urn:uuid:00000000-0000-4000-8000-1%011d" % i,
                    timeout=30)
        else:
            post_all(d, n, conns, users, 10 ** 7)
        drained(d, warm + n)
        took = time.time() - t0
        subprocess.run(["callgrind_control", "-d", str(d.proc.pid)],
                       check=True, capture_output=True, timeout=60)
        dumps = sorted(p for p in os.listdir(env.dir)
                       if p.startswith("callgrind.out."))
        harness.check(dumps, "no callgrind dump")
        path = env.path(dumps[-1])
        total, self_ir, calls, edges = parse(path)
        d.stop()

        if drain:
            print("bench/push-ir --drain: %d pushes (after %d warm-up) "
                  "accepted for %d offline users, then measured: the users "
                  "register and the queue drains, each push delivered as "
                  "a MESSAGE to a SIPp terminal answering 200; sippushd "
                  "under callgrind (%.0f s); per push below: per delivered "
                  "push of the drain" % (n, warm, users, took))
        else:
            print("bench/push-ir: %d pushes (after %d warm-up) POSTed one "
                  "per request on %d keep-alive connections to %d users, "
                  "each delivered as a MESSAGE to a SIPp terminal "
                  "answering 200; sippushd under callgrind (%.0f s)" % (
                      n, warm, conns, users, took))
        print("  Ir per push: %.0f" % (total / n))
        print_cache(parse.totals, n)
        sq = sum(ir for (ob, _), ir in self_ir.items()
                 if "libsqlite3" in os.path.basename(ob or ""))
        # sq_commit: the SQLite backend's COMMIT (src/store/sqlite.c)
        print("  Ir per push outside SQLite: %.0f (SQLite's share follows "
              "the group commit's size, which varies with timing and "
              "load: %.1f pushes per COMMIT here)" % (
                  (total - sq) / n, n / max(calls.get("sq_commit", 0), 1)))
        allocs = sum(calls[a] for a in ALLOC)
        print("  allocations per push: %.1f (%s)" % (allocs / n, ", ".join(
            "%s %.1f" % (a, calls[a] / n) for a in ALLOC)))
        by_ob = collections.Counter()
        for (ob, _), ir in self_ir.items():
            by_ob[os.path.basename(ob or "?")] += ir
        print("  allocations by where they come from (per push):")
        for fn, c in alloc_sources(edges).most_common(20):
            if c / n >= 0.5:
                print("    %6.1f  %s" % (c / n, fn))
        print("  by object (self Ir per push, share):")
        for ob, ir in by_ob.most_common(10):
            print("    %8.0f  %5.1f%%  %s" % (ir / n, 100.0 * ir / total, ob))
        print("  top functions (self Ir per push, share):")
        for (ob, fn), ir in self_ir.most_common(25):
            print("    %8.0f  %5.1f%%  %s (%s)" % (
                ir / n, 100.0 * ir / total, fn,
                os.path.basename(ob or "?")))
        print("  most called (calls per push):")
        for fn, c in calls.most_common(15):
            print("    %8.1f  %s" % (c / n, fn))
        fl = None if drain else floor_ir(env, n, conns)
        if fl:
            print("  floor (bench-floor: an HTTP pair, a UDP pair, an INSERT "
                  "and an UPDATE per push, a transaction per %d, in a "
                  "minimal loop): %.0f Ir per push; sippushd is %.1f times "
                  "the floor (user space only: callgrind sees no kernel "
                  "time, most of the floor's CPU)" % (conns, fl,
                                                      total / n / fl))
        keep = os.environ.get("SIPPUSH_IR_KEEP")
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(path, os.path.join(keep, "callgrind.out.push_ir"))
            print("  kept: %s" % os.path.join(keep, "callgrind.out.push_ir"))
        print("  command: %s" % cmd)
    finally:
        env.close()


if __name__ == "__main__":
    main()

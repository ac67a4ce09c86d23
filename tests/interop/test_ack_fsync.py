#!/usr/bin/env python3
"""A 202 only after the WAL's fdatasync, seen in sippushd's own system
calls: sippushd runs under strace (-f: its walsync thread too) while 16
keep-alive HTTP connections post pushes. For every 202, the request was
read at t_r; the first run of WAL writes by the loop after t_r is its
commit; an fdatasync (or fsync) of the WAL must have begun after that run
and returned before the 202 was sent. kill -9 cannot show this (the page
cache survives a killed process, not a power loss); the order of the
calls can.

The same check on `--sync normal` (nothing synced at a commit) must find
202s without such a sync: the check can fail."""
import asyncio
import bisect
import os
import re
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run as run_tests
import loadgen

TRACE = ("trace=recvfrom,read,sendto,sendmsg,writev,write,pwrite64,"
         "fdatasync,fsync")

# "PID TIME call(FD<annotation>, ..." possibly "<unfinished ...>", or
# "PID TIME <... call resumed>..."
LINE = re.compile(r'^(\d+) +(\d+\.\d+) (?:<\.\.\. (\w+) resumed>(.*)|'
                  r'(\w+)\((\d+)<(.*?)>(?=[,)]| <unfinished)(.*))$')


def push_req(n):
    body = ('{"to":"sip:off%d@example.com","app":"mms.ua",'
            '"content_type":"text/plain","body":"push %d"}'
            % (n % 300, n)).encode()
    return "/v1/pushes", "application/json", body, n


def parse(path, wal):
    """Events in time order: (t_start, t_end, tid, call, fd annotation,
    rest of the line)"""
    pending = {}           # (tid, call) -> (t_start, annotation, rest)
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            tid, t = int(m.group(1)), float(m.group(2))
            if m.group(3):                       # resumed
                key = (tid, m.group(3))
                if key in pending:
                    t0, ann, rest = pending.pop(key)
                    out.append((t0, t, tid, m.group(3), ann,
                                rest + m.group(4)))
                continue
            call, ann, rest = m.group(5), m.group(7), m.group(8)
            if rest.endswith("<unfinished ...>"):
                pending[(tid, call)] = (t, ann, rest)
                continue
            dur = re.search(r'<(\d+\.\d+)>$', rest)
            out.append((t, t + (float(dur.group(1)) if dur else 0.0), tid,
                        call, ann, rest))
    out.sort()
    return out


def violations(events, wal, loop_tid):
    """202s not preceded by a sync of the WAL begun after their commit
    (loop_tid: sippushd's own pid, its loop's thread)"""
    is_wal = lambda e: e[4].endswith(wal)
    syncs = sorted((e[0], e[1]) for e in events
                   if e[3] in ("fdatasync", "fsync") and is_wal(e))
    sync_starts = [s for s, _ in syncs]
    # the loop's WAL writes grouped into runs (a COMMIT's frames): a run
    # ends at the loop's next call that is not a WAL write
    runs, cur = [], None
    for e in events:
        if e[2] != loop_tid:
            continue
        if e[3] == "pwrite64" and is_wal(e):
            cur = [e[0], e[1]] if cur is None else [cur[0], e[1]]
        elif cur is not None:
            runs.append(tuple(cur))
            cur = None
    if cur is not None:
        runs.append(tuple(cur))
    run_starts = [r[0] for r in runs]

    last_req = {}
    bad, answered = [], 0
    for e in events:
        t0, t1, _, call, ann, rest = e
        if not ann.startswith("TCP:"):
            continue
        if call in ("recvfrom", "read") and '"POST ' in rest:
            last_req[ann] = t1
        elif call in ("sendto", "sendmsg", "writev", "write") and \
                "HTTP/1.1 202" in rest and ann in last_req:
            answered += 1
            i = bisect.bisect_right(run_starts, last_req[ann])
            if i >= len(runs):
                bad.append((t0, "no WAL write after the request"))
                continue
            commit_end = runs[i][1]
            j = bisect.bisect_left(sync_starts, commit_end)
            if not any(end <= t0 for _, end in syncs[j:j + 64]):
                bad.append((t0, "no sync between its commit (%.6f) and "
                            "the 202" % commit_end))
    return answered, bad


def stop_traced(d):
    """SIGTERM to sippushd itself (strace's child): strace, told to stop,
    would let it run on untraced; strace ends when it does"""
    kids = []
    task = "/proc/%d/task" % d.proc.pid
    for tid in os.listdir(task):
        with open("%s/%s/children" % (task, tid)) as f:
            kids += [int(k) for k in f.read().split()]
    check(len(kids) == 1, "strace's children: %s" % kids)
    os.kill(kids[0], signal.SIGTERM)
    rc = d.proc.wait(20)
    check(rc == 0, "sippushd (under strace) exited %s on SIGTERM" % rc)
    return kids[0]


def traced_round(env, sync, tag):
    trace = env.path("strace-%s.txt" % tag)
    d = Daemon(env, "--log-level", "warn", "--sync", sync,
               db="fsync-%s.db" % tag,
               wrap=[shutil.which("strace"), "-f", "-qq", "-ttt", "-T",
                     "-yy", "-s", "24", "-e", TRACE, "-o", trace]).start()
    http = loadgen.Http(d.http_port, 16, push_req, d.token)
    asyncio.run(http.run(3.0))
    pid = stop_traced(d)
    events = parse(trace, os.path.basename(d.db) + "-wal")
    answered, bad = violations(events, os.path.basename(d.db) + "-wal",
                               pid)
    got = sum(1 for _, st, _ in http.answers if st == 202)
    print("--sync %s: %d pushes answered 202 (%d seen in the trace), %d "
          "without a sync of the WAL between their commit and the 202"
          % (sync, got, answered, len(bad)))
    sys.stdout.flush()
    check(answered > 100, "too few 202s in the trace to mean anything: "
          "%d" % answered)
    return bad


def test_202_after_fdatasync(env):
    bad = traced_round(env, "full", "full")
    check(not bad, "202 before its commit was synced (first: %s)" % bad[:3])


def test_check_can_fail(env):
    bad = traced_round(env, "normal", "normal")
    check(bad, "--sync normal syncs nothing at a commit, yet every 202 "
          "looked synced: the check cannot fail")


if __name__ == "__main__":
    if not shutil.which("strace"):
        print("SKIP: strace is not installed")
        sys.exit(77)
    # LeakSanitizer cannot stop a traced process's threads (it ptraces
    # them itself): leaks are every other test's to find
    asan = os.environ.get("ASAN_OPTIONS")
    if asan:
        os.environ["ASAN_OPTIONS"] = asan.replace("detect_leaks=1",
                                                  "detect_leaks=0")
    run_tests([test_202_after_fdatasync, test_check_can_fail])

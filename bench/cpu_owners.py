#!/usr/bin/env python3
"""bench/cpu-owners: whose work sippushd's CPU is, under push_e2e's load.

Runs bench/push_e2e.py (SECONDS, 1000 users, CONNECTIONS), attaches
`perf record` (cpu-clock, DWARF call graphs) to its sippushd for PERF_S
seconds once the load runs, and sorts the samples two ways:
  - where the CPU is: the object of the innermost frame (the kernel, the
    C library, SQLite, libre, libmicrohttpd, jansson, sippushd's own);
  - whose work it is: the first frame outside the kernel and the C
    library. A system call libmicrohttpd makes, or a memset it asks for,
    is libmicrohttpd's work; the kernel's time under sippushd's own
    sendto() is sippushd's.
Each share is also given in µs per push, from the CPU per push push_e2e
measured in the same run (shares of a sample are shares of the whole
run). sippushd's own functions are those defined in the build's own
archives and objects; libre is linked statically, so the rest of the
binary is libre's.

usage: bench/cpu_owners.py [SECONDS] [CONNECTIONS] [PERF_S]
  needs perf (linux-perf); SIPPUSH_BUILD as for the other benches.
"""
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("SIPPUSH_BUILD",
                       os.path.join(HERE, "..", "build"))
LIBS = (("libsqlite3", "SQLite"), ("libmicrohttpd", "libmicrohttpd"),
        ("libjansson", "jansson"), ("libc.so", "libc"), ("vdso", "vdso"),
        ("ld-linux", "ld.so"))


def own_symbols():
    """Functions defined by sippushd's own code: its archives and main's
    objects (libre.a is not among them)"""
    paths = []
    for root, _, files in os.walk(BUILD):
        for f in files:
            if f.endswith(".a") and f.startswith("libsippush") or (
                    root.endswith("sippushd.dir") and f.endswith(".o")):
                paths.append(os.path.join(root, f))
    syms = set()
    for p in paths:
        out = subprocess.run(["nm", "--defined-only", p], text=True,
                             capture_output=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "Tt":
                syms.add(parts[2])
    return syms


def category(sym, dso, own):
    if "kernel" in dso:
        return "kernel"
    if dso.endswith("sippushd"):
        return "sippushd" if sym.split(".")[0] in own else "libre"
    for key, name in LIBS:
        if key in dso:
            return name
    return os.path.basename(dso)


def samples(path):
    """(thread id, [(symbol, object)]) per sample of `perf script`"""
    out = subprocess.run(["perf", "script", "-i", path, "-F",
                          "tid,ip,sym,dso"], text=True,
                         capture_output=True).stdout
    cur = None
    for line in out.splitlines() + [""]:
        if not line.strip():
            if cur and cur[1]:
                # an inlined function is part of the function it was
                # inlined into: the next real frame's, symbol and object
                frames = cur[1]
                for i, (sym, dso) in enumerate(frames):
                    if dso == "inlined":
                        frames[i] = next((f for f in frames[i + 1:]
                                          if f[1] != "inlined"), (sym, dso))
                yield cur
            cur = None
        elif re.match(r"\s*\d+\s*$", line):      # the sample's thread
            cur = (line.split()[0], [])
        elif cur is not None:
            m = re.match(r"\s*[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$", line)
            if m:
                cur[1].append((m.group(1).strip(), m.group(2)))


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    perf_s = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    if subprocess.run(["sh", "-c", "command -v perf"],
                      capture_output=True).returncode:
        print("bench/cpu-owners: skipped, no perf (apt-get install "
              "linux-perf)")
        return
    own = own_symbols()
    tmp = tempfile.mkdtemp(prefix="sippush-bench-cpu-owners-")
    data = os.path.join(tmp, "perf.data")
    e2e = subprocess.Popen([sys.executable, os.path.join(HERE, "push_e2e.py"),
                            str(secs), "1000", str(conns)],
                           stdout=subprocess.PIPE, text=True)
    pid = None
    t0 = time.time()
    while pid is None and time.time() - t0 < 60:
        r = subprocess.run(["pgrep", "-n", "-f",
                            "sippushd.*sippush-bench-push-e2e"],
                           capture_output=True, text=True)
        pid = int(r.stdout.split()[0]) if r.stdout.strip() else None
        time.sleep(0.2)
    if pid is None:
        e2e.kill()
        sys.exit("bench/cpu-owners: no sippushd of push_e2e within 60 s")
    # its users register first (a second or two); then the load runs
    time.sleep(min(3.0, secs / 3))
    rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F",
                          "1000", "--call-graph", "dwarf,16384", "-p",
                          str(pid), "-o", data, "--", "sleep", str(perf_s)],
                         capture_output=True, text=True)
    report = e2e.communicate()[0]
    if rec.returncode or not os.path.exists(data):
        sys.exit("bench/cpu-owners: perf record failed: %s" %
                 rec.stderr.strip()[-300:])
    m = re.search(r"CPU per push: ([\d.]+) us", report)
    us = float(m.group(1)) if m else None

    where = collections.Counter()
    whose = collections.Counter()
    in_kernel = collections.Counter()
    tids = collections.Counter()
    rows = list(samples(data))
    for tid, _ in rows:
        tids[tid] += 1
    loop = str(pid)
    for tid, frames in rows:
        thread = "loop" if tid == loop else "walsync thread"
        cats = [category(s, d, own) for s, d in frames]
        where[(thread, cats[0])] += 1
        owner = next((c for c in cats if c not in
                      ("kernel", "libc", "vdso")), cats[0])
        whose[(thread, owner)] += 1
        if cats[0] == "kernel":
            in_kernel[(thread, owner)] += 1
    n = max(len(rows), 1)

    print("bench/cpu-owners: perf (cpu-clock, 1 kHz, DWARF stacks) on "
          "push_e2e's sippushd for %d s of a %d s run, %d connections: "
          "%d samples (%s)" % (perf_s, secs, conns, len(rows), ", ".join(
              "%s %d" % ("loop" if t == loop else "thread " + t, c)
              for t, c in tids.most_common())))
    for line in report.splitlines():
        if "accepted:" in line or "CPU per push" in line:
            print(" ", line.strip())
    for title, tab in (("where the CPU is (innermost frame)", where),
                       ("whose work it is (first frame outside the kernel "
                        "and libc; in brackets the part in the kernel: its "
                        "system calls)", whose)):
        print("  %s:" % title)
        for key, k in tab.most_common():
            kern = in_kernel[key] if tab is whose else 0
            print("    %5.1f%%%s  %s, %s%s" % (
                100.0 * k / n, "  %5.1f us/push" % (us * k / n) if us
                else "", key[0], key[1],
                " (%.1f%% in the kernel%s)" % (
                    100.0 * kern / n, ", %.1f us" % (us * kern / n)
                    if us else "") if kern else ""))
    print("  command: bench/cpu_owners.py %d %d %d" % (secs, conns, perf_s))
    if not os.environ.get("SIPPUSH_CPU_KEEP"):
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

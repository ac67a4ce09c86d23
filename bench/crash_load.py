#!/usr/bin/env python3
"""bench/crash-load: the crash test of tests/interop/test_crash_load.py,
longer: pushes at a steady rate for SECONDS while sippushd is SIGKILLed
KILLS times at random moments and restarted; then every acknowledged push
must be delivered exactly once at the agents' handlers. METHOD notify
runs it in subscription mode (the agents subscribe, every push goes as a
NOTIFY in their dialogs). Prints what was acknowledged, how long the
whole run took, and the command.

usage: bench/crash_load.py [SECONDS] [RATE] [KILLS] [message|notify]
"""
import os
import sys
import time

from benchlib import HERE, harness

sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import test_crash_load  # noqa: E402


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    kills = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    method = sys.argv[4] if len(sys.argv) > 4 else "message"
    env = harness.Env("bench-crash")
    ok = False
    try:
        t0 = time.monotonic()
        r = test_crash_load.run(env, seconds, rate, kills, method=method)
        r["total_s"] = round(time.monotonic() - t0, 1)
        ok = True
    finally:
        env.close(keep=not ok)
    print("crash-load (%s): %d pushes acknowledged at %d/s over %.0f s "
          "with %d SIGKILL+restart, all delivered exactly once by %s; %d "
          "not acknowledged (daemon down); whole run %.1f s" %
          (method, r["acked"], rate, seconds, kills, method,
           r["not_acked"], r["total_s"]))
    print("command: SIPPUSH_BUILD=build python3 bench/crash_load.py %g %d %d "
          "%s" % (seconds, rate, kills, method))


if __name__ == "__main__":
    main()

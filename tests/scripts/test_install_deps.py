#!/usr/bin/env python3
"""scripts/install-deps itself, with apt-get, dpkg-query, id and
debconf-set-selections replaced by shims first on PATH.

For each case: the exit status, what apt-get was asked to do (the shim
logs its arguments), what was printed, and the policy-rc.d afterwards
(SIPPUSH_POLICY_RC points it into the test's directory; the shim apt-get
records whether it was there while apt ran). Every file lives in the
test's temporary directory, TMPDIR included, which must be empty after
each run. SIPPUSH_INSTALL_DEPS tests another copy of the script.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.environ.get("SIPPUSH_INSTALL_DEPS",
                        os.path.join(HERE, "..", "..", "scripts", "install-deps"))

INSTALLED = "install ok installed"
ADMIN_POLICY = b"#!/bin/sh\n# the administrator's own, kept as it is\nexit 0\n"

SHIMS = {
    # only -u is used by the script
    "id": """#!/bin/sh
[ "$1" = -u ] || exit 1
echo "$SHIM_UID"
""",
    # a package is installed unless listed in $SHIM/missing
    "dpkg-query": """#!/bin/sh
for p; do :; done
if grep -qx -- "$p" "$SHIM/missing" 2>/dev/null; then
	echo "dpkg-query: no packages found matching $p" >&2
	exit 1
fi
printf 'install ok installed'
""",
    "debconf-set-selections": """#!/bin/sh
cat >>"$SHIM/debconf"
""",
    "apt-get": """#!/bin/sh
echo "$*" >>"$SHIM/apt.log"
if [ "$1" = install ]; then
	if [ -e "$SHIM_POLICY" ]; then
		cp -p "$SHIM_POLICY" "$SHIM/policy-during"
		"$SHIM_POLICY" kamailio start
		echo $? >"$SHIM/policy-status"
	fi
fi
if [ "$SHIM_FAIL" = "$1" ]; then
	echo "Reading package lists..."
	echo "E: shim apt-get: $1 failed as told" >&2
	exit 100
fi
if [ "$SHIM_KILL" = "$1" ]; then
	kill -TERM "$PPID"
fi
exit 0
""",
}


class Case:
    def __init__(self, top, name):
        self.name = name
        self.dir = os.path.join(top, name)
        self.shim = os.path.join(self.dir, "shim")
        self.bin = os.path.join(self.dir, "bin")
        self.tmp = os.path.join(self.dir, "tmp")
        self.policy = os.path.join(self.dir, "sbin", "policy-rc.d")
        for d in (self.shim, self.bin, self.tmp, os.path.dirname(self.policy)):
            os.makedirs(d)
        for name, text in SHIMS.items():
            p = os.path.join(self.bin, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
        self.errors = []

    def run(self, args, missing=(), uid=0, fail="", kill="", policy=None):
        with open(os.path.join(self.shim, "missing"), "w") as f:
            f.write("".join(p + "\n" for p in missing))
        if policy is not None:
            with open(self.policy, "wb") as f:
                f.write(policy)
            os.chmod(self.policy, 0o750)
        env = {
            "PATH": self.bin + ":/usr/sbin:/usr/bin:/sbin:/bin",
            "TMPDIR": self.tmp,
            "SIPPUSH_POLICY_RC": self.policy,
            "SHIM": self.shim,
            "SHIM_POLICY": self.policy,
            "SHIM_UID": str(uid),
            "SHIM_FAIL": fail,
            "SHIM_KILL": kill,
            "LANG": "C",
        }
        r = subprocess.run(["sh", SCRIPT] + args, env=env, capture_output=True,
                           text=True, timeout=60)
        self.rc, self.out, self.err = r.returncode, r.stdout, r.stderr

    def read(self, name):
        p = os.path.join(self.shim, name)
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return f.read()

    def apt_calls(self):
        return (self.read("apt.log") or "").splitlines()

    def expect(self, cond, msg):
        if not cond:
            self.errors.append(msg)

    def expect_rc(self, want):
        ok = self.rc == want if want is not None else self.rc != 0
        self.expect(ok, "exit status %d, want %s" %
                    (self.rc, want if want is not None else "non-zero"))

    def expect_no_leftovers(self):
        left = os.listdir(self.tmp)
        self.expect(not left, "files left in TMPDIR: %s" % left)

    def report(self):
        if not self.errors:
            print("ok   %s" % self.name)
            return True
        print("FAIL %s" % self.name)
        for e in self.errors:
            print("       " + e)
        print("       stdout: %r" % self.out[-800:])
        print("       stderr: %r" % self.err[-800:])
        return False


def install_line(pkgs):
    return "install -y -qq --no-install-recommends " + " ".join(pkgs)


def all_present(c):
    c.run(["--test"])
    c.expect_rc(0)
    c.expect(c.out == "" and c.err == "", "not silent")
    c.expect(c.apt_calls() == [], "apt-get called: %s" % c.apt_calls())
    c.expect(not os.path.lexists(c.policy), "policy-rc.d created")
    c.expect_no_leftovers()


def runtime_ignores_test_set(c):
    # a missing test package is not the runtime set's business
    c.run(["--runtime"], missing=["libcmocka-dev", "sip-tester"])
    c.expect_rc(0)
    c.expect(c.out == "" and c.err == "", "not silent")
    c.expect(c.apt_calls() == [], "apt-get called: %s" % c.apt_calls())


def missing_no_policy(c):
    pkgs = ["libre-dev", "libcmocka-dev", "tshark"]
    c.run(["--test"], missing=pkgs)
    c.expect_rc(0)
    c.expect(c.apt_calls() == ["update -qq", install_line(pkgs)],
             "apt-get calls: %s" % c.apt_calls())
    c.expect(c.read("policy-during") is not None,
             "no policy-rc.d while apt-get ran")
    c.expect(c.read("policy-status") == "101\n",
             "policy-rc.d during the install answered %r, want 101 (deny)" %
             c.read("policy-status"))
    c.expect(not os.path.lexists(c.policy), "our policy-rc.d not removed")
    c.expect("install-deps: installing libre-dev libcmocka-dev tshark" in c.err,
             "no 'installing' line")
    c.expect("wireshark-common/install-setuid boolean false" in
             (c.read("debconf") or ""), "no debconf answer for tshark")
    c.expect(c.out == "", "stdout not empty")
    c.expect_no_leftovers()


def missing_with_policy(c):
    c.run(["--runtime"], missing=["libre-dev", "scdoc"], policy=ADMIN_POLICY)
    c.expect_rc(0)
    c.expect(c.apt_calls() == ["update -qq", install_line(["libre-dev", "scdoc"])],
             "apt-get calls: %s" % c.apt_calls())
    c.expect(c.read("policy-status") == "0\n",
             "apt-get did not run under the admin's policy-rc.d")
    if os.path.lexists(c.policy):
        with open(c.policy, "rb") as f:
            c.expect(f.read() == ADMIN_POLICY, "the admin's policy-rc.d changed")
        mode = stat.S_IMODE(os.stat(c.policy).st_mode)
        c.expect(mode == 0o750, "its mode changed to %o" % mode)
    else:
        c.expect(False, "the admin's policy-rc.d was removed")
    c.expect_no_leftovers()


def apt_install_fails(c):
    c.run(["--runtime"], missing=["libre-dev"], fail="install")
    c.expect_rc(None)
    c.expect("E: shim apt-get: install failed as told" in c.err,
             "apt's error not shown")
    c.expect(c.apt_calls() == ["update -qq", install_line(["libre-dev"])],
             "apt-get calls: %s" % c.apt_calls())
    c.expect(not os.path.lexists(c.policy), "our policy-rc.d not removed")
    c.expect_no_leftovers()


def apt_update_fails(c):
    c.run(["--runtime"], missing=["libre-dev"], fail="update")
    c.expect_rc(None)
    c.expect("E: shim apt-get: update failed as told" in c.err,
             "apt's error not shown")
    c.expect(c.apt_calls() == ["update -qq"],
             "apt-get calls: %s" % c.apt_calls())
    c.expect(not os.path.lexists(c.policy), "our policy-rc.d not removed")
    c.expect_no_leftovers()


def not_root(c):
    c.run(["--test"], missing=["libre-dev", "kamailio"], uid=1000)
    c.expect_rc(1)
    c.expect(c.out == "apt-get install -y --no-install-recommends "
             "libre-dev kamailio\n", "stdout: %r" % c.out)
    c.expect("run as root" in c.err, "no 'run as root' on stderr")
    c.expect(c.apt_calls() == [], "apt-get called: %s" % c.apt_calls())
    c.expect(not os.path.lexists(c.policy), "policy-rc.d created")
    c.expect_no_leftovers()


def terminated(c):
    # SIGTERM while apt-get runs: a failure, and our policy-rc.d still goes
    c.run(["--runtime"], missing=["libre-dev"], kill="install")
    c.expect_rc(None)
    c.expect(c.read("policy-during") is not None,
             "no policy-rc.d while apt-get ran")
    c.expect(not os.path.lexists(c.policy), "our policy-rc.d not removed")
    c.expect_no_leftovers()


CASES = [all_present, runtime_ignores_test_set, missing_no_policy,
         missing_with_policy, apt_install_fails, apt_update_fails, not_root,
         terminated]


def main():
    with open(SCRIPT) as f:
        if "SIPPUSH_POLICY_RC" not in f.read():
            # it would create and remove the system's own policy-rc.d
            print("FAIL %s: no SIPPUSH_POLICY_RC, not run" % SCRIPT)
            return 1
    top = tempfile.mkdtemp(prefix="test_install_deps.")
    try:
        ok = True
        for case in CASES:
            c = Case(top, case.__name__)
            case(c)
            ok = c.report() and ok
    finally:
        shutil.rmtree(top)
    print("install-deps (%s): %s" % (SCRIPT, "all cases pass" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

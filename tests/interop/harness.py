"""Interop test harness: real sippushd, SIPp terminals, tshark captures.

Every peer listens on a free loopback port, every wait is bounded, only
processes started here are stopped (by PID), and every file lives in the
test's temporary directory.
"""
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_DIR = os.path.join(HERE, "sipp")
BUILD = os.environ.get("SIPPUSH_BUILD", os.path.join(HERE, "..", "..", "build"))
# the store every Daemon uses: sqlite, or postgresql (a server of the
# test's own, tests/pgserver.py; ctest runs some tests on both)
STORE = os.environ.get("SIPPUSH_TEST_STORE", "sqlite")
sys.path.insert(0, os.path.join(HERE, ".."))
import freeport  # noqa: E402


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def free_port(span=1):
    """A free loopback port, reserved machine-wide (tests/freeport.py);
    span: that many consecutive ones, the first returned"""
    try:
        return freeport.free_port(span=span)
    except RuntimeError as e:
        raise Fail(str(e))


def wait_until(pred, timeout, what, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise Fail("timed out after %.1f s waiting for %s" % (timeout, what))


def process_tree(pid):
    """pid and the pids of its descendants now (from /proc)"""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                # "pid (comm) state ppid ...": comm may hold spaces
                parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grew = {pid}, True
    while grew:
        more = {c for c, pp in parent.items() if pp in tree} - tree
        grew = bool(more)
        tree |= more
    return tree


def remove_cdp_fifos(pids):
    """Kamailio's cdp module (the S-CSCF's Diameter) makes its FIFOs as
    /tmp/cdp_send_<pid>_..., a path fixed in cdp.so that TMPDIR does not
    move: those of the processes a test started go with them"""
    for path in glob.glob("/tmp/cdp_send_*"):
        parts = os.path.basename(path).split("_")
        if len(parts) > 2 and parts[2].isdigit() and int(parts[2]) in pids:
            try:
                os.unlink(path)
            except OSError:
                pass


class Env:
    """One test's temporary directory and the processes it started."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="sippush-%s-" % name)
        self.procs = []
        self.pg = None
        self.pg_dbs = set()

    def pg_db(self, name):
        """The conninfo of a database of this test's PostgreSQL server
        (started at the first call), created at the first call by name"""
        from pgserver import PgServer
        if self.pg is None:
            self.pg = PgServer("pg").start()
        if name not in self.pg_dbs:
            self.pg.createdb(name)
            self.pg_dbs.add(name)
        return self.pg.url(name)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, args, log):
        f = open(self.path(log), "ab")
        # TMPDIR: what a peer makes in the temporary directory (Chromium's
        # profile copies, PulseAudio's runtime directory) stays in ours
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.dir,
                             env=dict(os.environ, TMPDIR=self.dir))
        f.close()
        self.procs.append(p)
        return p

    def close(self, keep=False, scan=True):
        """Stop what is still running; then (scan) fail when a process
        reported a sanitizer error in its log (under ASan/UBSan a daemon
        stopped here reports leaks at exit, which no test would see)."""
        # terminals first, then the newest first: an agent de-registers
        # while its registrar (sippushd, maybe restarted since) answers
        def agent(p):
            return os.path.basename(str(p.args[0])) == "sippush-agent"
        started = set()
        for p in self.procs:
            if p.poll() is None:
                started |= process_tree(p.pid)
        for p in [p for p in reversed(self.procs) if agent(p)] + \
                [p for p in reversed(self.procs) if not agent(p)]:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        remove_cdp_fifos(started)
        if self.pg is not None:
            self.pg.stop(remove=not keep)
            self.pg = None
        found = self.sanitizer_reports() if scan else []
        if found:
            keep = True
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        check(not found, "sanitizer reports (files kept in %s):\n%s"
              % (self.dir, "\n".join(found)))

    SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                 ": runtime error: ")

    def sanitizer_reports(self):
        found = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith((".log", ".out", ".err")):
                continue
            with open(os.path.join(self.dir, name), errors="replace") as f:
                for line in f:
                    if any(m in line for m in self.SANITIZER):
                        found.append("%s: %s" % (name, line.strip()[:300]))
                        break
        return found


class Daemon:
    """A sippushd on free ports with its own database."""

    def __init__(self, env, *extra, db="sippush.db", wrap=()):
        self.env = env
        self.wrap = list(wrap)   # a command it runs under (prlimit ...)
        self.sip_port = free_port()
        self.http_port = free_port()
        self.db = env.path(db)
        self.store = None
        if STORE == "postgresql":
            self.store = env.pg_db("".join(c if c.isalnum() else "_"
                                           for c in db.lower()))
        self.extra = list(extra)
        self.proc = None
        self.base = "http://127.0.0.1:%d" % self.http_port
        self.token = None
        pg = self.store is not None
        for i, a in enumerate(self.extra):
            if a == "--api-token":
                self.token = self.extra[i + 1]
            if a == "--store":
                pg = not self.extra[i + 1].startswith("sqlite:")
        # on PostgreSQL --spool must be given (an absolute path): where
        # SQLite's default puts it, so the tests look in one place
        if pg and "--spool" not in self.extra:
            self.extra += ["--spool", self.db + ".spool"]

    def start(self):
        args = self.wrap + [os.path.join(BUILD, "cmd", "sippushd"),
                "--sip", "127.0.0.1:%d" % self.sip_port,
                "--http", "127.0.0.1:%d" % self.http_port,
                "--db", self.db] + (["--store", self.store] if self.store
                                    else []) + self.extra
        self.proc = self.env.spawn(args, "sippushd.log")
        wait_until(self._up, 10, "sippushd's HTTP API")
        if self.token is None:
            self.token = self.admin_token()
        return self

    def admin_token(self):
        """The admin token sippushd generated at its first start (kept
        beside the database) when none was given, or None."""
        try:
            with open(self.db + ".token") as f:
                return f.read().strip() or None
        except OSError:
            return None

    def _up(self):
        if self.proc.poll() is not None:
            raise Fail("sippushd exited with %s: %s" %
                       (self.proc.returncode, self.log()[-2000:]))
        try:
            socket.create_connection(("127.0.0.1", self.http_port), 0.2).close()
            return True
        except OSError:
            return False

    def log(self):
        with open(self.env.path("sippushd.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(10)
        check(rc == 0, "sippushd exited %s on SIGTERM" % rc)

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def http(self, method, path, body=None, token=None, raw=None):
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        tok = token if token is not None else self.token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                txt = r.read()
                status, hdrs = r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            txt = e.read()
            status, hdrs = e.code, dict(e.headers)
        try:
            doc = json.loads(txt) if txt else None
        except ValueError:
            doc = txt
        return status, doc, hdrs

    def push(self, **fields):
        st, doc, _ = self.http("POST", "/v1/pushes", fields)
        check(st == 202, "POST /v1/pushes: %s %s" % (st, doc))
        return doc["id"]

    def status(self, pid):
        st, doc, _ = self.http("GET", "/v1/pushes/" + pid)
        check(st == 200, "GET push %s: %s %s" % (pid, st, doc))
        return doc

    def wait_final(self, pid, timeout=20):
        return wait_until(lambda: (lambda d: d if d["state"] != "pending"
                                   else None)(self.status(pid)),
                          timeout, "push %s to be final" % pid, 0.1)

    def terminals(self, aor):
        st, doc, _ = self.http("GET", "/v1/users/%s/terminals" % aor)
        check(st == 200, "GET terminals: %s %s" % (st, doc))
        return doc["terminals"]

    def db_rows(self, sql, args=()):
        """Read the store (SQLite: only while the daemon is stopped, it
        holds an exclusive lock). On PostgreSQL through psql: ? takes its
        argument as a literal, integers and booleans come back as such."""
        if self.store:
            return [tuple(_pg_value(v) for v in r)
                    for r in self.env.pg.psql(_pg_sql(sql, args),
                                              self.store.rsplit("/", 1)[1])]
        c = sqlite3.connect(self.db)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()


def _pg_sql(sql, args):
    parts = sql.split("?")
    check(len(parts) == len(args) + 1, "placeholders: %s" % sql)
    out = parts[0]
    for a, rest in zip(args, parts[1:]):
        out += (str(int(a)) if isinstance(a, (int, bool)) else
                "'" + str(a).replace("'", "''") + "'") + rest
    return out


def _pg_value(v):
    if v is None:
        return None
    if v in ("t", "f"):
        return v == "t"
    try:
        return int(v)
    except ValueError:
        return v


def tok(d):
    """The sippush CLI's --token for a daemon (its admin token)."""
    return ["--token", d.token] if d.token else []


def udp_request(port, text, timeout=5):
    """Send one SIP request over UDP from a fresh socket and return the
    first answer as text ("" when none came). {via} in text becomes the
    socket's port, for the Via header."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    try:
        s.sendto(text.replace("{via}", str(s.getsockname()[1])).encode(),
                 ("127.0.0.1", port))
        return s.recv(65535).decode(errors="replace")
    except socket.timeout:
        return ""
    finally:
        s.close()


def scenario(env, name, **subs):
    """A SIPp scenario from tests/interop/sipp with __KEY__ placeholders
    replaced (SIPp's -key does not reach regexp attributes)."""
    with open(os.path.join(SIPP_DIR, name)) as f:
        txt = f.read()
    for k, v in subs.items():
        txt = txt.replace("__%s__" % k.upper(), str(v))
    out = env.path("%s-%d.xml" % (name[:-4], len(os.listdir(env.dir))))
    with open(out, "w") as f:
        f.write(txt)
    return out


class Sipp:
    """One SIPp process; its exit status says whether every call passed."""

    def __init__(self, env, scen, port, remote=None, calls=1, keys=None,
                 timeout=30, transport="u1", extra=()):
        self.env = env
        self.port = port
        tag = "sipp-%d" % port
        self.logfile = env.path(tag + ".log")
        self.msgfile = env.path(tag + ".msg")
        self.errfile = env.path(tag + ".err")
        args = ["sipp", "-sf", scen, "-i", "127.0.0.1", "-p", str(port),
                "-m", str(calls), "-t", transport, "-nostdin",
                "-timeout", "%ds" % timeout, "-timeout_error",
                "-trace_logs", "-log_file", self.logfile,
                "-trace_msg", "-message_file", self.msgfile,
                "-trace_err", "-error_file", self.errfile] + list(extra)
        for k, v in (keys or {}).items():
            args += ["-key", k, str(v)]
        if remote:
            args.append(remote)
        self.proc = env.spawn(args, tag + ".out")

    def wait(self, timeout=40):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("SIPp on port %d did not finish in %d s" %
                       (self.port, timeout))

    def ok(self, timeout=40):
        rc = self.wait(timeout)
        check(rc == 0, "SIPp on port %d failed (exit %s): %s" %
              (self.port, rc, self.errors()))

    def errors(self):
        try:
            with open(self.errfile, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return "(no error file)"

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        try:
            with open(self.msgfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def register(env, daemon, aor_user, contact_port, instance, apps="mms.ua",
             expires=600, extra_keys=None, methods="MESSAGE,OPTIONS"):
    """Register one terminal (a separate SIPp client, docs/design.md "Tests")."""
    params = ';methods="%s"' % methods
    if apps:
        params = ';+g.oma.pusheventapp="%s"' % apps + params
    keys = {"contact_port": contact_port, "instance": instance,
            "params": params, "aor_user": aor_user, "expires": expires}
    keys.update(extra_keys or {})
    scen = scenario(env, "register.xml",
                    check_gruu="true" if expires else "false")
    s = Sipp(env, scen, free_port(),
             "127.0.0.1:%d" % daemon.sip_port, keys=keys, timeout=10)
    s.ok(15)
    return s


class Capture:
    """tshark on the loopback interface, limited to the test's ports."""

    def __init__(self, env, ports, msrp=()):
        self.env = env
        self.ports = ports
        self.msrp = list(msrp)
        self.file = env.path("capture.pcapng")
        filt = " or ".join("port %d" % p for p in list(ports) + self.msrp)
        # a large kernel buffer: tests run two at a time, one may be
        # moving hundreds of MiB over loopback
        self.proc = env.spawn(["tshark", "-i", "lo", "-B", "64", "-f", filt,
                               "-w", self.file, "-q"], "tshark.log")
        wait_until(self._started, 15, "tshark to capture")

    def _started(self):
        if self.proc.poll() is not None:
            raise Fail("tshark exited: " +
                       read_text(self.env.path("tshark.log")))
        # "Capturing on" is printed before dumpcap really captures;
        # "Capture started" after
        with open(self.env.path("tshark.log"), errors="replace") as f:
            return "Capture started" in f.read()

    def stop(self):
        if self.proc.poll() is not None:
            return
        time.sleep(1.0)   # what is in flight reaches the capture
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(15)

    def _count(self, display):
        args = ["tshark", "-r", self.file, "-Y", display, "-T", "fields",
                "-e", "frame.number"]
        for p in self.ports:
            args += ["-d", "udp.port==%d,sip" % p, "-d", "tcp.port==%d,sip" % p]
        for p in self.msrp:
            args += ["-d", "tcp.port==%d,msrp" % p]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, "tshark -r failed: " + out.stderr[-500:])
        return len([l for l in out.stdout.splitlines() if l.strip()])

    def verify(self, min_sip, display="sip"):
        """At least min_sip frames decoded as SIP (an empty capture fails)
        and none malformed."""
        self.stop()
        n = self._count(display)
        check(n >= max(1, min_sip), "capture: %d SIP frames, expected >= %d"
              % (n, min_sip))
        # Wireshark 4.0's MSRP dissector does not reassemble TCP: a SEND
        # chunk cut by TCP segmentation before its end-line is shown as
        # malformed. Those (a SEND without msrp.end.line in the frame) are
        # the only frames let through; everything else must be clean.
        bad = self._count("(_ws.malformed || _ws.expert.severity == error)"
                          " && !(msrp.method == \"SEND\" && "
                          "!msrp.end.line)")
        check(bad == 0, "capture: %d malformed frames" % bad)
        return n


def run(tests):
    """Run test functions, each with its own Env; exit 1 if any failed."""
    only = sys.argv[1:]
    failed = []
    for t in tests:
        if only and t.__name__ not in only:
            continue
        env = Env(t.__name__)
        t0 = time.time()
        try:
            t(env)
            env.close()
            print("PASS %s (%.1f s)" % (t.__name__, time.time() - t0))
        except Exception as e:  # report and go on with the next test
            failed.append(t.__name__)
            print("FAIL %s: %s" % (t.__name__, e))
            traceback.print_exc()
            print("  (files kept in %s)" % env.dir)
            for name in sorted(os.listdir(env.dir)):
                if name.endswith((".log", ".err")):
                    with open(os.path.join(env.dir, name), errors="replace") as f:
                        print("---- %s\n%s" % (name, f.read()[-3000:]))
            env.close(keep=True, scan=False)
        sys.stdout.flush()
    if failed:
        print("FAILED: " + ", ".join(failed))
        sys.exit(1)


def register_udp(daemon, user, contact_port, instance, apps="mms.ua",
                 expires=3600, timeout=5):
    """A plain REGISTER from a UDP socket (for benchmarks registering many
    terminals; the tests use SIPp)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    lport = s.getsockname()[1]
    msg = ("REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\n"
           "From: <sip:%s@example.com>;tag=r%d\r\n"
           "To: <sip:%s@example.com>\r\n"
           "Call-ID: reg-%s-%d@bench\r\n"
           "CSeq: 1 REGISTER\r\n"
           "Contact: <sip:%s@127.0.0.1:%d>;+sip.instance=\"<%s>\";"
           "+g.oma.pusheventapp=\"%s\";methods=\"MESSAGE,OPTIONS\"\r\n"
           "Expires: %d\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (
               lport, user, lport, user, lport, user, user, lport, user,
               contact_port, instance, apps, expires))
    s.sendto(msg.encode(), ("127.0.0.1", daemon.sip_port))
    data, _ = s.recvfrom(65535)
    s.close()
    check(data.startswith(b"SIP/2.0 200"), "REGISTER %s: %r" % (user,
                                                                data[:80]))


def read_text(path):
    """A peer's log as text: peers log bytes they received (Kamailio quotes
    a message it could not parse), which need not be UTF-8."""
    with open(path, errors="replace") as f:
        return f.read()


def start_kamailio(env, cfg, shm_mb=64, pkg_mb=8):
    """Kamailio on a config text, in the foreground; fails if it exits."""
    path = env.path("kamailio.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    log = env.path("kamailio.log")
    p = env.spawn(["kamailio", "-f", path, "-DD", "-E", "-m", str(shm_mb),
                   "-M", str(pkg_mb), "-P", env.path("kamailio.pid")],
                  "kamailio.log")
    wait_until(lambda: p.poll() is not None or
               "Listening on" in read_text(log), 15, "kamailio")
    check(p.poll() is None, "kamailio exited: " + read_text(log)[-2000:])
    time.sleep(0.5)
    return p

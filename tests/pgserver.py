#!/usr/bin/env python3
"""A PostgreSQL server of the tests' own: initdb into a temporary directory,
the server on a free loopback port (its Unix socket in that directory),
stopped by the PID started here, the directory removed afterwards.

PostgreSQL refuses to run as root, and CI runs as root: then initdb and the
server run as the unprivileged 'postgres' account the Debian package
creates (the directory is made its own). The package's own cluster is
never used nor touched.

As a command, it runs another one with SIPPUSH_TEST_PG set to a fresh
database's conninfo (a unit test parameterised by URL):
    pgserver.py COMMAND [ARG...]
Exit 77 (skipped) when no PostgreSQL server is installed.
"""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import freeport  # noqa: E402

SKIP = 77


def bindir():
    """The newest installed server's bin directory, or None"""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


def _port():
    return freeport.free_port(udp=False)


class PgServer:
    def __init__(self, name="pg"):
        self.bin = bindir()
        if not self.bin:
            raise RuntimeError("no PostgreSQL server installed")
        self.dir = tempfile.mkdtemp(prefix="sippush-%s-" % name)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.port = None
        self.user = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self.user = (pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)

    def _as(self):
        if not self.user:
            return {}
        return {"user": self.user[0], "group": self.user[1],
                "extra_groups": []}

    def start(self, *conf):
        log = open(os.path.join(self.dir, "initdb.log"), "wb")
        subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.data,
                        "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-instructions", "--no-sync"],
                       stdout=log, stderr=subprocess.STDOUT, check=True,
                       timeout=60, cwd=self.dir, **self._as())
        log.close()
        self.conf = conf
        return self._serve(None)

    @classmethod
    def standby_of(cls, primary, name="standby"):
        """A streaming standby of primary (pg_basebackup -R), started"""
        self = cls(name)
        log = open(os.path.join(self.dir, "basebackup.log"), "wb")
        subprocess.run([os.path.join(self.bin, "pg_basebackup"), "-D",
                        self.data, "-h", "127.0.0.1", "-p",
                        str(primary.port), "-U", "postgres", "-R", "-X",
                        "stream", "-c", "fast", "--no-sync"],
                       stdout=log, stderr=subprocess.STDOUT, check=True,
                       timeout=60, cwd=self.dir, **self._as())
        log.close()
        self.conf = ()
        return self._serve(None)

    def kill9(self):
        """SIGKILL to the server started here (its backends end when
        they see it gone)"""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def restart(self):
        """The same cluster on the same port, after stop(remove=False)"""
        return self._serve(self.port)

    def _serve(self, port):
        conf = self.conf
        for _ in range(5 if port is None else 1):
            self.port = port or _port()
            log = open(os.path.join(self.dir, "server.log"), "ab")
            args = [os.path.join(self.bin, "postgres"), "-D", self.data,
                    "-p", str(self.port), "-k", self.dir,
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", "max_connections=40",
                    "-c", "shared_buffers=16MB"]
            for c in conf:
                args += ["-c", c]
            self.proc = subprocess.Popen(args, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         cwd=self.dir, **self._as())
            log.close()
            if self._ready(15):
                return self
            self.stop(remove=False)   # the port was taken meanwhile
        raise RuntimeError("PostgreSQL did not start: %s" % self.log())

    def _ready(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q",
                                "-h", "127.0.0.1", "-p", str(self.port)],
                               timeout=10)
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log"),
                      errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def url(self, db="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def psql(self, sql, db="postgres"):
        """Rows of a statement, as tuples of strings (None for NULL)"""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q",
                            "-A", "-t", "-F", "\x1f", "-R", "\x1e",
                            "-P", "null=\x01", "-v", "ON_ERROR_STOP=1",
                            "-d", self.url(db), "-c", sql],
                           capture_output=True, timeout=30)
        if r.returncode:
            raise RuntimeError("psql: %s" % r.stderr.decode(errors="replace"))
        out = r.stdout.decode().rstrip("\n")
        rows = []
        for line in out.split("\x1e"):
            line = line.strip("\n")
            if line:
                rows.append(tuple(None if v == "\x01" else v
                                  for v in line.split("\x1f")))
        return rows

    def createdb(self, name):
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def stop(self, remove=True):
        """Fast shutdown of the server started here (SIGINT to its PID)"""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    if not bindir():
        print("pgserver: no PostgreSQL server installed: skipped")
        return SKIP
    pg = PgServer("unit").start()
    try:
        env = dict(os.environ, SIPPUSH_TEST_PG=pg.createdb("t"))
        return subprocess.run(argv[1:], env=env, timeout=300).returncode
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))

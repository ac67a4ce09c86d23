"""Concurrent load that keeps many requests in flight, recording every
answer: HTTP/1.1 keep-alive connections (each sends its next request as
soon as the previous answer came) and SIP REGISTERs over UDP (a window of
outstanding ones). Used by test_ack_durable.py and bench/ack_kill.py to
find out whether anything that was acknowledged is missing after a
kill -9.

Everything is bounded: a run stops at its deadline or when stop() is
called (the daemon killed), and every read has a timeout."""
import asyncio
import itertools
import socket
import time


class Http:
    """conns keep-alive connections to 127.0.0.1:port; make(n) returns
    (path, content_type, body bytes, key) for the n-th request, POSTed,
    or (method, path, content_type, body, key), or that and a dict of
    more headers, or None when there is no more to send; every answer
    lands in self.answers as (key, status, body bytes)."""

    def __init__(self, port, conns, make, token=None):
        self.port, self.conns, self.make, self.token = port, conns, make, token
        self.answers = []
        self.sent = 0
        self.errors = 0
        self._n = itertools.count()
        self._stop = False

    def stop(self):
        self._stop = True

    async def _one(self, deadline):
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 5)
        except (OSError, asyncio.TimeoutError):
            self.errors += 1
            return
        try:
            while not self._stop and time.monotonic() < deadline:
                req = self.make(next(self._n))
                if req is None:
                    break
                if len(req) == 4:
                    req = ("POST",) + tuple(req)
                if len(req) == 5:
                    req = tuple(req) + ({},)
                method, path, ctype, body, key, more = req
                head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: %s\r\nContent-Length: %d\r\n"
                        % (method, path, ctype, len(body)))
                for k, v in more.items():
                    head += "%s: %s\r\n" % (k, v)
                if self.token:
                    head += "Authorization: Bearer %s\r\n" % self.token
                w.write(head.encode() + b"\r\n" + body)
                self.sent += 1
                status, answer = await asyncio.wait_for(_response(r), 10)
                self.answers.append((key, status, answer))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ValueError):
            self.errors += 1      # the daemon went away mid-answer
        finally:
            w.close()

    async def run(self, seconds):
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(self._one(deadline)
                               for _ in range(self.conns)))


async def _response(r):
    line = await r.readline()
    if not line:
        raise asyncio.IncompleteReadError(b"", None)
    status = int(line.split()[1])
    length = 0
    while True:
        h = await r.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    body = await r.readexactly(length) if length else b""
    return status, body


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner):
        self.owner = owner

    def datagram_received(self, data, addr):
        self.owner._answer(data)


class Register:
    """REGISTERs over UDP, window requests outstanding at a time, each for
    a new user (prefix + n). self.ok holds the AoRs answered 200."""

    def __init__(self, sip_port, window, prefix, contact_port):
        self.sip_port, self.window = sip_port, window
        self.prefix, self.contact_port = prefix, contact_port
        self.ok = []
        self.sent = 0
        self._wait = {}
        self._stop = False

    def stop(self):
        self._stop = True

    def _answer(self, data):
        txt = data.decode(errors="replace")
        for line in txt.split("\r\n"):
            if line.lower().startswith("call-id:"):
                fut = self._wait.pop(line[8:].strip(), None)
                if fut and not fut.done():
                    fut.set_result(txt.split(" ", 2)[1])
                return

    async def _one(self, tr, lport, deadline, ids):
        loop = asyncio.get_running_loop()
        while not self._stop and time.monotonic() < deadline:
            n = next(ids)
            user = "%s%d" % (self.prefix, n)
            cid = "ack-reg-%s@loadgen" % user
            msg = ("REGISTER sip:example.com SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\n"
                   "From: <sip:%s@example.com>;tag=r%d\r\n"
                   "To: <sip:%s@example.com>\r\n"
                   "Call-ID: %s\r\nCSeq: 1 REGISTER\r\n"
                   "Contact: <sip:%s@127.0.0.1:%d>;+sip.instance="
                   "\"<urn:uuid:00000000-0000-0000-0000-%012d>\";"
                   "+g.oma.pusheventapp=\"mms.ua\";"
                   "methods=\"MESSAGE,OPTIONS\"\r\n"
                   "Expires: 3600\r\nMax-Forwards: 70\r\n"
                   "Content-Length: 0\r\n\r\n" % (
                       lport, user, user, n, user, cid, user,
                       self.contact_port, n))
            fut = loop.create_future()
            self._wait[cid] = fut
            tr.sendto(msg.encode(), ("127.0.0.1", self.sip_port))
            self.sent += 1
            try:
                st = await asyncio.wait_for(fut, 2)
            except asyncio.TimeoutError:
                self._wait.pop(cid, None)
                continue          # lost or the daemon died: not acked
            if st == "200":
                self.ok.append("sip:%s@example.com" % user)

    async def run(self, seconds):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        tr, _ = await loop.create_datagram_endpoint(lambda: _Udp(self),
                                                    sock=s)
        try:
            deadline = time.monotonic() + seconds
            ids = itertools.count()
            await asyncio.gather(*(self._one(tr, s.getsockname()[1],
                                             deadline, ids)
                                   for _ in range(self.window)))
        finally:
            tr.close()


def run_then_kill(loads, seconds, kill_at, kill, when=None):
    """Run the loads together; at kill_at seconds (or as soon as when()
    is true) call kill() (a SIGKILL of the daemon) while they are in
    flight, then let them notice."""
    async def main():
        async def killer():
            end = time.monotonic() + kill_at
            while time.monotonic() < end and not (when and when()):
                await asyncio.sleep(0.01)
            kill()
            for ld in loads:
                ld.stop()
        await asyncio.gather(killer(), *(ld.run(seconds) for ld in loads))
    asyncio.run(main())

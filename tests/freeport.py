"""Free loopback ports for tests that run side by side (ctest -j).

A port is taken from 20000-32767, below the kernel's ephemeral range
(32768-60999 here), so no outgoing connection of a peer can take it
between now and its use. Free is not enough: two test processes could
pick the same free port before either has started the peer that binds
it (CI saw one: an agent's "Address already in use"). So each port
handed out is also reserved machine-wide for the life of the process
that took it, by an abstract Unix socket named after it: no file is left
anywhere, and the kernel releases it when the process exits, however it
ends.
"""
import random
import socket

_held = {}


def _reserve(port):
    r = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        r.bind("\0sippush-test-port-%d" % port)
    except OSError:
        r.close()
        return False
    _held[port] = r
    return True


def free_port(udp=True, span=1):
    """A port free on 127.0.0.1 for TCP (and UDP, unless udp=False),
    never handed out twice at once on this machine by this module. With
    span > 1, the first of that many consecutive ports, each of them so
    (a peer that binds the next port too: baresip's TLS)."""
    rnd = random.Random()
    for _ in range(400):
        port = rnd.randrange(20000, 32768 - span)
        run = range(port, port + span)
        if any(p in _held for p in run) or not all(_free(p, udp)
                                                      for p in run):
            continue
        got = []
        for p in run:
            if not _reserve(p):
                break
            got.append(p)
        if len(got) == span:
            return port
        for p in got:
            _held.pop(p).close()
    raise RuntimeError("no free port")


def _free(port, udp):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM)]
    if udp:
        socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    try:
        for s in socks:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()

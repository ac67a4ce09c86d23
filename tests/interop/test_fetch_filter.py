#!/usr/bin/env python3
"""sippushd's HTTP fetches (issue 18, item 17): the address filter must
cover IANA's special-purpose registries — NAT64 64:ff9b::/96 and 6to4
2002::/16 take a packet to any IPv4 address, 127.0.0.1 included — and
libcurl's *_proxy environment variables must not send requests elsewhere
unless --fetch-proxy says so. The fetch here is a terminal's UAProf
document (dev-cap in its SUBSCRIBE); tests/unit/test_addrclass.c covers
the registries address by address."""
import http.server
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, run, wait_until


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append(self.path)
        body = b"not an rdf"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def server():
    srv = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    srv.seen = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def subscribe(port, user, dev_cap):
    """An oma-app SUBSCRIBE over TCP from 127.0.0.1 (trusted: asserted)."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    via = "127.0.0.1:%d" % s.getsockname()[1]
    text = ("SUBSCRIBE sip:push@localhost SIP/2.0\r\n"
            "Via: SIP/2.0/TCP %s;branch=z9hG4bK-%d\r\n"
            "From: <sip:%s@example.com>;tag=s1\r\nTo: <sip:push@localhost>\r\n"
            "Call-ID: sub-%d@example.com\r\nCSeq: 1 SUBSCRIBE\r\n"
            "Contact: <sip:%s@%s;transport=tcp;gr=urn:uuid:f1>\r\n"
            "P-Asserted-Identity: <sip:%s@example.com>\r\n"
            "Event: ua-profile;profile-type=oma-app;event-app-id=\"mms.ua\";"
            "dev-cap=\"%s\"\r\nAccept: text/plain\r\n"
            "Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (via, time.time_ns(), user, time.time_ns(), user, via, user,
               dev_cap))
    s.sendall(text.encode())
    s.settimeout(5)
    ans = s.recv(65535).decode(errors="replace")
    check(ans.startswith("SIP/2.0 200"), "SUBSCRIBE: %r" % ans[:80])
    return s


def test_proxy_variables_ignored(env):
    target, proxy = server(), server()
    url = "http://127.0.0.1:%d/x.rdf" % target.server_address[1]
    old = {k: os.environ.get(k) for k in ("http_proxy", "HTTP_PROXY",
                                          "all_proxy", "no_proxy")}
    os.environ["http_proxy"] = "http://127.0.0.1:%d" % proxy.server_address[1]
    os.environ["all_proxy"] = os.environ["http_proxy"]
    os.environ.pop("no_proxy", None)
    try:
        d = Daemon(env, "--allow-private-fetch").start()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    s = subscribe(d.sip_port, "alice", url)
    wait_until(lambda: target.seen or proxy.seen, 10, "the UAProf fetch")
    time.sleep(0.3)
    print("with http_proxy set: target saw %s, proxy saw %s" %
          (target.seen, proxy.seen))
    check(proxy.seen == [] and target.seen == ["/x.rdf"],
          "proxy %s, target %s" % (proxy.seen, target.seen))
    s.close()

    # --fetch-proxy: through it
    d2 = Daemon(env, "--allow-private-fetch", "--fetch-proxy",
                "http://127.0.0.1:%d" % proxy.server_address[1],
                db="proxy.db").start()
    s = subscribe(d2.sip_port, "bob", url)
    wait_until(lambda: proxy.seen, 10, "the fetch through --fetch-proxy")
    check(proxy.seen == [url] and target.seen == ["/x.rdf"],
          "proxy %s, target %s" % (proxy.seen, target.seen))
    s.close()
    # through a proxy an address URL is still checked (names are the
    # proxy's to resolve)
    d3 = Daemon(env, "--fetch-proxy", "http://127.0.0.1:%d" %
                proxy.server_address[1], db="proxy3.db").start()
    s = subscribe(d3.sip_port, "carol", "http://127.0.0.1:%d/z.rdf" %
                  target.server_address[1])
    wait_until(lambda: "z.rdf: not fetchable" in d3.log(), 10, "refused")
    check(proxy.seen == [url], "proxy %s" % proxy.seen)
    s.close()
    target.shutdown()
    proxy.shutdown()


def test_nat64_and_6to4_refused(env):
    d = Daemon(env).start()
    socks = []
    for user, host in (("alice", "[64:ff9b::7f00:1]"),
                       ("bob", "[2002:7f00:1::1]"),
                       ("carol", "[64:ff9b:1::a00:1]")):
        socks.append(subscribe(d.sip_port, user, "http://%s:80/x.rdf" %
                               host))
    wait_until(lambda: d.log().count("x.rdf:") >= 3, 10, "three verdicts")
    lines = [l for l in d.log().splitlines() if "x.rdf:" in l]
    print("\n".join(lines))
    check(all("address not allowed" in l for l in lines),
          "refused by the filter: %s" % lines)
    for s in socks:
        s.close()


if __name__ == "__main__":
    run([test_proxy_variables_ignored, test_nat64_and_6to4_refused])

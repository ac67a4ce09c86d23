"""A minimal Chrome DevTools Protocol client for the browser tests: a
headless Chromium started by the test (its PID in env.procs), one page,
JavaScript evaluated in it over the page's WebSocket (RFC 6455 text
frames, client-masked). Only the standard library; only loopback."""
import base64
import json
import os
import socket
import struct
import time
import urllib.request

from harness import check, wait_until


class Page:
    def __init__(self, env, browser, url):
        profile = env.path("chrome-cdp")
        self.proc = env.spawn([browser, "--headless", "--no-sandbox",
                               "--disable-gpu", "--disable-dev-shm-usage",
                               "--no-first-run", "--window-size=1280,900",
                               "--remote-debugging-port=0",
                               "--remote-debugging-address=127.0.0.1",
                               "--user-data-dir=" + profile, url],
                              "chromium.log")
        port_file = os.path.join(profile, "DevToolsActivePort")
        wait_until(lambda: os.path.exists(port_file) and
                   open(port_file).read().strip(), 30,
                   "Chromium's DevTools port")
        port = int(open(port_file).read().split()[0])
        ws = None
        for _ in range(100):
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list"
                                        % port, timeout=5) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
            if pages:
                ws = pages[0]["webSocketDebuggerUrl"]
                break
            time.sleep(0.1)
        check(ws is not None, "no page in Chromium")
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.sock.settimeout(10)
        key = base64.b64encode(os.urandom(16)).decode()
        path = ws.split("%d" % port, 1)[1]
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (path, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            check(chunk, "DevTools closed the handshake")
            head += chunk
        check(head.startswith(b"HTTP/1.1 101"), "handshake: %r" % head)
        self.next_id = 0

    def _send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.sock.sendall(hdr + mask +
                          bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            check(chunk, "DevTools closed the connection")
            buf += chunk
        return buf

    def _recv(self):
        msg = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            check(n < 64 << 20, "a DevTools frame of %d bytes" % n)
            msg += self._exact(n)
            if b0 & 0x80:
                return json.loads(msg)

    def eval(self, expr):
        """The value of a JavaScript expression in the page"""
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id,
                               "method": "Runtime.evaluate",
                               "params": {"expression": expr,
                                          "returnByValue": True}}))
        for _ in range(1000):
            m = self._recv()
            if m.get("id") == self.next_id:
                check("exceptionDetails" not in m.get("result", {}),
                      "page error: %s" % m)
                return m["result"]["result"].get("value")
        check(False, "no answer from DevTools")

    def text(self, elem_id):
        """textContent of the element with this id, None when absent"""
        return self.eval("(e => e ? e.textContent : null)"
                         "(document.getElementById(%s))" % json.dumps(elem_id))

    def dom(self):
        return self.eval("document.documentElement.outerHTML")

    def screenshot(self, path):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id,
                               "method": "Page.captureScreenshot",
                               "params": {"format": "png"}}))
        for _ in range(1000):
            m = self._recv()
            if m.get("id") == self.next_id:
                with open(path, "wb") as f:
                    f.write(base64.b64decode(m["result"]["data"]))
                return
        check(False, "no screenshot from DevTools")

    def close(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait(10)

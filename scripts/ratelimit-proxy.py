#!/usr/bin/env python3
"""A reverse proxy that rate-limits like GitHub, for MirrorDeck's tests.

It forwards every request to --upstream (a real git http-backend behind nginx, or an LFS server) except
while the limit in the --state JSON file holds, when it answers as GitHub does:

    {"until": 1764000000.5, "status": 429, "reset": "retry-after", "remaining": "0"}

status: 429, or 403 (with "remaining": "0" that is GitHub's rate limit; any other value a plain refusal).
reset: "retry-after" (Retry-After: seconds left), "retry-after-date" (Retry-After: an HTTP date),
"reset" (X-RateLimit-Reset: epoch seconds), or "none". The file is read on every request, so a test
switches the limit on and off while the proxy runs. Every request is logged as one JSON line to --log.
"""
import argparse
import email.utils
import http.client
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection", "te", "upgrade"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ratelimit-proxy"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        entry = {"t": round(time.time(), 3), "method": self.command, "path": self.path, "status": status}
        with LOCK, open(self.server.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def state(self):
        try:
            with open(self.server.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def limited(self, state):
        now = time.time()
        until = float(state.get("until", 0))
        if now >= until:
            return False
        status = int(state.get("status", 429))
        data = json.dumps({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest/rate-limit"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RateLimit-Limit", "60")
        self.send_header("X-RateLimit-Remaining", str(state.get("remaining", "0")))
        self.send_header("X-RateLimit-Used", "60")
        reset = state.get("reset", "retry-after")
        if reset == "retry-after":
            self.send_header("Retry-After", str(max(1, math.ceil(until - now))))
        elif reset == "retry-after-date":
            self.send_header("Retry-After", email.utils.formatdate(math.ceil(until), usegmt=True))
        elif reset == "reset":
            self.send_header("X-RateLimit-Reset", str(math.ceil(until)))
        self.end_headers()
        self.wfile.write(data)
        self.record(status)
        return True

    def forward(self):
        payload = self.body() if self.command in ("POST", "PUT") else b""
        if self.limited(self.state()):
            return
        conn = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Host"] = "%s:%d" % (self.server.upstream_host, self.server.upstream_port)
        if payload:
            headers["Content-Length"] = str(len(payload))
        conn.request(self.command, self.path, body=payload or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.record(response.status)

    do_GET = forward
    do_POST = forward
    do_PUT = forward


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    parser.add_argument("--state", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    host, port = args.upstream.rsplit(":", 1)
    server.upstream_host, server.upstream_port = host, int(port)
    server.state_path, server.log_path = args.state, args.log
    server.serve_forever()


if __name__ == "__main__":
    main()

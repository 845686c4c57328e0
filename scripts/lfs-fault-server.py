#!/usr/bin/env python3
"""A Git LFS server that misbehaves on purpose, for MirrorDeck's tests.

Real servers do not truncate bodies, send wrong bytes or hand out file:// links on demand, so this one
does, per object, as its JSON config says:

    {"token": "...", "batch_faults": ["429", "500"],
     "objects": {"<oid>": {"path": "/data/file", "size": 123, "fault": "truncate"}}}

Endpoints: POST /lfs/objects/batch (the batch API), GET /obj/<oid> (downloads, which need
"Authorization: Bearer <token>" as the batch answer says), POST /auth/lfs/objects/batch (always 401),
and anything else 404 as HTML. Every request is logged as one JSON line to --log.

Object faults: ok, missing (batch error 404), bad_oid / upper_oid / short_oid (the batch answers with
that oid instead), file_href (href file:///etc/passwd), expired (the first action has already expired),
truncate (half the declared body, then close), extra (100 bytes too many, no length), extra_declared
(Content-Length too large), wrong (right size, wrong bytes), 429once (429 + Retry-After: 1, then ok),
quotaonce (403 + X-RateLimit-Remaining: 0 + X-RateLimit-Reset 3 s ahead, then ok),
500once (500, then ok), stall (1000 bytes, then silence), redirect_loop, redirect_file (Location:
file:///etc/passwd), huge (never to be asked for: streams zeros forever).
Batch faults are answered, in order, to the first batch requests: "429" (Retry-After: 1), "500", or
"quota" (429 with Retry-After: 3 and X-RateLimit-Remaining: 0, GitHub's exhausted quota).
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}


def count(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lfs-fault-server"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, **extra):
        entry = {"t": round(time.time(), 3), "method": self.command, "path": self.path, "status": status,
                 "range": self.headers.get("Range"), "authorization": self.headers.get("Authorization") is not None}
        entry.update(extra)
        with LOCK, open(self.server.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.git-lfs+json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.record(status)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        if self.path == "/auth/lfs/objects/batch":
            return self.send_json(401, {"message": "Credentials needed"}, {"WWW-Authenticate": 'Basic realm="lfs"'})
        if self.path != "/lfs/objects/batch":
            return self.not_found()
        cfg = self.server.config
        with LOCK:
            fault = cfg["batch_faults"].pop(0) if cfg["batch_faults"] else None
        if fault == "429":
            return self.send_json(429, {"message": "slow down"}, {"Retry-After": "1"})
        if fault == "quota":
            # GitHub's shape of an exhausted quota: the host is rate-limited for a few seconds.
            return self.send_json(429, {"message": "API rate limit exceeded"},
                                  {"Retry-After": "3", "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0"})
        if fault == "500":
            return self.send_json(500, {"message": "internal trouble"})
        request = json.loads(payload or b"{}")
        answers = []
        base = "http://127.0.0.1:%d" % self.server.server_address[1]
        for obj in request.get("objects", []):
            oid, size = obj.get("oid"), obj.get("size")
            spec = cfg["objects"].get(oid)
            if spec is None or spec["fault"] == "missing":
                answers.append({"oid": oid, "size": size, "error": {"code": 404, "message": "Object does not exist"}})
                continue
            kind = spec["fault"]
            action = {"href": base + "/obj/" + oid + "?sig=SIGNED-URL-SECRET",
                      "header": {"Authorization": "Bearer " + cfg["token"]}, "expires_in": 3600}
            answer = {"oid": oid, "size": size, "authenticated": True, "actions": {"download": action}}
            if kind == "bad_oid":
                answer["oid"] = "../../x"
            elif kind == "upper_oid":
                answer["oid"] = oid.upper()
            elif kind == "short_oid":
                answer["oid"] = oid[:63]
            elif kind == "file_href":
                action["href"] = "file:///etc/passwd"
            elif kind == "expired" and count("batch-" + oid) == 1:
                action["href"] = base + "/obj/" + oid + "?stale=1"
                action["expires_in"] = -60
            answers.append(answer)
        self.send_json(200, {"transfer": "basic", "objects": answers})

    def not_found(self):
        data = b"<html><body>not found</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.record(404)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if not path.startswith("/obj/"):
            return self.not_found()
        oid = path[len("/obj/"):]
        cfg = self.server.config
        spec = cfg["objects"].get(oid)
        if spec is None:
            return self.not_found()
        if self.headers.get("Authorization") != "Bearer " + cfg["token"]:
            return self.send_json(401, {"message": "bad token"})
        if "stale=1" in self.path:
            return self.send_json(403, {"message": "link expired"})
        kind = spec["fault"]
        n = count("get-" + oid)
        if kind == "429once" and n == 1:
            return self.send_json(429, {"message": "slow down"}, {"Retry-After": "1"})
        if kind == "quotaonce" and n == 1:
            return self.send_json(403, {"message": "API rate limit exceeded"},
                                  {"X-RateLimit-Reset": str(int(time.time()) + 3), "X-RateLimit-Remaining": "0"})
        if kind == "500once" and n == 1:
            return self.send_json(500, {"message": "try again"})
        if kind == "redirect_loop":
            return self.redirect("/obj/" + oid)
        if kind == "redirect_file":
            return self.redirect("file:///etc/passwd")
        if kind == "huge":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.record(200, streaming="forever")
            self.close_connection = True
            block = b"\0" * 65536
            try:
                while True:
                    self.wfile.write(block)
            except OSError:
                return
        with open(spec["path"], "rb") as f:
            data = f.read()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and kind == "ok":
            start = int(rng[len("bytes="):-1])
        body = data[start:]
        if kind == "wrong":
            body = bytes(reversed(body))
        status = 206 if start else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        if kind == "extra":
            self.send_header("Connection", "close")
            self.close_connection = True
            body = body + b"X" * 100
        elif kind == "extra_declared":
            body = body + b"X" * 100
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.record(status)
        try:
            if kind == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if kind == "stall":
                self.wfile.write(body[:1000])
                self.wfile.flush()
                time.sleep(60)
                self.close_connection = True
                return
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.record(302)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    config.setdefault("batch_faults", [])
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.config = config
    server.log_path = args.log
    server.serve_forever()


if __name__ == "__main__":
    main()

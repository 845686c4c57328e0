#!/usr/bin/env python3
"""A TCP proxy that behaves like a far, unreliable link, for MirrorDeck's tests and benchmarks.

    farlink-proxy.py --listen 127.0.0.1:PORT --target 127.0.0.1:PORT [--rate BYTES/s] [--latency MS]
                     [--cut-after MIN[-MAX]] [--stall-after N] [--log FILE]

Each accepted connection is forwarded to the target. --rate caps each direction of each connection
(token bucket, bytes/s); --latency delays every byte by MS in each direction (so RTT is twice it; a delay line, not a
per-chunk pause, so a connection's throughput is not bounded by latency alone);
--cut-after closes a connection after a random number of bytes from the target in MIN..MAX; --stall-after
stops forwarding (keeping the connection open) after N bytes from the target. One JSON line per
connection goes to --log when it ends: {"conn": n, "up": bytes, "down": bytes, "how": "eof|cut|stall"}.
"""
import argparse
import asyncio
import json
import random
import time


def parse_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


class Bucket:
    def __init__(self, rate):
        self.rate = rate
        self.tokens = 0.0
        self.last = time.monotonic()

    async def take(self, n):
        if not self.rate:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= n or self.tokens >= self.rate:
                self.tokens -= n
                return
            await asyncio.sleep(min(0.05, (n - self.tokens) / self.rate))


async def pump(reader, writer, args, state, key, cut_at=None):
    """Forwards one direction. Bytes pass the rate cap as they are read, then wait in a delay line until
    --latency has passed since they arrived, so many chunks are in flight at once as on a real long link
    (not one chunk per latency period, which would cap each connection at chunk/latency)."""
    bucket = Bucket(args.rate)
    chunk = 16384 if not args.rate else max(1024, min(65536, args.rate // 20))
    delay = args.latency / 1000.0
    line = asyncio.Queue(maxsize=1024)  # at most 16-64 MiB in flight per direction

    async def feed():
        try:
            while True:
                data = await reader.read(chunk)
                if data:
                    await bucket.take(len(data))
                await line.put((time.monotonic() + delay, data))
                if not data:
                    return
        except ConnectionError:
            await line.put((0, b""))

    feeder = asyncio.create_task(feed())
    try:
        while True:
            due, data = await line.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if key == "down" and args.stall_after is not None and state[key] + len(data) > args.stall_after:
                state["how"] = "stall"
                await asyncio.sleep(3600)
            if cut_at is not None and state[key] + len(data) >= cut_at:
                data = data[: max(0, cut_at - state[key])]
                writer.write(data)
                state[key] += len(data)
                state["how"] = "cut"
                break
            writer.write(data)
            await writer.drain()
            state[key] += len(data)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        feeder.cancel()
        try:
            writer.close()
        except Exception:
            pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--rate", type=int, default=0)
    p.add_argument("--latency", type=float, default=0)
    p.add_argument("--cut-after", default=None)
    p.add_argument("--stall-after", type=int, default=None)
    p.add_argument("--log", default=None)
    args = p.parse_args()
    counter = {"n": 0}
    log = open(args.log, "a", buffering=1) if args.log else None

    async def handle(client_reader, client_writer):
        counter["n"] += 1
        state = {"conn": counter["n"], "up": 0, "down": 0, "how": "eof"}
        cut_at = None
        if args.cut_after:
            lo, _, hi = args.cut_after.partition("-")
            cut_at = random.randint(int(lo), int(hi or lo))
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*parse_addr(args.target))
        except OSError:
            client_writer.close()
            return
        up = asyncio.create_task(pump(client_reader, upstream_writer, args, state, "up"))
        down = asyncio.create_task(pump(upstream_reader, client_writer, args, state, "down", cut_at))
        done, pending = await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        if down in done:
            up.cancel()
        else:
            await down
        if log:
            log.write(json.dumps(state) + "\n")

    host, port = parse_addr(args.listen)
    server = await asyncio.start_server(handle, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

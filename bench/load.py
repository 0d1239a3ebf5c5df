"""A load generator: how many requests per second does a loopback server answer?

Used to show, before any crawl is timed, that the benchmark web is not the bottleneck. It
runs in its own process (``python -m bench.load``), opens ``--connections`` keep-alive
connections and keeps ``--depth`` requests in flight on each (depth 1 is how Scrapy talks
to a server; more is HTTP/1.1 pipelining, to find the server's ceiling), cycling through
every page of the site for ``--seconds``. It prints one JSON line:
``{"requests": ..., "seconds": ..., "bytes": ..., "errors": ...}``. The client is Python
too, so the figure is a lower bound on what the server can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from itertools import cycle

from bench.site import BenchSite


class _Client(asyncio.Protocol):
    def __init__(self, requests: cycle, depth: int, counters: dict[str, int], deadline: float, done: asyncio.Future) -> None:
        self.requests = requests
        self.depth = depth
        self.counters = counters
        self.deadline = deadline
        self.done = done
        self.buffer = b""
        self.outstanding = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.perf_counter() >= self.deadline:
            self.transport.close()
            return
        batch = [next(self.requests) for _ in range(self.depth)]
        self.outstanding = len(batch)
        self.transport.write(b"".join(batch))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        counters = self.counters
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else len(head)]) if at >= 0 else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            if not head.startswith(b"http/1.1 200") and not head.startswith(b"http/1.0 200"):
                counters["errors"] += 1
            counters["requests"] += 1
            counters["bytes"] += total
            buffer = buffer[total:]
            self.outstanding -= 1
        self.buffer = buffer
        if self.outstanding == 0:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def run(port: int, site: BenchSite, seconds: float, connections: int, depth: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    requests = cycle(
        [f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode() for host, path in site.urls()]
    )
    counters = {"requests": 0, "bytes": 0, "errors": 0}
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(connections):
        done: asyncio.Future = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(requests, depth, counters, deadline, d), "127.0.0.1", port)
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=seconds + 30)
    elapsed = time.perf_counter() - start
    return {"requests": counters["requests"], "seconds": elapsed, "bytes": counters["bytes"], "errors": counters["errors"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--depth", type=int, default=1)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.port, BenchSite(args.hosts, args.pages), args.seconds, args.connections, args.depth))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

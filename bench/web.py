"""A fast loopback HTTP server for the benchmark web (:mod:`bench.site`).

The crawl benchmark must measure the crawler, so the server has to answer far faster than
any crawler asks. The demo's :class:`~crawler.demo.webserver.SampleWeb` is a threaded
stdlib server that reads files and records every hit: right for tests, too slow to stay out
of the measurement. This one renders every response (status line, headers, body) once at
start and answers from a dict: one ``asyncio.Protocol`` per connection, HTTP/1.1 keep-alive
and pipelining, the host chosen by the ``Host`` header. It runs in its own process
(``python -m bench.web``) so it never competes with the crawler for the GIL, and prints
``READY <port>`` on stdout once it listens. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bench.site import BenchSite, host_name, page_path

_NOT_FOUND = b"not found\n"


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Server: heed-bench\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def render(site: BenchSite) -> dict[bytes, bytes]:
    """Every response of the site, keyed by ``host + path`` (bytes, as they arrive)."""
    table: dict[bytes, bytes] = {}
    for h in range(site.hosts):
        host = host_name(h)
        key = host.encode()
        table[key + b"/robots.txt"] = _response("200 OK", "text/plain; charset=utf-8", site.robots_txt(host))
        table[key + b"/.well-known/tdmrep.json"] = _response("200 OK", "application/json", site.tdmrep_json(host))
        for i in range(site.pages):
            body = site.page_html(h, i)
            table[key + page_path(i).encode()] = _response("200 OK", "text/html; charset=utf-8", body)
    return table


NOT_FOUND_RESPONSE = _response("404 Not Found", "text/plain; charset=utf-8", _NOT_FOUND)


class _Http(asyncio.Protocol):
    """One connection: parse pipelined GET requests, answer each from the table."""

    __slots__ = ("buffer", "table", "transport")

    def __init__(self, table: dict[bytes, bytes]) -> None:
        self.table = table
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        out = []
        close = False
        start = 0
        while True:
            end = buffer.find(b"\r\n\r\n", start)
            if end < 0:
                break
            head = buffer[start:end]
            start = end + 4
            line_end = head.find(b"\r\n")
            request_line = head[:line_end] if line_end >= 0 else head
            parts = request_line.split(b" ")
            path = parts[1] if len(parts) > 1 else b"/"
            host = b""
            lower = head.lower()
            at = lower.find(b"\r\nhost:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 7)
                host = lower[at + 7 : stop if stop >= 0 else len(lower)].strip()
                colon = host.rfind(b":")
                if colon > 0:
                    host = host[:colon]
            if b"\r\nconnection: close" in lower:
                close = True
            out.append(self.table.get(host + path, NOT_FOUND_RESPONSE))
            if close:
                break
        self.buffer = buffer[start:]
        transport = self.transport
        if transport is not None and out:
            transport.write(b"".join(out))
            if close:
                transport.close()


async def serve(site: BenchSite, port: int = 0) -> None:
    table = render(site)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(table), "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {bound}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100, help="pages per host")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(BenchSite(args.hosts, args.pages), args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())

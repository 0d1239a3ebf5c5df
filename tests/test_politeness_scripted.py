"""A loopback server whose answers change from one request to the next.

The sample web (crawler/demo/webserver.py) answers every request to a path the same way.
Politeness needs a site that *recovers* — robots.txt answering 503 and then 200, a page
answering 503 with a ``Retry-After`` date computed at the moment of the answer — so these
tests script the answers: ``answer(host, path, n)`` gets the number of the request to that
host and path (1 for the first) and returns status, headers and body. Like the sample web
it records every request with the server's own arrival time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class ScriptedHit:
    ts: float
    host: str
    path: str
    status: int
    headers: dict[str, str]


class ScriptedWeb:
    """Serves ``answer(host, path, n)`` on 127.0.0.1; use as a context manager."""

    def __init__(self, answer: Callable[[str, str, int], Answer], address: str = "127.0.0.1") -> None:
        self.answer = answer
        self.address = address
        self.hits: list[ScriptedHit] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                arrival = time.time()
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
                with web._lock:
                    web._counts[(host, self.path)] += 1
                    n = web._counts[(host, self.path)]
                status, headers, body = web.answer(host, self.path, n)
                with web._lock:
                    web.hits.append(ScriptedHit(arrival, host, self.path, status,
                                                {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        self._server = ThreadingHTTPServer((address, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def resolve_map(self, *hosts: str) -> dict[str, str]:
        return {host: self.address for host in hosts}

    def requested(self, host: str) -> list[ScriptedHit]:
        with self._lock:
            return [h for h in self.hits if h.host == host]

    def __enter__(self) -> ScriptedWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def page(text: str, *links: str) -> bytes:
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return f"<html><head><title>{text}</title></head><body><p>{text}</p>{anchors}</body></html>".encode()


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[str, str, int], Answer]], ScriptedWeb]]:
    started: list[ScriptedWeb] = []

    def start(answer: Callable[[str, str, int], Answer]) -> ScriptedWeb:
        web = ScriptedWeb(answer).__enter__()
        started.append(web)
        return web

    yield start
    for web in started:
        web.__exit__(None, None, None)


def test_the_scripted_web_counts_requests_per_host_and_path(scripted):
    import urllib.request

    web = scripted(lambda host, path, n: (503 if n == 1 else 200, TEXT, f"{host} {path} {n}".encode()))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    statuses = []
    for _ in range(2):
        try:
            with opener.open(web.url("127.0.0.1", "/x"), timeout=5) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    assert statuses == [503, 200]
    assert [h.status for h in web.requested("127.0.0.1")] == [503, 200]

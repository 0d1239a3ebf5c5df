"""End to end: the network guard never connects where it must not, and says so.

Listeners on 127.0.0.2 and on a spare 127.0.0.1 port record every connection attempt; the
crawl is pointed at them through every door a stranger's page can open — links and
redirects to IP literals (plain, IPv4-mapped IPv6, link-local), to names that resolve there
(``GUARD_HOSTS`` plays DNS for names inside the crawl's scope, ``localhost`` goes through
the real system resolver), and a robots.txt that redirects there. The listeners must stay
silent and every refused URL must have a ``security`` row. The negative control removes the
guard and the guarded resolver and shows the 127.0.0.2 listener *is* reached (with the guard
alone removed, the resolver still refuses: the two layers are independent).

Download limits are proven the same way: a page that decompresses past ``DOWNLOAD_MAXSIZE``
never reaches the spider, and does with a larger limit.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_WEB, crawl
from test_politeness_e2e import make_host, rows

from crawler import settings as heed_settings
from crawler.demo.webserver import SampleWeb

GUARD = "crawler.middlewares.guard.NetworkGuardMiddleware"


class Listener:
    """Accepts and records every TCP connection on ``address``; answers nothing."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    private, local = Listener("127.0.0.2"), Listener("127.0.0.1")
    yield private, local
    private.close()
    local.close()


def redirect(location: str) -> dict:
    return {"status": 302, "headers": {"Location": location}}


@pytest.fixture
def trap_web(tmp_path, listeners):
    private, local = listeners
    p, q = private.port, local.port
    targets = {
        "/to-literal": f"http://127.0.0.2:{p}/literal",
        "/to-mapped": f"http://[::ffff:127.0.0.2]:{p}/mapped",
        "/to-link-local": "http://169.254.169.254/latest/meta-data/",
        "/to-link-local-v6": f"http://[fe80::1]:{p}/v6",
        "/to-name": f"http://back.door.test:{p}/name",
        "/to-localhost": f"http://localhost:{q}/redirected",
    }
    root = tmp_path / "web"
    links = "".join(f'<a href="{path}">{path}</a>' for path in targets)
    links += f'<a href="http://side.door.test:{p}/linked-name">n</a><a href="http://127.0.0.2:{p}/linked-literal">l</a>'
    make_host(root, "door.test", {"/robots.txt": "User-agent: *\nAllow: /\n",
                                  "/index.html": f"<html><body>{links}</body></html>"},
              {path: redirect(location) for path, location in targets.items()})
    make_host(root, "pol.test", {"/index.html": "<html><body>policy trap</body></html>"},
              {"/robots.txt": redirect(f"http://127.0.0.2:{p}/robots.txt")})
    with SampleWeb(root) as web:
        yield web, targets


def guarded_crawl(web, tmp_path, listeners, **settings):
    private, local = listeners
    seeds = [web.url("door.test"), web.url("pol.test"),
             f"http://127.0.0.2:{private.port}/seed",  # puts 127.0.0.2 in the spider's scope
             f"http://localhost:{local.port}/seeded"]
    return crawl(web, tmp_path / "runs", seeds, settings={
        # names inside the crawl's scope that "resolve" to 127.0.0.2 (checked like DNS answers)
        "GUARD_HOSTS": {"back.door.test": "127.0.0.2", "side.door.test": "::ffff:127.0.0.2"},
        **settings,
    })


def test_links_and_redirects_to_private_addresses_are_never_connected(trap_web, tmp_path, listeners):
    web, targets = trap_web
    private, local = listeners
    run = guarded_crawl(web, tmp_path, listeners)
    assert run.returncode == 0, run.stderr[-3000:]
    assert private.accepted == [] and local.accepted == []
    p, q = private.port, local.port
    expected = {
        f"http://127.0.0.2:{p}/seed": "security:loopback",
        f"http://localhost:{q}/seeded": "security:loopback",  # the system resolver's answer, refused
        f"http://127.0.0.2:{p}/literal": "security:loopback",
        f"http://[::ffff:127.0.0.2]:{p}/mapped": "security:loopback",
        "http://169.254.169.254/latest/meta-data/": "security:link-local",
        f"http://[fe80::1]:{p}/v6": "security:link-local",
        f"http://back.door.test:{p}/name": "security:loopback",
        f"http://side.door.test:{p}/linked-name": "security:loopback",
        f"http://127.0.0.2:{p}/linked-literal": "security:loopback",
    }
    for url, reason in expected.items():
        found = [(r["stage"], r["verdict"], r["reasons"]) for r in rows(run, url)]
        assert found == [("fetch", "deny", [reason])], (url, found)
    # the redirects themselves were fetched: the guard judged their targets
    assert {h.path for h in web.hits_snapshot() if h.host == "door.test"} >= set(targets)
    # a robots.txt that redirects to 127.0.0.2: the gate follows policy-file redirects
    # (RFC 9309), the guard refuses the target, and the origin is held, never allowed
    held = rows(run, web.url("pol.test"))
    assert held[0]["verdict"] == "hold"
    assert held[0]["reasons"][0] == "robots.unreachable:security"
    assert not [h for h in web.hits_snapshot() if h.host == "pol.test" and h.path == "/"]


@pytest.mark.parametrize("resolver_too", [False, True])
def test_negative_control_without_the_guard_127_0_0_2_is_reached(trap_web, tmp_path, listeners, resolver_too):
    web, _ = trap_web
    private, local = listeners
    mws = dict(heed_settings.DOWNLOADER_MIDDLEWARES)
    mws[GUARD] = None
    settings = {"DOWNLOADER_MIDDLEWARES": mws, "DOWNLOAD_TIMEOUT": 2}
    if resolver_too:
        settings["TWISTED_DNS_RESOLVER"] = "scrapy.resolver.CachingThreadedResolver"
    run = guarded_crawl(web, tmp_path, listeners, **settings)
    assert run.returncode == 1, run.stderr[-3000:]  # a run without the guard fails its verification
    if resolver_too:
        assert private.accepted, "without guard and guarded resolver the crawl should reach 127.0.0.2"
        assert local.accepted, "without guard and guarded resolver the crawl should reach localhost"
    else:
        # the guarded resolver is a second, independent layer: it refuses literals too
        assert private.accepted == []


def _bomb(tmp_path: Path) -> Path:
    """A page with one recording, padded to 1 MiB, served gzip-compressed (a few KB on the wire)."""
    root = tmp_path / "web"
    make_host(root, "bomb.test", {"/robots.txt": "User-agent: *\nAllow: /\n",
                                  "/index.html": '<html><body><a href="/bomb.html">b</a></body></html>'},
              {"/bomb.html": {"headers": {"Content-Encoding": "gzip"}}})
    page = (DEMO_WEB / "open.test" / "tracks" / "night-ferry.html").read_bytes()
    padded = page.replace(b"</body>", b"<!--" + b" " * (1 << 20) + b"--></body>")
    (root / "bomb.test" / "bomb.html").write_bytes(gzip.compress(padded))
    return root


@pytest.mark.parametrize(("max_size", "kept"), [(256 * 1024, False), (4 * 1024 * 1024, True)])
def test_a_body_is_bounded_after_decompression(tmp_path, max_size, kept):
    with SampleWeb(_bomb(tmp_path)) as web:
        run = crawl(web, tmp_path / "runs", [web.url("bomb.test")],
                    settings={"DOWNLOAD_MAXSIZE": max_size, "DOWNLOAD_WARNSIZE": max_size})
        assert run.returncode == 0, run.stderr[-3000:]
        wire = [h for h in web.hits_snapshot() if h.path == "/bomb.html"]
        assert len(wire) == 1  # fetched once, small on the wire
    items = run.run_dir / "items" / "recording"
    parsed = items.exists() and any(items.glob("*.parquet"))
    assert parsed is kept  # the 1 MiB page reaches the spider only under the larger limit
    if not kept:
        assert "exceeded DOWNLOAD_MAXSIZE" in run.stderr or "download max size" in run.stderr.lower()

"""Three worker processes, one Redis, one multi-host loopback web: the distributed invariants.

Ground truth is the web server's own access log (arrival times, paths) and the run
directory read back with pyarrow and DuckDB, never the crawler's opinion of itself:

* per host, the gaps between requests from three workers are no tighter than from one;
* each origin's policy files are fetched once for the whole run;
* every page is fetched once (with one worker SIGKILLed midway: every page at least once, and
  only what the dead worker had in flight twice), and every content request the server saw
  has a fetch-stage ``allow`` row in the merged log — no decision is lost;
* the opted-out page is never fetched — negative control: without the gate it is, and
  without the shared pace the gaps shrink;
* ``scrapy audit verify`` passes over the run, one log chain per worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest
import redis

from crawler.demo.webserver import Hit, SampleWeb
from crawler.distributed import codec
from tests.conftest import GATE, ROOT, run_scrapy

DELAY = 0.4  # DOWNLOAD_DELAY of every run here
CRAWL_DELAY = 0.9  # what beta.test's robots.txt asks
POLICY_PATHS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})
HOSTS = ("alpha.test", "beta.test", "gamma.test")
PAGES = 8  # per host, besides the index


def _page(host: str, n: int) -> str:
    links = "".join(f'<a href="/p{m}.html">p{m}</a>' for m in range(1, PAGES + 1) if m != n)
    return f"<!doctype html><html><head><title>{host} {n}</title></head><body>{links}</body></html>"


def build_web(root: Path) -> Path:
    """alpha: open; beta: Crawl-delay; gamma: one page reserved for heed in robots.txt."""
    for host in HOSTS:
        d = root / host
        d.mkdir(parents=True)
        index_links = "".join(f'<a href="/p{m}.html">p{m}</a>' for m in range(1, PAGES + 1))
        extra = '<a href="/private/secret.html">secret</a>' if host == "gamma.test" else ""
        (d / "index.html").write_text(f"<!doctype html><html><body>{index_links}{extra}</body></html>")
        for n in range(1, PAGES + 1):
            (d / f"p{n}.html").write_text(_page(host, n))
    (root / "alpha.test" / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    (root / "beta.test" / "robots.txt").write_text(f"User-agent: *\nCrawl-delay: {CRAWL_DELAY}\n")
    (root / "gamma.test" / "robots.txt").write_text("User-agent: heed\nDisallow: /private/\n")
    (root / "gamma.test" / "private").mkdir()
    (root / "gamma.test" / "private" / "secret.html").write_text("<html><body>reserved</body></html>")
    return root


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    with SampleWeb(build_web(tmp_path / "web")) as server:
        yield server


def _settings(web: SampleWeb, out: Path, run_id: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "POLICY_RESOLVE": web.resolve_map(),
        "PROVENANCE_DIR": str(out),
        "PROVENANCE_RUN_ID": run_id,
        "DOWNLOAD_DELAY": DELAY,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "POLITENESS_HOLD_RECHECKS": 0,
        "POLICY_AI_TXT": True,
        "IDENTITY_ALLOW_PLACEHOLDER": True,
        "LOG_LEVEL": "INFO",
    }
    base.update(extra or {})
    return base


def _args(web: SampleWeb, settings: Mapping[str, Any]) -> list[str]:
    args = ["crawl", "music", "-a", "urls=" + ",".join(web.url(h) for h in HOSTS)]
    for name, value in settings.items():
        args += ["-s", f"{name}={value if isinstance(value, (str, int, float)) else json.dumps(value)}"]
    return args


def start_worker(web: SampleWeb, out: Path, run_id: str, worker: str, redis_url: str,
                 extra: Mapping[str, Any] | None = None) -> subprocess.Popen[str]:
    settings = _settings(web, out, run_id, {
        "DISTRIBUTED_REDIS_URL": redis_url, "PROVENANCE_WORKER": worker, "DISTRIBUTED_LEASE_TTL": 2,
        **(extra or {}),
    })
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    log = (out / f"{worker}.log").open("w")
    try:
        return subprocess.Popen([sys.executable, "-m", "scrapy", *_args(web, settings)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
    finally:
        log.close()


def run_workers(web: SampleWeb, out: Path, run_id: str, redis_url: str, n: int = 3,
                extra: Mapping[str, Any] | None = None) -> dict[str, int]:
    procs = {f"w{i}": start_worker(web, out, run_id, f"w{i}", redis_url, extra) for i in range(1, n + 1)}
    try:
        return {name: p.wait(timeout=300) for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def _log(out: Path, worker: str) -> str:
    return (out / f"{worker}.log").read_text()


# --- reading the server's log -------------------------------------------------------------


def content_hits(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.path not in POLICY_PATHS]


def min_gap(hits: list[Hit]) -> float:
    """The tightest spacing between two requests to one host (all requests: policy files too)."""
    by_host: dict[str, list[float]] = defaultdict(list)
    for hit in hits:
        by_host[hit.host].append(hit.ts)
    gaps = [b - a for times in by_host.values() for a, b in zip(sorted(times), sorted(times)[1:])]
    return min(gaps)


def min_gap_of(hits: list[Hit], host: str) -> float:
    return min_gap([h for h in hits if h.host == host])


def policy_fetches(hits: list[Hit]) -> Counter[tuple[str, str]]:
    return Counter((h.host, h.path) for h in hits if h.path in POLICY_PATHS)


def fetched(hits: list[Hit]) -> Counter[tuple[str, str]]:
    return Counter((h.host, h.path) for h in content_hits(hits))


def decisions(run_dir: Path) -> Any:
    return ds.dataset(run_dir / "decisions", format="parquet").to_table()


def verify(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_scrapy(["audit", "verify", str(run_dir)])


# --- one worker: the baseline ----------------------------------------------------------------


@pytest.fixture
def baseline(web: SampleWeb, tmp_path: Path) -> tuple[list[Hit], Counter[tuple[str, str]]]:
    """One plain worker (no Redis) over the same web: its spacing and the pages it fetches."""
    out = tmp_path / "single"
    proc = run_scrapy(_args(web, _settings(web, out, "single")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    hits = web.hits_snapshot()
    web.clear()
    pages = fetched(hits)
    assert ("gamma.test", "/private/secret.html") not in pages
    assert len(pages) == len(HOSTS) * (PAGES + 1)
    return hits, pages


def test_three_workers_are_as_polite_as_one_and_fetch_everything_once(
    web: SampleWeb, tmp_path: Path, redis_url: str, baseline: tuple[list[Hit], Counter[tuple[str, str]]]
) -> None:
    single_hits, single_pages = baseline
    out = tmp_path / "runs"
    out.mkdir()
    codes = run_workers(web, out, "dist", redis_url)
    assert codes == {"w1": 0, "w2": 0, "w3": 0}, {w: _log(out, w)[-3000:] for w in codes}
    hits = web.hits_snapshot()

    # every page once, the same pages as one worker; the reserved one never
    pages = fetched(hits)
    assert set(pages) == set(single_pages)
    assert all(n == 1 for n in pages.values()), [p for p, n in pages.items() if n > 1]
    # one fetch per policy file per origin for the whole run
    assert all(n == 1 for n in policy_fetches(hits).values()), policy_fetches(hits)
    assert {h for h, _ in policy_fetches(hits)} == set(HOSTS)
    # per-host spacing no tighter than one worker's, Crawl-delay included
    assert min_gap(hits) >= min_gap(single_hits) - 0.02, (min_gap(hits), min_gap(single_hits))
    assert min_gap_of(hits, "beta.test") >= min_gap_of(single_hits, "beta.test") - 0.02
    assert min_gap_of(hits, "beta.test") >= CRAWL_DELAY - 0.02

    # the work really was shared, and each worker kept its own chain
    run_dir = out / "dist"
    table = decisions(run_dir)
    writers = set(table.column("worker").to_pylist())
    assert writers <= {"w1", "w2", "w3"} and len(writers) >= 2, writers
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["workers"]) == {"w1", "w2", "w3"}
    # every content request the server saw has a fetch-stage allow in the log
    allowed = {u for u, s, v in zip(table.column("url").to_pylist(), table.column("stage").to_pylist(),
                                    table.column("verdict").to_pylist()) if s == "fetch" and v == "allow"}
    assert {web.url(h, p) for h, p in pages} <= allowed
    denied = duckdb.sql(
        f"select count(*) from read_parquet('{run_dir}/decisions/*.parquet') "
        "where verdict = 'deny' and url like '%/private/secret.html'"
    ).fetchall()
    assert denied[0][0] >= 1
    result = verify(run_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_negative_control_without_gate_and_shared_pace(
    web: SampleWeb, tmp_path: Path, redis_url: str, baseline: tuple[list[Hit], Counter[tuple[str, str]]]
) -> None:
    """The same three workers with the gate removed and the plain HTTP handler: the reserved
    page is fetched and hosts see requests closer together than one worker sends them."""
    single_hits, _ = baseline
    from crawler import settings as heed_settings

    mws = dict(heed_settings.DOWNLOADER_MIDDLEWARES)
    mws[GATE] = None
    plain = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    out = tmp_path / "runs"
    out.mkdir()
    codes = run_workers(web, out, "nogate", redis_url, extra={
        "DOWNLOADER_MIDDLEWARES": mws, "DOWNLOAD_HANDLERS": {"http": plain, "https": plain},
    })
    assert set(codes.values()) <= {0, 1}, {w: _log(out, w)[-3000:] for w in codes}
    hits = web.hits_snapshot()
    assert ("gamma.test", "/private/secret.html") in fetched(hits)
    assert min_gap(hits) < min_gap(single_hits) - 0.05, (min_gap(hits), min_gap(single_hits))


def test_a_worker_killed_midway_loses_no_page_and_no_decision(
    web: SampleWeb, tmp_path: Path, redis_url: str, baseline: tuple[list[Hit], Counter[tuple[str, str]]]
) -> None:
    _, single_pages = baseline
    out = tmp_path / "runs"
    out.mkdir()
    procs = {f"w{i}": start_worker(web, out, "killed", f"w{i}", redis_url, {"DISTRIBUTED_MAX_LEASES": 2})
             for i in (1, 2, 3)}
    try:
        client = redis.Redis.from_url(redis_url)
        # once the crawl is under way, kill a worker that holds work at that moment
        victim = ""
        deadline = time.monotonic() + 120
        while not victim and time.monotonic() < deadline:
            if len(content_hits(web.hits_snapshot())) >= 6:
                victim = next((w for w in procs if client.hlen(f"heed:killed:leases:{w}") > 0), "")
            if not victim:
                time.sleep(0.01)
        assert victim, "no worker held a lease while the crawl ran"
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(10)
        assert len(content_hits(web.hits_snapshot())) < len(single_pages), "killed too late to matter"
        in_flight = set()
        for raw in client.hvals(f"heed:killed:leases:{victim}"):  # "<score> <seq>:<request JSON>"
            in_flight.add(codec.loads(raw.split(b" ", 1)[1].split(b":", 1)[1])["url"])
        assert in_flight, "the killed worker held no lease"
        codes = {name: p.wait(timeout=300) for name, p in procs.items() if name != victim}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert set(codes.values()) == {0}, {w: _log(out, w)[-3000:] for w in codes}

    hits = web.hits_snapshot()
    pages = fetched(hits)
    assert set(pages) == set(single_pages), "a page was lost with the killed worker"
    twice = {web.url(h, p) for (h, p), n in pages.items() if n > 1}
    assert twice <= in_flight, (twice, in_flight)
    assert ("gamma.test", "/private/secret.html") not in pages

    run_dir = out / "killed"
    result = verify(run_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    table = decisions(run_dir)
    assert victim in set(table.column("worker").to_pylist()), "the dead worker's decisions were not recovered"
    allowed = {u for u, s, v in zip(table.column("url").to_pylist(), table.column("stage").to_pylist(),
                                    table.column("verdict").to_pylist()) if s == "fetch" and v == "allow"}
    assert {web.url(h, p) for h, p in pages} <= allowed, "a fetch has no decision in the log"

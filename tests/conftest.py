"""Shared fixtures: the loopback sample web and a real crawl in a subprocess.

Crawls run as ``python -m scrapy crawl music`` in a child process, exactly as a user runs
them (a Twisted reactor cannot be restarted inside one test process). The sample web runs
in the test process on 127.0.0.1, so its access log is the ground truth of what the
crawler requested. Nothing here reaches beyond loopback: host names are mapped with
``POLICY_RESOLVE`` and proxies are switched off in the child's environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.webserver import SampleWeb

ROOT = Path(__file__).resolve().parents[1]
DEMO_WEB = ROOT / "data" / "demo_web"
GATE = "crawler.middlewares.gate.PolicyGateMiddleware"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sample_web() -> Iterator[SampleWeb]:
    with SampleWeb(DEMO_WEB) as web:
        yield web


@dataclass(frozen=True)
class ExpectedUrl:
    """One row of the URL table in data/demo_web/EXPECTED.md."""

    host: str
    path: str
    outcome: str  # fetched, deny:fetch, deny:use, hold, unseen, offsite
    family: str
    recordings: int


def expected_urls() -> list[ExpectedUrl]:
    """The sample web's documented outcomes: the test oracle and the docs are one table."""
    rows = []
    text = (DEMO_WEB / "EXPECTED.md").read_text(encoding="utf-8")
    section = text.split("## URLs", 1)[1]
    for line in section.splitlines():
        m = re.match(r"^\|\s*`http://([^/`]+)(/[^`]*)`\s*\|\s*([\w:]+)\s*\|\s*([\w.\-]*)\s*\|\s*(\d+)\s*\|", line)
        if m:
            rows.append(ExpectedUrl(m[1], m[2], m[3], m[4], int(m[5])))
    assert rows, "EXPECTED.md has no URL table"
    return rows


@dataclass
class CrawlRun:
    """A finished crawl: the child's output and where its run directory is."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path


#: Commands that start a crawler; the tests run them against loopback webs only, so they may
#: use heed's placeholder contact URL (a real crawl refuses to start with it).
CRAWLING_COMMANDS = frozenset({"crawl", "policy"})


def run_scrapy(args: list[str], *, cwd: Path = ROOT, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if args[:1] and args[0] in CRAWLING_COMMANDS:
        args = [args[0], "-s", "IDENTITY_ALLOW_PLACEHOLDER=True", *args[1:]]
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def crawl(
    web: SampleWeb,
    out: Path,
    seeds: list[str],
    *,
    gate: bool = True,
    settings: Mapping[str, Any] | None = None,
    run_id: str = "test-run",
) -> CrawlRun:
    """Crawl ``seeds`` (URLs on the sample web) with heed's real settings, fast politeness."""
    base: dict[str, Any] = {
        "POLICY_RESOLVE": web.resolve_map(),
        "PROVENANCE_DIR": str(out),
        "PROVENANCE_RUN_ID": run_id,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        # a held request gets its final hold row at once (politeness tests set their own)
        "POLITENESS_HOLD_RECHECKS": 0,
        "LOG_LEVEL": "INFO",
    }
    if not gate:
        from crawler import settings as heed_settings

        mws = dict(heed_settings.DOWNLOADER_MIDDLEWARES)
        mws[GATE] = None
        base["DOWNLOADER_MIDDLEWARES"] = mws
    base.update(settings or {})
    args = ["crawl", "music", "-a", "urls=" + ",".join(seeds)]
    for name, value in base.items():
        args += ["-s", f"{name}={value if isinstance(value, (str, int, float)) else json.dumps(value)}"]
    proc = run_scrapy(args)
    return CrawlRun(proc.returncode, proc.stdout, proc.stderr, out / run_id)


def demo_seeds(web: SampleWeb) -> list[str]:
    return [web.url(h.split("/")[2]) for h in (DEMO_WEB / "seeds.txt").read_text().split()]


# --- Redis (distributed mode) -------------------------------------------------------------


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.redisserver import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(_redis_server: str) -> str:
    """URL of a real, empty Redis server on 127.0.0.1 (emptied before each test)."""
    import redis

    client = redis.Redis.from_url(_redis_server)
    client.flushall()
    client.close()
    return _redis_server

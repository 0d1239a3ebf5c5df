"""A generated loopback web and a crawl started in the background, shared by the job tests.

``build_chain_web`` writes a one-host site (``chain.test``) of ``pages`` HTML pages, each
with one open-licensed recording in JSON-LD, all linked from the index (one hop, well within
``DEPTH_LIMIT``) and each to the next: the crawl has a frontier to persist and to resume. ``start_crawl`` runs
``python -m scrapy crawl music`` as a child process, its log in a file (a full pipe would
stall the crawl) and its stdout (the summary line) in another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.demo.webserver import SampleWeb

ROOT = Path(__file__).resolve().parents[1]
HOST = "chain.test"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Track {n}</title>
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "MusicRecording", "name": "Chain Track {n}",
  "isrcCode": "GB-K9R-24-{isrc:05d}", "license": "https://creativecommons.org/licenses/by/4.0/",
  "byArtist": {{"@type": "MusicGroup", "name": "The Chain"}}}}
</script></head>
<body><h1>Track {n}</h1>{links}</body></html>
"""


def page_path(n: int) -> str:
    return f"/tracks/{n:03d}.html"


def build_chain_web(root: Path, pages: int = 24, *, delay: float = 0.0) -> Path:
    """Write the site under ``root`` and return ``root`` (a SampleWeb root)."""
    site = root / HOST
    (site / "tracks").mkdir(parents=True, exist_ok=True)
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    index_links = "".join(f'<a href="{page_path(n)}">{n}</a>\n' for n in range(pages))
    (site / "index.html").write_text(f"<!doctype html><html><head><title>Chain</title></head><body>{index_links}</body></html>",
                                     encoding="utf-8")
    for n in range(pages):
        nxt = [page_path(m) for m in (n + 1,) if m < pages]
        links = "".join(f'<a href="{p}">next</a>' for p in nxt)
        (site / "tracks" / f"{n:03d}.html").write_text(_PAGE.format(n=n, isrc=n + 1, links=links), encoding="utf-8")
    if delay:
        (site / "_site.json").write_text(json.dumps({"routes": {"/tracks/*": {"delay": delay}}}), encoding="utf-8")
    return root


@dataclass
class Child:
    proc: subprocess.Popen[str]
    log: Path
    out: Path

    def wait(self, timeout: float = 240) -> int:
        return self.proc.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace") if self.out.exists() else ""

    def summary(self) -> dict[str, str]:
        """The ``key=value`` fields of the summary line ({} if none was printed)."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("heed ")]
        if not lines:
            return {}
        return dict(field.split("=", 1) for field in lines[-1].split()[1:])


def crawl_args(web: SampleWeb, out: Path, seeds: list[str], settings: Mapping[str, Any] | None = None) -> list[str]:
    base: dict[str, Any] = {
        "POLICY_RESOLVE": web.resolve_map(),
        "PROVENANCE_DIR": str(out),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "POLITENESS_HOLD_RECHECKS": 0,
        "IDENTITY_ALLOW_PLACEHOLDER": True,
        "LOG_LEVEL": "INFO",
        **(settings or {}),
    }
    args = [sys.executable, "-m", "scrapy", "crawl", "music", "-a", "urls=" + ",".join(seeds)]
    for name, value in base.items():
        args += ["-s", f"{name}={value if isinstance(value, (str, int, float)) else json.dumps(value)}"]
    return args


def start_crawl(web: SampleWeb, out: Path, seeds: list[str], settings: Mapping[str, Any] | None = None,
                *, tag: str = "") -> Child:
    out.mkdir(parents=True, exist_ok=True)
    stamp = tag or str(time.monotonic_ns())
    log, stdout = out / f"crawl-{stamp}.log", out / f"crawl-{stamp}.out"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with open(log, "w") as err, open(stdout, "w") as std:
        proc = subprocess.Popen(crawl_args(web, out, seeds, settings), cwd=ROOT, env=env, stdout=std, stderr=err, text=True)
    return Child(proc, log, stdout)


def wait_for_hits(web: SampleWeb, child: Child, count: int, *, host: str = HOST, timeout: float = 120) -> None:
    """Block until ``count`` page requests reached ``host`` (or fail if the crawl ended first)."""
    deadline = time.monotonic() + timeout
    while len(pages_requested(web, host)) < count:
        assert child.proc.poll() is None, f"the crawl ended before {count} pages: {child.stderr[-3000:]}"
        assert time.monotonic() < deadline, "timed out waiting for the crawl"
        time.sleep(0.005)


def pages_requested(web: SampleWeb, host: str = HOST) -> list[str]:
    """Content pages requested from ``host`` (policy files left out), in arrival order."""
    return [p for p in web.requested(host) if p == "/" or p.startswith("/tracks/")]

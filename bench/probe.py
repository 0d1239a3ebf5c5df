"""A Scrapy extension that times a benchmark crawl from inside the crawling process.

Enabled on both sides of the comparison with ``EXTENSIONS={"bench.probe.ThroughputProbe": 0}``
and ``BENCH_PROBE_FILE=<path>``. Timing starts at ``spider_opened`` (interpreter start-up and
component construction are not crawling) and stops at the ``BENCH_TARGET_ITEMS``-th scraped
item (every benchmark page yields exactly one recording, so items are pages); the crawl is
stopped there by ``CLOSESPIDER_ITEMCOUNT``. Wall time and process CPU time (all threads, so
heed's Parquet writer thread is counted) are both recorded; CPU time per page is the less
noisy figure on a shared machine. At ``spider_closed`` one JSON object is written to
``BENCH_PROBE_FILE``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals

from bench.memory import memory_kib

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

#: Crawl stats copied into the probe's output when present.
_STATS = (
    "downloader/request_count",
    "downloader/response_count",
    "item_scraped_count",
    "item_dropped_count",
    "robotstxt/request_count",
    "robotstxt/forbidden",
    "policy/cache/miss",
    "policy/cache/hit",
    "policy/decisions/fetch/allow",
    "policy/decisions/fetch/deny",
    "policy/decisions/use/allow",
    "provenance/rows_written",
    "dupefilter/filtered",
    "finish_reason",
)


class ThroughputProbe:
    def __init__(self, crawler: Crawler, path: Path, target: int) -> None:
        self.crawler = crawler
        self.path = path
        self.target = target
        self.items = 0
        self.responses = 0
        self.hosts: set[str] = set()
        self.t_open = self.cpu_open = 0.0
        self.t_target: float | None = None
        self.cpu_target: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        probe = cls(crawler, Path(settings.get("BENCH_PROBE_FILE")), settings.getint("BENCH_TARGET_ITEMS"))
        crawler.signals.connect(probe.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(probe.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(probe.response_received, signal=signals.response_received)
        crawler.signals.connect(probe.spider_closed, signal=signals.spider_closed)
        return probe

    def spider_opened(self) -> None:
        self.t_open = time.perf_counter()
        self.cpu_open = time.process_time()

    def item_scraped(self) -> None:
        self.items += 1
        if self.items == self.target:
            self.t_target = time.perf_counter()
            self.cpu_target = time.process_time()

    def response_received(self, response: Any) -> None:
        self.responses += 1
        self.hosts.add(urlsplit(response.url).hostname or "")

    def spider_closed(self, reason: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        stats = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        reached = self.t_target is not None
        out = {
            "reason": reason,
            "target": self.target,
            "reached": reached,
            "items": self.items,
            "timed_items": self.target if reached else self.items,
            "seconds": (self.t_target if reached else now) - self.t_open,
            "cpu_seconds": (self.cpu_target if reached else cpu) - self.cpu_open,
            "responses": self.responses,
            "hosts": len(self.hosts),
            "peak_rss_kib": memory_kib("VmHWM"),
            "stats": {k: stats[k] for k in _STATS if k in stats},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(out, default=str), encoding="utf-8")


__all__ = ["ThroughputProbe"]

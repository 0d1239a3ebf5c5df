"""Crawl-delay and Request-rate from robots.txt, applied per host (Scrapy reads neither).

When the gate has fetched an origin's robots.txt, this middleware reads the longest interval
it asks of heed (:func:`crawler.policy.politeness.robots_pace`: heed's own group, else
``*``, plus ``POLICY_ALSO_OBEY`` groups; ``Crawl-delay`` and ``Request-rate``) and makes it
the minimum delay of the host's download slot:

* at once, from the ``policy_evidence`` signal for robots.txt, so even the gate's next
  policy-file request (``tdmrep.json``) waits;
* in ``DOWNLOAD_SLOTS`` as the downloader holds them, so a slot Scrapy collects after a
  minute of idleness and creates again gets the delay back (:mod:`crawler.middlewares.slots`);
* after every AutoThrottle adjustment: AutoThrottle never goes below ``DOWNLOAD_DELAY`` but
  would lower a Crawl-delay toward the server's latency; this middleware's
  ``response_downloaded`` handler runs after AutoThrottle's (extensions connect first) and
  raises the delay back.

The slot delay is ``max(DOWNLOAD_DELAY or AutoThrottle's start delay, interval + 50 ms)``;
the margin keeps the server's view of the gap at or above the interval. Without a
Crawl-delay heed's own floor, ``DOWNLOAD_DELAY``, applies as Scrapy applies it.

A host asking for more than ``POLITENESS_MAX_CRAWL_DELAY`` is not crawled at that pace: its
content requests get a final fetch-stage ``hold`` (reason ``robots.crawl-delay:<seconds>``),
logged after the gate's own decision, and its slot waits at most the cap between the policy
files.

Slots share a host name while robots.txt is per origin (scheme + host + port): the largest
interval of a host's origins applies to its slot. An origin's interval is kept exactly as
long as the gate keeps that origin's policy (the entry follows the life of the robots.txt
fetch result the policy holds), so the table is bounded by ``POLICY_CACHE_SIZE``.

``POLITENESS_SLOT_IDLE`` (seconds, 0 = off) runs Scrapy's own idle-slot collection that
often, with that age, instead of only every 60 s: for crawls of very many hosts, and for
tests that must show a delay surviving the collection without waiting minutes.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.asyncio import create_looping_call

from crawler.config import get_policy_config
from crawler.middlewares import slots
from crawler.middlewares.final import hold_finally
from crawler.middlewares.guard import INTERNAL
from crawler.policy.origin import origin_of
from crawler.policy.politeness import (
    Pace,
    PolitenessConfig,
    format_seconds,
    might_pace,
    robots_pace,
)
from crawler.policy.robots import RobotsTxt
from crawler.signals import policy_evidence, policy_loaded

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from crawler.policy.config import PolicyConfig
    from crawler.policy.fetchresult import FetchResult
    from crawler.policy.origin import OriginPolicy

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Entry:
    """One origin's robots.txt pace, alive as long as the robots.txt fetch it came from."""

    host: str
    pace: Pace
    held: bool
    ref: weakref.ref[Any]


class PaceBook:
    """Per-origin paces and the per-host slot delay they add up to.

    Entries are keyed by origin and tied to the robots.txt :class:`FetchResult` they were
    read from: when the gate drops the policy holding it (expiry, eviction, a new fetch),
    the entry goes too and the host's slot delay is recomputed.
    """

    def __init__(self, crawler: Crawler, config: PolitenessConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._origins: dict[str, _Entry] = {}
        self._hosts: dict[str, dict[str, float]] = {}
        #: host -> the slot delay heed enforces for it (what AutoThrottle must not undercut)
        self.floors: dict[str, float] = {}
        #: origins whose pace is beyond the cap (their content requests are held)
        self.held: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._origins)

    def record(self, origin: str, host: str, pace: Pace | None, source: FetchResult) -> None:
        """Set (or clear, with ``pace=None``) an origin's pace, read from ``source``."""
        old = self._origins.get(origin)
        if old is not None and old.ref() is source and old.pace == pace:
            return
        self._drop(origin)
        if pace is None:
            return
        held = self.config.too_slow(pace)
        ref = weakref.ref(source, lambda _ref, o=origin: self._forget(o, _ref))
        entry = _Entry(host, pace, held, ref)
        self._origins[origin] = entry
        if held:
            self.held[origin] = entry
            self.crawler.stats.inc_value("politeness/crawl_delay/held")
            logger.warning(
                "%(origin)s asks for %(seconds)ss between requests (%(rule)s), more than "
                "POLITENESS_MAX_CRAWL_DELAY=%(cap)ss: its pages are held",
                {"origin": origin, "seconds": format_seconds(pace.seconds), "rule": pace.rule,
                 "cap": format_seconds(self.config.max_crawl_delay)},
            )
            seconds = self.config.max_crawl_delay
        else:
            seconds = pace.seconds
            self.crawler.stats.inc_value("politeness/crawl_delay/applied")
            logger.info(
                "%(origin)s: %(seconds)ss between requests (%(rule)s)",
                {"origin": origin, "seconds": format_seconds(seconds), "rule": pace.rule},
            )
        self._hosts.setdefault(host, {})[origin] = seconds
        self._apply(host)

    def _forget(self, origin: str, ref: weakref.ref[Any]) -> None:
        entry = self._origins.get(origin)
        if entry is not None and entry.ref is ref:
            self._drop(origin)

    def _drop(self, origin: str) -> None:
        entry = self._origins.pop(origin, None)
        if entry is None:
            return
        self.held.pop(origin, None)
        per_host = self._hosts.get(entry.host, {})
        per_host.pop(origin, None)
        if not per_host:
            self._hosts.pop(entry.host, None)
        self._apply(entry.host)

    def _apply(self, host: str) -> None:
        per_host = self._hosts.get(host)
        if not per_host:
            if self.floors.pop(host, None) is not None:
                slots.unpin_delay(self.crawler, host)
            return
        delay = self.config.slot_delay(Pace(max(per_host.values()), ""))
        self.floors[host] = delay
        slots.pin_delay(self.crawler, host, delay)


class PolitenessMiddleware:
    """Downloader middleware; see the module docstring."""

    def __init__(self, crawler: Crawler, config: PolitenessConfig, policy: PolicyConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.tokens = (policy.agent_token, policy.also_obey)
        self.book = PaceBook(crawler, config)
        self._gc: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler, PolitenessConfig.from_settings(crawler.settings), get_policy_config(crawler))
        connect = crawler.signals.connect
        connect(mw.robots_fetched, signal=policy_evidence)
        connect(mw.policy_loaded, signal=policy_loaded)
        # Extensions (AutoThrottle among them) are built before the downloader, so their
        # response_downloaded handlers run before this one.
        connect(mw.response_downloaded, signal=signals.response_downloaded)
        connect(mw.spider_opened, signal=signals.spider_opened)
        connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # -- learning a host's pace ----------------------------------------------------------------

    def robots_fetched(self, result: FetchResult) -> None:
        """``policy_evidence`` handler: read the pace as soon as robots.txt arrives."""
        if result.kind != "robots.txt" or result.status is None or not 200 <= result.status < 300:
            return
        if not might_pace(result.body):
            return
        self._record(origin_of(result.url), RobotsTxt.parse(result.body), result)

    def policy_loaded(self, origin: str, policy: OriginPolicy) -> None:
        """``policy_loaded`` handler: the gate's parsed robots.txt (no second parse)."""
        if policy.robots is None:
            return
        self._record(origin, policy.robots, policy.robots_file.result)

    def _record(self, origin: str, robots: RobotsTxt, source: FetchResult) -> None:
        token, also = self.tokens
        pace = robots_pace(robots, token, also)
        host = _slot_key(origin)
        self.book.record(origin, host, pace, source)

    # -- enforcing it --------------------------------------------------------------------------

    def process_request(self, request: Request) -> None:
        """Hold content requests to origins that ask for more than heed honours."""
        if not self.book.held or request.meta.get(INTERNAL):
            return
        entry = self.book.held.get(origin_of(request.url))
        if entry is None:
            return
        raise hold_finally(
            self.crawler,
            request,
            (f"robots.crawl-delay:{format_seconds(entry.pace.seconds)}",),
            rules=(entry.pace.rule,),
            signals=(("politeness max crawl-delay", format_seconds(self.config.max_crawl_delay)),),
        )

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Undo whatever lowered a paced slot's delay (AutoThrottle runs just before)."""
        floors = self.book.floors
        if not floors:
            return
        key = request.meta.get("download_slot")
        floor = floors.get(key) if key is not None else None
        if floor is not None and slots.raise_to_floor(self.crawler, key, floor):
            self.crawler.stats.inc_value("politeness/crawl_delay/restored")

    # -- idle slots ------------------------------------------------------------------------------

    def spider_opened(self) -> None:
        if self.config.slot_idle > 0:
            self._gc = create_looping_call(self._collect_idle)
            self._gc.start(self.config.slot_idle, now=False)

    def spider_closed(self) -> None:
        if self._gc is not None and getattr(self._gc, "running", False):
            self._gc.stop()
        self._gc = None

    def _collect_idle(self) -> None:
        for key in slots.collect_idle(self.crawler, self.config.slot_idle):
            if key in self.book.floors:
                self.crawler.stats.inc_value("politeness/slots/collected")
                logger.debug("Idle download slot %(key)s collected; its delay stays pinned", {"key": key})


def _slot_key(origin: str) -> str:
    """Scrapy's download slot key (the host name) for an origin ``scheme://host:port``."""
    host = origin.split("://", 1)[-1].rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


__all__ = ["PaceBook", "PolitenessMiddleware"]

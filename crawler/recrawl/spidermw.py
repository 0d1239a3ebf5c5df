"""The spider side of a recrawl: schedule the pages earlier runs knew; skip unchanged ones.

An unchanged page answers ``304`` without a body, so its links are not read again and the
pages below it would never be found. Every spider therefore gets, after its own start
requests (the seeds), the requests the crawl DB stored for it in earlier runs
(``process_start``; ``recrawl/scheduled``). They are ordinary requests: the dupefilter drops
those the seeds already cover, and each passes the network guard and the policy gate like
any other, against the policy files as they are *now*.

A response the downloader middleware marked unchanged (a ``304`` to a conditional request,
already allowed at use stage by the gate) is not handed to the callback: this run takes no
items from it. It is dropped before Scrapy's ``HttpErrorMiddleware`` (order 50) would log it
as an unhandled status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.distributed import codec
from crawler.recrawl.middleware import UNCHANGED
from crawler.recrawl.state import RecrawlState, recrawl_state

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class Unchanged(IgnoreRequest):
    """The page answered ``304 Not Modified``: nothing new to parse."""


class RecrawlSpiderMiddleware:
    """Spider middleware; see the module docstring. Place it below 50 (HttpErrorMiddleware)."""

    def __init__(self, crawler: Crawler, state: RecrawlState) -> None:
        self.crawler = crawler
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        state = recrawl_state(crawler)
        if state is None:
            raise NotConfigured  # no JOB_NAME, or RECRAWL_ENABLED off: nothing to say
        return cls(crawler, state)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item_or_request in start:
            yield item_or_request
        async for request in self.known_requests():
            yield request

    async def known_requests(self) -> AsyncIterator[Any]:
        """The requests earlier runs of the job stored for this spider, oldest first."""
        spider = self.crawler.spider
        stats = self.crawler.stats
        store = self.state.store
        scheduled = 0
        for url, data in store.known_requests(self.state.spider_name, upto=self.state.upto):
            try:
                request = codec.request_from_stored(data, spider=spider)
            except (ValueError, TypeError, KeyError, ImportError, AttributeError) as exc:
                logger.warning("Recrawl: cannot schedule %(url)s again: %(error)s", {"url": url, "error": exc})
                stats.inc_value("recrawl/unschedulable")
                continue
            scheduled += 1
            stats.inc_value("recrawl/scheduled")
            yield request
        logger.info("Recrawl: scheduled %(count)d pages known from earlier runs", {"count": scheduled})

    def process_spider_input(self, response: Response) -> None:
        if response.status == 304 and response.meta.get(UNCHANGED):
            raise Unchanged(f"unchanged since the last run: {response.url}")

    def process_spider_exception(self, response: Response, exception: Exception) -> Iterable[Any] | None:
        if isinstance(exception, Unchanged):
            return ()
        return None


__all__ = ["RecrawlSpiderMiddleware", "Unchanged"]

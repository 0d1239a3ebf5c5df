"""The run-wide duplicate filter: Scrapy's own request fingerprints, in one Redis set.

scrapy-redis' filter hashes method, URL and body its own way and ignores
``REQUEST_FINGERPRINTER_CLASS``, so a worker would not agree with a one-process crawl (or a
custom fingerprinter) about which requests are the same. This one asks
``crawler.request_fingerprinter`` and stores the hex digest.

It never clears its set when a worker closes: other workers of the run still rely on it,
and the run's keys are given an expiry when the run is finished
(:mod:`crawler.distributed.scheduler`). The scheduler records a fingerprint in the same
atomic step that queues the request (:data:`crawler.distributed.leases.PUSH`);
:meth:`RedisDupeFilter.request_seen` is the standalone form of that check.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.distributed.config import connect, get_distributed_config

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis' filter with Scrapy's fingerprints, kept when a worker closes."""

    logger = logger

    def __init__(self, server: Any, key: str, fingerprinter: Any, debug: bool = False) -> None:
        super().__init__(server, key, debug=debug)
        self.fingerprinter = fingerprinter

    @classmethod
    def from_crawler(cls, crawler: Crawler, server: Any | None = None) -> Self:
        config = get_distributed_config(crawler)
        return cls(server if server is not None else connect(config), config.dupefilter_key,
                   crawler.request_fingerprinter, debug=crawler.settings.getbool("DUPEFILTER_DEBUG"))

    @classmethod
    def from_spider(cls, spider: Any) -> Self:
        return cls.from_crawler(spider.crawler)

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()

    def known(self, fingerprint: str) -> bool:
        """Whether the run has recorded ``fingerprint`` (read only)."""
        return bool(self.server.sismember(self.key, fingerprint))

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: the run goes on in other workers."""


__all__ = ["RedisDupeFilter"]

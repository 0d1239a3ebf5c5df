"""What the recrawl components of one crawler share: the open crawl DB and the run it serves.

The downloader middleware (conditional requests, validators) and the spider middleware
(scheduling known pages, skipping unchanged ones) work on one crawl DB connection, opened on
first use and closed when the spider closes. The first open also fixes which rows count as
"known from earlier runs" (rows up to the highest rowid at that moment), so pages this run
adds are never scheduled twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals

from crawler.config import get_policy_config
from crawler.recrawl.config import RecrawlConfig, get_recrawl_config
from crawler.recrawl.store import RecrawlStore
from pipelines.provconfig import get_provenance_config

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_ATTR = "_heed_recrawl_state"


class RecrawlState:
    """One crawler's crawl DB, run id, spider name and policy hash, looked up lazily."""

    def __init__(self, crawler: Crawler, config: RecrawlConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.policy_hash = get_policy_config(crawler).policy_hash
        self._store: RecrawlStore | None = None
        self._run_id: str | None = None
        self._closed = False
        #: rows at or below this rowid were written by earlier runs
        self.upto = 0

    @property
    def store(self) -> RecrawlStore:
        if self._store is None:
            if self._closed:
                raise RuntimeError("the crawl DB is already closed")
            assert self.config.db_path is not None
            self._store = RecrawlStore(self.config.db_path)
            self.upto = self._store.last_rowid()
            logger.info("Recrawl: job %(job)s, %(count)d URLs known from earlier runs (%(path)s)",
                        {"job": self.config.job.name if self.config.job else "-", "count": len(self._store),
                         "path": self.config.db_path})
        return self._store

    @property
    def spider_name(self) -> str:
        spider = self.crawler.spider
        return spider.name if spider is not None else ""

    @property
    def run_id(self) -> str:
        """This run's id, as the provenance log has it (``PROVENANCE_RUN_ID``, or the one it generated)."""
        if self._run_id is None:
            self._run_id = get_provenance_config(self.crawler).run_id
        return self._run_id

    def close(self) -> None:
        self._closed = True
        if self._store is not None:
            self._store.close()
            self._store = None


def recrawl_state(crawler: Crawler) -> RecrawlState | None:
    """The crawler's shared recrawl state, or None when recrawling is off."""
    config = get_recrawl_config(crawler)
    if not config.active:
        return None
    state = getattr(crawler, _ATTR, None)
    if state is None:
        state = RecrawlState(crawler, config)
        setattr(crawler, _ATTR, state)
        crawler.signals.connect(state.close, signal=signals.spider_closed)
    return state


__all__ = ["RecrawlState", "recrawl_state"]

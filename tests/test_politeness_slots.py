"""heed's reach into Scrapy's download slots, against Scrapy's real Downloader and AutoThrottle.

Each property has a negative control that shows what Scrapy does without heed: a delay
written only on the slot object is lost to Scrapy's idle-slot collection, and AutoThrottle
lowers a slot's delay toward the server's latency.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.core.downloader import Downloader
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import HtmlResponse
from scrapy.signals import response_downloaded
from scrapy.utils.test import get_crawler

from crawler.middlewares import slots
from crawler.middlewares.politeness import PaceBook, PolitenessMiddleware
from crawler.policy.fetchresult import FetchResult
from crawler.policy.politeness import ARRIVAL_MARGIN, Pace, PolitenessConfig

BASE = {
    "DOWNLOAD_DELAY": 0.0,
    "AUTOTHROTTLE_ENABLED": False,
    "POLITENESS_MAX_CRAWL_DELAY": 60,
    "POLITENESS_MAX_WAIT": 600,
    "POLITENESS_BACKOFF_BASE": 5,
    "POLITENESS_HOST_MAX_FAILURES": 5,
    "POLITENESS_HOLD_RECHECKS": 3,
    "POLITENESS_HOLD_BACKOFF": 60,
    "POLITENESS_SLOT_IDLE": 0,
    "POLICY_AI_TOKENS": "data/ai_tokens.csv",
    "POLICY_AGENT_TOKEN": "heed",
    "POLICY_ALSO_OBEY": ["Scrapy"],
    "POLICY_REGISTRIES": [],
    "POLICY_CACHE_TTL": 86400,
    "POLICY_FAILURE_TTL": 300,
    "POLICY_CACHE_SIZE": 100,
    "POLICY_MAX_FILE_BYTES": 5 * 1024 * 1024,
}


def in_loop(test):
    """Run a test body inside a running asyncio loop (Scrapy's downloader needs one)."""

    def run(*args, **kwargs):
        async def body():
            return test(*args, **kwargs)

        return asyncio.run(body())

    run.__name__ = test.__name__
    return run


def crawler_with_downloader(**settings):
    crawler = get_crawler(settings_dict={**BASE, **settings})
    downloader = Downloader(crawler)
    crawler.engine = SimpleNamespace(downloader=downloader)
    return crawler, downloader


def slot_for(downloader, url="http://paced.test/"):
    return downloader._get_slot(Request(url))[1]


@in_loop
def test_a_pinned_delay_survives_scrapys_idle_slot_collection():
    crawler, downloader = crawler_with_downloader()
    slot_for(downloader)
    slots.pin_delay(crawler, "paced.test", 2.0)
    assert slot_for(downloader).delay == 2.0 and slot_for(downloader).jitter == 0.0
    assert slots.collect_idle(crawler, 0) == ["paced.test"]  # Scrapy's own _slot_gc
    assert "paced.test" not in downloader.slots
    recreated = slot_for(downloader)
    assert (recreated.delay, recreated.jitter, recreated.concurrency) == (2.0, 0.0, 1)
    downloader.close()


@in_loop
def test_negative_control_a_delay_set_only_on_the_slot_is_lost():
    crawler, downloader = crawler_with_downloader()
    slot_for(downloader).delay = 2.0
    slots.collect_idle(crawler, 0)
    assert slot_for(downloader).delay == 0.0
    downloader.close()


@in_loop
def test_unpin_restores_the_users_download_slots_entry():
    crawler, downloader = crawler_with_downloader(DOWNLOAD_SLOTS={"paced.test": {"delay": 5.0, "concurrency": 2}})
    slots.pin_delay(crawler, "paced.test", 2.0)
    assert slots.pinned_delay(crawler, "paced.test") == 5.0  # the user's larger delay counts
    slots.pin_delay(crawler, "paced.test", 7.0)
    assert slots.pinned_delay(crawler, "paced.test") == 7.0
    slots.unpin_delay(crawler, "paced.test")
    assert downloader.per_slot_settings["paced.test"] == {"delay": 5.0, "concurrency": 2}
    slots.pin_delay(crawler, "other.test", 1.0)
    slots.unpin_delay(crawler, "other.test")
    assert "other.test" not in downloader.per_slot_settings
    downloader.close()


@in_loop
def test_hold_until_pushes_back_the_next_request_even_with_no_delay():
    crawler, downloader = crawler_with_downloader()
    slot = slot_for(downloader)
    slots.hold_until(crawler, "paced.test", 2.0)
    penalty = slot.download_delay() - time.monotonic() + slot.lastseen
    assert 1.9 < penalty <= 2.0 + 1e-3
    downloader.close()


@in_loop
def test_drain_empties_the_queue():
    crawler, downloader = crawler_with_downloader()
    slot = slot_for(downloader)
    slot.queue.append((Request("http://paced.test/a"), object()))
    assert [r.url for r, _ in slots.drain(crawler, "paced.test")] == ["http://paced.test/a"]
    assert not slot.queue
    downloader.close()


def _downloaded(crawler, url, latency=0.001):
    request = Request(url, meta={"download_slot": "paced.test", "download_latency": latency})
    response = HtmlResponse(url, status=200, body=b"<html></html>", request=request)
    crawler.signals.send_catch_log(response_downloaded, response=response, request=request, spider=None)


@in_loop
def test_autothrottle_cannot_lower_a_crawl_delay():
    crawler, downloader = crawler_with_downloader(AUTOTHROTTLE_ENABLED=True, AUTOTHROTTLE_START_DELAY=0)
    throttle = AutoThrottle(crawler)  # extensions are built before the downloader's middlewares
    throttle._spider_opened(None)
    mw = PolitenessMiddleware.from_crawler(crawler)
    source = FetchResult(url="http://paced.test:80/robots.txt", status=200, kind="robots.txt")
    paced = slot_for(downloader)
    mw.book.record("http://paced.test:80", "paced.test", Pace(2.0, "robots.txt:2 Crawl-delay: 2"), source)
    for _ in range(5):
        _downloaded(crawler, "http://paced.test/")
    assert paced.delay == 2.0 + ARRIVAL_MARGIN
    assert crawler.stats.get_value("politeness/crawl_delay/restored") == 5  # AutoThrottle did try
    # negative control: the same latency drives an unpinned slot's delay down
    other = slot_for(downloader, "http://free.test/")
    other.delay = 2.0
    for _ in range(5):
        request = Request("http://free.test/", meta={"download_slot": "free.test", "download_latency": 0.001})
        crawler.signals.send_catch_log(
            response_downloaded, response=HtmlResponse(request.url, body=b"", request=request),
            request=request, spider=None,
        )
    assert other.delay < 0.1
    downloader.close()


@in_loop
def test_a_pace_lives_exactly_as_long_as_the_gates_policy():
    crawler, downloader = crawler_with_downloader()
    config = PolitenessConfig.from_settings(crawler.settings)
    book = PaceBook(crawler, config)
    http = FetchResult(url="http://paced.test:80/robots.txt", status=200, kind="robots.txt")
    https = FetchResult(url="https://paced.test:443/robots.txt", status=200, kind="robots.txt")
    book.record("http://paced.test:80", "paced.test", Pace(2.0, "a"), http)
    book.record("https://paced.test:443", "paced.test", Pace(5.0, "b"), https)
    assert slots.pinned_delay(crawler, "paced.test") == 5.0 + ARRIVAL_MARGIN  # one slot per host: the largest
    probe = weakref.ref(https)
    del https  # the gate drops the https origin's policy (expiry, eviction, a new fetch)
    assert probe() is None
    assert slots.pinned_delay(crawler, "paced.test") == 2.0 + ARRIVAL_MARGIN
    del http
    assert len(book) == 0 and slots.pinned_delay(crawler, "paced.test") is None
    assert book.floors == {}
    downloader.close()


@in_loop
def test_a_pace_beyond_the_cap_holds_the_origin_and_waits_only_the_cap():
    crawler, downloader = crawler_with_downloader(POLITENESS_MAX_CRAWL_DELAY=30)
    book = PaceBook(crawler, PolitenessConfig.from_settings(crawler.settings))
    source = FetchResult(url="http://slow.test:80/robots.txt", status=200, kind="robots.txt")
    book.record("http://slow.test:80", "slow.test", Pace(86400.0, "robots.txt:2 Crawl-delay: 86400"), source)
    assert "http://slow.test:80" in book.held
    assert slots.pinned_delay(crawler, "slow.test") == pytest.approx(30 + ARRIVAL_MARGIN)
    downloader.close()


def test_fetch_results_can_be_weakly_referenced():
    # PaceBook ties an origin's pace to the life of the gate's robots.txt FetchResult
    assert weakref.ref(FetchResult(url="http://a.test/robots.txt", status=200)) is not None

"""How the politeness components are wired into Scrapy (order, refusals, parking)."""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler import settings as heed_settings
from crawler.middlewares.backoff import BackoffMiddleware, RetryConfig
from crawler.middlewares.parking import Parked, ParkingLot
from crawler.signals import policy_decided

GUARD = "crawler.middlewares.guard.NetworkGuardMiddleware"
BACKOFF = "crawler.middlewares.backoff.BackoffMiddleware"
HOLDS = "crawler.middlewares.holds.HoldRecheckMiddleware"
GATE = "crawler.middlewares.gate.PolicyGateMiddleware"
POLITENESS = "crawler.middlewares.politeness.PolitenessMiddleware"
IDENTITY = "crawler.middlewares.identity.IdentityMiddleware"


def heed_settings_dict(**overrides):
    settings = {k: getattr(heed_settings, k) for k in dir(heed_settings) if k.isupper()}
    settings.update(overrides)
    return settings


def test_middleware_order():
    settings = Settings()
    settings.setmodule(heed_settings)
    mws = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    # the guard runs before Scrapy's offsite filter, which would drop redirects silently
    assert mws[GUARD] < mws["scrapy.downloadermiddlewares.offsite.OffsiteMiddleware"]
    # backoff parks before the gate decides, and sees responses after the gate judged them
    assert mws[GUARD] < mws[BACKOFF] < mws[GATE] < mws[POLITENESS]
    assert mws[HOLDS] is not None and mws[IDENTITY] is not None
    assert mws["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert mws["scrapy.downloadermiddlewares.useragent.UserAgentMiddleware"] is None


def test_backoff_refuses_to_run_beside_scrapys_retry_middleware():
    mws = dict(heed_settings.DOWNLOADER_MIDDLEWARES)
    mws["scrapy.downloadermiddlewares.retry.RetryMiddleware"] = 550
    with pytest.raises(ValueError, match="RetryMiddleware"):
        BackoffMiddleware.from_crawler(get_crawler(settings_dict=heed_settings_dict(DOWNLOADER_MIDDLEWARES=mws)))


def test_backoff_reads_scrapys_retry_settings():
    retry = RetryConfig.from_settings(Settings({"RETRY_TIMES": 4, "RETRY_HTTP_CODES": [503, "429"],
                                                "RETRY_EXCEPTIONS": ["builtins.TimeoutError", OSError],
                                                "RETRY_PRIORITY_ADJUST": -2}))
    assert (retry.times, retry.http_codes, retry.priority_adjust) == (4, frozenset({429, 503}), -2)
    assert retry.exceptions == (TimeoutError, OSError)
    with pytest.raises(ValueError, match="RETRY_EXCEPTIONS"):
        RetryConfig.from_settings(Settings({"RETRY_EXCEPTIONS": ["no.such.Error"]}))


def test_the_parking_lot_keeps_the_spider_open_and_logs_what_is_left():
    async def body():
        crawler = get_crawler(settings_dict=heed_settings_dict())
        crawler.engine = None  # no engine: nothing is sent again
        decisions = []
        crawler.signals.connect(lambda decision, **_: decisions.append(decision), signal=policy_decided, weak=False)
        lot = ParkingLot.of(crawler)
        assert ParkingLot.of(crawler) is lot
        lot.spider_idle()  # nothing parked: the spider may close
        parked = lot.park(Request("http://busy.test/a", dont_filter=True), due=time.time() + 60,
                          reasons=("http.backoff:503",))
        assert isinstance(parked, Parked) and isinstance(parked, IgnoreRequest)
        with pytest.raises(DontCloseSpider):
            lot.spider_idle()
        lot.spider_closed()
        assert len(lot) == 0
        assert [(d.verdict, d.reasons, dict(d.signals)["hold"]) for d in decisions] == [
            ("hold", ("http.backoff:503",), "final")
        ]

    asyncio.run(body())

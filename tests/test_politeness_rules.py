"""Pure politeness rules: Retry-After, Request-rate, robots.txt paces, backoff, settings."""

from __future__ import annotations

import math

import pytest
from scrapy.settings import Settings

from crawler import settings as heed_settings
from crawler.policy.config import ConfigError
from crawler.policy.politeness import (
    ARRIVAL_MARGIN,
    Pace,
    PolitenessConfig,
    backoff_seconds,
    format_seconds,
    hold_wait,
    might_pace,
    parse_delay,
    parse_request_rate,
    parse_retry_after,
    robots_pace,
)
from crawler.policy.robots import RobotsTxt

NOW = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC 9110 example date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("  7 ", 7.0),
        ("1.5", 1.5),
        ("Sun, 06 Nov 1994 08:49:47 GMT", 10.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:57 GMT", 20.0),  # obsolete RFC 850 form
        ("Sun Nov  6 08:50:07 1994", 30.0),  # obsolete asctime form, read as UTC
        ("Sun, 06 Nov 1994 08:49:37 +0100", 0.0),  # an hour in the past: no wait
        ("Sat, 05 Nov 1994 08:49:37 GMT", 0.0),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Sun, 32 Nov 1994 08:49:37 GMT", None),
    ],
)
def test_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1/5", 5.0),
        ("1/5s", 5.0),
        ("3/1m", 20.0),
        ("2/1h", 1800.0),
        ("1/1d", 86400.0),
        ("1/10s 0600-0845", 10.0),  # a visit-time window is ignored: the rate holds all day
        (" 4 / 2 ", 0.5),
        ("0/5", None),
        ("1/0", None),
        ("fast", None),
        ("", None),
    ],
)
def test_request_rate(value, expected):
    assert parse_request_rate(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), ("0.5", 0.5), ("0", 0.0), ("-1", None), ("nan", None), ("inf", None), ("x", None)],
)
def test_crawl_delay_values(value, expected):
    assert parse_delay(value) == expected


ROBOTS = b"""User-agent: *
Crawl-delay: 2
Disallow: /private/

User-agent: heed
Request-rate: 1/10s
Disallow: /x/

User-agent: Scrapy
Crawl-delay: 30
Disallow: /y/

User-agent: GPTBot
Crawl-delay: 999
Disallow: /
"""


@pytest.mark.parametrize(
    ("body", "token", "also", "seconds", "rule"),
    [
        # heed's own group replaces *, and its Request-rate is the pace
        (ROBOTS, "heed", (), 10.0, "robots.txt:6 Request-rate: 1/10s"),
        # a Scrapy group binds heed too: the longest interval wins
        (ROBOTS, "heed", ("Scrapy",), 30.0, "robots.txt:10 Crawl-delay: 30"),
        # another crawler falls back to *
        (ROBOTS, "otherbot", (), 2.0, "robots.txt:2 Crawl-delay: 2"),
        # a group for another token never binds heed (no fallback for also-obey tokens)
        (b"User-agent: GPTBot\nCrawl-delay: 9\n", "heed", ("Scrapy",), None, None),
        (b"User-agent: *\nDisallow: /a/\n", "heed", (), None, None),
        (b"User-agent: *\nCrawl-delay: soon\n", "heed", (), None, None),
        # misspelt keys heed's parser accepts count too
        (b"User-agent: *\nCrawl delay: 4\n", "heed", (), 4.0, "robots.txt:2 Crawl-delay: 4"),
    ],
)
def test_robots_pace(body, token, also, seconds, rule):
    pace = robots_pace(RobotsTxt.parse(body), token, also)
    if seconds is None:
        assert pace is None
    else:
        assert pace == Pace(seconds, rule)


def test_might_pace_skips_files_without_a_pace():
    assert might_pace(ROBOTS)
    assert might_pace(b"user-agent: *\nREQUEST-RATE: 1/5\n")
    assert not might_pace(b"User-agent: *\nDisallow: /private/\n")


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_seconds(n, base=5, cap=60) for n in range(0, 7)] == [0, 5, 10, 20, 40, 60, 60]
    assert backoff_seconds(10_000, base=5, cap=600) == 600  # no overflow for long streaks


def test_hold_wait_never_before_the_failed_policy_expires_or_retry_after():
    assert hold_wait(1, base=60) == 60
    assert hold_wait(3, base=60) == 240
    assert hold_wait(1, base=1, policy_expires_in=300) == 300
    assert hold_wait(1, base=1, policy_expires_in=2, retry_after=120) == 120
    assert hold_wait(1, base=0, policy_expires_in=-5) == 0


def _config(**overrides):
    settings = Settings()
    settings.setmodule(heed_settings)
    settings.setdict(overrides, priority="cmdline")
    return PolitenessConfig.from_settings(settings)


def test_config_defaults_are_conservative():
    config = _config()
    assert config.floor == 1.0 and config.start_delay == 1.0
    assert config.max_crawl_delay == 60 and config.max_wait == 600
    assert config.host_max_failures == 5 and config.hold_rechecks == 3
    # without AutoThrottle a new slot starts at the floor
    assert _config(AUTOTHROTTLE_ENABLED=False, DOWNLOAD_DELAY=0.5).start_delay == 0.5


def test_slot_delay_never_goes_below_heeds_floor_and_keeps_a_margin():
    config = _config(DOWNLOAD_DELAY=1.0, AUTOTHROTTLE_START_DELAY=3.0)
    assert config.slot_delay(Pace(2.0, "")) == 3.0  # AutoThrottle's start delay is higher
    assert config.slot_delay(Pace(10.0, "")) == 10.0 + ARRIVAL_MARGIN
    assert config.too_slow(Pace(61.0, "")) and not config.too_slow(Pace(60.0, ""))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POLITENESS_MAX_CRAWL_DELAY", -1),
        ("POLITENESS_MAX_WAIT", "soon"),
        ("POLITENESS_MAX_WAIT", 0),
        ("POLITENESS_HOST_MAX_FAILURES", 0),
        ("POLITENESS_HOLD_RECHECKS", -1),
        ("POLITENESS_BACKOFF_BASE", math.inf),
        ("DOWNLOAD_DELAY", -0.5),
    ],
)
def test_bad_settings_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        _config(**{name: value})


def test_seconds_are_formatted_without_exponents():
    assert [format_seconds(s) for s in (2.0, 0.5, 86400.0, 1e6, 1.25)] == ["2", "0.5", "86400", "1000000", "1.25"]

"""How long heed waits before asking a host again: pure rules, no Scrapy.

A site tells a crawler to slow down in three ways, and heed heeds all of them:

* ``Crawl-delay: N`` in robots.txt: at least N seconds between two requests;
* ``Request-rate: R/P`` in robots.txt (``1/5``, ``3/1m``): at most R requests per P, read
  as one request every P/R seconds;
* ``Retry-After`` on a 429 or 503 answer: a number of seconds, or an HTTP date.

Both robots.txt values are read from the group that binds heed (its own token, else ``*``)
and from the groups of ``POLICY_ALSO_OBEY`` tokens; the largest interval wins. A host that
asks for more than ``POLITENESS_MAX_CRAWL_DELAY`` is not crawled slowly for days: it is
*held* (never fetched, logged as ``hold``). When a host answers with errors, heed waits
``POLITENESS_BACKOFF_BASE`` seconds, doubling with every consecutive failure, up to
``POLITENESS_MAX_WAIT``.

Settings are read once into :class:`PolitenessConfig`; every validation error names the
setting. Like the rest of :mod:`crawler.policy`, nothing here imports Scrapy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any, Final

from crawler.policy.config import ConfigError
from crawler.policy.robots import RobotsTxt

#: Added to every robots.txt interval heed applies. Scrapy spaces the moments requests
#: *leave*; a server sees them *arrive*, and a request on a fresh connection travels a little
#: longer than one on a reused connection. The margin keeps the server's own clock at or
#: above the delay it asked for.
ARRIVAL_MARGIN: Final = 0.05

_DELAY_SECONDS: Final = re.compile(r"\d+(?:\.\d+)?")
_RATE: Final = re.compile(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_UNIT: Final = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True, slots=True)
class Pace:
    """The interval a robots.txt asks for, and the line that asked for it."""

    seconds: float
    #: e.g. ``robots.txt:4 Crawl-delay: 2`` or ``robots.txt:5 Request-rate: 1/10s``
    rule: str


def parse_delay(value: str) -> float | None:
    """A Crawl-delay value in seconds; None when it is not a finite non-negative number."""
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def parse_request_rate(value: str) -> float | None:
    """Seconds between requests for a ``Request-rate`` value, or None if it is unusable.

    ``1/5`` and ``1/5s`` mean one request per 5 seconds, ``3/1m`` three per minute
    (20 s apart); units ``s``, ``m``, ``h``, ``d``. A visit-time window after the rate
    (``1/10s 0600-0845``) is ignored: heed applies the rate at all hours, the stricter
    reading. Zero requests or a zero period is unusable.

    >>> parse_request_rate("3/1m")
    20.0
    """
    found = _RATE.match(value.strip())
    if found is None:
        return None
    requests, period, unit = int(found[1]), float(found[2]), found[3].lower()
    if requests <= 0 or period <= 0:
        return None
    return period * _UNIT[unit] / requests


def robots_pace(robots: RobotsTxt, token: str, also_obey: Iterable[str] = ()) -> Pace | None:
    """The longest interval robots.txt asks of heed, or None when it asks for none.

    ``token``'s own groups (else ``*``) and the groups naming each ``also_obey`` token
    (without falling back to ``*``) are read; Crawl-delay and Request-rate both count.
    """
    best: Pace | None = None
    readings = [(token, True)] + [(t, False) for t in also_obey]
    for who, fallback in readings:
        for key, parse, label in (
            ("crawl-delay", parse_delay, "Crawl-delay"),
            ("request-rate", parse_request_rate, "Request-rate"),
        ):
            for line, value in robots.records(key, who, fallback=fallback):
                seconds = parse(value)
                if seconds is not None and (best is None or seconds > best.seconds):
                    best = Pace(seconds, f"robots.txt:{line} {label}: {value}")
    return best


def might_pace(body: bytes) -> bool:
    """Cheap pre-check: can this robots.txt body hold a Crawl-delay or Request-rate line?

    Every spelling heed reads contains ``delay`` or ``rate``; a file with neither needs
    no parse.
    """
    lowered = body.lower()
    return b"delay" in lowered or b"rate" in lowered


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait for a ``Retry-After`` value received at ``now`` (a Unix time).

    RFC 9110 §10.2.3: either a non-negative number of seconds or an HTTP date (IMF-fixdate;
    the obsolete RFC 850 and asctime forms are read too, asctime as UTC). A date in the past
    means 0. Anything else is None: the caller falls back to its own backoff.

    >>> parse_retry_after("120", now=0)
    120.0
    >>> parse_retry_after("Thu, 01 Jan 1970 00:02:00 GMT", now=60)
    60.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def backoff_seconds(failures: int, *, base: float, cap: float) -> float:
    """Exponential backoff: ``base`` after the first failure, doubling, at most ``cap``."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 60))


def hold_wait(
    attempt: int,
    *,
    base: float,
    policy_expires_in: float = 0.0,
    retry_after: float | None = None,
) -> float:
    """How long a held request waits before attempt ``attempt + 1``.

    At least the doubling backoff, at least until the failed policy expires (the gate
    would answer from its cache before that, without asking the site), and at least as long
    as the site's own ``Retry-After`` on the failed policy file.
    """
    waits = [backoff_seconds(attempt, base=base, cap=math.inf), policy_expires_in]
    if retry_after is not None:
        waits.append(retry_after)
    return max(0.0, *waits)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolitenessConfig:
    """The ``POLITENESS_*`` settings and the Scrapy delays they combine with."""

    #: DOWNLOAD_DELAY: heed's own floor between two requests to a host.
    floor: float
    #: Delay a fresh download slot starts with (AutoThrottle's start delay when it is on).
    start_delay: float
    max_crawl_delay: float
    max_wait: float
    backoff_base: float
    host_max_failures: int
    hold_rechecks: int
    hold_backoff: float
    slot_idle: float

    @classmethod
    def from_settings(cls, settings: Any) -> PolitenessConfig:
        def number(name: str, minimum: float, *, integer: bool = False) -> float:
            raw = settings.get(name)
            try:
                value = settings.getint(name) if integer else settings.getfloat(name)
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be a number, got {raw!r}") from None
            if not math.isfinite(value) or value < minimum:
                raise ConfigError(f"{name} must be a finite number of at least {minimum}, got {raw!r}")
            return value

        floor = number("DOWNLOAD_DELAY", 0.0)
        start = floor
        if settings.getbool("AUTOTHROTTLE_ENABLED"):
            start = max(floor, number("AUTOTHROTTLE_START_DELAY", 0.0))
        return cls(
            floor=floor,
            start_delay=start,
            max_crawl_delay=number("POLITENESS_MAX_CRAWL_DELAY", 0.0),
            max_wait=number("POLITENESS_MAX_WAIT", 1.0),
            backoff_base=number("POLITENESS_BACKOFF_BASE", 0.0),
            host_max_failures=int(number("POLITENESS_HOST_MAX_FAILURES", 1, integer=True)),
            hold_rechecks=int(number("POLITENESS_HOLD_RECHECKS", 0, integer=True)),
            hold_backoff=number("POLITENESS_HOLD_BACKOFF", 0.0),
            slot_idle=number("POLITENESS_SLOT_IDLE", 0.0),
        )

    def slot_delay(self, pace: Pace) -> float:
        """The delay a host's download slot gets for a robots.txt pace (never below heed's)."""
        return max(self.start_delay, pace.seconds + ARRIVAL_MARGIN)

    def too_slow(self, pace: Pace) -> bool:
        """True when the host asks for more than heed honours: it is held instead."""
        return pace.seconds > self.max_crawl_delay


def format_seconds(seconds: float) -> str:
    """``2`` for 2.0, ``0.5`` for 0.5, ``86400`` for a day: the detail of a reason code."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


__all__ = [
    "ARRIVAL_MARGIN",
    "Pace",
    "PolitenessConfig",
    "backoff_seconds",
    "format_seconds",
    "hold_wait",
    "might_pace",
    "parse_delay",
    "parse_request_rate",
    "parse_retry_after",
    "robots_pace",
]

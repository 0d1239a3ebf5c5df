"""Hold, then recheck: requests held because a policy file could not be read get retried.

When an origin's robots.txt (or tdmrep.json) cannot be checked — 5xx, 429, a timeout, a
DNS error — the gate *holds* its requests: not fetched, logged as ``hold``, never turned
into an allow. A hold is not a verdict on the content, so heed asks again later in the same
run: this middleware catches the gate's fetch-stage hold, parks the request outside the
downloader (:mod:`crawler.middlewares.parking`) and sends it through the gate again after

* ``POLITENESS_HOLD_BACKOFF`` seconds, doubling with each attempt,
* and never before the failed policy leaves the gate's cache (``POLICY_FAILURE_TTL``; before
  that the gate would answer from the cache without asking the site),
* and never before the ``Retry-After`` the site sent with the failed policy file.

If the policy file can be read by then, the request is released and decided afresh. After
``POLITENESS_HOLD_RECHECKS`` rechecks (or when the next wait would exceed
``POLITENESS_MAX_WAIT``) the request is given up, and a final decision row says so: verdict
``hold``, the gate's reasons (e.g. ``robots.unreachable:503``), signals
``hold-attempt = 3/3`` and ``hold = final``. Every attempt before it has the gate's own
``hold`` row. A request is never allowed by default and never silently lost.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from crawler.config import get_policy_config
from crawler.exceptions import PolicyRefusal
from crawler.middlewares.final import FinalHold, hold_finally
from crawler.middlewares.guard import INTERNAL
from crawler.middlewares.parking import ParkingLot
from crawler.policy.decision import FETCH, HOLD
from crawler.policy.origin import origin_of
from crawler.policy.politeness import PolitenessConfig, format_seconds, hold_wait, parse_retry_after
from crawler.signals import policy_loaded

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self

    from crawler.policy.origin import OriginPolicy

logger = logging.getLogger(__name__)

#: Meta key: how many times the gate has held this request so far.
ATTEMPT = "heed_hold_attempt"


class HoldRecheckMiddleware:
    """Downloader middleware; see the module docstring."""

    def __init__(self, crawler: Crawler, config: PolitenessConfig, cache_size: int) -> None:
        self.crawler = crawler
        self.config = config
        self.parking = ParkingLot.of(crawler)
        #: origin -> (Unix time the failed policy expires, Unix time its Retry-After ends or None)
        self._failed: OrderedDict[str, tuple[float, float | None]] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler, PolitenessConfig.from_settings(crawler.settings), get_policy_config(crawler).cache_size)
        crawler.signals.connect(mw.policy_loaded, signal=policy_loaded)
        return mw

    def policy_loaded(self, origin: str, policy: OriginPolicy) -> None:
        """Remember when a failed policy expires and what Retry-After came with it."""
        if not policy.failed:
            self._failed.pop(origin, None)
            return
        retry_until = None
        for pf in (policy.robots_file, policy.tdmrep_file):
            if pf.state != "unreachable":
                continue
            received = pf.result.fetched_at or policy.fetched_at
            for value in pf.result.headers.get("retry-after", ()):
                seconds = parse_retry_after(value, now=received)
                if seconds is not None:
                    retry_until = max(retry_until or 0.0, received + seconds)
        self._failed[origin] = (policy.expires_at, retry_until)
        self._failed.move_to_end(origin)
        while len(self._failed) > self._cache_size:
            self._failed.popitem(last=False)

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if not isinstance(exception, PolicyRefusal) or isinstance(exception, FinalHold):
            return
        decision = exception.decision
        if decision.verdict != HOLD or decision.stage != FETCH or request.meta.get(INTERNAL):
            return
        attempt = int(request.meta.get(ATTEMPT, 0)) + 1
        total = self.config.hold_rechecks + 1
        signals = (*decision.signals, ("hold-attempt", f"{attempt}/{total}"))
        wait = self._wait(origin_of(request.url), attempt)
        if attempt >= total or wait > self.config.max_wait:
            if attempt < total:
                signals += (("hold-wait", f"{format_seconds(wait)}s exceeds POLITENESS_MAX_WAIT"),)
            self.crawler.stats.inc_value("politeness/holds/given_up")
            raise hold_finally(
                self.crawler, request, decision.reasons,
                evidence=decision.evidence, rules=decision.rules, signals=signals,
            )
        retry = request.replace(dont_filter=True)
        retry.meta[ATTEMPT] = attempt
        self.crawler.stats.inc_value("politeness/holds/rechecks")
        logger.info(
            "Held %(url)s (%(reasons)s), attempt %(attempt)d/%(total)d; asking again in %(wait)ss",
            {"url": request.url, "reasons": ", ".join(decision.reasons), "attempt": attempt,
             "total": total, "wait": format_seconds(wait)},
        )
        raise self.parking.park(
            retry, due=time.time() + wait, reasons=decision.reasons,
            signals=(("hold-attempt", f"{attempt}/{total}"),),
        )

    def _wait(self, origin: str, attempt: int) -> float:
        expires_at, retry_until = self._failed.get(origin, (0.0, None))
        now = time.time()
        return hold_wait(
            attempt,
            base=self.config.hold_backoff,
            # a hair past expiry, so the gate surely asks the site again
            policy_expires_in=expires_at - now + 0.01 if expires_at else 0.0,
            retry_after=None if retry_until is None else retry_until - now,
        )


__all__ = ["ATTEMPT", "HoldRecheckMiddleware"]

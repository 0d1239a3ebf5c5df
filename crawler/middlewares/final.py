"""Final holds: the decision row that ends the story of a request heed will not send.

Politeness sometimes decides that a request must not go out at all in this run: the host
asks for a Crawl-delay beyond what heed honours, it keeps failing, its ``Retry-After`` is
too long, or the origin's robots.txt stayed unreachable through every recheck. Such a
request is neither allowed nor denied: it is *held*, and the provenance log must say so,
with the reason, so that an auditor never finds a URL that simply vanished.

:func:`hold_finally` sends that decision on :data:`crawler.signals.policy_decided` (the
same signal and the same stats the gate uses) and returns the exception that drops the
request. :class:`FinalHold` is a :class:`~crawler.exceptions.PolicyRefusal`, so Scrapy
drops it quietly, and the hold recheck (:mod:`crawler.middlewares.holds`) knows not to
retry it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crawler.exceptions import PolicyRefusal
from crawler.policy.decision import FETCH, HOLD, Decision, Evidence
from crawler.signals import policy_decided

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class FinalHold(PolicyRefusal):
    """A request held for the rest of the run; its decision is already logged."""


def send_decision(crawler: Crawler, decision: Decision, request: Request | None = None) -> None:
    """Send a decision the way the gate does (stats included)."""
    stats = crawler.stats
    stats.inc_value(f"policy/decisions/{decision.stage}/{decision.verdict}")
    for family in decision.families:
        stats.inc_value(f"policy/reasons/{family}")
    crawler.signals.send_catch_log(signal=policy_decided, decision=decision, request=request)


def hold_finally(
    crawler: Crawler,
    request: Request,
    reasons: Sequence[str],
    *,
    signals: Sequence[tuple[str, str]] = (),
    evidence: Sequence[Evidence] = (),
    rules: Sequence[str] = (),
) -> FinalHold:
    """Log a final fetch-stage ``hold`` for ``request`` and return the exception to raise."""
    url = request.url
    decision = Decision(
        verdict=HOLD,
        stage=FETCH,
        url=url,
        reasons=tuple(reasons),
        evidence=tuple(evidence),
        rules=tuple(rules),
        signals=(*signals, ("hold", "final")),
    )
    send_decision(crawler, decision, request)
    crawler.stats.inc_value("politeness/holds/final")
    logger.info(
        "Held for the rest of the run: %(url)s (%(reasons)s)",
        {"url": url, "reasons": ", ".join(decision.reasons)},
    )
    return FinalHold(decision)


__all__ = ["FinalHold", "hold_finally", "send_decision"]

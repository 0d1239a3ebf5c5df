"""Exceptions heed raises inside Scrapy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from crawler.policy.decision import Decision


class PolicyRefusal(IgnoreRequest):
    """A request (or its response) that the policy refused or held.

    It is an ``IgnoreRequest``, so Scrapy drops the request quietly; the decision itself
    has already been sent on the ``policy_decided`` signal and is in the log.
    """

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"{decision.verdict} ({', '.join(decision.reasons) or 'no reason'}): {decision.url}")
        self.decision = decision

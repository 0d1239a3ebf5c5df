"""One PolicyConfig per crawler, shared by every component that needs it.

The gate, the network guard, the resolver and the provenance log all need the same frozen
policy configuration. Loading it once per crawler keeps registries and the token list from
being parsed several times and guarantees that the policy hash written to the log is the
hash of the policy the gate enforced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from crawler.policy.config import PolicyConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

T = TypeVar("T")


def per_crawler(crawler: Any, attr: str, build: Callable[[Any], T]) -> T:
    """``build(crawler.settings)``, once per crawler: every component that asks for a frozen
    configuration gets the same object (and a bad setting fails once, at the first ask)."""
    config = getattr(crawler, attr, None)
    if config is None:
        config = build(crawler.settings)
        setattr(crawler, attr, config)
    return config


def get_policy_config(crawler: Crawler) -> PolicyConfig:
    """The crawler's policy configuration, parsed from its settings on first use."""
    return per_crawler(crawler, "_heed_policy_config", PolicyConfig.from_settings)


__all__ = ["get_policy_config", "per_crawler"]

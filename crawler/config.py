"""One PolicyConfig per crawler, shared by every component that needs it.

The gate, the network guard, the resolver and the provenance log all need the same frozen
policy configuration. Loading it once per crawler keeps registries and the token list from
being parsed several times and guarantees that the policy hash written to the log is the
hash of the policy the gate enforced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.policy.config import PolicyConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_ATTR = "_heed_policy_config"


def get_policy_config(crawler: Crawler) -> PolicyConfig:
    """The crawler's policy configuration, parsed from its settings on first use."""
    config = getattr(crawler, _ATTR, None)
    if config is None:
        config = PolicyConfig.from_settings(crawler.settings)
        setattr(crawler, _ATTR, config)
    return config


__all__ = ["get_policy_config"]

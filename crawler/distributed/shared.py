"""The distributed pieces the always-on components use, or None when running alone.

The gate is the same class in both modes; it asks here whether policy files are shared,
so one-process crawls never import Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.distributed.config import get_distributed_config

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.distributed.policyfiles import SharedPolicyFiles

def _lock_seconds(crawler: Crawler) -> float:
    """Longest a policy-file fetch may keep others waiting before they fetch it themselves:
    a download and its redirects (RFC 9309: five) plus the longest Crawl-delay honoured."""
    settings = crawler.settings
    return settings.getfloat("DOWNLOAD_TIMEOUT", 180) * 6 + settings.getfloat("POLITENESS_MAX_CRAWL_DELAY", 60)


def shared_policy_files(crawler: Crawler) -> SharedPolicyFiles | None:
    config = get_distributed_config(crawler)
    if not config.enabled:
        return None
    from crawler.config import get_policy_config
    from crawler.distributed.config import connect
    from crawler.distributed.policyfiles import SharedPolicyFiles

    policy = get_policy_config(crawler)
    return SharedPolicyFiles(
        config, connect(config), ttl=policy.cache_ttl, failure_ttl=policy.failure_ttl,
        lock_seconds=_lock_seconds(crawler),
    )


__all__ = ["shared_policy_files"]

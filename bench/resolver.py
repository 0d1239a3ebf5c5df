"""The plain-Scrapy baseline's name resolver: the benchmark host names map to loopback.

heed reaches the benchmark web through ``POLICY_RESOLVE`` and its guarded resolver; plain
Scrapy needs the same names mapped, at a comparable cost, without any of heed's checks. This
is Scrapy's own caching resolver plus one dict lookup (setting ``BENCH_RESOLVE``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from typing_extensions import Self


class MappedResolver(CachingThreadedResolver):
    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, names: Mapping[str, str]) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.names = {k.lower().rstrip("."): str(v) for k, v in names.items()}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), settings.getdict("BENCH_RESOLVE"))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        mapped = self.names.get(name.lower().rstrip("."))
        if mapped is not None:
            return defer.succeed(mapped)
        return super().getHostByName(name, timeout)


__all__ = ["MappedResolver"]

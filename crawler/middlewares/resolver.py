"""A DNS resolver that connects heed only to addresses it has checked.

Scrapy resolves host names through the resolver installed on the reactor, and the address it
returns is the address connected to. Checking the address *here* (not in a separate lookup
before the request) means a name cannot pass the check with one answer and connect with
another (DNS rebinding). Names listed in ``POLICY_RESOLVE`` resolve to their mapped address
without a lookup and are the only names allowed to reach private or loopback addresses; this
is how the demo and the tests reach their loopback web.

Names listed in ``GUARD_HOSTS`` (host name -> address, like an ``/etc/hosts`` file) also
resolve without a lookup, but their answer is checked like any DNS answer: mapping a name to
a private address does *not* let heed connect there. It pins names for a crawl, and lets the
tests make a name resolve to 127.0.0.2 without a DNS server.

Enabled by ``TWISTED_DNS_RESOLVER = "crawler.middlewares.resolver.GuardedResolver"``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.policy.addresses import parse_ip, refusal
from crawler.policy.config import parse_resolve_map

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Host names whose resolved address was refused, with the reason. Twisted turns any
#: resolver failure into a generic DNSLookupError, so the network guard looks the reason up
#: here to log the refusal as ``security`` rather than as a DNS failure.
_REFUSED: OrderedDict[str, str] = OrderedDict()
_REFUSED_MAX = 10_000


def refused_host(host: str) -> str | None:
    """The reason a name's address was refused, if it was."""
    return _REFUSED.get(host.lower().rstrip("."))


def _remember(host: str, reason: str) -> None:
    _REFUSED[host] = reason
    _REFUSED.move_to_end(host)
    while len(_REFUSED) > _REFUSED_MAX:
        _REFUSED.popitem(last=False)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver plus the resolve map and the address check."""

    def __init__(
        self,
        reactor: ReactorBase,
        cache_size: int,
        timeout: float,
        resolve: Mapping[str, str],
        hosts: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.resolve = dict(resolve)
        self.hosts = dict(hosts or {})

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        resolve = parse_resolve_map("POLICY_RESOLVE", settings.getdict("POLICY_RESOLVE"))
        hosts = parse_resolve_map("GUARD_HOSTS", settings.getdict("GUARD_HOSTS"))
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), resolve, hosts)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        key = name.lower().rstrip(".")
        mapped = self.resolve.get(key)
        if mapped is not None:
            return defer.succeed(mapped)
        if parse_ip(key) is not None:
            return defer.maybeDeferred(self._check, key, key)
        pinned = self.hosts.get(key)
        if pinned is not None:
            return defer.maybeDeferred(self._check, pinned, key)
        d = super().getHostByName(name, timeout)
        d.addCallback(self._check, key)
        return d

    def _check(self, address: Any, key: str) -> str:
        reason = refusal(str(address))
        if reason is not None:
            _remember(key, reason)
            logger.warning("Refusing %(host)s: it resolves to a %(reason)s address", {"host": key, "reason": reason})
            raise DNSLookupError(f"{key} resolves to a {reason} address; refused by heed's network guard")
        return str(address)


__all__ = ["GuardedResolver", "refused_host"]

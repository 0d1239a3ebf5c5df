"""The network guard: heed never connects to where it must not.

Runs first among the downloader middlewares (before Scrapy's offsite filter), for content
requests and for the gate's own policy-file requests alike, and also when a request is
*scheduled* (``request_scheduled``), so a redirect target is judged even when the offsite
filter would drop it quietly:

* only ``http`` and ``https`` URLs;
* no IP literal in a loopback, private, link-local, multicast, reserved or unspecified
  range (IPv4-mapped IPv6 forms included), unless the host is listed in ``POLICY_RESOLVE``;
* a host *name* is resolved before the request goes on (once per name, through the guarded
  resolver, :mod:`crawler.middlewares.resolver`), so a name that points at such an address
  is refused before the gate fetches its policy files; the resolver checks the answer it
  hands to the connection again, so the address checked is the address connected to;
* every download has a size limit and a timeout: a request whose ``download_maxsize`` or
  ``download_timeout`` meta is missing keeps the settings, one that sets 0 (Scrapy's "no
  limit") or garbage gets ``DOWNLOAD_MAXSIZE`` / ``DOWNLOAD_TIMEOUT`` back, and the crawl
  refuses to start when either setting is 0. Scrapy's ``HttpCompressionMiddleware`` stops a
  body that decompresses past the request's size limit.

A refused content request gets a fetch-stage ``deny`` decision with reason
``security:<why>``; a refused policy-file request is counted in ``policy/security/<why>``
and the gate holds the origin (``robots.unreachable:security``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CannotResolveHostError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

from crawler.config import get_policy_config
from crawler.exceptions import PolicyRefusal
from crawler.middlewares.resolver import refused_host
from crawler.policy.addresses import parse_ip, refusal
from crawler.policy.decision import DENY, FETCH, Decision
from crawler.signals import policy_decided

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Meta key set on the gate's own policy-file requests.
INTERNAL = "heed_policy_file"

_SCHEMES = frozenset({"http", "https"})
#: Host names whose address passed the check recently (the pre-check is skipped for them;
#: the resolver still checks every answer it hands to a connection).
_CHECKED_MAX = 10_000


#: The only HTTP download handler that resolves names through the reactor's resolver,
#: where heed checks addresses. Others (httpx, aiohttp) resolve on their own.
_CHECKED_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
#: Handlers that only wrap another one (distributed mode's shared pace), with the setting
#: naming the handler they wrap: that one is what must be checked.
_WRAPPERS = {"crawler.distributed.pacing.SharedPaceHandler": "DISTRIBUTED_INNER_HTTP_HANDLER"}


class NetworkGuardMiddleware:
    def __init__(self, crawler: Crawler, *, max_size: int, timeout: float) -> None:
        self.crawler = crawler
        self.resolve = get_policy_config(crawler).resolve
        self.max_size = max_size
        self.timeout = timeout
        self._checked: OrderedDict[str, None] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
        for scheme in ("http", "https"):
            handler = handlers.get(scheme)
            if handler in _WRAPPERS:
                handler = settings.get(_WRAPPERS[handler]) or _CHECKED_HANDLER
            if handler is not None and handler != _CHECKED_HANDLER:
                raise ValueError(
                    f"DOWNLOAD_HANDLERS[{scheme!r}] is {handler!r}: heed's network guard checks "
                    f"addresses only with {_CHECKED_HANDLER}, so it refuses to run with another"
                )
        resolver = settings.get("TWISTED_DNS_RESOLVER")
        if resolver != "crawler.middlewares.resolver.GuardedResolver":
            raise ValueError(
                f"TWISTED_DNS_RESOLVER is {resolver!r}: heed's network guard needs "
                "crawler.middlewares.resolver.GuardedResolver to check resolved addresses"
            )
        limits = {}
        for name in ("DOWNLOAD_MAXSIZE", "DOWNLOAD_TIMEOUT"):
            try:
                value = settings.getfloat(name)
            except (TypeError, ValueError):
                value = 0.0
            if not value > 0:
                raise ValueError(
                    f"{name} is {settings.get(name)!r}: heed bounds every download; "
                    "give a positive limit (Scrapy reads 0 as no limit)"
                )
            limits[name] = value
        guard = cls(crawler, max_size=int(limits["DOWNLOAD_MAXSIZE"]), timeout=limits["DOWNLOAD_TIMEOUT"])
        crawler.signals.connect(guard.request_scheduled, signal=signals.request_scheduled)
        return guard

    def refusal_for(self, request: Request) -> str | None:
        """Why the request must not be sent, or None."""
        parts = urlparse_cached(request)
        if parts.scheme not in _SCHEMES:
            return f"scheme-{parts.scheme or 'none'}"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return "no-host"
        if host in self.resolve:
            return None
        if parse_ip(host) is not None:
            return refusal(host)
        return refused_host(host)

    def request_scheduled(self, request: Request) -> None:
        """Judge every request entering the scheduler: seeds, links, redirect targets, retries.

        Raising drops the request before Scrapy's offsite filter (which would drop a
        redirect to a private address without a word) and before any connection.
        """
        if request.meta.pop(INTERNAL, None) is not None:
            # the gate's own policy-file requests are downloaded directly, never scheduled:
            # a scheduled request carrying its mark must not skip the gate
            self.crawler.stats.inc_value("guard/internal_mark_removed")
        reason = self.refusal_for(request)
        if reason is not None:
            self._refuse(request, reason)

    async def process_request(self, request: Request) -> None:
        reason = self.refusal_for(request)
        if reason is not None:
            self._refuse(request, reason)
        self._bound(request)
        host = (urlparse_cached(request).hostname or "").rstrip(".")
        if host in self.resolve or host in self._checked or parse_ip(host) is not None:
            return
        await self._resolve(request, host)

    async def _resolve(self, request: Request, host: str) -> None:
        """Resolve ``host`` through the guarded resolver; refuse it if its address is refused."""
        from twisted.internet import reactor

        try:
            await maybe_deferred_to_future(reactor.resolver.getHostByName(host))  # type: ignore[attr-defined]
        except (CannotResolveHostError, DNSLookupError):
            reason = refused_host(host)
            if reason is not None:
                self._refuse(request, reason)
            return  # an ordinary DNS failure: the download reports it as such
        self._checked[host] = None
        while len(self._checked) > _CHECKED_MAX:
            self._checked.popitem(last=False)

    def _bound(self, request: Request) -> None:
        """Every download keeps a size limit and a timeout (0 would mean none in Scrapy)."""
        meta = request.meta
        for key, limit in (("download_maxsize", self.max_size), ("download_timeout", self.timeout)):
            if key in meta:
                value = meta[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    meta[key] = limit

    def process_exception(
        self, request: Request, exception: BaseException
    ) -> None:
        if isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            host = (urlparse_cached(request).hostname or "").rstrip(".")
            reason = refused_host(host)
            if reason is not None:
                self._refuse(request, reason)

    def _refuse(self, request: Request, reason: str) -> None:
        decision = Decision(verdict=DENY, stage=FETCH, url=request.url, reasons=(f"security:{reason}",))
        self.crawler.stats.inc_value(f"policy/security/{reason}")
        if not request.meta.get(INTERNAL):
            self.crawler.stats.inc_value(f"policy/decisions/{FETCH}/{DENY}")
            self.crawler.signals.send_catch_log(signal=policy_decided, decision=decision)
        logger.info("Network guard refused %(url)s (%(reason)s)", {"url": request.url, "reason": reason})
        raise PolicyRefusal(decision)


__all__ = ["INTERNAL", "NetworkGuardMiddleware"]

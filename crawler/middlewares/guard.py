"""The network guard: heed never connects to where it must not.

Runs before the policy gate, for content requests and for the gate's own policy-file
requests alike (and so after every redirect, since a redirect is a new request):

* only ``http`` and ``https`` URLs;
* no IP literal in a loopback, private, link-local, multicast, reserved or unspecified
  range (IPv4-mapped IPv6 forms included), unless the host is listed in ``POLICY_RESOLVE``;
* names are checked where they are resolved (:mod:`crawler.middlewares.resolver`); a
  refusal there surfaces here as a DNS error, which this middleware logs as ``security``.

A refused content request gets a fetch-stage ``deny`` decision with reason
``security:<why>``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.utils.httpobj import urlparse_cached
from scrapy.exceptions import CannotResolveHostError
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


#: The only HTTP download handler that resolves names through the reactor's resolver,
#: where heed checks addresses. Others (httpx, aiohttp) resolve on their own.
_CHECKED_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


class NetworkGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.resolve = get_policy_config(crawler).resolve

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
        for scheme in ("http", "https"):
            handler = handlers.get(scheme)
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
        return cls(crawler)

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

    def process_request(self, request: Request) -> None:
        reason = self.refusal_for(request)
        if reason is not None:
            self._refuse(request, reason)

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

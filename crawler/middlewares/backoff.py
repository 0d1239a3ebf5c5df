"""Retries that wait: ``Retry-After`` and per-host exponential backoff.

Replaces Scrapy's ``RetryMiddleware``, which sends a failed request again at once, ignores
``Retry-After`` and keeps hammering a host that is down (it refuses to run beside it). It
reads Scrapy's own retry settings (``RETRY_ENABLED``, ``RETRY_TIMES``,
``RETRY_HTTP_CODES``, ``RETRY_EXCEPTIONS``, ``RETRY_PRIORITY_ADJUST``) and adds:

* **the host waits, not just the request.** A retryable status or a download error pauses
  the whole host: for ``Retry-After`` seconds when the answer carries one (seconds or an
  HTTP date), else ``POLITENESS_BACKOFF_BASE`` seconds doubling with each consecutive
  failure, at most ``POLITENESS_MAX_WAIT``. Requests already queued in the host's slot wait
  (:func:`crawler.middlewares.slots.hold_until`); new ones, and the retry itself, are parked
  outside the downloader until the host is due (:mod:`crawler.middlewares.parking`), so a
  waiting host occupies no download capacity. Any other answer ends the failure streak.
* **a host that keeps failing is held, not hammered.** After
  ``POLITENESS_HOST_MAX_FAILURES`` consecutive failures, or a ``Retry-After`` longer than
  ``POLITENESS_MAX_WAIT``, the host is held for the rest of the run: each of its requests
  gets a final fetch-stage ``hold`` (reason ``http.backoff:<status or error>`` or
  ``http.retry-after:<seconds>``) and is not sent.
* **no retry of reserved content.** This middleware sits after the policy gate on the way
  back (``process_response`` runs after the gate's), so a failed response that carries a
  reservation (``tdm-reservation``, ``X-Robots-Tag: noai``) is refused by the gate first and
  never reaches the retry. A retry is a new request: it passes the guard and the gate again.

The gate's own policy-file requests are never retried here (an unreachable robots.txt is a
``hold`` that :mod:`crawler.middlewares.holds` rechecks), but their ``Retry-After`` still
pauses the host.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object

from crawler.middlewares import slots
from crawler.middlewares.final import hold_finally
from crawler.middlewares.guard import INTERNAL
from crawler.middlewares.parking import Parked, ParkingLot
from crawler.middlewares.resolver import refused_host
from crawler.policy.politeness import (
    PolitenessConfig,
    backoff_seconds,
    format_seconds,
    parse_retry_after,
)

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

_SCRAPY_RETRY = "scrapy.downloadermiddlewares.retry.RetryMiddleware"
#: Hosts with a failure streak or a pause remembered at once (least recently failed dropped).
_MAX_HOSTS = 10_000


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Scrapy's retry settings, read once."""

    enabled: bool
    times: int
    http_codes: frozenset[int]
    exceptions: tuple[type[BaseException], ...]
    priority_adjust: int

    @classmethod
    def from_settings(cls, settings: Any) -> RetryConfig:
        try:
            exceptions = tuple(
                load_object(e) if isinstance(e, str) else e for e in settings.getlist("RETRY_EXCEPTIONS")
            )
            codes = frozenset(int(c) for c in settings.getlist("RETRY_HTTP_CODES"))
        except (ImportError, NameError, TypeError, ValueError) as exc:
            raise ValueError(f"RETRY_EXCEPTIONS / RETRY_HTTP_CODES: {exc}") from exc
        return cls(
            enabled=settings.getbool("RETRY_ENABLED"),
            times=max(0, settings.getint("RETRY_TIMES")),
            http_codes=codes,
            exceptions=exceptions,
            priority_adjust=settings.getint("RETRY_PRIORITY_ADJUST"),
        )


@dataclass(slots=True)
class _Host:
    failures: int = 0
    #: Unix time before which nothing is sent to the host
    until: float = 0.0
    #: reason code once the host is held for the rest of the run
    held: str | None = None
    cause: str = ""


class BackoffMiddleware:
    """Downloader middleware; see the module docstring."""

    def __init__(self, crawler: Crawler, config: PolitenessConfig, retry: RetryConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.retry = retry
        self.parking = ParkingLot.of(crawler)
        self._hosts: OrderedDict[str, _Host] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if settings.getwithbase("DOWNLOADER_MIDDLEWARES").get(_SCRAPY_RETRY) is not None and settings.getbool(
            "RETRY_ENABLED"
        ):
            raise ValueError(
                "DOWNLOADER_MIDDLEWARES: Scrapy's RetryMiddleware is enabled beside heed's "
                "BackoffMiddleware; set it to None (heed's retries honour Retry-After and back off per host)"
            )
        mw = cls(crawler, PolitenessConfig.from_settings(settings), RetryConfig.from_settings(settings))
        crawler.signals.connect(mw.response_downloaded, signal=signals.response_downloaded)
        return mw

    # -- before sending ----------------------------------------------------------------------

    def process_request(self, request: Request) -> None:
        if not self._hosts:
            return
        host = _host(request)
        state = self._hosts.get(host)
        if state is None:
            return
        if state.held is not None:
            if request.meta.get(INTERNAL):
                raise IgnoreRequest(f"{host} is held after repeated failures ({state.held})")
            raise hold_finally(
                self.crawler, request, (state.held,),
                signals=(("consecutive failures", str(state.failures)),),
            )
        now = time.time()
        if state.until > now and not request.meta.get(INTERNAL):
            # Policy-file requests cannot be parked (the gate awaits them); they wait in
            # the slot, which hold_until() has pushed back.
            raise self.parking.park(
                request.replace(dont_filter=True),
                due=state.until,
                reasons=(f"http.backoff:{state.cause}",),
            )

    # -- after the answer ----------------------------------------------------------------------

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Count the answer against its host *before* Scrapy sends the slot's next request.

        Scrapy takes the next queued request for a slot as soon as a response arrives, before
        any middleware sees it; this signal comes just before that, so a pause set here stops
        the very next request.
        """
        host = _host(request)
        if response.status not in self.retry.http_codes:
            self._succeeded(host)
            return
        wait = parse_retry_after(
            response.headers.get(b"Retry-After", b"").decode("latin-1") or None, now=time.time()
        )
        if request.meta.get(INTERNAL):
            if wait is not None and wait > self.config.max_wait:
                state = self._state(host)
                if state.held is None:
                    self._hold(host, state, f"http.retry-after:{format_seconds(wait)}")
            elif wait is not None:
                self._pause(host, wait, str(response.status), count=False)
            return
        self._failed(host, str(response.status), wait)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.retry.http_codes or request.meta.get(INTERNAL):
            return response
        parked = self._retry(request, _host(request), str(response.status))
        if parked is not None:
            self.crawler.stats.inc_value(f"retry/reason_count/{response.status}")
            raise parked
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if (
            request.meta.get(INTERNAL)
            or isinstance(exception, IgnoreRequest)
            or not isinstance(exception, self.retry.exceptions)
        ):
            return
        host = _host(request)
        if refused_host(host):
            return  # the network guard refused the address: not a failure to retry
        cause = _error_name(exception)
        self._failed(host, cause, None)
        parked = self._retry(request, host, cause)
        if parked is not None:
            self.crawler.stats.inc_value(f"retry/reason_count/{type(exception).__name__}")
            raise parked

    # -- bookkeeping ------------------------------------------------------------------------------

    def _succeeded(self, host: str) -> None:
        state = self._hosts.get(host)
        if state is None or state.held is not None:
            return
        state.failures = 0
        if state.until <= time.time():
            del self._hosts[host]

    def _state(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
            while len(self._hosts) > _MAX_HOSTS:
                self._hosts.popitem(last=False)
        self._hosts.move_to_end(host)
        return state

    def _failed(self, host: str, cause: str, retry_after: float | None) -> None:
        state = self._state(host)
        if state.held is not None:
            return
        state.failures += 1
        state.cause = cause
        stats = self.crawler.stats
        stats.inc_value("politeness/backoff/failures")
        if retry_after is not None and retry_after > self.config.max_wait:
            self._hold(host, state, f"http.retry-after:{format_seconds(retry_after)}")
            return
        if state.failures >= self.config.host_max_failures:
            self._hold(host, state, f"http.backoff:{cause}")
            return
        if retry_after is not None:
            stats.inc_value("politeness/backoff/retry_after")
            wait = retry_after
        else:
            wait = backoff_seconds(state.failures, base=self.config.backoff_base, cap=self.config.max_wait)
        self._pause(host, wait, cause, count=True)

    def _pause(self, host: str, wait: float, cause: str, *, count: bool) -> None:
        state = self._state(host)
        if not count:
            state.cause = cause
        until = time.time() + wait
        if until > state.until:
            state.until = until
            slots.hold_until(self.crawler, host, wait)
        self.crawler.stats.inc_value("politeness/backoff/paused")
        logger.info(
            "Backing off %(host)s for %(wait)ss after %(cause)s (failure %(n)d in a row)",
            {"host": host, "wait": format_seconds(wait), "cause": cause, "n": state.failures},
        )

    def _hold(self, host: str, state: _Host, reason: str) -> None:
        state.held = reason
        self.crawler.stats.inc_value("politeness/backoff/held_hosts")
        logger.warning(
            "Holding %(host)s for the rest of the run after %(n)d failure(s) in a row (%(reason)s)",
            {"host": host, "n": state.failures, "reason": reason},
        )
        # Requests already waiting in the host's download slot would still go out: drop them.
        for request, waiting in slots.drain(self.crawler, host):
            if request.meta.get(INTERNAL):
                waiting.errback(IgnoreRequest(f"{host} is held after repeated failures ({reason})"))
            else:
                waiting.errback(hold_finally(
                    self.crawler, request, (reason,),
                    signals=(("consecutive failures", str(state.failures)),),
                ))

    def _retry(self, request: Request, host: str, cause: str) -> Parked | None:
        """Park a retry of ``request`` until the host is due; None when none is left."""
        state = self._hosts.get(host)
        if state is None or state.held is not None or not self.retry.enabled or request.meta.get("dont_retry"):
            return None
        tries = request.meta.get("retry_times", 0) + 1
        max_tries = request.meta.get("max_retry_times", self.retry.times)
        stats = self.crawler.stats
        if tries > max_tries:
            stats.inc_value("retry/max_reached")
            logger.warning(
                "Gave up retrying %(url)s after %(n)d attempt(s): %(cause)s",
                {"url": request.url, "n": tries, "cause": cause},
            )
            return None
        retry = request.replace(dont_filter=True, priority=request.priority + self.retry.priority_adjust)
        retry.meta["retry_times"] = tries
        stats.inc_value("retry/count")
        logger.debug(
            "Retrying %(url)s (attempt %(n)d) after %(cause)s when %(host)s is due",
            {"url": request.url, "n": tries + 1, "cause": cause, "host": host},
        )
        return self.parking.park(retry, due=state.until, reasons=(f"http.backoff:{cause}",))


def _host(request: Request) -> str:
    return urlparse_cached(request).hostname or ""


def _error_name(exc: BaseException) -> str:
    name = type(exc).__name__
    return {
        "DownloadTimeoutError": "timeout",
        "TimeoutError": "timeout",
        "TCPTimedOutError": "timeout",
        "CannotResolveHostError": "dns",
        "DNSLookupError": "dns",
        "DownloadConnectionRefusedError": "connection-refused",
        "ConnectionRefusedError": "connection-refused",
    }.get(name, name)


__all__ = ["BackoffMiddleware", "RetryConfig"]

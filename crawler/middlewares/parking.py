"""Parking: requests that must wait are taken out of the downloader, then sent again.

A request waiting for a host to recover (``Retry-After``, backoff) or for an unreachable
robots.txt to be rechecked would otherwise sit in Scrapy's download slot for minutes, and
every such request counts against ``CONCURRENT_REQUESTS``: a few waiting hosts would stall
the whole crawl. So a waiting request is *parked* here instead: the downloader drops it
(:class:`Parked`, an ``IgnoreRequest`` Scrapy does not report as an error), a timer puts a
copy back into the engine when it is due, and it passes the network guard and the policy
gate again like any new request.

While anything is parked the spider stays open (``spider_idle`` raises
``DontCloseSpider``). If the crawl closes anyway (``CLOSESPIDER_*``, a shutdown), every
request still parked gets a final ``hold`` decision with the reason it was parked for, so
no request is lost without a trace.

One lot per crawler, shared by the backoff and the hold recheck: :meth:`ParkingLot.of`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.utils.asyncio import CallLaterResult, call_later

from crawler.middlewares.final import hold_finally

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_ATTR = "_heed_parking_lot"


class Parked(IgnoreRequest):
    """The request was taken out of the downloader to wait; a copy will be sent later."""


@dataclass(slots=True)
class _Ticket:
    request: Request
    due: float
    #: reason codes for the final hold if the crawl ends before the request is sent again
    reasons: tuple[str, ...]
    signals: tuple[tuple[str, str], ...]
    timer: CallLaterResult | None = None


class ParkingLot:
    """Requests waiting outside the downloader, each with the time it is due."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._tickets: dict[int, _Ticket] = {}
        self._numbers = count()
        self._closed = False

    @classmethod
    def of(cls, crawler: Crawler) -> ParkingLot:
        """The crawler's parking lot, created (and wired to its signals) on first use."""
        lot = getattr(crawler, _ATTR, None)
        if lot is None:
            lot = cls(crawler)
            crawler.signals.connect(lot.spider_idle, signal=signals.spider_idle)
            crawler.signals.connect(lot.spider_closed, signal=signals.spider_closed)
            setattr(crawler, _ATTR, lot)
        return lot

    def __len__(self) -> int:
        return len(self._tickets)

    def requests(self) -> list[Request]:
        """The requests parked now, in no particular order."""
        return [ticket.request for ticket in self._tickets.values()]

    def park(
        self,
        request: Request,
        *,
        due: float,
        reasons: tuple[str, ...],
        signals: tuple[tuple[str, str], ...] = (),
    ) -> Parked:
        """Keep ``request`` until ``due`` (a Unix time); return the exception to drop it with.

        ``request`` should be the copy to send again (``dont_filter`` set, so the
        duplicate filter lets it through).
        """
        number = next(self._numbers)
        ticket = _Ticket(request, due, reasons, signals)
        self._tickets[number] = ticket
        ticket.timer = call_later(max(0.0, due - time.time()), self._release, number)
        self.crawler.stats.inc_value("politeness/parked")
        self.crawler.stats.max_value("politeness/parked_max", len(self._tickets))
        return Parked(f"parked for {max(0.0, due - time.time()):.1f}s ({', '.join(reasons)}): {request.url}")

    def _release(self, number: int) -> None:
        ticket = self._tickets.pop(number, None)
        engine = self.crawler.engine
        if ticket is None or self._closed or engine is None:
            return
        self.crawler.stats.inc_value("politeness/released")
        logger.debug("Sending parked request again: %(url)s", {"url": ticket.request.url})
        engine.crawl(ticket.request)

    def spider_idle(self) -> None:
        if self._tickets:
            raise DontCloseSpider(f"{len(self._tickets)} parked request(s) are waiting")

    def spider_closed(self) -> None:
        """Log a final hold for every request still waiting; nothing is silently lost."""
        self._closed = True
        tickets, self._tickets = self._tickets, {}
        for ticket in tickets.values():
            if ticket.timer is not None:
                ticket.timer.cancel()
            hold_finally(
                self.crawler,
                ticket.request,
                ticket.reasons,
                signals=(*ticket.signals, ("parked", "the crawl closed before the request was due")),
            )


__all__ = ["Parked", "ParkingLot"]

"""Durability waits: how the gate learns that a decision row is on disk.

The journal's commit thread reports each successful sync; :class:`Waiters` turns those
reports into fired Deferreds on the reactor thread, in ticket order. The gate receives a
:class:`DurableWait` from the ``policy_decided`` signal for every fetch-stage ``allow`` and
awaits it before the request is downloaded; when the row cannot be made durable the wait
fails with :class:`LogNotDurable` (an ``IgnoreRequest``), so the request is never sent.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer


class LogNotDurable(IgnoreRequest):
    """The decision behind a request could not be made durable: the request is not sent."""


class DurableWait:
    """Awaitable handed to the gate: completes when the decision row is on disk."""

    __slots__ = ("_deferred",)

    def __init__(self, deferred: defer.Deferred[None]) -> None:
        self._deferred = deferred

    def __await__(self) -> Generator[Any, None, None]:
        return maybe_deferred_to_future(self._deferred).__await__()

    @classmethod
    def failed(cls, why: str) -> DurableWait:
        return cls(defer.fail(LogNotDurable(why)))


def reactor_running() -> bool:
    """True while a Twisted reactor runs (never imports one: that would install it)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    return bool(getattr(reactor, "running", False))


class Waiters:
    """Deferreds waiting for journal tickets, released on the reactor thread.

    ``durable()`` and ``failed()`` read the journal's state; they are callables so this class
    needs no journal at construction.
    """

    def __init__(self, durable: Callable[[], int], failed: Callable[[], bool]) -> None:
        self._durable = durable
        self._failed = failed
        self._queue: deque[tuple[int, defer.Deferred[None]]] = deque()
        self.count = 0

    def wait(self, ticket: int, urge: Callable[[], None]) -> DurableWait | None:
        """A wait for ``ticket`` (None when it is durable already). Call on the reactor."""
        waiter: defer.Deferred[None] = defer.Deferred()
        self._queue.append((ticket, waiter))  # queued before the check: no wake-up is missed
        if self._durable() >= ticket:
            self.release()
            return None
        urge()
        self.count += 1
        return DurableWait(waiter)

    def committed(self, _ticket: int) -> None:
        """Journal thread: a commit finished (or failed); release waiters on the reactor."""
        if self._queue and reactor_running():
            from twisted.internet import reactor

            reactor.callFromThread(self.release)  # type: ignore[attr-defined]

    def release(self, *, closing: bool = False) -> None:
        """Fire every waiter whose ticket is durable; fail all of them if the journal failed
        (or, when ``closing``, whatever is still not durable)."""
        durable, failed = self._durable(), self._failed()
        while self._queue and (failed or closing or self._queue[0][0] <= durable):
            ticket, waiter = self._queue.popleft()
            if ticket <= durable:
                waiter.callback(None)
            else:
                waiter.errback(LogNotDurable("the provenance journal failed; request not sent"))


__all__ = ["DurableWait", "LogNotDurable", "Waiters", "reactor_running"]

"""Requests that cannot travel as JSON stay with the worker that made them.

Follow-up requests that carry Python objects in ``meta`` (the audio step's state, for one)
cannot be sent to another worker. They wait here, in this process, ordered by priority
(first in, first out among equals), and are served before the shared queue so their
parents' leases are not held longer than needed.

Each such request is tied to the lease of the request whose response created it (meta key
``heed_lease``, set by :class:`crawler.distributed.scheduler.LeaseMiddleware`). The queue
counts its requests per lease, so the scheduler keeps that lease while any of them waits:
if the worker dies, the parent goes back to the shared queue, is fetched again elsewhere
and creates them anew.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from itertools import count
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy import Request


class LocalQueue:
    """A priority queue of requests with a count of waiting requests per lease."""

    def __init__(self, lease_meta: str) -> None:
        self._lease_meta = lease_meta
        self._heap: list[tuple[int, int, Request]] = []
        self._order = count()
        self._per_lease: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, request: Request) -> None:
        heapq.heappush(self._heap, (-request.priority, next(self._order), request))
        lease = request.meta.get(self._lease_meta)
        if lease:
            self._per_lease[lease] += 1

    def pop(self) -> Request | None:
        if not self._heap:
            return None
        _, _, request = heapq.heappop(self._heap)
        lease = request.meta.get(self._lease_meta)
        if lease:
            self._per_lease[lease] -= 1
            if self._per_lease[lease] <= 0:
                del self._per_lease[lease]
        return request

    def leases(self) -> Iterator[str]:
        """The leases some waiting request is tied to."""
        return iter(self._per_lease)

    def waiting_for(self, lease: str) -> int:
        return self._per_lease.get(lease, 0)


__all__ = ["LocalQueue"]

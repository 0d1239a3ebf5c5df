"""The one place heed reaches into Scrapy's download slots.

Scrapy paces requests per *download slot* (one per host name) but gives components no
public API for it: AutoThrottle itself reaches ``crawler.engine.downloader.slots``. heed
needs three things from slots, and keeps them here so that a Scrapy upgrade that moves
them breaks one small module with its own tests (``tests/test_politeness_slots.py``):

* :func:`pin_delay` — a host's robots.txt delay must hold for the live slot *and* for the
  slot Scrapy creates after collecting an idle one (``Downloader._slot_gc`` drops slots
  idle for 60 s, and a delay written only on the slot object would be lost). The delay goes
  into ``Downloader.per_slot_settings`` (the ``DOWNLOAD_SLOTS`` setting as the downloader
  holds it), which Scrapy reads whenever it creates a slot.
* :func:`raise_to_floor` — AutoThrottle averages a slot's delay toward the server's latency
  and would lower a Crawl-delay; heed raises it back after each adjustment.
* :func:`hold_until` — a host that sent ``Retry-After`` must not get the requests already
  queued in its slot either; pushing the slot's last-request time forward makes Scrapy wait.
  :func:`drain` takes them out when the host is held for good.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

#: Key in a DOWNLOAD_SLOTS entry that marks heed's pin and keeps what was there before it.
_ORIGINAL = "heed_original"
#: Attribute of the crawler holding distributed mode's shared pace (crawler.distributed.pacing),
#: so a hold reaches every worker of the run, not only this one's slot.
SHARED_PACE_ATTR = "_heed_shared_pace"
#: Smallest delay of a held slot: Scrapy ignores ``lastseen`` when a slot's delay is zero.
_MIN_DELAY = 0.001


def _downloader(crawler: Crawler) -> Any:
    engine = crawler.engine
    return None if engine is None else engine.downloader


def pin_delay(crawler: Crawler, key: str, delay: float) -> None:
    """Make ``delay`` the minimum delay of slot ``key``, now and whenever it is recreated.

    Jitter is switched off for the slot (Scrapy's ±50 % would go below the delay) and one
    request at a time is sent. An entry the user gave in ``DOWNLOAD_SLOTS`` is kept: its
    delay counts if it is larger, and :func:`unpin_delay` restores it.
    """
    downloader = _downloader(crawler)
    if downloader is None:
        return
    settings: dict[str, dict[str, Any]] = downloader.per_slot_settings
    current = settings.get(key)
    if current is not None and _ORIGINAL in current:
        original = current[_ORIGINAL]
    else:
        original = dict(current) if current is not None else None
    floor = max(delay, float((original or {}).get("delay", 0.0)))
    settings[key] = {"delay": floor, "jitter": 0.0, "concurrency": 1, _ORIGINAL: original}
    slot = downloader.slots.get(key)
    if slot is not None:
        slot.delay = max(slot.delay, floor)
        slot.jitter = 0.0
        slot.concurrency = min(slot.concurrency, 1)


def unpin_delay(crawler: Crawler, key: str) -> None:
    """Undo :func:`pin_delay` for slots Scrapy creates from now on."""
    downloader = _downloader(crawler)
    if downloader is None:
        return
    settings: dict[str, dict[str, Any]] = downloader.per_slot_settings
    current = settings.get(key)
    if current is None or _ORIGINAL not in current:
        return
    original = current[_ORIGINAL]
    if original is None:
        del settings[key]
    else:
        settings[key] = original


def pinned_delay(crawler: Crawler, key: str) -> float | None:
    """The delay heed pinned for slot ``key``, if any."""
    downloader = _downloader(crawler)
    entry = None if downloader is None else downloader.per_slot_settings.get(key)
    return None if entry is None or _ORIGINAL not in entry else float(entry["delay"])


def raise_to_floor(crawler: Crawler, key: str, floor: float) -> bool:
    """Raise the live slot's delay back to ``floor`` if something lowered it; True if raised."""
    downloader = _downloader(crawler)
    slot = None if downloader is None else downloader.slots.get(key)
    if slot is None or slot.delay >= floor:
        return False
    slot.delay = floor
    return True


def live_delay(crawler: Crawler, key: str) -> float | None:
    """The live slot's delay (None when Scrapy has no slot for ``key`` right now)."""
    downloader = _downloader(crawler)
    slot = None if downloader is None else downloader.slots.get(key)
    return None if slot is None else float(slot.delay)


def hold_until(crawler: Crawler, key: str, seconds: float) -> None:
    """Send nothing more from slot ``key`` for ``seconds`` (requests already queued wait).

    Scrapy sends a slot's next request ``delay`` seconds (give or take its jitter) after
    ``lastseen``, and only looks at ``lastseen`` when the delay is not zero; so the delay
    becomes at least a millisecond, and ``lastseen`` moves to ``now + seconds`` minus the
    shortest jittered delay. A slot being held is also never collected as idle. In distributed
    mode the hold goes to Redis too (:mod:`crawler.distributed.pacing`): every worker waits.
    """
    shared = getattr(crawler, SHARED_PACE_ATTR, None)
    if shared is not None:
        shared.hold(key, seconds)
    downloader = _downloader(crawler)
    slot = None if downloader is None else downloader.slots.get(key)
    if slot is None:
        return
    slot.delay = max(slot.delay, _MIN_DELAY)
    shortest = slot.delay * max(0.0, 1.0 - slot.jitter)
    slot.lastseen = max(slot.lastseen, time.monotonic() + seconds - shortest)


def drain(crawler: Crawler, key: str) -> list[tuple[Request, Deferred[Any]]]:
    """Take every request still waiting in slot ``key``'s queue out of it.

    Each comes with the Deferred the downloader awaits for it; the caller must fire it
    (with an errback, to drop the request). Requests already being transferred stay.
    """
    downloader = _downloader(crawler)
    slot = None if downloader is None else downloader.slots.get(key)
    if slot is None:
        return []
    waiting = list(slot.queue)
    slot.queue.clear()
    return waiting


def collect_idle(crawler: Crawler, age: float) -> list[str]:
    """Run Scrapy's own idle-slot collection with ``age``; return the keys it dropped."""
    downloader = _downloader(crawler)
    if downloader is None:
        return []
    before = set(downloader.slots)
    downloader._slot_gc(age)
    return sorted(before - set(downloader.slots))


__all__ = [
    "collect_idle",
    "drain",
    "hold_until",
    "live_delay",
    "pin_delay",
    "pinned_delay",
    "raise_to_floor",
    "unpin_delay",
]

"""The shared frontier: a Scrapy scheduler through which several worker processes share a run.

Built on scrapy-redis' scheduler, queue and dupefilter (subclassed, not copied), with what a
crawl that must not lose or mis-handle a request needs on top:

* **JSON, never pickle** (:mod:`crawler.distributed.codec`): a queue entry cannot run code
  when it is read, and an entry's request class must be a Scrapy or heed request class.
* **Scrapy's fingerprints** in the run-wide dupefilter
  (:mod:`crawler.distributed.dupefilter`), recorded in the same atomic step that queues
  the request, so a worker killed in between cannot leave a fingerprint without its request.
* **Leases** (:mod:`crawler.distributed.leases`): taking a request is atomic with leasing it
  to this worker; the lease is released only when the engine is completely done with the
  request (downloaded and its callback's output scheduled, or failed). Scrapy sends no signal
  for that moment, but keeps every request it has taken in ``engine._slot.inprogress`` until
  then, so a short loop releases the leases of requests that left that set. A Scrapy without
  that attribute is refused at open: the guarantee must not vanish silently in an upgrade.
* **Local requests**: a request whose meta cannot be JSON stays in this worker
  (:mod:`crawler.distributed.localqueue`), tied by :class:`LeaseMiddleware` to the lease of
  the response that created it; that lease is held until they are finished too, as is the
  lease of a request parked for a later retry (:mod:`crawler.middlewares.parking`).
* **Heartbeats and reclaim**: a worker whose alive key expired is dead, and any worker puts
  its leases back into the queue; a live worker's name cannot be taken.
* **The end**: ``has_pending_requests()`` is true while anything is left anywhere in the run
  (queued, leased by any worker, or local), so an idle worker stays open while others may
  still produce work and every worker closes when the run is done. Keys are never flushed
  on close; a finished run's keys get an expiry (``DISTRIBUTED_KEYS_TTL``).

Redis calls are synchronous, as in scrapy-redis: on loopback or a LAN they take well under a
millisecond. See ``docs/distributed.md`` ("The shared frontier").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.distributed import codec
from crawler.distributed.config import (
    DistributedConfigError,
    connect,
    get_distributed_config,
    seconds_setting,
)
from crawler.distributed.dupefilter import RedisDupeFilter
from crawler.distributed.leases import Frontier, LostRegistration, WorkerNameInUse
from crawler.distributed.localqueue import LocalQueue
from crawler.middlewares.parking import ParkingLot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Meta key: the lease a request is tied to (its own, or its parent's for local follow-ups).
LEASE: Final = "heed_lease"



class FrontierError(RuntimeError):
    """The shared frontier cannot run safely here; the message says why."""


@dataclass(frozen=True, slots=True)
class FrontierConfig:
    """The frontier's own settings (the run's keys and lease TTL are in ``DistributedConfig``)."""

    #: Expiry given to a finished run's keys (seconds).
    keys_ttl: float = 7 * 86400.0
    #: How often leases are reconciled and an idle worker looks at the queue again (seconds).
    poll_interval: float = 0.5
    #: Most requests this worker holds leased at once (0 = as many as the engine asks for).
    max_leases: int = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> FrontierConfig:
        raw = settings.get("DISTRIBUTED_MAX_LEASES", 0)
        try:
            max_leases = int(raw)
        except (TypeError, ValueError):
            raise DistributedConfigError(f"DISTRIBUTED_MAX_LEASES must be a whole number, got {raw!r}") from None
        if max_leases < 0:
            raise DistributedConfigError(f"DISTRIBUTED_MAX_LEASES must be 0 or more, got {raw!r}")
        return cls(
            keys_ttl=seconds_setting(settings, "DISTRIBUTED_KEYS_TTL", 7 * 86400.0),
            poll_interval=seconds_setting(settings, "DISTRIBUTED_POLL_INTERVAL", 0.5),
            max_leases=max_leases,
        )


class BadEntry(ValueError):
    """A queue entry that does not decode into a request heed accepts."""

    def __init__(self, lease: str, message: str) -> None:
        super().__init__(message)
        self.lease = lease


class LeasedQueue(PriorityQueue):
    """scrapy-redis' priority queue whose pop leases the request to this worker."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer=serializer or codec)
        self.frontier = Frontier(server, get_distributed_config(spider.crawler))

    def encode(self, request: Request) -> bytes:
        """The request as JSON, without the lease it is tied to in this worker; raises
        :class:`~crawler.distributed.codec.Unserializable` (objects in meta) or
        ``ValueError`` (a callback that is not a spider method)."""
        obj = request.to_dict(spider=self.spider)
        meta = obj.get("meta")
        if meta and LEASE in meta:
            obj["meta"] = {k: v for k, v in meta.items() if k != LEASE}
        return self.serializer.dumps(obj)

    _encode_request = encode

    def _decode_request(self, encoded_request: bytes) -> Request:
        return codec.request_from_stored(self.serializer.loads(encoded_request), spider=self.spider)

    def push(self, request: Request) -> None:
        """scrapy-redis' push: queued without the dupefilter."""
        self.frontier.push(self.encode(request), request.priority, None)

    def push_new(self, data: bytes, priority: int, fingerprint: str | None) -> bool:
        return self.frontier.push(data, priority, fingerprint)

    def pop(self, timeout: float = 0) -> Request | None:
        """The best request of the run, leased to this worker (lease id in ``meta``)."""
        popped = self.frontier.pop()
        if popped is None:
            return None
        try:
            request = self._decode_request(popped.data)
        except Exception as exc:
            raise BadEntry(popped.lease, f"{type(exc).__name__}: {exc}; entry {popped.data[:200]!r}") from exc
        request.meta[LEASE] = popped.lease
        return request


def _engine_slot(crawler: Crawler) -> Any:
    """The engine's slot, checked for what leases rely on."""
    slot = getattr(crawler.engine, "_slot", None)
    if not isinstance(getattr(slot, "inprogress", None), set) or not callable(
        getattr(getattr(slot, "nextcall", None), "schedule", None)
    ):
        import scrapy

        raise FrontierError(
            f"Scrapy {scrapy.__version__}: the engine no longer keeps its requests in "
            "engine._slot.inprogress (or lacks engine._slot.nextcall); the distributed "
            "frontier cannot tell when a request is done and would lose requests of a "
            "killed worker. Use a Scrapy version it supports (2.19)."
        )
    return slot


class LeaseMiddleware:
    """Spider middleware: follow-up requests inherit the lease of the page that made them.

    A child that stays local (unserializable meta) then holds its parent's lease until it is
    finished, so a dead worker's parent page is fetched again elsewhere and re-creates it. A
    child that carries a lease already (a copy of its parent's request) keeps it.
    """

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        request = getattr(response, "request", None)
        lease = request.meta.get(LEASE) if request is not None else None
        async for output in result:
            if lease and isinstance(output, Request) and LEASE not in output.meta:
                output.meta[LEASE] = lease
            yield output


class RedisScheduler(Scheduler):
    """The scheduler of a distributed run; see the module docstring."""

    queue: LeasedQueue
    df: RedisDupeFilter

    def __init__(self, server: Any, crawler: Crawler, config: FrontierConfig) -> None:
        dconfig = get_distributed_config(crawler)
        super().__init__(
            server,
            persist=True,
            flush_on_start=False,
            queue_key=dconfig.queue_key,
            queue_cls=f"{__name__}.{LeasedQueue.__name__}",
            dupefilter=RedisDupeFilter.from_crawler(crawler, server),
            dupefilter_key=dconfig.dupefilter_key,
            idle_before_close=0,
            serializer=codec,
        )
        self.crawler = crawler
        self.stats = crawler.stats
        self.dconfig = dconfig
        self.config = config
        self.local = LocalQueue(LEASE)
        self.frontier: Frontier | None = None
        #: fingerprints of local requests (they are never recorded run-wide, see enqueue)
        self._local_seen: set[str] = set()
        #: leases this worker holds in Redis and has not released yet
        self._leased: set[str] = set()
        self._slot: Any = None
        self._loop: Any = None
        self._next_beat = 0.0
        self._next_reclaim = 0.0
        self._redis_down_since: float | None = None
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        dconfig = get_distributed_config(crawler)
        if not dconfig.enabled:
            raise DistributedConfigError(
                "SCHEDULER is the distributed frontier but DISTRIBUTED_REDIS_URL is empty: "
                "set the Redis URL every worker of the run shares"
            )
        config = FrontierConfig.from_settings(crawler.settings)
        server = connect(dconfig)
        try:
            server.ping()
        except RedisError as exc:
            raise FrontierError(f"DISTRIBUTED_REDIS_URL: cannot reach Redis: {exc}") from None
        return cls(server, crawler, config)

    # -- open / close -----------------------------------------------------------------------------

    def open(self, spider: Spider) -> None:
        self._slot = _engine_slot(self.crawler)
        mws = getattr(getattr(self.crawler.engine.scraper, "spidermw", None), "middlewares", ())
        if not any(isinstance(mw, LeaseMiddleware) for mw in mws):
            raise FrontierError(
                f"SPIDER_MIDDLEWARES must enable {__name__}.LeaseMiddleware with the distributed "
                "frontier: without it a dead worker's local follow-up requests would be lost"
            )
        super().open(spider)
        self.frontier = self.queue.frontier
        self._reclaim()
        try:
            requeued = self.frontier.register()
        except WorkerNameInUse as exc:
            logger.error("%(error)s", {"error": exc})
            raise
        if requeued:
            self.stats.inc_value("distributed/reclaimed", requeued)
            logger.info("Put %(n)d request(s) of an earlier, dead %(worker)s back in the queue",
                        {"n": requeued, "worker": self.dconfig.worker})
        now = time.monotonic()
        self._next_beat = now + self.dconfig.lease_ttl / 3
        self._next_reclaim = now + self._reclaim_interval
        self.crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)
        self._loop = create_looping_call(self._tick)
        # often enough that a heartbeat is never late by more than a quarter of the TTL
        self._loop.start(min(self.config.poll_interval, self.dconfig.lease_ttl / 4), now=False)
        logger.info(
            "Worker %(worker)s joined run %(run)s on the shared frontier: %(queued)d request(s) queued",
            {"worker": self.dconfig.worker, "run": self.dconfig.run_id, "queued": self.frontier.queued()},
        )

    @property
    def _reclaim_interval(self) -> float:
        return max(self.config.poll_interval, min(5.0, self.dconfig.lease_ttl / 2))

    def close(self, reason: str) -> None:
        """Release what is done, put the rest back, leave the run; never flush its keys."""
        self._closing = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        frontier = self.frontier
        if frontier is None or not frontier.registered:
            self.server.close()
            return
        try:
            self._reconcile()
            requeued = frontier.leave()
            self._leased.clear()
            if requeued:
                self.stats.inc_value("distributed/requeued", requeued)
                logger.info("Put %(n)d unfinished request(s) back in the shared queue", {"n": requeued})
            if reason == "finished" and not frontier.pending():
                n = frontier.expire_run(self.config.keys_ttl)
                logger.info("Run %(run)s is finished: its keys expire in %(ttl)ds (%(n)d key(s))",
                            {"run": self.dconfig.run_id, "ttl": self.config.keys_ttl, "n": n})
        except RedisError as exc:
            logger.error("Could not leave run %(run)s cleanly (its leases go back when its "
                         "heartbeat expires): %(error)s", {"run": self.dconfig.run_id, "error": exc})
        finally:
            self.server.close()

    def flush(self) -> None:
        """Never: the run's keys outlive any one worker."""

    # -- the scheduler interface --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.local) + len(self.queue)

    def enqueue_request(self, request: Request) -> bool:
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        try:
            data = self.queue.encode(request)
        except (codec.Unserializable, ValueError) as exc:
            logger.debug("Keeping %(request)s in this worker: %(why)s", {"request": request, "why": exc})
            return self._enqueue_local(request, fingerprint)
        try:
            added = self.queue.push_new(data, request.priority, fingerprint)
        except RedisError as exc:
            logger.warning("Redis refused %(request)s (%(error)s); keeping it in this worker",
                           {"request": request, "error": exc})
            self.stats.inc_value("distributed/redis_errors")
            return self._enqueue_local(request, fingerprint)
        if not added:
            self.df.log(request, self.spider)
            self.stats.inc_value("distributed/duplicates")
            return False
        self.stats.inc_value("distributed/enqueued")
        return True

    def _enqueue_local(self, request: Request, fingerprint: str | None) -> bool:
        # A local request's fingerprint is checked against the run but recorded only here:
        # recorded run-wide, a re-created copy (its parent fetched again after this worker
        # died) would be filtered and lost.
        if fingerprint is not None:
            try:
                known = fingerprint in self._local_seen or self.df.known(fingerprint)
            except RedisError:
                known = fingerprint in self._local_seen
            if known:
                self.df.log(request, self.spider)
                self.stats.inc_value("distributed/duplicates")
                return False
            self._local_seen.add(fingerprint)
        self.local.push(request)
        self.stats.inc_value("distributed/local")
        return True

    def next_request(self) -> Request | None:
        request = self.local.pop()
        if request is not None:
            return request
        if self.frontier is None or self._closing:
            return None
        if self.config.max_leases and len(self._leased) >= self.config.max_leases:
            return None  # leave the rest to other workers; the loop asks again
        for _ in range(100):  # skip entries that do not decode, but not forever
            try:
                request = self.queue.pop()
            except BadEntry as exc:
                logger.error("Dropped a queue entry that is not a valid request: %(error)s", {"error": exc})
                self.stats.inc_value("distributed/dropped")
                self._leased.add(exc.lease)  # released on the next reconcile
                continue
            except LostRegistration:
                self._next_beat = 0.0  # register again on the next tick
                return None
            except RedisError as exc:
                self._redis_error(exc)
                return None
            if request is not None:
                self._leased.add(request.meta[LEASE])
                self.stats.inc_value("distributed/leased")
            return request
        return None

    def has_pending_requests(self) -> bool:
        if len(self.local):
            return True
        if self.frontier is None:
            return False
        try:
            return self.frontier.pending()
        except RedisError as exc:
            self._redis_error(exc)
            return True  # cannot tell: stay open (the Redis watchdog closes a lost worker)

    def _spider_idle(self) -> None:
        if self.has_pending_requests():
            raise DontCloseSpider("requests are queued or leased elsewhere in the run")

    # -- the loop -----------------------------------------------------------------------------

    def _held_leases(self) -> set[str]:
        """Leases some request in this worker still depends on."""
        waiting = [*(self._slot.inprogress if self._slot is not None else ()),
                   *ParkingLot.of(self.crawler).requests()]
        held = {lease for r in waiting if (lease := r.meta.get(LEASE))}
        held.update(self.local.leases())
        return held

    def _reconcile(self) -> None:
        if not self._leased:
            return
        done = sorted(self._leased - self._held_leases())
        if not done:
            return
        released = self.frontier.release(done) if self.frontier is not None else 0
        self._leased.difference_update(done)
        self.stats.inc_value("distributed/released", len(done))
        logger.debug("Released %(n)d lease(s) (%(present)d were still recorded)",
                     {"n": len(done), "present": released})

    def _reclaim(self) -> None:
        assert self.frontier is not None
        for worker, n in self.frontier.reclaim_dead().items():
            self.stats.inc_value("distributed/reclaimed", n)
            logger.warning("Worker %(worker)s stopped beating; %(n)d request(s) it held went back to the queue",
                           {"worker": worker, "n": n})

    def _heartbeat(self) -> None:
        assert self.frontier is not None
        beat = self.frontier.heartbeat()
        if beat == 2:
            self.stats.inc_value("distributed/lease_lost")
            logger.warning("Worker %(worker)s had been declared dead (no heartbeat for %(ttl)gs); its "
                           "requests went back to the queue and may be fetched twice",
                           {"worker": self.dconfig.worker, "ttl": self.dconfig.lease_ttl})
        elif beat < 0:
            logger.error("Another process now runs as worker %(worker)s of run %(run)s; stopping this one",
                         {"worker": self.dconfig.worker, "run": self.dconfig.run_id})
            self._stop("distributed-worker-replaced")

    def _tick(self) -> None:
        if self._closing or self.frontier is None:
            return
        now = time.monotonic()
        try:
            if now >= self._next_beat:
                self._next_beat = now + self.dconfig.lease_ttl / 3
                self._heartbeat()
                self._redis_down_since = None  # Redis answered
            if now >= self._next_reclaim:
                self._next_reclaim = now + self._reclaim_interval
                self._reclaim()
            self._reconcile()
        except RedisError as exc:
            self._redis_error(exc)
        except Exception:  # the loop must survive: leases held forever would keep the run open
            logger.exception("Error in the shared frontier's loop")
        if self._slot is not None and not self._closing:
            self._slot.nextcall.schedule()  # an idle worker looks at the queue again now

    def _redis_error(self, exc: Exception) -> None:
        self.stats.inc_value("distributed/redis_errors")
        now = time.monotonic()
        if self._redis_down_since is None:
            self._redis_down_since = now
            logger.error("Redis error on the shared frontier: %(error)s", {"error": exc})
        elif now - self._redis_down_since > self.dconfig.lease_ttl:
            logger.error("Redis unreachable for over %(ttl)gs; stopping this worker (its leases "
                         "go back to the queue through the other workers)", {"ttl": self.dconfig.lease_ttl})
            self._stop("distributed-redis-unreachable")

    def _stop(self, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))


__all__ = ["LEASE", "FrontierConfig", "FrontierError", "LeaseMiddleware", "LeasedQueue", "RedisScheduler"]

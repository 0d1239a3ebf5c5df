"""Per-host politeness that holds across every worker of a run.

One worker paces a host with its download slot: one request at a time, and the next one
``delay`` seconds after the previous one started (``DOWNLOAD_DELAY``, AutoThrottle, a
robots.txt Crawl-delay pinned by :mod:`crawler.middlewares.politeness`). Three workers with
three slots would send three times as much. So in distributed mode the slot's rule is kept in
Redis too, per host, and checked at the last moment before a request goes out — in a download
handler wrapped around Scrapy's HTTP handler, after the local slot has let the request go:

* ``busy``: the host has a request in flight somewhere (a key with this worker's token,
  expiring after ``DOWNLOAD_TIMEOUT`` plus a margin in case its holder dies);
* ``next``: the earliest time (Redis' clock, shared by all machines) the next request may
  start: the previous start plus the slot's delay, or later when a worker was told to back
  off (``Retry-After``, backoff: :func:`crawler.middlewares.slots.hold_until` forwards here).

One Lua script checks both and takes the host, atomically; a worker that may not go yet
sleeps for the time the script names and asks again. The delay a worker sends is its own
slot's current delay plus ``DISTRIBUTED_PACE_MARGIN`` (100 ms): the start is recorded when
the host is taken, but the request reaches the server a little later, by a different amount
on each worker (a new connection, a busy event loop); the margin keeps the server's view of
the gap at or above the delay, so the shared rule is never looser than the single-worker one.

A Redis error fails the download (the request is held, logged as ``http.error``): a request
whose pace could not be checked is not sent.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.distributed.config import connect, get_distributed_config, seconds_setting
from crawler.distributed.locks import HOLDER_CHECK, RELEASE
from crawler.middlewares import slots
from crawler.middlewares.slots import SHARED_PACE_ATTR

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from crawler.distributed.config import DistributedConfig

logger = logging.getLogger(__name__)

#: Setting naming the handler that really downloads (the add-on records Scrapy's own here).
INNER_HANDLER_SETTING = "DISTRIBUTED_INNER_HTTP_HANDLER"
_DEFAULT_INNER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"

#: KEYS: busy, next, heartbeat prefix (a name is appended), this worker's heartbeat, last.
#: ARGV: token, delay_ms, busy_ms, worker. A request may start once both the previous
#: starter's delay (``next``) and the asker's own delay since that start (``last``) have
#: passed: a delay raised meanwhile (robots.txt's Crawl-delay just read) counts at once.
#: The busy key is a lock of :mod:`crawler.distributed.locks`: a dead holder frees the host
#: at once rather than when the key expires.
#: Returns 0 when the host was taken (busy set, next = now + delay), else the milliseconds to
#: wait before asking again.
_ACQUIRE = HOLDER_CHECK + """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if live_holder(KEYS[1], KEYS[3], KEYS[4]) then
  local busy = redis.call('PTTL', KEYS[1])
  if busy > 0 then return math.min(busy, 50) end
  return 50
end
local ready = tonumber(redis.call('GET', KEYS[2]) or '0')
local last = redis.call('GET', KEYS[5])
if last then ready = math.max(ready, tonumber(last) + tonumber(ARGV[2])) end
if ready > now then return ready - now end
redis.call('SET', KEYS[1], ARGV[4] .. ' ' .. ARGV[1], 'PX', ARGV[3])
local keep = tonumber(ARGV[2]) + 86400000
redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', keep)
redis.call('SET', KEYS[5], now, 'PX', keep)
return 0
"""

#: KEYS: next. ARGV: hold_ms. Pushes the host's next start to now + hold, never earlier.
_HOLD = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local want = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if want > nxt then redis.call('SET', KEYS[1], want, 'PX', tonumber(ARGV[1]) + 86400000) end
return want
"""


class SharedPace:
    """The Redis side: take a host, free it, push its next start back."""

    def __init__(self, config: DistributedConfig, client: Any, busy_seconds: float) -> None:
        self.config = config
        self.client = client
        self.busy_ms = int(busy_seconds * 1000)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(RELEASE)
        self._hold = client.register_script(_HOLD)

    def _keys(self, host: str) -> tuple[str, str]:
        return self.config.key("busy", host), self.config.pace_key(host)

    def _last_key(self, host: str) -> str:
        return self.config.key("last", host)

    def try_acquire(self, host: str, token: str, delay: float) -> float:
        """0 when ``host`` is now ours, else seconds to wait before asking again."""
        busy, nxt = self._keys(host)
        alive_prefix = self.config.alive_prefix
        wait_ms = int(self._acquire(keys=[busy, nxt, alive_prefix, self.config.alive_key(), self._last_key(host)],
                                    args=[token, max(0, int(delay * 1000)), self.busy_ms, self.config.worker]))
        return wait_ms / 1000.0

    def release(self, host: str, token: str) -> None:
        busy, _ = self._keys(host)
        self._release(keys=[busy], args=[f"{self.config.worker} {token}"])

    def hold(self, host: str, seconds: float) -> None:
        """No worker starts a request to ``host`` for ``seconds`` from now."""
        _, nxt = self._keys(host)
        self._hold(keys=[nxt], args=[max(0, int(seconds * 1000))])


class SharedPaceHandler:
    """Download handler for http/https in distributed mode; see the module docstring."""

    lazy = False

    def __init__(self, crawler: Crawler, inner: Any, pace: SharedPace) -> None:
        self.crawler = crawler
        self.inner = inner
        self.pace = pace
        self.floor = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.margin = seconds_setting(crawler.settings, "DISTRIBUTED_PACE_MARGIN", 0.1, zero_ok=True)
        setattr(crawler, SHARED_PACE_ATTR, pace)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = get_distributed_config(crawler)
        inner_cls = load_object(crawler.settings.get(INNER_HANDLER_SETTING) or _DEFAULT_INNER)
        inner = build_from_crawler(inner_cls, crawler)
        # a holder that died frees the host after its longest possible download
        busy = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 10
        return cls(crawler, inner, SharedPace(config, connect(config), busy))

    def _delay(self, request: Request) -> float:
        engine = self.crawler.engine
        key = engine.downloader.get_slot_key(request) if engine is not None else ""
        live = slots.live_delay(self.crawler, key)
        pinned = slots.pinned_delay(self.crawler, key)
        return max(self.floor, live or 0.0, pinned or 0.0) + self.margin

    async def download_request(self, request: Request) -> Response:
        host = _host_of(request)
        token = secrets.token_hex(8)
        delay = self._delay(request)
        stats = self.crawler.stats
        waited = 0.0
        while True:
            wait = self.pace.try_acquire(host, token, delay)
            if wait <= 0:
                break
            waited += wait
            await sleep(wait)
        if waited:
            stats.inc_value("distributed/pace/waits")
            stats.inc_value("distributed/pace/waited_ms", int(waited * 1000))
        try:
            return await self.inner.download_request(request)
        finally:
            try:
                self.pace.release(host, token)
            except Exception:  # the busy key expires by itself; never mask the download's outcome
                logger.warning("Could not free host %(host)s in Redis", {"host": host}, exc_info=True)

    async def close(self) -> None:
        closer = getattr(self.inner, "close", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
        try:
            self.pace.client.close()
        except Exception:  # closing a dead connection is not worth failing shutdown for
            logger.debug("Closing the Redis client failed", exc_info=True)


def _host_of(request: Request) -> str:
    from scrapy.utils.httpobj import urlparse_cached

    return (urlparse_cached(request).hostname or "").lower()


__all__ = ["SharedPace", "SharedPaceHandler"]

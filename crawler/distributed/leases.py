"""The run's shared frontier in Redis: queue, leases and worker liveness, one Lua script each.

A request taken from the shared queue is not gone: it is *leased* to the worker that took
it, in the same atomic step (:data:`POP`), so a worker killed at any instant leaves every
request it took either in the queue or in its lease hash, never in neither. The lease is
released only when the worker is completely done with the request. A worker proves it is
alive by refreshing a key with a time-to-live; once that key has expired, any worker moves
the dead worker's leases back into the queue (:data:`RECLAIM`) and the run goes on.

Layout under the run's prefix (:class:`~crawler.distributed.config.DistributedConfig`):

* ``queue`` — sorted set; score ``-priority``, member ``<16 hex digits of a run-wide
  sequence>:<request JSON>``, so equal priorities come out first in, first out and two
  identical requests stay two entries;
* ``queue-seq`` — the sequence counter;
* ``dupefilter`` — set of request fingerprints (hex), added in the same step as the push
  (:data:`PUSH`), so a fingerprint is never recorded for a request that did not reach the
  queue;
* ``workers`` — hash: worker name -> JSON (``token`` of the running process, pid, host,
  start time);
* ``alive:<worker>`` — the token, with a time-to-live of ``lease_ttl``;
* ``leases:<worker>`` — hash: lease id -> ``<score> <member>``, exactly what goes back into
  the queue if the worker dies.

No Scrapy here: bytes in, bytes out. The scripts build lease-hash names from the run's
prefix for workers they find in the ``workers`` hash, so they need a single Redis server
(not Redis Cluster).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from crawler.distributed.config import DistributedConfig

logger = logging.getLogger(__name__)

#: Lua: put every lease of one hash back into the queue and delete the hash; returns the count.
_REQUEUE_FN: Final = """
local function requeue(leases, queue)
  local entries = redis.call('HGETALL', leases)
  local n = 0
  for i = 2, #entries, 2 do
    local v = entries[i]
    local sp = string.find(v, ' ', 1, true)
    redis.call('ZADD', queue, string.sub(v, 1, sp - 1), string.sub(v, sp + 1))
    n = n + 1
  end
  redis.call('DEL', leases)
  return n
end
"""

#: KEYS: queue, dupefilter, seq. ARGV: fingerprint ('' = not filtered), score, request JSON.
#: Returns 1 when queued, 0 when the fingerprint was already there.
PUSH: Final = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], ARGV[2], string.format('%016x', n) .. ':' .. ARGV[3])
return 1
"""

#: KEYS: queue, leases, workers. ARGV: worker, token, lease id.
#: Returns the member taken (now leased), false when the queue is empty, -1 when this
#: process is not the registered holder of the worker name (declared dead, or replaced).
POP: Final = """
local reg = redis.call('HGET', KEYS[3], ARGV[1])
if not reg or cjson.decode(reg)['token'] ~= ARGV[2] then return -1 end
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('HSET', KEYS[2], ARGV[3], top[2] .. ' ' .. top[1])
return top[1]
"""

#: KEYS: alive, workers, leases, queue. ARGV: worker, token, info JSON, ttl ms.
#: Returns -1 when a live worker holds the name; else the number of leases of a dead
#: earlier holder of the name that went back to the queue.
REGISTER: Final = _REQUEUE_FN + """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local n = requeue(KEYS[3], KEYS[4])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return n
"""

#: KEYS: alive, workers. ARGV: worker, token, info JSON, ttl ms.
#: Returns 1 (beat), 2 (this worker had been declared dead and is registered again) or -1
#: (another process holds the name now).
HEARTBEAT: Final = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[2] then return -1 end
local reg = redis.call('HGET', KEYS[2], ARGV[1])
if reg and cjson.decode(reg)['token'] ~= ARGV[2] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
if not reg then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  return 2
end
return 1
"""

#: KEYS: alive, leases, queue, workers. ARGV: worker.
#: Returns -1 while the worker is alive; else the number of its leases requeued (the worker
#: is removed from the run).
RECLAIM: Final = _REQUEUE_FN + """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local n = requeue(KEYS[2], KEYS[3])
redis.call('HDEL', KEYS[4], ARGV[1])
return n
"""

#: KEYS: alive, leases, queue, workers. ARGV: worker, token.
#: A graceful close: this process's leases back into the queue, its name free again.
#: Returns the number requeued, or -1 when the name is no longer this process's.
LEAVE: Final = _REQUEUE_FN + """
local reg = redis.call('HGET', KEYS[4], ARGV[1])
if not reg or cjson.decode(reg)['token'] ~= ARGV[2] then return -1 end
local n = requeue(KEYS[2], KEYS[3])
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
return n
"""

#: KEYS: queue, workers. ARGV: prefix of the lease hashes (``<prefix>:<run>:leases:``).
#: 1 while anything is left anywhere: a queued request, or a lease held by any registered
#: worker (alive, or dead and not reclaimed yet). Read atomically, so a request moving from
#: a lease to the queue is never missed in between.
PENDING: Final = """
if redis.call('ZCARD', KEYS[1]) > 0 then return 1 end
for _, name in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. name) > 0 then return 1 end
end
return 0
"""

#: KEYS: any. ARGV: seconds. Gives an expiry to the keys that have none; returns how many.
EXPIRE_UNSET: Final = """
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('TTL', key) == -1 then
    redis.call('EXPIRE', key, ARGV[1])
    n = n + 1
  end
end
return n
"""


class WorkerNameInUse(RuntimeError):
    """A live worker of the run already has this name."""


@dataclass(frozen=True, slots=True)
class Popped:
    """A request taken from the queue and leased to this worker."""

    lease: str
    data: bytes  # the request JSON


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class Frontier:
    """One worker's handle on the run's shared queue, dupefilter and leases."""

    def __init__(self, client: Any, config: DistributedConfig) -> None:
        self.client = client
        self.config = config
        #: Identifies this process as the holder of the worker name (a restarted worker
        #: with the same name gets a new token).
        self.token = uuid.uuid4().hex
        self.registered = False
        self.seq_key = config.key("queue-seq")
        self._lease_prefix = config.key("leases") + ":"
        self._ttl_ms = max(1, int(config.lease_ttl * 1000))
        self._push = client.register_script(PUSH)
        self._pop = client.register_script(POP)
        self._register = client.register_script(REGISTER)
        self._heartbeat = client.register_script(HEARTBEAT)
        self._reclaim = client.register_script(RECLAIM)
        self._leave = client.register_script(LEAVE)
        self._pending = client.register_script(PENDING)
        self._expire = client.register_script(EXPIRE_UNSET)

    # -- queue --------------------------------------------------------------------------------

    def push(self, data: bytes, priority: int, fingerprint: str | None) -> bool:
        """Queue ``data``; with a fingerprint, only if it is new to the run (atomically)."""
        c = self.config
        added = self._push(keys=[c.queue_key, c.dupefilter_key, self.seq_key],
                           args=[fingerprint or "", -int(priority), data])
        return bool(added)

    def pop(self) -> Popped | None:
        """The best queued request, leased to this worker under a fresh lease id."""
        c = self.config
        lease = f"{c.worker}:{uuid.uuid4().hex}"
        member = self._pop(keys=[c.queue_key, c.leases_key(), c.workers_key],
                           args=[c.worker, self.token, lease])
        if member is None:
            return None
        if member == -1:
            raise LostRegistration(f"worker {c.worker!r} is no longer registered in run {c.run_id!r}")
        _, _, data = bytes(member).partition(b":")
        return Popped(lease, data)

    def release(self, leases: list[str]) -> int:
        """Forget leases this worker is done with; returns how many were still there."""
        if not leases:
            return 0
        return int(self.client.hdel(self.config.leases_key(), *leases))

    def queued(self) -> int:
        return int(self.client.zcard(self.config.queue_key))

    def pending(self) -> bool:
        """Whether anything is left in the run: queued, or leased by any worker."""
        c = self.config
        return bool(self._pending(keys=[c.queue_key, c.workers_key], args=[self._lease_prefix]))

    def leases(self, worker: str | None = None) -> dict[str, bytes]:
        """Lease id -> ``<score> <member>`` of a worker (default: this one)."""
        raw = self.client.hgetall(self.config.leases_key(worker))
        return {k.decode(): v for k, v in raw.items()}

    # -- workers ------------------------------------------------------------------------------

    def _info(self) -> str:
        return json.dumps({"token": self.token, "pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.time()}, separators=(",", ":"))

    def register(self) -> int:
        """Join the run; returns how many leases of a dead earlier holder of the name went
        back to the queue. Raises :class:`WorkerNameInUse` if a live worker has the name."""
        c = self.config
        n = int(self._register(keys=[c.alive_key(), c.workers_key, c.leases_key(), c.queue_key],
                               args=[c.worker, self.token, self._info(), self._ttl_ms]))
        if n < 0:
            raise WorkerNameInUse(
                f"a live worker named {c.worker!r} is already crawling run {c.run_id!r}; "
                f"give this one another PROVENANCE_WORKER (or wait {c.lease_ttl:g}s if that "
                "worker is dead: DISTRIBUTED_LEASE_TTL)"
            )
        self.registered = True
        return n

    def heartbeat(self) -> int:
        """Refresh this worker's alive key: 1 ok, 2 re-registered after being declared
        dead, -1 another process holds the name now."""
        c = self.config
        return int(self._heartbeat(keys=[c.alive_key(), c.workers_key],
                                   args=[c.worker, self.token, self._info(), self._ttl_ms]))

    def workers(self) -> dict[str, dict[str, Any]]:
        raw = self.client.hgetall(self.config.workers_key)
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def reclaim_dead(self) -> dict[str, int]:
        """Requeue the leases of every worker whose alive key has expired; worker -> count."""
        c = self.config
        moved: dict[str, int] = {}
        for name in self.client.hkeys(c.workers_key):
            worker = name.decode()
            if worker == c.worker and self.registered:
                continue
            n = int(self._reclaim(keys=[c.alive_key(worker), c.leases_key(worker), c.queue_key, c.workers_key],
                                  args=[worker]))
            if n >= 0:
                moved[worker] = n
        return moved

    def leave(self) -> int:
        """Graceful close: requeue this worker's remaining leases and free its name."""
        if not self.registered:
            return 0
        c = self.config
        n = int(self._leave(keys=[c.alive_key(), c.leases_key(), c.queue_key, c.workers_key],
                            args=[c.worker, self.token]))
        self.registered = False
        return max(n, 0)

    # -- the end of a run -------------------------------------------------------------------------

    def expire_run(self, seconds: float) -> int:
        """Give every key of the run that has no expiry one of ``seconds``; keys with their
        own expiry (heartbeats, locks) keep it. Returns how many keys got one."""
        c = self.config
        pattern = _glob_escape(c.key("")) + "*"
        total = 0
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                total += int(self._expire(keys=batch, args=[max(1, int(seconds))]))
                batch = []
        if batch:
            total += int(self._expire(keys=batch, args=[max(1, int(seconds))]))
        return total


class LostRegistration(RuntimeError):
    """This process no longer holds its worker name in the run (declared dead or replaced)."""


__all__ = ["Frontier", "LostRegistration", "Popped", "WorkerNameInUse"]

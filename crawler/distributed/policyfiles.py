"""Policy files fetched once per TTL for all workers of a run.

Every worker needs an origin's robots.txt, tdmrep.json, ai.txt and RSL licences before its
first content request there. Without sharing, N workers would fetch each of them N times (the
scrapy-redis default) and could even decide on different versions. Here the first worker that
needs a file takes a short Redis lock for it, fetches it through its own engine and gate, and
stores the exact outcome — status, headers, body bytes, error, redirect count, fetch time — as
JSON under the run's keys, expiring when the gate's cache would: ``POLICY_CACHE_TTL`` for an
answer, ``POLICY_FAILURE_TTL`` when the file could not be read. Every other worker waits for
that entry and parses the same bytes, so all of them decide on one version of the policy.

Each worker still archives the bytes in its own evidence WARC (the gate sends them on
``policy_evidence`` as if fetched), so every worker's log stands on its own in an audit.

Failing closed: a Redis error while looking the file up is raised to the gate, which holds
the request (``policy-error``); when the holder dies mid-fetch (its heartbeat lapses, or
its lock expires) the next waiter fetches. An entry that does not decode is ignored and fetched again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from scrapy.utils.asyncio import sleep

from crawler.distributed import codec
from crawler.distributed.config import DistributedConfig
from crawler.distributed.locks import BREAK_DEAD, RELEASE
from crawler.policy.fetchresult import FetchResult, classify

logger = logging.getLogger(__name__)

#: How often a worker waiting for another's fetch looks again (seconds).
POLL_SECONDS = 0.05


def encode(result: FetchResult) -> bytes:
    """The fetch outcome as JSON (:mod:`crawler.distributed.codec`: the body byte for byte)."""
    return codec.dumps({f.name: getattr(result, f.name) for f in fields(FetchResult)})


def decode(data: bytes) -> FetchResult:
    """The outcome :func:`encode` stored; every field type-checked (a bad entry raises)."""
    raw = codec.loads(data)
    if not isinstance(raw.get("body"), bytes):
        raise TypeError("body is not bytes")
    return FetchResult(
        url=str(raw["url"]), status=None if raw["status"] is None else int(raw["status"]),
        body=raw["body"], kind=str(raw["kind"]),
        headers={str(k): [str(v) for v in vs] for k, vs in raw["headers"].items()},
        error=raw["error"], redirects=int(raw["redirects"]), fetched_at=float(raw["fetched_at"]),
    )


class SharedPolicyFiles:
    """Get a policy file's fetch outcome from Redis, or fetch it for everyone."""

    def __init__(
        self, config: DistributedConfig, client: Any, *, ttl: float, failure_ttl: float, lock_seconds: float
    ) -> None:
        self.config = config
        self.client = client
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.lock_ms = int(lock_seconds * 1000)
        self._release = client.register_script(RELEASE)
        self._break_dead = client.register_script(BREAK_DEAD)

    def lifetime(self, result: FetchResult) -> float:
        """Seconds the outcome stays shared: the gate's own cache lifetimes."""
        state, _ = classify(result)
        return self.failure_ttl if state == "unreachable" else self.ttl

    def _cached(self, key: str) -> FetchResult | None:
        data = self.client.get(key)
        if data is None:
            return None
        try:
            result = decode(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("Ignoring an undecodable shared policy file at %(key)s", {"key": key})
            return None
        if result.fetched_at + self.lifetime(result) <= time.time():
            return None
        return result

    async def get(
        self, url: str, fetch: Callable[[], Awaitable[FetchResult]]
    ) -> tuple[FetchResult, bool]:
        """The outcome for ``url`` and whether another worker fetched it (True) or we did."""
        key = self.config.policy_file_key(url)
        lock = self.config.policy_lock_key(url)
        while True:
            result = self._cached(key)
            if result is not None:
                return result, True
            token = f"{self.config.worker} {secrets.token_hex(8)}"
            if self.client.set(lock, token, nx=True, px=self.lock_ms):
                try:
                    result = await fetch()
                    ttl_ms = int(self.lifetime(result) * 1000)
                    if ttl_ms > 0:
                        self.client.set(key, encode(result), px=ttl_ms)
                finally:
                    try:
                        self._release(keys=[lock], args=[token])
                    except Exception:  # the lock expires by itself
                        logger.warning("Could not release the policy-file lock %(key)s", {"key": lock}, exc_info=True)
                return result, False
            if self._break_dead(keys=[lock, self.config.alive_prefix, self.config.alive_key()]):
                logger.info("The worker fetching %(url)s died; fetching it here", {"url": url})
                continue
            await sleep(POLL_SECONDS)


__all__ = ["SharedPolicyFiles", "decode", "encode"]

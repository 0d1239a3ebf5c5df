"""Distributed mode's settings, read once into a frozen value, and the Redis key names.

Distributed mode is on when ``DISTRIBUTED_REDIS_URL`` is set. Every worker of a run must
then be started with the same ``PROVENANCE_RUN_ID`` (the run id names the Redis keys, so
workers of different runs never share a queue) and a worker name unique in the run
(``PROVENANCE_WORKER``; a second live worker with the same name is refused).

All keys of a run live under ``<DISTRIBUTED_KEY_PREFIX>:<run_id>:``, so one Redis server can
carry many runs and a finished run's keys can be found and expired together.

The Redis password never goes into a setting: Scrapy logs the settings given on the command
line, and secrets stay out of logs. It is read from the environment variable that
``DISTRIBUTED_REDIS_PASSWORD_ENV`` names (default ``HEED_REDIS_PASSWORD``); a URL that
carries a password is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.config import per_crawler
from pipelines.rundir import check_name


class DistributedConfigError(ValueError):
    """A distributed-mode setting is missing or malformed; the message names the setting."""


def seconds_setting(settings: Any, name: str, default: float, *, zero_ok: bool = False) -> float:
    """A duration setting of distributed mode, checked; the error names the setting."""
    raw = settings.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise DistributedConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= 0 or value == float("inf") or (value == 0 and not zero_ok):
        raise DistributedConfigError(
            f"{name} must be a finite number of seconds, {'0 or more' if zero_ok else 'above 0'}, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class DistributedConfig:
    """Where the run's shared state lives and how long a silent worker is trusted."""

    redis_url: str
    run_id: str
    worker: str
    prefix: str = "heed"
    #: Seconds without a heartbeat after which a worker counts as dead and its leased
    #: requests go back to the queue.
    lease_ttl: float = 30.0
    #: Environment variable holding the Redis password (empty or unset: no password).
    password_env: str = "HEED_REDIS_PASSWORD"

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url)

    @classmethod
    def from_settings(cls, settings: Any) -> DistributedConfig:
        url = (settings.get("DISTRIBUTED_REDIS_URL") or "").strip()
        prefix = settings.get("DISTRIBUTED_KEY_PREFIX") or "heed"
        lease_ttl = seconds_setting(settings, "DISTRIBUTED_LEASE_TTL", 30.0)
        run_id = settings.get("PROVENANCE_RUN_ID") or ""
        worker = settings.get("PROVENANCE_WORKER") or f"w{os.getpid()}"
        password_env = str(settings.get("DISTRIBUTED_REDIS_PASSWORD_ENV") or "HEED_REDIS_PASSWORD")
        if not url:
            return cls(redis_url="", run_id=run_id, worker=worker, prefix=prefix, lease_ttl=lease_ttl,
                       password_env=password_env)
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise DistributedConfigError(
                f"DISTRIBUTED_REDIS_URL must be a redis://, rediss:// or unix:// URL, got {url!r}"
            )
        if parts.password is not None or "password=" in parts.query:
            raise DistributedConfigError(
                f"DISTRIBUTED_REDIS_URL must not carry a password (settings are logged): put it in "
                f"the environment variable {password_env} instead"
            )
        if not run_id:
            raise DistributedConfigError(
                "PROVENANCE_RUN_ID must be set in distributed mode (DISTRIBUTED_REDIS_URL is set): "
                "every worker of one run is started with the same run id"
            )
        try:
            check_name("PROVENANCE_RUN_ID", run_id)
            check_name("PROVENANCE_WORKER", worker)
            check_name("DISTRIBUTED_KEY_PREFIX", prefix)
        except ValueError as exc:
            raise DistributedConfigError(str(exc)) from None
        return cls(redis_url=url, run_id=run_id, worker=worker, prefix=prefix, lease_ttl=lease_ttl,
                   password_env=password_env)

    # -- key names ----------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        """``<prefix>:<run_id>:<part>:<part>…``: every key of the run."""
        return ":".join((self.prefix, self.run_id, *parts))

    @property
    def queue_key(self) -> str:
        return self.key("queue")

    @property
    def dupefilter_key(self) -> str:
        return self.key("dupefilter")

    @property
    def workers_key(self) -> str:
        """Hash: worker name -> JSON of when and where it started."""
        return self.key("workers")

    def alive_key(self, worker: str | None = None) -> str:
        """Heartbeat of a worker; expires ``lease_ttl`` seconds after its last beat."""
        return self.key("alive", worker or self.worker)

    @property
    def alive_prefix(self) -> str:
        """``alive_key`` without the worker name: Lua scripts append a holder's name to it."""
        return self.key("alive", "")

    def leases_key(self, worker: str | None = None) -> str:
        """Hash: lease id -> the serialised request a worker has taken and not finished."""
        return self.key("leases", worker or self.worker)

    def pace_key(self, host: str) -> str:
        """When the next request to ``host`` may start, across all workers."""
        return self.key("pace", host)

    def policy_file_key(self, url: str) -> str:
        """A policy file fetched by one worker for all (robots.txt, tdmrep.json, ...)."""
        return self.key("policy", url)

    def policy_lock_key(self, url: str) -> str:
        return self.key("policy-lock", url)


def get_distributed_config(crawler: Any) -> DistributedConfig:
    """The crawler's distributed configuration, parsed from its settings on first use."""
    return per_crawler(crawler, "_heed_distributed_config", DistributedConfig.from_settings)


def connect(config: DistributedConfig) -> Any:
    """A Redis client for the run (bytes in, bytes out; short timeouts so a lost server is
    an error, not a hang)."""
    import redis

    password = os.environ.get(config.password_env) or None
    return redis.Redis.from_url(
        config.redis_url, password=password, socket_timeout=10, socket_connect_timeout=10, health_check_interval=30
    )


__all__ = ["DistributedConfig", "DistributedConfigError", "connect", "get_distributed_config", "seconds_setting"]

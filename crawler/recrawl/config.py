"""``RECRAWL_*`` settings, read once into a frozen value whose errors name the setting.

Recrawling is a property of a named job: without ``JOB_NAME`` there is no earlier run to
ask "changed since?" about, so the components stay off (``NotConfigured``) whatever
``RECRAWL_ENABLED`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.config import per_crawler
from crawler.jobs.paths import JobPaths
from crawler.policy.config import ConfigError, resolve_path

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_ATTR = "_heed_recrawl_config"


@dataclass(frozen=True, slots=True)
class RecrawlConfig:
    """Whether this crawl recrawls, and where the job's crawl DB lives."""

    enabled: bool
    job: JobPaths | None = None

    @property
    def active(self) -> bool:
        return self.enabled and self.job is not None

    @property
    def db_path(self) -> Path | None:
        return self.job.recrawl_db if self.job is not None else None

    @classmethod
    def from_settings(cls, settings: Any) -> RecrawlConfig:
        try:
            enabled = settings.getbool("RECRAWL_ENABLED", True)
        except ValueError:
            raise ConfigError(f"RECRAWL_ENABLED must be true or false, got {settings.get('RECRAWL_ENABLED')!r}") from None
        name = settings.get("JOB_NAME") or ""
        if not name:
            return cls(enabled=enabled)
        try:
            job = JobPaths.of(resolve_path(str(settings.get("PROVENANCE_DIR") or "data/runs")), str(name))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return cls(enabled=enabled, job=job)


def get_recrawl_config(crawler: Crawler) -> RecrawlConfig:
    """The crawler's recrawl configuration, parsed on first use."""
    return per_crawler(crawler, _ATTR, RecrawlConfig.from_settings)


__all__ = ["RecrawlConfig", "get_recrawl_config"]

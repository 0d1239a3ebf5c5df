"""The switch: ``-s DISTRIBUTED_REDIS_URL=redis://…`` turns a crawl into a worker of a run.

A Scrapy add-on (``ADDONS`` in crawler/settings.py) so that one setting changes every
component that must change together — a worker with the shared queue but without the shared
pace would multiply the load on every host:

* the scheduler and dupefilter on Redis (:mod:`crawler.distributed.scheduler`);
* the HTTP download handler wrapped in the shared per-host pace
  (:mod:`crawler.distributed.pacing`);
* the spider middleware that ties follow-up requests to their page's lease;
* the extension that seals the journals of dead workers of the run on this machine.

The gate needs no switch: it asks :func:`crawler.distributed.shared.shared_policy_files`.
Settings given on the command line (``-s``) keep their priority over the add-on's.
"""

from __future__ import annotations

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.distributed.config import DistributedConfig
from crawler.distributed.pacing import INNER_HANDLER_SETTING

_PACE = "crawler.distributed.pacing.SharedPaceHandler"
_DEFAULT_HTTP = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"

#: What the add-on sets when distributed mode is on (priority "addon").
SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"
LEASE_MIDDLEWARE = "crawler.distributed.scheduler.LeaseMiddleware"
RECOVERY_EXTENSION = "crawler.distributed.recovery.DeadWorkerRecovery"


def _put(settings: BaseSettings, key: str, value: object) -> None:
    """Set ``key`` above the project's own settings but below the command line.

    Add-ons rank below project settings in Scrapy, and heed's project settings name its
    components: a plain add-on setting would be ignored, and a worker would run with the
    shared queue but without the shared pace. What the operator gives with ``-s`` still wins.
    """
    if (settings.getpriority(key) or 0) < SETTINGS_PRIORITIES["cmdline"]:
        settings.set(key, value, "project")


def _component(settings: BaseSettings, name: str, key: str, value: object) -> None:
    """Put ``key: value`` into the component dict setting ``name`` (``SPIDER_MIDDLEWARES`` …)."""
    current = settings[name]
    if not isinstance(current, BaseSettings):
        current = BaseSettings(current or {}, priority="project")
        settings.set(name, current, "project")
    _put(current, key, value)


class DistributedAddon:
    """Scrapy add-on; does nothing unless ``DISTRIBUTED_REDIS_URL`` is set."""

    def update_settings(self, settings: BaseSettings) -> None:
        config = DistributedConfig.from_settings(settings)  # a bad value stops the crawl here
        if not config.enabled:
            return
        _put(settings, "SCHEDULER", SCHEDULER)
        handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
        inner = handlers.get("http") or _DEFAULT_HTTP
        if inner != _PACE:
            _put(settings, INNER_HANDLER_SETTING, inner)
        for scheme in ("http", "https"):
            _component(settings, "DOWNLOAD_HANDLERS", scheme, _PACE)
        _component(settings, "SPIDER_MIDDLEWARES", LEASE_MIDDLEWARE, 10)
        _component(settings, "EXTENSIONS", RECOVERY_EXTENSION, 0)


__all__ = ["DistributedAddon"]

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
Settings given on the command line keep their priority over the add-on's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.distributed.config import DistributedConfig
from crawler.distributed.pacing import INNER_HANDLER_SETTING

if TYPE_CHECKING:
    from scrapy.settings import Settings

_PACE = "crawler.distributed.pacing.SharedPaceHandler"
_DEFAULT_HTTP = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"

#: What the add-on sets when distributed mode is on (priority "addon").
SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"
LEASE_MIDDLEWARE = "crawler.distributed.scheduler.LeaseMiddleware"
RECOVERY_EXTENSION = "crawler.distributed.recovery.DeadWorkerRecovery"


class DistributedAddon:
    """Scrapy add-on; does nothing unless ``DISTRIBUTED_REDIS_URL`` is set."""

    def update_settings(self, settings: Settings) -> None:
        config = DistributedConfig.from_settings(settings)  # a bad value stops the crawl here
        if not config.enabled:
            return
        settings.set("SCHEDULER", SCHEDULER, "addon")
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        base = settings.getdict("DOWNLOAD_HANDLERS_BASE")
        inner = handlers.get("http") or base.get("http") or _DEFAULT_HTTP
        if inner != _PACE:
            settings.set(INNER_HANDLER_SETTING, inner, "addon")
        handlers.update({"http": _PACE, "https": _PACE})
        settings.set("DOWNLOAD_HANDLERS", handlers, "addon")
        spider_mws = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        spider_mws.setdefault(LEASE_MIDDLEWARE, 10)
        settings.set("SPIDER_MIDDLEWARES", spider_mws, "addon")
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions.setdefault(RECOVERY_EXTENSION, 0)
        settings.set("EXTENSIONS", extensions, "addon")


__all__ = ["DistributedAddon"]

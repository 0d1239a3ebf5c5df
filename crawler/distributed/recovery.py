"""Seal the logs of a run's dead workers on this machine when a worker closes.

A worker killed mid-crawl leaves its write-ahead journal (every decision it made before
fetching is in it, fsynced) and a manifest section still marked ``running``. Its requests
come back through the frontier; its decisions must come back too. When any other worker of
the same run on this machine closes, it recovers every worker whose journal lock is free —
the same work ``scrapy audit recover`` does — so the run directory verifies without a manual
step. Workers still running hold their lock and are left alone; workers on other machines
write other run directories (docs/distributed.md) and are recovered there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals

from crawler.distributed.config import get_distributed_config
from pipelines.provconfig import ProvenanceConfig, get_provenance_config
from pipelines.recover import WorkerBusy, recover_worker, workers_to_recover

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class DeadWorkerRecovery:
    """Extension; enabled by the distributed add-on."""

    def __init__(self, crawler: Crawler, provenance: ProvenanceConfig) -> None:
        self.crawler = crawler
        self.provenance = provenance

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        get_distributed_config(crawler)
        ext = cls(crawler, get_provenance_config(crawler))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self) -> None:
        run_dir = self.provenance.directory / self.provenance.run_id
        if not run_dir.is_dir():
            return
        me = get_distributed_config(self.crawler).worker
        stats = self.crawler.stats
        for worker in workers_to_recover(run_dir):
            if worker == me:
                continue
            try:
                recovery = recover_worker(run_dir, worker, signer=self.provenance.signer())
            except WorkerBusy:
                continue  # still running: it seals its own log
            except Exception:  # never let one broken journal stop this worker's clean close
                logger.exception("Could not recover worker %(worker)s of %(run)s", {"worker": worker, "run": run_dir})
                stats.inc_value("distributed/recovery/failed")
                continue
            stats.inc_value("distributed/recovery/workers")
            logger.info("Recovered the log of dead worker %(worker)s: seals %(seals)s",
                        {"worker": worker, "seals": recovery.seals})


__all__ = ["DeadWorkerRecovery"]

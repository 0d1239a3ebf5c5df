"""The provenance log as a Scrapy component: every decision, item and piece of evidence.

Enable it as the **last** item pipeline::

    ITEM_PIPELINES = {..., "pipelines.provenance.ProvenancePipeline": 900}

Items that pass every earlier pipeline reach :meth:`ProvenancePipeline.process_item` and
are written to ``items/<item_type>/`` with an ``item``-stage ``allow`` row. Everything else
arrives by signal, because a refused request or a dropped item never reaches an item
pipeline (DESIGN.md, "Data flow"):

* ``crawler.signals.policy_decided`` (``decision``, optional ``request``/``response``): one
  row. For a fetch-stage ``allow`` the handler returns an awaitable that completes once the
  row is durable in the journal; the gate awaits it before the request is downloaded, so a
  crash never loses the decision behind a fetch (docs/provenance.md, "Crash safety");
* ``crawler.signals.policy_evidence`` (``result``): journaled, then archived as WARC;
* ``crawler.signals.policy_loaded``: remembered per origin to name the robots.txt group;
* Scrapy's ``item_dropped``: an ``item``-stage ``deny`` row;
* ``spider_opened`` / ``spider_closed``: open the worker's log (archiving the registries
  and the AI-token list in force); seal, and write the final manifest with the crawl stats.

Writing is done by :class:`pipelines.worklog.WorkerLog`; settings are read once into
:class:`pipelines.provconfig.ProvenanceConfig`. A write failure is never silent: it is
logged at ERROR, the worker is marked failed in the manifest, fetches and items are refused
from then on, and the spider is asked to close with reason ``provenance_error``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Self

from scrapy import signals as scrapy_signals

import crawler
from crawler import signals as heed_signals
from crawler.policy.decision import ALLOW, FETCH, ITEM, Decision
from pipelines.crawlenv import (
    ProvenanceUnavailable,
    configured_user_agent,
    enabled_components,
    policy_resources,
    request_close,
)
from pipelines.durable import DurableWait, LogNotDurable, Waiters, reactor_running
from pipelines.itemrows import ItemSchemaError, dropped_decision, item_row
from pipelines.policyconfig import get_policy_config
from pipelines.provconfig import ProvenanceConfig, get_provenance_config
from pipelines.records import EvidenceEntry, jsonable_row
from pipelines.rows import RobotsGroups, RowBuilder, RowContext, origin_of, row_context
from pipelines.worklog import WorkerLog

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.statscollectors import StatsCollector

    from crawler.policy.config import PolicyConfig
    from crawler.policy.fetchresult import FetchResult
    from crawler.policy.origin import OriginPolicy

logger = logging.getLogger(__name__)

_REMEMBERED: Final = 100_000  # evidence keys and origins kept for naming (bounded memory)


class ProvenancePipeline:
    """Writes this worker's decisions, items and evidence into the run directory."""

    def __init__(
        self,
        config: ProvenanceConfig,
        policy: PolicyConfig,
        *,
        stats: StatsCollector | None = None,
        on_failure: Callable[[], None] | None = None,
        components: Mapping[str, bool] | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.config = config
        self.policy = policy
        self.components = dict(components or {})
        self.run_dir = config.run_dir
        self._stats = stats
        self._on_failure = on_failure
        self.rows = RowBuilder(run_id=config.run_id, worker=config.worker, policy_hash=policy.policy_hash,
                               agent_token=policy.agent_token, strict=policy.strict, user_agent=user_agent)
        self.log = WorkerLog(
            config.run_dir, run_id=config.run_id, worker=config.worker, policy_hash=policy.policy_hash,
            policy={"hash": policy.policy_hash, "config": policy.describe()}, components=self.components,
            metadata={"heed.run_id": config.run_id, "heed.worker": config.worker,
                      "heed.version": crawler.__version__, "heed.policy_hash": policy.policy_hash},
            rows_per_part=config.rows_per_part, flush_seconds=config.flush_seconds, signer=config.signer(),
            resume=config.resume, constants=self.rows.constants,
            on_durable=lambda t: self._waiters.committed(t), on_error=self._error_from_thread,
        )
        self._waiters = Waiters(lambda: self.log.journal.durable if self.log.journal else 0,
                                lambda: bool(self.log.journal and self.log.journal.error))
        self._evidence_ids: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._archived: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()
        self._groups = RobotsGroups(policy.agent_token, _REMEMBERED)
        self._opened = self._closed = self._failed = self._stopping = False
        self._timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(get_provenance_config(crawler), get_policy_config(crawler),
                       stats=crawler.stats, on_failure=lambda: request_close(crawler),
                       components=enabled_components(crawler.settings), user_agent=configured_user_agent(crawler.settings))
        for name, enabled in pipeline.components.items():
            if not enabled:
                logger.error("%(name)s is not enabled: this run is not gated and its manifest says so", {"name": name})
        connect = crawler.signals.connect
        connect(pipeline.record_decision, signal=heed_signals.policy_decided)
        connect(pipeline.record_evidence, signal=heed_signals.policy_evidence)
        connect(pipeline.policy_loaded, signal=heed_signals.policy_loaded)
        connect(pipeline.item_dropped, signal=scrapy_signals.item_dropped)
        connect(pipeline.spider_opened, signal=scrapy_signals.spider_opened)
        connect(pipeline.spider_closed, signal=scrapy_signals.spider_closed)
        return pipeline

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Open (or resume) this worker's log; idempotent, called lazily by every hook."""
        if self._opened:
            return
        if self._closed:
            raise RuntimeError("the provenance log is already closed")
        resources = policy_resources(self.policy)
        self.log.open(resources=resources)
        for entry in resources:
            _remember(self._evidence_ids, (entry.kind, entry.url, entry.sha256), entry.record_id)
        self._opened = True
        logger.info("Provenance log: run %(run_id)s, worker %(worker)s, in %(dir)s%(resumed)s",
                    {"run_id": self.config.run_id, "worker": self.config.worker, "dir": self.run_dir.root,
                     "resumed": " (resumed)" if self.log.resumed else ""})

    def spider_opened(self) -> None:
        self.open()
        try:
            from scrapy.utils.asyncio import create_looping_call

            self._timer = create_looping_call(self.tick)
            self._timer.start(min(self.config.flush_seconds, 1.0), now=False)
        except RuntimeError:  # no event loop (components driven by hand): seal on append only
            self._timer = None

    def spider_closed(self) -> None:
        self.close()

    def tick(self) -> None:
        if self._opened and not self._closed and self.log.due():
            self.log.seal()

    def close(self) -> dict[str, Any] | None:
        """Seal what is left and write the final manifest (with the crawl stats)."""
        if self._closed:
            return None
        self.open()
        self._closed = True
        if self._timer is not None and getattr(self._timer, "running", False):
            self._timer.stop()
        stats = self._stats.get_stats() if self._stats is not None else {}
        manifest = self.log.close(stats)
        self._waiters.release(closing=True)
        if self.log.journal is not None:
            self._set_stat("provenance/journal_syncs", self.log.journal.syncs)
        files = [f for f in self.log.files if f.kind != "evidence"]
        rows = sum(f.rows for f in files)
        self._set_stat("provenance/rows_written", rows)
        self._set_stat("provenance/parts_written", len(files))
        logger.info("Provenance log closed: %(rows)d rows in %(files)d parts, %(dir)s%(state)s",
                    {"rows": rows, "files": len(files), "dir": self.run_dir.root,
                     "state": "" if not self.log.errors else " (INCOMPLETE)"})
        return manifest

    # -- hooks -------------------------------------------------------------------------

    def record_decision(
        self, decision: Decision, request: Request | None = None, response: Response | None = None
    ) -> DurableWait | None:
        """``policy_decided`` handler: one row; an awaitable for fetch-stage allows."""
        must_wait = decision.stage == FETCH and decision.verdict == ALLOW
        if self._closed:
            logger.warning("Decision after the provenance log closed, not recorded: %(url)s", {"url": decision.url})
            self._inc_stat("provenance/late_decisions")
            return DurableWait.failed("provenance log closed") if must_wait else None
        try:
            self.open()
            ticket = self._append(decision, row_context(request, response))
        except Exception as exc:  # noqa: BLE001 - never let an unrecorded allow through
            self._fail(exc)
            self._inc_stat("provenance/decisions_lost")
            return DurableWait.failed(f"decision not recorded: {exc}") if must_wait else None
        journal = self.log.journal
        if not must_wait or journal is None or not reactor_running():
            return None
        wait = self._waiters.wait(ticket, journal.urge)
        if wait is not None:
            self._inc_stat("provenance/durable_waits")
        return wait

    def record_evidence(self, result: FetchResult) -> None:
        """``policy_evidence`` handler: journal the exact bytes (once per distinct payload)."""
        if self._closed or self.log.errors:
            return
        key = (result.kind, result.url, str(result.status), result.sha256)
        if key in self._archived:
            self._archived.move_to_end(key)
            return
        try:
            self.open()
            entry = EvidenceEntry.from_result(result)
            self.log.add_evidence(entry)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return
        _remember(self._archived, key, None)
        _remember(self._evidence_ids, (entry.kind, entry.url, entry.sha256), entry.record_id)
        self._inc_stat(f"provenance/evidence/{entry.kind}")
        self._seal_if_due()

    def policy_loaded(self, origin: str, policy: OriginPolicy) -> None:
        self._groups.loaded(origin, policy)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Write the item to ``items/<item_type>/`` and log an ``item`` allow row."""
        if self.log.errors:
            raise ProvenanceUnavailable("the provenance log failed; items are not kept")
        self.open()
        row = jsonable_row(item_row(item, self.policy.policy_hash))
        try:
            self.log.add_item(row["item_type"], row)
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            raise ProvenanceUnavailable("the provenance log failed; items are not kept") from exc
        self._inc_stat(f"provenance/items/{row['item_type']}")
        self.record_decision(Decision(verdict=ALLOW, stage=ITEM, url=row["page_url"], http_status=row.get("http_status"),
                                      item_type=row["item_type"], item_id=row["item_id"]))
        return item

    def item_dropped(self, item: Any, exception: BaseException | None = None, response: Response | None = None) -> None:
        """``item_dropped`` handler: an ``item`` deny row, nothing else of the item."""
        # ``response`` is a Failure when the item came from an errback
        self.record_decision(dropped_decision(item, exception, str(getattr(response, "url", "") or "")))

    # -- internals ---------------------------------------------------------------------

    def _append(self, decision: Decision, context: RowContext) -> int:
        group = self._groups.group(decision) if decision.stage == FETCH else None
        row = self.rows.row(decision, self.log.next_seq(), context=context, evidence_ids=self._evidence_ids, group=group)
        ticket = self.log.add_decision(row)
        self._inc_stat(f"provenance/decisions/{decision.stage}/{decision.verdict}")
        self._seal_if_due()
        return ticket

    def _seal_if_due(self) -> None:
        if self.log.due():
            self.log.seal()

    def _error_from_thread(self, exc: BaseException) -> None:
        """Sealer or journal thread: record the failure now, stop the crawl on the reactor."""
        self._fail(exc, stop=False)
        if reactor_running():
            from twisted.internet import reactor

            reactor.callFromThread(self._stop)  # type: ignore[attr-defined]
        else:
            self._stop()

    def _fail(self, exc: BaseException, *, stop: bool = True) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message not in self.log.errors:
            self.log.errors.append(message)
        self._inc_stat("provenance/errors")
        if not self._failed:
            self._failed = True
            logger.error("Provenance log write failed in %(dir)s", {"dir": self.run_dir.root}, exc_info=exc)
        if stop:
            self._stop()

    def _stop(self) -> None:
        if not self._stopping and self._on_failure is not None and not self._closed:
            self._stopping = True
            self._on_failure()

    def _inc_stat(self, key: str) -> None:
        if self._stats is not None:
            self._stats.inc_value(key)

    def _set_stat(self, key: str, value: int) -> None:
        if self._stats is not None:
            self._stats.set_value(key, value)


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > _REMEMBERED:
        cache.popitem(last=False)


__all__ = [
    "DurableWait",
    "ItemSchemaError",
    "LogNotDurable",
    "ProvenanceConfig",
    "ProvenancePipeline",
    "ProvenanceUnavailable",
    "origin_of",
]

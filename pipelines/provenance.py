"""The provenance log: every decision as a Parquet row, items as Parquet, evidence as WARC.

Enable it as the **last** item pipeline::

    ITEM_PIPELINES = {..., "pipelines.provenance.ProvenancePipeline": 900}

It is an item pipeline because items that pass every earlier pipeline reach
:meth:`ProvenancePipeline.process_item`, where they are written to ``items/<item_type>/``
and logged as ``item``-stage ``allow`` rows. Everything else arrives by signal, because a
refused request or a dropped item never reaches an item pipeline (DESIGN.md, "Data flow"):

* ``crawler.signals.policy_decided`` (``decision``): one row per gate decision;
* ``crawler.signals.policy_evidence`` (``result``): archived in ``evidence/``;
* Scrapy's ``item_dropped``: an ``item``-stage ``deny`` row (nothing else of the item is
  kept); the reason is the exception's ``reason_code`` or ``validate:<ExceptionName>``;
* ``spider_opened`` / ``spider_closed``: open the run directory; flush, publish the evidence
  file and write ``manifest.json`` with the final crawl stats.

Settings (read once into :class:`ProvenanceConfig`): ``PROVENANCE_DIR`` (default
``data/runs``, relative to the project), ``PROVENANCE_RUN_ID`` (default: generated),
``PROVENANCE_WORKER`` (default ``w<pid>``), ``PROVENANCE_ROWS_PER_PART`` (10000),
``PROVENANCE_FLUSH_SECONDS`` (2.0).

A write failure is never silent: it is logged at ERROR, the worker is marked
``complete: false`` in the manifest, items are dropped from then on (an item whose decision
cannot be recorded must not enter the dataset) and the spider is asked to close with
reason ``provenance_error``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlsplit

import pyarrow as pa
from itemadapter import ItemAdapter
from scrapy import signals as scrapy_signals
from scrapy.exceptions import DropItem

import crawler
from crawler import signals as heed_signals
from crawler.policy.config import ConfigError, resolve_path
from crawler.policy.decision import ALLOW, DENY, ITEM, Decision
from pipelines import manifest as mf
from pipelines.evidence import EvidenceArchive
from pipelines.parquet import PartInfo, PartWriteError, PartWriter
from pipelines.policyconfig import get_policy_config
from pipelines.rundir import RunDir, check_name, decisions_prefix, items_prefix, new_run_id, utc_now_iso
from pipelines.schema import DECISIONS, ITEM_SCHEMAS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    from crawler.policy.config import PolicyConfig
    from crawler.policy.fetchresult import FetchResult

logger = logging.getLogger(__name__)

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceConfig:
    """Where and how this worker writes its share of the run."""

    directory: Path
    run_id: str
    worker: str
    rows_per_part: int = 10_000
    flush_seconds: float = 2.0

    @property
    def run_dir(self) -> RunDir:
        return RunDir(self.directory / self.run_id)

    @classmethod
    def from_settings(cls, settings: Any) -> ProvenanceConfig:
        directory = settings.get("PROVENANCE_DIR") or "data/runs"
        run_id = settings.get("PROVENANCE_RUN_ID") or new_run_id()
        worker = settings.get("PROVENANCE_WORKER") or f"w{os.getpid()}"
        try:
            check_name("PROVENANCE_RUN_ID", run_id)
            check_name("PROVENANCE_WORKER", worker)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        try:
            rows = settings.getint("PROVENANCE_ROWS_PER_PART", 10_000)
        except (TypeError, ValueError):
            raise ConfigError(
                f"PROVENANCE_ROWS_PER_PART must be an integer, got {settings.get('PROVENANCE_ROWS_PER_PART')!r}"
            ) from None
        try:
            seconds = settings.getfloat("PROVENANCE_FLUSH_SECONDS", 2.0)
        except (TypeError, ValueError):
            raise ConfigError(
                f"PROVENANCE_FLUSH_SECONDS must be a number, got {settings.get('PROVENANCE_FLUSH_SECONDS')!r}"
            ) from None
        if rows < 1:
            raise ConfigError(f"PROVENANCE_ROWS_PER_PART must be at least 1, got {rows}")
        if not seconds > 0:
            raise ConfigError(f"PROVENANCE_FLUSH_SECONDS must be positive, got {seconds}")
        return cls(
            directory=resolve_path(str(directory)),
            run_id=run_id,
            worker=worker,
            rows_per_part=rows,
            flush_seconds=seconds,
        )


class ItemSchemaError(ValueError):
    """An item does not fit the Parquet schema of its item type."""


class ProvenanceUnavailable(DropItem):
    """The provenance log failed earlier in this run, so items can no longer be kept."""

    reason_code = "provenance.error"


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit (``http://a.test:80``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


def _python_types(type_: pa.DataType) -> tuple[type, ...] | None:
    """Python types accepted for an Arrow type in an item (None: not checked)."""
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return (str,)
    if pa.types.is_boolean(type_):
        return (bool,)
    if pa.types.is_integer(type_):
        return (int,)
    if pa.types.is_floating(type_):
        return (int, float)
    if pa.types.is_timestamp(type_):
        return (datetime,)
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return (list, tuple)
    if pa.types.is_struct(type_):
        return (Mapping,)
    return None


#: The downloader middlewares without which a run's decisions cannot be trusted.
SAFETY_COMPONENTS: Final = {
    "policy_gate": "crawler.middlewares.gate.PolicyGateMiddleware",
    "network_guard": "crawler.middlewares.guard.NetworkGuardMiddleware",
}


def enabled_components(settings: Any) -> dict[str, bool]:
    """Which safety middlewares the crawl really runs (a ``-s`` override can drop them)."""
    mws = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    return {name: mws.get(path) is not None for name, path in SAFETY_COMPONENTS.items()}


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
    ) -> None:
        self.config = config
        self.components = dict(components or {})
        self.policy = policy
        self.run_dir = config.run_dir
        self._stats = stats
        self._on_failure = on_failure
        self._seq = 0
        self._started_at: str | None = None
        self._decisions: PartWriter | None = None
        self._items: dict[str, PartWriter] = {}
        self._evidence: EvidenceArchive | None = None
        self._errors: list[str] = []
        self._closed = False
        self._timer: Any = None
        self._metadata = {
            "heed.run_id": config.run_id,
            "heed.worker": config.worker,
            "heed.version": crawler.__version__,
            "heed.policy_hash": policy.policy_hash,
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(
            ProvenanceConfig.from_settings(crawler.settings),
            get_policy_config(crawler),
            stats=crawler.stats,
            on_failure=lambda: _request_close(crawler),
            components=enabled_components(crawler.settings),
        )
        for name, enabled in pipeline.components.items():
            if not enabled:
                logger.error("%(name)s is not enabled: this run is not gated and its manifest says so", {"name": name})
        connect = crawler.signals.connect
        connect(pipeline.record_decision, signal=heed_signals.policy_decided)
        connect(pipeline.record_evidence, signal=heed_signals.policy_evidence)
        connect(pipeline.item_dropped, signal=scrapy_signals.item_dropped)
        connect(pipeline.spider_opened, signal=scrapy_signals.spider_opened)
        connect(pipeline.spider_closed, signal=scrapy_signals.spider_closed)
        return pipeline

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Create this worker's writers (idempotent; called lazily by every hook)."""
        if self._decisions is not None:
            return
        if self._closed:
            raise RuntimeError("the provenance log is already closed")
        cfg, rd = self.config, self.run_dir
        listed = rd.manifest.exists() and cfg.worker in mf.load_manifest(rd.root)["workers"]
        if listed or (rd.decisions / f"{decisions_prefix(cfg.worker)}-000001.parquet").exists():
            raise ConfigError(
                f"PROVENANCE_WORKER: worker {cfg.worker!r} already wrote to {rd.root}; "
                "give every worker of a run its own name"
            )
        self._started_at = utc_now_iso()
        self._decisions = self._writer(rd.decisions, DECISIONS, decisions_prefix(cfg.worker))
        self._evidence = EvidenceArchive(rd.evidence, worker=cfg.worker, run_id=cfg.run_id)
        logger.info(
            "Provenance log: run %(run_id)s, worker %(worker)s, in %(dir)s",
            {"run_id": cfg.run_id, "worker": cfg.worker, "dir": rd.root},
        )

    def spider_opened(self) -> None:
        self.open()
        try:
            from scrapy.utils.asyncio import create_looping_call

            self._timer = create_looping_call(self.tick)
            self._timer.start(self.config.flush_seconds, now=False)
        except RuntimeError:  # no event loop (components driven by hand): flush on append only
            self._timer = None

    def spider_closed(self) -> None:
        self.close()

    def tick(self) -> None:
        """Flush every writer whose buffer is due (called periodically while crawling)."""
        for writer in self._writers():
            if writer.should_flush():
                self._flush(writer)

    def close(self) -> dict[str, Any] | None:
        """Write what is left, publish the evidence file and write the manifest."""
        if self._closed:
            return None
        self.open()
        self._closed = True
        if self._timer is not None and getattr(self._timer, "running", False):
            self._timer.stop()
        for writer in self._writers():
            try:
                writer.close()
            except PartWriteError as exc:
                self._fail(exc)
        evidence: PartInfo | None = None
        assert self._evidence is not None
        try:
            evidence = self._evidence.close()
        except OSError as exc:
            self._fail(exc)
        files = self._file_entries(evidence)
        rows = sum(f.rows for f in files if f.kind != "evidence")
        self._set_stat("provenance/rows_written", rows)
        self._set_stat("provenance/parts_written", sum(1 for f in files if f.kind != "evidence"))
        record = mf.WorkerRecord(
            worker=self.config.worker,
            started_at=self._started_at or utc_now_iso(),
            finished_at=utc_now_iso(),
            complete=not self._errors,
            errors=list(self._errors),
            policy_hash=self.policy.policy_hash,
            files=files,
            stats=self._stats.get_stats() if self._stats is not None else {},
            components=self.components,
        )
        policy = {"hash": self.policy.policy_hash, "config": self.policy.describe()}
        try:
            manifest = mf.update_manifest(self.run_dir.root, run_id=self.config.run_id, policy=policy, record=record)
        except (OSError, ValueError):
            logger.error("Could not write the manifest of %(dir)s", {"dir": self.run_dir.root}, exc_info=True)
            raise
        logger.info(
            "Provenance log closed: %(rows)d rows in %(files)d files, %(dir)s%(state)s",
            {"rows": rows, "files": len(files), "dir": self.run_dir.root,
             "state": "" if record.complete else " (INCOMPLETE)"},
        )
        return manifest

    # -- hooks -------------------------------------------------------------------------

    def record_decision(self, decision: Decision) -> None:
        """``policy_decided`` handler: one decisions row."""
        if self._closed:
            logger.warning("Decision after the provenance log closed, not recorded: %(url)s", {"url": decision.url})
            self._inc_stat("provenance/late_decisions")
            return
        self._append_decision(decision)

    def record_evidence(self, result: FetchResult) -> None:
        """``policy_evidence`` handler: archive the exact bytes (once per distinct payload)."""
        if self._closed or self._errors:
            return
        self.open()
        assert self._evidence is not None
        before = self._evidence.records
        try:
            self._evidence.add(result)
        except (OSError, ValueError) as exc:
            self._fail(exc)
            return
        if self._evidence.records != before:
            self._inc_stat(f"provenance/evidence/{result.kind or 'unknown'}")

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Write the item to ``items/<item_type>/`` and log an ``item`` allow row."""
        if self._errors:
            raise ProvenanceUnavailable("the provenance log failed; items are not kept")
        self.open()
        row = self.item_row(item)
        item_type = row["item_type"]
        writer = self._items.get(item_type)
        if writer is None:
            writer = self._writer(
                self.run_dir.items(item_type), ITEM_SCHEMAS[item_type], items_prefix(item_type, self.config.worker)
            )
            self._items[item_type] = writer
        try:
            writer.append(row)
        except PartWriteError as exc:
            self._fail(exc)
            raise ProvenanceUnavailable("the provenance log failed; items are not kept") from exc
        self._inc_stat(f"provenance/items/{item_type}")
        self._append_decision(
            Decision(
                verdict=ALLOW,
                stage=ITEM,
                url=row["page_url"],
                http_status=row.get("http_status"),
                item_type=item_type,
                item_id=row["item_id"],
            )
        )
        if writer.should_flush():
            self._flush(writer)
        return item

    def item_dropped(self, item: Any, exception: BaseException | None = None, response: Response | None = None) -> None:
        """``item_dropped`` handler: an ``item`` deny row, nothing else of the item."""
        adapter = ItemAdapter(item) if ItemAdapter.is_item(item) else None

        def field(name: str) -> Any:
            return adapter.get(name) if adapter is not None else None

        url = field("page_url") or (response.url if response is not None else "")
        code = getattr(exception, "reason_code", None)
        if isinstance(code, str) and code:
            reasons: tuple[str, ...] = (code,)
        elif isinstance(code, (list, tuple)) and code:
            reasons = tuple(str(c) for c in code)
        else:
            reasons = (f"validate:{type(exception).__name__ if exception is not None else 'unknown'}",)
        status = field("http_status")
        item_type, item_id = field("item_type"), field("item_id")
        decision = Decision(
            verdict=DENY,
            stage=ITEM,
            url=str(url),
            reasons=reasons,
            http_status=status if isinstance(status, int) else None,
            item_type=str(item_type) if item_type is not None else None,
            item_id=str(item_id) if item_id is not None else None,
        )
        self.record_decision(decision)

    # -- rows --------------------------------------------------------------------------

    def decision_row(self, decision: Decision, seq: int) -> dict[str, Any]:
        return {
            "run_id": self.config.run_id,
            "worker": self.config.worker,
            "seq": seq,
            "ts": time.time_ns() // 1000,
            "stage": decision.stage,
            "verdict": decision.verdict,
            "reasons": list(decision.reasons),
            "url": decision.url,
            "origin": origin_of(decision.url),
            "http_status": decision.http_status,
            "evidence": [{"kind": e.kind, "url": e.url, "sha256": e.sha256} for e in decision.evidence],
            "item_type": decision.item_type,
            "item_id": decision.item_id,
            "policy_hash": self.policy.policy_hash,
            "rules": list(decision.rules),
            "signals": [{"name": n, "value": v} for n, v in decision.signals],
            "agent_token": self.policy.agent_token,
            "strict": self.policy.strict,
        }

    def item_row(self, item: Any) -> dict[str, Any]:
        """The item as a row of its type's schema; :class:`ItemSchemaError` if it does not fit."""
        if not ItemAdapter.is_item(item):
            raise ItemSchemaError(f"not an item: {type(item).__name__}")
        row = ItemAdapter(item).asdict()
        item_type = row.get("item_type")
        schema = ITEM_SCHEMAS.get(item_type) if isinstance(item_type, str) else None
        if schema is None:
            raise ItemSchemaError(f"unknown item_type {item_type!r}; known: {sorted(ITEM_SCHEMAS)}")
        unknown = sorted(set(row) - set(schema.names))
        if unknown:
            raise ItemSchemaError(f"{item_type} item has fields not in the {item_type} schema: {unknown}")
        if not row.get("policy_hash"):
            row["policy_hash"] = self.policy.policy_hash
        if not row.get("optout_decision"):
            row["optout_decision"] = ALLOW
        missing = [f.name for f in schema if not f.nullable and row.get(f.name) is None]
        if missing:
            raise ItemSchemaError(f"{item_type} item {row.get('item_id')!r} lacks required fields: {missing}")
        for f in schema:
            value = row.get(f.name)
            accepted = _python_types(f.type)
            if value is None or accepted is None:
                continue
            if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
                raise ItemSchemaError(
                    f"{item_type} item {row.get('item_id')!r}: field {f.name!r} must be {f.type}, "
                    f"got {type(value).__name__}"
                )
        return row

    # -- internals ---------------------------------------------------------------------

    def _append_decision(self, decision: Decision) -> None:
        if self._errors:
            self._inc_stat("provenance/decisions_lost")
            return
        self.open()
        writer = self._decisions
        assert writer is not None
        seq = self._seq + 1
        try:
            writer.append(self.decision_row(decision, seq))
        except PartWriteError as exc:
            self._fail(exc)
            self._inc_stat("provenance/decisions_lost")
            return
        self._seq = seq
        self._inc_stat(f"provenance/decisions/{decision.stage}/{decision.verdict}")
        if writer.should_flush():
            self._flush(writer)

    def _flush(self, writer: PartWriter) -> None:
        try:
            writer.flush()
        except PartWriteError as exc:
            self._fail(exc)

    def _writer(self, directory: Path, schema: pa.Schema, prefix: str) -> PartWriter:
        return PartWriter(
            directory,
            schema,
            prefix=prefix,
            rows_per_part=self.config.rows_per_part,
            max_seconds=self.config.flush_seconds,
            extra_metadata=self._metadata,
        )

    def _writers(self) -> list[PartWriter]:
        head = [self._decisions] if self._decisions is not None else []
        return head + [self._items[t] for t in sorted(self._items)]

    def _file_entries(self, evidence: PartInfo | None) -> list[mf.FileEntry]:
        """Files in chain order: decision parts, item parts by type, then evidence."""
        listed: list[tuple[str, PartInfo]] = []
        if self._decisions is not None:
            listed += [("decisions", p) for p in self._decisions.parts]
        for item_type in sorted(self._items):
            listed += [("items", p) for p in self._items[item_type].parts]
        if evidence is not None:
            listed.append(("evidence", evidence))
        return [
            mf.FileEntry(path=self.run_dir.relative(p.path), kind=kind, sha256=p.sha256, rows=p.rows, bytes=p.bytes)
            for kind, p in listed
        ]

    def _fail(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message in self._errors:  # the same failure seen again (e.g. at close)
            return
        first = not self._errors
        self._errors.append(message)
        self._inc_stat("provenance/errors")
        logger.error("Provenance log write failed in %(dir)s", {"dir": self.run_dir.root}, exc_info=exc)
        if first and self._on_failure is not None and not self._closed:
            self._on_failure()

    def _inc_stat(self, key: str) -> None:
        if self._stats is not None:
            self._stats.inc_value(key)

    def _set_stat(self, key: str, value: int) -> None:
        if self._stats is not None:
            self._stats.set_value(key, value)


def _request_close(crawler: Crawler) -> None:
    """Ask the engine to stop the crawl: crawling on without a working log is not allowed."""
    try:
        engine = crawler.engine
    except (AttributeError, RuntimeError):  # the crawl has not started (or is gone)
        return
    if engine is None or getattr(engine, "spider", None) is None:
        return
    from scrapy.utils.defer import deferred_from_coro

    logger.error("Closing the spider: the provenance log cannot record decisions")
    closing = deferred_from_coro(engine.close_spider_async(reason="provenance_error"))
    closing.addErrback(lambda failure: logger.error("Could not close the spider: %(failure)s", {"failure": failure}))


__all__ = [
    "ItemSchemaError",
    "ProvenanceConfig",
    "ProvenancePipeline",
    "ProvenanceUnavailable",
    "origin_of",
]

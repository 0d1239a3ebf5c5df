"""One worker's share of a run: journal first, then sealed Parquet and WARC files.

Data path of every row and every piece of evidence (all on the event-loop thread, no I/O):

1. appended to the :class:`~pipelines.journal.Journal` (durable within milliseconds; the
   gate waits for it on fetch-stage allows), and
2. buffered column-wise for the current **seal**.

When a buffer fills (``rows_per_part``) or ages (``flush_seconds``) the worker *seals*: the
journal rotates to a new segment and the buffers go to a single sealer thread, which writes
the seal's files (:func:`pipelines.seal.write_seal`), appends them to the chain, rewrites
this worker's manifest section as a checkpoint (``state: running``, signed when a key is
set; at most every :data:`CHECKPOINT_SECONDS`) and deletes the journal segment once the
seal's files are published.
So at every instant each row is in a journal segment, in a published file, or both — which
is what :func:`pipelines.recover.recover_worker` relies on after a crash.

The worker holds ``.journal/<worker>.lock`` while it writes; a second process with the same
worker name is refused, and resuming (``resume=True``) first recovers what the previous
process left, then continues its ``seq``, its seal numbers and its hash chain.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from crawler.policy.config import ConfigError
from pipelines import journal as jr
from pipelines.manifest import FileEntry, WorkerRecord, update_manifest
from pipelines.records import EvidenceEntry, encode_item, encode_row
from pipelines.recover import WorkerBusy, load_state, recover_worker, worker_lock
from pipelines.rundir import RunDir, utc_now_iso, worker_files
from pipelines.schema import DECISIONS, ITEM_SCHEMAS
from pipelines.seal import ColumnBuffer, SealData, write_seal
from pipelines.signing import Signer

logger = logging.getLogger(__name__)

#: Seconds between manifest checkpoints while the worker runs (every seal's files are
#: published at once; the checkpoint pins them in the signed manifest, and rewriting the
#: manifest at every seal of a long crawl would cost more than it adds).
CHECKPOINT_SECONDS = 30.0


class WorkerLog:
    """Journal, buffers and sealer of one worker (see the module docstring)."""

    def __init__(
        self,
        run_dir: RunDir,
        *,
        run_id: str,
        worker: str,
        policy_hash: str,
        policy: Mapping[str, Any],
        components: Mapping[str, bool],
        metadata: Mapping[str, str],
        rows_per_part: int = 10_000,
        flush_seconds: float = 2.0,
        commit_interval: float = 0.005,
        signer: Signer | None = None,
        resume: bool = False,
        constants: Mapping[str, Any] | None = None,
        on_durable: Callable[[int], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.run_id = run_id
        self.worker = worker
        self.policy_hash = policy_hash
        self.policy = dict(policy)
        self.components = dict(components)
        self.metadata = dict(metadata)
        self.rows_per_part = rows_per_part
        self.flush_seconds = flush_seconds
        self.commit_interval = commit_interval
        self.signer = signer
        self.resume = resume
        self.on_durable = on_durable
        self.on_error = on_error
        #: decision columns equal in every row of this session: written once per segment header
        self.constants = {k: v for k, v in (constants or {}).items() if k in DECISIONS.names}
        self.journal_columns = tuple(c for c in DECISIONS.names if c not in self.constants)
        self.journal: jr.Journal | None = None
        #: failures of this session (a non-empty list refuses items and fetches)
        self.errors: list[str] = []
        self._earlier_errors: list[str] = []
        self._stack = ExitStack()
        self._decisions = ColumnBuffer(DECISIONS)
        self._items: dict[str, ColumnBuffer] = {}
        self._evidence: list[EvidenceEntry] = []
        self._evidence_since: float | None = None
        self._seq = 0
        self._files: list[FileEntry] = []
        self._sessions: list[dict[str, Any]] = []
        self._started_at = ""
        self._last_seq = 0
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self.resumed = False
        self._checkpointed = 0.0

    # -- lifecycle ----------------------------------------------------------------------

    def open(self, resources: Sequence[EvidenceEntry] = ()) -> None:
        rd = self.run_dir
        rd.root.mkdir(parents=True, exist_ok=True)
        try:
            self._stack.enter_context(worker_lock(rd, self.worker))
        except WorkerBusy as exc:
            raise ConfigError(f"PROVENANCE_WORKER: {exc}; give every worker of a run its own name") from None
        try:
            self._resume_or_start()
        except BaseException:
            self._stack.close()
            raise
        now = utc_now_iso()
        self._started_at = self._started_at or now
        self._sessions.append({"started_at": now, "finished_at": None, "ended": "running"})
        header = {
            "format": "heed-journal/1",
            "run_id": self.run_id,
            "worker": self.worker,
            "started_at": now,
            "policy_hash": self.policy_hash,
            "policy": self.policy,
            "components": self.components,
            "metadata": self.metadata,
            "columns": list(self.journal_columns),
            "constants": self.constants,
        }
        self.journal = jr.Journal(
            rd.journal, self.worker, segment=self._next_seal, header=json.dumps(header).encode(),
            commit_interval=self.commit_interval, on_commit=self._committed,
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"heed-seal-{self.worker}")
        self._checkpoint("running")
        for entry in resources:
            self.add_evidence(entry)

    def _resume_or_start(self) -> None:
        rd = self.run_dir
        state = load_state(rd, self.worker)
        existing = bool(state.files or state.sessions or jr.segments(rd.journal, self.worker) or worker_files(rd, self.worker))
        if existing and not self.resume:
            raise ConfigError(
                f"PROVENANCE_WORKER: worker {self.worker!r} already wrote to {rd.root}; give every worker "
                "of a run its own name, or set PROVENANCE_RESUME=True to continue its log"
            )
        if existing:
            recovered = recover_worker(rd, self.worker, signer=self.signer, locked=True)
            state = load_state(rd, self.worker)
            self.resumed = True
            logger.info(
                "Resuming worker %(worker)s of run %(run)s after seq %(seq)d (%(files)d files; %(rec)d recovered)",
                {"worker": self.worker, "run": self.run_id, "seq": state.last_seq, "files": len(state.files),
                 "rec": len(recovered.written) + len(recovered.adopted)},
            )
        self._files = list(state.files)
        self._seq = self._last_seq = state.last_seq
        self._next_seal = state.next_seal
        self._sessions = list(state.sessions)
        self._started_at = state.started_at or ""
        self._earlier_errors = list(state.errors)  # earlier sessions' failures stay on record

    def close(self, stats: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Seal what is buffered, wait for the sealer and the journal, write the final manifest."""
        try:
            self.seal()
            self.wait()
            if self.journal is not None:
                try:
                    self.journal.close()
                except jr.JournalError as exc:
                    self._fail(exc)
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            if self._sessions:
                self._sessions[-1] = {**self._sessions[-1], "finished_at": utc_now_iso(), "ended": "closed"}
            manifest = self._checkpoint("closed", stats)
            if not self.errors:
                for _index, path in jr.segments(self.run_dir.journal, self.worker):
                    path.unlink(missing_ok=True)
            return manifest
        finally:
            self._stack.close()

    # -- producer side (event loop) -----------------------------------------------------

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_decision(self, row: Mapping[str, Any]) -> int:
        assert self.journal is not None
        ticket = self.journal.append(jr.DECISION, encode_row(row, self.journal_columns))
        self._decisions.append(row)
        return ticket

    def add_item(self, item_type: str, row: Mapping[str, Any]) -> int:
        assert self.journal is not None
        buffer = self._items.get(item_type)
        if buffer is None:
            buffer = self._items[item_type] = ColumnBuffer(ITEM_SCHEMAS[item_type])
        buffer.append(row)  # refuses unknown columns before anything is journaled
        return self.journal.append(jr.ITEM, encode_item(item_type, row))

    def add_evidence(self, entry: EvidenceEntry) -> int:
        assert self.journal is not None
        ticket = self.journal.append(jr.EVIDENCE, entry.encode())
        self._evidence.append(entry)
        if self._evidence_since is None:
            self._evidence_since = time.monotonic()
        return ticket

    def due(self) -> bool:
        """True when a buffer is full or its oldest entry has waited ``flush_seconds``."""
        buffers = [self._decisions, *self._items.values()]
        if any(b.rows >= self.rows_per_part for b in buffers):
            return True
        oldest = [b.oldest for b in buffers if b.oldest is not None]
        if self._evidence_since is not None:
            oldest.append(self._evidence_since)
        return bool(oldest) and time.monotonic() - min(oldest) >= self.flush_seconds

    def seal(self) -> Future[None] | None:
        """Hand everything buffered to the sealer thread as the next seal."""
        if self.journal is None or self._executor is None:
            return None
        if not self._decisions.rows and not any(b.rows for b in self._items.values()) and not self._evidence:
            return None
        index = self.journal.segment
        end = self.journal.rotate()
        data = SealData(index=index)
        if self._decisions.rows:
            data.decisions = self._decisions.take()
        data.items = {t: b.take() for t, b in self._items.items() if b.rows}
        data.evidence, self._evidence, self._evidence_since = self._evidence, [], None
        future = self._executor.submit(self._write, data, end)
        future.add_done_callback(self._sealed)
        self._pending.append(future)
        return future

    def wait(self) -> None:
        """Block until every submitted seal is written."""
        pending, self._pending = self._pending, []
        for future in pending:
            exc = future.exception()
            if exc is not None:
                self._fail(exc)

    # -- sealer thread ------------------------------------------------------------------

    def _write(self, data: SealData, end: int) -> None:
        entries = write_seal(self.run_dir, data, run_id=self.run_id, worker=self.worker, metadata=self.metadata)
        self._files.extend(entries)
        if data.decisions is not None:
            self._last_seq = data.decisions[0]["seq"][-1]
        if time.monotonic() - self._checkpointed >= CHECKPOINT_SECONDS:
            self._checkpoint("running")
        assert self.journal is not None
        self.journal.wait_durable(end, timeout=120)
        (self.run_dir.journal / jr.segment_name(self.worker, data.index)).unlink(missing_ok=True)

    def _sealed(self, future: Future[None]) -> None:
        exc = future.exception()
        if exc is not None:
            self._fail(exc)

    def _checkpoint(self, state: str, stats: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self._checkpointed = time.monotonic()
        record = WorkerRecord(
            worker=self.worker,
            started_at=self._started_at,
            finished_at=utc_now_iso() if state != "running" else None,
            complete=state != "running" and not self.errors and not self._earlier_errors,
            errors=[*self._earlier_errors, *self.errors],
            policy_hash=self.policy_hash,
            files=list(self._files),
            stats=dict(stats or {}),
            components=self.components,
            state=state if not self.errors or state == "running" else "failed",
            last_seq=self._last_seq,
            sessions=[dict(s) for s in self._sessions],
        )
        return update_manifest(
            self.run_dir.root, run_id=self.run_id, policy=self.policy, record=record, signer=self.signer
        )

    # -- failures -----------------------------------------------------------------------

    def _committed(self, ticket: int) -> None:
        if ticket < 0 and self.journal is not None and self.journal.error is not None:
            self._fail(self.journal.error)
        if self.on_durable is not None:
            self.on_durable(ticket)

    def _fail(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message in self.errors:
            return
        self.errors.append(message)
        logger.error("Provenance log of worker %(worker)s failed: %(msg)s", {"worker": self.worker, "msg": message})
        if self.on_error is not None:
            self.on_error(exc)

    @property
    def files(self) -> list[FileEntry]:
        return list(self._files)


__all__ = ["WorkerLog"]

"""Finish the log of a worker that was killed: journal segments become sealed files.

A worker killed at any moment (SIGKILL, power loss) leaves, besides the files it had
published, its journal segments (``.journal/<worker>-<NNNNNN>.wal``) and perhaps hidden
temporary files. :func:`recover_worker` turns that back into a complete, verifiable log:

1. every segment is read up to its torn tail (frames after the last good CRC were never
   reported durable, so no fetch depended on them);
2. for each seal, files already published are adopted as they are, missing ones are written
   from the segment with the same code the live writer uses (:func:`pipelines.seal.write_seal`);
3. files published after the last manifest checkpoint are adopted in seal order; an
   unlisted file *older* than the last checkpoint is never adopted (nothing legitimate
   produces one, so ``verify`` keeps reporting it);
4. the worker's manifest section is rewritten (``state: recovered``, chain extended, signed
   when a key is given), then the segments and temporary files are deleted.

It is idempotent, it refuses to touch a worker that is still running (its lock is held),
and the same function prepares a worker for ``PROVENANCE_RESUME`` (the chain continues).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import journal as jr
from pipelines.manifest import (
    FileEntry,
    WorkerRecord,
    entries_from_json,
    load_manifest,
    update_manifest,
    worker_section,
)
from pipelines.records import EvidenceEntry, decode_item, decode_row
from pipelines.rundir import MANIFEST_NAME, RunDir, utc_now_iso, worker_files
from pipelines.schema import DECISIONS, ITEM_SCHEMAS
from pipelines.seal import SealData, adopt, columns_of, write_seal
from pipelines.signing import Signer

logger = logging.getLogger(__name__)


class WorkerBusy(RuntimeError):
    """Another process holds the worker's lock: it is still writing."""


@contextmanager
def worker_lock(run_dir: RunDir, worker: str) -> Iterator[int]:
    """Hold ``.journal/<worker>.lock`` exclusively; :class:`WorkerBusy` if another process does."""
    run_dir.journal.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir.journal / f"{worker}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerBusy(f"worker {worker!r} of {run_dir.root} is running in another process") from None
        yield fd
    finally:
        os.close(fd)


@dataclass(slots=True)
class WorkerState:
    """What a worker's log holds: enough to verify it and to continue its chain."""

    worker: str
    files: list[FileEntry] = field(default_factory=list)
    last_seq: int = 0
    next_seal: int = 1
    sessions: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None
    components: dict[str, bool] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    policy_hash: str = ""
    policy: dict[str, Any] | None = None
    state: str = "closed"
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Recovery:
    """What :func:`recover_worker` did."""

    worker: str
    seals: list[int] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    torn_bytes: int = 0
    state: WorkerState | None = None

    @property
    def changed(self) -> bool:
        return bool(self.seals or self.written or self.adopted)


def _header(records: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    for kind, payload in records:
        if kind == jr.HEADER:
            try:
                data = json.loads(payload)
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _seal_data(index: int, records: list[tuple[bytes, bytes]]) -> SealData:
    decisions: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {}
    data = SealData(index=index)
    header = _header(records)
    columns = header.get("columns")
    constants = header.get("constants") if isinstance(header.get("constants"), Mapping) else None
    for kind, payload in records:
        if kind == jr.DECISION:
            decisions.append(decode_row(payload, columns, constants))
        elif kind == jr.ITEM:
            item_type, row = decode_item(payload)
            items.setdefault(item_type, []).append(row)
        elif kind == jr.EVIDENCE:
            data.evidence.append(EvidenceEntry.decode(payload))
    if decisions:
        data.decisions = columns_of(DECISIONS, decisions)
    for item_type, rows in items.items():
        if item_type in ITEM_SCHEMAS:
            data.items[item_type] = columns_of(ITEM_SCHEMAS[item_type], rows)
        else:
            logger.error("Journal holds %(n)d %(t)s items, a type this version does not know; not recovered",
                         {"n": len(rows), "t": item_type})
    return data


def last_seq_of(path: Path) -> int:
    """Highest ``seq`` in a decisions part (from its metadata when present)."""
    parquet = pq.ParquetFile(path)
    meta = parquet.schema_arrow.metadata or {}
    value = meta.get(b"heed.seq_last")
    if value is not None and value.isdigit():
        return int(value)
    seq = parquet.read(columns=["seq"])["seq"]
    return int(pc.max(seq).as_py() or 0) if len(seq) else 0


def _seal_of(entry: FileEntry) -> int:
    m = re.search(r"-(\d{6})\.(?:parquet|warc\.gz)$", entry.path)
    return int(m[1]) if m else 0


def load_state(run_dir: RunDir, worker: str) -> WorkerState:
    """The worker's state as its manifest section records it (empty if not listed)."""
    state = WorkerState(worker=worker)
    section = worker_section(run_dir.root, worker)
    if section is None:
        return state
    state.files = entries_from_json(section.get("files") or [])
    state.last_seq = int(section.get("last_seq") or 0)
    state.sessions = list(section.get("sessions") or [])
    state.started_at = section.get("started_at")
    state.components = dict(section.get("components") or {})
    state.errors = list(section.get("errors") or [])
    state.policy_hash = str(section.get("policy_hash") or "")
    state.state = str(section.get("state") or ("closed" if section.get("complete") else "running"))
    state.stats = dict(section.get("stats") or {})
    state.next_seal = max((_seal_of(e) for e in state.files), default=0) + 1
    state.policy = dict(load_manifest(run_dir.root).get("policy") or {})
    return state


def _remove_temporaries(run_dir: RunDir, worker: str) -> None:
    pattern = re.compile(rf"^\..*-{re.escape(worker)}-\d{{6}}\.(?:parquet|warc\.gz)\.tmp$")
    dirs = [run_dir.decisions, run_dir.evidence, *sorted((run_dir.root / "items").glob("*"))]
    for directory in dirs:
        if directory.is_dir():
            for path in directory.iterdir():
                if pattern.match(path.name):
                    path.unlink(missing_ok=True)


def recover_worker(
    run_dir: Path | RunDir,
    worker: str,
    *,
    signer: Signer | None = None,
    locked: bool = False,
) -> Recovery:
    """Rebuild ``worker``'s log from what it left (see the module docstring)."""
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
    if not locked:
        with worker_lock(rd, worker):
            return recover_worker(rd, worker, signer=signer, locked=True)
    state = load_state(rd, worker)
    result = Recovery(worker=worker, state=state)
    listed = {e.path for e in state.files}
    last_listed = state.next_seal - 1
    segments = dict(jr.segments(rd.journal, worker))
    header: dict[str, Any] = {}
    contents = {}
    for index, path in sorted(segments.items()):
        read = jr.read_segment(path)
        contents[index] = read.records
        result.torn_bytes += read.torn_bytes
        header = header or _header(read.records)
    on_disk = worker_files(rd, worker)
    for seal in sorted(set(on_disk) | set(segments)):
        if seal <= last_listed and seal not in segments:
            continue  # listed already, or an unlisted older file verify must keep reporting
        if seal in segments:
            data = _seal_data(seal, contents[seal])
            if not data.empty:
                write_seal(rd, data, run_id=_run_id(rd, header), worker=worker,
                           metadata=_metadata(rd, worker, header), adopt_existing=True)
        fresh = worker_files(rd, worker).get(seal, [])
        new = [(kind, path) for kind, path in fresh if rd.relative(path) not in listed]
        for kind, path in new:
            info = adopt(path, kind)
            entry = FileEntry(path=rd.relative(path), kind=kind, sha256=info.sha256, rows=info.rows, bytes=info.bytes)
            state.files.append(entry)
            listed.add(entry.path)
            existed = seal in on_disk and path in [p for _k, p in on_disk[seal]]
            (result.adopted if existed else result.written).append(entry.path)
        if new:
            result.seals.append(seal)
    all_seals = [*(_seal_of(e) for e in state.files), *segments, last_listed]
    state.next_seal = max(all_seals, default=0) + 1
    decisions = [e for e in state.files if e.kind == "decisions"]
    if decisions:
        state.last_seq = last_seq_of(rd.root / decisions[-1].path)
    crashed = state.state == "running" or bool(segments)
    if crashed or result.changed:
        _finish_section(rd, state, header, signer)
    for path in segments.values():
        path.unlink(missing_ok=True)
    _remove_temporaries(rd, worker)
    if crashed or result.changed:
        logger.info(
            "Recovered worker %(worker)s of %(dir)s: %(written)d files written, %(adopted)d adopted, "
            "%(torn)d torn bytes skipped",
            {"worker": worker, "dir": rd.root, "written": len(result.written),
             "adopted": len(result.adopted), "torn": result.torn_bytes},
        )
    return result


def _run_id(rd: RunDir, header: Mapping[str, Any]) -> str:
    if rd.manifest.exists():
        return str(load_manifest(rd.root).get("run_id"))
    return str(header.get("run_id") or rd.run_id)


def _metadata(rd: RunDir, worker: str, header: Mapping[str, Any]) -> dict[str, str]:
    meta = header.get("metadata")
    base = dict(meta) if isinstance(meta, Mapping) else {}
    base.setdefault("heed.run_id", _run_id(rd, header))
    base.setdefault("heed.worker", worker)
    base["heed.recovered"] = "true"
    return {str(k): str(v) for k, v in base.items()}


def _finish_section(rd: RunDir, state: WorkerState, header: Mapping[str, Any], signer: Signer | None) -> None:
    now = utc_now_iso()
    if not state.components and isinstance(header.get("components"), Mapping):
        state.components = {str(k): bool(v) for k, v in header["components"].items()}
    state.policy_hash = state.policy_hash or str(header.get("policy_hash") or "")
    policy = state.policy or (dict(header["policy"]) if isinstance(header.get("policy"), Mapping) else {})
    started = state.started_at or str(header.get("started_at") or now)
    if state.sessions and state.sessions[-1].get("ended") == "running":
        state.sessions[-1] = {**state.sessions[-1], "finished_at": now, "ended": "killed; recovered"}
    elif state.state == "running" or not state.sessions:
        state.sessions.append({"started_at": str(header.get("started_at") or started), "finished_at": now,
                               "ended": "killed; recovered"})
    state.state = "recovered"
    record = WorkerRecord(
        worker=state.worker,
        started_at=started,
        finished_at=now,
        complete=not state.errors,
        errors=state.errors,
        policy_hash=state.policy_hash,
        files=state.files,
        stats=state.stats,
        components=state.components,
        state=state.state,
        last_seq=state.last_seq,
        sessions=state.sessions,
    )
    update_manifest(rd.root, run_id=_run_id(rd, header), policy=policy, record=record, signer=signer)


def workers_to_recover(run_dir: Path) -> list[str]:
    """Workers of a run that left journal segments or never closed."""
    rd = RunDir(Path(run_dir))
    names = set(jr.workers_with_segments(rd.journal))
    if (rd.root / MANIFEST_NAME).exists():
        for name, section in load_manifest(rd.root)["workers"].items():
            if isinstance(section, Mapping) and section.get("state") == "running":
                names.add(str(name))
    return sorted(names)


def recover_run(run_dir: Path, *, signer: Signer | None = None) -> list[Recovery]:
    """Recover every worker of a run that needs it."""
    return [recover_worker(run_dir, worker, signer=signer) for worker in workers_to_recover(run_dir)]


__all__ = [
    "Recovery",
    "WorkerBusy",
    "WorkerState",
    "load_state",
    "recover_run",
    "recover_worker",
    "worker_lock",
    "workers_to_recover",
]

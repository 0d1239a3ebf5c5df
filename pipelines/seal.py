"""A seal: the rows and evidence of one journal segment, written as published files.

The journal (:mod:`pipelines.journal`) makes rows durable; a **seal** turns one segment's
worth of them into the run directory's public form, all files numbered with the seal:

* ``decisions/decisions-<worker>-<NNNNNN>.parquet`` (when the seal has decisions),
* ``items/<type>/<type>-<worker>-<NNNNNN>.parquet`` per item type with rows,
* ``evidence/evidence-<worker>-<NNNNNN>.warc.gz`` (when the seal has evidence),

in that order, which is also their order in the manifest's hash chain. The live writer
(:mod:`pipelines.worklog`) and crash recovery (:mod:`pipelines.recover`) both call
:func:`write_seal`, so a recovered seal has exactly the layout of a live one. In recovery a
file that was already published before the crash is adopted as it is (``adopt=True``):
published files are complete by construction (temporary name, fsync, rename).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.evidence import count_records, write_warc
from pipelines.manifest import FileEntry
from pipelines.parquet import PartInfo, write_part
from pipelines.records import EvidenceEntry
from pipelines.rundir import RunDir, decisions_prefix, evidence_prefix, items_prefix, part_name
from pipelines.schema import DECISIONS, ITEM_SCHEMAS


class ColumnBuffer:
    """Rows of one schema buffered column-wise (``Table.from_pydict`` is ~2x faster than
    building from row dicts, reference/perf-notes.md)."""

    __slots__ = ("names", "columns", "rows", "oldest")

    def __init__(self, schema: pa.Schema) -> None:
        self.names: frozenset[str] = frozenset(schema.names)
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.rows = 0
        self.oldest: float | None = None

    def append(self, row: Mapping[str, Any]) -> None:
        if not self.names.issuperset(row.keys()):
            raise ValueError(f"unknown columns {sorted(set(row.keys()) - self.names)}")
        get = row.get
        for name, column in self.columns.items():
            column.append(get(name))
        if self.oldest is None:
            self.oldest = time.monotonic()
        self.rows += 1

    def take(self) -> tuple[dict[str, list[Any]], int]:
        columns, rows = self.columns, self.rows
        self.columns = {name: [] for name in columns}
        self.rows, self.oldest = 0, None
        return columns, rows


@dataclass(slots=True)
class SealData:
    """Everything one seal writes."""

    index: int
    decisions: tuple[dict[str, list[Any]], int] | None = None
    items: dict[str, tuple[dict[str, list[Any]], int]] = field(default_factory=dict)
    evidence: list[EvidenceEntry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.decisions and self.decisions[1]) and not self.items and not self.evidence


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def adopt(path: Path, kind: str) -> PartInfo:
    """:class:`PartInfo` of a file that is already published."""
    rows = count_records(path) if kind == "evidence" else pq.ParquetFile(path).metadata.num_rows
    return PartInfo(path=path, rows=rows, sha256=sha256_file(path), bytes=path.stat().st_size)


def write_seal(
    run_dir: RunDir,
    data: SealData,
    *,
    run_id: str,
    worker: str,
    metadata: Mapping[str, str],
    adopt_existing: bool = False,
) -> list[FileEntry]:
    """Write the seal's files in chain order and return their manifest entries."""
    base = {k.encode(): v.encode() for k, v in metadata.items()}
    base[b"heed.part"] = str(data.index).encode()
    written: list[tuple[str, PartInfo]] = []

    def existing(path: Path, kind: str) -> PartInfo | None:
        return adopt(path, kind) if adopt_existing and path.exists() else None

    if data.decisions is not None and data.decisions[1]:
        columns, rows = data.decisions
        path = run_dir.decisions / part_name(decisions_prefix(worker), data.index)
        seq = columns["seq"]
        meta = dict(base)
        meta[b"heed.seq_first"], meta[b"heed.seq_last"] = str(seq[0]).encode(), str(seq[-1]).encode()
        info = existing(path, "decisions") or write_part(path, DECISIONS, columns, rows, meta)
        written.append(("decisions", info))
    for item_type in sorted(data.items):
        columns, rows = data.items[item_type]
        if not rows:
            continue
        path = run_dir.items(item_type) / part_name(items_prefix(item_type, worker), data.index)
        info = existing(path, "items") or write_part(path, ITEM_SCHEMAS[item_type], columns, rows, base)
        written.append(("items", info))
    if data.evidence:
        path = run_dir.evidence / part_name(evidence_prefix(worker), data.index, ".warc.gz")
        info = existing(path, "evidence") or write_warc(
            path, data.evidence, run_id=run_id, worker=worker, seal=data.index
        )
        written.append(("evidence", info))
    return [
        FileEntry(path=run_dir.relative(p.path), kind=kind, sha256=p.sha256, rows=p.rows, bytes=p.bytes)
        for kind, p in written
    ]


def columns_of(schema: pa.Schema, rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[Any]], int]:
    """Column lists for ``rows`` (used when rebuilding a seal from the journal)."""
    buffer = ColumnBuffer(schema)
    for row in rows:
        buffer.append({k: v for k, v in row.items() if k in buffer.names})
    return buffer.take()


__all__ = ["ColumnBuffer", "SealData", "adopt", "columns_of", "sha256_file", "write_seal"]

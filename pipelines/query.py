"""``audit query RUN_DIR SQL``: ask a run anything, in SQL, with DuckDB.

Views over the run directory (read-only; nothing is copied):

* ``decisions`` — every ``decisions/*.parquet`` part (all workers);
* ``items_<type>`` — every part of ``items/<type>/`` (``items_recording``, …), and
  ``items`` for the only item type when there is just one;
* ``evidence`` — one row per archived WARC record: ``record_id``, ``kind``, ``url``,
  ``sha256``, ``status``, ``error``, ``date``, ``file`` (bodies stay in the WARC files).

Example: ``SELECT verdict, count(*) FROM decisions GROUP BY 1``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.archive import EvidenceIndex
from pipelines.rundir import DECISIONS_DIR, ITEMS_DIR
from pipelines.verify import run_dir_of


def connect(run_dir: Path | str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the run's views defined."""
    root = run_dir_of(run_dir)
    con = duckdb.connect()
    files = sorted(str(p) for p in (root / DECISIONS_DIR).glob("*.parquet"))
    if files:
        con.read_parquet(files, union_by_name=True).create_view("decisions")
    types = []
    for type_dir in sorted(p for p in (root / ITEMS_DIR).glob("*") if p.is_dir()):
        item_files = sorted(str(p) for p in type_dir.glob("*.parquet"))
        if item_files and type_dir.name.replace("_", "").isalnum():
            con.read_parquet(item_files, union_by_name=True).create_view(f"items_{type_dir.name}")
            types.append(type_dir.name)
    if len(types) == 1:
        con.execute(f"CREATE VIEW items AS SELECT * FROM items_{types[0]}")
    records = EvidenceIndex.load(root).records()
    table = pa.table({
        "record_id": [r.record_id for r in records], "kind": [r.kind for r in records],
        "url": [r.url for r in records], "sha256": [r.sha256 for r in records],
        "status": pa.array([r.status for r in records], pa.int32()), "error": [r.error for r in records],
        "date": [r.date for r in records], "file": [r.file.name for r in records],
    })
    con.register("evidence", table)
    return con


def run_query(run_dir: Path | str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = connect(run_dir)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description or []]
        return names, cursor.fetchall()
    finally:
        con.close()


def format_rows(names: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return out.getvalue()
    cells = [list(names), *[["" if v is None else str(v) for v in r] for r in rows]]
    widths = [min(60, max(len(c[i]) for c in cells)) for i in range(len(names))]
    lines = ["  ".join(c[:60].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


__all__ = ["connect", "format_rows", "run_query"]

"""Read a run directory back: a summary of what was decided (and, re-exported from
:mod:`pipelines.verify`, the integrity check).

These are pure readers over the run directory (DESIGN.md, "The run directory"); they need
neither Scrapy nor the crawl's settings, so an auditor can run them on a copied directory.
``scrapy audit summary|verify`` are thin shells over :func:`summary`,
:func:`format_summary` and :func:`verify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from pipelines.rundir import DECISIONS_DIR, ITEMS_DIR
from pipelines.verify import CHECKS, AuditContext, AuditUsageError, Check, verify
from pipelines.verify import run_dir_of as _run_dir


# -- summary ---------------------------------------------------------------------------


def _parquet_files(directory: Path, pattern: str) -> list[str]:
    return sorted(str(p) for p in directory.glob(pattern) if p.is_file())


def summary(run_dir: Path | str) -> dict[str, Any]:
    """Counts over ``decisions/*.parquet`` and ``items/*/*.parquet`` (DuckDB)."""
    root = _run_dir(run_dir)
    con = duckdb.connect()
    try:
        out: dict[str, Any] = {
            "run_dir": str(root),
            "decisions": 0,
            "by_worker": {},
            "by_stage": {},
            "by_stage_verdict": {},
            "by_reason_family": {},
            "by_host_verdict": {},
            "items": {},
        }
        files = _parquet_files(root / DECISIONS_DIR, "*.parquet")
        if files:
            con.read_parquet(files).create_view("d")

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return con.execute(sql).fetchall()

            out["decisions"] = rows("SELECT count(*) FROM d")[0][0]
            out["by_worker"] = dict(rows("SELECT worker, count(*) FROM d GROUP BY 1 ORDER BY 1"))
            out["by_stage"] = dict(rows("SELECT stage, count(*) FROM d GROUP BY 1 ORDER BY 1"))
            out["by_stage_verdict"] = _nest(
                rows("SELECT stage, verdict, count(*) FROM d GROUP BY 1, 2 ORDER BY 1, 2")
            )
            out["by_reason_family"] = dict(
                rows(
                    "SELECT split_part(reason, ':', 1) AS family, count(*) AS n "
                    "FROM (SELECT unnest(reasons) AS reason FROM d) GROUP BY 1 ORDER BY 2 DESC, 1"
                )
            )
            out["by_host_verdict"] = _nest(
                rows(
                    "SELECT regexp_extract(origin, '^[^:]*://(.*?)(:[0-9]+)?$', 1) AS host, verdict, count(*) "
                    "FROM d GROUP BY 1, 2 ORDER BY 1, 2"
                )
            )
        for type_dir in sorted(p for p in (root / ITEMS_DIR).glob("*") if p.is_dir()):
            item_files = _parquet_files(type_dir, "*.parquet")
            if item_files:
                count = con.execute("SELECT count(*) FROM read_parquet(?)", [item_files]).fetchone()
                out["items"][type_dir.name] = count[0] if count else 0
        return out
    finally:
        con.close()


def _nest(rows: Iterable[tuple[Any, Any, int]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for outer, inner, count in rows:
        nested.setdefault(str(outer), {})[str(inner)] = int(count)
    return nested


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        # first column is a label, the others are counts
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()

    body = [line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])]
    if not rows:
        body.append("(none)")
    return "\n".join([title, *body])


def _verdict_rows(nested: Mapping[str, Mapping[str, int]]) -> tuple[list[str], list[list[Any]]]:
    verdicts = sorted({v for inner in nested.values() for v in inner})
    rows = [[k, *(inner.get(v, 0) for v in verdicts), sum(inner.values())] for k, inner in nested.items()]
    return [*verdicts, "total"], rows


def format_summary(data: Mapping[str, Any]) -> str:
    """Plain-text tables of a :func:`summary` result, for a terminal."""
    parts = [f"run: {data.get('run_dir', '')}", f"decisions: {data.get('decisions', 0)}"]
    parts.append(_table("by worker", ["worker", "rows"], list(data.get("by_worker", {}).items())))
    cols, rows = _verdict_rows(data.get("by_stage_verdict", {}))
    parts.append(_table("by stage and verdict", ["stage", *cols], rows))
    parts.append(_table("by reason family", ["family", "count"], list(data.get("by_reason_family", {}).items())))
    cols, rows = _verdict_rows(data.get("by_host_verdict", {}))
    parts.append(_table("by host and verdict", ["host", *cols], rows))
    parts.append(_table("items", ["item_type", "rows"], list(data.get("items", {}).items())))
    return "\n\n".join(parts) + "\n"


__all__ = ["CHECKS", "AuditContext", "AuditUsageError", "Check", "format_summary", "summary", "verify"]

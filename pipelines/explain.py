"""``audit explain RUN_DIR URL``: every decision about one URL, with its evidence.

For each row (in ``worker``, ``seq`` order) the auditor sees the verdict, the reasons, the
rules, the raw signals and headers, and then each piece of evidence as archived: the WARC
file and record, when it was fetched, its status, and — for a robots.txt rule such as
``robots.txt:7 Disallow: /private/`` — line 7 quoted from the archived bytes themselves, so
the rule can be checked against the file rather than against heed's word. Items taken from
the URL are listed last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb

from pipelines.archive import EvidenceIndex, status_signals
from pipelines.rundir import DECISIONS_DIR, ITEMS_DIR
from pipelines.verify import run_dir_of

_ROBOTS_RULE: Final = re.compile(r"^robots\.txt:(\d+) ")
_LINE_BREAK: Final = re.compile(rb"\r\n|\r|\n")
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(slots=True)
class Explanation:
    url: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)


def quote_robots_line(body: bytes, line: int) -> str | None:
    """Line ``line`` (1-based, as robots.txt rules number them) of an archived robots.txt."""
    data = body[len(_BOM):] if body.startswith(_BOM) else body
    lines = _LINE_BREAK.split(data)
    if 1 <= line <= len(lines):
        return lines[line - 1].decode("utf-8", "replace")
    return None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def explain(run_dir: Path | str, url: str) -> Explanation:
    root = run_dir_of(run_dir)
    out = Explanation(url=url)
    index = EvidenceIndex.load(root)
    con = duckdb.connect()
    try:
        files = sorted(str(p) for p in (root / DECISIONS_DIR).glob("*.parquet"))
        if files:
            out.decisions = _rows(
                con, "SELECT * FROM read_parquet(?, union_by_name=true) WHERE url = ? ORDER BY worker, seq", [files, url]
            )
        for type_dir in sorted(p for p in (root / ITEMS_DIR).glob("*") if p.is_dir()):
            item_files = sorted(str(p) for p in type_dir.glob("*.parquet"))
            if item_files:
                found = _rows(con, "SELECT * FROM read_parquet(?, union_by_name=true) WHERE page_url = ? "
                              "ORDER BY item_id", [item_files, url])
                out.items += [{k: r.get(k) for k in ("item_type", "item_id", "page_url", "title")} for r in found]
    finally:
        con.close()
    for row in out.decisions:
        row["_evidence"] = _evidence(index, row)
    return out


def _evidence(index: EvidenceIndex, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    ids = list(row.get("evidence_ids") or [])
    statuses = status_signals(row.get("signals") or [])
    robots_lines = [int(m[1]) for r in row.get("rules") or [] if (m := _ROBOTS_RULE.match(r))]
    for i, ev in enumerate(row.get("evidence") or []):
        record_id = ids[i] if i < len(ids) else None
        record = index.find(ev["kind"], ev["url"], ev["sha256"], record_id=record_id, status=statuses.get(ev["kind"]))
        entry: dict[str, Any] = {"kind": ev["kind"], "url": ev["url"], "sha256": ev["sha256"], "archived": record is not None}
        if record is not None:
            entry.update(record_id=record.record_id, file=record.file.name, date=record.date,
                         status=record.status, error=record.error)
            if ev["kind"] == "robots.txt" and robots_lines:
                body = index.with_body(record).body
                entry["quoted"] = {n: quote_robots_line(body, n) for n in robots_lines}
            elif ev["kind"] in ("headers", "html-meta"):
                entry["block"] = index.with_body(record).body.decode("utf-8", "replace")
        found.append(entry)
    return found


def format_explanation(ex: Explanation) -> str:
    if not ex.decisions and not ex.items:
        return f"no decision about {ex.url} in this run\n"
    lines = [f"url: {ex.url}", f"decisions: {len(ex.decisions)}", ""]
    for row in ex.decisions:
        reasons = ", ".join(row.get("reasons") or []) or "-"
        lines.append(f"[{row['worker']} #{row['seq']}] {row['ts']}  {row['stage']:5} {row['verdict'].upper():5}  {reasons}")
        for rule in row.get("rules") or []:
            lines.append(f"    rule: {rule}")
        for name in ("robots_group", "robots_line", "tdmrep_location", "tdm_policy", "http_status", "content_type",
                     "content_sha256", "content_length", "user_agent", "item_id"):
            if row.get(name) is not None:
                lines.append(f"    {name}: {row[name]}")
        for s in row.get("signals") or []:
            lines.append(f"    signal: {s['name']} = {s['value']}")
        for h in row.get("headers") or []:
            lines.append(f"    header: {h['name']}: {h['value']}")
        if row.get("redirect_chain"):
            lines.append(f"    redirected from: {' -> '.join(row['redirect_chain'])}")
        for ev in row["_evidence"]:
            lines.append(f"    evidence: {ev['kind']} {ev['url']} sha256:{ev['sha256'][:16]}…")
            if not ev["archived"]:
                lines.append("        NOT ARCHIVED in evidence/")
                continue
            status = ev.get("status") if ev.get("status") is not None else ev.get("error")
            lines.append(f"        archived: {ev['file']} {ev['record_id']} ({ev['date']}, status {status})")
            for number, text in (ev.get("quoted") or {}).items():
                lines.append(f"        robots.txt line {number}: {text!r}" if text is not None
                             else f"        robots.txt line {number}: NOT IN THE ARCHIVED FILE")
            if ev.get("block"):
                lines.extend(f"        | {b}" for b in ev["block"].rstrip("\r\n").splitlines())
        lines.append("")
    if ex.items:
        lines.append("items from this page:")
        lines.extend(f"    {i['item_type']} {i['item_id']} {i.get('title') or ''}".rstrip() for i in ex.items)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["Explanation", "explain", "format_explanation", "quote_robots_line"]

"""``audit report RUN_DIR -o report.html``: one self-contained page about a run.

The page holds everything inline (CSS in a ``<style>`` element, charts as SVG from
:mod:`pipelines.charts`, no script, no external reference), so it can be mailed, archived
and opened offline. Sections: the run (workers, states, signature), decisions by reason
family, by host and verdict, over time, the most-denied hosts, and items kept versus
dropped. All figures are DuckDB aggregates over the Parquet files, so the page is built in
seconds for millions of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Final

import duckdb

from pipelines.charts import (
    DENIED_HOST_COLOUR,
    FAMILY_COLOUR,
    ITEM_COLOURS,
    VERDICT_COLOURS,
    bar_chart,
    stacked_bar_chart,
    time_chart,
)
from pipelines.manifest import ManifestError, load_manifest
from pipelines.rundir import DECISIONS_DIR, ITEMS_DIR, write_atomic
from pipelines.verify import run_dir_of

_HOST: Final = "regexp_extract(origin, '^[^:]*://(.*?)(:[0-9]+)?$', 1)"
_STYLE: Final = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right}.muted{color:#666;font-size:13px}figure{margin:8px 0}
"""


def _nest(rows: Sequence[tuple[Any, Any, Any]]) -> list[tuple[str, dict[str, float]]]:
    out: dict[str, dict[str, float]] = {}
    for outer, inner, count in rows:
        out.setdefault(str(outer), {})[str(inner)] = float(count)
    return list(out.items())


def report_data(run_dir: Path | str) -> dict[str, Any]:
    """Everything the page shows, as plain values (also handy for tests and JSON)."""
    root = run_dir_of(run_dir)
    data: dict[str, Any] = {"run_dir": str(root), "families": [], "hosts": [], "timeline": [], "denied_hosts": [],
                            "items": {"kept": 0, "dropped": 0}, "item_types": {}, "decisions": 0}
    try:
        data["manifest"] = load_manifest(root)
    except ManifestError as exc:
        data["manifest_error"] = str(exc)
    con = duckdb.connect()
    try:
        files = sorted(str(p) for p in (root / DECISIONS_DIR).glob("*.parquet"))
        if files:
            con.read_parquet(files, union_by_name=True).create_view("d")
            q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
            data["decisions"] = q("SELECT count(*) FROM d")[0][0]
            data["families"] = [(str(f), float(n)) for f, n in q(
                "SELECT split_part(r, ':', 1) AS f, count(*) FROM (SELECT unnest(reasons) AS r FROM d) "
                "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20")]
            top = [h for (h,) in q(f"SELECT {_HOST} FROM d GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 20")]
            by_host = dict(_nest(q(f"SELECT {_HOST} AS h, verdict, count(*) FROM d GROUP BY 1, 2")))
            data["hosts"] = [(h, by_host.get(h, {})) for h in top]
            data["timeline"] = _timeline(con)
            data["denied_hosts"] = [(str(h), float(n), str(f or "")) for h, n, f in q(
                f"SELECT {_HOST} AS h, count(*) AS n, mode(split_part(reasons[1], ':', 1)) FROM d "
                "WHERE verdict = 'deny' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")]
            for verdict, n in q("SELECT verdict, count(*) FROM d WHERE stage = 'item' GROUP BY 1"):
                key = "kept" if verdict == "allow" else "dropped"
                data["items"][key] += int(n)
        for type_dir in sorted(p for p in (root / ITEMS_DIR).glob("*") if p.is_dir()):
            item_files = sorted(str(p) for p in type_dir.glob("*.parquet"))
            if item_files:
                data["item_types"][type_dir.name] = con.execute(
                    "SELECT count(*) FROM read_parquet(?)", [item_files]).fetchone()[0]
    finally:
        con.close()
    return data


def _timeline(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dict[str, float]]]:
    lo, hi = con.execute("SELECT min(epoch_us(ts)), max(epoch_us(ts)) FROM d").fetchone()
    if lo is None:
        return []
    width = max(1_000_000, -(-(hi - lo + 1) // 48))  # at most 48 columns, at least 1 s each
    rows = con.execute(
        "SELECT CAST((epoch_us(ts) - ?) // ? AS BIGINT) AS b, verdict, count(*) FROM d GROUP BY 1, 2 ORDER BY 1",
        [lo, width]).fetchall()
    counts: dict[int, dict[str, float]] = {}
    for bucket, verdict, n in rows:
        counts.setdefault(int(bucket), {})[str(verdict)] = float(n)
    last = max(counts)

    def label(b: int) -> str:
        return datetime.fromtimestamp((lo + b * width) / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    return [(label(b), counts.get(b, {})) for b in range(last + 1)]


def _run_table(data: Mapping[str, Any]) -> str:
    manifest = data.get("manifest")
    if manifest is None:
        return f"<p class='muted'>{escape(str(data.get('manifest_error', 'no manifest')))}</p>"
    signature = manifest.get("signature")
    rows = [("run", manifest.get("run_id")), ("started", manifest.get("started_at")),
            ("finished", manifest.get("finished_at")), ("complete", manifest.get("complete")),
            ("signed", signature["key_fingerprint"] if isinstance(signature, Mapping) else "no"),
            ("policy hash", (manifest.get("policy") or {}).get("hash")), ("decisions", f"{data['decisions']:,}")]
    for name, count in data["item_types"].items():
        rows.append((f"items: {name}", f"{count:,}"))
    for worker, section in sorted((manifest.get("workers") or {}).items()):
        rows.append((f"worker {worker}", f"{section.get('state')}, {len(section.get('files') or [])} files, "
                                         f"last seq {section.get('last_seq')}"))
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render(data: Mapping[str, Any]) -> str:
    manifest = data.get("manifest") or {}
    title = f"heed run {manifest.get('run_id') or Path(str(data['run_dir'])).name}"
    denied_rows = "".join(
        f"<tr><td>{escape(h)}</td><td class='n'>{n:,.0f}</td><td>{escape(f)}</td></tr>"
        for h, n, f in data["denied_hosts"])
    items = data["items"]
    sections = [
        f"<h1>{escape(title)}</h1><p class='muted'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} "
        "from the run directory; self-contained, no network needed.</p>",
        "<h2>Run</h2>" + _run_table(data),
        "<h2>Decisions by reason family</h2><figure id='families'>"
        + bar_chart(data["families"], colour=FAMILY_COLOUR, title="decisions by reason family") + "</figure>",
        "<h2>Decisions by host</h2><figure id='hosts'>"
        + stacked_bar_chart(data["hosts"], colours=VERDICT_COLOURS, title="decisions by host") + "</figure>",
        "<h2>Decisions over time</h2><figure id='timeline'>"
        + time_chart(data["timeline"], colours=VERDICT_COLOURS, title="decisions over time") + "</figure>",
        "<h2>Most-denied hosts</h2><figure id='denied'>"
        + bar_chart([(h, n) for h, n, _f in data["denied_hosts"]], colour=DENIED_HOST_COLOUR,
                    title="top denied hosts") + "</figure>"
        + (f"<table><tr><th>host</th><th>denials</th><th>main reason</th></tr>{denied_rows}</table>"
           if denied_rows else ""),
        "<h2>Items kept and dropped</h2><figure id='items'>"
        + stacked_bar_chart([("items", {"kept": items["kept"], "dropped": items["dropped"]})] if any(items.values())
                            else [], colours=ITEM_COLOURS, title="items kept vs dropped") + "</figure>",
    ]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "".join(sections) + "</body></html>\n")


def write_report(run_dir: Path | str, output: Path) -> dict[str, Any]:
    data = report_data(run_dir)
    write_atomic(output, render(data).encode("utf-8"), replace=True)
    return data


__all__ = ["render", "report_data", "write_report"]

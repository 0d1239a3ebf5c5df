"""``audit recheck RUN_DIR --registry FILE … [--ai-tokens FILE]``: the retroactive case.

Rights holders declare reservations after a crawl as well; a dataset built months ago must
then lose the items they cover. ``recheck`` applies newer registries and/or a newer
AI-token list to a past run **without crawling again** and lists every kept item that must
now leave the dataset (a takedown list):

* registry ``domain``/``host``/``url-prefix`` entries against each item's ``page_url`` and
  ``audio_url``;
* ``party`` entries against the party columns the item table has (``record_label``,
  ``copyright_holder``, ``music_publisher``, ``rights_holder_candidates``, …),
  ``isrc-prefix`` against ``isrc`` and ``iswc`` against ``iswc`` — whichever of these
  columns exist in ``items/<type>/`` (read from the Parquet schema, so older runs work);
* a newer AI-token list against the robots.txt archived for the item's page: a token that
  now reserves and has a group disallowing the page takes the item down.

Items are streamed batch by batch; robots.txt files are parsed once per archived record.
The list is written as CSV (``item_type,item_id,page_url,reasons,rules,holders``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from crawler.policy.decision import ALLOW, Finding
from crawler.policy.registry import Registry
from crawler.policy.robots import RobotsTxt
from crawler.policy.tokens import AiTokens
from pipelines.archive import EvidenceIndex, status_signals
from pipelines.manifest import load_manifest
from pipelines.rundir import DECISIONS_DIR, ITEMS_DIR
from pipelines.verify import run_dir_of

#: Item columns holding party names (strings or lists of strings).
PARTY_COLUMNS: Final = ("record_label", "copyright_holder", "music_publisher", "rights_holder_candidates",
                        "label", "publisher", "rights_holder")
URL_COLUMNS: Final = ("page_url", "audio_url")
HEADER: Final = ("item_type", "item_id", "page_url", "reasons", "rules", "holders")


@dataclass(frozen=True, slots=True)
class Takedown:
    item_type: str
    item_id: str
    page_url: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    holders: tuple[str, ...]


@dataclass(slots=True)
class RecheckResult:
    checked: int = 0
    takedowns: list[Takedown] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return [str(value)] if str(value).strip() else []


class _RobotsLookup:
    """The robots.txt a page's fetch decision rested on, parsed once per archived record."""

    def __init__(self, root: Path) -> None:
        self.index = EvidenceIndex.load(root)
        self.parsed: dict[str, RobotsTxt | None] = {}
        self.by_url: dict[str, str] = {}
        files = sorted(str(p) for p in (root / DECISIONS_DIR).glob("*.parquet"))
        if not files:
            return
        con = duckdb.connect()
        try:
            names = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)",
                                               [files]).fetchall()}
            ids = "evidence_ids" if "evidence_ids" in names else "NULL"  # runs older than the journal
            rows = con.execute(
                f"SELECT url, evidence, {ids}, signals FROM read_parquet(?, union_by_name=true) "
                "WHERE stage = 'fetch' AND verdict = 'allow' ORDER BY worker, seq", [files]
            ).fetchall()
        finally:
            con.close()
        for url, evidence, ids, signals in rows:
            statuses = status_signals(signals or [])
            for i, ev in enumerate(evidence or []):
                if ev["kind"] == "robots.txt":
                    record_id = ids[i] if ids and i < len(ids) else None
                    record = self.index.find("robots.txt", ev["url"], ev["sha256"], record_id=record_id,
                                             status=statuses.get("robots.txt"))
                    if record is not None and record.status is not None and 200 <= record.status < 300:
                        self.by_url[url] = record.record_id

    def robots_for(self, url: str) -> RobotsTxt | None:
        record_id = self.by_url.get(url)
        if record_id is None:
            return None
        if record_id not in self.parsed:
            record = self.index.by_id[record_id]
            self.parsed[record_id] = RobotsTxt.parse(self.index.with_body(record).body)
        return self.parsed[record_id]


def _ai_token_findings(lookup: _RobotsLookup, tokens: AiTokens, strict: bool, url: str) -> list[Finding]:
    robots = lookup.robots_for(url)
    if robots is None:
        return []
    reserving = tokens.reserving(strict)
    findings = []
    for token in sorted(t for t in robots.agents if t in reserving):
        match = robots.match(token, url, fallback=False)
        if match is not None and not match.allowed and match.rule is not None:
            known = tokens.by_token(token)
            findings.append(Finding(verdict="deny", reasons=(f"robots.ai-token:{known.token if known else token}",),
                                    rules=(match.rule.describe(),)))
    return findings


def recheck(
    run_dir: Path | str,
    *,
    registries: Sequence[Path] = (),
    ai_tokens: Path | None = None,
) -> RecheckResult:
    """Items of the run that the given registries or AI-token list now reserve."""
    root = run_dir_of(run_dir)
    registry = Registry.load(list(registries)) if registries else Registry.empty()
    tokens = AiTokens.load(ai_tokens) if ai_tokens is not None else None
    strict = bool(((load_manifest(root).get("policy") or {}).get("config") or {}).get("strict", True))
    lookup = _RobotsLookup(root) if tokens is not None else None
    result = RecheckResult()
    for type_dir in sorted(p for p in (root / ITEMS_DIR).glob("*") if p.is_dir()):
        files = sorted(type_dir.glob("*.parquet"))
        if not files:
            continue
        # parts written by different heed versions may differ in columns: read their union
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        dataset = ds.dataset([str(f) for f in files], format="parquet", schema=schema)
        names = set(dataset.schema.names)
        parties = [c for c in PARTY_COLUMNS if c in names]
        urls = [c for c in URL_COLUMNS if c in names]
        idents = [c for c in ("isrc", "iswc") if c in names]
        result.columns[type_dir.name] = [*urls, *parties, *idents]
        columns = sorted({"item_type", "item_id", "page_url", *urls, *parties, *idents} & names)
        for batch in dataset.to_batches(columns=columns, batch_size=8192):
            for row in batch.to_pylist():
                result.checked += 1
                findings = _item_findings(row, registry, parties, urls, idents)
                if lookup is not None and tokens is not None and row.get("page_url"):
                    findings += _ai_token_findings(lookup, tokens, strict, row["page_url"])
                denied = [f for f in findings if f.verdict != ALLOW]
                if denied:
                    result.takedowns.append(_takedown(row, type_dir.name, denied))
    return result


def _item_findings(row: Mapping[str, Any], registry: Registry, parties: Iterable[str], urls: Iterable[str],
                   idents: Iterable[str]) -> list[Finding]:
    if not registry.entries:
        return []
    findings = [registry.url_finding(u) for c in urls for u in _values(row.get(c))]
    findings += [registry.item_finding("party", v) for c in parties for v in _values(row.get(c))]
    for column in idents:
        scope = "isrc-prefix" if column == "isrc" else "iswc"
        findings += [registry.item_finding(scope, v) for v in _values(row.get(column))]
    return findings


def _takedown(row: Mapping[str, Any], item_type: str, findings: list[Finding]) -> Takedown:
    return Takedown(
        item_type=str(row.get("item_type") or item_type),
        item_id=str(row.get("item_id")),
        page_url=str(row.get("page_url") or ""),
        reasons=tuple(dict.fromkeys(r for f in findings for r in f.reasons)),
        rules=tuple(dict.fromkeys(r for f in findings for r in f.rules)),
        holders=tuple(dict.fromkeys(v for f in findings for n, v in f.signals if n == "registry-holder")),
    )


def takedown_csv(takedowns: Iterable[Takedown]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for t in takedowns:
        writer.writerow([t.item_type, t.item_id, t.page_url, " ".join(t.reasons), " | ".join(t.rules),
                         " | ".join(t.holders)])
    return out.getvalue()


__all__ = ["HEADER", "PARTY_COLUMNS", "RecheckResult", "Takedown", "recheck", "takedown_csv"]

"""``audit recheck RUN_DIR [--registry FILE …] [--ai-tokens FILE] [--against NEWER_RUN_DIR]``.

Rights holders declare reservations after a crawl as well; a dataset built months ago must
then lose the items they cover. ``recheck`` applies newer registries, a newer AI-token list
and/or what a newer run found to a past run **without crawling again** and lists every kept
item that must now leave the dataset (a takedown list):

* registry ``domain``/``host``/``url-prefix`` entries against each item's ``page_url`` and
  ``audio_url``;
* ``party`` entries against the party columns the item table has (``record_label``,
  ``copyright_holder``, ``music_publisher``, ``rights_holder_candidates``, …),
  ``isrc-prefix`` against ``isrc`` and ``iswc`` against ``iswc`` — whichever of these
  columns exist in ``items/<type>/`` (read from the Parquet schema, so older runs work);
* a newer AI-token list against the robots.txt archived for the item's page: a token that
  now reserves and has a group disallowing the page takes the item down;
* ``--against NEWER_RUN_DIR`` (the same site crawled again, e.g. the next run of a job):
  each item's ``page_url`` and ``audio_url`` are decided again by the gate's own precedence
  engine (:func:`crawler.policy.origin.fetch_decision`) with the newest policy files the
  newer run archived for their origin (robots.txt, tdmrep.json, ai.txt, RSL licences) and
  the registries and AI-token list the newer run used; besides, the newer run's last
  ``fetch``/``use`` decision about that exact URL counts when it is a ``deny`` or ``hold``
  (a reservation sent with the page itself, a page that could not be checked). Fail closed:
  an origin whose robots.txt the newer run could not read is a ``hold``, and its items are
  listed with that reason. An origin the newer run never asked about is *unchecked*: its
  items are counted (:attr:`RecheckResult.unchecked`), not listed — nothing new is known.

Items are streamed batch by batch; robots.txt files are parsed once per archived record.
The list is written as CSV (``item_type,item_id,page_url,reasons,rules,holders``).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from crawler.policy import rsl
from crawler.policy.decision import ALLOW, Finding
from crawler.policy.fetchresult import FetchResult
from crawler.policy.origin import (
    MAX_LICENSE_DOCUMENTS,
    OriginPolicy,
    build_origin_policy,
    fetch_decision,
    origin_of,
    registry_decision,
)
from crawler.policy.registry import Registry
from crawler.policy.robots import RobotsTxt
from crawler.policy.tokens import AiTokens
from pipelines.archive import EvidenceIndex, status_signals
from pipelines.manifest import load_manifest
from pipelines.replay import replay_config
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
    #: --against: items not listed whose page or audio origin the newer run never asked about
    unchecked: int = 0


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


#: Policy files the gate reads per origin, by evidence kind.
_POLICY_KINDS: Final = ("robots.txt", "tdmrep.json", "ai.txt")
_UNCHECKED: Final = "unchecked"


class NewerRun:
    """What a newer run knows about URLs: its policy per origin and its refusals per URL.

    Each origin's policy is built from the newest archived fetch of each policy file (WARC
    date, then archive order), the way the gate builds it after fetching them; its config
    (token, strict mode, registries, AI-token list) is the newer run's own, rebuilt from its
    manifest and archive as ``audit replay`` does.
    """

    def __init__(self, run_dir: Path | str) -> None:
        root = run_dir_of(run_dir)
        self.root = root
        self.index = EvidenceIndex.load(root)
        with tempfile.TemporaryDirectory(prefix="heed-recheck-") as tmp:  # read at once, then gone
            self.config = replay_config(load_manifest(root), self.index, Path(tmp))
        self.files: dict[str, dict[str, Any]] = {}
        licences: dict[str, Any] = {}
        for record in sorted(self.index.records(), key=lambda r: (r.date, str(r.file), r.offset)):
            if record.kind in _POLICY_KINDS:
                self.files.setdefault(origin_of(record.url), {})[record.kind] = record
            elif record.kind == "rsl":
                licences[record.url] = record
        self.licences = licences
        self.policies: dict[str, OriginPolicy] = {}
        self.refusals = _last_refusals(root)

    def policy(self, origin: str) -> OriginPolicy | None:
        """The origin's policy in the newer run; None when it never fetched a policy file there."""
        if origin in self.policies:
            return self.policies[origin]
        files = self.files.get(origin)
        if not files:
            return None
        robots, tdm = (self._result(files, origin, kind) for kind in ("robots.txt", "tdmrep.json"))
        ai_txt = self.index.fetch_result(files["ai.txt"]) if "ai.txt" in files else None
        policy = build_origin_policy(origin, robots, tdm, self.config, now=0.0, aitxt_result=ai_txt)
        if policy.robots is not None:
            urls = rsl.license_urls(policy.robots, base_url=f"{origin}/robots.txt")
            if urls:
                docs = tuple(self.index.fetch_result(self.licences[u]) if u in self.licences
                             else FetchResult(url=u, status=None, kind="rsl", error="not-archived", fetched_at=0.0)
                             for u in urls[:MAX_LICENSE_DOCUMENTS])
                policy = build_origin_policy(origin, robots, tdm, self.config, now=0.0, aitxt_result=ai_txt,
                                             licenses=docs)
        self.policies[origin] = policy
        return policy

    def _result(self, files: Mapping[str, Any], origin: str, kind: str) -> FetchResult:
        """The archived fetch, or — one file of the pair missing — a failure (a hold)."""
        if kind in files:
            return self.index.fetch_result(files[kind])
        path = "/robots.txt" if kind == "robots.txt" else "/.well-known/tdmrep.json"
        return FetchResult(url=origin + path, status=None, kind=kind, error="not-archived", fetched_at=0.0)

    def findings(self, url: str) -> list[Finding] | str:
        """What the newer run says against *url*; :data:`_UNCHECKED` when it knows nothing."""
        registry = self.config.registry.url_finding(url)
        policy = self.policy(origin_of(url))
        findings = list(self.refusals.get(url, ()))
        if policy is not None:
            decision = fetch_decision(policy, url, self.config, registry=registry)
        elif registry.verdict != ALLOW:
            decision = registry_decision(registry, url)
        else:
            return findings or _UNCHECKED
        if decision.verdict != ALLOW:
            findings.insert(0, Finding(verdict=decision.verdict, reasons=decision.reasons, rules=decision.rules,
                                       signals=decision.signals))
        return findings


def _last_refusals(root: Path) -> dict[str, list[Finding]]:
    """URL -> the newer run's last fetch and/or use decision about it, when not an allow."""
    files = sorted(str(p) for p in (root / DECISIONS_DIR).glob("*.parquet"))
    if not files:
        return {}
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT url, verdict, reasons, rules, signals FROM ("
            " SELECT url, stage, verdict, reasons, rules, signals, row_number() OVER ("
            "  PARTITION BY url, stage ORDER BY ts DESC, worker DESC, seq DESC) AS n"
            " FROM read_parquet(?, union_by_name=true) WHERE stage IN ('fetch', 'use'))"
            " WHERE n = 1 AND verdict <> 'allow'", [files]
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[Finding]] = {}
    for url, verdict, reasons, rules, signals in rows:
        pairs = tuple((s["name"], s["value"]) for s in signals or [] if s.get("name") == "registry-holder")
        out.setdefault(url, []).append(Finding(verdict=verdict, reasons=tuple(reasons or ()),
                                               rules=tuple(rules or ()), signals=pairs))
    return out


def _against_findings(newer: NewerRun, row: Mapping[str, Any], urls: Iterable[str]) -> tuple[list[Finding], bool]:
    """Findings of the newer run against the item's URLs, and whether one went unchecked."""
    findings: list[Finding] = []
    unchecked = False
    for url in dict.fromkeys(u for c in urls for u in _values(row.get(c))):
        found = newer.findings(url)
        if isinstance(found, str):
            unchecked = True
        else:
            findings += found
    return findings, unchecked


def recheck(
    run_dir: Path | str,
    *,
    registries: Sequence[Path] = (),
    ai_tokens: Path | None = None,
    against: Path | str | NewerRun | None = None,
) -> RecheckResult:
    """Items of the run that the given registries or AI-token list, or the policy a newer
    run of the same sites found (*against*: its run directory, or a :class:`NewerRun`
    read once for several older runs), now reserve."""
    root = run_dir_of(run_dir)
    newer = against if against is None or isinstance(against, NewerRun) else NewerRun(against)
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
                unchecked = False
                if newer is not None:
                    found, unchecked = _against_findings(newer, row, urls)
                    findings += found
                denied = [f for f in findings if f.verdict != ALLOW]
                if denied:
                    result.takedowns.append(_takedown(row, type_dir.name, denied))
                elif unchecked:
                    result.unchecked += 1
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


__all__ = ["HEADER", "PARTY_COLUMNS", "NewerRun", "RecheckResult", "Takedown", "recheck", "takedown_csv"]

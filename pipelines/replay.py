"""``audit replay RUN_DIR``: take every fetch and use decision again, from the archive alone.

The run's policy configuration comes from its manifest; the registries and the AI-token
list from their archived copies (``resource`` records); each origin's robots.txt and
tdmrep.json from the archived responses the row names; the header and meta blocks of a
response from their archived ``metadata`` records. With those, the **current** policy code
(:func:`crawler.policy.origin.fetch_decision` / ``use_decision``) decides again and every
row whose verdict, reasons or rules come out different is listed. An untouched run replayed
by the code that crawled it reports no difference; after a change to the policy code the
differences are exactly the decisions the change would alter.

Rows that cannot be replayed from evidence are counted, not guessed: network-guard refusals
(``security``: the address, not a file, decided), download failures, policy-code errors,
and ``item``-stage rows (see ``audit recheck``). The decisions table is streamed part by
part; only the origins' parsed policies are cached.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow.parquet as pq
from scrapy.settings import Settings

from crawler.policy.config import PolicyConfig
from crawler.policy.decision import FETCH, USE, Decision, Evidence
from crawler.policy.fetchresult import FetchResult
from crawler.policy.origin import OriginPolicy, build_origin_policy, fetch_decision, origin_of, registry_decision, use_decision
from pipelines.archive import EvidenceIndex, status_signals
from pipelines.manifest import entries_from_json, load_manifest
from pipelines.verify import run_dir_of

_COLUMNS: Final = ("worker", "seq", "stage", "verdict", "reasons", "url", "http_status", "evidence",
                   "evidence_ids", "rules", "signals", "content_type")
_META_LINE: Final = re.compile(r'^<meta name="(.*?)" content="(.*)">$')
_SKIPPED_FAMILIES: Final = {"security": "network guard", "http.error": "download error", "policy-error": "policy error"}


class ReplayError(RuntimeError):
    """The run cannot be replayed (its policy inputs are not archived)."""


@dataclass(frozen=True, slots=True)
class Difference:
    worker: str
    seq: int
    stage: str
    url: str
    recorded: tuple[str, tuple[str, ...], tuple[str, ...]]
    replayed: tuple[str, tuple[str, ...], tuple[str, ...]]

    def describe(self) -> str:
        (rv, rr, rl), (nv, nr, nl) = self.recorded, self.replayed
        text = (f"{self.worker} #{self.seq} {self.stage} {self.url}: recorded {rv} [{', '.join(rr)}], "
                f"replayed {nv} [{', '.join(nr)}]")
        if (rv, rr) == (nv, nr) and rl != nl:
            text += f"; rules recorded {list(rl)}, replayed {list(nl)}"
        return text


@dataclass(slots=True)
class ReplayResult:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def replay_config(manifest: Mapping[str, Any], index: EvidenceIndex, workdir: Path) -> PolicyConfig:
    """The run's policy, rebuilt from its manifest and its archived registries/token list."""
    described = dict((manifest.get("policy") or {}).get("config") or {})
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    names = {"agent_token": "POLICY_AGENT_TOKEN", "also_obey": "POLICY_ALSO_OBEY", "strict": "POLICY_STRICT",
             "cache_ttl": "POLICY_CACHE_TTL", "failure_ttl": "POLICY_FAILURE_TTL",
             "max_policy_bytes": "POLICY_MAX_FILE_BYTES"}
    for key, setting in names.items():
        if key in described:
            settings.set(setting, described[key], priority="cmdline")
    resources = [r for r in index.records() if r.kind in ("registry", "ai-tokens")]
    registries = []
    for n, entry in enumerate(described.get("registries") or []):
        record = next((r for r in resources if r.kind == "registry" and r.sha256 == entry.get("sha256")), None)
        if record is None:
            raise ReplayError(f"registry {entry.get('path')} (sha256 {entry.get('sha256')}) is not archived in this run")
        path = workdir / f"r{n}" / Path(str(entry.get("path"))).name
        path.parent.mkdir(parents=True)
        path.write_bytes(index.with_body(record).body)
        registries.append(str(path))
    settings.set("POLICY_REGISTRIES", registries, priority="cmdline")
    wanted = described.get("ai_tokens_sha256")
    tokens = next((r for r in resources if r.kind == "ai-tokens" and r.sha256 == wanted), None)
    if tokens is None:
        raise ReplayError(f"the AI-token list (sha256 {wanted}) is not archived in this run")
    token_path = workdir / "ai_tokens.csv"
    token_path.write_bytes(index.with_body(tokens).body)
    settings.set("POLICY_AI_TOKENS", str(token_path), priority="cmdline")
    return PolicyConfig.from_settings(settings)


def _decision_files(root: Path, manifest: Mapping[str, Any]) -> Iterator[tuple[str, Path]]:
    for worker, section in sorted((manifest.get("workers") or {}).items()):
        for entry in entries_from_json(section.get("files") or []):
            if entry.kind == "decisions":
                yield str(worker), root / entry.path


def _parse_headers(block: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(": ")
        if sep:
            out.setdefault(name.lower(), []).append(value)
    return out


def _parse_meta(block: bytes) -> list[tuple[str, str]]:
    pairs = []
    for line in block.decode("utf-8", "replace").splitlines():
        m = _META_LINE.match(line)
        if m:
            pairs.append((m[1], m[2]))
    return pairs


def _accepts(function: Any) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


#: Evidence kinds a fetch or use row may name, and whether replay can rebuild them.
_FETCH_KINDS: Final = frozenset({"robots.txt", "tdmrep.json", "ai.txt", "rsl", "registry", "ai-tokens"})
_USE_KINDS: Final = frozenset({"headers", "html-meta", "rsl", "content"})


class _Replayer:
    def __init__(self, config: PolicyConfig, index: EvidenceIndex) -> None:
        self.config = config
        self.index = index
        self.policies: dict[tuple[str, ...], OriginPolicy] = {}
        #: per worker: origin -> the policy in force at that point of the worker's stream
        self.current: dict[tuple[str, str], OriginPolicy] = {}
        self.build_params = _accepts(build_origin_policy)
        self.use_params = _accepts(use_decision)

    def _records(self, row: Mapping[str, Any], allowed: frozenset[str]) -> list[tuple[str, Any]] | str:
        """``(kind, archived record)`` for each evidence entry of the row, or why not."""
        statuses = status_signals(row.get("signals") or [])
        ids = list(row.get("evidence_ids") or [])
        found = []
        for i, ev in enumerate(row.get("evidence") or []):
            if ev["kind"] not in allowed:
                return f"evidence of kind {ev['kind']} cannot be replayed"
            record = self.index.find(ev["kind"], ev["url"], ev["sha256"], record_id=ids[i] if i < len(ids) else None,
                                     status=statuses.get(ev["kind"]))
            if record is None:
                what = "response body" if ev["kind"] == "content" else "evidence"
                return f"{what} not archived ({ev['kind']})"
            found.append((ev["kind"], record))
        return found

    def fetch(self, row: Mapping[str, Any]) -> Decision | str:
        url = row["url"]
        records = self._records(row, _FETCH_KINDS)
        if isinstance(records, str):
            return records
        registry = self.config.registry.url_finding(url)
        by_kind: dict[str, list[Any]] = {}
        for kind, record in records:
            by_kind.setdefault(kind, []).append(record)
        if "robots.txt" not in by_kind and "tdmrep.json" not in by_kind:
            return registry_decision(registry, url)
        if "robots.txt" not in by_kind or "tdmrep.json" not in by_kind:
            return "evidence not archived (robots.txt or tdmrep.json)"
        key = (origin_of(url), *(r.record_id for _k, r in records if _k not in ("registry", "ai-tokens")))
        policy = self.policies.get(key)
        if policy is None:
            extra: dict[str, Any] = {}
            if "aitxt_result" in self.build_params and by_kind.get("ai.txt"):
                extra["aitxt_result"] = self.index.fetch_result(by_kind["ai.txt"][0])
            if "licenses" in self.build_params:
                extra["licenses"] = tuple(self.index.fetch_result(r) for r in by_kind.get("rsl", []))
            policy = self.policies[key] = build_origin_policy(
                key[0], self.index.fetch_result(by_kind["robots.txt"][0]),
                self.index.fetch_result(by_kind["tdmrep.json"][0]), self.config, now=0.0, **extra)
        self.current[(row["worker"], key[0])] = policy
        return fetch_decision(policy, url, self.config, registry=registry)

    def use(self, row: Mapping[str, Any]) -> Decision | str:
        records = self._records(row, _USE_KINDS)
        if isinstance(records, str):
            return records
        headers: dict[str, list[str]] = {}
        meta: list[tuple[str, str]] = []
        licenses: dict[str, FetchResult] = {}
        body = b""
        evidence: list[Evidence] = []
        for kind, record in records:
            full = self.index.with_body(record)
            if kind == "headers":
                headers = _parse_headers(full.body)
            elif kind == "html-meta":
                meta = _parse_meta(full.body)
            elif kind == "rsl":
                licenses[full.url] = self.index.fetch_result(full)
            elif kind == "content":
                body = full.body
            if kind in ("headers", "html-meta"):
                evidence.append(Evidence(kind=kind, url=record.url, sha256=record.sha256))
        kwargs: dict[str, Any] = {"status": row.get("http_status"), "headers": headers, "meta": meta,
                                  "content_type": row.get("content_type") or "", "evidence": tuple(evidence)}
        if "licenses" in self.use_params:
            kwargs["licenses"] = licenses
        if "body" in self.use_params:
            kwargs["body"] = body
        policy = self.current.get((row["worker"], origin_of(row["url"])))
        return use_decision(policy, row["url"], self.config, **{k: v for k, v in kwargs.items() if k in self.use_params})


def _skip_reason(row: Mapping[str, Any]) -> str | None:
    if row["stage"] not in (FETCH, USE):
        return f"{row['stage']} stage (see audit recheck)"
    for reason in row.get("reasons") or []:
        family = reason.split(":", 1)[0]
        if family in _SKIPPED_FAMILIES:
            return _SKIPPED_FAMILIES[family]
    return None


def replay(run_dir: Path | str) -> ReplayResult:
    root = run_dir_of(run_dir)
    manifest = load_manifest(root)
    index = EvidenceIndex.load(root)
    result = ReplayResult()
    with tempfile.TemporaryDirectory(prefix="heed-replay-") as tmp:
        replayer = _Replayer(replay_config(manifest, index, Path(tmp)), index)
        for _worker, path in _decision_files(root, manifest):
            table = pq.ParquetFile(path)
            wanted = [c for c in _COLUMNS if c in table.schema_arrow.names]
            for batch in table.iter_batches(columns=wanted, batch_size=4096):
                for row in batch.to_pylist():
                    _replay_row(replayer, row, result)
    return result


def _replay_row(replayer: _Replayer, row: dict[str, Any], result: ReplayResult) -> None:
    skip = _skip_reason(row)
    if skip is not None:
        result.skipped[skip] += 1
        return
    try:
        again = replayer.fetch(row) if row["stage"] == FETCH else replayer.use(row)
    except Exception as exc:  # noqa: BLE001 - the current code cannot take these inputs
        again = f"replay failed: {type(exc).__name__}: {exc}"
    if isinstance(again, str):
        result.skipped[again] += 1
        return
    result.checked += 1
    recorded = (row["verdict"], tuple(row.get("reasons") or ()), tuple(row.get("rules") or ()))
    replayed = (again.verdict, again.reasons, again.rules)
    if recorded != replayed:
        result.differences.append(Difference(row["worker"], row["seq"], row["stage"], row["url"], recorded, replayed))


def format_replay(result: ReplayResult) -> str:
    lines = [d.describe() for d in result.differences]
    lines.append(f"replayed {result.checked} decisions: {len(result.differences)} difference(s)")
    for why, count in sorted(result.skipped.items()):
        lines.append(f"not replayed: {count} ({why})")
    return "\n".join(lines) + "\n"


__all__ = ["Difference", "ReplayError", "ReplayResult", "format_replay", "replay", "replay_config"]

"""Read a run directory back: a summary of what was decided, and an integrity check.

These are pure readers over the run directory (DESIGN.md, "The run directory"); they need
neither Scrapy nor the crawl's settings, so an auditor can run them on a copied directory.
``scrapy audit summary|verify`` are thin shells over :func:`summary`,
:func:`format_summary` and :func:`verify`.

:func:`verify` runs a sequence of independent checks (:data:`CHECKS`), each yielding
findings as ``"<file>: <problem>"`` strings; an empty list means clean. Further checks (the
manifest signature) are added by appending to that tuple.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.evidence import count_records
from pipelines.manifest import (
    FileEntry,
    ManifestError,
    chain_genesis,
    chain_link,
    entries_from_json,
    load_manifest,
)
from pipelines.rundir import DECISIONS_DIR, EVIDENCE_DIR, ITEMS_DIR, MANIFEST_NAME, RunDir

_KIND_DIRS: Final = {"decisions": DECISIONS_DIR, "items": ITEMS_DIR, "evidence": EVIDENCE_DIR}


class AuditUsageError(ValueError):
    """The audit was called wrongly (e.g. the run directory does not exist)."""


def _run_dir(run_dir: Path | str) -> Path:
    path = Path(run_dir)
    if not path.is_dir():
        raise AuditUsageError(f"{path} is not a run directory")
    return path


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


# -- verify ----------------------------------------------------------------------------


@dataclass(slots=True)
class AuditContext:
    """What every check can see: the run directory and the parsed manifest."""

    root: Path
    manifest: dict[str, Any]
    #: per worker, the listed files in manifest order
    files: dict[str, list[FileEntry]] = field(default_factory=dict)
    #: per worker, the raw file mappings (for stored chain links)
    raw: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def path(self, entry: FileEntry) -> Path | None:
        """The listed file's location, or None if the listed path would leave the run dir."""
        rel = PurePosixPath(entry.path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            return None
        return self.root.joinpath(*rel.parts)


Check = Callable[[AuditContext], Iterable[str]]


def _check_workers(ctx: AuditContext) -> Iterable[str]:
    for worker in ctx.files:
        section = ctx.manifest["workers"][worker]
        if section.get("complete") is not True:
            errors = "; ".join(section.get("errors") or []) or "no reason given"
            yield f"{MANIFEST_NAME}: worker {worker} did not complete ({errors})"


def _check_components(ctx: AuditContext) -> Iterable[str]:
    for worker in ctx.files:
        components = ctx.manifest["workers"][worker].get("components") or {}
        for name in ("policy_gate", "network_guard"):
            if components.get(name) is not True:
                yield f"{MANIFEST_NAME}: worker {worker} crawled without the {name.replace('_', ' ')}"


def _check_chain(ctx: AuditContext) -> Iterable[str]:
    run_id = str(ctx.manifest.get("run_id", ""))
    for worker, entries in ctx.files.items():
        section = ctx.manifest["workers"][worker]
        chain_info = section.get("chain") or {}
        link = chain_genesis(run_id, worker)
        if chain_info.get("genesis") != link:
            yield f"{MANIFEST_NAME}: worker {worker}: chain genesis does not recompute"
        for index, (entry, raw) in enumerate(zip(entries, ctx.raw[worker], strict=True), start=1):
            link = chain_link(link, entry.path, entry.sha256, entry.rows)
            if raw.get("chain") != link:
                yield f"{entry.path}: chain link {index} of worker {worker} does not recompute"
                link = str(raw.get("chain"))  # report each broken link once, not every later one
        if chain_info.get("head") != link:
            yield f"{MANIFEST_NAME}: worker {worker}: chain head does not match the last link"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _count_rows(path: Path, kind: str) -> int:
    if kind == "evidence":
        return count_records(path)
    return pq.ParquetFile(path).metadata.num_rows


def _check_files(ctx: AuditContext) -> Iterable[str]:
    seen: set[str] = set()
    for worker, entries in ctx.files.items():
        for entry in entries:
            path = ctx.path(entry)
            if path is None:
                yield f"{entry.path}: listed path leaves the run directory"
                continue
            if entry.path in seen:
                yield f"{entry.path}: listed more than once"
            seen.add(entry.path)
            expected_dir = _KIND_DIRS.get(entry.kind)
            if expected_dir is None or PurePosixPath(entry.path).parts[0] != expected_dir:
                yield f"{entry.path}: listed as kind {entry.kind!r}, which does not match its location"
            if not path.is_file():
                yield f"{entry.path}: listed for worker {worker} but missing"
                continue
            if path.stat().st_size != entry.bytes:
                yield f"{entry.path}: size {path.stat().st_size} bytes, manifest says {entry.bytes}"
            if _sha256_file(path) != entry.sha256:
                yield f"{entry.path}: sha256 does not match the manifest"
            try:
                rows = _count_rows(path, entry.kind)
            except Exception as exc:  # any parse failure is a finding, not a crash
                yield f"{entry.path}: unreadable ({type(exc).__name__}: {exc})"
                continue
            if rows != entry.rows:
                yield f"{entry.path}: {rows} rows, manifest says {entry.rows}"


def _check_unlisted(ctx: AuditContext) -> Iterable[str]:
    listed = {e.path for entries in ctx.files.values() for e in entries}
    for path in RunDir(ctx.root).data_files():
        rel = path.relative_to(ctx.root).as_posix()
        if rel not in listed:
            yield f"{rel}: present but not listed in {MANIFEST_NAME}"


def _check_seq(ctx: AuditContext) -> Iterable[str]:
    run_id = str(ctx.manifest.get("run_id"))
    for worker, entries in ctx.files.items():
        expected = 1
        for entry in entries:
            path = ctx.path(entry)
            if entry.kind != "decisions" or path is None or not path.is_file():
                continue
            try:
                table = pq.read_table(path, columns=["seq", "worker", "run_id"])
            except Exception as exc:  # reported by _check_files too; keep the seq walk going
                yield f"{entry.path}: cannot read seq ({type(exc).__name__})"
                continue
            if table.num_rows == 0:
                continue
            if pc.any(pc.not_equal(table["worker"], worker)).as_py():
                yield f"{entry.path}: holds rows of another worker than {worker}"
            if pc.any(pc.not_equal(table["run_id"], run_id)).as_py():
                yield f"{entry.path}: holds rows of another run than {run_id}"
            seq = table["seq"].combine_chunks()
            first = seq[0].as_py()
            if first != expected:
                yield f"{entry.path}: seq starts at {first}, expected {expected} (worker {worker})"
            if len(seq) > 1:
                steps = pc.subtract(seq.slice(1), seq.slice(0, len(seq) - 1))
                bad = pc.index(pc.equal(steps, 1), False).as_py()
                if bad != -1:
                    yield (
                        f"{entry.path}: seq not strictly consecutive at row {bad + 1} "
                        f"({seq[bad].as_py()} then {seq[bad + 1].as_py()}, worker {worker})"
                    )
            expected = (seq[-1].as_py() or 0) + 1


#: The checks :func:`verify` runs, in order.
CHECKS: Final[tuple[Check, ...]] = (_check_workers, _check_components, _check_chain, _check_files, _check_unlisted, _check_seq)


def verify(run_dir: Path | str, *, checks: Sequence[Check] = CHECKS) -> list[str]:
    """Integrity findings for a run directory; an empty list means clean."""
    root = _run_dir(run_dir)
    try:
        manifest = load_manifest(root)
    except ManifestError as exc:
        findings = [str(exc)]
        findings += [
            f"{p.relative_to(root).as_posix()}: present but not listed in {MANIFEST_NAME}"
            for p in RunDir(root).data_files()
        ]
        return findings
    ctx = AuditContext(root=root, manifest=manifest)
    findings: list[str] = []
    for worker, section in sorted(manifest["workers"].items()):
        if not isinstance(section, dict):
            findings.append(f"{MANIFEST_NAME}: worker {worker}: section is not a mapping")
            continue
        try:
            raw = list(section["files"])
            if not all(isinstance(f, Mapping) for f in raw):
                raise TypeError("file entries must be mappings")
            ctx.files[str(worker)] = entries_from_json(raw)
            ctx.raw[str(worker)] = raw
        except (KeyError, TypeError, ValueError) as exc:
            findings.append(f"{MANIFEST_NAME}: worker {worker}: malformed file list ({exc!r})")
    for check in checks:
        findings.extend(check(ctx))
    return findings


__all__ = ["CHECKS", "AuditContext", "AuditUsageError", "Check", "format_summary", "summary", "verify"]

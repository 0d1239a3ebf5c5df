"""``audit verify``: is the run directory exactly what its workers wrote?

A sequence of independent checks (:data:`CHECKS`), each yielding findings as
``"<file>: <problem>"`` strings; an empty list means clean. What each one catches:

===================  ===========================================================
check                catches
===================  ===========================================================
signature            a rewritten manifest (when signed); a manifest signed by
                     another key than the one given with ``--public-key``
workers              a worker that never closed (killed: run ``audit recover``),
                     one that failed, journal segments left behind
components           a worker that crawled without the gate or the network guard
chain                a deleted, inserted or reordered file (entry) per worker
files                a changed byte in any listed file (sha256), a changed size
                     or row count, a missing file, a path outside the run
unlisted             a file added to the run directory
seq                  a deleted, inserted or reordered row, or rows of another
                     worker or run, even where the manifest was recomputed
===================  ===========================================================

It streams: files are hashed in 1 MiB chunks, row counts come from Parquet footers, and
the ``seq`` walk reads one column batch-wise, so memory stays bounded for any log size
(reference/perf-notes.md: hash files, not rows). A progress bar is drawn on a terminal only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import journal as jr
from pipelines import signing
from pipelines.evidence import count_records
from pipelines.manifest import FileEntry, ManifestError, chain_genesis, chain_link, entries_from_json, load_manifest
from pipelines.progress import Progress
from pipelines.rundir import DECISIONS_DIR, EVIDENCE_DIR, ITEMS_DIR, MANIFEST_NAME, RunDir

_KIND_DIRS: Final = {"decisions": DECISIONS_DIR, "items": ITEMS_DIR, "evidence": EVIDENCE_DIR}


class AuditUsageError(ValueError):
    """The audit was called wrongly (e.g. the run directory does not exist)."""


def run_dir_of(run_dir: Path | str) -> Path:
    path = Path(run_dir)
    if not path.is_dir():
        raise AuditUsageError(f"{path} is not a run directory")
    return path


@dataclass(slots=True)
class AuditContext:
    """What every check can see: the run directory and the parsed manifest."""

    root: Path
    manifest: dict[str, Any]
    #: per worker, the listed files in manifest order
    files: dict[str, list[FileEntry]] = field(default_factory=dict)
    #: per worker, the raw file mappings (for stored chain links)
    raw: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    public_key: Any = None
    progress: bool | None = None
    #: rows seen by the seq walk (for the rows/s figure)
    rows_checked: int = 0
    #: check only this worker's share (a worker verifying itself while others still write)
    only_worker: str | None = None

    def concerns(self, rel: str) -> bool:
        """Whether the data file ``rel`` is in scope (every file unless ``only_worker``)."""
        if self.only_worker is None:
            return True
        return re.search(rf"-{re.escape(self.only_worker)}-\d+\.(parquet|warc\.gz)$", rel) is not None

    def path(self, entry: FileEntry) -> Path | None:
        """The listed file's location, or None if the listed path would leave the run dir."""
        rel = PurePosixPath(entry.path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            return None
        return self.root.joinpath(*rel.parts)


Check = Callable[[AuditContext], Iterable[str]]


def _check_signature(ctx: AuditContext) -> Iterable[str]:
    yield from signing.check(ctx.manifest, ctx.public_key)


def _check_workers(ctx: AuditContext) -> Iterable[str]:
    for worker in ctx.files:
        section = ctx.manifest["workers"][worker]
        state = section.get("state")
        if state == "running":
            yield (f"{MANIFEST_NAME}: worker {worker} has not closed (still running, or killed: "
                   f"'scrapy audit recover {ctx.root}' restores its log)")
        elif section.get("complete") is not True:
            errors = "; ".join(section.get("errors") or []) or "no reason given"
            yield f"{MANIFEST_NAME}: worker {worker} did not complete ({errors})"
    for worker in jr.workers_with_segments(ctx.root / jr.JOURNAL_DIR):
        if ctx.only_worker is not None and worker != ctx.only_worker:
            continue
        yield (f"{jr.JOURNAL_DIR}/: worker {worker} left journal segments that are not sealed "
               f"(killed?): 'scrapy audit recover {ctx.root}' seals them")


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


def _sha256_file(path: Path, progress: Progress) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            progress.update(len(chunk))
    return digest.hexdigest()


def _count_rows(path: Path, kind: str) -> int:
    if kind == "evidence":
        return count_records(path)
    return pq.ParquetFile(path).metadata.num_rows


def _check_files(ctx: AuditContext) -> Iterable[str]:
    seen: set[str] = set()
    listed = [(w, e, ctx.path(e)) for w, entries in ctx.files.items() for e in entries]
    total = sum(p.stat().st_size for _w, _e, p in listed if p is not None and p.is_file())
    progress = Progress("verify: hashing", total, enabled=ctx.progress)
    for worker, entry, path in listed:
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
        size = path.stat().st_size
        if size != entry.bytes:
            yield f"{entry.path}: size {size} bytes, manifest says {entry.bytes}"
        if _sha256_file(path, progress) != entry.sha256:
            yield f"{entry.path}: sha256 does not match the manifest (the file was changed)"
        try:
            rows = _count_rows(path, entry.kind)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a finding, not a crash
            yield f"{entry.path}: unreadable ({type(exc).__name__}: {exc})"
            continue
        if rows != entry.rows:
            yield f"{entry.path}: {rows} rows, manifest says {entry.rows}"
    progress.done()


def _check_unlisted(ctx: AuditContext) -> Iterable[str]:
    listed = {e.path for entries in ctx.files.values() for e in entries}
    for path in RunDir(ctx.root).data_files():
        rel = path.relative_to(ctx.root).as_posix()
        if rel not in listed and not rel.startswith(f"{jr.JOURNAL_DIR}/") and ctx.concerns(rel):
            yield f"{rel}: present but not listed in {MANIFEST_NAME}"


def _constant(parquet: pq.ParquetFile, column: str, expected: str) -> bool | None:
    """True/False when row-group statistics prove the column is (not) constant ``expected``;
    None when they cannot tell."""
    meta = parquet.metadata
    index = parquet.schema_arrow.get_field_index(column)
    if index < 0:
        return False
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(index).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return None
        if stats.min != expected or stats.max != expected:
            return False
    return True


def _check_seq(ctx: AuditContext) -> Iterable[str]:
    run_id = str(ctx.manifest.get("run_id"))
    parts = [(w, e, ctx.path(e)) for w, entries in ctx.files.items() for e in entries if e.kind == "decisions"]
    progress = Progress("verify: rows", sum(e.rows for _w, e, _p in parts), enabled=ctx.progress, unit="rows")
    last: dict[str, int] = {}
    for worker, entry, path in parts:
        if path is None or not path.is_file():
            continue
        expected = last.get(worker, 0) + 1
        try:
            parquet = pq.ParquetFile(path)
            for column, value in (("worker", worker), ("run_id", run_id)):
                same = _constant(parquet, column, value)
                if same is None:
                    same = not pc.any(pc.not_equal(parquet.read(columns=[column])[column], value)).as_py()
                if not same:
                    yield f"{entry.path}: holds rows of another {'worker' if column == 'worker' else 'run'} than {value}"
            previous, first, reported, offset = expected - 1, True, False, 0
            for batch in parquet.iter_batches(columns=["seq"], batch_size=1 << 16):
                seq = batch.column(0)
                if len(seq) == 0:
                    continue
                ctx.rows_checked += len(seq)
                progress.update(len(seq))
                if first:
                    first = False
                    if seq[0].as_py() != expected:
                        yield f"{entry.path}: seq starts at {seq[0].as_py()}, expected {expected} (worker {worker})"
                        previous = seq[0].as_py() - 1
                shifted = pa.concat_arrays([pa.array([previous], type=seq.type), seq.slice(0, len(seq) - 1)])
                bad = pc.index(pc.equal(pc.subtract(seq, shifted), 1), False).as_py()
                if bad != -1 and not reported:
                    reported = True
                    before = seq[bad - 1].as_py() if bad else previous
                    yield (f"{entry.path}: seq not strictly consecutive at row {offset + bad} ({before} then "
                           f"{seq[bad].as_py()}, worker {worker}): a row was deleted, inserted or moved")
                previous = seq[-1].as_py()
                offset += len(seq)
            last[worker] = previous
        except Exception as exc:  # noqa: BLE001 - reported by _check_files too; keep going
            yield f"{entry.path}: cannot read seq ({type(exc).__name__})"
    for worker in ctx.files:
        recorded = ctx.manifest["workers"][worker].get("last_seq")
        if isinstance(recorded, int) and recorded != last.get(worker, 0):
            yield f"{MANIFEST_NAME}: worker {worker}: last_seq {recorded}, but its parts end at {last.get(worker, 0)}"
    progress.done()


#: The checks :func:`verify` runs, in order.
CHECKS: Final[tuple[Check, ...]] = (
    _check_signature, _check_workers, _check_components, _check_chain, _check_files, _check_unlisted, _check_seq,
)


def verify(
    run_dir: Path | str,
    *,
    checks: Sequence[Check] = CHECKS,
    public_key: Any = None,
    progress: bool | None = False,
    context: list[AuditContext] | None = None,
    worker: str | None = None,
) -> list[str]:
    """Integrity findings for a run directory; an empty list means clean.

    ``public_key`` (an Ed25519 public key) is the trust anchor for the signature;
    ``progress=None`` draws a bar when stderr is a terminal. ``worker`` limits the checks to
    one worker's section and files: what a worker of a distributed run can vouch for when it
    closes while others still write (an audit of the run checks every worker).
    """
    root = run_dir_of(run_dir)
    try:
        manifest = load_manifest(root)
    except ManifestError as exc:
        findings = [str(exc)]
        findings += [f"{p.relative_to(root).as_posix()}: present but not listed in {MANIFEST_NAME}"
                     for p in RunDir(root).data_files()]
        findings += [f"{jr.JOURNAL_DIR}/: worker {w} left journal segments that are not sealed (killed?): "
                     f"'scrapy audit recover {root}' seals them" for w in jr.workers_with_segments(root / jr.JOURNAL_DIR)]
        return findings
    ctx = AuditContext(root=root, manifest=manifest, public_key=public_key, progress=progress, only_worker=worker)
    findings: list[str] = []
    if worker is not None and worker not in manifest["workers"]:
        findings.append(f"{MANIFEST_NAME}: worker {worker} is not listed")
    for name, section in sorted(manifest["workers"].items()):
        if worker is not None and name != worker:
            continue
        if not isinstance(section, dict):
            findings.append(f"{MANIFEST_NAME}: worker {name}: section is not a mapping")
            continue
        try:
            raw = list(section["files"])
            if not all(isinstance(f, Mapping) for f in raw):
                raise TypeError("file entries must be mappings")
            ctx.files[str(name)] = entries_from_json(raw)
            ctx.raw[str(name)] = raw
        except (KeyError, TypeError, ValueError) as exc:
            findings.append(f"{MANIFEST_NAME}: worker {name}: malformed file list ({exc!r})")
    for check in checks:
        findings.extend(check(ctx))
    if context is not None:
        context.append(ctx)
    return findings


__all__ = ["CHECKS", "AuditContext", "AuditUsageError", "Check", "run_dir_of", "verify"]

"""``manifest.json``: what a run wrote, and a hash chain that makes it tamper-evident.

The manifest lists, per worker and in write order, every file the worker published with
its sha256, row count and size. A row's integrity follows from its file's digest (hashing
whole files is ~160x faster than chaining rows, reference/perf-notes.md), and the files are
chained so that a deleted, inserted or reordered file breaks the chain::

    chain_0 = sha256("heed-chain-v1:" + run_id + ":" + worker)
    chain_i = sha256(chain_{i-1} + ":" + relative_path + ":" + file_sha256 + ":" + rows)

(hex strings, UTF-8). Each file entry records its link; the worker records the head. Files
are listed by seal (:mod:`pipelines.worklog`): within a seal, the decisions part, the item
parts by item type, then the evidence WARC. A resumed worker appends to its own chain. The
chain proves order and completeness only together with something that pins the head: the
Ed25519 signature over the whole manifest (:mod:`pipelines.signing`), when a key is set;
without one it catches accidents and edits that do not recompute it.

A worker section is first written when the worker starts (``state`` ``running``), rewritten
after every seal (a checkpoint: what was published so far is pinned, and signed, while the
crawl runs) and finally when it closes (``closed``) or when ``scrapy audit recover``
finishes a worker that was killed (``recovered``).

Several workers of one run share ``manifest.json``: each adds or replaces its own section
under an exclusive ``flock`` on ``.manifest.lock`` and rewrites the file atomically. The lock
works between processes of one machine; workers on different machines need separate run
directories until the shared audit is built.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pyarrow
import scrapy

import crawler
from pipelines.rundir import MANIFEST_NAME, write_atomic

if TYPE_CHECKING:
    from pipelines.signing import Signer

FORMAT: Final = "heed-run-manifest/1"
CHAIN_PREFIX: Final = "heed-chain-v1"
KINDS: Final = ("decisions", "items", "evidence")


class ManifestError(ValueError):
    """manifest.json is missing, unreadable or not a heed manifest."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One published file, as the manifest lists it (``path`` relative, '/'-separated)."""

    path: str
    kind: str
    sha256: str
    rows: int
    bytes: int


def chain_genesis(run_id: str, worker: str) -> str:
    return hashlib.sha256(f"{CHAIN_PREFIX}:{run_id}:{worker}".encode()).hexdigest()


def chain_link(previous: str, path: str, sha256: str, rows: int) -> str:
    return hashlib.sha256(f"{previous}:{path}:{sha256}:{rows}".encode()).hexdigest()


def chain(run_id: str, worker: str, entries: Iterable[FileEntry]) -> list[str]:
    """The links for ``entries`` in order (without the genesis value)."""
    link = chain_genesis(run_id, worker)
    links = []
    for entry in entries:
        link = chain_link(link, entry.path, entry.sha256, entry.rows)
        links.append(link)
    return links


@dataclass(slots=True, kw_only=True)
class WorkerRecord:
    """One worker's share of a run, ready to be merged into the manifest."""

    worker: str
    started_at: str
    finished_at: str | None = None
    complete: bool = True
    errors: list[str] = field(default_factory=list)
    policy_hash: str = ""
    files: list[FileEntry] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    #: Which safety components ran in this worker (e.g. ``{"policy_gate": True}``): a run
    #: crawled with the gate removed must say so to whoever audits it.
    components: dict[str, bool] = field(default_factory=dict)
    #: ``running`` (written at start and after every seal), ``closed``, ``recovered``
    state: str = "closed"
    #: the highest ``seq`` in this worker's published decision parts (0: none; None: not
    #: recorded, as by writers older than the journal)
    last_seq: int | None = None
    #: one entry per process that wrote for this worker: started_at, finished_at, ended
    sessions: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, run_id: str) -> dict[str, Any]:
        links = chain(run_id, self.worker, self.files)
        genesis = chain_genesis(run_id, self.worker)
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "complete": self.complete,
            "state": self.state,
            "last_seq": self.last_seq,
            "sessions": json_safe(self.sessions),
            "errors": list(self.errors),
            "policy_hash": self.policy_hash,
            "components": dict(self.components),
            "files": [
                {
                    "path": f.path,
                    "kind": f.kind,
                    "sha256": f.sha256,
                    "rows": f.rows,
                    "bytes": f.bytes,
                    "chain": link,
                }
                for f, link in zip(self.files, links, strict=True)
            ],
            "chain": {"algorithm": "sha256", "genesis": genesis, "head": links[-1] if links else genesis},
            "stats": json_safe(self.stats),
        }


def json_safe(value: Any) -> Any:
    """Convert crawl stats and similar values to plain JSON (datetimes as ISO strings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [json_safe(v) for v in items]
    return str(value)


def build_manifest(
    *,
    run_id: str,
    policy: Mapping[str, Any],
    workers: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Assemble the whole manifest from already-serialised worker sections.

    ``policy`` is ``{"hash": ..., "config": PolicyConfig.describe()}``. Run-level
    ``started_at``/``finished_at``/``complete`` summarise the workers.
    """
    sections = {name: dict(workers[name]) for name in sorted(workers)}
    starts = [s["started_at"] for s in sections.values() if s.get("started_at")]
    ends = [s.get("finished_at") for s in sections.values()]
    return {
        "format": FORMAT,
        "run_id": run_id,
        "heed_version": crawler.__version__,
        "scrapy_version": scrapy.__version__,
        "pyarrow_version": pyarrow.__version__,
        "python_version": platform.python_version(),
        "started_at": min(starts) if starts else None,
        "finished_at": max(ends) if ends and all(ends) else None,  # type: ignore[type-var]
        "complete": all(s.get("complete") is True for s in sections.values()),
        "policy": json_safe(policy),
        "workers": sections,
    }


def update_manifest(
    run_dir: Path,
    *,
    run_id: str,
    policy: Mapping[str, Any],
    record: WorkerRecord,
    signer: Signer | None = None,
) -> dict[str, Any]:
    """Add (or replace) ``record``'s section in ``run_dir/manifest.json``, atomically.

    Other workers' sections are kept. Refuses a manifest that belongs to another run. With
    a ``signer`` the whole manifest is signed anew (:mod:`pipelines.signing`).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".manifest.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            workers: dict[str, Mapping[str, Any]] = {}
            if (run_dir / MANIFEST_NAME).exists():
                existing = load_manifest(run_dir)
                if existing.get("run_id") != run_id:
                    raise ManifestError(
                        f"{run_dir / MANIFEST_NAME} belongs to run {existing.get('run_id')!r}, not {run_id!r}"
                    )
                workers.update(existing.get("workers") or {})
            workers[record.worker] = record.to_json(run_id)
            manifest = build_manifest(run_id=run_id, policy=policy, workers=workers)
            if signer is not None:
                from pipelines.signing import sign

                manifest = sign(manifest, signer)
            write_atomic(run_dir / MANIFEST_NAME, dump(manifest), replace=True)
            return manifest
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def dump(manifest: Mapping[str, Any]) -> bytes:
    """Stable, human-readable serialisation (sorted keys keep diffs and signatures simple)."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """Read ``run_dir/manifest.json``; :class:`ManifestError` if missing or not a manifest."""
    path = run_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ManifestError(f"{MANIFEST_NAME}: missing") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{MANIFEST_NAME}: unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ManifestError(f"{MANIFEST_NAME}: not a heed manifest (format {FORMAT!r} expected)")
    if not isinstance(data.get("workers"), dict):
        raise ManifestError(f"{MANIFEST_NAME}: no 'workers' mapping")
    return data


def worker_section(run_dir: Path, worker: str) -> dict[str, Any] | None:
    """The worker's section of the run's manifest, or None (no manifest, or not listed)."""
    if not (run_dir / MANIFEST_NAME).exists():
        return None
    section = load_manifest(run_dir)["workers"].get(worker)
    return dict(section) if isinstance(section, Mapping) else None


def entries_from_json(files: Sequence[Mapping[str, Any]]) -> list[FileEntry]:
    """File entries of one worker section (raises KeyError/TypeError/ValueError if malformed)."""
    return [
        FileEntry(
            path=str(f["path"]),
            kind=str(f["kind"]),
            sha256=str(f["sha256"]),
            rows=int(f["rows"]),
            bytes=int(f["bytes"]),
        )
        for f in files
    ]


__all__ = [
    "CHAIN_PREFIX",
    "FORMAT",
    "KINDS",
    "FileEntry",
    "ManifestError",
    "WorkerRecord",
    "build_manifest",
    "chain",
    "chain_genesis",
    "chain_link",
    "dump",
    "entries_from_json",
    "json_safe",
    "load_manifest",
    "update_manifest",
    "worker_section",
]

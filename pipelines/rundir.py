"""The run directory: names, paths and the one way files appear in it.

A run directory is a public contract (DESIGN.md, "The run directory"): auditors and other
tools read it months later without heed's code at hand. Everything that decides a name in it
lives here, so the writers and the audit cannot drift apart::

    <PROVENANCE_DIR>/<run_id>/
        decisions/decisions-<worker>-<NNNNNN>.parquet
        items/<item_type>/<item_type>-<worker>-<NNNNNN>.parquet
        evidence/evidence-<worker>-<NNNNNN>.warc.gz
        manifest.json
        .journal/<worker>-<NNNNNN>.wal     (write-ahead journal; gone after a clean close)
        .journal/<worker>.lock             (held while the worker writes)

``NNNNNN`` is the seal number (:mod:`pipelines.worklog`): the files of one seal share it.
Several workers of one run share the directory; the worker name is part of every file name,
so they never write the same path.

Files appear only when complete: a writer fills a hidden ``.<name>.tmp`` next to the final
path, fsyncs it, renames it with :func:`os.replace` (atomic on POSIX) and fsyncs the
directory. Readers glob ``*.parquet`` / ``*.warc.gz`` and so never see a half-written file.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

DECISIONS_DIR: Final = "decisions"
ITEMS_DIR: Final = "items"
EVIDENCE_DIR: Final = "evidence"
MANIFEST_NAME: Final = "manifest.json"
JOURNAL_DIR: Final = ".journal"

#: Run ids, worker names and item types become parts of file names: keep them to a safe,
#: portable alphabet (no separators, no leading dot, no "..").
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_name(setting: str, value: object) -> str:
    """Return ``value`` if it is safe as a file-name component, else raise ``ValueError``.

    ``setting`` names where the value came from (a setting or a field) for the message.
    """
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value:
        raise ValueError(
            f"{setting} must be 1-128 characters of letters, digits, '_', '-' and '.', "
            f"starting with a letter or digit, got {value!r}"
        )
    return value


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: ``YYYYMMDDTHHMMSSZ-<6 hex>`` (sorts by start time, unique enough)."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utc_now_iso() -> str:
    """The current time as an ISO 8601 UTC string with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class RunDir:
    """Paths inside one run directory. Creating the value touches nothing on disk."""

    root: Path

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def decisions(self) -> Path:
        return self.root / DECISIONS_DIR

    @property
    def evidence(self) -> Path:
        return self.root / EVIDENCE_DIR

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL_DIR

    def items(self, item_type: str) -> Path:
        return self.root / ITEMS_DIR / check_name("item_type", item_type)

    def relative(self, path: Path) -> str:
        """``path`` relative to the run directory, with '/' separators (manifest form)."""
        return path.relative_to(self.root).as_posix()

    def data_files(self) -> list[Path]:
        """Every completed data file (Parquet parts and WARC files), sorted."""
        found = [*self.root.rglob("*.parquet"), *self.root.rglob("*.warc.gz")]
        return sorted(p for p in found if p.is_file())


def decisions_prefix(worker: str) -> str:
    return f"decisions-{worker}"


def items_prefix(item_type: str, worker: str) -> str:
    return f"{item_type}-{worker}"


def evidence_prefix(worker: str) -> str:
    return f"evidence-{worker}"


def part_name(prefix: str, index: int, suffix: str = ".parquet") -> str:
    """``<prefix>-<NNNNNN><suffix>``, the name of one seal's file."""
    return f"{prefix}-{index:06d}{suffix}"


def worker_files(run_dir: RunDir, worker: str) -> dict[int, list[tuple[str, Path]]]:
    """Published files of one worker by seal number: ``{seal: [(kind, path), ...]}`` in
    chain order (decisions, items by type, evidence)."""
    found: dict[int, list[tuple[str, str, Path]]] = {}
    w = re.escape(worker)

    def scan(directory: Path, prefix: str, suffix: str, kind: str, order: str) -> None:
        if not directory.is_dir():
            return
        pattern = re.compile(rf"^{prefix}-{w}-(\d{{6}}){re.escape(suffix)}$")
        for path in directory.iterdir():
            m = pattern.match(path.name)
            if m and path.is_file():
                found.setdefault(int(m[1]), []).append((order, kind, path))

    scan(run_dir.decisions, "decisions", ".parquet", "decisions", "0")
    items_root = run_dir.root / ITEMS_DIR
    if items_root.is_dir():
        for type_dir in sorted(items_root.iterdir()):
            if type_dir.is_dir() and _NAME_RE.match(type_dir.name):
                scan(type_dir, re.escape(type_dir.name), ".parquet", "items", "1" + type_dir.name)
    scan(run_dir.evidence, "evidence", ".warc.gz", "evidence", "2")
    return {seal: [(kind, path) for _o, kind, path in sorted(files)] for seal, files in sorted(found.items())}


def tmp_path(final: Path) -> Path:
    """The hidden name a file is written under before it is renamed to ``final``."""
    return final.with_name(f".{final.name}.tmp")


def fsync_dir(directory: Path) -> None:
    """Persist a rename: fsync the directory entry (a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path) -> None:
    """Atomically move a fully written, fsynced ``tmp`` file to ``final``.

    Refuses to replace an existing file: parts are written once and never rewritten, and a
    second worker with the same name must not silently overwrite the first one's log.
    """
    if final.exists():
        raise FileExistsError(f"{final} already exists; refusing to overwrite a published file")
    os.replace(tmp, final)
    fsync_dir(final.parent)


def write_atomic(final: Path, data: bytes, *, replace: bool = False) -> None:
    """Write ``data`` to ``final`` through a hidden temporary file, fsync and rename.

    ``replace`` allows overwriting (the manifest is rewritten as workers finish).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(final)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(tmp, final)
        fsync_dir(final.parent)
    else:
        publish(tmp, final)


__all__ = [
    "DECISIONS_DIR",
    "EVIDENCE_DIR",
    "ITEMS_DIR",
    "MANIFEST_NAME",
    "RunDir",
    "check_name",
    "decisions_prefix",
    "JOURNAL_DIR",
    "evidence_prefix",
    "part_name",
    "worker_files",
    "fsync_dir",
    "items_prefix",
    "new_run_id",
    "publish",
    "tmp_path",
    "utc_now_iso",
    "write_atomic",
]

"""``scrapy audit merge DEST SRC…``: one run directory from the parts several machines wrote.

Workers of one distributed run on several machines each write the run directory on their own
disk (the manifest's lock is an flock, which works between processes of one machine). Their
files never collide — the worker name is part of every file name — but each machine has its
own ``manifest.json``. ``merge`` makes the single directory an auditor verifies:

1. every source is verified first (``audit verify``, with ``--public-key`` when given); a
   source with any finding is refused — merging must never launder a broken part;
2. the sources must belong to the same run, with the same policy hash, and no worker may
   appear in two of them;
3. every listed file is copied byte for byte (through a temporary file, fsynced, renamed);
4. the worker sections are combined into one manifest — each worker's hash chain is carried
   as it was, so it still recomputes — and the sources' own signature blocks are kept under
   ``merged_from``. With a signing key the merged manifest is signed anew;
5. the result is verified like any run directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.manifest import build_manifest, dump, load_manifest
from pipelines.rundir import MANIFEST_NAME, fsync_dir, publish, tmp_path, write_atomic
from pipelines.signing import Signer, sign
from pipelines.verify import verify


class MergeError(ValueError):
    """The sources cannot be merged; the message says which and why."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    run_id: str
    workers: tuple[str, ...]
    files: int
    findings: tuple[str, ...]


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(dest)
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    publish(tmp, dest)


def merge_runs(
    dest: Path, sources: Sequence[Path], *, public_key: Any = None, signer: Signer | None = None
) -> MergeResult:
    """Merge ``sources`` (run directories of one run) into the new directory ``dest``."""
    if len(sources) < 1:
        raise MergeError("give at least one source run directory")
    if dest.exists() and any(dest.iterdir()):
        raise MergeError(f"{dest} exists and is not empty; merge writes a new directory")
    manifests: list[tuple[Path, dict[str, Any]]] = []
    for src in sources:
        findings = verify(src, public_key=public_key)
        if findings:
            raise MergeError(f"{src} does not verify ({len(findings)} findings, first: {findings[0]})")
        manifests.append((src, load_manifest(src)))
    run_ids = {m["run_id"] for _, m in manifests}
    if len(run_ids) != 1:
        raise MergeError(f"the sources belong to different runs: {sorted(run_ids)}")
    hashes = {str((m.get("policy") or {}).get("hash")) for _, m in manifests}
    if len(hashes) != 1:
        raise MergeError(f"the sources were crawled under different policies (hashes {sorted(hashes)})")
    workers: dict[str, Mapping[str, Any]] = {}
    owner: dict[str, Path] = {}
    for src, manifest in manifests:
        for name, section in manifest["workers"].items():
            if name in workers:
                raise MergeError(f"worker {name} appears in both {owner[name]} and {src}")
            workers[name] = section
            owner[name] = src
    dest.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name, section in workers.items():
        for entry in section.get("files") or []:
            rel = Path(*Path(str(entry["path"])).parts)
            _copy(owner[name] / rel, dest / rel)
            copied += 1
    run_id = next(iter(run_ids))
    merged = build_manifest(run_id=run_id, policy=manifests[0][1]["policy"], workers=workers)
    merged["merged_from"] = [
        {"workers": sorted(m["workers"]), "signature": m.get("signature")} for _, m in manifests
    ]
    if signer is not None:
        merged = sign(merged, signer)
    write_atomic(dest / MANIFEST_NAME, dump(merged))
    fsync_dir(dest)
    findings = verify(dest, public_key=signer.public_key if signer is not None else None)
    return MergeResult(run_id=run_id, workers=tuple(sorted(workers)), files=copied, findings=tuple(findings))


__all__ = ["MergeError", "MergeResult", "merge_runs"]

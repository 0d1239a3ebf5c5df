"""How fast ``audit verify`` reads a large run, and how much memory it needs.

A crawl of a few million pages logs tens of millions of decision rows, and an auditor must
be able to check such a run on an ordinary machine. This module writes a run directory of
``rows`` decision rows straight with pyarrow (in parts of one million rows; no crawl
could produce ten million rows within the benchmark's time budget) plus a valid
``manifest.json`` built with :mod:`pipelines.manifest`, then times
:func:`pipelines.audit.verify` on it in a fresh process (``python -m bench.audit RUN_DIR``)
and reports rows per second and peak memory: the process's peak resident set above its
size after imports, and the peak of Arrow's memory pool. The same is done for the first
part alone: if verify streams, peak memory does not grow with the run.

Generated runs are cached under ``<out>/verify-cache/`` keyed by the decisions schema and
the row count, so only the first benchmark on a machine pays for writing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.memory import memory_kib
from bench.report import Row

ROOT = Path(__file__).resolve().parents[1]
PART_ROWS = 1_000_000
RUN_ID = "bench-verify"
WORKER = "w1"
GENERATOR_VERSION = "2"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hex_digests(n: int) -> Any:
    """``n`` random 64-character hex strings (sha256-like, incompressible), built in C."""
    import numpy as np
    import pyarrow as pa

    data = os.urandom(32 * n).hex().encode()
    offsets = (np.arange(n + 1, dtype=np.int32) * 64).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _column(field: Any, n: int, start: int) -> Any:
    """A realistic column for the decisions schema; unknown columns get nulls or empties."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    name, type_ = field.name, field.type
    idx = np.arange(start, start + n, dtype=np.int64)
    hosts = pa.array([f"label-{h:03d}.test" for h in range(100)])
    host_idx = pa.array((idx % 100).astype(np.int32))

    def pick(values: list[str], as_type: Any = None) -> Any:
        indices = pa.array((idx % len(values)).astype(np.int32))
        return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(as_type or type_)

    def urls() -> Any:
        host = pa.DictionaryArray.from_arrays(host_idx, hosts).cast(pa.string())
        page = pc.cast(pa.array(idx // 100), pa.string())
        return pc.binary_join_element_wise("http://", host, "/tracks/", page, ".html", "")

    def repeat(value: Any) -> Any:
        return pa.repeat(pa.scalar(value, type=type_), n)

    def lists(values: Any, per_row: int) -> Any:
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * per_row)
        return pa.ListArray.from_arrays(offsets, values).cast(type_)

    if name == "run_id":
        return repeat(RUN_ID)
    if name == "worker":
        return repeat(WORKER)
    if name == "seq":
        return pa.array(idx + 1, type=type_)
    if name == "ts":
        return pa.array(1_790_000_000_000_000 + idx * 1000, type=pa.int64()).cast(type_)
    if name == "stage":
        return pick(["fetch", "use", "item"])
    if name == "verdict":
        return pick(["allow"] * 19 + ["deny"])
    if name == "url":
        return urls().cast(type_)
    if name == "item_id":
        return pa.nulls(n, type=type_) if field.nullable else hex_digests(n).cast(type_)
    if name == "origin":
        return pc.binary_join_element_wise(
            "http://", pa.DictionaryArray.from_arrays(host_idx, hosts).cast(pa.string()), ":80", ""
        ).cast(type_)
    if name == "http_status" or name == "content_length":
        return pa.array(np.full(n, 200 if name == "http_status" else 3300), type=type_)
    if name == "policy_hash":
        return repeat("c" * 64)
    if name in ("decision_id", "content_sha256"):
        return hex_digests(n).cast(type_)
    if name in ("agent_token",):
        return repeat("heed")
    if name == "strict":
        return repeat(True)
    if name == "rules":
        return lists(pick(["robots.txt:9 Allow: /tracks/"], pa.string()), 1)
    if pa.types.is_list(type_) and pa.types.is_struct(type_.value_type):
        struct = type_.value_type
        children = []
        for child in struct:
            if child.name == "sha256":
                children.append(pa.repeat(pa.scalar("a" * 64), n).cast(child.type))
            elif child.name == "url":
                children.append(pc.binary_join_element_wise(
                    "http://", pa.DictionaryArray.from_arrays(host_idx, hosts).cast(pa.string()), "/robots.txt", ""))
            else:
                children.append(pa.repeat(pa.scalar(f"{name}-{child.name}"), n).cast(child.type))
        values = pa.StructArray.from_arrays(children, fields=list(struct))
        return lists(values, 1)
    if pa.types.is_list(type_):
        return lists(pa.array([], type=type_.value_type), 0)
    if field.nullable:
        return pa.nulls(n, type=type_)
    if pa.types.is_string(type_):
        return repeat(f"{name}-value")
    if pa.types.is_boolean(type_):
        return repeat(False)
    return pa.array(np.zeros(n), type=pa.float64()).cast(type_)


def generate(run_dir: Path, rows: int, part_rows: int = PART_ROWS) -> float:
    """Write a verifiable run of ``rows`` decision rows; returns the seconds it took."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import crawler
    from pipelines import manifest as mf
    from pipelines.parquet import COMPRESSION
    from pipelines.rundir import RunDir, decisions_prefix, utc_now_iso
    from pipelines.schema import DECISIONS

    start = time.perf_counter()
    shutil.rmtree(run_dir, ignore_errors=True)
    rd = RunDir(run_dir)
    rd.decisions.mkdir(parents=True)
    started = utc_now_iso()
    entries = []
    written = 0
    index = 0
    while written < rows:
        n = min(part_rows, rows - written)
        index += 1
        metadata = dict(DECISIONS.metadata or {})
        metadata.update({b"heed.run_id": RUN_ID.encode(), b"heed.worker": WORKER.encode(),
                         b"heed.version": crawler.__version__.encode(), b"heed.policy_hash": b"c" * 64,
                         b"heed.part": str(index).encode(), b"heed.rows": str(n).encode()})
        schema = DECISIONS.with_metadata(metadata)
        table = pa.Table.from_arrays([_column(f, n, written) for f in schema], schema=schema)
        path = rd.decisions / f"{decisions_prefix(WORKER)}-{index:06d}.parquet"
        pq.write_table(table, path, compression=COMPRESSION)
        entries.append(mf.FileEntry(path=rd.relative(path), kind="decisions", sha256=_sha256_file(path),
                                    rows=n, bytes=path.stat().st_size))
        written += n
    names = {f.name for f in dataclasses.fields(mf.WorkerRecord)}
    extra: dict[str, Any] = {}
    if "last_seq" in names:
        extra["last_seq"] = rows
    record = mf.WorkerRecord(
        worker=WORKER, started_at=started, finished_at=utc_now_iso(), complete=True, policy_hash="c" * 64,
        files=entries, stats={}, components={"policy_gate": True, "network_guard": True}, **extra,
    )
    mf.update_manifest(run_dir, run_id=RUN_ID, policy={"hash": "c" * 64, "config": {"bench": True}}, record=record)
    return time.perf_counter() - start


def _cache_key(rows: int) -> str:
    from pipelines.schema import DECISIONS

    blob = f"{GENERATOR_VERSION}:{rows}:{PART_ROWS}:{DECISIONS.to_string(show_field_metadata=True)}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cached_run(out: Path, rows: int) -> tuple[Path, float | None]:
    """A generated run of ``rows`` rows under ``out``; generation seconds, None if cached."""
    base = out / "verify-cache"
    run_dir = base / f"{rows}-{_cache_key(rows)}" / RUN_ID
    stamp = run_dir.parent / "complete"
    if stamp.exists():
        return run_dir, None
    if base.exists():
        for old in base.iterdir():  # one cached run per size is enough
            if old.name.startswith(f"{rows}-"):
                shutil.rmtree(old, ignore_errors=True)
    seconds = generate(run_dir, rows)
    stamp.write_text("ok\n")
    return run_dir, seconds


def child(run_dir: str) -> dict[str, Any]:
    """Runs in the measuring process: import, note memory, verify, report."""
    import pyarrow as pa

    from pipelines.audit import verify

    base_rss = memory_kib("VmRSS")
    pool = pa.default_memory_pool()
    start = time.perf_counter()
    findings = verify(Path(run_dir))
    seconds = time.perf_counter() - start
    peak = memory_kib("VmHWM")
    return {"seconds": seconds, "findings": findings[:20], "base_rss_kib": base_rss, "peak_rss_kib": peak,
            "arrow_peak_bytes": pool.max_memory(), "arrow_backend": pool.backend_name}


def measure(run_dir: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench.audit", str(run_dir)], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"verify child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_part_run(run_dir: Path) -> Path:
    """A run holding only the first part of ``run_dir`` (hard link), with its own manifest."""
    from pipelines import manifest as mf

    small = run_dir.parent / "first-part" / RUN_ID
    if (small.parent / "complete").exists():
        return small
    shutil.rmtree(small.parent, ignore_errors=True)
    manifest = mf.load_manifest(run_dir)
    section = manifest["workers"][WORKER]
    entry = mf.entries_from_json(section["files"][:1])[0]
    (small / "decisions").mkdir(parents=True)
    os.link(run_dir / entry.path, small / entry.path)
    names = {f.name for f in dataclasses.fields(mf.WorkerRecord)}
    extra: dict[str, Any] = {"last_seq": entry.rows} if "last_seq" in names else {}
    record = mf.WorkerRecord(worker=WORKER, started_at=section["started_at"], finished_at=section["finished_at"],
                             complete=True, policy_hash="c" * 64, files=[entry], stats={},
                             components={"policy_gate": True, "network_guard": True}, **extra)
    mf.update_manifest(small, run_id=RUN_ID, policy=manifest["policy"], record=record)
    (small.parent / "complete").write_text("ok\n")
    return small


def audit_rows(out: Path, *, rows: int, repeats: int) -> list[Row]:
    run_dir, gen_seconds = cached_run(out, rows)
    results = [measure(run_dir) for _ in range(repeats)]
    findings = results[0]["findings"]
    if findings:
        raise RuntimeError(f"verify found problems in the generated run: {findings[:5]}")
    small = measure(first_part_run(run_dir))
    on_disk = sum(p.stat().st_size for p in (run_dir / "decisions").glob("*.parquet"))
    section = "4 audit verify"
    gen_note = f"generated in {gen_seconds:.1f} s" if gen_seconds is not None else "generated run reused from cache"
    mib = 1024
    return [
        Row(section, f"verify rows/s, {rows:,}-row run", "1/s", [rows / r["seconds"] for r in results],
            target=1_000_000, note=f"{on_disk / 2**20:,.0f} MiB in {PART_ROWS:,}-row parts; {gen_note}"),
        Row(section, "verify seconds", "s", [r["seconds"] for r in results], higher_is_better=False, digits=2),
        Row(section, "verify peak RSS above baseline", "MiB",
            [(r["peak_rss_kib"] - r["base_rss_kib"]) / mib for r in results], higher_is_better=False, digits=1,
            note=f"baseline after imports {results[0]['base_rss_kib'] / mib:.0f} MiB"),
        Row(section, "verify peak Arrow pool", "MiB", [r["arrow_peak_bytes"] / 2**20 for r in results],
            higher_is_better=False, digits=1, note=results[0]["arrow_backend"]),
        Row(section, f"same, first part only ({min(rows, PART_ROWS):,} rows): peak RSS above baseline", "MiB",
            [(small["peak_rss_kib"] - small["base_rss_kib"]) / mib], higher_is_better=False, digits=1,
            note="flat vs the full run = streaming"),
    ]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))

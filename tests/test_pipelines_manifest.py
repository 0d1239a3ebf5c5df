"""manifest.json: the hash chain recomputes, and every kind of tampering is named by verify."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.policy.fetchresult import FetchResult
from pipelines.audit import verify
from pipelines.evidence import write_warc
from pipelines.manifest import (
    FileEntry,
    ManifestError,
    WorkerRecord,
    chain,
    chain_genesis,
    chain_link,
    json_safe,
    load_manifest,
    update_manifest,
)
from pipelines.parquet import PartInfo, PartWriter
from pipelines.records import EvidenceEntry
from pipelines.rundir import RunDir
from pipelines.schema import DECISIONS, RECORDING

POLICY = {"hash": "cd" * 32, "config": {"agent_token": "heed", "strict": True}}

#: The decision columns a test row does not care about (non-nullable ones need a value).
DECISION_DEFAULTS: dict[str, Any] = {
    "decision_id": "0" * 64,
    "evidence_ids": [],
    "registry_ids": [],
    "headers": [],
    "redirect_chain": [],
    "heed_version": "0.1.0",
    "parser_version": "test",
}


def decision_row(seq: int, *, run_id: str, worker: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "worker": worker,
        "seq": seq,
        "ts": datetime(2025, 1, 1, tzinfo=UTC),
        "stage": "fetch",
        "verdict": "allow",
        "reasons": [],
        "url": f"http://a.test/{seq}",
        "origin": "http://a.test:80",
        "evidence": [],
        "policy_hash": POLICY["hash"],
        "rules": [],
        "signals": [],
        "agent_token": "heed",
        "strict": True,
        **DECISION_DEFAULTS,
    }


def recording_row(n: int) -> dict[str, Any]:
    return {
        "item_id": f"id{n}",
        "item_type": "recording",
        "source": "generic_web",
        "page_url": f"http://a.test/{n}",
        "fetched_at": datetime(2025, 1, 1, tzinfo=UTC),
        "extractor": "jsonld",
        "extractor_version": "0.1.0",
        "optout_decision": "allow",
        "policy_hash": POLICY["hash"],
    }


def make_run(base: Path, *, run_id: str = "r1", worker: str = "w1", decisions: int = 25) -> Path:
    """A small but real run directory: 3 decision parts, 1 item part, 1 evidence file."""
    rd = RunDir(base / run_id)
    dw = PartWriter(rd.decisions, DECISIONS, prefix=f"decisions-{worker}", rows_per_part=10)
    for seq in range(1, decisions + 1):
        dw.append(decision_row(seq, run_id=run_id, worker=worker))
        if dw.should_flush():
            dw.flush()
    iw = PartWriter(rd.items("recording"), RECORDING, prefix=f"recording-{worker}")
    iw.append(recording_row(1))
    iw.append(recording_row(2))
    robots = FetchResult(url="http://a.test/robots.txt", status=200, body=b"User-agent: *\n", kind="robots.txt")
    evidence = write_warc(rd.evidence / f"evidence-{worker}-000001.warc.gz", [EvidenceEntry.from_result(robots)],
                          run_id=run_id, worker=worker, seal=1)
    listed: list[tuple[str, PartInfo | None]] = [
        *(("decisions", p) for p in dw.close()),
        *(("items", p) for p in iw.close()),
        ("evidence", evidence),
    ]
    files = [
        FileEntry(path=rd.relative(p.path), kind=kind, sha256=p.sha256, rows=p.rows, bytes=p.bytes)
        for kind, p in listed
        if p is not None
    ]
    record = WorkerRecord(worker=worker, started_at="2025-01-01T00:00:00Z", finished_at="2025-01-01T00:01:00Z",
                          policy_hash=POLICY["hash"], files=files, stats={"finish_time": datetime(2025, 1, 1, tzinfo=UTC)},
                          components={"policy_gate": True, "network_guard": True}, last_seq=decisions)
    update_manifest(rd.root, run_id=run_id, policy=POLICY, record=record)
    return rd.root


def rewrite_manifest(run: Path, change: Any) -> None:
    data = json.loads((run / "manifest.json").read_text())
    change(data)
    (run / "manifest.json").write_text(json.dumps(data))


def test_chain_recomputes_from_the_manifest(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    manifest = load_manifest(run)
    section = manifest["workers"]["w1"]
    files = section["files"]
    assert [f["kind"] for f in files] == ["decisions"] * 3 + ["items", "evidence"]
    assert [f["path"] for f in files][:3] == [f"decisions/decisions-w1-00000{i}.parquet" for i in (1, 2, 3)]

    link = chain_genesis("r1", "w1")
    assert section["chain"]["genesis"] == link
    for f in files:
        link = chain_link(link, f["path"], f["sha256"], f["rows"])
        assert f["chain"] == link
    assert section["chain"]["head"] == link
    # the documented formula, spelled out once
    import hashlib

    first = files[0]
    assert first["chain"] == hashlib.sha256(
        f"{chain_genesis('r1', 'w1')}:{first['path']}:{first['sha256']}:{first['rows']}".encode()
    ).hexdigest()
    assert chain_genesis("r1", "w1") == hashlib.sha256(b"heed-chain-v1:r1:w1").hexdigest()


def test_manifest_content(tmp_path: Path) -> None:
    manifest = load_manifest(make_run(tmp_path))
    assert manifest["run_id"] == "r1"
    assert manifest["complete"] is True
    assert manifest["policy"] == POLICY
    assert manifest["started_at"] == "2025-01-01T00:00:00Z"
    assert manifest["finished_at"] == "2025-01-01T00:01:00Z"
    assert {"heed_version", "scrapy_version", "pyarrow_version"} <= manifest.keys()
    assert manifest["workers"]["w1"]["stats"] == {"finish_time": "2025-01-01T00:00:00+00:00"}
    assert [f["rows"] for f in manifest["workers"]["w1"]["files"]] == [10, 10, 5, 2, 2]


def test_clean_run_verifies(tmp_path: Path) -> None:
    assert verify(make_run(tmp_path)) == []


def test_changed_byte_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    part = run / "decisions/decisions-w1-000002.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    findings = verify(run)
    assert any(f.startswith("decisions/decisions-w1-000002.parquet: sha256") for f in findings), findings


def test_deleted_part_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "decisions/decisions-w1-000002.parquet").unlink()
    findings = verify(run)
    assert "decisions/decisions-w1-000002.parquet: listed for worker w1 but missing" in findings
    # the next part no longer continues the sequence
    assert any(f.startswith("decisions/decisions-w1-000003.parquet: seq starts at 21, expected 11") for f in findings)


def test_deleted_part_and_entry_breaks_chain(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "decisions/decisions-w1-000002.parquet").unlink()
    rewrite_manifest(run, lambda m: m["workers"]["w1"]["files"].pop(1))
    findings = verify(run)
    assert any(f.startswith("decisions/decisions-w1-000003.parquet: chain link 2") for f in findings), findings
    assert any("decisions-w1-000003.parquet: seq starts at 21" in f for f in findings)


def test_reordered_entries_are_named(tmp_path: Path) -> None:
    run = make_run(tmp_path)

    def swap(m: dict[str, Any]) -> None:
        files = m["workers"]["w1"]["files"]
        files[0], files[1] = files[1], files[0]

    rewrite_manifest(run, swap)
    findings = verify(run)
    assert any(f.startswith("decisions/decisions-w1-000002.parquet: chain link 1") for f in findings), findings
    assert any(f.startswith("decisions/decisions-w1-000002.parquet: seq starts at 11, expected 1") for f in findings)


def test_unlisted_part_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    shutil.copy(run / "decisions/decisions-w1-000001.parquet", run / "decisions/decisions-w9-000001.parquet")
    shutil.copy(run / "evidence/evidence-w1-000001.warc.gz", run / "evidence/evidence-w9-000001.warc.gz")
    assert verify(run) == [
        "decisions/decisions-w9-000001.parquet: present but not listed in manifest.json",
        "evidence/evidence-w9-000001.warc.gz: present but not listed in manifest.json",
    ]


def test_hidden_temporary_files_are_ignored(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "decisions/.decisions-w1-000004.parquet.tmp").write_bytes(b"half written")
    assert verify(run) == []


def test_row_count_edit_is_named(tmp_path: Path) -> None:
    run = make_run(tmp_path)

    def edit(m: dict[str, Any]) -> None:
        m["workers"]["w1"]["files"][3]["rows"] = 3

    rewrite_manifest(run, edit)
    findings = verify(run)
    assert "items/recording/recording-w1-000001.parquet: 2 rows, manifest says 3" in findings
    assert any(f.startswith("items/recording/recording-w1-000001.parquet: chain link 4") for f in findings)


def test_missing_or_broken_manifest(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "manifest.json").write_text("{not json")
    findings = verify(run)
    assert findings[0].startswith("manifest.json: unreadable")
    (run / "manifest.json").unlink()
    findings = verify(run)
    assert findings[0] == "manifest.json: missing"
    assert "decisions/decisions-w1-000001.parquet: present but not listed in manifest.json" in findings
    with pytest.raises(ManifestError, match="missing"):
        load_manifest(run)


def test_two_workers_share_one_manifest(tmp_path: Path) -> None:
    make_run(tmp_path, worker="w1")
    run = make_run(tmp_path, worker="w2", decisions=4)
    manifest = load_manifest(run)
    assert sorted(manifest["workers"]) == ["w1", "w2"]
    assert manifest["workers"]["w2"]["chain"]["genesis"] == chain_genesis("r1", "w2")
    assert verify(run) == []


def test_manifest_of_another_run_is_refused(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    record = WorkerRecord(worker="w2", started_at="2025-01-01T00:00:00Z")
    with pytest.raises(ManifestError, match="belongs to run 'r1'"):
        update_manifest(run, run_id="other", policy=POLICY, record=record)


def test_incomplete_worker_is_a_finding(tmp_path: Path) -> None:
    run = make_run(tmp_path)

    def fail(m: dict[str, Any]) -> None:
        m["workers"]["w1"]["complete"] = False
        m["workers"]["w1"]["errors"] = ["OSError: disk full"]

    rewrite_manifest(run, fail)
    assert verify(run) == ["manifest.json: worker w1 did not complete (OSError: disk full)"]


def test_path_leaving_the_run_dir_is_not_opened(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    rewrite_manifest(run, lambda m: m["workers"]["w1"]["files"][0].update(path="../outside.parquet"))
    assert "../outside.parquet: listed path leaves the run directory" in verify(run)


def test_empty_chain_and_json_safe() -> None:
    assert chain("r", "w", []) == []
    record = WorkerRecord(worker="w", started_at="s").to_json("r")
    assert record["chain"]["head"] == record["chain"]["genesis"] == chain_genesis("r", "w")
    assert json_safe({"a": float("inf"), "b": {1, 2}, "c": (1, datetime(2025, 1, 1))}) == {
        "a": "inf",
        "b": [1, 2],
        "c": [1, "2025-01-01T00:00:00"],
    }

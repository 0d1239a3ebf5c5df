"""audit.summary / format_summary / verify over generated run directories."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.audit import CHECKS, AuditContext, AuditUsageError, format_summary, summary, verify
from pipelines.manifest import FileEntry, WorkerRecord, update_manifest
from pipelines.parquet import PartWriter
from pipelines.rundir import RunDir
from pipelines.schema import DECISIONS, RECORDING
from test_pipelines_manifest import DECISION_DEFAULTS

#: (stage, verdict, reasons, url) of every decision in the generated run
DECISION_TABLE: list[tuple[str, str, list[str], str]] = [
    ("fetch", "allow", [], "http://a.test/1"),
    ("fetch", "allow", [], "http://a.test/2"),
    ("fetch", "deny", ["robots.ai-token:GPTBot", "robots.ai-token:CCBot"], "http://a.test/private"),
    ("fetch", "deny", ["tdmrep.file", "registry.url:r7"], "https://b.test/x"),
    ("fetch", "hold", ["robots.unreachable:503"], "http://c.test:8080/"),
    ("use", "allow", [], "http://a.test/1"),
    ("use", "deny", ["noai"], "http://a.test/2"),
    ("item", "allow", [], "http://a.test/1"),
    ("item", "deny", ["validate:isrc"], "http://a.test/3"),
]

ORIGINS = {"http://a.test": "http://a.test:80", "https://b.test": "https://b.test:443", "http://c.test:8080": "http://c.test:8080"}


def _origin(url: str) -> str:
    return next(v for k, v in ORIGINS.items() if url.startswith(k))


def make_run(base: Path, table: list[tuple[str, str, list[str], str]] = DECISION_TABLE, *, seqs: list[int] | None = None) -> Path:
    rd = RunDir(base / "run1")
    writer = PartWriter(rd.decisions, DECISIONS, prefix="decisions-w1", rows_per_part=4)
    for index, (stage, verdict, reasons, url) in enumerate(table):
        writer.append(
            {
                "run_id": "run1",
                "worker": "w1",
                "seq": seqs[index] if seqs else index + 1,
                "ts": datetime(2025, 1, 1, tzinfo=UTC),
                "stage": stage,
                "verdict": verdict,
                "reasons": reasons,
                "url": url,
                "origin": _origin(url),
                "evidence": [],
                "item_type": "recording" if stage == "item" else None,
                "policy_hash": "h",
                "rules": [],
                "signals": [],
                "agent_token": "heed",
                "strict": True,
                **DECISION_DEFAULTS,
            }
        )
        if writer.should_flush():
            writer.flush()
    items = PartWriter(rd.items("recording"), RECORDING, prefix="recording-w1")
    items.append(
        {
            "item_id": "i1",
            "item_type": "recording",
            "source": "generic_web",
            "page_url": "http://a.test/1",
            "fetched_at": datetime(2025, 1, 1, tzinfo=UTC),
            "extractor": "jsonld",
            "extractor_version": "0.1.0",
            "optout_decision": "allow",
            "policy_hash": "h",
        }
    )
    listed = [("decisions", p) for p in writer.close()] + [("items", p) for p in items.close()]
    files = [FileEntry(path=rd.relative(p.path), kind=k, sha256=p.sha256, rows=p.rows, bytes=p.bytes) for k, p in listed]
    record = WorkerRecord(worker="w1", started_at="2025-01-01T00:00:00Z", finished_at="2025-01-01T00:00:09Z", files=files,
                          components={"policy_gate": True, "network_guard": True},
                          last_seq=seqs[-1] if seqs else len(table))
    update_manifest(rd.root, run_id="run1", policy={"hash": "h", "config": {}}, record=record)
    return rd.root


def test_summary_counts(tmp_path: Path) -> None:
    data = summary(make_run(tmp_path))
    assert data["decisions"] == 9
    assert data["by_worker"] == {"w1": 9}
    assert data["by_stage"] == {"fetch": 5, "item": 2, "use": 2}
    assert data["by_stage_verdict"] == {
        "fetch": {"allow": 2, "deny": 2, "hold": 1},
        "item": {"allow": 1, "deny": 1},
        "use": {"allow": 1, "deny": 1},
    }
    assert data["by_reason_family"] == {
        "robots.ai-token": 2,
        "noai": 1,
        "registry.url": 1,
        "robots.unreachable": 1,
        "tdmrep.file": 1,
        "validate": 1,
    }
    assert data["by_host_verdict"] == {
        "a.test": {"allow": 4, "deny": 3},
        "b.test": {"deny": 1},
        "c.test": {"hold": 1},
    }
    assert data["items"] == {"recording": 1}


def test_format_summary_is_plain_text_tables(tmp_path: Path) -> None:
    text = format_summary(summary(make_run(tmp_path)))
    assert "decisions: 9" in text
    lines = text.splitlines()
    header = lines[lines.index("by stage and verdict") + 1]
    assert header.split() == ["stage", "allow", "deny", "hold", "total"]
    assert ["fetch", "2", "2", "1", "5"] in [line.split() for line in lines]
    assert ["a.test", "4", "3", "0", "7"] in [line.split() for line in lines]
    assert ["recording", "1"] in [line.split() for line in lines]


def test_summary_of_an_empty_run(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    data = summary(tmp_path / "run")
    assert data["decisions"] == 0 and data["by_stage"] == {} and data["items"] == {}
    assert "(none)" in format_summary(data)


def test_usage_error_for_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(AuditUsageError):
        summary(tmp_path / "nope")
    with pytest.raises(AuditUsageError):
        verify(tmp_path / "nope")


def test_verify_clean_and_seq_gap(tmp_path: Path) -> None:
    assert verify(make_run(tmp_path / "ok")) == []
    seqs = [1, 2, 3, 4, 5, 7, 8, 9, 10]  # row 6 is missing
    findings = verify(make_run(tmp_path / "gap", seqs=seqs))
    assert findings == [
        "decisions/decisions-w1-000002.parquet: seq not strictly consecutive at row 1 (5 then 7, worker w1): "
        "a row was deleted, inserted or moved"
    ]


def test_verify_seq_must_start_at_one(tmp_path: Path) -> None:
    findings = verify(make_run(tmp_path, seqs=list(range(2, 11))))
    assert findings == ["decisions/decisions-w1-000001.parquet: seq starts at 2, expected 1 (worker w1)"]


def test_checks_are_extensible(tmp_path: Path) -> None:
    run = make_run(tmp_path)

    def no_signature(ctx: AuditContext) -> list[str]:
        return [] if "signature" in ctx.manifest else ["manifest.json: not signed"]

    assert verify(run, checks=(*CHECKS, no_signature)) == ["manifest.json: not signed"]


def test_summary_reads_only_complete_parts(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "decisions" / ".decisions-w1-000009.parquet.tmp").write_bytes(b"PAR1 half")
    assert summary(run)["decisions"] == 9


"""PartWriter: real part files under tmp_path, read back with pyarrow and DuckDB."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

import pipelines.parquet as parquet_mod
from pipelines.parquet import PartInfo, PartWriteError, PartWriter
from pipelines.schema import DECISIONS
from test_pipelines_manifest import DECISION_DEFAULTS

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in microseconds


def decision_row(seq: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": "r1",
        "worker": "w1",
        "seq": seq,
        "ts": T0 + seq,
        "stage": "fetch",
        "verdict": "deny" if seq % 3 == 0 else "allow",
        "reasons": ["robots.disallow"] if seq % 3 == 0 else [],
        "url": f"http://a.test/p/{seq}",
        "origin": "http://a.test:80",
        "http_status": None if seq % 2 else 200,
        "evidence": [{"kind": "robots.txt", "url": "http://a.test/robots.txt", "sha256": "ab" * 32}],
        "item_type": None,
        "item_id": None,
        "policy_hash": "cd" * 32,
        "rules": ["robots.txt:2 Disallow: /p/"] if seq % 3 == 0 else [],
        "signals": [{"name": "tdm-reservation", "value": "1"}],
        "agent_token": "heed",
        "strict": True,
        **DECISION_DEFAULTS,
    }
    row.update(overrides)
    return row


def write_rows(writer: PartWriter, rows: list[dict[str, Any]]) -> list[PartInfo]:
    for row in rows:
        writer.append(row)
        if writer.should_flush():
            writer.flush()
    return writer.close()


def test_rows_round_trip_in_part_order(tmp_path: Path) -> None:
    seen: list[PartInfo] = []
    writer = PartWriter(tmp_path, DECISIONS, prefix="decisions-w1", rows_per_part=10, on_part=seen.append)
    rows = [decision_row(i) for i in range(1, 26)]
    parts = write_rows(writer, rows)

    assert [p.path.name for p in parts] == [f"decisions-w1-00000{i}.parquet" for i in (1, 2, 3)]
    assert [p.rows for p in parts] == [10, 10, 5]
    assert seen == parts
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.path.name for p in parts]

    back = [r for p in parts for r in pq.read_table(p.path).to_pylist()]
    assert len(back) == len(rows)
    for got, want in zip(back, rows, strict=True):
        assert got["ts"] == datetime.fromtimestamp(want["ts"] / 1e6, UTC)
        assert {k: v for k, v in got.items() if k in want and k != "ts"} == {k: v for k, v in want.items() if k != "ts"}
        assert all(got[k] is None for k in got.keys() - want.keys())  # columns not given are null

    con = duckdb.connect()
    seqs = con.execute(
        "SELECT seq FROM read_parquet(?, filename = true) ORDER BY filename, seq", [str(tmp_path / "*.parquet")]
    ).fetchall()
    assert [s for (s,) in seqs] == list(range(1, 26))
    by_verdict = dict(
        con.execute("SELECT verdict, count(*) FROM read_parquet(?) GROUP BY 1", [str(tmp_path / "*.parquet")]).fetchall()
    )
    assert by_verdict == {"allow": 17, "deny": 8}


def test_schema_is_exact_and_metadata_kept(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, DECISIONS, prefix="d", extra_metadata={"heed.run_id": "r1"})
    (part,) = write_rows(writer, [decision_row(1), decision_row(2)])

    schema = pq.read_schema(part.path)
    assert schema.equals(DECISIONS, check_metadata=False)
    for field in DECISIONS:
        assert schema.field(field.name).metadata == field.metadata
        assert schema.field(field.name).nullable == field.nullable
    meta = schema.metadata
    for key, value in DECISIONS.metadata.items():
        assert meta[key] == value
    assert meta[b"heed.run_id"] == b"r1"
    assert meta[b"heed.part"] == b"1"
    assert meta[b"heed.rows"] == b"2"
    assert pq.ParquetFile(part.path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_part_info_digest_and_size_match_the_file(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, DECISIONS, prefix="d", rows_per_part=2)
    parts = write_rows(writer, [decision_row(i) for i in range(1, 6)])
    for part in parts:
        data = part.path.read_bytes()
        assert part.sha256 == hashlib.sha256(data).hexdigest()
        assert part.bytes == len(data)
    assert writer.rows_written == 5
    assert writer.parts == parts


def test_no_parquet_file_visible_until_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reached, release = threading.Event(), threading.Event()
    real_publish = parquet_mod.publish

    def slow_publish(tmp: Path, final: Path) -> None:
        reached.set()
        assert release.wait(10)
        real_publish(tmp, final)

    monkeypatch.setattr(parquet_mod, "publish", slow_publish)
    writer = PartWriter(tmp_path, DECISIONS, prefix="d")
    writer.append(decision_row(1))
    future = writer.flush()
    assert future is not None
    assert reached.wait(10)
    try:
        assert list(tmp_path.glob("*.parquet")) == []
        hidden = [p.name for p in tmp_path.iterdir()]
        assert hidden == [".d-000001.parquet.tmp"]
        assert duckdb.connect().execute(
            "SELECT count(*) FROM glob(?)", [str(tmp_path / "*.parquet")]
        ).fetchone() == (0,)
    finally:
        release.set()
    (part,) = writer.close()
    assert [p.name for p in tmp_path.iterdir()] == [part.path.name]


def test_flush_is_due_by_rows_or_by_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(parquet_mod.time, "monotonic", lambda: now[0])
    writer = PartWriter(tmp_path, DECISIONS, prefix="d", rows_per_part=3, max_seconds=2.0)
    assert not writer.should_flush()
    writer.append(decision_row(1))
    assert not writer.should_flush()
    now[0] += 1.9
    writer.append(decision_row(2))
    assert not writer.should_flush()
    now[0] += 0.2  # the oldest row has now waited 2.1 s
    assert writer.should_flush()
    writer.flush()
    assert not writer.should_flush() and writer.buffered == 0
    for seq in (3, 4, 5):
        writer.append(decision_row(seq))
    assert writer.should_flush()
    assert [p.rows for p in writer.close()] == [2, 3]


def test_flush_of_empty_buffer_writes_nothing(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, DECISIONS, prefix="d")
    assert writer.flush() is None
    assert writer.close() == []
    assert list(tmp_path.iterdir()) == []


def test_unknown_column_is_refused_at_once(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, DECISIONS, prefix="d")
    with pytest.raises(ValueError, match="unknown columns.*'colour'"):
        writer.append(decision_row(1, colour="red"))
    writer.close()


def test_writer_thread_error_surfaces(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="pipelines.parquet")
    writer = PartWriter(tmp_path, DECISIONS, prefix="d", rows_per_part=1)
    writer.append(decision_row(1, http_status="not a number"))
    future = writer.flush()
    assert future is not None
    assert future.exception() is not None  # waits for the thread
    with pytest.raises(PartWriteError, match="writing parts of d"):
        writer.flush()
    with pytest.raises(PartWriteError):
        writer.append(decision_row(2))
    with pytest.raises(PartWriteError):
        writer.close()
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert list(tmp_path.iterdir()) == []  # no part, no temporary file left behind
    assert writer.failed


def test_null_in_required_column_fails_at_close(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = PartWriter(tmp_path, DECISIONS, prefix="d")
    writer.append(decision_row(1, url=None))
    with caplog.at_level(logging.ERROR, logger="pipelines.parquet"), pytest.raises(PartWriteError, match="url"):
        writer.close()
    assert list(tmp_path.glob("*.parquet")) == []


def test_publish_refuses_to_overwrite(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "d-000001.parquet").write_bytes(b"earlier worker")
    writer = PartWriter(tmp_path, DECISIONS, prefix="d")
    writer.append(decision_row(1))
    with caplog.at_level(logging.ERROR, logger="pipelines.parquet"), pytest.raises(PartWriteError, match="exists"):
        writer.close()
    assert (tmp_path / "d-000001.parquet").read_bytes() == b"earlier worker"

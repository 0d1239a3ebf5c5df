"""The write-ahead journal: framing, torn tails, group commit, rotation and failure."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pipelines import journal as jr


def test_frames_read_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "w-000001.wal"
    path.write_bytes(jr.frame(jr.HEADER, b"{}") + jr.frame(jr.DECISION, b'{"seq":1}') + jr.frame(jr.ITEM, b""))
    read = jr.read_segment(path)
    assert read.records == [(jr.HEADER, b"{}"), (jr.DECISION, b'{"seq":1}'), (jr.ITEM, b"")]
    assert read.torn_bytes == 0


@pytest.mark.parametrize("damage", ["cut", "garbage", "bitflip"])
def test_a_torn_tail_is_skipped_and_counted(tmp_path: Path, damage: str) -> None:
    good = jr.frame(jr.DECISION, b'{"seq":1}')
    last = jr.frame(jr.DECISION, b'{"seq":2}')
    if damage == "cut":
        tail = last[: len(last) - 3]
    elif damage == "garbage":
        tail = b"\x00\x17not a frame"
    else:
        tail = last[:-1] + bytes([last[-1] ^ 0x01])
    path = tmp_path / "w-000001.wal"
    path.write_bytes(good + tail)
    read = jr.read_segment(path)
    assert read.records == [(jr.DECISION, b'{"seq":1}')]
    assert read.torn_bytes == len(tail)


def test_appends_become_durable_and_are_reported(tmp_path: Path) -> None:
    reported: list[int] = []
    journal = jr.Journal(tmp_path, "w1", segment=1, header=b'{"run_id":"r"}', on_commit=reported.append)
    tickets = [journal.append(jr.DECISION, f'{{"seq":{n}}}'.encode()) for n in range(1, 6)]
    assert tickets == [1, 2, 3, 4, 5]
    journal.wait_durable(5, timeout=10)
    assert journal.durable == 5 and reported[-1] == 5 and reported == sorted(reported)
    (path,) = tmp_path.glob("*.wal")
    assert path.name == "w1-000001.wal"
    records = jr.read_segment(path).records
    assert records[0] == (jr.HEADER, b'{"run_id":"r"}')
    assert [p for _k, p in records[1:]] == [f'{{"seq":{n}}}'.encode() for n in range(1, 6)]
    journal.close()


def test_rotation_ends_a_segment_and_files_appear_only_with_records(tmp_path: Path) -> None:
    journal = jr.Journal(tmp_path, "w1", segment=7)
    journal.append(jr.DECISION, b"a")
    end = journal.rotate()
    assert journal.segment == 8
    journal.wait_durable(end, timeout=10)
    assert [i for i, _p in jr.segments(tmp_path, "w1")] == [7]
    journal.rotate()  # nothing was written to segment 8: no file for it
    journal.append(jr.DECISION, b"b")
    journal.close()
    assert [i for i, _p in jr.segments(tmp_path, "w1")] == [7, 9]
    assert [p for k, p in jr.read_segment(tmp_path / "w1-000009.wal").records if k == jr.DECISION] == [b"b"]
    assert jr.workers_with_segments(tmp_path) == ["w1"]


def test_concurrent_waiters_share_syncs(tmp_path: Path) -> None:
    journal = jr.Journal(tmp_path, "w1", segment=1, commit_interval=0.05)
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            with lock:  # one producer at a time, as on the event loop
                ticket = journal.append(jr.DECISION, b"x" * 100)
            journal.wait_durable(ticket, timeout=10)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert journal.durable == 400
    assert journal.syncs < 400  # group commit: one sync covers several waiting appends
    assert len(jr.read_segment(tmp_path / "w1-000001.wal").records) == 401


def test_a_failed_write_fails_every_waiter_and_later_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[int] = []
    journal = jr.Journal(tmp_path, "w1", segment=1, on_commit=reported.append)
    journal.wait_durable(journal.append(jr.DECISION, b"ok"), timeout=10)
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if fd == journal._fd:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(jr.os, "write", full)
    ticket = journal.append(jr.DECISION, b"lost")
    with pytest.raises(jr.JournalError, match="No space left"):
        journal.wait_durable(ticket, timeout=10)
    assert reported[-1] == -1 and journal.durable == 1
    with pytest.raises(jr.JournalError):
        journal.append(jr.DECISION, b"after")
    with pytest.raises(jr.JournalError):
        journal.close()

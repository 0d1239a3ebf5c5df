"""A named job's run history: ``runs.jsonl``, one JSON object per run, oldest first.

Each line: ``run_id``, ``started``, ``finished`` (ISO 8601 UTC), ``status`` (ok/failed),
``reason`` (the first failure or "-"), ``exit`` (the exit status). The line is appended
after the run's log has sealed and been verified, while the job lock is still held, so
lines never interleave and a line names a run directory that is complete. Incremental
recrawls read the last ``ok`` run from here to know what the previous crawl saw.

A torn last line (the machine lost power mid-append) is skipped when reading, never fatal:
the history is an index over run directories, which stay the record.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    started: str
    finished: str
    status: str
    reason: str
    exit: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(run_id=str(data["run_id"]), started=str(data.get("started", "")),
                   finished=str(data.get("finished", "")), status=str(data.get("status", "")),
                   reason=str(data.get("reason", "-")), exit=int(data.get("exit", 1)))


def append_run(path: Path, record: RunRecord) -> None:
    """Append one line and fsync it (the caller holds the job lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(record), separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_runs(path: Path) -> list[RunRecord]:
    """Every readable line of the history, oldest first ([] when there is none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    runs: list[RunRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            runs.append(RunRecord.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            logger.warning("%(path)s line %(n)d is not a run record; skipped", {"path": path, "n": number})
    return runs


def last_run(path: Path, *, status: str | None = "ok") -> RunRecord | None:
    """The latest run (with ``status``, or of any status when None)."""
    for record in reversed(read_runs(path)):
        if status is None or record.status == status:
            return record
    return None


__all__ = ["RunRecord", "append_run", "last_run", "read_runs"]

"""One run of a job at a time: an exclusive ``flock`` on the job's lock file.

A scheduler does not know how long the previous run takes: cron starts the next one on the
hour whether or not the last one is done, and scrapyd runs every scheduled job as its own
process. Two runs of one job would crawl the same sites twice as hard (breaking the
politeness promises) and race on the job's history. So a named job (``JOB_NAME``) holds an
exclusive, non-blocking ``flock`` on ``<PROVENANCE_DIR>/.jobs/<JOB_NAME>/lock`` for its whole
crawl; a second run finds it taken and gives up at once (exit 75), crawling nothing.

``flock`` belongs to the open file, so the kernel releases it when the holder exits in any
way, SIGKILL included: a dead run never blocks the next one, and there is no stale-lock
clean-up to get wrong. The file itself is never deleted (deleting a lock file lets two
processes lock two different files). Its content names the holder (pid, host, start time,
run id) for the message the second run prints; it is informative only, the lock is the
``flock``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from pipelines.rundir import utc_now_iso

logger = logging.getLogger(__name__)


class JobLocked(RuntimeError):
    """Another process holds the job's lock."""

    def __init__(self, path: Path, holder: Mapping[str, Any]) -> None:
        self.path = path
        self.holder = dict(holder)
        super().__init__(f"another run of this job is crawling ({describe(self.holder)}); lock: {path}")


def describe(holder: Mapping[str, Any]) -> str:
    """``pid 123 on host, run <id>, since <start>`` (what is known of it)."""
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"]
    if holder.get("run_id"):
        parts.append(f"run {holder['run_id']}")
    if holder.get("started"):
        parts.append(f"since {holder['started']}")
    return ", ".join(parts)


def holder_token(holder: Mapping[str, Any]) -> str:
    """``<pid>@<host>``: the holder in one word (for the summary line)."""
    return f"{holder.get('pid', '?')}@{holder.get('host', '?')}" if holder else "-"


def read_holder(path: Path) -> dict[str, Any]:
    """What the lock file says about its holder ({} when empty or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class JobLock:
    """Hold the lock at ``path`` while the ``with`` block runs; :class:`JobLocked` if taken."""

    def __init__(self, path: Path, *, run_id: str = "") -> None:
        self.path = Path(path)
        self.run_id = run_id
        self._fd: int | None = None
        self._started = ""

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JobLocked(self.path, read_holder(self.path)) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._started = utc_now_iso()
        self.note(run_id=self.run_id)
        logger.info("Job lock %(path)s held by pid %(pid)d", {"path": self.path, "pid": os.getpid()})

    def note(self, *, run_id: str) -> None:
        """(Re)write the holder's description: pid, host, start time, run id."""
        if self._fd is None:
            raise RuntimeError("the job lock is not held")
        self.run_id = run_id
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": self._started, "run_id": run_id}
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
        except OSError as exc:  # the lock holds without the note; only the message gets poorer
            logger.warning("Could not write the holder into %(path)s: %(exc)s", {"path": self.path, "exc": exc})

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


__all__ = ["JobLock", "JobLocked", "describe", "holder_token", "read_holder"]

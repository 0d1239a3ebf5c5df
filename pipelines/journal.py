"""The write-ahead journal: what makes a decision durable before its fetch happens.

A Parquet part is only written when a buffer fills (or ages), so a crawl killed with SIGKILL
would lose every row still buffered — including the ``allow`` rows of requests that were
already sent. The journal closes that gap. Every row and every evidence record is first
appended here, as one framed record, by the event-loop thread (a memory copy, no I/O); a
single **group-commit thread** writes what has accumulated with ``os.write`` and makes it
durable with ``fdatasync``, then reports the highest durable ticket through ``on_commit``.
The policy gate awaits that report for fetch-stage ``allow`` rows before a request goes to
the downloader, so one ``fdatasync`` covers every request that arrived while the previous
one ran (requests wait in parallel, so throughput does not pay the latency).

Files: ``<run>/.journal/<worker>-<NNNNNN>.wal``, one **segment** per seal (see
:mod:`pipelines.worklog`): segment *k* holds exactly the rows and evidence of the files of
seal *k*, and is deleted once those files are published. A segment file is created when
its first record is written, so a segment that receives nothing leaves no file.

Frame layout (big-endian)::

    b"HJ" | kind (1 byte) | length (4 bytes) | crc32(kind + payload) (4 bytes) | payload

A reader stops at the first frame that is short or fails its CRC: that is the torn tail of
a write the crash interrupted, and nothing after it was ever acknowledged as durable.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

JOURNAL_DIR: Final = ".journal"
MAGIC: Final = b"HJ"
_HEAD: Final = struct.Struct(">2scII")
_SUFFIX: Final = ".wal"

#: Record kinds.
HEADER: Final = b"H"
DECISION: Final = b"D"
ITEM: Final = b"I"
EVIDENCE: Final = b"E"


class JournalError(OSError):
    """The journal could not be written or synced; nothing after it is durable."""


def frame(kind: bytes, payload: bytes) -> bytes:
    """One framed record."""
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return _HEAD.pack(MAGIC, kind, len(payload), crc) + payload


@dataclass(frozen=True, slots=True)
class SegmentContents:
    """What a reader recovered from one segment file."""

    records: list[tuple[bytes, bytes]]
    #: bytes after the last good frame (a torn tail; 0 for a clean file)
    torn_bytes: int


def read_segment(path: Path) -> SegmentContents:
    """Every complete frame of a segment, in order; a torn tail is skipped and counted."""
    data = path.read_bytes()
    records: list[tuple[bytes, bytes]] = []
    pos, size = 0, len(data)
    while pos + _HEAD.size <= size:
        magic, kind, length, crc = _HEAD.unpack_from(data, pos)
        start, end = pos + _HEAD.size, pos + _HEAD.size + length
        if magic != MAGIC or end > size:
            break
        payload = data[start:end]
        if zlib.crc32(payload, zlib.crc32(kind)) != crc:
            break
        records.append((kind, payload))
        pos = end
    return SegmentContents(records, size - pos)


def segment_name(worker: str, index: int) -> str:
    return f"{worker}-{index:06d}{_SUFFIX}"


def segments(directory: Path, worker: str) -> list[tuple[int, Path]]:
    """``(index, path)`` of the worker's segment files, by index."""
    if not directory.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(worker)}-(\d{{6}}){re.escape(_SUFFIX)}$")
    found = []
    for path in directory.iterdir():
        m = pattern.match(path.name)
        if m:
            found.append((int(m[1]), path))
    return sorted(found)


def workers_with_segments(directory: Path) -> list[str]:
    """Names of workers that left segment files behind (crashed or still running)."""
    if not directory.is_dir():
        return []
    names = {m[1] for p in directory.iterdir() if (m := re.match(r"^(.+)-\d{6}\.wal$", p.name))}
    return sorted(names)


class Journal:
    """Append-only, group-committed journal of one worker (see the module docstring).

    ``append`` and ``rotate`` are called from one producer thread; ``on_commit(ticket)`` is
    called from the commit thread after every successful sync with the highest durable
    ticket, or with ``-1`` once after a failure (then :attr:`error` is set).
    """

    def __init__(
        self,
        directory: Path,
        worker: str,
        *,
        segment: int,
        header: bytes = b"{}",
        commit_interval: float = 0.05,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.worker = worker
        self.commit_interval = commit_interval
        self.on_commit = on_commit
        self._header = header
        self._segment = segment
        self._cond = threading.Condition()
        #: (segment, framed bytes) in append order; a ``None`` payload ends a segment
        self._pending: list[tuple[int, bytes | None]] = []
        self._ticket = 0
        self._durable = 0
        self._urgent = False
        self._closing = False
        self._error: BaseException | None = None
        self._fd: int | None = None
        self._fd_segment: int | None = None
        self.syncs = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name=f"heed-journal-{worker}", daemon=True)
        self._thread.start()

    # -- producer side ------------------------------------------------------------------

    @property
    def segment(self) -> int:
        """Index of the segment that receives new records."""
        return self._segment

    @property
    def ticket(self) -> int:
        """Ticket of the last appended record."""
        return self._ticket

    @property
    def durable(self) -> int:
        """Highest ticket known to be on disk."""
        return self._durable

    @property
    def error(self) -> BaseException | None:
        return self._error

    def append(self, kind: bytes, payload: bytes) -> int:
        """Queue one record; returns its ticket (durable once :attr:`durable` reaches it)."""
        if self._error is not None:
            raise JournalError(f"journal of {self.worker} failed earlier: {self._error!r}")
        data = frame(kind, payload)
        with self._cond:
            self._ticket += 1
            self._pending.append((self._segment, data))
            if len(self._pending) == 1:
                self._cond.notify()
            return self._ticket

    def urge(self) -> None:
        """Someone waits for durability: commit now instead of after ``commit_interval``."""
        with self._cond:
            self._urgent = True
            self._cond.notify()

    def rotate(self) -> int:
        """End the current segment; later records go to the next one. Returns the ticket
        after which the ended segment is complete on disk."""
        with self._cond:
            self._pending.append((self._segment, None))
            self._segment += 1
            self._cond.notify()
            return self._ticket

    def wait_durable(self, ticket: int, timeout: float | None = None) -> None:
        """Block until ``ticket`` is durable; :class:`JournalError` on failure or timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            while self._durable < ticket and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise JournalError(f"journal of {self.worker}: ticket {ticket} not durable in time")
                self._cond.wait(remaining)
            if self._error is not None and self._durable < ticket:
                raise JournalError(f"journal of {self.worker} failed: {self._error!r}")

    def close(self) -> None:
        """Commit everything queued, stop the thread, close the file."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:
            raise JournalError(f"journal of {self.worker} failed: {self._error!r}")

    # -- commit thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending and self._closing:
                    break
                if not self._urgent and not self._closing:
                    # Nobody waits: let a batch accumulate for a short while.
                    self._cond.wait(self.commit_interval)
                batch, self._pending = self._pending, []
                upto = self._ticket  # every appended record is in this batch
                self._urgent = False
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - reported to every waiter
                logger.error("Journal write failed in %(dir)s", {"dir": self.directory}, exc_info=True)
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                if self.on_commit is not None:
                    self.on_commit(-1)
                break
            with self._cond:
                self._durable = upto
                self._cond.notify_all()
            if self.on_commit is not None:
                self.on_commit(upto)
        self._close_fd()

    def _write(self, batch: list[tuple[int, bytes | None]]) -> None:
        current: int | None = None
        chunks: list[bytes] = []
        for segment, data in batch:
            if data is None:  # end of segment: make it whole on disk, then let it go
                self._flush(chunks, current)
                chunks = []
                if self._fd_segment == segment:
                    self._sync()
                    self._close_fd()
                continue
            if segment != current:
                self._flush(chunks, current)
                chunks, current = [], segment
            chunks.append(data)
        self._flush(chunks, current)
        if self._fd is not None:
            self._sync()

    def _flush(self, chunks: list[bytes], segment: int | None) -> None:
        if not chunks:
            return
        if self._fd is None or self._fd_segment != segment:
            assert segment is not None
            self._open(segment)
        data = b"".join(chunks)
        view = memoryview(data)
        assert self._fd is not None
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def _open(self, segment: int) -> None:
        self._close_fd()
        path = self.directory / segment_name(self.worker, segment)
        fresh = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._fd_segment = segment
        if fresh:
            os.write(self._fd, frame(HEADER, self._header))
            _fsync_dir(self.directory)

    def _sync(self) -> None:
        assert self._fd is not None
        (getattr(os, "fdatasync", None) or os.fsync)(self._fd)
        self.syncs += 1

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._fd_segment = None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "DECISION",
    "EVIDENCE",
    "HEADER",
    "ITEM",
    "JOURNAL_DIR",
    "Journal",
    "JournalError",
    "SegmentContents",
    "frame",
    "read_segment",
    "segment_name",
    "segments",
    "workers_with_segments",
]

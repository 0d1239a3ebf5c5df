"""Parquet part files written off the event loop.

A crawl produces rows one at a time on Scrapy's reactor thread, but building an Arrow table
and compressing it is bulk work: a 10k-row flush blocks the loop for 70-100 ms
(reference/perf-notes.md). :class:`PartWriter` therefore

* buffers rows column-wise (a dict of lists: ``Table.from_pydict`` is almost twice as fast
  as building from row dicts),
* hands each full buffer to a single background thread, which builds the table, writes one
  zstd part file under a hidden temporary name, fsyncs it and renames it into place
  (see :mod:`pipelines.rundir`); one thread keeps parts in order,
* records a :class:`PartInfo` (path, rows, sha256, bytes) for every completed part, in
  order: the manifest chains these digests, so a row's integrity follows from its part's.

A failure in the writer thread is logged at once and raised as :class:`PartWriteError` from
the next :meth:`~PartWriter.append`, :meth:`~PartWriter.flush` or :meth:`~PartWriter.close`:
a provenance log that silently stops recording would be worse than none. After a failure the
writer accepts nothing more.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.rundir import publish, tmp_path

logger = logging.getLogger(__name__)

COMPRESSION = "zstd"


class PartWriteError(RuntimeError):
    """Writing a part file failed; the writer is unusable from then on."""


@dataclass(frozen=True, slots=True)
class PartInfo:
    """A completed, published file: where it is, how many rows, its digest and size."""

    path: Path
    rows: int
    sha256: str
    bytes: int


def write_part(
    final: Path,
    schema: pa.Schema,
    columns: Mapping[str, list[Any]],
    rows: int,
    metadata: Mapping[bytes, bytes] | None = None,
) -> PartInfo:
    """Write one zstd Parquet file from column lists: hidden temporary name, fsync, rename.

    ``metadata`` is added to the schema's key-value metadata (with ``heed.rows``). Refuses
    to replace an existing file. Returns the published file's :class:`PartInfo`.
    """
    meta = dict(schema.metadata or {})
    meta.update(metadata or {})
    meta[b"heed.rows"] = str(rows).encode()
    table = pa.Table.from_pydict(dict(columns), schema=schema.with_metadata(meta))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    data = sink.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(final)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PartInfo(path=final, rows=rows, sha256=digest, bytes=data.size)


class PartWriter:
    """Buffer rows of one schema and write them as numbered Parquet part files.

    Parts are named ``<prefix>-<NNNNNN>.parquet`` (from 000001) in ``directory``. Each part
    carries the schema's metadata plus ``extra_metadata`` and ``heed.part`` /
    ``heed.rows`` key-value pairs. ``on_part`` is called with each :class:`PartInfo`
    **in the writer thread**, in part order; the same values are kept in :attr:`parts`.
    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        *,
        prefix: str,
        rows_per_part: int = 10_000,
        max_seconds: float = 2.0,
        extra_metadata: Mapping[str, str] | None = None,
        on_part: Callable[[PartInfo], None] | None = None,
    ) -> None:
        if rows_per_part < 1:
            raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        self.directory = directory
        self.schema = schema
        self.prefix = prefix
        self.rows_per_part = rows_per_part
        self.max_seconds = max_seconds
        metadata = dict(schema.metadata or {})
        metadata.update({k.encode(): v.encode() for k, v in (extra_metadata or {}).items()})
        self._metadata: dict[bytes, bytes] = metadata
        self._on_part = on_part
        self._names: tuple[str, ...] = tuple(schema.names)
        self._name_set: frozenset[str] = frozenset(self._names)
        self._columns: dict[str, list[Any]] = self._empty()
        self._buffered = 0
        self._oldest: float | None = None
        self._next_index = 1
        self._parts: list[PartInfo] = []
        self._lock = threading.Lock()
        self._pending: list[Future[PartInfo]] = []
        self._error: BaseException | None = None
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        directory.mkdir(parents=True, exist_ok=True)

    # -- producer side (event loop thread) ---------------------------------------------

    def append(self, row: Mapping[str, Any]) -> None:
        """Buffer one row; missing columns are null, unknown columns raise ``ValueError``."""
        self._raise_if_failed()
        if self._closed:
            raise PartWriteError(f"{self.prefix}: writer is closed")
        if not self._name_set.issuperset(row.keys()):
            unknown = sorted(set(row.keys()) - self._name_set)
            raise ValueError(f"{self.prefix}: unknown columns {unknown}")
        get = row.get
        for name, column in self._columns.items():
            column.append(get(name))
        if self._oldest is None:
            self._oldest = time.monotonic()
        self._buffered += 1

    @property
    def buffered(self) -> int:
        """Rows appended but not yet handed to the writer thread."""
        return self._buffered

    def should_flush(self) -> bool:
        """True when the buffer is full or its oldest row has waited ``max_seconds``."""
        if self._buffered >= self.rows_per_part:
            return True
        return self._oldest is not None and time.monotonic() - self._oldest >= self.max_seconds

    def flush(self) -> Future[PartInfo] | None:
        """Hand the buffer to the writer thread as one part; None when the buffer is empty.

        Returns at once. The future resolves to the part's :class:`PartInfo`; use
        :meth:`wait` or :meth:`close` to wait for completion.
        """
        self._raise_if_failed()
        if not self._buffered:
            return None
        columns, rows = self._columns, self._buffered
        self._columns, self._buffered, self._oldest = self._empty(), 0, None
        index, self._next_index = self._next_index, self._next_index + 1
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"heed-{self.prefix}")
        future = self._executor.submit(self._write_part, columns, rows, index)
        future.add_done_callback(self._done)
        self._pending.append(future)
        return future

    def wait(self) -> list[PartInfo]:
        """Block until every submitted part is written; return all completed parts in order."""
        pending, self._pending = self._pending, []
        for future in pending:
            # exception() waits; the done callback may not have run yet, so keep the
            # first failure here too (it is logged by the callback).
            exc = future.exception()
            if exc is not None and self._error is None:
                self._error = exc
        self._raise_if_failed()
        return self.parts

    def close(self) -> list[PartInfo]:
        """Flush what is buffered, wait for the writer thread, stop it; return all parts.

        Raises :class:`PartWriteError` if any part failed. Closing twice is harmless.
        """
        try:
            if not self._closed and self._error is None:
                self.flush()
            return self.wait()
        finally:
            self._closed = True
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    @property
    def parts(self) -> list[PartInfo]:
        """Completed parts so far, in part order (a copy)."""
        with self._lock:
            return list(self._parts)

    @property
    def rows_written(self) -> int:
        with self._lock:
            return sum(p.rows for p in self._parts)

    @property
    def failed(self) -> bool:
        return self._error is not None

    # -- writer thread -----------------------------------------------------------------

    def _write_part(self, columns: dict[str, list[Any]], rows: int, index: int) -> PartInfo:
        final = self.directory / f"{self.prefix}-{index:06d}.parquet"
        metadata = dict(self._metadata)
        metadata[b"heed.part"] = str(index).encode()
        info = write_part(final, self.schema, columns, rows, metadata)
        with self._lock:
            self._parts.append(info)
        if self._on_part is not None:
            self._on_part(info)
        return info

    def _done(self, future: Future[PartInfo]) -> None:
        exc = future.exception()
        if exc is None:
            return
        if self._error is None:
            self._error = exc
        logger.error(
            "Writing a part of %(prefix)s in %(dir)s failed",
            {"prefix": self.prefix, "dir": self.directory},
            exc_info=exc,
        )

    # -- helpers -----------------------------------------------------------------------

    def _empty(self) -> dict[str, list[Any]]:
        return {name: [] for name in self._names}

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise PartWriteError(
                f"writing parts of {self.prefix} in {self.directory} failed: {self._error!r}"
            ) from self._error


__all__ = ["COMPRESSION", "PartInfo", "PartWriteError", "PartWriter", "write_part"]

"""The crawl DB of a named job: what each URL answered last time, and how to ask for it again.

A job is crawled again and again; the second run should cost the sites (and heed) little.
One SQLite file per job (``JobPaths.recrawl_db``) keeps one row per URL:

* the validators of the last ``200`` (``ETag``, ``Last-Modified``) and the SHA-256 of its
  body, so the next run can ask "changed since?" and be answered ``304`` without a body;
* the status, run and time of the last answer, and the policy hash it was judged under —
  validators are only sent while the policy is the same, so a page is never skipped because
  of a verdict taken under other rules;
* the request itself (``Request.to_dict()`` encoded with :mod:`crawler.distributed.codec`,
  never pickle), so a later run can schedule a page whose parent answered ``304`` and was
  therefore not parsed for links. A request whose meta or arguments are not plain JSON is
  not stored at all.

WAL journaling lets a reader (another worker of the job, an operator's ``sqlite3``) look
while a crawl writes; every write commits at once (``synchronous=NORMAL``: no fsync per
page). Losing the last rows in a crash costs only a full download next time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from crawler.distributed import codec

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    spider TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    status INTEGER,
    run_id TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    policy_hash TEXT,
    request BLOB
);
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COLUMNS: Final = "url, spider, etag, last_modified, sha256, status, run_id, fetched_at, policy_hash"


class StoreError(RuntimeError):
    """The crawl DB cannot be used (another schema version, a corrupt file)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One URL's row (without the stored request)."""

    url: str
    spider: str
    etag: str | None
    last_modified: str | None
    sha256: str | None
    status: int | None
    run_id: str
    fetched_at: float
    policy_hash: str | None

    @property
    def has_validators(self) -> bool:
        return bool(self.etag or self.last_modified)


class RecrawlStore:
    """One job's crawl DB. Use from one thread; several processes may share the file."""

    def __init__(self, path: Path | str, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the crawl DB: {exc}") from exc

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM store_info WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO store_info VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(f"{self.path}: crawl DB schema {row[0]}, this heed reads {SCHEMA_VERSION}")

    def close(self) -> None:
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # another process holds it; the WAL is folded in later
        self._db.close()

    def __enter__(self) -> RecrawlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def get(self, url: str) -> Page | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM pages WHERE url = ?", (url,)).fetchone()
        return Page(*row) if row is not None else None

    def request_dict(self, url: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT request FROM pages WHERE url = ?", (url,)).fetchone()
        return codec.loads(row[0]) if row is not None and row[0] is not None else None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pages").fetchone()[0])

    def last_rowid(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(rowid), 0) FROM pages").fetchone()[0])

    def known_requests(
        self, spider: str, *, upto: int | None = None, batch: int = 500
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(url, request dict)`` of every stored request of *spider*, oldest row first.

        Read in batches by rowid (no cursor stays open across yields, so the caller may
        write in between); *upto* (a :meth:`last_rowid`) leaves out rows added later.
        """
        upto = self.last_rowid() if upto is None else upto
        after = 0
        while True:
            rows = self._db.execute(
                "SELECT rowid, url, request FROM pages WHERE rowid > ? AND rowid <= ? AND spider = ? "
                "AND request IS NOT NULL ORDER BY rowid LIMIT ?", (after, upto, spider, batch),
            ).fetchall()
            if not rows:
                return
            for rowid, url, blob in rows:
                after = rowid
                try:
                    yield url, codec.loads(blob)
                except ValueError:
                    continue  # a damaged row: the page is found by links again, if at all

    # -- writing ---------------------------------------------------------------------------

    def record(
        self,
        url: str,
        *,
        spider: str,
        run_id: str,
        status: int,
        etag: str | None,
        last_modified: str | None,
        sha256: str | None,
        policy_hash: str | None,
        request: dict[str, Any],
        fetched_at: float | None = None,
    ) -> bool:
        """Store a full answer (a ``200``) and its request; False when the request is not
        plain JSON (then nothing is stored, and an older row of the URL is removed)."""
        try:
            blob = codec.dumps(request)
        except (codec.Unserializable, ValueError):
            self.delete(url)
            return False
        self._db.execute(
            "INSERT INTO pages (url, spider, etag, last_modified, sha256, status, run_id, fetched_at, policy_hash, "
            "request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET spider = excluded.spider, "
            "etag = excluded.etag, last_modified = excluded.last_modified, sha256 = excluded.sha256, "
            "status = excluded.status, run_id = excluded.run_id, fetched_at = excluded.fetched_at, "
            "policy_hash = excluded.policy_hash, request = excluded.request",
            (url, spider, etag, last_modified, sha256, status, run_id,
             time.time() if fetched_at is None else fetched_at, policy_hash, blob),
        )
        return True

    def touch(self, url: str, *, run_id: str, status: int, fetched_at: float | None = None) -> bool:
        """An answer that kept the stored body (a ``304``): only when and what was answered."""
        cursor = self._db.execute(
            "UPDATE pages SET status = ?, run_id = ?, fetched_at = ? WHERE url = ?",
            (status, run_id, time.time() if fetched_at is None else fetched_at, url),
        )
        return cursor.rowcount > 0

    def forget_validators(self, url: str) -> bool:
        """Next time, fetch *url* in full: its last verdict was not an allow."""
        cursor = self._db.execute(
            "UPDATE pages SET etag = NULL, last_modified = NULL, sha256 = NULL WHERE url = ? "
            "AND (etag IS NOT NULL OR last_modified IS NOT NULL OR sha256 IS NOT NULL)", (url,),
        )
        return cursor.rowcount > 0

    def delete(self, url: str) -> bool:
        return self._db.execute("DELETE FROM pages WHERE url = ?", (url,)).rowcount > 0


__all__ = ["Page", "RecrawlStore", "SCHEMA_VERSION", "StoreError"]

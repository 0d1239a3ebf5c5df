"""The evidence archive: byte-exact copies of what each decision rests on, as WARC.

A decision row names its evidence by ``(kind, url, sha256)``. An auditor must be able to
take that triple and find the exact bytes heed read, months later, with ordinary web-archive
tools; WARC (ISO 28500) is the format those tools read. One worker writes one file,
``evidence/evidence-<worker>.warc.gz`` (one gzip member per record), starting with a
``warcinfo`` record that names the run and worker.

Record conventions:

* A fetched policy file (robots.txt, tdmrep.json, ai.txt, a registry answer, ...) is a
  ``response`` record: the original URL as ``WARC-Target-URI``, an HTTP/1.1 status line, the
  headers as received and the body exactly as received.
* A block cut out of a content response (``kind`` ``headers``: the header lines that carried
  a signal; ``html-meta``: the meta elements that did; see :data:`DERIVED_KINDS`) is a
  ``metadata`` record about the response URL whose content is the block exactly as the
  gate hashed it, with the response status in ``X-Heed-Http-Status``. It is not a
  ``response`` record because the block is not the response body, and replay tools must
  not serve it as one.
* A fetch that got no response at all (``status is None``) is a ``metadata`` record
  (``application/warc-fields``) with the kind and the error name.
* ``Content-Length``, ``Content-Encoding`` and ``Transfer-Encoding`` describe the bytes on
  the wire, not the (already decoded) body heed keeps, so in ``response`` records they are
  stored renamed as ``X-Heed-Orig-<Name>`` and a fresh ``Content-Length`` is set.
* Every record carries ``X-Heed-Sha256`` (hex sha256 of the result's body: the value in a
  decision row's ``evidence.sha256``; for the no-response case, of the empty body),
  ``X-Heed-Kind`` and a standard ``WARC-Payload-Digest: sha256:<base32>``.

Evidence is stored once per ``(kind, url, status, sha256)``: a 503 and a 200 with the same
body are different evidence.

The file is written as ``.evidence-<worker>.warc.gz.tmp`` and renamed on :meth:`close`.
**A crash before close loses the evidence file** (the hidden temporary file stays behind);
per-record crash safety is planned.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import crawler
from pipelines.parquet import PartInfo
from pipelines.rundir import check_name, evidence_name, publish, tmp_path

if TYPE_CHECKING:
    from crawler.policy.fetchresult import FetchResult

logger = logging.getLogger(__name__)

SHA256_HEADER: Final = "X-Heed-Sha256"
KIND_HEADER: Final = "X-Heed-Kind"

#: Kinds whose body is a block heed cut out of a content response, not a fetched file.
DERIVED_KINDS: Final = frozenset({"headers", "html-meta", "embedded"})

_DERIVED_TYPES: Final = {"headers": "text/plain; charset=utf-8", "html-meta": "text/html; charset=utf-8"}

#: Headers that describe the transfer, not the body heed keeps.
_RENAMED: Final = frozenset({"content-length", "content-encoding", "transfer-encoding"})


class _HashingFile:
    """Write-through file wrapper that keeps a running sha256 and byte count."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def _clean(value: str) -> str:
    """Header values never contain line breaks (they would forge WARC or HTTP headers)."""
    return value.replace("\r", " ").replace("\n", " ")


def _http_headers(result: FetchResult) -> StatusAndHeaders:
    status = result.status or 0
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    pairs: list[tuple[str, str]] = []
    for name, values in result.headers.items():
        if isinstance(values, str):
            values = (values,)
        label = f"X-Heed-Orig-{name}" if name.lower() in _RENAMED else name
        pairs.extend((_clean(label), _clean(str(v))) for v in values)
    pairs.append(("Content-Length", str(len(result.body))))
    return StatusAndHeaders(f"{status} {phrase}".rstrip(), pairs, protocol="HTTP/1.1")


def _warc_date(fetched_at: float) -> str:
    when = datetime.fromtimestamp(fetched_at, UTC) if fetched_at > 0 else datetime.now(UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _fields(pairs: Iterable[tuple[str, str]]) -> bytes:
    return b"".join(f"{k}: {_clean(v)}\r\n".encode() for k, v in pairs if v)


class EvidenceArchive:
    """Collects one worker's evidence into ``<directory>/evidence-<worker>.warc.gz``."""

    def __init__(self, directory: Path, *, worker: str, run_id: str = "") -> None:
        self.directory = directory
        self.worker = check_name("worker", worker)
        self.run_id = run_id
        self.path = directory / evidence_name(worker)
        self._seen: dict[tuple[str, str, str, str], str] = {}
        self._records = 0
        self._raw: BinaryIO | None = None
        self._out: _HashingFile | None = None
        self._writer: WARCWriter | None = None
        self._closed = False

    @property
    def records(self) -> int:
        """WARC records written so far, including the leading ``warcinfo``."""
        return self._records

    def add(self, result: FetchResult) -> str:
        """Archive ``result`` unless the same evidence is already stored.

        Returns the ``WARC-Record-ID`` of the record holding it (the earlier one on a
        repeat).
        """
        if self._closed:
            raise RuntimeError(f"evidence archive {self.path} is closed")
        key = (result.kind, result.url, str(result.status), result.sha256)
        known = self._seen.get(key)
        if known is not None:
            return known
        writer = self._open()
        warc_headers = {
            "WARC-Date": _warc_date(result.fetched_at),
            SHA256_HEADER: result.sha256,
            KIND_HEADER: result.kind or "unknown",
            "WARC-Payload-Digest": "sha256:"
            + base64.b32encode(hashlib.sha256(result.body).digest()).decode("ascii"),
        }
        if result.status is None:
            payload = _fields(
                [("kind", result.kind), ("error", result.error or "no-response"),
                 ("redirects", str(result.redirects))]
            )
            record = writer.create_warc_record(
                result.url,
                "metadata",
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type="application/warc-fields",
                warc_headers_dict=warc_headers,
            )
        elif result.kind in DERIVED_KINDS:
            warc_headers["X-Heed-Http-Status"] = str(result.status)
            record = writer.create_warc_record(
                result.url,
                "metadata",
                payload=io.BytesIO(result.body),
                length=len(result.body),
                warc_content_type=_DERIVED_TYPES.get(result.kind, "application/octet-stream"),
                warc_headers_dict=warc_headers,
            )
        else:
            record = writer.create_warc_record(
                result.url,
                "response",
                payload=io.BytesIO(result.body),
                length=len(result.body),
                warc_headers_dict=warc_headers,
                http_headers=_http_headers(result),
            )
        writer.write_record(record)
        self._records += 1
        record_id: str = record.rec_headers.get_header("WARC-Record-ID")
        self._seen[key] = record_id
        return record_id

    def close(self) -> PartInfo | None:
        """Finish and publish the file; None when nothing was archived.

        The returned :class:`PartInfo` counts WARC records (``warcinfo`` included) in
        ``rows``.
        """
        if self._closed:
            return None
        self._closed = True
        if self._raw is None or self._out is None:
            return None
        tmp = tmp_path(self.path)
        try:
            self._raw.flush()
            os.fsync(self._raw.fileno())
        finally:
            self._raw.close()
        publish(tmp, self.path)
        info = PartInfo(
            path=self.path, rows=self._records, sha256=self._out.digest.hexdigest(), bytes=self._out.size
        )
        logger.debug("Wrote %(records)d evidence records to %(path)s", {"records": info.rows, "path": info.path})
        return info

    def _open(self) -> WARCWriter:
        if self._writer is not None:
            return self._writer
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            raise FileExistsError(f"{self.path} already exists; is worker {self.worker!r} running twice?")
        self._raw = open(tmp_path(self.path), "wb")  # noqa: SIM115 - closed in close()
        self._out = _HashingFile(self._raw)
        self._writer = WARCWriter(self._out, gzip=True, warc_version="1.1")
        info = {
            "software": f"heed/{crawler.__version__}",
            "format": "WARC File Format 1.1",
            "heed-run-id": self.run_id,
            "heed-worker": self.worker,
            "heed-evidence-key": f"{SHA256_HEADER} is the hex sha256 of the payload, as in decision rows",
        }
        self._writer.write_record(self._writer.create_warcinfo_record(self.path.name, info))
        self._records += 1
        return self._writer


def count_records(path: Path) -> int:
    """Number of WARC records in a file (used by the audit)."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        return sum(1 for _ in ArchiveIterator(fh))


def find(path: Path, sha256: str) -> list[dict[str, str]]:
    """WARC headers of the records in ``path`` whose payload has this hex sha256."""
    from warcio.archiveiterator import ArchiveIterator

    found: list[dict[str, str]] = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_headers.get_header(SHA256_HEADER) == sha256:
                found.append(dict(record.rec_headers.headers))
    return found


__all__ = ["DERIVED_KINDS", "KIND_HEADER", "SHA256_HEADER", "EvidenceArchive", "count_records", "find"]

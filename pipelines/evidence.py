"""The evidence archive: byte-exact copies of what each decision rests on, as WARC.

A decision row names its evidence by ``(kind, url, sha256)`` and by WARC-Record-ID
(``evidence_ids``). An auditor must be able to take either and find the exact bytes heed
read, months later, with ordinary web-archive tools; WARC (ISO 28500) is the format those
tools read. Evidence is journaled first (:mod:`pipelines.journal`) and written, per seal,
as ``evidence/evidence-<worker>-<NNNNNN>.warc.gz`` (one gzip member per record), published
atomically like a Parquet part: a reader never meets a half-written gzip member.

Record conventions:

* every file starts with a ``warcinfo`` record naming the run, the worker and the seal;
* a fetched policy file (robots.txt, tdmrep.json, ai.txt, a registry answer, ...) is a
  ``response`` record: the original URL as ``WARC-Target-URI``, an HTTP/1.1 status line,
  the headers as received and the body exactly as received. ``Content-Length``,
  ``Content-Encoding`` and ``Transfer-Encoding`` describe the wire, not the decoded body
  kept here, so they are stored renamed as ``X-Heed-Orig-<Name>`` and a fresh
  ``Content-Length`` is set;
* a block cut out of a content response (``headers``: the header lines that carried a
  signal; ``html-meta``: the meta elements that did) is a ``metadata`` record about the
  response URL, with the block exactly as the gate hashed it: it is not the response body
  and replay tools must not serve it as one;
* a fetch that got no response at all is a ``metadata`` record (``application/warc-fields``)
  with the kind and the error name;
* a local file in force for the whole run (each registry CSV, the AI-token list) is a
  ``resource`` record, ``WARC-Target-URI`` ``file://...``.

Every record carries ``X-Heed-Sha256`` (hex sha256 of the body: the value in a decision
row's ``evidence.sha256``), ``X-Heed-Kind``, ``X-Heed-Evidence-Url`` (the ``evidence.url``
of decision rows), ``X-Heed-Http-Status`` and ``X-Heed-Redirects`` where known, and a
standard ``WARC-Payload-Digest: sha256:<base32>``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import quote

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import crawler
from pipelines.parquet import PartInfo
from pipelines.records import EvidenceEntry
from pipelines.rundir import publish, tmp_path

logger = logging.getLogger(__name__)

SHA256_HEADER: Final = "X-Heed-Sha256"
KIND_HEADER: Final = "X-Heed-Kind"
URL_HEADER: Final = "X-Heed-Evidence-Url"
STATUS_HEADER: Final = "X-Heed-Http-Status"
REDIRECTS_HEADER: Final = "X-Heed-Redirects"

#: Kinds whose body is a block heed cut out of a content response, not a fetched file.
DERIVED_KINDS: Final = frozenset({"headers", "html-meta", "embedded"})

_DERIVED_TYPES: Final = {"headers": "text/plain; charset=utf-8", "html-meta": "text/html; charset=utf-8"}
_ORIG: Final = "X-Heed-Orig-"
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


def _http_headers(entry: EvidenceEntry) -> StatusAndHeaders:
    status = entry.status or 0
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    pairs: list[tuple[str, str]] = []
    for name, values in entry.headers.items():
        label = f"{_ORIG}{name}" if name.lower() in _RENAMED else name
        pairs.extend((_clean(label), _clean(str(v))) for v in values)
    pairs.append(("Content-Length", str(len(entry.body))))
    return StatusAndHeaders(f"{status} {phrase}".rstrip(), pairs, protocol="HTTP/1.1")


def _warc_date(fetched_at: float) -> str:
    when = datetime.fromtimestamp(fetched_at, UTC) if fetched_at > 0 else datetime.now(UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _fields(pairs: Sequence[tuple[str, str]]) -> bytes:
    return b"".join(f"{k}: {_clean(v)}\r\n".encode() for k, v in pairs if v)


def _record(writer: WARCWriter, entry: EvidenceEntry):  # type: ignore[no-untyped-def]
    headers = {
        "WARC-Record-ID": entry.record_id,
        "WARC-Date": _warc_date(entry.fetched_at),
        SHA256_HEADER: entry.sha256,
        KIND_HEADER: entry.kind,
        URL_HEADER: _clean(entry.url),
        REDIRECTS_HEADER: str(entry.redirects),
        "WARC-Payload-Digest": "sha256:" + base64.b32encode(hashlib.sha256(entry.body).digest()).decode("ascii"),
    }
    if entry.status is not None:
        headers[STATUS_HEADER] = str(entry.status)
    if entry.resource:
        uri = "file://" + quote(entry.url if entry.url.startswith("/") else "/" + entry.url)
        return writer.create_warc_record(
            uri, "resource", payload=io.BytesIO(entry.body), length=len(entry.body),
            warc_content_type="text/csv; charset=utf-8", warc_headers_dict=headers,
        )
    if entry.status is None:
        payload = _fields([("kind", entry.kind), ("error", entry.error or "no-response"),
                           ("redirects", str(entry.redirects))])
        return writer.create_warc_record(
            entry.url, "metadata", payload=io.BytesIO(payload), length=len(payload),
            warc_content_type="application/warc-fields", warc_headers_dict=headers,
        )
    if entry.kind in DERIVED_KINDS:
        return writer.create_warc_record(
            entry.url, "metadata", payload=io.BytesIO(entry.body), length=len(entry.body),
            warc_content_type=_DERIVED_TYPES.get(entry.kind, "application/octet-stream"),
            warc_headers_dict=headers,
        )
    return writer.create_warc_record(
        entry.url, "response", payload=io.BytesIO(entry.body), length=len(entry.body),
        warc_headers_dict=headers, http_headers=_http_headers(entry),
    )


def write_warc(path: Path, entries: Sequence[EvidenceEntry], *, run_id: str, worker: str, seal: int) -> PartInfo:
    """Write ``entries`` as one WARC file, published atomically; ``rows`` counts records
    (the leading ``warcinfo`` included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        with open(tmp, "wb") as raw:
            out = _HashingFile(raw)
            writer = WARCWriter(out, gzip=True, warc_version="1.1")
            info = {
                "software": f"heed/{crawler.__version__}",
                "format": "WARC File Format 1.1",
                "heed-run-id": run_id,
                "heed-worker": worker,
                "heed-seal": str(seal),
                "heed-evidence-key": f"{SHA256_HEADER} is the hex sha256 of the payload, as in decision rows",
            }
            writer.write_record(writer.create_warcinfo_record(path.name, info))
            for entry in entries:
                writer.write_record(_record(writer, entry))
            raw.flush()
            os.fsync(raw.fileno())
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PartInfo(path=path, rows=len(entries) + 1, sha256=out.digest.hexdigest(), bytes=out.size)


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedEvidence:
    """One evidence record read back from a WARC file."""

    record_id: str
    kind: str
    url: str
    sha256: str
    status: int | None
    redirects: int
    error: str | None
    date: str
    file: Path
    offset: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""


def _restore_headers(http: StatusAndHeaders | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if http is None:
        return out
    for name, value in http.headers:
        lname = name.lower()
        if lname == "content-length":
            continue  # ours, not the server's
        if lname.startswith(_ORIG.lower()):
            lname = lname[len(_ORIG):]
        out.setdefault(lname, []).append(value)
    return out


def _parse_fields(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def _archived(record, path: Path, offset: int, body: bytes) -> ArchivedEvidence:  # type: ignore[no-untyped-def]
    rh = record.rec_headers
    status_text = rh.get_header(STATUS_HEADER)
    error = None
    if record.rec_type == "metadata" and rh.get_header("Content-Type") == "application/warc-fields":
        error = _parse_fields(body).get("error")
    return ArchivedEvidence(
        record_id=rh.get_header("WARC-Record-ID") or "",
        kind=rh.get_header(KIND_HEADER) or "",
        url=rh.get_header(URL_HEADER) or rh.get_header("WARC-Target-URI") or "",
        sha256=rh.get_header(SHA256_HEADER) or "",
        status=int(status_text) if status_text and status_text.isdigit() else None,
        redirects=int(rh.get_header(REDIRECTS_HEADER) or 0),
        error=error,
        date=rh.get_header("WARC-Date") or "",
        file=path,
        offset=offset,
        headers=_restore_headers(record.http_headers) if record.rec_type == "response" else {},
        body=body if error is None else b"",
    )


def iter_evidence(path: Path, *, bodies: bool = True) -> Iterator[ArchivedEvidence]:
    """Evidence records of one WARC file (``warcinfo`` skipped). A damaged tail ends the
    iteration with a warning instead of an exception: readers skip a torn tail."""
    with open(path, "rb") as fh:
        records = ArchiveIterator(fh)
        try:
            for record in records:
                if record.rec_type != "warcinfo":
                    # read the body before asking for the offset: the offset call moves on
                    body = record.content_stream().read() if bodies or record.rec_type == "metadata" else b""
                    found = _archived(record, path, records.get_record_offset(), body)
                    yield found if bodies else replace(found, body=b"")
        except Exception as exc:  # noqa: BLE001 - a damaged file is reported, not fatal here
            logger.warning("Stopped reading %(path)s at a damaged record: %(exc)s", {"path": path, "exc": exc})


def read_at(path: Path, offset: int) -> ArchivedEvidence | None:
    """The record starting at ``offset`` of ``path`` (an offset from :func:`iter_evidence`)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh):
            return _archived(record, path, offset, record.content_stream().read())
    return None


def count_records(path: Path) -> int:
    """Number of WARC records in a file, ``warcinfo`` included (used by the audit)."""
    with open(path, "rb") as fh:
        return sum(1 for _ in ArchiveIterator(fh))


def find(path: Path, sha256: str) -> list[dict[str, str]]:
    """WARC headers of the records in ``path`` whose payload has this hex sha256."""
    found: list[dict[str, str]] = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_headers.get_header(SHA256_HEADER) == sha256:
                found.append(dict(record.rec_headers.headers))
    return found


__all__ = [
    "DERIVED_KINDS",
    "KIND_HEADER",
    "SHA256_HEADER",
    "URL_HEADER",
    "ArchivedEvidence",
    "count_records",
    "find",
    "iter_evidence",
    "read_at",
    "write_warc",
]

"""How rows and evidence travel through the journal: plain JSON, one record per frame.

The journal must be readable by :func:`pipelines.recover.recover_worker` with no state but
the file, and by an auditor's tools, so records are JSON (never pickle: loading a pickle
from a run directory someone else could have written would run their code). Rows are
stored already converted to what ``pyarrow.Table.from_pydict`` accepts for the schema
(timestamps as integer microseconds since the epoch, UTC), and the live writer buffers the
very same values, so a part rebuilt from the journal holds what the live part would have.

Evidence records carry the exact bytes (base64) plus everything needed to write the WARC
record later: the ``WARC-Record-ID`` is chosen when the evidence is journaled, so decision
rows can name it (``evidence_ids``) before the WARC file exists.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from crawler.policy.fetchresult import FetchResult

#: One encoder for every record: ``json.dumps`` with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)


_PLAIN: Final = frozenset({str, int, float, bool, type(None)})


def jsonable_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`jsonable` over a row's values (plain values pass untouched: the common case)."""
    plain = _PLAIN
    return {k: v if v.__class__ in plain else jsonable(v) for k, v in row.items()}


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as UTC microseconds, dates as days, tuples as lists."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a row; timestamps must be timezone-aware")
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, date):
        return (value - _EPOCH_DATE).days
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    from itemadapter import ItemAdapter

    if ItemAdapter.is_item(value):  # a nested item (a dataclass in a list, say)
        return jsonable(ItemAdapter(value).asdict())
    raise TypeError(f"cannot store a {type(value).__name__} in a row")


def encode_row(row: Mapping[str, Any], columns: Sequence[str] | None = None) -> bytes:
    """A row as JSON; with ``columns``, only those values, as a positional array (the
    journal leaves out the columns that are constant for the segment and names the others
    once in its header)."""
    if columns is None:
        return _ENCODE(row).encode()
    return _ENCODE([row[c] for c in columns]).encode()


def encode_item(item_type: str, row: Mapping[str, Any]) -> bytes:
    return _ENCODE({"t": item_type, "r": row}).encode()


def decode_item(payload: bytes) -> tuple[str, dict[str, Any]]:
    data = json.loads(payload)
    return str(data["t"]), dict(data["r"])


def decode_row(
    payload: bytes, columns: Sequence[str] | None = None, constants: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Inverse of :func:`encode_row` (``constants`` fill the columns left out)."""
    data = json.loads(payload)
    row = dict(zip(columns, data, strict=True)) if columns is not None else dict(data)
    if constants:
        row.update(constants)
    return row


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceEntry:
    """One piece of evidence as journaled and later written as a WARC record."""

    record_id: str
    kind: str
    url: str
    status: int | None
    body: bytes
    sha256: str
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    error: str | None = None
    redirects: int = 0
    fetched_at: float = 0.0
    #: ``response``/``metadata`` for fetched files and cut-out blocks; ``resource`` for a
    #: local file in force for the whole run (a registry, the AI-token list)
    resource: bool = False

    @classmethod
    def of_file(cls, kind: str, path: str | Path) -> EvidenceEntry:
        """A local file in force for the whole run (a registry, the AI-token list)."""
        body = Path(path).read_bytes()
        return cls(record_id=new_record_id(), kind=kind, url=str(path), status=None, body=body,
                   sha256=hashlib.sha256(body).hexdigest(), resource=True)

    @classmethod
    def from_result(cls, result: FetchResult, record_id: str | None = None) -> EvidenceEntry:
        return cls(
            record_id=record_id or new_record_id(),
            kind=result.kind or "unknown",
            url=result.url,
            status=result.status,
            body=bytes(result.body),
            sha256=result.sha256,
            headers={str(k): [str(v) for v in ((vs,) if isinstance(vs, str) else vs)]
                     for k, vs in result.headers.items()},
            error=result.error,
            redirects=int(result.redirects or 0),
            fetched_at=float(result.fetched_at or 0.0),
        )

    def encode(self) -> bytes:
        return json.dumps(
            {
                "id": self.record_id,
                "kind": self.kind,
                "url": self.url,
                "status": self.status,
                "sha256": self.sha256,
                "headers": {k: list(v) for k, v in self.headers.items()},
                "error": self.error,
                "redirects": self.redirects,
                "fetched_at": self.fetched_at,
                "resource": self.resource,
                "body": base64.b64encode(self.body).decode("ascii"),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, payload: bytes) -> EvidenceEntry:
        data = json.loads(payload)
        return cls(
            record_id=str(data["id"]),
            kind=str(data["kind"]),
            url=str(data["url"]),
            status=data.get("status"),
            body=base64.b64decode(data.get("body") or ""),
            sha256=str(data["sha256"]),
            headers={str(k): [str(x) for x in v] for k, v in (data.get("headers") or {}).items()},
            error=data.get("error"),
            redirects=int(data.get("redirects") or 0),
            fetched_at=float(data.get("fetched_at") or 0.0),
            resource=bool(data.get("resource")),
        )


__all__ = [
    "EvidenceEntry",
    "decode_item",
    "decode_row",
    "encode_item",
    "encode_row",
    "jsonable",
    "jsonable_row",
    "new_record_id",
]

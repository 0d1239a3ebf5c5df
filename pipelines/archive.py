"""Find archived evidence the way decision rows name it.

Rows name evidence by ``(kind, url, sha256)`` and, since the journal, also by
WARC-Record-ID (``evidence_ids``). :class:`EvidenceIndex` reads every
``evidence/*.warc.gz`` of a run once, keeps the headers and the position of each record
(not the bodies), and loads a body only when asked — a crawl of many hosts archives many
header blocks, and explaining one URL needs three of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from crawler.policy.fetchresult import FetchResult
from pipelines.evidence import ArchivedEvidence, iter_evidence, read_at
from pipelines.rundir import RunDir


class EvidenceIndex:
    """All evidence records of a run directory, by record id and by (kind, url, sha256)."""

    def __init__(self, records: Iterable[ArchivedEvidence]) -> None:
        self.by_id: dict[str, ArchivedEvidence] = {}
        self.by_key: dict[tuple[str, str, str], list[ArchivedEvidence]] = {}
        for record in records:
            self.by_id[record.record_id] = record
            self.by_key.setdefault((record.kind, record.url, record.sha256), []).append(record)

    @classmethod
    def load(cls, run_dir: Path) -> EvidenceIndex:
        files = sorted(RunDir(run_dir).evidence.glob("*.warc.gz"))
        return cls(record for path in files for record in iter_evidence(path, bodies=False))

    def __len__(self) -> int:
        return len(self.by_id)

    def records(self) -> list[ArchivedEvidence]:
        return list(self.by_id.values())

    def find(
        self, kind: str, url: str, sha256: str, *, record_id: str | None = None, status: str | None = None
    ) -> ArchivedEvidence | None:
        """The record a row names: by id when given, else by key (``status`` — the detail
        of a ``"<kind> status"`` signal, e.g. ``503`` or ``timeout`` — tells apart empty
        bodies with the same digest). None when it is not archived."""
        if record_id and record_id in self.by_id:
            return self.by_id[record_id]
        found = self.by_key.get((kind, url, sha256), [])
        if status is not None:
            matching = [r for r in found if str(r.status) == status or r.error == status]
            found = matching or found
        return found[-1] if found else None

    def with_body(self, record: ArchivedEvidence) -> ArchivedEvidence:
        if record.body or record.error is not None:
            return record
        loaded = read_at(record.file, record.offset)
        return replace(record, body=loaded.body, headers=loaded.headers) if loaded is not None else record

    def fetch_result(self, record: ArchivedEvidence) -> FetchResult:
        """The archived fetch as the gate handed it to the policy code."""
        full = self.with_body(record)
        return FetchResult(
            url=full.url, status=full.status, body=full.body, kind=full.kind, headers=full.headers,
            error=full.error, redirects=full.redirects, fetched_at=0.0,
        )


def status_signals(signals: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """``{"robots.txt": "200", ...}`` from a row's ``"<kind> status"`` signals."""
    out = {}
    for s in signals:
        name = s.get("name") or ""
        if name.endswith(" status"):
            out[name[: -len(" status")]] = s.get("value") or ""
    return out


__all__ = ["EvidenceIndex", "status_signals"]

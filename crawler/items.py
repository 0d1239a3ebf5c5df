"""Item classes: plain dataclasses whose fields mirror the Arrow schemas column for column.

The Parquet schema in :mod:`pipelines.schema` is the contract; these classes are how the
extractors speak it. Field names and order equal the schema's, a test keeps them in step,
and a field that is non-nullable in the schema never defaults to ``None`` here. The classes
are not frozen because pipelines fill in ``optout_decision`` and ``policy_hash`` through
``ItemAdapter`` after extraction.

Items are built by plain functions (see :mod:`crawler.extract.jsonld`), never by
``ItemLoader`` processors, so the building rules can be tested without Scrapy.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

logger = logging.getLogger(__name__)


class FieldSource(TypedDict):
    """Provenance of one extracted value: which syntax, where on the page, and the raw text."""

    field: str
    syntax: str  # "json-ld", "microdata", "opengraph", "api", ...
    locator: str  # JSON pointer, XPath, tag frame id or API key
    raw: str | None


def make_item_id(source: str, native_id: str) -> str:
    """Stable item id: sha256 hex of ``source + ":" + native_id``.

    ``native_id`` is the source's own identifier where it has one (a Jamendo track id, an
    Internet Archive ``identifier/file``) and the canonical URL otherwise.
    """
    return hashlib.sha256(f"{source}:{native_id}".encode()).hexdigest()


@dataclass(slots=True, kw_only=True)
class Recording:
    """One recording, as described by one source. Mirrors ``pipelines.schema.RECORDING``."""

    item_id: str
    item_type: str = "recording"
    source: str
    page_url: str
    canonical_url: str | None = None
    #: When the page was fetched; must be timezone-aware and is stored in UTC.
    fetched_at: datetime
    http_status: int | None = None
    body_sha256: str | None = None
    extractor: str
    extractor_version: str
    title: str | None = None
    artist_credit: str | None = None
    #: Only from structured multi-valued sources; free-text credits are never split.
    artists: list[str] = field(default_factory=list)
    album_title: str | None = None
    duration_s: float | None = None
    #: Compact form (12 characters, upper case, no hyphens).
    isrc: str | None = None
    license_url_raw: str | None = None
    license_url: str | None = None
    audio_url: str | None = None
    field_sources: list[FieldSource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Filled by the use-stage policy check; ``allow`` until a check says otherwise.
    optout_decision: str = "allow"
    #: Filled by the pipeline with the hash of the policy configuration in force.
    policy_hash: str = ""

    def __post_init__(self) -> None:
        # A naive timestamp would be written as if it were UTC and silently shift by the
        # local offset; refuse it rather than guess.
        if self.fetched_at.tzinfo is None or self.fetched_at.utcoffset() is None:
            raise ValueError("fetched_at must be timezone-aware")
        self.fetched_at = self.fetched_at.astimezone(UTC)


__all__ = ["FieldSource", "Recording", "make_item_id"]

"""Item classes: plain dataclasses whose fields mirror the Arrow schemas column for column.

The Parquet schemas in :mod:`pipelines.schema` are the contract; these classes are how the
extractors speak it. Field names and order equal the schema's, a test keeps them in step,
and a field that is non-nullable in the schema never defaults to ``None`` here. The classes
are not frozen because pipelines fill in ``optout_decision`` and ``policy_hash`` through
``ItemAdapter`` after extraction (and scrub a dropped item before it is logged).

Two item types go to Parquet: :class:`Recording` and :class:`Lyrics`. A third class,
:class:`AudioRefused`, never does: the music spider yields it in place of a recording (or
lyrics) whose audio URL the policy gate refused, so that an item pipeline turns it into a
dropped item whose ``item``-stage decision carries the audio decision's reasons.

Items are built by plain functions (see :mod:`crawler.extract`), never by ``ItemLoader``
processors, so the building rules can be tested without Scrapy.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypedDict

logger = logging.getLogger(__name__)


class FieldSource(TypedDict):
    """Provenance of one extracted value: which syntax, where on the page, and the raw text."""

    field: str
    syntax: str  # "json-ld", "microdata", "opengraph", "api", "id3", ...
    locator: str  # JSON pointer, XPath, tag frame id or API key
    raw: str | None


def make_item_id(source: str, native_id: str) -> str:
    """Stable item id: sha256 hex of ``source + ":" + native_id``.

    ``native_id`` is the source's own identifier where it has one (a Jamendo track id, an
    Internet Archive ``identifier/file``) and the canonical URL otherwise.
    """
    return hashlib.sha256(f"{source}:{native_id}".encode()).hexdigest()


def _aware_utc(value: datetime) -> datetime:
    # A naive timestamp would be written as if it were UTC and silently shift by the local
    # offset; refuse it rather than guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("fetched_at must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(slots=True, kw_only=True)
class ItemEnvelope:
    """The fields every item type starts with (music-metadata reference, section 1): who
    it is, where it came from, when, and which extractor made it."""

    item_id: str
    item_type: str
    source: str
    source_native_id: str | None = None
    page_url: str
    canonical_url: str | None = None
    canonical_url_raw: str | None = None
    #: When the page was fetched; must be timezone-aware and is stored in UTC.
    fetched_at: datetime
    http_status: int | None = None
    content_type: str | None = None
    body_sha256: str | None = None
    extractor: str
    extractor_version: str

    def __post_init__(self) -> None:
        self.fetched_at = _aware_utc(self.fetched_at)


@dataclass(slots=True, kw_only=True)
class Recording(ItemEnvelope):
    """One recording, as described by one source. Mirrors ``pipelines.schema.RECORDING``."""

    item_type: str = "recording"
    byte_ranges: list[dict[str, int]] = field(default_factory=list)
    title: str | None = None
    artist_credit: str | None = None
    #: Only from structured multi-valued sources; free-text credits are never split.
    artists: list[str] = field(default_factory=list)
    artist_ids: list[dict[str, str]] = field(default_factory=list)
    album_title: str | None = None
    album_url: str | None = None
    track_number: int | None = None
    disc_number: int | None = None
    duration_s: float | None = None
    duration_estimated: bool | None = None
    release_date: str | None = None
    release_date_precision: str | None = None
    genres: list[str] = field(default_factory=list)
    language: str | None = None
    is_instrumental: bool | None = None
    explicit: bool | None = None
    #: Compact form (12 characters, upper case, no hyphens).
    isrc: str | None = None
    isrc_all: list[str] = field(default_factory=list)
    iswc: str | None = None
    upc_ean: str | None = None
    upc_ean_length: int | None = None
    catalog_number: str | None = None
    mbid_recording: str | None = None
    mbid_work: str | None = None
    mbid_release: str | None = None
    other_ids: list[dict[str, str]] = field(default_factory=list)
    composers: list[str] = field(default_factory=list)
    lyricists: list[str] = field(default_factory=list)
    record_label: str | None = None
    music_publisher: str | None = None
    copyright_notice: str | None = None
    phonographic_notice: str | None = None
    copyright_year: int | None = None
    copyright_holder: str | None = None
    rights_holder_candidates: list[str] = field(default_factory=list)
    audio_url: str | None = None
    audio_url_kind: str | None = None
    audio_fetch: str | None = None
    mime_type: str | None = None
    file_size_bytes: int | None = None
    file_size_approx: bool | None = None
    codec: str | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    bitrate_bps: int | None = None
    bits_per_sample: int | None = None
    embedded_tag_format: str | None = None
    has_embedded_lyrics: bool | None = None
    has_synced_lyrics: bool | None = None
    lyrics_urls: list[str] = field(default_factory=list)
    license_spdx: str | None = None
    license_url_raw: str | None = None
    license_url: str | None = None
    license_family: str | None = None
    license_version: str | None = None
    license_jurisdiction: str | None = None
    license_source: str | None = None
    license_status: str | None = None
    license_flags: dict[str, bool] | None = None
    attribution_text: str | None = None
    license_candidates: list[dict[str, str | None]] = field(default_factory=list)
    field_sources: list[FieldSource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Filled by the use-stage policy check; ``allow`` until a check says otherwise.
    optout_decision: str = "allow"
    optout_rule_id: str | None = None
    #: Filled by the pipeline with the hash of the policy configuration in force.
    policy_hash: str = ""


@dataclass(slots=True, kw_only=True)
class Lyrics(ItemEnvelope):
    """Lyrics of one recording or work, as metadata and hashes. Mirrors ``pipelines.schema.LYRICS``.

    ``text`` stays ``None`` unless ``text_stored`` is true, which needs a recorded
    ``text_storage_basis`` other than ``not_stored``; :meth:`__post_init__` enforces it.
    """

    item_type: str = "lyrics"
    recording_ref: dict[str, str | None] | None = None
    iswc: str | None = None
    title: str | None = None
    artist_credit: str | None = None
    lyricists: list[str] = field(default_factory=list)
    language_declared: str | None = None
    language_detected: str | None = None
    language_confidence: float | None = None
    language_detector: str | None = None
    script: str | None = None
    format: str | None = None
    sync_level: str | None = None
    line_count: int | None = None
    section_count: int | None = None
    word_count: int | None = None
    char_count: int | None = None
    first_ts_s: float | None = None
    last_ts_s: float | None = None
    lrc_tags: dict[str, str] | None = None
    text_sha256: str | None = None
    text_simhash64: str | None = None
    raw_sha256: str | None = None
    text_stored: bool = False
    text: str | None = None
    text_storage_basis: str = "not_stored"
    license_spdx: str | None = None
    license_url: str | None = None
    license_status: str | None = None
    license_source: str | None = None
    license_inherited_from_recording: bool | None = None
    copyright_notice: str | None = None
    publishers: list[str] = field(default_factory=list)
    rights_holder_candidates: list[str] = field(default_factory=list)
    lyrics_page_url: str | None = None
    provider: str | None = None
    field_sources: list[FieldSource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    optout_decision: str = "allow"
    optout_rule_id: str | None = None
    policy_hash: str = ""

    def __post_init__(self) -> None:
        ItemEnvelope.__post_init__(self)
        if self.text is not None and not (self.text_stored and self.text_storage_basis != "not_stored"):
            raise ValueError("lyrics text may only be kept with text_stored and a storage basis")
        if self.text_stored and self.text_storage_basis == "not_stored":
            raise ValueError("text_stored needs a text_storage_basis other than not_stored")


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioRefused:
    """Stands in for an item whose audio URL the gate refused (or could not check).

    It carries only what the ``item``-stage decision needs; nothing of the recording's
    metadata survives. ``pipelines.items_audio.AudioPolicyPipeline`` drops it with the
    audio decision's reasons; it is never written to Parquet.
    """

    item_type: str
    item_id: str
    page_url: str
    http_status: int | None
    audio_url: str
    verdict: str
    reasons: tuple[str, ...]


#: Fields a dropped item keeps (everything else is cleared before the drop is logged).
IDENTIFYING_FIELDS: frozenset[str] = frozenset(
    {"item_id", "item_type", "source", "page_url", "fetched_at", "http_status", "extractor",
     "extractor_version", "optout_decision", "policy_hash"}
)


def scrub(item: Recording | Lyrics) -> None:
    """Clear every field but the identifying ones, in place.

    Used before an item is dropped for a rights holder's reservation: Scrapy logs a dropped
    item's repr, and nothing beyond the decision may be kept of reserved content.
    """
    for f in fields(item):
        if f.name in IDENTIFYING_FIELDS:
            continue
        default: Any = f.default_factory() if f.default_factory is not MISSING else f.default
        setattr(item, f.name, None if default is MISSING else default)
    if isinstance(item, Lyrics):
        item.text_stored, item.text_storage_basis = False, "not_stored"


__all__ = [
    "IDENTIFYING_FIELDS",
    "AudioRefused",
    "FieldSource",
    "Lyrics",
    "Recording",
    "make_item_id",
    "scrub",
]

"""Drafts: what one syntax says about one recording, before the syntaxes are merged.

Every extractor (JSON-LD, microdata, RDFa, Open Graph, Twitter cards, ``<audio>``, feeds,
APIs, embedded audio tags) produces :class:`Draft` values: field values with one
``field_sources`` entry each, warning codes, licence candidates and lyrics found beside the
recording. :func:`merge` folds drafts in priority order (the first value of a field wins;
every value stays in ``field_sources`` for cross-checks), and :func:`build_recording` turns
the result into a :class:`~crawler.items.Recording`, resolving the licence and deriving the
rights-holder candidates used for opt-out matching.

Keeping this step separate from parsing is what lets a page's JSON-LD, microdata and Open
Graph describe one recording together without any extractor knowing about the others.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from w3lib.url import canonicalize_url

import crawler
from crawler.extract.licences import (
    ALL_RIGHTS_RESERVED,
    NOASSERTION,
    Licence,
    is_bare_notice,
    licence_from_text,
    normalize_licence,
    resolve,
)
from crawler.extract.values import MAX_DURATION_S, parse_notice
from crawler.items import FieldSource, Recording, make_item_id
from crawler.policy.registry import normalize_party

logger = logging.getLogger(__name__)

#: Fields whose values from several drafts are combined instead of first-wins.
LIST_FIELDS: Final = ("isrc_all", "artist_ids", "other_ids", "genres", "lyrics_urls", "composers", "lyricists")
#: Two durations further apart than this (seconds) are flagged ``duration_mismatch``.
DURATION_TOLERANCE_S: Final = 2.0


def raw_text(value: Any) -> str | None:
    """A raw value as text for ``field_sources`` (JSON for structures)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return repr(value)


@dataclass(slots=True)
class LyricsDraft:
    """Lyrics text found next to a recording, held in memory until the item is built."""

    text: str
    format: str  # plain, html, lrc, ttml, id3_uslt, id3_sylt, api_json, ...
    syntax: str
    locator: str
    raw: bytes | str | None = None
    language: str | None = None
    provider: str | None = None
    licence: Licence | None = None
    lyrics_page_url: str | None = None
    copyright_notice: str | None = None
    #: Already parsed lyrics (:class:`crawler.extract.lyrics.Parsed`), e.g. from a SYLT frame.
    parsed: Any = None
    #: Whether the lyrics come with the recording itself (its structured data, its audio
    #: file, the API record), so that the recording's licence may cover them.
    with_recording: bool = True


@dataclass(slots=True)
class Draft:
    """Values one syntax gives for one recording, with their provenance."""

    syntax: str
    values: dict[str, Any] = field(default_factory=dict)
    sources: list[FieldSource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    lyrics: list[LyricsDraft] = field(default_factory=list)

    # -- building --------------------------------------------------------------------------

    def source(self, name: str, locator: str, raw: Any, syntax: str | None = None) -> None:
        self.sources.append(
            FieldSource(field=name, syntax=syntax or self.syntax, locator=locator, raw=raw_text(raw))
        )

    def set(self, name: str, value: Any, locator: str, raw: Any, *, syntax: str | None = None) -> None:
        """Record a value unless the field already has one; the source is kept either way."""
        if value is None or value == [] or value == "":
            return
        if name in LIST_FIELDS:
            current = self.values.setdefault(name, [])
            for one in value if isinstance(value, list) else [value]:
                if one not in current:
                    current.append(one)
        elif name not in self.values:
            self.values[name] = value
        self.source(name, locator, raw, syntax)

    def reject(self, name: str, warning: str, locator: str, raw: Any) -> None:
        """Keep the raw value in ``field_sources`` and note why it was not used."""
        self.source(name, locator, raw)
        self.warn(warning)

    def warn(self, code: str) -> None:
        if code not in self.warnings:
            self.warnings.append(code)

    def add_licence(self, raw: Any, locator: str, *, source: str | None = None, vocabulary: str = "",
                    page_url: str | None = None) -> Licence | None:
        """Normalise a licence signal and keep it as a candidate. The raw value always goes
        to ``field_sources``; an unrecognised one adds the warning ``license_unrecognised``
        and no candidate (it is not evidence of any licence)."""
        syntax = source or self.syntax
        text = raw.strip() if isinstance(raw, str) else None
        if not text:
            return None
        lic = normalize_licence(text, source=syntax, vocabulary=vocabulary)
        if lic is None and page_url is not None and text.startswith(("/", "./", "../")):
            from urllib.parse import urljoin

            lic = normalize_licence(urljoin(page_url, text), source=syntax)
            if lic is not None:
                lic = replace(lic, raw=text)
        self.source("license", locator, raw)
        if lic is None:
            self.warn("license_unrecognised")
            return None
        self.licences.append(lic)
        return lic

    def add_rights_text(self, text: Any, locator: str, *, source: str | None = None) -> None:
        """An "All rights reserved" / "No rights reserved" text as a licence candidate."""
        lic = licence_from_text(text, source=source or self.syntax)
        if lic is not None:
            self.licences.append(lic)
            self.source("license", locator, text)

    @property
    def empty(self) -> bool:
        return not self.values and not self.licences and not self.lyrics


def merge(drafts: list[Draft]) -> Draft:
    """Fold drafts, best first, into one. First value wins, lists are combined, and every
    source, warning, licence candidate and lyrics draft is kept."""
    out = Draft(syntax=drafts[0].syntax if drafts else "")
    for draft in drafts:
        for name, value in draft.values.items():
            if name in LIST_FIELDS:
                current = out.values.setdefault(name, [])
                current.extend(v for v in value if v not in current)
            elif name not in out.values:
                out.values[name] = value
        out.sources.extend(draft.sources)
        for code in draft.warnings:
            out.warn(code)
        out.licences.extend(draft.licences)
        out.lyrics.extend(draft.lyrics)
    _cross_check(out)
    return out


def _numbers(draft: Draft, name: str) -> list[float]:
    found = []
    for fs in draft.sources:
        if fs["field"] == name and fs["raw"] is not None:
            from crawler.extract.values import parse_duration

            seconds = parse_duration(fs["raw"])
            if seconds is not None and 0 < seconds < MAX_DURATION_S:
                found.append(seconds)
    return found


def _cross_check(draft: Draft) -> None:
    """Warnings that only show once several syntaxes are side by side."""
    durations = _numbers(draft, "duration_s")
    if durations and max(durations) - min(durations) > DURATION_TOLERANCE_S:
        draft.warn("duration_mismatch")
    isrcs = draft.values.get("isrc_all") or []
    if len(isrcs) > 1:
        draft.warn("isrc_conflict")


# ------------------------------------------------------------------------ building items


def canonicalize(url: str) -> str:
    try:
        return canonicalize_url(url)
    except (ValueError, UnicodeError):
        return url


def licence_from_candidate(candidate: dict[str, Any]) -> Licence | None:
    """Rebuild a :class:`Licence` from a stored ``license_candidates`` entry."""
    raw, source = candidate.get("raw"), candidate.get("source") or ""
    vocabulary = "soundcloud" if str(candidate.get("spdx") or "").startswith("LicenseRef-SoundCloud") else ""
    lic = normalize_licence(raw, source=source, vocabulary=vocabulary)
    if lic is None or (candidate.get("spdx") == NOASSERTION and lic.spdx != NOASSERTION):
        lic = licence_from_text(raw, source=source) or lic
    return lic


def apply_licences(item: Any, candidates: list[Licence] | None = None) -> None:
    """Resolve the licence of a recording (or lyrics) from its candidates, in place.

    With ``candidates`` given they replace ``license_candidates``; otherwise the stored
    candidates are re-read (after audio tags added some). A bare ©/℗ notice with no
    licence signal at all counts as all rights reserved.
    """
    if candidates is None:
        candidates = [c for c in map(licence_from_candidate, item.license_candidates) if c is not None]
    candidates = list(candidates)
    if not candidates:
        for name in ("copyright_notice", "phonographic_notice"):
            notice = getattr(item, name, None)
            if is_bare_notice(notice):
                candidates.append(Licence(spdx=NOASSERTION, status=ALL_RIGHTS_RESERVED,
                                          family="all-rights-reserved", raw=notice, source="html-text"))
                break
    item.license_candidates = [{"spdx": c.spdx, "source": c.source, "raw": c.raw} for c in candidates]
    result = resolve(candidates)
    item.license_status = result.status
    winner = result.winner
    if winner is None:
        for name in ("license_spdx", "license_url", "license_source"):
            setattr(item, name, None)
        if isinstance(item, Recording):
            item.license_url_raw = item.license_family = item.license_version = None
            item.license_jurisdiction = item.license_flags = None
        return
    item.license_spdx = winner.spdx
    item.license_url = winner.url
    item.license_source = winner.source
    if isinstance(item, Recording):
        item.license_url_raw = winner.raw
        item.license_family = winner.family
        item.license_version = winner.version
        item.license_jurisdiction = winner.jurisdiction
        item.license_flags = dict(winner.flags) if winner.flags is not None else None
    if result.conflict and "license_conflict" not in item.warnings:
        item.warnings.append("license_conflict")


def party_candidates(*names: str | None) -> list[str]:
    """Normalised, distinct party names for opt-out matching (empty names dropped)."""
    out: list[str] = []
    for name in names:
        if not name:
            continue
        key = normalize_party(name)
        if key and key not in out:
            out.append(key)
    return out


def apply_rights(rec: Recording) -> None:
    """Derive ``copyright_year``/``copyright_holder`` and the rights-holder candidates."""
    year, holder = parse_notice(rec.copyright_notice)
    p_year, p_holder = parse_notice(rec.phonographic_notice)
    if rec.copyright_year is None:
        rec.copyright_year = year or p_year
    if rec.copyright_holder is None:
        rec.copyright_holder = holder or p_holder
    rec.rights_holder_candidates = party_candidates(
        rec.record_label, rec.copyright_holder, holder, p_holder, rec.music_publisher,
        *rec.rights_holder_candidates,
    )


_RECORDING_FIELDS: Final = frozenset(Recording.__dataclass_fields__) - {
    "item_id", "item_type", "source", "page_url", "fetched_at", "http_status", "content_type",
    "body_sha256", "extractor", "extractor_version", "field_sources", "warnings", "license_candidates",
}


@dataclass(frozen=True, slots=True)
class PageContext:
    """What is known about the fetched page (or API response) itself."""

    page_url: str
    fetched_at: datetime
    http_status: int | None = None
    content_type: str | None = None
    body_sha256: str | None = None
    source: str = "generic_web"
    extractor: str = "page"


def build_recording(draft: Draft, ctx: PageContext, *, native_id: str | None = None) -> Recording:
    """A :class:`Recording` from a merged draft. ``native_id`` defaults to the canonical URL."""
    values = {k: v for k, v in draft.values.items() if k in _RECORDING_FIELDS}
    if not values.get("canonical_url"):
        values["canonical_url"] = canonicalize(ctx.page_url)
    rec = Recording(
        item_id=make_item_id(ctx.source, native_id or values["canonical_url"]),
        source=ctx.source,
        page_url=ctx.page_url,
        fetched_at=ctx.fetched_at,
        http_status=ctx.http_status,
        content_type=ctx.content_type,
        body_sha256=ctx.body_sha256,
        extractor=ctx.extractor,
        extractor_version=crawler.__version__,
        field_sources=list(draft.sources),
        warnings=list(draft.warnings),
        **values,
    )
    if native_id is not None and rec.source_native_id is None:
        rec.source_native_id = native_id
    if rec.isrc and rec.isrc not in rec.isrc_all:
        rec.isrc_all.insert(0, rec.isrc)
    apply_rights(rec)
    apply_licences(rec, draft.licences)
    return rec


__all__ = [
    "DURATION_TOLERANCE_S",
    "LIST_FIELDS",
    "Draft",
    "LyricsDraft",
    "PageContext",
    "apply_licences",
    "apply_rights",
    "build_recording",
    "canonicalize",
    "licence_from_candidate",
    "merge",
    "party_candidates",
    "raw_text",
]

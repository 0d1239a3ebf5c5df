"""Lyrics items: from a lyrics draft (any format) and its recording to a :class:`Lyrics`.

The text is parsed and analysed in memory (:mod:`crawler.extract.lyrics`); what is kept is
metadata, counts and hashes. The text itself is kept only with a storage basis, and the
``field_sources`` entry of the lyrics carries the locator but never the raw text unless
the text is stored too.

Licence: the lyrics' own licence signal if they have one (a ``license`` on the lyrics
``CreativeWork``); else the recording's licence, *inherited* (``license_inherited_from_recording``)
only when the lyrics came with the recording itself — its structured data, its audio file,
its API record — and the recording's licence is item-level, not a page footer.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Final
from urllib.parse import urlsplit

import crawler
from crawler.extract.draft import LyricsDraft, PageContext, canonicalize, licence_from_candidate, party_candidates
from crawler.extract.licences import CONFLICTING, PAGE_LEVEL_SOURCES, UNKNOWN, Licence
from crawler.extract.lyrics import (
    NOT_STORED,
    Parsed,
    analyse,
    looks_like_lrc,
    parse_lrc,
    parse_plain,
    parse_ttml,
    parse_uslt,
    storage_basis,
)
from crawler.extract.values import normalize_language, parse_notice
from crawler.items import Lyrics, Recording, make_item_id

logger = logging.getLogger(__name__)

_SYNCED_FORMATS: Final = frozenset({"lrc", "lrc_enhanced", "ttml"})


def parse_draft(draft: LyricsDraft) -> Parsed:
    """Parse a lyrics draft according to its format."""
    if isinstance(draft.parsed, Parsed):
        return draft.parsed
    fmt = draft.format
    if fmt == "ttml":
        return parse_ttml(draft.text)
    if fmt in ("lrc", "lrc_enhanced") or (fmt in ("plain", "vorbis", "api_json") and looks_like_lrc(draft.text)):
        return parse_lrc(draft.text)
    if fmt == "id3_uslt":
        return parse_uslt(draft.text, draft.language)
    return parse_plain(draft.text, fmt)


def _recording_licence(rec: Recording | None) -> Licence | None:
    if rec is None or rec.license_status in (None, UNKNOWN, CONFLICTING) or not rec.license_spdx:
        return None
    if rec.license_source in PAGE_LEVEL_SOURCES:
        return None
    for candidate in rec.license_candidates:
        if candidate.get("spdx") == rec.license_spdx and candidate.get("source") == rec.license_source:
            lic = licence_from_candidate(candidate)
            if lic is not None:
                return lic
    return None


def build_lyrics(draft: LyricsDraft, ctx: PageContext, recording: Recording | None) -> Lyrics | None:
    """A :class:`Lyrics` item, or ``None`` when the draft holds no lyric line at all."""
    try:
        parsed = parse_draft(draft)
    except Exception:  # malformed TTML and the like: nothing to keep
        logger.debug("Unreadable lyrics at %(loc)s on %(url)s", {"loc": draft.locator, "url": ctx.page_url},
                     exc_info=True)
        return None
    facts = analyse(parsed)
    if facts.line_count == 0:
        return None
    fmt = parsed.format
    licence, inherited = draft.licence, False
    if licence is None and draft.with_recording:
        licence = _recording_licence(recording)
        inherited = licence is not None
    basis = storage_basis(licence)
    stored = basis != NOT_STORED
    text = None
    if stored:
        text = draft.text if fmt in _SYNCED_FORMATS else "\n".join(parsed.lines).strip()
    raw = draft.raw if draft.raw is not None else draft.text
    raw_bytes = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    anchor = (recording.canonical_url if recording is not None else None) or canonicalize(ctx.page_url)
    item_id = make_item_id(ctx.source, f"{anchor}#lyrics:{fmt}:{facts.text_sha256}")
    warnings = list(parsed.warnings)
    notice = draft.copyright_notice
    _, holder = parse_notice(notice)
    publishers: list[str] = []
    if recording is not None and recording.music_publisher:
        publishers.append(recording.music_publisher)
    candidates = party_candidates(holder, *publishers, *(recording.rights_holder_candidates if recording else []))
    host = urlsplit(ctx.page_url).hostname
    return Lyrics(
        item_id=item_id,
        source=ctx.source,
        source_native_id=recording.source_native_id if recording is not None else None,
        page_url=ctx.page_url,
        canonical_url=recording.canonical_url if recording is not None else canonicalize(ctx.page_url),
        fetched_at=ctx.fetched_at,
        http_status=ctx.http_status,
        content_type=ctx.content_type,
        body_sha256=ctx.body_sha256,
        extractor=ctx.extractor,
        extractor_version=crawler.__version__,
        recording_ref={
            "item_id": recording.item_id if recording is not None else None,
            "isrc": recording.isrc if recording is not None else None,
            "mbid_recording": recording.mbid_recording if recording is not None else None,
        },
        iswc=recording.iswc if recording is not None else None,
        title=parsed.title or (recording.title if recording is not None else None),
        artist_credit=parsed.artist or (recording.artist_credit if recording is not None else None),
        lyricists=list(parsed.lyricists or (recording.lyricists if recording is not None else [])),
        language_declared=normalize_language(draft.language) or parsed.language,
        script=facts.script,
        format=fmt,
        sync_level=parsed.sync_level,
        line_count=facts.line_count,
        section_count=facts.section_count,
        word_count=facts.word_count,
        char_count=facts.char_count,
        first_ts_s=facts.first_ts_s,
        last_ts_s=facts.last_ts_s,
        lrc_tags=dict(parsed.tags) or None,
        text_sha256=facts.text_sha256,
        text_simhash64=facts.text_simhash64,
        raw_sha256=hashlib.sha256(raw_bytes).hexdigest(),
        text_stored=stored,
        text=text,
        text_storage_basis=basis,
        license_spdx=licence.spdx if licence else None,
        license_url=licence.url if licence else None,
        license_status=licence.status if licence else UNKNOWN,
        license_source=licence.source if licence else None,
        license_inherited_from_recording=inherited,
        copyright_notice=notice,
        publishers=publishers,
        rights_holder_candidates=candidates,
        lyrics_page_url=draft.lyrics_page_url or ctx.page_url,
        provider=draft.provider or host,
        field_sources=[{"field": "text_sha256", "syntax": draft.syntax, "locator": draft.locator,
                        "raw": text if stored else None}],
        warnings=warnings,
    )


__all__ = ["build_lyrics", "parse_draft"]

"""Arrow schemas of the run directory: the single source of truth for every Parquet file.

Schemas are explicit and never inferred from the first batch: a column that is null in the
first rows would otherwise get the wrong type, and pyarrow refuses a schema change mid-file.
Each field carries a ``doc`` entry in its metadata so a reader of the Parquet file sees
what a column means without this source at hand.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

SCHEMA_VERSION: Final = "1"


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


EVIDENCE_TYPE: Final = pa.struct(
    [
        pa.field("kind", pa.string()),
        pa.field("url", pa.string()),
        pa.field("sha256", pa.string()),
    ]
)

SIGNAL_TYPE: Final = pa.struct([pa.field("name", pa.string()), pa.field("value", pa.string())])

DECISIONS: Final = pa.schema(
    [
        _f("run_id", pa.string(), "the crawl job", nullable=False),
        _f("worker", pa.string(), "the process that wrote the row", nullable=False),
        _f("seq", pa.int64(), "strictly increasing per worker", nullable=False),
        _f("ts", pa.timestamp("us", tz="UTC"), "when the decision was taken", nullable=False),
        _f("stage", pa.string(), "fetch (before fetching), use (response signals) or item", nullable=False),
        _f("verdict", pa.string(), "allow, deny or hold", nullable=False),
        _f("reasons", pa.list_(pa.string()), "reason codes, family or family:detail; empty for a clean allow", nullable=False),
        _f("url", pa.string(), "the URL decided on (for items: the page the item came from)", nullable=False),
        _f("origin", pa.string(), "scheme://host:port of the URL", nullable=False),
        _f("http_status", pa.int16(), "status of the response, if one was received"),
        _f("evidence", pa.list_(EVIDENCE_TYPE), "policy files and header blocks the decision rests on, by sha256 (see evidence/)", nullable=False),
        _f("item_type", pa.string(), "item-stage rows: recording, lyrics, ..."),
        _f("item_id", pa.string(), "item-stage rows: the item's id, to join with items/"),
        _f("policy_hash", pa.string(), "sha256 of the effective policy configuration, registries and AI-token list", nullable=False),
        _f("rules", pa.list_(pa.string()), "the rules that decided, e.g. 'robots.txt:7 Disallow: /private/'", nullable=False),
        _f("signals", pa.list_(SIGNAL_TYPE), "raw signal values as read (header values, meta contents, tdmrep values)", nullable=False),
        _f("agent_token", pa.string(), "the product token robots.txt groups were matched against", nullable=False),
        _f("strict", pa.bool_(), "whether strict mode was on", nullable=False),
        # -- added for the auditor (docs/provenance.md lists every column) --
        _f("decision_id", pa.string(), "sha256 of stage, url, item id, verdict, reasons, evidence digests and policy hash: equal decisions share it across workers and runs", nullable=False),
        _f("evidence_ids", pa.list_(pa.string()), "WARC-Record-ID of each evidence entry, same order as evidence (null if not archived by this worker)", nullable=False),
        _f("robots_group", pa.string(), "robots.txt group that applied: the user-agent token of the group, or '*'"),
        _f("robots_line", pa.int32(), "line number in robots.txt of the rule that decided"),
        _f("tdmrep_location", pa.string(), "location pattern of the tdmrep.json rule that matched the URL"),
        _f("tdm_policy", pa.string(), "tdm-policy URL given with a reservation (file, header or meta)"),
        _f("registry_ids", pa.list_(pa.string()), "ids of the registry entries that matched", nullable=False),
        _f("headers", pa.list_(SIGNAL_TYPE), "response headers that can carry a signal, raw, one entry per header line (tdm-reservation, X-Robots-Tag, Content-Usage, ...)", nullable=False),
        _f("content_type", pa.string(), "Content-Type of the response, if fetched"),
        _f("redirect_chain", pa.list_(pa.string()), "URLs redirected through before this one, oldest first", nullable=False),
        _f("content_sha256", pa.string(), "sha256 of the response body as received, if fetched"),
        _f("content_length", pa.int64(), "length in bytes of the response body as received, if fetched"),
        _f("user_agent", pa.string(), "User-Agent header the request was (or would have been) sent with"),
        _f("heed_version", pa.string(), "version of heed that decided", nullable=False),
        _f("parser_version", pa.string(), "version of the policy parsers (robots.txt, TDMRep, X-Robots-Tag) that decided", nullable=False),
    ],
    metadata={"heed.table": "decisions", "heed.schema_version": SCHEMA_VERSION},
)

FIELD_SOURCE_TYPE: Final = pa.struct(
    [
        pa.field("field", pa.string()),
        pa.field("syntax", pa.string()),
        pa.field("locator", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

ID_TYPE: Final = pa.struct([pa.field("scheme", pa.string()), pa.field("id", pa.string())])
OTHER_ID_TYPE: Final = pa.struct([pa.field("scheme", pa.string()), pa.field("value", pa.string())])
BYTE_RANGE_TYPE: Final = pa.struct([pa.field("start", pa.int64()), pa.field("end", pa.int64())])
LICENSE_FLAGS_TYPE: Final = pa.struct(
    [pa.field(name, pa.bool_()) for name in ("by", "sa", "nc", "nd")]
)
LICENSE_CANDIDATE_TYPE: Final = pa.struct(
    [pa.field("spdx", pa.string()), pa.field("source", pa.string()), pa.field("raw", pa.string())]
)
RECORDING_REF_TYPE: Final = pa.struct(
    [pa.field("item_id", pa.string()), pa.field("isrc", pa.string()), pa.field("mbid_recording", pa.string())]
)


def _envelope(item_type: str) -> list[pa.Field]:
    """Columns every item type shares (music-metadata notes, section 1)."""
    return [
        _f("item_id", pa.string(), "sha256 of source + ':' + the source's own id (or the canonical URL)", nullable=False),
        _f("item_type", pa.string(), f"always '{item_type}'", nullable=False),
        _f("source", pa.string(), "where the item came from: generic_web, internet_archive, podcast_feed, ...", nullable=False),
        _f("source_native_id", pa.string(), "the source's own id (IA identifier/file, feed guid, ...), if any"),
        _f("page_url", pa.string(), "the URL that was fetched", nullable=False),
        _f("canonical_url", pa.string(), "rel=canonical, JSON-LD @id/url, og:url or the page URL, canonicalised"),
        _f("canonical_url_raw", pa.string(), "the canonical URL as written, before canonicalisation"),
        _f("fetched_at", pa.timestamp("us", tz="UTC"), "when the page was fetched", nullable=False),
        _f("http_status", pa.int16(), "status of the page response"),
        _f("content_type", pa.string(), "Content-Type of the page response"),
        _f("body_sha256", pa.string(), "sha256 of the bytes that were parsed"),
        _f("extractor", pa.string(), "which extractor produced the item", nullable=False),
        _f("extractor_version", pa.string(), "heed version of that extractor", nullable=False),
    ]


def _trailer() -> list[pa.Field]:
    return [
        _f("field_sources", pa.list_(FIELD_SOURCE_TYPE), "per-field provenance: syntax, locator, raw value"),
        _f("warnings", pa.list_(pa.string()), "problems seen while extracting"),
        _f("optout_decision", pa.string(), "verdict of the use-stage decision the item passed", nullable=False),
        _f("optout_rule_id", pa.string(), "the rule or registry entry that decided, if any"),
        _f("policy_hash", pa.string(), "policy configuration in force when the item was kept", nullable=False),
    ]


_LICENSE_COLUMNS: Final = [
    _f("license_spdx", pa.string(), "SPDX id or LicenseRef-*, NOASSERTION for all rights reserved or unrecognised"),
    _f("license_url_raw", pa.string(), "licence URL or token exactly as found (winning signal)"),
    _f("license_url", pa.string(), "canonical licence URL"),
    _f("license_family", pa.string(), "cc, cc0, cc-pdm, cc-pddc, cc-sampling, lal, public-domain, all-rights-reserved, custom"),
    _f("license_version", pa.string(), "licence version, e.g. 4.0"),
    _f("license_jurisdiction", pa.string(), "jurisdiction port, e.g. de"),
    _f("license_source", pa.string(), "syntax of the winning signal (api, json-ld, rel-license, id3, ...)"),
    _f("license_status", pa.string(), "open, open_noncommercial, open_noderivatives, public_domain, all_rights_reserved, custom, unknown, conflicting"),
    _f("license_flags", LICENSE_FLAGS_TYPE, "Creative Commons elements of the winning licence"),
    _f("attribution_text", pa.string(), "attribution to give (creditText, CC REL attributionName, API credit)"),
    _f("license_candidates", pa.list_(LICENSE_CANDIDATE_TYPE), "every licence signal seen: spdx, source syntax, raw value"),
]

RECORDING: Final = pa.schema(
    [
        *_envelope("recording"),
        _f("byte_ranges", pa.list_(BYTE_RANGE_TYPE), "byte ranges of the audio file that were fetched (inclusive)"),
        _f("title", pa.string(), "recording title"),
        _f("artist_credit", pa.string(), "artist credit as displayed"),
        _f("artists", pa.list_(pa.string()), "artists from structured multi-valued sources only"),
        _f("artist_ids", pa.list_(ID_TYPE), "artist identifiers: url (profile pages) or mbid"),
        _f("album_title", pa.string(), "album the recording appears on"),
        _f("album_url", pa.string(), "URL of that album"),
        _f("track_number", pa.int16(), "position on the album (1..999)"),
        _f("disc_number", pa.int16(), "disc of the album (1..999)"),
        _f("duration_s", pa.float64(), "duration in seconds"),
        _f("duration_estimated", pa.bool_(), "true when the duration is an estimate (CBR audio without a length header)"),
        _f("release_date", pa.string(), "ISO 8601, partial allowed: YYYY, YYYY-MM or YYYY-MM-DD"),
        _f("release_date_precision", pa.string(), "year, month or day"),
        _f("genres", pa.list_(pa.string()), "genres, raw case, de-duplicated case-insensitively"),
        _f("language", pa.string(), "BCP 47 language of the vocals (zxx: no lyrics)"),
        _f("is_instrumental", pa.bool_(), "instrumental, where a source says so"),
        _f("explicit", pa.bool_(), "explicit lyrics, where a source says so"),
        _f("isrc", pa.string(), "ISRC, compact form (12 characters, no hyphens)"),
        _f("isrc_all", pa.list_(pa.string()), "every distinct valid ISRC seen for the recording"),
        _f("iswc", pa.string(), "ISWC of the work, T-DDD.DDD.DDD-C"),
        _f("upc_ean", pa.string(), "release barcode, left-padded to 13 digits"),
        _f("upc_ean_length", pa.int8(), "length of the barcode as found (8, 12, 13 or 14)"),
        _f("catalog_number", pa.string(), "label catalogue number"),
        _f("mbid_recording", pa.string(), "MusicBrainz recording id"),
        _f("mbid_work", pa.string(), "MusicBrainz work id"),
        _f("mbid_release", pa.string(), "MusicBrainz release id"),
        _f("other_ids", pa.list_(OTHER_ID_TYPE), "source ids: ia:identifier/file, bandcamp:track_id, soundcloud:track, ..."),
        _f("composers", pa.list_(pa.string()), "composers"),
        _f("lyricists", pa.list_(pa.string()), "lyricists"),
        _f("record_label", pa.string(), "record label (never a seller account)"),
        _f("music_publisher", pa.string(), "music publisher of the composition"),
        _f("copyright_notice", pa.string(), "copyright notice as found"),
        _f("phonographic_notice", pa.string(), "phonographic (P) notice as found"),
        _f("copyright_year", pa.int16(), "year from the notices"),
        _f("copyright_holder", pa.string(), "holder from the notices"),
        _f("rights_holder_candidates", pa.list_(pa.string()), "normalised party names used for opt-out matching"),
        _f("audio_url", pa.string(), "URL of the audio file, absolute"),
        _f("audio_url_kind", pa.string(), "full, preview, stream or embed_page"),
        _f("audio_fetch", pa.string(), "outcome of the ranged GET: ok, range-ignored, http:<status>, unparsed, skipped:<why>"),
        _f("mime_type", pa.string(), "media type of the audio"),
        _f("file_size_bytes", pa.int64(), "size of the audio file"),
        _f("file_size_approx", pa.bool_(), "true when the size came from text such as '31.2 MB'"),
        _f("codec", pa.string(), "audio codec (mp3, flac, vorbis, opus, aac, ...)"),
        _f("sample_rate_hz", pa.int32(), "sample rate"),
        _f("channels", pa.int8(), "channel count"),
        _f("bitrate_bps", pa.int32(), "bit rate"),
        _f("bits_per_sample", pa.int8(), "bits per sample (lossless formats)"),
        _f("embedded_tag_format", pa.string(), "id3v2.3, id3v2.4, vorbis, opus, mp4, riff-info or none"),
        _f("has_embedded_lyrics", pa.bool_(), "USLT, SYLT, LYRICS or (c)lyr present in the file"),
        _f("has_synced_lyrics", pa.bool_(), "synchronised lyrics present in the file"),
        _f("lyrics_urls", pa.list_(pa.string()), "where lyrics or transcripts of the recording are (podcast:transcript, ...)"),
        *_LICENSE_COLUMNS,
        *_trailer(),
    ],
    metadata={"heed.table": "recording", "heed.schema_version": SCHEMA_VERSION},
)

LYRICS: Final = pa.schema(
    [
        *_envelope("lyrics"),
        _f("recording_ref", RECORDING_REF_TYPE, "join keys to the recording: item_id, isrc, mbid_recording"),
        _f("iswc", pa.string(), "ISWC of the work the lyrics belong to"),
        _f("title", pa.string(), "song title"),
        _f("artist_credit", pa.string(), "artist credit as displayed"),
        _f("lyricists", pa.list_(pa.string()), "lyricists"),
        _f("language_declared", pa.string(), "BCP 47 language declared by the source (xml:lang, USLT language, inLanguage)"),
        _f("language_detected", pa.string(), "BCP 47 language detected from the text"),
        _f("language_confidence", pa.float32(), "confidence of the detection"),
        _f("language_detector", pa.string(), "detector name and version"),
        _f("script", pa.string(), "ISO 15924 script of the text (Latn, Cyrl, Hani, ...)"),
        _f("format", pa.string(), "plain, html, lrc, lrc_enhanced, ttml, id3_uslt, id3_sylt, vorbis, mp4, api_json"),
        _f("sync_level", pa.string(), "none, line or word"),
        _f("line_count", pa.int32(), "lyric lines without timestamps, section labels and blank lines"),
        _f("section_count", pa.int16(), "section labels ([Chorus], itunes:songPart)"),
        _f("word_count", pa.int32(), "whitespace tokens (characters for CJK text)"),
        _f("char_count", pa.int32(), "characters of the normalised text"),
        _f("first_ts_s", pa.float32(), "first timestamp (synced formats, after the LRC offset)"),
        _f("last_ts_s", pa.float32(), "last timestamp (synced formats, after the LRC offset)"),
        _f("lrc_tags", pa.map_(pa.string(), pa.string()), "LRC id tags (ti, ar, al, au, lr, length, by, offset, re, ve, #)"),
        _f("text_sha256", pa.string(), "sha256 of the normalised text"),
        _f("text_simhash64", pa.string(), "64-bit SimHash of word 3-shingles of the normalised text, 16 hex digits"),
        _f("raw_sha256", pa.string(), "sha256 of the raw bytes or HTML fragment"),
        _f("text_stored", pa.bool_(), "true only when the text may be stored (text_storage_basis)", nullable=False),
        _f("text", pa.string(), "the lyrics text; null unless text_stored"),
        _f("text_storage_basis", pa.string(), "cc_license, public_domain, licensed_contract, rights_holder_supplied or not_stored", nullable=False),
        _f("license_spdx", pa.string(), "licence of the lyrics (SPDX id, LicenseRef-* or NOASSERTION)"),
        _f("license_url", pa.string(), "canonical licence URL"),
        _f("license_status", pa.string(), "as for recordings"),
        _f("license_source", pa.string(), "syntax of the winning licence signal"),
        _f("license_inherited_from_recording", pa.bool_(), "true when the licence is the recording's (same uploader controls both)"),
        _f("copyright_notice", pa.string(), "copyright notice of the lyrics as found"),
        _f("publishers", pa.list_(pa.string()), "music publishers"),
        _f("rights_holder_candidates", pa.list_(pa.string()), "normalised party names used for opt-out matching"),
        _f("lyrics_page_url", pa.string(), "where the lyrics are available"),
        _f("provider", pa.string(), "who supplied the lyrics (site, API, embedded file)"),
        *_trailer(),
    ],
    metadata={"heed.table": "lyrics", "heed.schema_version": SCHEMA_VERSION},
)

ITEM_SCHEMAS: Final = {"recording": RECORDING, "lyrics": LYRICS}

__all__ = [
    "BYTE_RANGE_TYPE",
    "DECISIONS",
    "EVIDENCE_TYPE",
    "FIELD_SOURCE_TYPE",
    "ITEM_SCHEMAS",
    "LICENSE_CANDIDATE_TYPE",
    "LICENSE_FLAGS_TYPE",
    "LYRICS",
    "RECORDING",
    "RECORDING_REF_TYPE",
    "SCHEMA_VERSION",
    "SIGNAL_TYPE",
]

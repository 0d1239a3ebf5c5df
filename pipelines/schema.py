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

RECORDING: Final = pa.schema(
    [
        _f("item_id", pa.string(), "sha256 of source + ':' + the source's own id (or the canonical URL)", nullable=False),
        _f("item_type", pa.string(), "always 'recording'", nullable=False),
        _f("source", pa.string(), "where the item came from: generic_web, jamendo, ...", nullable=False),
        _f("page_url", pa.string(), "the URL that was fetched", nullable=False),
        _f("canonical_url", pa.string(), "rel=canonical, JSON-LD @id/url or the page URL"),
        _f("fetched_at", pa.timestamp("us", tz="UTC"), "when the page was fetched", nullable=False),
        _f("http_status", pa.int16(), "status of the page response"),
        _f("body_sha256", pa.string(), "sha256 of the bytes that were parsed"),
        _f("extractor", pa.string(), "which extractor produced the item", nullable=False),
        _f("extractor_version", pa.string(), "heed version of that extractor", nullable=False),
        _f("title", pa.string(), "recording title"),
        _f("artist_credit", pa.string(), "artist credit as displayed"),
        _f("artists", pa.list_(pa.string()), "artists from structured multi-valued sources only"),
        _f("album_title", pa.string(), "album the recording appears on"),
        _f("duration_s", pa.float64(), "duration in seconds"),
        _f("isrc", pa.string(), "ISRC, compact form (12 characters, no hyphens)"),
        _f("license_url_raw", pa.string(), "licence URL or token as found"),
        _f("license_url", pa.string(), "licence URL, absolute"),
        _f("audio_url", pa.string(), "URL of the audio file, absolute"),
        _f("field_sources", pa.list_(FIELD_SOURCE_TYPE), "per-field provenance: syntax, locator, raw value"),
        _f("warnings", pa.list_(pa.string()), "problems seen while extracting"),
        _f("optout_decision", pa.string(), "verdict of the use-stage decision the item passed", nullable=False),
        _f("policy_hash", pa.string(), "policy configuration in force when the item was kept", nullable=False),
    ],
    metadata={"heed.table": "recording", "heed.schema_version": SCHEMA_VERSION},
)

ITEM_SCHEMAS: Final = {"recording": RECORDING}

__all__ = ["DECISIONS", "EVIDENCE_TYPE", "ITEM_SCHEMAS", "RECORDING", "SCHEMA_VERSION", "SIGNAL_TYPE"]

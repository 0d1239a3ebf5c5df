"""Recordings from JSON-LD blocks, with per-field provenance.

Why not a general-purpose extraction library: real pages carry several JSON-LD blocks, and a
single broken one (an HTML comment wrapper, a trailing comma, a whitespace-only block) must
not hide the others. So every ``<script type="application/ld+json">`` is parsed on its own,
repaired leniently, and skipped with a warning code if it still fails.

The parsed values are then flattened: top-level arrays, ``@graph`` and nested objects are all
walked, nodes are indexed by ``@id`` (resolved against the page URL, so ``"#band"`` and
``"https://host/page#band"`` meet) and bare references such as ``{"@id": "#band"}`` are
followed one step. Types are matched on their local name, so ``MusicRecording``,
``schema:MusicRecording`` and ``http://schema.org/MusicRecording`` are the same type. Every
``MusicRecording`` node becomes one :class:`~crawler.items.Recording`, wherever it sits (for
example as the ``audio`` of a ``MusicComposition``).

Each filled field gets a ``field_sources`` entry whose locator is ``script[N]`` (the N-th
JSON-LD block on the page, counted from 1 like XPath) followed by a JSON-pointer path inside
that block, e.g. ``script[2]/@graph/0/name``. Rejected values (an invalid ISRC, an
unreadable duration) get an entry too, so the raw value survives for review.

Item ids: ``make_item_id("generic_web", canonical_url)``. When several recordings on one
page share a canonical URL (a page listing tracks without per-track URLs), each id uses
``canonical_url + "#" + index`` instead, where index is the 0-based position of the
recording among those extracted from the page, in document order. Canonical URLs never
carry a fragment (``canonicalize_url`` drops it), so these ids cannot collide with a real
canonical URL; they are stable as long as the page keeps its track order.

The extractor never raises on page content: undecodable bytes, broken HTML or JSON give an
empty result plus warning codes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from parsel import Selector
from w3lib.encoding import html_to_unicode

from crawler.extract.draft import Draft, LyricsDraft, PageContext, build_recording, canonicalize
from crawler.extract.nodes import At, NodeGraph, composition_lyrics, has_type, recording_draft
from crawler.items import Recording

logger = logging.getLogger(__name__)

SOURCE: Final = "generic_web"
EXTRACTOR: Final = "jsonld"
SYNTAX: Final = "json-ld"
MEDIA_TYPE: Final = "application/ld+json"

_DECODER: Final = json.JSONDecoder(strict=False)  # strict=False: control chars in strings
_BETWEEN_VALUES: Final = frozenset(" \t\r\n;,\ufeff")


@dataclass(slots=True)
class ExtractResult:
    """Recordings found on one page, plus page-level warning codes.

    Page-level codes describe blocks, not recordings: ``jsonld-block-N-invalid``,
    ``jsonld-block-N-repaired``, ``jsonld-html-unparsable``, ``jsonld-recording-empty``.
    Problems with a value of one recording go to that recording's own ``warnings``.
    """

    recordings: list[Recording] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ finding blocks


def _to_text(html: str | bytes) -> str:
    if isinstance(html, bytes | bytearray | memoryview):
        _, text = html_to_unicode(None, bytes(html))
    else:
        text = str(html)
    # Lone surrogates and NULs make lxml refuse the whole document; replace them.
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def _is_jsonld_type(value: str) -> bool:
    """``type`` compared case-insensitively, media-type parameters ignored."""
    return value.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def to_selector(html: str | bytes | Selector) -> Selector:
    """A parsel selector over the page (an existing one is used as it is)."""
    if isinstance(html, Selector):
        return html
    return Selector(text=_to_text(html), type="html")


def find_blocks(html: str | bytes | Selector) -> list[str]:
    """Text of every JSON-LD ``<script>`` in document order (empty ones included)."""
    selector = to_selector(html)
    return [
        "".join(script.xpath("text()").getall())
        for script in selector.xpath("//script[@type]")
        if _is_jsonld_type(script.attrib.get("type", ""))
    ]


# ------------------------------------------------------------------ parsing blocks


def _unwrap(text: str) -> str:
    """Strip a BOM and ``<!-- -->`` / ``<![CDATA[ ]]>`` wrappers around the JSON."""
    text = text.strip().lstrip("\ufeff").strip()
    for opener, closer in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if text.startswith(opener):
            text = text[len(opener) :].strip()
        if text.endswith(closer):
            text = text[: -len(closer)].strip()
    return text


def _remove_trailing_commas(text: str) -> str:
    """Drop commas directly before ``]`` or ``}``, leaving string contents untouched."""
    out: list[str] = []
    in_string = escaped = False
    pending: int | None = None  # index in ``out`` of a comma that may be trailing
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string, pending = True, None
        elif ch in "]}":
            if pending is not None:
                del out[pending]
                pending = None
        elif ch == ",":
            pending = len(out)
        elif not ch.isspace():
            pending = None
        out.append(ch)
    return "".join(out)


def _decode_all(text: str) -> list[Any]:
    """Every JSON value in ``text``; some pages put several objects in one block."""
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _BETWEEN_VALUES:
            pos += 1
        if pos >= end:
            return values
        value, pos = _DECODER.raw_decode(text, pos)
        values.append(value)


def parse_block(raw: str) -> tuple[list[Any], str | None]:
    """Parse one block leniently. Returns the values and a status code.

    Status: ``None`` (clean), ``"empty"``, ``"repaired"`` (trailing commas removed) or
    ``"invalid"`` (no values).
    """
    text = _unwrap(raw)
    if not text:
        return [], "empty"
    try:
        return _decode_all(text), None
    except (ValueError, RecursionError):
        pass
    repaired = _remove_trailing_commas(text)
    if repaired != text:
        try:
            return _decode_all(repaired), "repaired"
        except (ValueError, RecursionError):
            pass
    return [], "invalid"


def _roots(html: str | bytes | Selector, page_url: str, warnings: list[str]) -> list[At]:
    try:
        blocks = find_blocks(html)
    except Exception:  # lxml/parsel on hostile input; nothing to extract then
        logger.debug("Unparsable HTML on %(url)s", {"url": page_url}, exc_info=True)
        warnings.append("jsonld-html-unparsable")
        return []
    roots: list[At] = []
    for number, raw in enumerate(blocks, start=1):
        values, status = parse_block(raw)
        if status == "invalid":
            logger.debug(
                "Skipping unparsable JSON-LD block %(block)d on %(url)s",
                {"block": number, "url": page_url},
            )
            warnings.append(f"jsonld-block-{number}-invalid")
        elif status == "repaired":
            warnings.append(f"jsonld-block-{number}-repaired")
        if len(values) == 1:
            roots.append(At(values[0], f"script[{number}]"))
        else:  # several values in one block are addressed as if they were an array
            roots.extend(At(value, f"script[{number}]", (i,)) for i, value in enumerate(values))
    return roots


def jsonld_drafts(
    html: str | bytes | Selector, page_url: str, warnings: list[str]
) -> tuple[list[Draft], list[LyricsDraft]]:
    """One draft per ``MusicRecording`` in the page's JSON-LD (document order), and the
    lyrics of compositions no recording points to. Page-level codes go to ``warnings``."""
    graph = NodeGraph(page_url, _roots(html, page_url, warnings))
    drafts: list[Draft] = []
    for node in graph.recordings():
        draft = recording_draft(graph, node, SYNTAX)
        if draft is None:
            warnings.append("jsonld-recording-empty")
        else:
            drafts.append(draft)
    claimed = {lyr.locator for d in drafts for lyr in d.lyrics}
    loose = [lyr for lyr in composition_lyrics(graph, SYNTAX) if lyr.locator not in claimed]
    return drafts, loose


def native_ids(drafts: list[Draft], page_url: str) -> list[str]:
    """Item native ids for the recordings of one page: the canonical URL, or
    ``canonical_url + "#" + index`` when several recordings share one."""
    canon = [d.values.get("canonical_url") or canonicalize(page_url) for d in drafts]
    shared = Counter(canon)
    return [f"{url}#{i}" if shared[url] > 1 else url for i, url in enumerate(canon)]


def extract_recordings(
    html: str | bytes | Selector,
    page_url: str,
    *,
    fetched_at: datetime,
    http_status: int | None = None,
    body_sha256: str | None = None,
) -> ExtractResult:
    """Every ``MusicRecording`` described by the JSON-LD of one page.

    ``html`` may be text, the raw body bytes (the encoding is then sniffed from the markup,
    falling back to UTF-8) or an already parsed :class:`parsel.Selector`. ``fetched_at``
    must be timezone-aware: a naive value is a caller bug and raises :class:`ValueError`.
    Nothing in the page content raises.
    """
    if fetched_at.tzinfo is None or fetched_at.utcoffset() is None:
        raise ValueError("fetched_at must be timezone-aware")
    warnings: list[str] = []
    ctx = PageContext(page_url=page_url, fetched_at=fetched_at, http_status=http_status,
                      body_sha256=body_sha256, source=SOURCE, extractor=EXTRACTOR)
    try:
        drafts, _ = jsonld_drafts(html, page_url, warnings)
        recordings = [build_recording(d, ctx, native_id=n) for d, n in zip(drafts, native_ids(drafts, page_url))]
        for rec in recordings:
            rec.source_native_id = None
    except Exception:  # a bug in this module; never let one page stop the crawl
        logger.error("JSON-LD extraction failed on %(url)s", {"url": page_url}, exc_info=True)
        return ExtractResult(recordings=[], warnings=[*warnings, "jsonld-extractor-error"])
    return ExtractResult(recordings=recordings, warnings=warnings)


__all__ = [
    "ExtractResult",
    "extract_recordings",
    "find_blocks",
    "has_type",
    "jsonld_drafts",
    "native_ids",
    "parse_block",
]

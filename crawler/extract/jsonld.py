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
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urljoin

from parsel import Selector
from w3lib.encoding import html_to_unicode
from w3lib.url import canonicalize_url

import crawler
from crawler.extract.values import (
    absolute_http_url,
    clean_duration,
    clean_isrc,
    looks_like_url,
    normalize_text,
)
from crawler.items import FieldSource, Recording, make_item_id

logger = logging.getLogger(__name__)

SOURCE: Final = "generic_web"
EXTRACTOR: Final = "jsonld"
SYNTAX: Final = "json-ld"
MEDIA_TYPE: Final = "application/ld+json"
#: Titles this long are page text that ended up in ``name``, not titles.
MAX_TITLE_CHARS: Final = 1000

_SCHEMA_PREFIXES: Final = ("schema:", "http://schema.org/", "https://schema.org/")
_LOCAL_NAME_RE: Final = re.compile(r"[/#:]")
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


def find_blocks(html: str | bytes) -> list[str]:
    """Text of every JSON-LD ``<script>`` in document order (empty ones included)."""
    selector = Selector(text=_to_text(html), type="html")
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


# ------------------------------------------------------------------ walking the graph


def _escape_pointer(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class _At:
    """A JSON value and where it sits: block number (from 1) and path inside the block."""

    value: Any
    block: int
    path: tuple[str | int, ...] = ()

    @property
    def locator(self) -> str:
        return f"script[{self.block}]" + "".join("/" + _escape_pointer(p) for p in self.path)

    def child(self, key: str | int, value: Any) -> _At:
        return _At(value, self.block, (*self.path, key))


def _walk(roots: list[_At]) -> Iterator[_At]:
    """Every JSON object under ``roots`` in document (pre-)order; iterative, so deep
    nesting cannot exhaust the stack. ``@context`` subtrees are not nodes and are skipped."""
    stack = list(reversed(roots))
    while stack:
        at = stack.pop()
        value = at.value
        if isinstance(value, dict):
            yield at
            children = [
                at.child(k, v)
                for k, v in value.items()
                if k != "@context" and isinstance(v, dict | list)
            ]
        elif isinstance(value, list):
            children = [at.child(i, v) for i, v in enumerate(value) if isinstance(v, dict | list)]
        else:
            continue
        stack.extend(reversed(children))


def _local_name(type_name: str) -> str:
    return _LOCAL_NAME_RE.split(type_name.strip())[-1]


def has_type(node: object, local_name: str) -> bool:
    """Whether a JSON-LD node has a type with this local name (``@type`` string or list)."""
    if not isinstance(node, dict):
        return False
    types = node.get("@type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return False
    return any(isinstance(t, str) and _local_name(t) == local_name for t in types)


def _is_reference(node: dict[str, Any]) -> bool:
    return "@id" in node and set(node) <= {"@id", "@type", "@context"}


def _raw_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return repr(value)


class _Page:
    """The flattened JSON-LD of one page: an ``@id`` index and property access helpers."""

    def __init__(self, page_url: str, roots: list[_At]) -> None:
        self.page_url = page_url
        self.nodes = list(_walk(roots))
        self.index: dict[str, _At] = {}
        for at in self.nodes:
            key = self.id_key(at.value.get("@id"))
            if key is not None and not _is_reference(at.value):
                self.index.setdefault(key, at)

    def id_key(self, raw: object) -> str | None:
        """``@id`` made comparable: relative ids resolved against the page URL."""
        if not isinstance(raw, str) or not raw.strip():
            return None
        raw = raw.strip()
        if raw.startswith("_:"):
            return raw
        try:
            return urljoin(self.page_url, raw)
        except ValueError:
            return raw

    def resolve(self, at: _At) -> _At:
        """Follow a bare ``{"@id": ...}`` reference to the full node, if there is one."""
        if isinstance(at.value, dict) and _is_reference(at.value):
            target = self.index.get(self.id_key(at.value.get("@id")) or "")
            if target is not None:
                return target
        return at

    @staticmethod
    def raw_prop(node: _At, name: str) -> _At | None:
        """A property's value exactly as written (``name`` or a schema.org-prefixed key)."""
        if not isinstance(node.value, dict):
            return None
        for key in (name, *(prefix + name for prefix in _SCHEMA_PREFIXES)):
            if key in node.value:
                return node.child(key, node.value[key])
        return None

    def prop(self, node: _At, name: str) -> list[_At]:
        """Values of a property as a list (a single value becomes one element), with
        ``@value`` objects unwrapped, references resolved and nulls dropped."""
        base = self.raw_prop(node, name)
        if base is None:
            return []
        items = (
            [base.child(i, v) for i, v in enumerate(base.value)]
            if isinstance(base.value, list)
            else [base]
        )
        out = []
        for item in items:
            if isinstance(item.value, dict) and "@value" in item.value:
                item = item.child("@value", item.value["@value"])
            if item.value is not None:
                out.append(self.resolve(item))
        return out

    def first_string(self, node: _At, name: str) -> _At | None:
        for at in self.prop(node, name):
            if isinstance(at.value, str) and at.value.strip():
                return at
        return None

    def name_of(self, at: _At) -> _At | None:
        """The name of an entity given as a string or as an object with ``name``."""
        if isinstance(at.value, str):
            return at if at.value.strip() else None
        if isinstance(at.value, dict):
            return self.first_string(at, "name")
        return None


# ------------------------------------------------------------------ building items


class _Fields:
    """Collects field values, their provenance and warnings for one recording."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: list[FieldSource] = []
        self.warnings: list[str] = []

    def source(self, name: str, at: _At, raw: Any = None) -> None:
        value = at.value if raw is None else raw
        self.sources.append(
            FieldSource(field=name, syntax=SYNTAX, locator=at.locator, raw=_raw_text(value))
        )

    def set(self, name: str, value: Any, at: _At, raw: Any = None) -> None:
        self.values[name] = value
        self.source(name, at, raw)

    def reject(self, name: str, warning: str, at: _At) -> None:
        """Keep the raw value in ``field_sources`` and note why it was not used."""
        self.source(name, at)
        if warning not in self.warnings:
            self.warnings.append(warning)


def _title(page: _Page, rec: _At, fields: _Fields) -> None:
    at = page.first_string(rec, "name")
    if at is None:
        return
    title = normalize_text(at.value)
    if title is None:
        return
    if len(title) >= MAX_TITLE_CHARS:
        fields.reject("title", "title_too_long", at)
        return
    fields.set("title", title, at)


def _artists(page: _Page, rec: _At, fields: _Fields) -> None:
    base = page.raw_prop(rec, "byArtist")
    if base is None:
        return
    named: list[tuple[str, _At]] = []
    for at in page.prop(rec, "byArtist"):
        name_at = page.name_of(at)
        name = normalize_text(name_at.value) if name_at is not None else None
        if name_at is not None and name is not None and name not in (n for n, _ in named):
            named.append((name, name_at))
    if not named:
        return
    # Only a list or an object is structured; a plain string is a display credit that may
    # hold several names ("A & B feat. C") and is never split.
    structured = isinstance(base.value, list) or (
        isinstance(base.value, dict) and "@value" not in base.value
    )
    names = [name for name, _ in named]
    if len(named) == 1:
        at = named[0][1]
        fields.set("artist_credit", names[0], at)
        if structured:
            fields.set("artists", names, at)
        return
    raw_names = [at.value for _, at in named]
    fields.set("artist_credit", ", ".join(names), base, raw=raw_names)
    fields.set("artists", names, base, raw=raw_names)


def _album(page: _Page, rec: _At, fields: _Fields) -> None:
    for at in page.prop(rec, "inAlbum"):
        if isinstance(at.value, str) and looks_like_url(at.value):
            continue  # a bare album URL is not a title
        name_at = page.name_of(at)
        title = normalize_text(name_at.value) if name_at is not None else None
        if name_at is not None and title is not None:
            fields.set("album_title", title, name_at)
            return


def _audio_objects(page: _Page, rec: _At) -> list[_At]:
    return [at for at in page.prop(rec, "audio") if not has_type(at.value, "MusicRecording")]


def _duration(page: _Page, rec: _At, fields: _Fields) -> None:
    candidates = [*page.prop(rec, "duration")]
    for audio in _audio_objects(page, rec):
        candidates.extend(page.prop(audio, "duration"))
    for at in candidates:
        if isinstance(at.value, dict | list):
            continue
        cleaned = clean_duration(at.value)
        if cleaned.value is not None:
            fields.set("duration_s", cleaned.value, at)
            return
        fields.reject("duration_s", cleaned.warning or "duration_invalid", at)


def _isrc(page: _Page, rec: _At, fields: _Fields) -> None:
    for at in page.prop(rec, "isrcCode"):
        cleaned = clean_isrc(at.value)
        if cleaned.value is not None:
            fields.set("isrc", cleaned.value, at)
            return
        fields.reject("isrc", cleaned.warning or "isrc_invalid", at)


def _license(page: _Page, rec: _At, fields: _Fields) -> None:
    for at in page.prop(rec, "license"):
        raw_at: _At | None = None
        if isinstance(at.value, str) and at.value.strip():
            raw_at = at
        elif isinstance(at.value, dict):
            raw_at = page.first_string(at, "url")
            if raw_at is None and isinstance(at.value.get("@id"), str):
                raw_at = at.child("@id", at.value["@id"])
                if raw_at.value.strip().startswith(("#", "_:")):
                    raw_at = None  # a node id, not a licence URL
            if raw_at is None:
                raw_at = page.first_string(at, "name")  # a licence given only by name
        if raw_at is None:
            continue
        raw = raw_at.value.strip()
        fields.set("license_url_raw", raw, raw_at)
        url = absolute_http_url(raw, page.page_url) if looks_like_url(raw) else None
        if url is not None:
            fields.set("license_url", url, raw_at)
        return


def _audio(page: _Page, rec: _At, fields: _Fields) -> None:
    for audio in _audio_objects(page, rec):
        # ``embedUrl`` is a player page, never the audio itself.
        at = audio if isinstance(audio.value, str) else page.first_string(audio, "contentUrl")
        if at is None:
            continue
        url = absolute_http_url(at.value, page.page_url)
        if url is None:
            fields.reject("audio_url", "audio_url_invalid", at)
            continue
        fields.set("audio_url", url, at)
        return


def _canonicalize(url: str) -> str:
    try:
        return canonicalize_url(url)
    except (ValueError, UnicodeError):
        return url


def _canonical(page: _Page, rec: _At, fields: _Fields) -> None:
    candidates: list[_At] = []
    url_at = page.first_string(rec, "url")
    if url_at is not None:
        candidates.append(url_at)
    node_id = rec.value.get("@id")
    if isinstance(node_id, str) and not node_id.strip().startswith(("#", "_:")):
        candidates.append(rec.child("@id", node_id))
    for at in candidates:
        url = absolute_http_url(at.value, page.page_url)
        if url is not None:
            fields.set("canonical_url", _canonicalize(url), at)
            return
    fields.values["canonical_url"] = _canonicalize(page.page_url)


_CONTENT_FIELDS: Final = ("title", "isrc", "audio_url")


def _recording_fields(page: _Page, rec: _At) -> _Fields | None:
    """All fields of one recording node; ``None`` when it carries nothing identifying."""
    fields = _Fields()
    for step in (_title, _artists, _album, _duration, _isrc, _license, _audio):
        step(page, rec, fields)
    if not any(fields.values.get(name) for name in _CONTENT_FIELDS):
        return None
    _canonical(page, rec, fields)
    return fields


def _recording_nodes(page: _Page) -> list[_At]:
    """Distinct MusicRecording nodes in document order; a reference to a node that is
    described elsewhere counts once, at the first place the recording appears."""
    seen_objects: set[int] = set()
    seen_ids: set[str] = set()
    out: list[_At] = []
    for at in page.nodes:
        if not has_type(at.value, "MusicRecording"):
            continue
        node = page.resolve(at)
        if _is_reference(node.value) or id(node.value) in seen_objects:
            continue
        key = page.id_key(node.value.get("@id"))
        if key is not None and key in seen_ids:
            continue
        seen_objects.add(id(node.value))
        if key is not None:
            seen_ids.add(key)
        out.append(node)
    return out


def _roots(html: str | bytes, page_url: str, warnings: list[str]) -> list[_At]:
    try:
        blocks = find_blocks(html)
    except Exception:  # lxml/parsel on hostile input; nothing to extract then
        logger.debug("Unparsable HTML on %(url)s", {"url": page_url}, exc_info=True)
        warnings.append("jsonld-html-unparsable")
        return []
    roots: list[_At] = []
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
            roots.append(_At(values[0], number))
        else:  # several values in one block are addressed as if they were an array
            roots.extend(_At(value, number, (i,)) for i, value in enumerate(values))
    return roots


def _extract(
    html: str | bytes,
    page_url: str,
    fetched_at: datetime,
    http_status: int | None,
    body_sha256: str | None,
    warnings: list[str],
) -> list[Recording]:
    page = _Page(page_url, _roots(html, page_url, warnings))
    collected: list[_Fields] = []
    for node in _recording_nodes(page):
        fields = _recording_fields(page, node)
        if fields is None:
            warnings.append("jsonld-recording-empty")
        else:
            collected.append(fields)
    shared = Counter(f.values["canonical_url"] for f in collected)
    recordings = []
    for index, fields in enumerate(collected):
        canonical_url = fields.values["canonical_url"]
        native_id = f"{canonical_url}#{index}" if shared[canonical_url] > 1 else canonical_url
        recordings.append(
            Recording(
                item_id=make_item_id(SOURCE, native_id),
                source=SOURCE,
                page_url=page_url,
                fetched_at=fetched_at,
                http_status=http_status,
                body_sha256=body_sha256,
                extractor=EXTRACTOR,
                extractor_version=crawler.__version__,
                field_sources=fields.sources,
                warnings=fields.warnings,
                **fields.values,
            )
        )
    return recordings


def extract_recordings(
    html: str | bytes,
    page_url: str,
    *,
    fetched_at: datetime,
    http_status: int | None = None,
    body_sha256: str | None = None,
) -> ExtractResult:
    """Every ``MusicRecording`` described by the JSON-LD of one page.

    ``html`` may be text or the raw body bytes (the encoding is then sniffed from the
    markup, falling back to UTF-8). ``fetched_at`` must be timezone-aware: a naive value is
    a caller bug and raises :class:`ValueError`. Nothing in the page content raises.
    """
    if fetched_at.tzinfo is None or fetched_at.utcoffset() is None:
        raise ValueError("fetched_at must be timezone-aware")
    warnings: list[str] = []
    try:
        recordings = _extract(html, page_url, fetched_at, http_status, body_sha256, warnings)
    except Exception:  # a bug in this module; never let one page stop the crawl
        logger.error("JSON-LD extraction failed on %(url)s", {"url": page_url}, exc_info=True)
        return ExtractResult(recordings=[], warnings=[*warnings, "jsonld-extractor-error"])
    return ExtractResult(recordings=recordings, warnings=warnings)


__all__ = ["ExtractResult", "extract_recordings", "find_blocks", "has_type", "parse_block"]

"""schema.org node graphs, whatever syntax carried them, and the recording fields they hold.

JSON-LD, microdata and RDFa all describe the same schema.org vocabulary; only the markup
differs. The microdata and RDFa parsers therefore convert their items into JSON-LD-shaped
dictionaries (``@type``, ``@id``, property → value or list), and this module does the rest
once for all three:

* :class:`NodeGraph` flattens top-level arrays, ``@graph`` and nested objects, indexes nodes
  by ``@id`` (resolved against the page URL, so ``"#band"`` and ``"https://host/page#band"``
  meet) and follows bare references such as ``{"@id": "#band"}`` one step;
* :func:`recording_draft` reads one ``MusicRecording`` node into a
  :class:`~crawler.extract.draft.Draft`: title, artists and their ids, album and release
  (label, catalogue number, barcode), track number, duration, release date, genres,
  language, ISRC, the composition (ISWC, composers, lyricists, publisher, lyrics text),
  MusicBrainz ids from ``sameAs``, copyright, licence candidates, audio URL and its kind,
  media type and size, canonical URL.

Types are matched on their local name, so ``MusicRecording``, ``schema:MusicRecording`` and
``http://schema.org/MusicRecording`` are the same type. Every value read gets a
``field_sources`` entry whose locator is the root of its node tree (``script[2]`` for the
second JSON-LD block, ``microdata(/html/body/article)`` for a microdata item) followed by a
JSON-pointer path inside it. Bandcamp's ``publisher`` (the seller account) is never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from crawler.extract.draft import Draft, LyricsDraft, canonicalize
from crawler.extract.identifiers import clean_gtin, clean_iswc, mbid_from_url
from crawler.extract.values import (
    absolute_http_url,
    clean_date,
    clean_duration,
    clean_isrc,
    clean_position,
    dedupe_casefold,
    looks_like_url,
    normalize_language,
    normalize_mime,
    normalize_text,
    parse_size,
)
from crawler.policy.domains import registrable_domain

#: Titles this long are page text that ended up in ``name``, not titles.
MAX_TITLE_CHARS: Final = 1000
_SCHEMA_PREFIXES: Final = ("schema:", "http://schema.org/", "https://schema.org/")
_LOCAL_NAME_RE: Final = re.compile(r"[/#:]")


def _escape_pointer(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class At:
    """A value and where it sits: a root label and a path inside that root."""

    value: Any
    root: str
    path: tuple[str | int, ...] = ()

    @property
    def locator(self) -> str:
        return self.root + "".join("/" + _escape_pointer(p) for p in self.path)

    def child(self, key: str | int, value: Any) -> At:
        return At(value, self.root, (*self.path, key))


def walk(roots: list[At]) -> Iterator[At]:
    """Every object under ``roots`` in document (pre-)order; iterative, so deep nesting
    cannot exhaust the stack. ``@context`` subtrees are not nodes and are skipped."""
    stack = list(reversed(roots))
    while stack:
        at = stack.pop()
        value = at.value
        if isinstance(value, dict):
            yield at
            children = [
                at.child(k, v) for k, v in value.items() if k != "@context" and isinstance(v, dict | list)
            ]
        elif isinstance(value, list):
            children = [at.child(i, v) for i, v in enumerate(value) if isinstance(v, dict | list)]
        else:
            continue
        stack.extend(reversed(children))


def local_name(type_name: str) -> str:
    return _LOCAL_NAME_RE.split(type_name.strip())[-1]


def has_type(node: object, name: str) -> bool:
    """Whether a node has a type with this local name (``@type`` string or list)."""
    if not isinstance(node, dict):
        return False
    types = node.get("@type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return False
    return any(isinstance(t, str) and local_name(t) == name for t in types)


def is_reference(node: dict[str, Any]) -> bool:
    return "@id" in node and set(node) <= {"@id", "@type", "@context"}


class NodeGraph:
    """The flattened nodes of one page and one syntax: an ``@id`` index and accessors."""

    def __init__(self, page_url: str, roots: list[At]) -> None:
        self.page_url = page_url
        self.nodes = list(walk(roots))
        self.index: dict[str, At] = {}
        for at in self.nodes:
            key = self.id_key(at.value.get("@id"))
            if key is not None and not is_reference(at.value):
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

    def resolve(self, at: At) -> At:
        """Follow a bare ``{"@id": ...}`` reference to the full node, if there is one."""
        if isinstance(at.value, dict) and is_reference(at.value):
            target = self.index.get(self.id_key(at.value.get("@id")) or "")
            if target is not None:
                return target
        return at

    @staticmethod
    def raw_prop(node: At, name: str) -> At | None:
        """A property's value exactly as written (``name`` or a schema.org-prefixed key)."""
        if not isinstance(node.value, dict):
            return None
        for key in (name, *(prefix + name for prefix in _SCHEMA_PREFIXES)):
            if key in node.value:
                return node.child(key, node.value[key])
        return None

    def prop(self, node: At, name: str) -> list[At]:
        """Values of a property as a list (a single value becomes one element), with
        ``@value`` objects unwrapped, references resolved and nulls dropped."""
        base = self.raw_prop(node, name)
        if base is None:
            return []
        items = [base.child(i, v) for i, v in enumerate(base.value)] if isinstance(base.value, list) else [base]
        out = []
        for item in items:
            if isinstance(item.value, dict) and "@value" in item.value:
                item = item.child("@value", item.value["@value"])
            if item.value is not None:
                out.append(self.resolve(item))
        return out

    def first_string(self, node: At, name: str) -> At | None:
        for at in self.prop(node, name):
            if isinstance(at.value, str) and at.value.strip():
                return at
        return None

    def first_scalar(self, node: At, name: str) -> At | None:
        for at in self.prop(node, name):
            if isinstance(at.value, str | int | float) and not isinstance(at.value, bool) and str(at.value).strip():
                return at
        return None

    def name_of(self, at: At) -> At | None:
        """The name of an entity given as a string or as an object with ``name``."""
        if isinstance(at.value, str):
            return at if at.value.strip() else None
        if isinstance(at.value, dict):
            return self.first_string(at, "name")
        return None

    def recordings(self) -> list[At]:
        """Distinct MusicRecording nodes in document order; a reference to a node that is
        described elsewhere counts once, at the first place the recording appears."""
        seen_objects: set[int] = set()
        seen_ids: set[str] = set()
        out: list[At] = []
        for at in self.nodes:
            if not has_type(at.value, "MusicRecording"):
                continue
            node = self.resolve(at)
            if is_reference(node.value) or id(node.value) in seen_objects:
                continue
            key = self.id_key(node.value.get("@id"))
            if key is not None and key in seen_ids:
                continue
            seen_objects.add(id(node.value))
            if key is not None:
                seen_ids.add(key)
            out.append(node)
        return out


# ------------------------------------------------------------------------ recording fields


class _Reader:
    """Reads one recording node of a graph into a draft."""

    def __init__(self, graph: NodeGraph, rec: At, syntax: str) -> None:
        self.g = graph
        self.rec = rec
        self.d = Draft(syntax=syntax)

    @property
    def page_url(self) -> str:
        return self.g.page_url

    def url(self, at: At) -> str | None:
        return absolute_http_url(at.value, self.page_url) if isinstance(at.value, str) else None

    # -- steps ---------------------------------------------------------------------------

    def title(self) -> None:
        at = self.g.first_string(self.rec, "name")
        if at is None:
            return
        title = normalize_text(at.value)
        if title is None:
            return
        if len(title) >= MAX_TITLE_CHARS:
            self.d.reject("title", "title_too_long", at.locator, at.value)
            return
        self.d.set("title", title, at.locator, at.value)

    def artists(self) -> None:
        base = self.g.raw_prop(self.rec, "byArtist")
        if base is None:
            return
        named: list[tuple[str, At]] = []
        for at in self.g.prop(self.rec, "byArtist"):
            self._artist_ids(at)
            name_at = self.g.name_of(at)
            name = normalize_text(name_at.value) if name_at is not None else None
            if name_at is not None and name is not None and name not in (n for n, _ in named):
                named.append((name, name_at))
        if not named:
            return
        # Only a list or an object is structured; a plain string is a display credit that
        # may hold several names ("A & B feat. C") and is never split.
        structured = isinstance(base.value, list) or (isinstance(base.value, dict) and "@value" not in base.value)
        names = [name for name, _ in named]
        if len(named) == 1:
            at = named[0][1]
            self.d.set("artist_credit", names[0], at.locator, at.value)
            if structured:
                self.d.set("artists", names, at.locator, at.value)
            return
        raw_names = [at.value for _, at in named]
        self.d.set("artist_credit", ", ".join(names), base.locator, raw_names)
        self.d.set("artists", names, base.locator, raw_names)

    def _artist_ids(self, at: At) -> None:
        if not isinstance(at.value, dict):
            return
        candidates = []
        node_id = at.value.get("@id")
        if isinstance(node_id, str) and not node_id.strip().startswith(("#", "_:")):
            candidates.append(at.child("@id", node_id))
        candidates += [u for u in self.g.prop(at, "url") if isinstance(u.value, str)]
        candidates += [u for u in self.g.prop(at, "sameAs") if isinstance(u.value, str)]
        for c in candidates:
            url = self.url(c)
            if url is None:
                continue
            mb = mbid_from_url(url)
            if mb is not None and mb[0] == "artist":
                self.d.set("artist_ids", [{"scheme": "mbid", "id": mb[1]}], c.locator, c.value)
            else:
                self.d.set("artist_ids", [{"scheme": "url", "id": url}], c.locator, c.value)

    def album(self) -> None:
        for at in self.g.prop(self.rec, "inAlbum"):
            if isinstance(at.value, str) and looks_like_url(at.value):
                url = self.url(at)
                if url:
                    self.d.set("album_url", url, at.locator, at.value)
                continue  # a bare album URL is not a title
            name_at = self.g.name_of(at)
            title = normalize_text(name_at.value) if name_at is not None else None
            if name_at is not None and title is not None:
                self.d.set("album_title", title, name_at.locator, name_at.value)
            if isinstance(at.value, dict):
                self._album_node(at)
            if "album_title" in self.d.values:
                return

    def _album_node(self, album: At) -> None:
        for key in ("@id", "url"):
            raw = album.value.get(key) if key == "@id" else None
            at = album.child("@id", raw) if raw is not None else self.g.first_string(album, key)
            if at is not None and isinstance(at.value, str) and not at.value.strip().startswith(("#", "_:")):
                url = self.url(at)
                if url:
                    self.d.set("album_url", url, at.locator, at.value)
        releases = [album, *(r for r in self.g.prop(album, "albumRelease") if isinstance(r.value, dict))]
        for release in releases:
            self._release(release)

    def _release(self, release: At) -> None:
        label = self.g.prop(release, "recordLabel")
        for at in label:
            name_at = self.g.name_of(at)
            name = normalize_text(name_at.value) if name_at is not None else None
            if name_at is not None and name:
                self.d.set("record_label", name, name_at.locator, name_at.value)
        cat = self.g.first_scalar(release, "catalogNumber")
        if cat is not None and normalize_text(str(cat.value)):
            self.d.set("catalog_number", normalize_text(str(cat.value)), cat.locator, cat.value)
        for key in ("gtin13", "gtin12", "gtin", "gtin14", "gtin8"):
            for at in self.g.prop(release, key):
                cleaned = clean_gtin(at.value)
                if cleaned.value is None:
                    self.d.reject("upc_ean", cleaned.warning or "upc_ean_invalid", at.locator, at.value)
                    continue
                self.d.set("upc_ean", cleaned.value.code, at.locator, at.value)
                self.d.set("upc_ean_length", cleaned.value.length, at.locator, at.value)
        self._date(release)

    def _date(self, node: At) -> None:
        for at in self.g.prop(node, "datePublished"):
            cleaned = clean_date(at.value)
            if cleaned.value is None:
                self.d.reject("release_date", cleaned.warning or "date_invalid", at.locator, at.value)
                continue
            self.d.set("release_date", cleaned.value[0], at.locator, at.value)
            self.d.set("release_date_precision", cleaned.value[1], at.locator, at.value)
            return

    def date(self) -> None:
        self._date(self.rec)

    def audio_objects(self) -> list[At]:
        return [at for at in self.g.prop(self.rec, "audio") if not has_type(at.value, "MusicRecording")]

    def duration(self) -> None:
        candidates = [*self.g.prop(self.rec, "duration")]
        for audio in self.audio_objects():
            candidates.extend(self.g.prop(audio, "duration"))
        for at in candidates:
            if isinstance(at.value, dict | list):
                continue
            cleaned = clean_duration(at.value)
            if cleaned.value is not None:
                self.d.set("duration_s", cleaned.value, at.locator, at.value)
                continue
            self.d.reject("duration_s", cleaned.warning or "duration_invalid", at.locator, at.value)

    def isrc(self) -> None:
        for at in self.g.prop(self.rec, "isrcCode"):
            cleaned = clean_isrc(at.value)
            if cleaned.value is not None:
                self.d.set("isrc", cleaned.value, at.locator, at.value)
                self.d.set("isrc_all", [cleaned.value], at.locator, at.value)
                continue
            self.d.reject("isrc", cleaned.warning or "isrc_invalid", at.locator, at.value)

    def genres(self) -> None:
        names = []
        for at in self.g.prop(self.rec, "genre"):
            text = normalize_text(at.value) if isinstance(at.value, str) else None
            if text and not looks_like_url(text):
                names.append(text)
                self.d.source("genres", at.locator, at.value)
        if names:
            self.d.values["genres"] = dedupe_casefold(names)

    def language(self) -> None:
        for at in self.g.prop(self.rec, "inLanguage"):
            raw_at = at if isinstance(at.value, str) else self.g.first_string(at, "alternateName")
            tag = normalize_language(raw_at.value) if raw_at is not None else None
            if raw_at is not None and tag:
                self.d.set("language", tag, raw_at.locator, raw_at.value)
                return

    def same_as(self) -> None:
        for at in self.g.prop(self.rec, "sameAs"):
            url = self.url(at)
            mb = mbid_from_url(url) if url else None
            if mb is not None and mb[0] == "recording":
                self.d.set("mbid_recording", mb[1], at.locator, at.value)

    def composition(self) -> None:
        for work in self.g.prop(self.rec, "recordingOf"):
            if not isinstance(work.value, dict):
                continue
            at = self.g.first_string(work, "iswcCode")
            if at is not None:
                cleaned = clean_iswc(at.value)
                if cleaned.value:
                    self.d.set("iswc", cleaned.value, at.locator, at.value)
                else:
                    self.d.reject("iswc", cleaned.warning or "iswc_invalid", at.locator, at.value)
            for prop, name in (("composer", "composers"), ("lyricist", "lyricists")):
                for person in self.g.prop(work, prop):
                    name_at = self.g.name_of(person)
                    text = normalize_text(name_at.value) if name_at is not None else None
                    if name_at is not None and text:
                        self.d.set(name, [text], name_at.locator, name_at.value)
            for pub in self.g.prop(work, "publisher"):
                name_at = self.g.name_of(pub)
                text = normalize_text(name_at.value) if name_at is not None else None
                if name_at is not None and text:
                    self.d.set("music_publisher", text, name_at.locator, name_at.value)
            for same in self.g.prop(work, "sameAs"):
                url = self.url(same)
                mb = mbid_from_url(url) if url else None
                if mb is not None and mb[0] == "work":
                    self.d.set("mbid_work", mb[1], same.locator, same.value)
            self._lyrics(work)

    def _lyrics(self, work: At) -> None:
        for lyr in self.g.prop(work, "lyrics"):
            text_at = lyr if isinstance(lyr.value, str) else self.g.first_string(lyr, "text")
            if text_at is None:
                continue
            lang_at = self.g.first_string(lyr, "inLanguage") if isinstance(lyr.value, dict) else None
            draft = LyricsDraft(text=text_at.value, format="plain", syntax=self.d.syntax,
                                locator=text_at.locator, raw=text_at.value,
                                language=normalize_language(lang_at.value) if lang_at else None)
            if isinstance(lyr.value, dict):
                lic_at = self.g.first_string(lyr, "license")
                if lic_at is not None:
                    from crawler.extract.licences import normalize_licence

                    draft.licence = normalize_licence(lic_at.value, source=self.d.syntax)
                notice = self.g.first_string(lyr, "copyrightNotice")
                if notice is not None:
                    draft.copyright_notice = normalize_text(notice.value)
            self.d.lyrics.append(draft)

    def copyright(self) -> None:
        notice = self.g.first_string(self.rec, "copyrightNotice")
        if notice is not None:
            self.d.set("copyright_notice", normalize_text(notice.value), notice.locator, notice.value)
            self.d.add_rights_text(notice.value, notice.locator)
        year = self.g.first_scalar(self.rec, "copyrightYear")
        if year is not None:
            try:
                number = int(str(year.value).strip())
            except ValueError:
                number = 0
            if 1860 <= number <= 2100:
                self.d.set("copyright_year", number, year.locator, year.value)
        for holder in self.g.prop(self.rec, "copyrightHolder"):
            name_at = self.g.name_of(holder)
            text = normalize_text(name_at.value) if name_at is not None else None
            if name_at is not None and text:
                self.d.set("copyright_holder", text, name_at.locator, name_at.value)
                break
        credit = self.g.first_string(self.rec, "creditText")
        if credit is not None:
            self.d.set("attribution_text", normalize_text(credit.value), credit.locator, credit.value)

    def licences(self) -> None:
        nodes = [self.rec, *(a for a in self.audio_objects() if isinstance(a.value, dict))]
        for node in nodes:
            for at in self.g.prop(node, "license"):
                raw_at: At | None = None
                if isinstance(at.value, str) and at.value.strip():
                    raw_at = at
                elif isinstance(at.value, dict):
                    raw_at = self.g.first_string(at, "url")
                    if raw_at is None and isinstance(at.value.get("@id"), str):
                        raw_at = at.child("@id", at.value["@id"])
                        if raw_at.value.strip().startswith(("#", "_:")):
                            raw_at = None  # a node id, not a licence URL
                    if raw_at is None:
                        raw_at = self.g.first_string(at, "name")  # a licence given only by name
                if raw_at is None:
                    continue
                self.d.add_licence(raw_at.value, raw_at.locator, page_url=self.page_url)

    def additional_properties(self) -> None:
        host = urlsplit(self.page_url).hostname or ""
        site = registrable_domain(host) if host else ""
        for prop in self.g.prop(self.rec, "additionalProperty"):
            name_at = self.g.first_string(prop, "name")
            value_at = self.g.first_scalar(prop, "value")
            if name_at is None or value_at is None:
                continue
            name = name_at.value.strip().lower()
            if name in ("tracknum", "track_number", "tracknumber"):
                cleaned = clean_position(value_at.value)
                if cleaned.value is not None:
                    self.d.set("track_number", cleaned.value, value_at.locator, value_at.value)
            elif name in ("track_id", "trackid") and site:
                self.d.set("other_ids", [{"scheme": f"{site}:track_id", "value": str(value_at.value)}],
                           value_at.locator, value_at.value)
            elif name in ("license_name", "license"):
                self.d.add_licence(str(value_at.value), value_at.locator, source="platform")
        position = self.g.first_scalar(self.rec, "position")
        if position is not None:
            cleaned = clean_position(position.value)
            if cleaned.value is not None:
                self.d.set("track_number", cleaned.value, position.locator, position.value)

    def audio(self) -> None:
        embed: At | None = None
        for audio in self.audio_objects():
            if isinstance(audio.value, str):
                at: At | None = audio
            else:
                at = self.g.first_string(audio, "contentUrl")
                if at is None and embed is None:
                    embed = self.g.first_string(audio, "embedUrl")
            if at is None:
                continue
            url = self.url(at)
            if url is None:
                self.d.reject("audio_url", "audio_url_invalid", at.locator, at.value)
                continue
            self.d.set("audio_url", url, at.locator, at.value)
            self.d.set("audio_url_kind", "full", at.locator, at.value)
            if isinstance(audio.value, dict):
                fmt = self.g.first_string(audio, "encodingFormat")
                mime = normalize_mime(fmt.value) if fmt is not None else None
                if fmt is not None and mime:
                    self.d.set("mime_type", mime, fmt.locator, fmt.value)
                size = self.g.first_scalar(audio, "contentSize")
                parsed = parse_size(size.value) if size is not None else None
                if size is not None and parsed:
                    self.d.set("file_size_bytes", parsed[0], size.locator, size.value)
                    self.d.set("file_size_approx", parsed[1], size.locator, size.value)
            return
        if embed is not None:
            url = self.url(embed)
            if url is not None:
                # ``embedUrl`` is a player page, never the audio itself.
                self.d.set("audio_url", url, embed.locator, embed.value)
                self.d.set("audio_url_kind", "embed_page", embed.locator, embed.value)

    def canonical(self) -> None:
        candidates: list[At] = []
        url_at = self.g.first_string(self.rec, "url")
        if url_at is not None:
            candidates.append(url_at)
        node_id = self.rec.value.get("@id")
        if isinstance(node_id, str) and not node_id.strip().startswith(("#", "_:")):
            candidates.append(self.rec.child("@id", node_id))
        for at in candidates:
            url = self.url(at)
            if url is not None:
                self.d.set("canonical_url", canonicalize(url), at.locator, at.value)
                self.d.values.setdefault("canonical_url_raw", at.value.strip())
                return

    def strip_artist_suffix(self) -> None:
        """SoundCloud-style ``"<title> by <artist>"`` names (microdata/RDFa only)."""
        title, artist = self.d.values.get("title"), self.d.values.get("artist_credit")
        if title and artist:
            for sep in (" by ", ", by "):
                suffix = f"{sep}{artist}"
                if title.endswith(suffix) and len(title) > len(suffix):
                    self.d.values["title"] = title[: -len(suffix)].rstrip(" ,")
                    return


_CONTENT_FIELDS: Final = ("title", "isrc", "audio_url")


def recording_draft(graph: NodeGraph, rec: At, syntax: str) -> Draft | None:
    """All fields of one recording node; ``None`` when it carries nothing identifying."""
    reader = _Reader(graph, rec, syntax)
    for step in (reader.title, reader.artists, reader.album, reader.duration, reader.isrc,
                 reader.licences, reader.audio, reader.date, reader.genres, reader.language,
                 reader.same_as, reader.composition, reader.copyright, reader.additional_properties):
        step()
    draft = reader.d
    if not any(draft.values.get(name) for name in _CONTENT_FIELDS):
        return None
    if syntax in ("microdata", "rdfa"):
        reader.strip_artist_suffix()
    reader.canonical()
    return draft


def composition_lyrics(graph: NodeGraph, syntax: str) -> list[LyricsDraft]:
    """Lyrics of every ``MusicComposition`` node of the graph (callers drop the ones a
    recording already claimed)."""
    out = []
    for at in graph.nodes:
        if has_type(at.value, "MusicComposition"):
            reader = _Reader(graph, at, syntax)
            reader._lyrics(at)
            out.extend(reader.d.lyrics)
    return out


__all__ = [
    "MAX_TITLE_CHARS",
    "At",
    "NodeGraph",
    "composition_lyrics",
    "has_type",
    "is_reference",
    "local_name",
    "recording_draft",
    "walk",
]

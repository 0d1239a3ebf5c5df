"""The ``archive`` spider: recordings from the Internet Archive's public metadata API.

    scrapy crawl archive -a identifiers=fixture-netlabel-042,another-item
    scrapy crawl archive -a query='collection:netlabels AND licenseurl:*creativecommons*' -a max_items=500

An API is a better source than the item pages (which carry no embedded metadata): every
item's ``/metadata/{identifier}`` record names its licence (``licenseurl``), rights text,
creator, date and every file with format, size, length, track and title. The spider:

1. with ``query``: pages through ``/advancedsearch.php`` (``fl[]=identifier``, ``rows``,
   ``page``, ``output=json``) up to ``max_items`` identifiers;
2. fetches ``/metadata/{identifier}`` for each identifier;
3. yields one recording per **original** audio file (``source=original``, an audio
   ``format``), with ``source=internet_archive``, native id ``identifier/filename``, the
   download URL ``/download/{identifier}/{filename}`` as ``audio_url`` — which then goes
   through the same ranged-GET audio step as the music spider's recordings.

Licence: ``licenseurl`` through the URL normaliser (source ``api``); no ``licenseurl`` means
``unknown``, never open (downloadable is not licensed). ``rights`` text is kept as a rights
signal. Items in 78 rpm collections get the warning ``ia_78rpm_review``.

``-a api=URL`` changes the API base (default ``https://archive.org``); the tests point it
at a loopback server holding saved responses. Every request passes the policy gate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

from scrapy import Request, Spider
from scrapy.http import Response

from crawler.extract.draft import Draft, PageContext, build_recording
from crawler.extract.values import (
    clean_date,
    clean_duration,
    clean_position,
    dedupe_casefold,
    normalize_language,
    normalize_text,
    parse_size,
)
from crawler.spiders.audiostep import AudioStep
from pipelines.items_config import get_items_config

logger = logging.getLogger(__name__)

SOURCE: Final = "internet_archive"
DEFAULT_API: Final = "https://archive.org"
#: IA ``format`` values of audio files and the media type each is served with.
AUDIO_FORMATS: Final = {
    "vbr mp3": "audio/mpeg", "mp3": "audio/mpeg", "128kbps mp3": "audio/mpeg", "64kbps mp3": "audio/mpeg",
    "flac": "audio/flac", "24bit flac": "audio/flac", "ogg vorbis": "audio/ogg", "wave": "audio/wav",
    "aiff": "audio/aiff", "apple lossless audio": "audio/mp4", "m4a": "audio/mp4", "opus": "audio/ogg",
}
_78RPM: Final = ("78rpm", "georgeblood", "78s")


def _first_text(value: Any) -> str | None:
    """IA metadata values are strings or lists of strings."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    return normalize_text(value) if isinstance(value, str) else None


def _list(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, str):
            out += [p for p in (normalize_text(x) for x in v.split(";")) if p]
    return out


def recordings_from_metadata(data: dict[str, Any], api: str, ctx: PageContext) -> list[tuple[Any, str]]:
    """``(recording, native id)`` for every original audio file of one metadata record."""
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    identifier = _first_text(meta.get("identifier"))
    if not identifier:
        return []
    files = data.get("files") if isinstance(data.get("files"), list) else []
    collections = [c.lower() for c in _list(meta.get("collection"))]
    out = []
    for index, entry in enumerate(files):
        if not isinstance(entry, dict):
            continue
        fmt = str(entry.get("format") or "").strip().lower()
        name = entry.get("name")
        if entry.get("source") != "original" or fmt not in AUDIO_FORMATS or not isinstance(name, str):
            continue
        at = f"files/{index}"
        d = Draft(syntax="api")
        title = normalize_text(entry.get("title")) if isinstance(entry.get("title"), str) else None
        album = _first_text(meta.get("title"))
        if title:
            d.set("title", title, f"{at}/title", entry["title"])
            if album:
                d.set("album_title", album, "metadata/title", meta.get("title"))
        elif album:
            d.set("title", album, "metadata/title", meta.get("title"))
        creator = normalize_text(entry.get("creator")) if isinstance(entry.get("creator"), str) else None
        if creator:
            d.set("artist_credit", creator, f"{at}/creator", entry["creator"])
        elif (meta_creator := _first_text(meta.get("creator"))) is not None:
            d.set("artist_credit", meta_creator, "metadata/creator", meta.get("creator"))
            if isinstance(meta.get("creator"), list):
                d.set("artists", _list(meta["creator"]), "metadata/creator", meta["creator"])
        if entry.get("track") is not None:
            cleaned = clean_position(str(entry["track"]))
            if cleaned.value is not None:
                d.set("track_number", cleaned.value, f"{at}/track", entry["track"])
        if entry.get("length") is not None:
            cleaned_d = clean_duration(str(entry["length"]))
            if cleaned_d.value is not None:
                d.set("duration_s", cleaned_d.value, f"{at}/length", entry["length"])
            else:
                d.reject("duration_s", cleaned_d.warning or "duration_invalid", f"{at}/length", entry["length"])
        date = _first_text(meta.get("date"))
        if date:
            cleaned_date = clean_date(date)
            if cleaned_date.value is not None:
                d.set("release_date", cleaned_date.value[0], "metadata/date", meta.get("date"))
                d.set("release_date_precision", cleaned_date.value[1], "metadata/date", meta.get("date"))
        subjects = _list(meta.get("subject"))
        if subjects:
            d.set("genres", dedupe_casefold(subjects), "metadata/subject", meta.get("subject"))
        lang = _first_text(meta.get("language"))
        if lang and (tag := normalize_language(lang)):
            d.set("language", tag, "metadata/language", meta.get("language"))
        url = f"{api}/download/{quote(identifier)}/{quote(name)}"
        d.set("audio_url", url, f"{at}/name", name)
        d.set("audio_url_kind", "full", f"{at}/name", name)
        d.set("mime_type", AUDIO_FORMATS[fmt], f"{at}/format", entry.get("format"))
        size = parse_size(str(entry.get("size") or ""))
        if size is not None:
            d.set("file_size_bytes", size[0], f"{at}/size", entry.get("size"))
            d.set("file_size_approx", False, f"{at}/size", entry.get("size"))
        native = f"{identifier}/{name}"
        d.set("source_native_id", native, at, native)
        d.set("other_ids", [{"scheme": "ia:identifier/file", "value": native}], at, native)
        d.set("canonical_url", f"{api}/details/{quote(identifier)}", "metadata/identifier", identifier)
        licence = _first_text(meta.get("licenseurl"))
        if licence:
            d.add_licence(licence, "metadata/licenseurl", source="api")
        rights = meta.get("rights")
        if isinstance(rights, str) and rights.strip():
            d.add_rights_text(rights, "metadata/rights", source="api")
        if any(c in col for col in collections for c in _78RPM):
            d.warn("ia_78rpm_review")
        out.append((build_recording(d, ctx, native_id=native), native))
    return out


class ArchiveSpider(AudioStep, Spider):
    name = "archive"

    def __init__(self, identifiers: str | None = None, query: str | None = None, api: str = DEFAULT_API,
                 max_items: str | int = 1000, rows: str | int = 100, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parts = urlsplit(api)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"archive spider: api must be an absolute http(s) URL, got {api!r}")
        self.api = api.rstrip("/")
        self.identifiers = [i.strip() for i in (identifiers or "").split(",") if i.strip()]
        self.query = query
        self.max_items = int(max_items)
        self.rows = max(1, min(int(rows), 10000))
        if not self.identifiers and not self.query:
            raise ValueError("archive spider: give -a identifiers=ID[,ID...] or -a query=QUERY")
        self._queued = 0

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.items_config = get_items_config(crawler)
        spider.connect_audio_signals(crawler)
        return spider

    def search_url(self, page: int) -> str:
        params = [("q", self.query or ""), ("fl[]", "identifier"), ("rows", str(self.rows)),
                  ("page", str(page)), ("output", "json")]
        return f"{self.api}/advancedsearch.php?{urlencode(params)}"

    def metadata_request(self, identifier: str) -> Request:
        self._queued += 1
        return Request(f"{self.api}/metadata/{quote(identifier)}", callback=self.parse_metadata)

    async def start(self) -> AsyncIterator[Request]:
        for identifier in self.identifiers[: self.max_items]:
            yield self.metadata_request(identifier)
        if self.query:
            yield Request(self.search_url(1), callback=self.parse_search, cb_kwargs={"page": 1})

    def parse_search(self, response: Response, page: int) -> Iterator[Request]:
        try:
            data = json.loads(response.body)
            docs = data["response"]["docs"]
            found = int(data["response"].get("numFound", 0))
        except (ValueError, KeyError, TypeError):
            logger.warning("Unreadable search answer from %(url)s", {"url": response.url})
            return
        for doc in docs:
            identifier = doc.get("identifier") if isinstance(doc, dict) else None
            if isinstance(identifier, str) and self._queued < self.max_items:
                yield self.metadata_request(identifier)
        if docs and page * self.rows < found and self._queued < self.max_items:
            yield Request(self.search_url(page + 1), callback=self.parse_search, cb_kwargs={"page": page + 1})

    def parse_metadata(self, response: Response) -> Iterator[Any]:
        try:
            data = json.loads(response.body)
        except ValueError:
            logger.warning("Unreadable metadata record %(url)s", {"url": response.url})
            return
        if not isinstance(data, dict):
            return
        ctx = PageContext(
            page_url=response.url,
            fetched_at=datetime.now(timezone.utc),
            http_status=response.status,
            content_type=response.headers.get(b"Content-Type", b"").decode("latin-1") or None,
            body_sha256=hashlib.sha256(response.body).hexdigest(),
            source=SOURCE,
            extractor="archive-api",
        )
        for rec, _native in recordings_from_metadata(data, self.api, ctx):
            yield from self.emit(rec, [], ctx)


__all__ = ["ArchiveSpider", "AUDIO_FORMATS", "recordings_from_metadata"]

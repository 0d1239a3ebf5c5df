"""Open Graph (``og:*``, ``music:*``) and Twitter card (``twitter:*``) meta tags.

Sites write these tags both ways: Spotify puts ``music:*`` in ``name=`` instead of
``property=``, SoundCloud puts ``twitter:*`` in ``property=`` instead of ``name=``. So every
``<meta>`` is read with both attributes, in document order, and repeated properties stay a
list (``music:musician`` twice is two musicians). Structured properties attach to the
preceding root tag: ``music:album:track`` belongs to the ``music:album`` before it, and a new
``music:album`` starts a new object.

Open Graph gives URLs, not names, for albums and musicians, so those land in ``album_url``
and ``artist_ids``. ``og:type`` ``song`` (Bandcamp) and ``music.song`` mean a recording page.
Bandcamp's ``og:title`` is ``"<title>, by <artist>"``; on ``og:type=song`` pages the suffix
is split off. ``og:video`` with an HTML type and ``twitter:player`` are player pages
(``audio_url_kind=embed_page``), never audio; ``twitter:player:stream`` is the media itself.
``og:audio`` is ``preview`` when its path says so, ``full`` otherwise.

Locators are XPath-like: ``meta[@property='og:title'][1]`` (the n-th tag with that key).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from parsel import Selector

from crawler.extract.draft import Draft, canonicalize
from crawler.extract.values import (
    absolute_http_url,
    clean_date,
    clean_duration,
    clean_position,
    normalize_mime,
    normalize_text,
)

OG: Final = "opengraph"
TWITTER: Final = "twitter"
_PREFIXES: Final = ("og:", "music:", "twitter:")
SONG_TYPES: Final = frozenset({"music.song", "song"})
_SOUNDCLOUD_APP_RE: Final = re.compile(r"^soundcloud://sounds:(\d+)$")


@dataclass(frozen=True, slots=True)
class MetaTag:
    """One meta tag: the lower-cased key, its content and a locator."""

    key: str
    value: str
    locator: str


def meta_tags(html: Selector) -> list[MetaTag]:
    """Every ``og:``/``music:``/``twitter:`` meta tag in document order, from ``property=``
    or ``name=`` (whichever carries the key)."""
    out: list[MetaTag] = []
    seen: Counter[tuple[str, str]] = Counter()
    for node in html.xpath("//meta[@property or @name]"):
        attrib = node.attrib
        for attr in ("property", "name"):
            key = (attrib.get(attr) or "").strip().lower()
            if key.startswith(_PREFIXES):
                seen[(attr, key)] += 1
                locator = f"meta[@{attr}='{key}'][{seen[(attr, key)]}]"
                out.append(MetaTag(key, attrib.get("content") or "", locator))
                break
    return out


def og_type(tags: list[MetaTag]) -> str | None:
    for tag in tags:
        if tag.key == "og:type":
            return tag.value.strip().lower() or None
    return None


def _first(tags: list[MetaTag], key: str) -> MetaTag | None:
    return next((t for t in tags if t.key == key and t.value.strip()), None)


def opengraph_draft(tags: list[MetaTag], page_url: str) -> Draft:
    """What the ``og:``/``music:`` tags say about the page's recording."""
    d = Draft(syntax=OG)
    kind = og_type(tags)
    title = _first(tags, "og:title")
    if title is not None:
        text = normalize_text(title.value)
        if text and kind == "song" and ", by " in text:
            name, _, artist = text.rpartition(", by ")
            d.set("title", name.strip(), title.locator, title.value)
            d.set("artist_credit", artist.strip(), title.locator, title.value)
        elif text:
            d.set("title", text, title.locator, title.value)
    url = _first(tags, "og:url")
    if url is not None and (absolute := absolute_http_url(url.value, page_url)):
        d.set("canonical_url", canonicalize(absolute), url.locator, url.value)
        d.values.setdefault("canonical_url_raw", url.value.strip())
    _audio(d, tags, page_url)
    album_open = False
    for tag in tags:
        key, value = tag.key, tag.value.strip()
        if not value:
            continue
        if key == "music:duration":
            cleaned = clean_duration(value)
            if cleaned.value is not None:
                d.set("duration_s", cleaned.value, tag.locator, value)
            else:
                d.reject("duration_s", cleaned.warning or "duration_invalid", tag.locator, value)
        elif key == "music:album":
            album_open = "album_url" not in d.values
            if album_open and (absolute := absolute_http_url(value, page_url)):
                d.set("album_url", absolute, tag.locator, value)
        elif key in ("music:album:track", "music:album:disc") and album_open:
            cleaned = clean_position(value)
            name = "track_number" if key.endswith("track") else "disc_number"
            if cleaned.value is not None:
                d.set(name, cleaned.value, tag.locator, value)
            else:
                d.reject(name, "position_invalid", tag.locator, value)
        elif key == "music:musician":
            if absolute := absolute_http_url(value, page_url):
                d.set("artist_ids", [{"scheme": "url", "id": absolute}], tag.locator, value)
        elif key == "music:release_date":
            cleaned_date = clean_date(value)
            if cleaned_date.value is not None:
                d.set("release_date", cleaned_date.value[0], tag.locator, value)
                d.set("release_date_precision", cleaned_date.value[1], tag.locator, value)
    return d


def _audio(d: Draft, tags: list[MetaTag], page_url: str) -> None:
    for key in ("og:audio:secure_url", "og:audio:url", "og:audio"):
        tag = _first(tags, key)
        if tag is None:
            continue
        url = absolute_http_url(tag.value, page_url)
        if url is None:
            d.reject("audio_url", "audio_url_invalid", tag.locator, tag.value)
            continue
        d.set("audio_url", url, tag.locator, tag.value)
        path = urlsplit(url).path.lower()
        d.set("audio_url_kind", "preview" if "preview" in path else "full", tag.locator, tag.value)
        mime_tag = _first(tags, "og:audio:type")
        if mime_tag is not None and (mime := normalize_mime(mime_tag.value)):
            d.set("mime_type", mime, mime_tag.locator, mime_tag.value)
        return
    video = _first(tags, "og:video") or _first(tags, "og:video:url")
    video_type = _first(tags, "og:video:type")
    if video is not None and (video_type is None or "html" in video_type.value.lower()):
        url = absolute_http_url(video.value, page_url)
        if url is not None:
            d.set("audio_url", url, video.locator, video.value)
            d.set("audio_url_kind", "embed_page", video.locator, video.value)


def twitter_draft(tags: list[MetaTag], page_url: str) -> Draft:
    """What the ``twitter:`` tags say: the player stream, the player page, app ids."""
    d = Draft(syntax=TWITTER)
    title = _first(tags, "twitter:title")
    if title is not None and (text := normalize_text(title.value)):
        d.set("title", text, title.locator, title.value)
    stream = _first(tags, "twitter:player:stream")
    if stream is not None and (url := absolute_http_url(stream.value, page_url)):
        d.set("audio_url", url, stream.locator, stream.value)
        d.set("audio_url_kind", "stream", stream.locator, stream.value)
        ctype = _first(tags, "twitter:player:stream:content_type")
        if ctype is not None and (mime := normalize_mime(ctype.value)):
            d.set("mime_type", mime, ctype.locator, ctype.value)
    player = _first(tags, "twitter:player")
    if player is not None and (url := absolute_http_url(player.value, page_url)):
        d.set("audio_url", url, player.locator, player.value)
        d.set("audio_url_kind", "embed_page", player.locator, player.value)
    for tag in tags:
        if tag.key.startswith("twitter:app:url:") and (m := _SOUNDCLOUD_APP_RE.match(tag.value.strip())):
            d.set("other_ids", [{"scheme": "soundcloud:track", "value": m.group(1)}], tag.locator, tag.value)
    return d


def describes_recording(tags: list[MetaTag]) -> bool:
    """Whether the meta tags alone describe a recording (a song page or an ``og:audio``)."""
    return og_type(tags) in SONG_TYPES or any(t.key.startswith("og:audio") for t in tags)


__all__ = ["OG", "SONG_TYPES", "TWITTER", "MetaTag", "describes_recording", "meta_tags", "og_type",
           "opengraph_draft", "twitter_draft"]

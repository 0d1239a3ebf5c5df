"""RSS 2.0 and Atom feeds (with ``itunes:``, ``podcast:``, ``media:`` extensions) and sitemaps.

Feeds are parsed with lxml, namespace-aware, instead of a general feed library: the
Podcasting 2.0 and Media RSS elements are where licences, people and transcripts live, and
the common library keeps only the last of repeated ``podcast:*`` elements, drops element
text when attributes exist (``<podcast:license url="…">cc-by-4.0</podcast:license>``) and
loses ``media:copyright`` text. Here every element is read as written:

* RSS core: ``title``, ``guid`` (the item's native id), ``link``, ``pubDate``, ``enclosure``
  (URL, length, type), channel ``language``, ``copyright``;
* Apple ``itunes:`` (namespace matched case-insensitively, since feeds use both
  ``…/dtds/podcast-1.0.dtd`` and ``…/DTDs/Podcast-1.0.dtd``): ``author``, ``duration``,
  ``explicit``;
* Podcasting 2.0 ``podcast:``: ``license`` (item, else channel; text is an SPDX-like id, or
  a custom name with a ``url``), every ``person`` (structured artists), every ``transcript``
  (kept as lyrics/transcript URLs), ``medium`` (``music`` feeds are albums of songs);
* Media RSS ``media:``: ``content`` (URL, type, duration, size), ``credit`` (role
  ``composer``, ``performer``, ``lyricist``), ``license``, ``copyright``;
* RSS Creative Commons module ``creativeCommons:license`` and Dublin Core ``dc:rights``;
* Atom: ``entry`` title, id, ``link rel=alternate``/``enclosure``, ``rights``, dates, author.

A channel-level licence applies to an item only when the item has none of its own. XML is
parsed without entity expansion and without network access. Locators are XPaths such as
``/rss/channel/item[2]/enclosure/@url``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final

from crawler.extract.draft import Draft, canonicalize
from crawler.extract.values import (
    absolute_http_url,
    clean_date,
    clean_duration,
    clean_flag,
    normalize_language,
    normalize_mime,
    normalize_text,
    parse_size,
)

logger = logging.getLogger(__name__)

SOURCE: Final = "podcast_feed"
_NS: Final = {
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "https://podcastindex.org/namespace/1.0": "podcast",
    "http://podcastindex.org/namespace/1.0": "podcast",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://backend.userland.com/creativecommonsrssmodule": "cc",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://www.w3.org/2005/atom": "atom",
    "http://www.sitemaps.org/schemas/sitemap/0.9": "sitemap",
}


def _name(el: Any) -> tuple[str, str]:
    """``(namespace short name, local name)``; namespaces compared case-insensitively."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return _NS.get(uri.lower(), uri.lower()), local
    return "", tag


def parse_xml(data: bytes | str) -> Any | None:
    """An lxml root, or ``None`` for anything that is not well-formed XML."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        return etree.fromstring(data.encode("utf-8") if isinstance(data, str) else data, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def kind_of(root: Any) -> str | None:
    """``rss``, ``atom``, ``sitemap``, ``sitemapindex`` or ``None``."""
    if root is None:
        return None
    ns, local = _name(root)
    if local == "rss" or (local == "RDF" and ns not in ("atom",)):
        return "rss"
    if local == "feed" and ns == "atom":
        return "atom"
    if local in ("urlset", "sitemapindex"):
        return "sitemap" if local == "urlset" else "sitemapindex"
    return None


def sitemap_urls(root: Any) -> list[str]:
    """``<loc>`` values of a sitemap or sitemap index, in order."""
    out = []
    for el in root.iter():
        if _name(el)[1] == "loc" and el.text and el.text.strip():
            out.append(el.text.strip())
    return out


def _text(el: Any) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def _children(parent: Any, ns: str, local: str) -> list[Any]:
    return [c for c in parent if _name(c) == (ns, local)]


def _child(parent: Any, ns: str, local: str) -> Any | None:
    found = _children(parent, ns, local)
    return found[0] if found else None


@dataclass(slots=True)
class FeedItem:
    """One feed entry as a draft, with its native id (guid, Atom id, enclosure URL or link)."""

    draft: Draft
    native_id: str | None


class _Feed:
    def __init__(self, root: Any, page_url: str) -> None:
        self.root = root
        self.page_url = page_url
        self.tree = root.getroottree()

    def path(self, el: Any, attr: str | None = None) -> str:
        where = self.tree.getpath(el)
        return f"{where}/@{attr}" if attr else where

    def url(self, value: str | None) -> str | None:
        return absolute_http_url(value, self.page_url) if value else None


def _licence_signals(feed: _Feed, parent: Any, d: Draft) -> bool:
    """Licence elements of an item or channel; True if any was found."""
    found = False
    for el in _children(parent, "podcast", "license"):
        text, url = _text(el), (el.get("url") or "").strip()
        lic = d.add_licence(text, feed.path(el), source="podcast-ns") if text else None
        if lic is None and url:
            d.add_licence(url, feed.path(el, "url"), source="podcast-ns")
        found = found or bool(text or url)
    for el in _children(parent, "media", "license"):
        href = (el.get("href") or "").strip()
        if href:
            d.add_licence(href, feed.path(el, "href"), source="media-rss")
        elif _text(el):
            d.add_licence(_text(el), feed.path(el), source="media-rss")
        found = True
    for el in _children(parent, "cc", "license"):
        if _text(el):
            d.add_licence(_text(el), feed.path(el), source="rss")
            found = True
    for el in _children(parent, "dc", "rights"):
        if _text(el):
            d.add_rights_text(_text(el), feed.path(el), source="rss")
    return found


def _rss_item(feed: _Feed, item: Any, channel: dict[str, Any]) -> FeedItem:
    d = Draft(syntax="rss")
    title = _child(item, "", "title")
    if title is not None and (text := normalize_text(_text(title))):
        d.set("title", text, feed.path(title), _text(title))
    guid = _child(item, "", "guid")
    native = _text(guid) or None
    if guid is not None and native:
        d.set("source_native_id", native, feed.path(guid), native)
    link = _child(item, "", "link")
    if link is not None and (url := feed.url(_text(link))):
        d.set("canonical_url", canonicalize(url), feed.path(link), _text(link))
        d.values.setdefault("canonical_url_raw", _text(link))
    date = _child(item, "", "pubDate")
    if date is not None and _text(date):
        try:
            iso = parsedate_to_datetime(_text(date)).date().isoformat()
        except (TypeError, ValueError, IndexError):
            iso = _text(date)
        cleaned = clean_date(iso)
        if cleaned.value is not None:
            d.set("release_date", cleaned.value[0], feed.path(date), _text(date))
            d.set("release_date_precision", cleaned.value[1], feed.path(date), _text(date))
    for enc in _children(item, "", "enclosure"):
        url = feed.url(enc.get("url"))
        if url is None:
            continue
        d.set("audio_url", url, feed.path(enc, "url"), enc.get("url"))
        d.set("audio_url_kind", "full", feed.path(enc, "url"), enc.get("url"))
        if (mime := normalize_mime(enc.get("type"))) is not None:
            d.set("mime_type", mime, feed.path(enc, "type"), enc.get("type"))
        size = parse_size(enc.get("length") or "")
        if size is not None:
            d.set("file_size_bytes", size[0], feed.path(enc, "length"), enc.get("length"))
            d.set("file_size_approx", size[1], feed.path(enc, "length"), enc.get("length"))
        native = native or url
        break
    _itunes(feed, item, d)
    _podcast(feed, item, d)
    _media(feed, item, d)
    if not _licence_signals(feed, item, d):
        for lic in channel["licences"]:
            d.licences.append(lic)
    for key in ("language", "copyright_notice", "album_title", "artist_credit"):
        if key not in d.values and channel.get(key):
            value, locator = channel[key]
            d.set(key, value, locator, value)
    for lic in channel["rights"]:
        d.licences.append(lic)
    if native is None and "canonical_url" in d.values:
        native = d.values["canonical_url"]
    return FeedItem(d, native)


def _itunes(feed: _Feed, item: Any, d: Draft) -> None:
    author = _child(item, "itunes", "author")
    if author is not None and (text := normalize_text(_text(author))):
        d.set("artist_credit", text, feed.path(author), _text(author))
    duration = _child(item, "itunes", "duration")
    if duration is not None and _text(duration):
        cleaned = clean_duration(_text(duration))
        if cleaned.value is not None:
            d.set("duration_s", cleaned.value, feed.path(duration), _text(duration))
        else:
            d.reject("duration_s", cleaned.warning or "duration_invalid", feed.path(duration), _text(duration))
    explicit = _child(item, "itunes", "explicit")
    if explicit is not None and (flag := clean_flag(_text(explicit))) is not None:
        d.set("explicit", flag, feed.path(explicit), _text(explicit))


def _podcast(feed: _Feed, item: Any, d: Draft) -> None:
    people = [(el, normalize_text(_text(el))) for el in _children(item, "podcast", "person")]
    names = [name for _, name in people if name]
    if names:
        d.set("artists", names, feed.path(people[0][0].getparent()) + "/podcast:person",
              [_text(el) for el, _ in people], syntax="podcast-ns")
    for el in _children(item, "podcast", "transcript"):
        url = feed.url(el.get("url"))
        if url:
            d.set("lyrics_urls", [url], feed.path(el, "url"), el.get("url"), syntax="podcast-ns")


def _media(feed: _Feed, item: Any, d: Draft) -> None:
    contents = _children(item, "media", "content")
    for group in _children(item, "media", "group"):
        contents += _children(group, "media", "content")
    for el in contents:
        url = feed.url(el.get("url"))
        if url is None:
            continue
        d.set("audio_url", url, feed.path(el, "url"), el.get("url"), syntax="media-rss")
        d.set("audio_url_kind", "full", feed.path(el, "url"), el.get("url"), syntax="media-rss")
        if (mime := normalize_mime(el.get("type"))) is not None:
            d.set("mime_type", mime, feed.path(el, "type"), el.get("type"), syntax="media-rss")
        if el.get("duration"):
            cleaned = clean_duration(el.get("duration"))
            if cleaned.value is not None:
                d.set("duration_s", cleaned.value, feed.path(el, "duration"), el.get("duration"), syntax="media-rss")
        size = parse_size(el.get("fileSize") or "")
        if size is not None:
            d.set("file_size_bytes", size[0], feed.path(el, "fileSize"), el.get("fileSize"), syntax="media-rss")
        break
    for el in _children(item, "media", "credit"):
        role = (el.get("role") or "").strip().lower()
        name = normalize_text(_text(el))
        if not name:
            continue
        target = {"composer": "composers", "lyricist": "lyricists", "performer": "artist_credit",
                  "artist": "artist_credit"}.get(role)
        if target:
            d.set(target, [name] if target.endswith("s") else name, feed.path(el), _text(el), syntax="media-rss")
    for el in _children(item, "media", "copyright"):
        if _text(el):
            d.set("copyright_notice", normalize_text(_text(el)), feed.path(el), _text(el), syntax="media-rss")
            d.add_rights_text(_text(el), feed.path(el), source="media-rss")


def _channel_facts(feed: _Feed, channel: Any) -> dict[str, Any]:
    scratch = Draft(syntax="rss")
    facts: dict[str, Any] = {"licences": [], "rights": []}
    if _licence_signals(feed, channel, scratch):
        facts["licences"] = scratch.licences[:]
    lang = _child(channel, "", "language")
    if lang is not None and (tag := normalize_language(_text(lang))):
        facts["language"] = (tag, feed.path(lang))
    copyright_el = _child(channel, "", "copyright")
    if copyright_el is not None and _text(copyright_el):
        facts["copyright_notice"] = (normalize_text(_text(copyright_el)), feed.path(copyright_el))
        rights = Draft(syntax="rss")
        rights.add_rights_text(_text(copyright_el), feed.path(copyright_el))
        facts["rights"] = rights.licences
    medium = _child(channel, "podcast", "medium")
    title = _child(channel, "", "title")
    if medium is not None and _text(medium).lower() == "music" and title is not None and _text(title):
        facts["album_title"] = (normalize_text(_text(title)), feed.path(title))
    author = _child(channel, "itunes", "author")
    if author is not None and _text(author):
        facts["artist_credit"] = (normalize_text(_text(author)), feed.path(author))
    return facts


def _atom_entry(feed: _Feed, entry: Any) -> FeedItem:
    d = Draft(syntax="rss")
    title = _child(entry, "atom", "title")
    if title is not None and (text := normalize_text(_text(title))):
        d.set("title", text, feed.path(title), _text(title))
    ident = _child(entry, "atom", "id")
    native = _text(ident) or None
    for link in _children(entry, "atom", "link"):
        rel = (link.get("rel") or "alternate").lower()
        url = feed.url(link.get("href"))
        if url is None:
            continue
        if rel == "alternate" and "canonical_url" not in d.values:
            d.set("canonical_url", canonicalize(url), feed.path(link, "href"), link.get("href"))
        elif rel == "enclosure" and "audio_url" not in d.values:
            d.set("audio_url", url, feed.path(link, "href"), link.get("href"))
            d.set("audio_url_kind", "full", feed.path(link, "href"), link.get("href"))
            if (mime := normalize_mime(link.get("type"))) is not None:
                d.set("mime_type", mime, feed.path(link, "type"), link.get("type"))
            size = parse_size(link.get("length") or "")
            if size is not None:
                d.set("file_size_bytes", size[0], feed.path(link, "length"), link.get("length"))
        elif rel == "license":
            d.add_licence(link.get("href"), feed.path(link, "href"), source="rss")
    for key in ("published", "updated"):
        el = _child(entry, "atom", key)
        if el is not None and (cleaned := clean_date(_text(el))).value is not None:
            d.set("release_date", cleaned.value[0], feed.path(el), _text(el))
            d.set("release_date_precision", cleaned.value[1], feed.path(el), _text(el))
            break
    author = _child(entry, "atom", "author")
    name = _child(author, "atom", "name") if author is not None else None
    if name is not None and (text := normalize_text(_text(name))):
        d.set("artist_credit", text, feed.path(name), _text(name))
    rights = _child(entry, "atom", "rights")
    if rights is not None and _text(rights):
        d.add_rights_text(_text(rights), feed.path(rights))
        if not d.licences:
            d.add_licence(_text(rights), feed.path(rights))
    _itunes(feed, entry, d)
    _podcast(feed, entry, d)
    _media(feed, entry, d)
    _licence_signals(feed, entry, d)
    return FeedItem(d, native or d.values.get("audio_url") or d.values.get("canonical_url"))


def feed_items(root: Any, page_url: str) -> list[FeedItem]:
    """One :class:`FeedItem` per RSS ``item`` or Atom ``entry`` that carries audio (an
    enclosure or ``media:content``); text-only entries are posts, not recordings."""
    kind = kind_of(root)
    feed = _Feed(root, page_url)
    out: list[FeedItem] = []
    if kind == "rss":
        for channel in (el for el in root.iter() if _name(el) == ("", "channel")):
            facts = _channel_facts(feed, channel)
            out += [_rss_item(feed, item, facts) for item in _children(channel, "", "item")]
        if not out:  # RSS 1.0: items are siblings of the channel
            facts = {"licences": [], "rights": []}
            out += [_rss_item(feed, item, facts) for item in root.iter() if _name(item)[1] == "item"]
    elif kind == "atom":
        out += [_atom_entry(feed, entry) for entry in _children(root, "atom", "entry")]
    return [i for i in out if i.draft.values.get("audio_url")]


__all__ = ["SOURCE", "FeedItem", "feed_items", "kind_of", "parse_xml", "sitemap_urls"]

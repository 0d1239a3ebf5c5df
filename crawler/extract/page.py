"""One HTML page → recordings and lyrics, from every syntax the page uses.

The page is parsed once (the response's cached selector), then each extractor reads it:
JSON-LD, microdata, RDFa, Open Graph, Twitter cards, ``<audio>`` elements, ``rel=license``
links (with CC REL attribution), a ``#license`` block, ``<link rel=canonical>`` and lyrics
markup. Their drafts are combined in signal order:

1. structured recordings: JSON-LD first; a microdata or RDFa recording that matches one
   (same canonical URL, same ISRC or same title) is merged into it, otherwise it is a
   recording of its own;
2. no structured recording, but the meta tags describe one (``og:type`` ``song`` or
   ``music.song``, or an ``og:audio``): the Open Graph draft is the recording;
3. page-level signals (Open Graph, Twitter, ``<audio>``, ``rel=license``, the ``#license``
   text, ``rel=canonical``, lyrics markup) apply only when the page describes exactly one
   recording — on a page listing several tracks, nobody can say which track they describe.

Item ids follow the JSON-LD rule (:func:`crawler.extract.jsonld.native_ids`). The function
never raises on page content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.draft import Draft, LyricsDraft, PageContext, build_recording, canonicalize, merge
from crawler.extract.jsonld import jsonld_drafts, native_ids, to_selector
from crawler.extract.lyrics import html_fragment_text
from crawler.extract.lyricsitems import build_lyrics
from crawler.extract.microdata import microdata_drafts
from crawler.extract.opengraph import describes_recording, meta_tags, opengraph_draft, twitter_draft
from crawler.extract.rdfa import licence_links, rdfa_drafts
from crawler.extract.values import absolute_http_url, normalize_mime, normalize_text
from crawler.items import Lyrics, Recording

logger = logging.getLogger(__name__)

EXTRACTOR: Final = "page"
#: Elements whose text is lyrics, most specific first.
_LYRICS_XPATHS: Final = (
    "//*[@data-lyrics-container='true']",
    "//*[@itemprop='lyrics' and not(@itemscope)]",
    "//*[@itemprop='lyrics' and @itemscope]//*[@itemprop='text']",
    "//*[@id='lyrics']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' lyricsText ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' lyrics ')]",
)
_FEED_TYPES: Final = ("application/rss+xml", "application/atom+xml", "application/rss", "text/xml")


@dataclass(slots=True)
class PageResult:
    """Items of one page, links to feeds it announces, and page-level warning codes."""

    recordings: list[Recording] = field(default_factory=list)
    #: Lyrics drafts that belong to each recording (same order as ``recordings``).
    recording_lyrics: list[list[LyricsDraft]] = field(default_factory=list)
    #: Lyrics found on the page that no single recording claims.
    lyrics: list[Lyrics] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _base_url(sel: Selector, page_url: str) -> str:
    href = sel.xpath("//base/@href").get()
    if href:
        try:
            return urljoin(page_url, href.strip())
        except ValueError:
            pass
    return page_url


def _key(draft: Draft) -> set[tuple[str, str]]:
    keys = set()
    for name in ("canonical_url", "isrc"):
        if draft.values.get(name):
            keys.add((name, str(draft.values[name])))
    if draft.values.get("title"):
        keys.add(("title", str(draft.values["title"]).casefold()))
    return keys


def _combine_structured(groups: list[list[Draft]]) -> list[list[Draft]]:
    """Group drafts of several syntaxes that describe the same recording."""
    combined: list[list[Draft]] = []
    for drafts in groups:
        for draft in drafts:
            keys = _key(draft)
            for group in combined:
                if keys & set().union(*(_key(d) for d in group)) and all(d.syntax != draft.syntax for d in group):
                    group.append(draft)
                    break
            else:
                combined.append([draft])
    return combined


def _audio_elements(sel: Selector, page_url: str) -> Draft:
    d = Draft(syntax="html")
    for el in sel.xpath("//audio"):
        candidates = [(el, el.attrib.get("src"), el.attrib.get("type"))]
        candidates += [(s, s.attrib.get("src"), s.attrib.get("type")) for s in el.xpath(".//source")]
        for node, src, mime in candidates:
            url = absolute_http_url(src, page_url) if src else None
            if url is None:
                continue
            locator = _xpath_of(node) + "/@src"
            d.set("audio_url", url, locator, src)
            d.set("audio_url_kind", "full", locator, src)
            if (m := normalize_mime(mime)) is not None:
                d.set("mime_type", m, locator, mime)
            return d
    return d


def _xpath_of(sel: Selector) -> str:
    root = sel.root
    try:
        return root.getroottree().getpath(root)
    except AttributeError:
        return "//audio"


def _page_licences(sel: Selector, page_url: str, base: str) -> Draft:
    d = Draft(syntax="rel-license")
    for link in licence_links(sel, base):
        d.add_licence(link.url, link.locator, source="rel-license")
        if link.attribution:
            d.set("attribution_text", link.attribution, link.locator, link.attribution)
    for block in sel.xpath("//*[@id='license' or contains(concat(' ', normalize-space(@class), ' '), ' license ')]"):
        text = normalize_text(" ".join(block.xpath(".//text()").getall()))
        if text:
            d.add_rights_text(text, _xpath_of(block), source="html-text")
    return d


def _canonical_link(sel: Selector, page_url: str) -> Draft:
    d = Draft(syntax="html")
    for node in sel.xpath("//link[@href]"):
        if "canonical" in (node.attrib.get("rel") or "").lower().split():
            raw = node.attrib["href"]
            url = absolute_http_url(raw, page_url)
            if url:
                d.set("canonical_url", canonicalize(url), _xpath_of(node) + "/@href", raw)
                d.values["canonical_url_raw"] = raw.strip()
                break
    return d


def page_lyrics(sel: Selector, page_url: str) -> list[LyricsDraft]:
    """Lyrics in page markup (Genius-style containers joined in order, or the first other
    recognised container)."""
    for xpath in _LYRICS_XPATHS:
        nodes = sel.xpath(xpath)
        if not nodes:
            continue
        texts = [html_fragment_text(n.root) for n in nodes]
        text = "\n".join(t.strip("\n") for t in texts if t.strip())
        if not text.strip():
            continue
        raw = "".join(n.get() for n in nodes)
        return [LyricsDraft(text=text, format="html", syntax="html-text", locator=xpath, raw=raw,
                            lyrics_page_url=page_url, with_recording=False)]
    return []


def feed_links(sel: Selector, page_url: str) -> list[str]:
    """Feeds the page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    out = []
    for node in sel.xpath("//link[@href and @type]"):
        rel = (node.attrib.get("rel") or "").lower().split()
        if "alternate" in rel and node.attrib.get("type", "").split(";")[0].strip().lower() in _FEED_TYPES:
            url = absolute_http_url(node.attrib["href"], page_url)
            if url and url not in out:
                out.append(url)
    return out


def extract_page(html: str | bytes | Selector, ctx: PageContext) -> PageResult:
    """Recordings and lyrics of one HTML page (see the module docstring)."""
    result = PageResult()
    try:
        _extract(to_selector(html), ctx, result)
    except Exception:  # a bug here must not stop the crawl; the page yields nothing
        logger.error("Page extraction failed on %(url)s", {"url": ctx.page_url}, exc_info=True)
        result.recordings.clear()
        result.recording_lyrics.clear()
        result.lyrics.clear()
        result.warnings.append("page-extractor-error")
    return result


def _extract(sel: Selector, ctx: PageContext, result: PageResult) -> None:
    page_url = ctx.page_url
    base = _base_url(sel, page_url)
    warnings: list[str] = []
    jsonld, loose_lyrics = jsonld_drafts(sel, page_url, warnings)
    result.warnings.extend(warnings)
    groups = _combine_structured([jsonld, microdata_drafts(sel, page_url, base), rdfa_drafts(sel, page_url, base)])
    tags = meta_tags(sel)
    og, tw = opengraph_draft(tags, page_url), twitter_draft(tags, page_url)
    if not groups and describes_recording(tags) and og.values.get("title"):
        groups = [[og]]
        og = Draft(syntax=og.syntax)
    markup_lyrics = page_lyrics(sel, page_url)
    result.feeds = feed_links(sel, base)
    drafts: list[Draft] = []
    for group in groups:
        drafts.append(merge(group))
    if len(drafts) == 1:
        page_level = [og, tw, _audio_elements(sel, base), _page_licences(sel, page_url, base)]
        merged = merge([drafts[0], *page_level])
        canonical = _canonical_link(sel, page_url)
        if canonical.values:
            merged.values["canonical_url"] = canonical.values["canonical_url"]
            merged.values["canonical_url_raw"] = canonical.values["canonical_url_raw"]
            merged.sources.extend(canonical.sources)
        # Lyrics in the page markup are page text: a page-level licence is theirs (it never
        # makes their text storable, see crawler.extract.lyrics.storage_basis).
        page_licences = [c for c in merged.licences if c.source == "rel-license"]
        for lyr in markup_lyrics:
            lyr.licence = lyr.licence or (page_licences[0] if page_licences else None)
        merged.lyrics.extend(markup_lyrics)
        # Compositions on a one-recording page describe that recording's song (Apple puts the
        # recording inside the composition's "audio"); their licence is not assumed to be
        # the recording's.
        for lyr in loose_lyrics:
            lyr.with_recording = False
        merged.lyrics.extend(loose_lyrics)
        loose_lyrics = []
        drafts = [merged]
    else:
        loose_lyrics = [*loose_lyrics, *markup_lyrics]
    ids = native_ids(drafts, page_url)
    for draft, native in zip(drafts, ids):
        rec = build_recording(draft, ctx, native_id=native)
        rec.source_native_id = None
        result.recordings.append(rec)
        result.recording_lyrics.append(list(draft.lyrics))
    for lyr in loose_lyrics:
        lyr.with_recording = False
        item = build_lyrics(lyr, ctx, None)
        if item is not None:
            result.lyrics.append(item)


__all__ = ["EXTRACTOR", "PageResult", "extract_page", "feed_links", "page_lyrics"]

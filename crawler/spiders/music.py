"""The ``music`` spider: crawls seed sites, their feeds and sitemaps; yields recordings and lyrics.

    scrapy crawl music -a urls=https://a.example/,https://b.example/
    scrapy crawl music -a urls_file=seeds.txt

It follows links within the registrable domains of its seeds (the bundled public-suffix
list, never a download), up to ``DEPTH_LIMIT`` hops, including feeds a page announces with
``<link rel="alternate" type="application/rss+xml">``. A response is read by what it is:

* HTML → :func:`crawler.extract.page.extract_page` (JSON-LD, microdata, RDFa, Open Graph,
  Twitter cards, ``<audio>``, ``rel=license``, lyrics markup);
* an RSS/Atom feed → one recording per item (:mod:`crawler.extract.feeds`);
* a sitemap or sitemap index → its in-scope ``<loc>`` URLs are followed.

A recording that names an audio file is emitted only after its audio URL went through the
gate (:mod:`crawler.spiders.audiostep`). Every request passes the policy gate; the spider
itself holds no policy. Parsing lives in plain functions (:mod:`crawler.extract`), so the
spider stays a thin loop.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.extract.draft import PageContext, build_recording, canonicalize, merge
from crawler.extract.feeds import SOURCE as FEED_SOURCE
from crawler.extract.feeds import feed_items, kind_of, parse_xml, sitemap_urls
from crawler.extract.page import extract_page
from crawler.policy.domains import registrable_domain
from crawler.spiders.audiostep import AudioStep
from pipelines.items_config import get_items_config

logger = logging.getLogger(__name__)

_SCHEMES = ("http", "https")


def parse_seeds(urls: str | None = None, urls_file: str | None = None) -> list[str]:
    """Seed URLs from a comma-separated list and/or a file (one URL per line, # comments).

    Raises ValueError with a message a user can act on; never guesses a scheme.
    """
    seeds: list[str] = []
    if urls:
        seeds += [u.strip() for u in urls.split(",") if u.strip()]
    if urls_file:
        path = Path(urls_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"urls_file: cannot read {path}: {exc.strerror}") from None
        seeds += [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not seeds:
        raise ValueError("music spider: give seed URLs with -a urls=URL[,URL...] or -a urls_file=PATH")
    for url in seeds:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"music spider: not an absolute http(s) URL: {url!r}")
    return list(dict.fromkeys(seeds))


class MusicSpider(AudioStep, Spider):
    name = "music"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> MusicSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.items_config = get_items_config(crawler)
        spider.connect_audio_signals(crawler)
        return spider

    def __init__(self, urls: str | None = None, urls_file: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seeds = parse_seeds(urls, urls_file)
        self.domains = frozenset(registrable_domain(urlsplit(u).hostname or "") for u in self.seeds)
        # Scrapy's offsite middleware keeps redirects inside the same scope.
        self.allowed_domains = sorted(self.domains)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.seeds:
            yield Request(url, callback=self.parse)

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in _SCHEMES and registrable_domain(parts.hostname or "") in self.domains

    def _context(self, response: Response, source: str, extractor: str) -> PageContext:
        return PageContext(
            page_url=response.url,
            fetched_at=datetime.now(timezone.utc),
            http_status=response.status,
            content_type=response.headers.get(b"Content-Type", b"").decode("latin-1") or None,
            body_sha256=hashlib.sha256(response.body).hexdigest(),
            source=source,
            extractor=extractor,
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if isinstance(response, HtmlResponse):
            yield from self.parse_html(response)
        elif isinstance(response, TextResponse) or response.body.lstrip()[:1] == b"<":
            yield from self.parse_xml(response)

    def parse_html(self, response: HtmlResponse) -> Iterator[Any]:
        ctx = self._context(response, "generic_web", "page")
        result = extract_page(response.selector, ctx)
        if result.warnings:
            logger.debug("Extraction warnings on %(url)s: %(w)s", {"url": response.url, "w": result.warnings})
        for rec, lyrics in zip(result.recordings, result.recording_lyrics):
            yield from self.emit(rec, lyrics, ctx)
        yield from result.lyrics
        for url in result.feeds:
            if self.in_scope(url):
                yield Request(url, callback=self.parse)
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if self.in_scope(url):
                yield Request(url, callback=self.parse)

    def parse_xml(self, response: Response) -> Iterator[Any]:
        root = parse_xml(response.body)
        kind = kind_of(root)
        if kind in ("sitemap", "sitemapindex"):
            for url in sitemap_urls(root):
                if self.in_scope(url):
                    yield Request(url, callback=self.parse)
            return
        if kind not in ("rss", "atom"):
            return
        ctx = self._context(response, FEED_SOURCE, "feed")
        feed_url = canonicalize(response.url)
        for entry in feed_items(root, response.url):
            native = entry.native_id or feed_url
            if not native.startswith(("http://", "https://")):
                native = f"{feed_url}#{native}"
            rec = build_recording(merge([entry.draft]), ctx, native_id=native)
            if "canonical_url" not in entry.draft.values:
                rec.canonical_url = None  # an item without <link> has no page of its own
            yield from self.emit(rec, list(entry.draft.lyrics), ctx)

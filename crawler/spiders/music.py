"""The ``music`` spider: crawls seed sites and yields schema.org recordings.

    scrapy crawl music -a urls=https://a.example/,https://b.example/
    scrapy crawl music -a urls_file=seeds.txt

It follows links within the registrable domains of its seeds (the bundled public-suffix
list, never a download), up to ``DEPTH_LIMIT`` hops. Every request it makes passes the
policy gate; the spider itself holds no policy. Parsing lives in plain functions
(:mod:`crawler.extract`), so the spider stays a thin loop.
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
from scrapy.http import HtmlResponse, Response

from crawler.extract.jsonld import extract_recordings
from crawler.policy.domains import registrable_domain

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


class MusicSpider(Spider):
    name = "music"

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

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, HtmlResponse):
            return
        result = extract_recordings(
            response.text,
            response.url,
            fetched_at=datetime.now(timezone.utc),
            http_status=response.status,
            body_sha256=hashlib.sha256(response.body).hexdigest(),
        )
        if result.warnings:
            logger.debug("Extraction warnings on %(url)s: %(w)s", {"url": response.url, "w": result.warnings})
        yield from result.recordings
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if self.in_scope(url):
                yield Request(url, callback=self.parse)

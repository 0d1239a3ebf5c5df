"""The benchmark web: a generated set of music-label hosts, the same bytes every run.

Each host ``label-NNN.test`` serves ``pages`` recording pages ``/tracks/NNNN.html``, a
``/robots.txt`` of about 2 KB and a ``/.well-known/tdmrep.json``. The files are written to
be *typical*, not adversarial, and so that a polite crawler and plain Scrapy crawl the same
pages:

* every page carries one schema.org ``MusicRecording`` in JSON-LD (title, artist, album,
  duration, ISRC, a CC BY licence; no audio file, so a page is one request), ``<head>`` meta elements
  (description, ``robots: index, follow``), about 2 KB of prose, 18 links to other pages of
  its host (``+1..+9`` and ``+10..+90`` modulo ``pages``, so every page is at most two hops
  from any other) and one link into ``/private/``;
* robots.txt disallows ``/private/`` for everyone and, in groups for AI-training tokens,
  ``/private/`` and ``/drafts/`` only: heed matches those groups on every URL (the work it
  adds) without refusing the pages plain Scrapy fetches;
* tdmrep.json reserves ``/private/`` and explicitly does not reserve ``/tracks/``.

So both crawlers fetch every page and neither fetches ``/private/``. Hosts are separate
registrable domains (``.test`` is not a public suffix; the last two labels count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

#: Link offsets from page i: every page is reachable from any other in at most two hops.
LINK_OFFSETS: tuple[int, ...] = (*range(1, 10), *range(10, 100, 10))

_PROSE = (
    "Recorded over three nights in a converted boathouse, this track leans on tape echo, "
    "a borrowed upright piano and a rhythm section that never quite agrees on the tempo. "
    "The label's notes credit the mix to whoever was awake at four in the morning. "
)

_AI_TOKENS = ("GPTBot", "CCBot", "Google-Extended", "anthropic-ai", "ClaudeBot", "Bytespider",
              "PerplexityBot", "Meta-ExternalAgent", "Amazonbot", "Applebot-Extended")


def host_name(index: int) -> str:
    return f"label-{index:03d}.test"


def page_path(index: int) -> str:
    return f"/tracks/{index:04d}.html"


@dataclass(frozen=True, slots=True)
class BenchSite:
    """The shape of the web: how many hosts, pages per host, and the port it is served on."""

    hosts: int
    pages: int
    port: int = 0

    @property
    def total_pages(self) -> int:
        return self.hosts * self.pages

    def host_names(self) -> list[str]:
        return [host_name(i) for i in range(self.hosts)]

    def seeds(self) -> list[str]:
        """One seed per host: its first page."""
        return [f"http://{h}:{self.port}{page_path(0)}" for h in self.host_names()]

    def resolve_map(self) -> dict[str, str]:
        return {h: "127.0.0.1" for h in self.host_names()}

    def urls(self) -> Iterator[tuple[str, str]]:
        """``(host, path)`` of every page, host by host."""
        for h in self.host_names():
            for i in range(self.pages):
                yield h, page_path(i)

    # -- content -------------------------------------------------------------------------

    def robots_txt(self, host: str) -> bytes:
        lines = [
            f"# robots.txt for {host}",
            "# Catalogue pages are open to crawlers; drafts and private areas are not.",
            "",
            "User-agent: *",
            "Disallow: /private/",
            "Disallow: /search",
            "Disallow: /*?session=",
            "Disallow: /cart/",
            "Allow: /tracks/",
            "Allow: /",
            "",
        ]
        for token in _AI_TOKENS:
            lines.append(f"User-agent: {token}")
        lines += ["Disallow: /private/", "Disallow: /drafts/", "Disallow: /*/download$", ""]
        lines += [
            "User-agent: Googlebot",
            "User-agent: Bingbot",
            "Disallow: /private/",
            "Allow: /",
            "",
        ]
        lines += [f"# catalogue section {n}: /tracks/ pages list releases by year" for n in range(20)]
        lines += ["", f"Sitemap: http://{host}/sitemap.xml", ""]
        return "\n".join(lines).encode("utf-8")

    def tdmrep_json(self, host: str) -> bytes:
        rules = [
            {"location": "/private/", "tdm-reservation": 1, "tdm-policy": f"http://{host}/tdm-policy.json"},
            {"location": "/tracks/", "tdm-reservation": 0},
        ]
        return json.dumps(rules, indent=2).encode("utf-8")

    def page_html(self, host_index: int, index: int) -> bytes:
        host = host_name(host_index)
        label = f"Label {host_index:03d}"
        title = f"Track {index:04d}"
        recording = {
            "@context": "https://schema.org",
            "@type": "MusicRecording",
            "@id": "#recording",
            "name": title,
            "duration": f"PT{3 + index % 4}M{index % 60:02d}S",
            "isrcCode": f"QZ{host_index % 100:02d}A{(index // 1000) % 100:02d}{index % 100000:05d}",
            "byArtist": {"@type": "MusicGroup", "name": f"Artist {host_index:03d}-{index % 17:02d}"},
            "inAlbum": {"@type": "MusicAlbum", "name": f"Album {index // 10:03d}"},
            "license": "https://creativecommons.org/licenses/by/4.0/",
        }
        links = "\n".join(
            f'  <li><a href="{page_path((index + off) % self.pages)}">Track {(index + off) % self.pages:04d}</a></li>'
            for off in LINK_OFFSETS
            if (index + off) % self.pages != index
        )
        prose = "\n".join(f"<p>{_PROSE}</p>" for _ in range(4))
        html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} | {label}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{title}, released on {label}.">
<meta name="robots" content="index, follow">
<link rel="canonical" href="http://{host}{page_path(index)}">
<script type="application/ld+json">
{json.dumps(recording, indent=2)}
</script>
</head>
<body>
<header><a href="{page_path(0)}">{label}</a></header>
<main>
<h1>{title}</h1>
{prose}
<h2>More from {label}</h2>
<ul>
{links}
  <li><a href="/private/{index:04d}.html">Unreleased take</a></li>
</ul>
</main>
<footer><p>&copy; {label}</p></footer>
</body>
</html>
"""
        return html.encode("utf-8")


__all__ = ["LINK_OFFSETS", "BenchSite", "host_name", "page_path"]

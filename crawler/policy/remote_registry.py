"""Spawning's Do-Not-Train registry, asked by URL: the pure half of an optional adapter.

Artists register works they do not want trained on with Spawning; its API answers, for a
list of URLs, which ones are opted out. The API is a POST of newline-separated URLs (at most
10,000 a request, ``Content-Type: text/plain``, ``Authorization: API <key>``) answered with
``{"urls": [{"url": "...", "optOut": true|false}, ...]}``.

This module builds the request body and reads the answer; sending it (through Scrapy, with
retries on 429/5xx) is the gate's job, so no network code lives here. The known reference
client skips the check silently when no key is configured — it fails open. heed does not:

=========================================  =====================================
situation                                  finding for each URL
=========================================  =====================================
``optOut: true``                           deny ``registry.remote:spawning``
``optOut: false``                          allow
no key configured                          hold ``registry.remote.unconfigured``
non-200 answer, network error              hold ``registry.remote.unreachable:<status>``
body not JSON / not the expected shape     hold ``registry.remote.unreachable:malformed-...``
URL missing from the answer                hold ``registry.remote.unreachable:missing-url``
=========================================  =====================================

A URL listed twice with different answers is denied (the most restrictive answer wins).
Whether the registry is consulted at all is a deployment choice: when it is, could-not-ask
is never an allow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from crawler.policy.decision import ALLOW, DENY, HOLD, Evidence, Finding

logger = logging.getLogger(__name__)

#: Where the API lives (the gate may be configured with another endpoint).
DEFAULT_ENDPOINT: Final = "https://opts-api.spawningaiapi.com/api/v2/query/urls/"
#: URLs per request, as the API allows.
MAX_URLS_PER_QUERY: Final = 10_000
SOURCE: Final = "spawning"


def request_headers(api_key: str) -> dict[str, str]:
    """Headers of a query (the key is sent as ``Authorization: API <key>``)."""
    return {"Content-Type": "text/plain", "Authorization": f"API {api_key}"}


def build_query(urls: Iterable[str]) -> bytes:
    """The request body: the URLs, one per line, UTF-8.

    A URL containing a line break cannot be asked about (it would become two URLs):
    :class:`ValueError`. Callers split larger lists with :func:`batches`.
    """
    lines = []
    for url in urls:
        if "\n" in url or "\r" in url:
            raise ValueError(f"URL contains a line break: {url!r}")
        lines.append(url)
    if len(lines) > MAX_URLS_PER_QUERY:
        raise ValueError(f"{len(lines)} URLs in one query; at most {MAX_URLS_PER_QUERY}")
    return "\n".join(lines).encode("utf-8")


def batches(urls: Iterable[str], size: int = MAX_URLS_PER_QUERY) -> Iterator[tuple[str, ...]]:
    """Split URLs into query-sized batches, without repeats, in order."""
    if not 0 < size <= MAX_URLS_PER_QUERY:
        raise ValueError(f"batch size must be 1..{MAX_URLS_PER_QUERY}, not {size}")
    batch: list[str] = []
    for url in dict.fromkeys(urls):
        batch.append(url)
        if len(batch) == size:
            yield tuple(batch)
            batch = []
    if batch:
        yield tuple(batch)


def _hold(detail: str, ev: tuple[Evidence, ...]) -> Finding:
    return Finding(
        verdict=HOLD,
        reasons=(f"registry.remote.unreachable:{detail}",),
        evidence=ev,
        rules=(f"{SOURCE} registry: {detail}",),
    )


def parse_answer(
    status: int | None,
    body: bytes,
    urls: Sequence[str],
    *,
    evidence: Evidence | None = None,
) -> dict[str, Finding]:
    """A finding for every URL asked about, from the API's answer.

    ``status`` is the HTTP status (None when no answer arrived); ``urls`` are the URLs that
    were sent. Never raises.
    """
    ev = (evidence,) if evidence is not None else ()
    if status != 200:
        detail = "no-response" if status is None else str(status)
        return {url: _hold(detail, ev) for url in urls}
    try:
        data: Any = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {url: _hold("malformed-json", ev) for url in urls}
    entries = data.get("urls") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {url: _hold("malformed-answer", ev) for url in urls}
    answers: dict[str, list[object]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            answers.setdefault(entry["url"], []).append(entry.get("optOut"))
    results: dict[str, Finding] = {}
    for url in urls:
        said = answers.get(url)
        if said is None:
            results[url] = _hold("missing-url", ev)
        elif any(v is True for v in said):
            results[url] = Finding(
                verdict=DENY,
                reasons=(f"registry.remote:{SOURCE}",),
                evidence=ev,
                rules=(f"{SOURCE} registry: optOut=true",),
                signals=(("registry.remote", f"{SOURCE} optOut=true"),),
            )
        elif all(v is False for v in said):
            results[url] = Finding(
                verdict=ALLOW,
                evidence=ev,
                rules=(f"{SOURCE} registry: optOut=false",),
                signals=(("registry.remote", f"{SOURCE} optOut=false"),),
            )
        else:
            results[url] = _hold("malformed-entry", ev)
    return results


def unconfigured_finding(url: str) -> Finding:
    """The finding when the registry is to be consulted but no key is configured: hold."""
    del url  # same answer for every URL; the argument keeps the call shape of the others
    return Finding(
        verdict=HOLD,
        reasons=("registry.remote.unconfigured",),
        rules=(f"{SOURCE} registry enabled without an API key",),
    )


__all__ = [
    "DEFAULT_ENDPOINT",
    "MAX_URLS_PER_QUERY",
    "SOURCE",
    "batches",
    "build_query",
    "parse_answer",
    "request_headers",
    "unconfigured_finding",
]

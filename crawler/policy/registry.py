"""Curated registries of rights holders' reservations.

Some reservations are not published on the site at all: a label's or a collecting society's
declaration (Sony Music's of May 2024 is the best known) covers its domains, hosts and
catalogue wherever they appear. heed reads such declarations from versioned CSV files so the
list is reviewable, diffable and hashed into every run's policy:

    id,holder,scope,value,source_url,declared_on

``scope`` is one of

* ``domain`` — a domain and all its subdomains (``label.test`` covers ``www.label.test``);
* ``host`` — exactly that host;
* ``url-prefix`` — every URL that starts with the value (http and https alike; host compared
  case-insensitively, the path case-sensitively, both in percent-encoding normal form);
* ``party``, ``isrc-prefix``, ``iswc`` — identifiers for item checks (a label or publisher
  name, an ISRC prefix, a work code); they never match URLs.

A malformed file stops the crawl with ``file:line: ...``: silently skipping an entry would
crawl exactly what a rights holder asked us not to. Lookup tables are built once at load
time, because :meth:`Registry.url_finding` runs on every request.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from crawler.policy.decision import CLEAR, DENY, HOLD, Evidence, Finding
from crawler.policy.domains import is_ip, is_public_suffix, normalize_host
from crawler.policy.patterns import normalize_path

logger = logging.getLogger(__name__)

HEADER: Final = ("id", "holder", "scope", "value", "source_url", "declared_on")
URL_SCOPES: Final = ("domain", "host", "url-prefix")
ITEM_SCOPES: Final = ("party", "isrc-prefix", "iswc")
SCOPES: Final = URL_SCOPES + ITEM_SCOPES

_REASON: Final = {
    "domain": "registry.domain",
    "host": "registry.host",
    "url-prefix": "registry.url",
}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LABEL: Final = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_RE: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_ISRC_PREFIX_RE: Final = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{0,7}$")
_ISWC_RE: Final = re.compile(r"^T[0-9]{10}$")
_IDENT_JUNK: Final = re.compile(r"[\s\-.\u2010-\u2015\u2212]+")
_LEGAL_FORMS: Final = frozenset(
    {"ag", "bv", "co", "corp", "corporation", "gmbh", "inc", "kg", "llc", "llp", "ltd",
     "limited", "plc", "sa", "sarl", "sas", "srl"}
)


def normalize_isrc(value: str) -> str:
    """ISRC (or ISRC prefix) in compact form: upper-case, no ``ISRC`` label, no separators."""
    text = value.strip().upper()
    if text.startswith("ISRC"):
        text = text[4:].lstrip(":").strip()
    return _IDENT_JUNK.sub("", text)


def normalize_iswc(value: str) -> str:
    """ISWC in compact form: ``T-034.524.680-1`` → ``T0345246801``."""
    text = value.strip().upper()
    if text.startswith("ISWC"):
        text = text[4:].lstrip(":").strip()
    return _IDENT_JUNK.sub("", text)


def normalize_party(name: str) -> str:
    """A party name for comparison: NFKC, case-folded, ℗/© and punctuation removed,
    trailing legal forms (Inc, LLC, Ltd, GmbH, S.A., …) dropped; words such as "Records"
    or "Music" are kept."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"[℗©]|\((?:p|c)\)", " ", text).replace(".", "")
    words = re.sub(r"[^\w]+", " ", text).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One declaration, with the file and line it was read from."""

    id: str
    holder: str
    scope: str
    value: str
    source_url: str
    declared_on: str
    file: str
    line: int

    def describe(self) -> str:
        where = f"{Path(self.file).name}:{self.line}"
        return f"registry {where} {self.scope}={self.value} (id {self.id})"


def _prefix_host_key(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    """Lookup key of a ``url-prefix`` entry: host and non-default port, not the scheme.

    A rights holder who lists ``https://site/reserved/`` reserves the content, which the
    same site usually serves over http too: the scheme is left out so both are covered
    (the restrictive reading).
    """
    scheme = scheme.lower()
    if port is not None and port == _DEFAULT_PORTS.get(scheme):
        port = None
    return "http(s)", normalize_host(host), port


def _url_prefix_key(value: str) -> tuple[tuple[str, str, int | None], str]:
    """(origin key, normalised path prefix) of a ``url-prefix`` value; ValueError if bad."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("url-prefix value must be an absolute http(s) URL")
    prefix = parts.path or "/"
    if parts.query:
        prefix = f"{prefix}?{parts.query}"
    return _prefix_host_key(parts.scheme, parts.hostname, parts.port), normalize_path(prefix)


def _item_key(scope: str, value: str) -> str:
    if scope == "party":
        return normalize_party(value)
    if scope == "isrc-prefix":
        return normalize_isrc(value)
    return normalize_iswc(value)


def _check_value(scope: str, value: str) -> str | None:
    """Why a value is not acceptable for its scope, or None."""
    if scope in ("domain", "host"):
        if "/" in value or "://" in value or " " in value:
            return f"{scope} value must be a bare host name, got {value!r}"
        host = normalize_host(value)
        if not (is_ip(host) or _HOST_RE.match(host)):
            return f"{scope} value is not a host name: {value!r}"
        if scope == "domain":
            if is_ip(host):
                return f"domain value is an IP address, use scope host: {value!r}"
            if "." not in host or is_public_suffix(host):
                return f"domain value is a public suffix, not a domain: {value!r}"
        return None
    if scope == "url-prefix":
        try:
            _url_prefix_key(value)
        except ValueError as exc:
            return str(exc)
        return None
    key = _item_key(scope, value)
    if scope == "party" and not key:
        return f"party value has no letters or digits: {value!r}"
    if scope == "isrc-prefix" and not _ISRC_PREFIX_RE.match(key):
        return f"isrc-prefix must be a country and a registrant code (GB-AYE), got {value!r}"
    if scope == "iswc" and not _ISWC_RE.match(key):
        return f"iswc must look like T-034.524.680-1, got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class Registry:
    """All loaded entries, with lookup tables for URL checks and item checks."""

    entries: tuple[RegistryEntry, ...]
    #: (path, sha256 of the file's bytes) for every file loaded
    sources: tuple[tuple[str, str], ...] = ()
    _hosts: Mapping[str, tuple[RegistryEntry, ...]] = field(init=False, repr=False, compare=False)
    _domains: Mapping[str, tuple[RegistryEntry, ...]] = field(init=False, repr=False, compare=False)
    _prefixes: Mapping[tuple[str, str, int | None], tuple[tuple[str, RegistryEntry], ...]] = field(
        init=False, repr=False, compare=False
    )
    _items: Mapping[tuple[str, str], tuple[RegistryEntry, ...]] = field(
        init=False, repr=False, compare=False
    )
    _digests: Mapping[str, str] = field(init=False, repr=False, compare=False)
    #: ``scheme://authority`` -> (domain and host entries, url-prefix candidates): every URL
    #: of a host asks the same two questions, so they are answered once per host.
    _by_authority: Callable[[str], tuple[tuple[RegistryEntry, ...], tuple[tuple[str, RegistryEntry], ...]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        hosts: dict[str, list[RegistryEntry]] = {}
        domains: dict[str, list[RegistryEntry]] = {}
        prefixes: dict[tuple[str, str, int | None], list[tuple[str, RegistryEntry]]] = {}
        items: dict[tuple[str, str], list[RegistryEntry]] = {}
        for e in self.entries:
            if e.scope == "host":
                hosts.setdefault(normalize_host(e.value), []).append(e)
            elif e.scope == "domain":
                domains.setdefault(normalize_host(e.value), []).append(e)
            elif e.scope == "url-prefix":
                origin, prefix = _url_prefix_key(e.value)
                prefixes.setdefault(origin, []).append((prefix, e))
            else:
                items.setdefault((e.scope, _item_key(e.scope, e.value)), []).append(e)
        freeze = object.__setattr__
        freeze(self, "_hosts", {k: tuple(v) for k, v in hosts.items()})
        freeze(self, "_domains", {k: tuple(v) for k, v in domains.items()})
        freeze(self, "_prefixes", {k: tuple(v) for k, v in prefixes.items()})
        freeze(self, "_items", {k: tuple(v) for k, v in items.items()})
        freeze(self, "_digests", dict(self.sources))
        freeze(self, "_by_authority", lru_cache(maxsize=8192)(self._authority_entries))

    def _authority_entries(
        self, authority: str
    ) -> tuple[tuple[RegistryEntry, ...], tuple[tuple[str, RegistryEntry], ...]]:
        parts = urlsplit(authority)
        hostname = parts.hostname or ""
        host = normalize_host(hostname)
        found: list[RegistryEntry] = []
        if self._domains and host:
            labels = host.split(".")
            for i in range(len(labels)):
                found.extend(self._domains.get(".".join(labels[i:]), ()))
        found.extend(self._hosts.get(host, ()))
        candidates: tuple[tuple[str, RegistryEntry], ...] = ()
        if self._prefixes:
            candidates = self._prefixes.get(_prefix_host_key(parts.scheme, hostname, parts.port), ())
        return tuple(found), candidates

    @classmethod
    def empty(cls) -> Registry:
        return cls(entries=(), sources=())

    @classmethod
    def load(cls, paths: Sequence[str | Path] | str | Path) -> Registry:
        """Read registry CSV files; ValueError ``"file:line: ..."`` on any malformed entry."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        entries: list[RegistryEntry] = []
        sources: list[tuple[str, str]] = []
        seen: dict[str, RegistryEntry] = {}
        for path in paths:
            name = str(path)
            data = Path(path).read_bytes()
            sources.append((name, hashlib.sha256(data).hexdigest()))
            for entry in _read_file(name, data):
                if entry.id in seen:
                    first = seen[entry.id]
                    raise ValueError(
                        f"{name}:{entry.line}: duplicate id {entry.id!r} "
                        f"(first at {first.file}:{first.line})"
                    )
                seen[entry.id] = entry
                entries.append(entry)
        registry = cls(entries=tuple(entries), sources=tuple(sources))
        logger.info(
            "loaded %d registry entries from %d file(s)", len(registry.entries), len(sources)
        )
        return registry

    def __len__(self) -> int:
        return len(self.entries)

    def by_scope(self, scope: str) -> tuple[RegistryEntry, ...]:
        return tuple(e for e in self.entries if e.scope == scope)

    def url_entries(self, url: str) -> tuple[RegistryEntry, ...]:
        """Every ``domain``, ``host`` and ``url-prefix`` entry that covers the URL.

        ValueError if the URL cannot be parsed.
        """
        start = url.find("//")
        end = start + 2 if start >= 0 else 0
        while end < len(url) and url[end] not in "/?#":
            end += 1
        entries, candidates = self._by_authority(url[:end])
        if not candidates:
            return entries
        path = normalize_path(url)
        return tuple(dict.fromkeys([*entries, *(e for prefix, e in candidates if path.startswith(prefix))]))

    def url_finding(self, url: str) -> Finding:
        """Deny a URL any ``domain``/``host``/``url-prefix`` entry covers; CLEAR otherwise."""
        if not self.entries:
            return CLEAR
        try:
            matched = self.url_entries(url)
        except ValueError:
            # Could not check is never allow; such a URL is not fetchable anyway.
            return Finding(verdict=HOLD, reasons=("registry:bad-url",))
        if not matched:
            return CLEAR
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(f"{_REASON[e.scope]}:{e.id}" for e in matched)),
            evidence=tuple(
                dict.fromkeys(
                    Evidence(kind="registry", url=e.file, sha256=self._digests.get(e.file, ""))
                    for e in matched
                )
            ),
            rules=tuple(e.describe() for e in matched),
            signals=_holder_signals(matched),
        )

    def item_entries(self, scope: str, value: str) -> tuple[RegistryEntry, ...]:
        """Entries of an item scope that cover an identifier.

        ``party``: the normalised name equals the entry's; ``isrc-prefix``: the (full) ISRC
        starts with the entry's prefix; ``iswc``: same work code.
        """
        if scope not in ITEM_SCOPES:
            raise ValueError(f"not an item scope: {scope!r}")
        key = _item_key(scope, value)
        if not key:
            return ()
        if scope != "isrc-prefix":
            return self._items.get((scope, key), ())
        found: list[RegistryEntry] = []
        for n in range(5, len(key) + 1):
            found.extend(self._items.get((scope, key[:n]), ()))
        return tuple(found)

    def item_finding(self, scope: str, value: str) -> Finding:
        """Deny with ``registry.<scope>:<id>`` for every item entry that covers the value."""
        matched = self.item_entries(scope, value)
        if not matched:
            return CLEAR
        family = "registry.isrc" if scope == "isrc-prefix" else f"registry.{scope}"
        return Finding(
            verdict=DENY,
            reasons=tuple(f"{family}:{e.id}" for e in matched),
            evidence=tuple(
                dict.fromkeys(
                    Evidence(kind="registry", url=e.file, sha256=self._digests.get(e.file, ""))
                    for e in matched
                )
            ),
            rules=tuple(e.describe() for e in matched),
            signals=_holder_signals(matched),
        )


def _holder_signals(matched: Sequence[RegistryEntry]) -> tuple[tuple[str, str], ...]:
    pairs = (
        pair
        for e in matched
        for pair in (("registry-holder", e.holder), ("registry-source", e.source_url))
        if pair[1]
    )
    return tuple(dict.fromkeys(pairs))


def _read_file(name: str, data: bytes) -> list[RegistryEntry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"{name}:{line}: not valid UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    entries: list[RegistryEntry] = []
    try:
        header = next(reader, None)
        if header is None or tuple(c.strip() for c in header) != HEADER:
            raise ValueError(
                f"{name}:1: header must be exactly {','.join(HEADER)!r}, got "
                f"{','.join(header or [])!r}"
            )
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            entries.append(_entry(name, line, row))
    except csv.Error as exc:
        raise ValueError(f"{name}:{reader.line_num}: {exc}") from None
    return entries


def _entry(name: str, line: int, row: list[str]) -> RegistryEntry:
    where = f"{name}:{line}"
    if len(row) != len(HEADER):
        raise ValueError(f"{where}: expected {len(HEADER)} columns, got {len(row)}")
    ident, holder, scope, value, source_url, declared_on = (c.strip() for c in row)
    if not ident:
        raise ValueError(f"{where}: empty id")
    if not holder:
        raise ValueError(f"{where}: empty holder (id {ident})")
    if scope not in SCOPES:
        raise ValueError(f"{where}: unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    if not value:
        raise ValueError(f"{where}: empty value (id {ident})")
    problem = _check_value(scope, value)
    if problem:
        raise ValueError(f"{where}: {problem} (id {ident})")
    if source_url and urlsplit(source_url).scheme.lower() not in ("http", "https"):
        raise ValueError(f"{where}: source_url must be an http(s) URL, got {source_url!r}")
    if declared_on:
        try:
            date.fromisoformat(declared_on)
        except ValueError:
            raise ValueError(
                f"{where}: declared_on must be a date (YYYY-MM-DD), got {declared_on!r}"
            ) from None
    return RegistryEntry(
        id=ident,
        holder=holder,
        scope=scope,
        value=value,
        source_url=source_url,
        declared_on=declared_on,
        file=name,
        line=line,
    )


__all__ = [
    "HEADER",
    "ITEM_SCOPES",
    "SCOPES",
    "URL_SCOPES",
    "Registry",
    "RegistryEntry",
    "normalize_isrc",
    "normalize_iswc",
    "normalize_party",
]

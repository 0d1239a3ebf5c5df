"""RSL (Really Simple Licensing): licence documents a site points to, and what they allow.

A site announces RSL terms with a global ``License: <URL>`` line in robots.txt (any number,
outside or inside groups), a ``Link: <URL>; rel="license"; type="application/rsl+xml"``
response header, or the same as an HTML ``<link>``. Crawlers must fetch the document and
comply *before* using the content. The document is XML in the namespace
``https://rslstandard.org/rsl``: ``<content url="..." server="...">`` elements, each with
``<license>`` elements holding ``<permits type="usage|user|geo">``,
``<prohibits type="...">`` and ``<payment type="...">``.

This module only parses and decides; the gate fetches. Decision rules (heed builds training
data, so only training matters):

=============================================================  ===========================
the matching ``<content>``                                      finding
=============================================================  ===========================
a licence prohibits ``ai-train``, ``ai-all``, ``all`` (``tdm``)  deny ``rsl:prohibits-<use>``
has ``server=`` (a licence server: heed holds no licence)        deny ``rsl.license-required``
no licence whose permits include ``ai-train``/``ai-all``/``all``  deny ``rsl.not-granted``
only paid licences (``payment`` other than free/attribution)     deny ``rsl.license-required``
a free licence that permits training, no server                  allow (attribution recorded)
no ``<content>`` matches the URL                                 strict: deny ``rsl.not-covered``
=============================================================  ===========================

Every matching ``<content>`` element is evaluated and the most restrictive answer wins (the
specification's precedence between overlapping elements was not available; this reading
cannot wrongly allow). A licence without ``<permits type="usage">`` permits nothing
explicitly: strict mode reads that as not granted, lenient mode as granted unless prohibited.
In strict mode ``user`` or ``geo`` restrictions also withhold the grant (heed cannot tell
whether its users or location qualify).

Could not check: a licence document that cannot be fetched, is not XML, is not RSL or has no
``<content>`` element → hold ``rsl.unreachable:<detail>`` (never allow). A document served
after a ``Link`` header is pending until fetched (hold ``rsl.pending``). A ``401``/``402``
answer with ``WWW-Authenticate: License ...`` confirms that a licence is required.

XML is parsed with :mod:`defusedxml` when it is installed (Scrapy depends on it) and with the
standard library otherwise; either way a document with a DTD is refused, so entity
expansion and external entities never happen, and nothing is ever fetched by the parser.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from crawler.policy.decision import ALLOW, DENY, HOLD, Evidence, Finding
from crawler.policy.fetchresult import FetchResult, classify
from crawler.policy.patterns import PathPattern, compile_pattern, normalize_path
from crawler.policy.robots import RobotsTxt

try:  # pragma: no branch - which one depends on the environment
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring as _safe_fromstring

    _XML_ERRORS: tuple[type[BaseException], ...] = (DefusedXmlException,)
except ImportError:  # pragma: no cover - defusedxml ships with Scrapy
    _safe_fromstring = None
    _XML_ERRORS = ()

import xml.etree.ElementTree as ET  # noqa: E402  (only for ParseError and the fallback)

logger = logging.getLogger(__name__)

NAMESPACE: Final = "https://rslstandard.org/rsl"
MEDIA_TYPE: Final = "application/rsl+xml"
#: Largest licence document parsed; a larger one is "too-large" (hold).
MAX_DOCUMENT_BYTES: Final = 2_000_000

#: Usage tokens whose prohibition reserves training (``tdm`` is from early drafts).
RESERVING_USES: Final = frozenset({"all", "ai-all", "ai-train", "tdm"})
#: Usage tokens whose permission covers training.
TRAINING_USES: Final = frozenset({"all", "ai-all", "ai-train"})
#: Payment types that do not need a licence from anyone.
FREE_PAYMENTS: Final = frozenset({"free", "attribution"})

_DTD: Final = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_SPLIT: Final = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class RslLicense:
    """One ``<license>`` element."""

    #: usage tokens permitted / prohibited (lower-case); None when no such element exists
    permits: frozenset[str] | None
    prohibits: frozenset[str]
    #: payment types (lower-case), in document order
    payments: tuple[str, ...] = ()
    #: ``user``/``geo`` (and other non-usage) terms: (("permits", "user", "non-commercial"),)
    other_terms: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RslContent:
    """One ``<content>`` element."""

    index: int
    url: str
    server: str | None
    licenses: tuple[RslLicense, ...]
    #: (scheme, host, port) when ``url`` is absolute, else None (any host)
    origin: tuple[str, str, int] | None = field(default=None, compare=False)
    pattern: PathPattern = field(default=compile_pattern("/"), repr=False, compare=False)

    def describe(self) -> str:
        server = f" server={self.server}" if self.server else ""
        return f"rsl content[{self.index}] url={self.url}{server}"

    def matches(self, url: str) -> bool:
        if self.origin is not None and _origin(url) not in (None, self.origin):
            return False
        return self.pattern.matches(normalize_path(url))


@dataclass(frozen=True, slots=True)
class RslDocument:
    """A parsed RSL document; ``invalid`` names why it could not be used (then no contents)."""

    contents: tuple[RslContent, ...]
    base_url: str = ""
    invalid: str | None = None


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    if not scheme or not host:
        return None
    return scheme, host, port


def _local(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an element tag; comments and PIs give ("", "")."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _is_rsl_ns(ns: str) -> bool:
    return ns == "" or ns.rstrip("/").lower() in (NAMESPACE, "http://rslstandard.org/rsl")


def _tokens(text: str | None) -> frozenset[str]:
    return frozenset(t.lower() for t in _SPLIT.split(text or "") if t)


class _Refused(Exception):
    """A document heed will not hand to an XML parser (it declares a DTD or entities)."""


def _parse_xml(body: bytes) -> Any:
    if _DTD.search(body):
        raise _Refused("dtd")
    if _safe_fromstring is not None:
        return _safe_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return ET.fromstring(body)  # pragma: no cover - DTDs were refused above


def _license(element: Any) -> RslLicense:
    permits: set[str] | None = None
    prohibits: set[str] = set()
    payments: list[str] = []
    other: list[tuple[str, str, str]] = []
    for child in element.iter():
        ns, name = _local(child.tag)
        if not _is_rsl_ns(ns):
            continue
        kind = (child.get("type") or "usage").strip().lower()
        if name in ("permits", "prohibits"):
            values = _tokens(child.text)
            if kind != "usage":
                other.extend((name, kind, v) for v in sorted(values))
            elif name == "permits":
                permits = (permits or set()) | values
            else:
                prohibits |= values
        elif name == "payment":
            payments.append(kind)
    return RslLicense(
        permits=frozenset(permits) if permits is not None else None,
        prohibits=frozenset(prohibits),
        payments=tuple(payments),
        other_terms=tuple(other),
    )


def _content(index: int, element: Any, base_url: str) -> RslContent | None:
    url = (element.get("url") or "").strip()
    if not url:
        return None
    server = (element.get("server") or "").strip() or None
    licenses = tuple(
        _license(child)
        for child in element
        if _local(child.tag)[1] == "license" and _is_rsl_ns(_local(child.tag)[0])
    )
    origin = None
    pattern_text = url
    if re.match(r"(?i)https?://", url):
        origin = _origin(url)
        try:
            parts = urlsplit(url)
            pattern_text = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        except ValueError:
            pattern_text = "/"
    elif not url.startswith(("/", "*")):
        pattern_text = "/" + url
    if server is not None and base_url:
        server = urljoin(base_url, server)
    return RslContent(index, url, server, licenses, origin, compile_pattern(pattern_text))


@functools.lru_cache(maxsize=64)
def parse_rsl(body: bytes, base_url: str = "") -> RslDocument:
    """Parse an RSL document. Never raises; an unusable document has ``invalid`` set.

    ``base_url`` is where the document came from (relative ``server`` URLs resolve against it).
    Memoised: an origin's licences are decided on for every one of its URLs, and the result
    is frozen (the bytes object's hash is computed once).
    """
    if len(body) > MAX_DOCUMENT_BYTES:
        return RslDocument((), base_url, "too-large")
    try:
        root = _parse_xml(body)
    except (_Refused, *_XML_ERRORS):
        return RslDocument((), base_url, "dtd")
    except (ET.ParseError, ValueError, LookupError, UnicodeError, RecursionError):
        # LookupError: an unknown encoding in the XML declaration
        return RslDocument((), base_url, "not-xml")
    ns, name = _local(root.tag)
    if name != "rsl" or not _is_rsl_ns(ns):
        return RslDocument((), base_url, "not-rsl")
    contents: list[RslContent] = []
    skipped = 0
    for element in root.iter():
        ens, ename = _local(element.tag)
        if ename != "content" or not _is_rsl_ns(ens):
            continue
        content = _content(len(contents) + skipped, element, base_url)
        if content is None:
            skipped += 1
            continue
        contents.append(content)
    if not contents:
        return RslDocument((), base_url, "no-content")
    return RslDocument(tuple(contents), base_url)


# --- decisions ------------------------------------------------------------------------------


def _license_answer(lic: RslLicense, *, strict: bool) -> tuple[bool, str | None, str]:
    """(granted, reason if not, description) for one licence."""
    desc = (
        f"permits={','.join(sorted(lic.permits)) if lic.permits is not None else '(none)'}"
        f" prohibits={','.join(sorted(lic.prohibits)) or '(none)'}"
        f" payment={','.join(lic.payments) or '(none)'}"
    )
    if lic.permits is not None and not lic.permits & TRAINING_USES:
        return False, "rsl.not-granted", desc
    if lic.permits is None and strict:
        return False, "rsl.not-granted", desc
    if any(p not in FREE_PAYMENTS for p in lic.payments):
        return False, "rsl.license-required", desc
    if strict:
        for verb, kind, _value in lic.other_terms:
            if kind in ("user", "geo"):
                return False, f"rsl.restricted:{kind}", desc
    return True, None, desc


def _content_answer(
    content: RslContent, *, strict: bool
) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
    """(verdict, reasons, rules, signals) for one matching content element."""
    rule = content.describe()
    signals: list[tuple[str, str]] = []
    for lic in content.licenses:
        signals.extend(("rsl-payment", p) for p in lic.payments)
        signals.extend(("rsl-term", f"{v} {k}={x}") for v, k, x in lic.other_terms)
    prohibited = sorted({u for lic in content.licenses for u in lic.prohibits & RESERVING_USES})
    if prohibited:
        rules = [
            f"{rule} license[{i}] prohibits={','.join(sorted(lic.prohibits))}"
            for i, lic in enumerate(content.licenses)
            if lic.prohibits & RESERVING_USES
        ]
        return DENY, [f"rsl:prohibits-{u}" for u in prohibited], rules, signals
    if content.server is not None:
        signals.append(("rsl-server", content.server))
        return DENY, ["rsl.license-required"], [rule], signals
    if not content.licenses:
        if strict:
            return DENY, ["rsl.not-granted"], [f"{rule} (no licence)"], signals
        return ALLOW, [], [rule], signals
    refusals: list[str] = []
    rules: list[str] = []
    for i, lic in enumerate(content.licenses):
        granted, reason, desc = _license_answer(lic, strict=strict)
        if granted:
            if "attribution" in lic.payments:
                signals.append(("rsl-attribution", "required"))
            return ALLOW, [], [f"{rule} license[{i}] {desc}"], signals
        refusals.append(reason or "rsl.not-granted")
        rules.append(f"{rule} license[{i}] {desc}")
    return DENY, refusals, rules, signals


def document_finding(
    doc: RslDocument, url: str, *, strict: bool, evidence: Evidence | None = None
) -> Finding:
    """What an RSL document says about using ``url`` for training."""
    ev = (evidence,) if evidence is not None else ()
    if doc.invalid is not None:
        return Finding(
            verdict=HOLD,
            reasons=(f"rsl.unreachable:{doc.invalid}",),
            evidence=ev,
            rules=(f"rsl document {doc.base_url} unusable: {doc.invalid}",),
            signals=(("rsl-invalid", doc.invalid),),
        )
    matching = [c for c in doc.contents if c.matches(url)]
    if not matching:
        rule = f"rsl document {doc.base_url}: no content element covers the URL"
        if strict:
            return Finding(verdict=DENY, reasons=("rsl.not-covered",), evidence=ev, rules=(rule,))
        return Finding(verdict=ALLOW, evidence=ev, rules=(rule,), signals=(("rsl", "not-covered"),))
    reasons: list[str] = []
    deny_rules: list[str] = []
    allow_rules: list[str] = []
    signals: list[tuple[str, str]] = []
    for content in matching:
        verdict, why, rules, sig = _content_answer(content, strict=strict)
        signals.extend(sig)
        if verdict == DENY:
            reasons.extend(why)
            deny_rules.extend(rules)
        else:
            allow_rules.extend(rules)
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(dict.fromkeys(deny_rules)),
            signals=signals_t,
        )
    return Finding(verdict=ALLOW, evidence=ev, rules=tuple(allow_rules), signals=signals_t)


def fetch_finding(result: FetchResult) -> Finding | None:
    """Hold when a licence document could not be fetched; None when there is a body to parse.

    Every non-2xx answer holds (a 404 for a licence the site names is not "no licence").
    """
    state, detail = classify(result)
    if state == "ok":
        return None
    return Finding(
        verdict=HOLD,
        reasons=(f"rsl.unreachable:{detail}",),
        evidence=(Evidence(kind="rsl", url=result.url, sha256=result.sha256),),
        rules=(f"rsl document {result.url}: {state} ({detail})",),
    )


def result_finding(result: FetchResult, url: str, *, strict: bool) -> Finding:
    """:func:`fetch_finding`, then :func:`parse_rsl` and :func:`document_finding` in one step."""
    held = fetch_finding(result)
    if held is not None:
        return held
    evidence = Evidence(kind="rsl", url=result.url, sha256=result.sha256)
    doc = parse_rsl(result.body, result.url)
    return document_finding(doc, url, strict=strict, evidence=evidence)


def license_urls(robots: RobotsTxt, base_url: str | None = None) -> tuple[str, ...]:
    """The licence document URLs named by ``License:`` lines, in file order, without repeats.

    Relative values resolve against ``base_url`` (the robots.txt URL) when it is given.
    Values that are not http(s) URLs are left out (logged).
    """
    urls: list[str] = []
    for line, value in robots.records("license"):
        candidate = urljoin(base_url, value) if base_url else value
        if re.match(r"(?i)https?://[^\s/]", candidate) and not re.search(r"\s", candidate):
            urls.append(candidate)
        else:
            logger.debug("robots.txt:%d License value %r is not a URL; ignored", line, value)
    return tuple(dict.fromkeys(urls))


def unread(urls: Iterable[str], reason: str, *, now: float = 0.0) -> tuple[FetchResult, ...]:
    """Stand-ins for licence documents that were named but not read (beyond the number heed
    reads per origin): each holds like an unreachable licence, never counts as "no licence"."""
    return tuple(FetchResult(url=u, status=None, kind="rsl", error=reason, fetched_at=now) for u in urls)


# --- Link header and authentication challenges --------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a ``Link`` header or an HTML ``<link>`` element."""

    target: str
    rel: tuple[str, ...]
    type: str = ""


def _link_values(value: str) -> Iterable[str]:
    """Split one header line at commas outside ``<...>`` and quoted strings."""
    depth = False
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        char = value[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "<":
            depth = True
        elif char == ">":
            depth = False
        elif char == "," and not depth:
            yield value[start:i]
            start = i + 1
        i += 1
    yield value[start:]


_PARAM: Final = re.compile(r'\s*;\s*([^\s=;,]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,]*))?')


def parse_link_header(values: Sequence[str]) -> tuple[Link, ...]:
    """Every link in ``Link`` header lines (RFC 8288); malformed links are skipped."""
    links: list[Link] = []
    for line in values:
        for part in _link_values(line):
            part = part.strip()
            if not part.startswith("<") or ">" not in part:
                continue
            target, rest = part[1:].split(">", 1)
            params: dict[str, str] = {}
            for m in _PARAM.finditer(rest):
                name = m.group(1).lower()
                raw = (m.group(2) or "").strip()
                if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                params.setdefault(name, raw)
            links.append(
                Link(
                    target=target.strip(),
                    rel=tuple(r.lower() for r in params.get("rel", "").split()),
                    type=params.get("type", "").split(";", 1)[0].strip().lower(),
                )
            )
    return tuple(links)


def links_finding(
    links: Iterable[Link], base_url: str = ""
) -> tuple[tuple[str, ...], Finding]:
    """The RSL documents named by ``rel="license"`` links, and a finding until they are read.

    Links of type ``application/rsl+xml`` are returned (resolved against ``base_url``) and
    the finding holds (``rsl.pending``) until the caller has fetched and evaluated them.
    Licence links of other types (a Creative Commons page) are recorded only.
    """
    urls: list[str] = []
    signals: list[tuple[str, str]] = []
    for link in links:
        if "license" not in link.rel:
            continue
        target = urljoin(base_url, link.target) if base_url else link.target
        if link.type == MEDIA_TYPE:
            urls.append(target)
            signals.append(("rsl-link", target))
        else:
            signals.append(("license-link", f"{target} type={link.type or '(none)'}"))
    found = tuple(dict.fromkeys(urls))
    if found:
        return found, Finding(
            verdict=HOLD,
            reasons=("rsl.pending",),
            rules=tuple(f"link rel=license type={MEDIA_TYPE}: {u}" for u in found),
            signals=tuple(dict.fromkeys(signals)),
        )
    return found, Finding(verdict=ALLOW, signals=tuple(dict.fromkeys(signals)))


def link_header_finding(
    values: Sequence[str], base_url: str = ""
) -> tuple[tuple[str, ...], Finding]:
    """:func:`links_finding` for the ``Link`` header lines of a response."""
    return links_finding(parse_link_header(values), base_url)


_LICENSE_CHALLENGE: Final = re.compile(r"(?:^|,)\s*license(?=$|[\s,])", re.IGNORECASE)
_ERROR_PARAM: Final = re.compile(r'error\s*=\s*"?([^",\s]*)', re.IGNORECASE)


def auth_finding(status: int, www_authenticate: Sequence[str]) -> Finding:
    """A ``401``/``402`` with a ``License`` challenge: the content needs a licence (deny)."""
    if status not in (401, 402):
        return Finding(verdict=ALLOW)
    for value in www_authenticate:
        if _LICENSE_CHALLENGE.search(value):
            error = _ERROR_PARAM.search(value)
            signals: tuple[tuple[str, str], ...] = (("www-authenticate", value),)
            if error is not None and error.group(1):
                signals += (("rsl-error", error.group(1)),)
            return Finding(
                verdict=DENY,
                reasons=("rsl.license-required",),
                rules=(f"HTTP {status} WWW-Authenticate: {value}",),
                signals=signals,
            )
    return Finding(verdict=ALLOW, signals=tuple(("www-authenticate", v) for v in www_authenticate))


__all__ = [
    "FREE_PAYMENTS",
    "MEDIA_TYPE",
    "NAMESPACE",
    "RESERVING_USES",
    "TRAINING_USES",
    "Link",
    "RslContent",
    "RslDocument",
    "RslLicense",
    "auth_finding",
    "document_finding",
    "fetch_finding",
    "license_urls",
    "link_header_finding",
    "links_finding",
    "parse_link_header",
    "parse_rsl",
    "result_finding",
]

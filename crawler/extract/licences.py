"""Licence URLs and tokens normalised to SPDX ids, with family, flags and a status.

A licensed corpus is only as good as its licence column, and licence signals come in every
shape: Creative Commons URLs with ``deed.pt_BR`` or ``?ref=chooser-v1`` tails, the 1.0-era
``by-nd-nc`` element order, jurisdiction ports, podcast ``<podcast:license>`` tokens in any
case, SoundCloud's unversioned vocabulary, Commons short names (``CC BY-SA 4.0``), and plain
"All rights reserved" notices. Everything is mapped to one :class:`Licence` value:

* ``spdx``: an SPDX id when SPDX lists it, else ``LicenseRef-<same>``, or ``NOASSERTION``
  for all-rights-reserved and unrecognised licence URLs;
* ``family`` (``cc``, ``cc0``, ``cc-pdm``, ``cc-pddc``, ``cc-sampling``, ``lal``,
  ``public-domain``, ``all-rights-reserved``, ``custom``), ``version``, ``jurisdiction``;
* ``flags`` (``by``, ``sa``, ``nc``, ``nd``) for Creative Commons licences;
* ``status``: ``open`` (no NC, no ND), ``open_noncommercial`` (NC, with or without ND),
  ``open_noderivatives`` (ND without NC), ``public_domain``, ``all_rights_reserved``,
  ``custom``, ``unknown`` or ``conflicting``.

"Available for free" and "no licence found" are both ``unknown``, never open.

:func:`resolve` picks the winning licence among all candidates of an item: the first valid
one in signal order (API, item-level structured data, feed, embedded tags, platform
vocabulary, page-level ``rel=license``, page text). Page-level signals only count when no
item-level signal exists (a footer licence often covers the page text, not the audio).
Candidates that disagree (different families or elements, or open against all rights
reserved) make the status ``conflicting`` and the most restrictive candidate the winner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlsplit

# ------------------------------------------------------------------------ SPDX ids

_CC_ELEMENT_SETS: Final = ("BY", "BY-SA", "BY-ND", "BY-NC", "BY-NC-SA", "BY-NC-ND")
#: The Creative Commons ids on the SPDX list (55), music-metadata notes section 7.2.
SPDX_CC_IDS: Final = frozenset(
    {"CC0-1.0", "CC-PDDC", "CC-PDM-1.0", "CC-SA-1.0"}
    | {f"CC-{e}-{v}" for e in _CC_ELEMENT_SETS for v in ("1.0", "2.0", "2.5", "3.0", "4.0")}
    | {
        "CC-BY-2.5-AU", "CC-BY-3.0-AT", "CC-BY-3.0-AU", "CC-BY-3.0-DE", "CC-BY-3.0-IGO",
        "CC-BY-3.0-NL", "CC-BY-3.0-US", "CC-BY-NC-3.0-DE", "CC-BY-NC-ND-3.0-DE",
        "CC-BY-NC-ND-3.0-IGO", "CC-BY-NC-SA-2.0-DE", "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK",
        "CC-BY-NC-SA-3.0-DE", "CC-BY-NC-SA-3.0-IGO", "CC-BY-ND-3.0-DE", "CC-BY-SA-2.0-UK",
        "CC-BY-SA-2.1-JP", "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO",
    }
)
#: Non-CC ids a music feed may name in ``podcast:license``, with their family and status.
_OTHER_SPDX: Final = {"LAL-1.3": ("lal", "open"), "LAL-1.2": ("lal", "open")}
_SPDX_BY_UPPER: Final = {i.upper(): i for i in (*SPDX_CC_IDS, *_OTHER_SPDX)}

NOASSERTION: Final = "NOASSERTION"

OPEN: Final = "open"
OPEN_NC: Final = "open_noncommercial"
OPEN_ND: Final = "open_noderivatives"
PUBLIC_DOMAIN: Final = "public_domain"
ALL_RIGHTS_RESERVED: Final = "all_rights_reserved"
CUSTOM: Final = "custom"
UNKNOWN: Final = "unknown"
CONFLICTING: Final = "conflicting"
STATUSES: Final = (OPEN, OPEN_NC, OPEN_ND, PUBLIC_DOMAIN, ALL_RIGHTS_RESERVED, CUSTOM, UNKNOWN, CONFLICTING)

#: Signal order (section 7.1), best first; ``rel-license`` and ``html-text`` are page-level.
SOURCE_ORDER: Final = (
    "api", "json-ld", "microdata", "rdfa", "podcast-ns", "media-rss", "rss", "id3", "vorbis",
    "mp4", "riff", "platform", "rel-license", "html-text",
)
PAGE_LEVEL_SOURCES: Final = frozenset({"rel-license", "html-text"})


@dataclass(frozen=True, slots=True)
class Licence:
    """One licence signal, normalised. ``raw`` is the value exactly as found."""

    spdx: str
    status: str
    family: str
    raw: str
    source: str = ""
    url: str | None = None
    version: str | None = None
    jurisdiction: str | None = None
    #: ``{"by", "sa", "nc", "nd"}`` booleans for Creative Commons licences, else ``None``.
    flags: dict[str, bool] | None = None

    def with_source(self, source: str) -> Licence:
        return replace(self, source=source)


def _flags(elements: set[str]) -> dict[str, bool]:
    return {name: name in elements for name in ("by", "sa", "nc", "nd")}


def _status_from_elements(elements: set[str]) -> str:
    if "nc" in elements:
        return OPEN_NC
    if "nd" in elements:
        return OPEN_ND
    return OPEN


def _cc_licence(elements: list[str], version: str, jurisdiction: str | None, raw: str) -> Licence:
    """A versioned CC licence from its elements, reordered to ``by, nc, nd, sa``."""
    order = [e for e in ("by", "nc", "nd", "sa") if e in elements]
    parts = ["CC", *(e.upper() for e in order), version]
    path = ["licenses", "-".join(order), version]
    if jurisdiction:
        parts.append(jurisdiction.upper())
        path.append(jurisdiction.lower())
    ident = "-".join(parts)
    if ident not in SPDX_CC_IDS:
        ident = f"LicenseRef-{ident}"
    url = _canonical_cc_url(path)
    element_set = set(order)
    return Licence(
        spdx=ident, status=_status_from_elements(element_set), family="cc", raw=raw, url=url,
        version=version, jurisdiction=jurisdiction.lower() if jurisdiction else None,
        flags=_flags(element_set),
    )


# ------------------------------------------------------------------------ URLs

_CC_HOSTS: Final = frozenset({"creativecommons.org", "www.creativecommons.org"})
_DROP_TAIL_RE: Final = re.compile(r"^(?:deed(?:\.[a-z_-]+)?|legalcode(?:\.[a-z_-]+)?(?:\.txt)?|rdf)$")
_ELEMENTS: Final = frozenset({"by", "nc", "nd", "sa"})
_VERSION_RE: Final = re.compile(r"^\d+(?:\.\d+)?$")
_SAMPLING: Final = {
    "sampling+": "LicenseRef-CC-Sampling-Plus-1.0",
    "nc-sampling+": "LicenseRef-CC-NC-Sampling-Plus-1.0",
    "sampling": "LicenseRef-CC-Sampling-1.0",
}
#: Non-CC licence URLs heed recognises (host + path prefix), with the SPDX id they name.
_OTHER_URLS: Final = (("artlibre.org", "/licence/lal", "LAL-1.3"),)


def _canonical_cc_url(path_parts: list[str]) -> str:
    return "https://creativecommons.org/" + "/".join(path_parts) + "/"


def licence_from_url(raw: str) -> Licence | None:
    """Normalise a licence URL (section 7.2). ``None`` if ``raw`` is not a URL at all.

    Non-CC URLs outside the small explicit table give ``NOASSERTION`` with status
    ``custom`` and the raw value kept.
    """
    text = raw.strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    candidate = text if "://" in text else ("https:" + text if text.startswith("//") else "https://" + text)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host or "." not in host or parts.scheme.lower() not in ("http", "https"):
        return None
    if host not in _CC_HOSTS:
        for other_host, prefix, spdx in _OTHER_URLS:
            if host.removeprefix("www.") == other_host and parts.path.lower().startswith(prefix):
                family, status = _OTHER_SPDX[spdx]
                flags = {"by": True, "sa": True, "nc": False, "nd": False}
                return Licence(spdx=spdx, status=status, family=family, raw=raw, url=candidate,
                               version=spdx.rsplit("-", 1)[1], flags=flags)
        return Licence(spdx=NOASSERTION, status=CUSTOM, family="custom", raw=raw, url=candidate)
    segments = [s for s in parts.path.lower().split("/") if s]
    while segments and _DROP_TAIL_RE.match(segments[-1]):
        segments.pop()
    unknown = Licence(spdx="LicenseRef-CC-unknown", status=CUSTOM, family="cc", raw=raw,
                      url=_canonical_cc_url(segments) if segments else None)
    if segments[:3] == ["publicdomain", "zero", "1.0"]:
        return Licence(spdx="CC0-1.0", status=PUBLIC_DOMAIN, family="cc0", raw=raw,
                       url=_canonical_cc_url(segments[:3]), version="1.0", flags=_flags(set()))
    if segments[:3] == ["publicdomain", "mark", "1.0"]:
        return Licence(spdx="CC-PDM-1.0", status=PUBLIC_DOMAIN, family="cc-pdm", raw=raw,
                       url=_canonical_cc_url(segments[:3]), version="1.0", flags=_flags(set()))
    if segments[:2] == ["licenses", "publicdomain"]:
        return Licence(spdx="CC-PDDC", status=PUBLIC_DOMAIN, family="cc-pddc", raw=raw,
                       url=_canonical_cc_url(segments[:2]), flags=_flags(set()))
    if len(segments) < 2 or segments[0] != "licenses":
        return unknown
    code = segments[1]
    if code in _SAMPLING:
        version = segments[2] if len(segments) > 2 and _VERSION_RE.match(segments[2]) else None
        return Licence(spdx=_SAMPLING[code], status=CUSTOM, family="cc-sampling", raw=raw,
                       url=_canonical_cc_url(segments[:3]), version=version)
    elements = code.split("-")
    if not elements or not set(elements) <= _ELEMENTS or len(set(elements)) != len(elements):
        return unknown
    version = segments[2] if len(segments) > 2 and _VERSION_RE.match(segments[2]) else None
    if version is None:
        return unknown
    jurisdiction = segments[3] if len(segments) > 3 and re.fullmatch(r"[a-z]{2,3}", segments[3]) else None
    return _cc_licence(elements, version, jurisdiction, raw)


# ------------------------------------------------------------------------ tokens

_TOKEN_CC_RE: Final = re.compile(
    r"^(?:creative-commons-|cc-?)(?P<el>(?:by|nc|nd|sa)(?:-(?:by|nc|nd|sa))*)"
    r"(?:-(?P<ver>\d+(?:\.\d+)?))?(?:-(?P<jur>[a-z]{2,3}))?$"
)
_CC0_TOKENS: Final = frozenset({"cc0", "cc0-1.0", "cc-zero", "cc-0", "cc0-1", "creative-commons-zero"})
_PD_TOKENS: Final = frozenset({"pd", "public-domain", "publicdomain", "pd-mark", "cc-pdm", "cc-pdm-1.0"})
_ARR_TOKENS: Final = frozenset({"all-rights-reserved", "all_rights_reserved", "arr", "copyright"})


def _token_key(raw: str) -> str:
    text = raw.strip().lower().replace("_", "-")
    text = re.sub(r"[\s/]+", "-", text)
    return re.sub(r"-+", "-", text).strip("-")


def licence_from_token(raw: str, *, vocabulary: str = "") -> Licence | None:
    """Normalise a licence token: SPDX ids in any case, CC short names (``CC BY-SA 4.0``,
    ``cc-by-sa-4.0``), ``cc0``, ``pd``, ``all-rights-reserved``. ``None`` if unrecognised.

    ``vocabulary="soundcloud"`` maps SoundCloud's unversioned API values to
    ``LicenseRef-SoundCloud-*`` (family set, version ``None``).
    """
    key = _token_key(raw)
    if not key:
        return None
    upper = raw.strip().upper()
    if vocabulary == "soundcloud":
        if key == "all-rights-reserved":
            return Licence(spdx=NOASSERTION, status=ALL_RIGHTS_RESERVED, family="all-rights-reserved", raw=raw)
        if key == "no-rights-reserved":
            return Licence(spdx="LicenseRef-SoundCloud-no-rights-reserved", status=PUBLIC_DOMAIN,
                           family="public-domain", raw=raw)
        match = _TOKEN_CC_RE.match(key)
        if match and match.group("ver") is None:
            elements = set(match.group("el").split("-"))
            return Licence(spdx=f"LicenseRef-SoundCloud-{key}", status=_status_from_elements(elements),
                           family="cc", raw=raw, flags=_flags(elements))
        return None
    if upper in _SPDX_BY_UPPER:
        ident = _SPDX_BY_UPPER[upper]
        if ident in _OTHER_SPDX:
            family, status = _OTHER_SPDX[ident]
            return Licence(spdx=ident, status=status, family=family, raw=raw, version=ident.rsplit("-", 1)[1],
                           flags={"by": True, "sa": True, "nc": False, "nd": False})
    if key in _CC0_TOKENS:
        return Licence(spdx="CC0-1.0", status=PUBLIC_DOMAIN, family="cc0", raw=raw, version="1.0",
                       url="https://creativecommons.org/publicdomain/zero/1.0/", flags=_flags(set()))
    if key in _PD_TOKENS:
        if key.startswith(("cc-pdm", "pd-mark")):
            return Licence(spdx="CC-PDM-1.0", status=PUBLIC_DOMAIN, family="cc-pdm", raw=raw, version="1.0",
                           url="https://creativecommons.org/publicdomain/mark/1.0/", flags=_flags(set()))
        return Licence(spdx="LicenseRef-Public-Domain", status=PUBLIC_DOMAIN, family="public-domain", raw=raw)
    if key == "cc-pddc":
        return Licence(spdx="CC-PDDC", status=PUBLIC_DOMAIN, family="cc-pddc", raw=raw, flags=_flags(set()))
    if key in _ARR_TOKENS:
        return Licence(spdx=NOASSERTION, status=ALL_RIGHTS_RESERVED, family="all-rights-reserved", raw=raw)
    if key in ("cc-sa-1.0",):
        return Licence(spdx="CC-SA-1.0", status=OPEN, family="cc", raw=raw, version="1.0",
                       flags={"by": False, "sa": True, "nc": False, "nd": False})
    match = _TOKEN_CC_RE.match(key)
    if match is None:
        return None
    elements = match.group("el").split("-")
    if "by" not in elements or len(set(elements)) != len(elements):
        return None
    version, jurisdiction = match.group("ver"), match.group("jur")
    if version is None:  # an unversioned token: the family is known, the exact licence is not
        order = [e for e in ("by", "nc", "nd", "sa") if e in elements]
        element_set = set(order)
        return Licence(spdx="LicenseRef-CC-" + "-".join(e.upper() for e in order),
                       status=_status_from_elements(element_set), family="cc", raw=raw,
                       flags=_flags(element_set))
    if "." not in version:
        version += ".0"
    return _cc_licence(elements, version, jurisdiction, raw)


def normalize_licence(raw: object, *, source: str = "", vocabulary: str = "") -> Licence | None:
    """A licence URL or token, whichever ``raw`` is; ``None`` if neither is recognised."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    looks_like_url = "://" in text or text.startswith("//") or re.match(r"^(?:www\.)?[a-z0-9-]+\.[a-z]{2,}/", text, re.I)
    found = licence_from_url(text) if looks_like_url else licence_from_token(text, vocabulary=vocabulary)
    if found is not None and found.raw != raw:
        found = replace(found, raw=raw)
    return found.with_source(source) if found is not None else None


# ------------------------------------------------------------------------ notices in text

_ARR_PHRASES: Final = (
    "all rights reserved", "tous droits réservés", "alle rechte vorbehalten",
    "todos los derechos reservados", "tutti i diritti riservati", "todos os direitos reservados",
    "alle rechten voorbehouden",
)
_ARR_RE: Final = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in _ARR_PHRASES) + r")\b", re.IGNORECASE)
_NO_RIGHTS_RE: Final = re.compile(r"\bno rights reserved\b", re.IGNORECASE)
_NOTICE_MARK_RE: Final = re.compile(r"(?:©|℗|\(c\)|\(p\)|\bcopyright\b)", re.IGNORECASE)


def licence_from_text(text: object, *, source: str = "html-text") -> Licence | None:
    """"All rights reserved" (in seven languages) and "No rights reserved" (the CC0 marker)."""
    if not isinstance(text, str):
        return None
    if _ARR_RE.search(text):
        return Licence(spdx=NOASSERTION, status=ALL_RIGHTS_RESERVED, family="all-rights-reserved",
                       raw=text.strip()[:500], source=source)
    if _NO_RIGHTS_RE.search(text):
        return Licence(spdx="CC0-1.0", status=PUBLIC_DOMAIN, family="cc0", raw=text.strip()[:500],
                       source=source, version="1.0", flags=_flags(set()))
    return None


def is_bare_notice(text: object) -> bool:
    """A ©/(c)/℗ notice: all rights reserved when no licence is given anywhere."""
    return isinstance(text, str) and bool(_NOTICE_MARK_RE.search(text))


# ------------------------------------------------------------------------ resolving

_RESTRICTIVENESS: Final = {
    PUBLIC_DOMAIN: 0, OPEN: 1, OPEN_ND: 3, OPEN_NC: 4, CUSTOM: 5, ALL_RIGHTS_RESERVED: 6,
}


def _restrictiveness(lic: Licence) -> tuple[int, int]:
    flags = lic.flags or {}
    return _RESTRICTIVENESS.get(lic.status, 5), sum(1 for k in ("sa", "nc", "nd") if flags.get(k))


def _terms(lic: Licence) -> tuple[str, tuple[str, ...]]:
    """What two licences must share to agree: family and CC elements (not version or port)."""
    flags = lic.flags or {}
    return lic.family, tuple(sorted(k for k, v in flags.items() if v))


def _rank(source: str) -> int:
    try:
        return SOURCE_ORDER.index(source)
    except ValueError:
        return len(SOURCE_ORDER)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The licence an item ends up with, and whether its signals disagreed."""

    winner: Licence | None
    status: str
    conflict: bool


def resolve(candidates: list[Licence]) -> Resolution:
    """Pick the winning licence (see the module docstring). No candidate: ``unknown``."""
    if not candidates:
        return Resolution(None, UNKNOWN, False)
    item_level = [c for c in candidates if c.source not in PAGE_LEVEL_SOURCES]
    eligible = sorted(item_level or candidates, key=lambda c: _rank(c.source))
    terms = {_terms(c) for c in eligible}
    if len(terms) > 1:
        strictest = max(eligible, key=_restrictiveness)
        return Resolution(strictest, CONFLICTING, True)
    winner = eligible[0]
    return Resolution(winner, winner.status, False)


__all__ = [
    "ALL_RIGHTS_RESERVED",
    "CONFLICTING",
    "CUSTOM",
    "NOASSERTION",
    "OPEN",
    "OPEN_NC",
    "OPEN_ND",
    "PAGE_LEVEL_SOURCES",
    "PUBLIC_DOMAIN",
    "SOURCE_ORDER",
    "SPDX_CC_IDS",
    "STATUSES",
    "UNKNOWN",
    "Licence",
    "Resolution",
    "is_bare_notice",
    "licence_from_text",
    "licence_from_token",
    "licence_from_url",
    "normalize_licence",
    "resolve",
]

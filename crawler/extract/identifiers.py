"""Music identifiers, validated strictly: ISRC, ISWC, GTIN/UPC/EAN, MBID, DDEX DPID, GRid, ISNI.

An identifier is a join key: a wrong one silently merges two recordings or, worse, hides a
rights holder's catalogue from the opt-out check. So every code goes through its own
algorithm before it is stored, and a value that fails is kept only as a raw value in
``field_sources`` with a warning code.

* ISRC (ISO 3901): syntax plus a known prefix; there is **no check digit**, so typos pass.
* ISWC (ISO 15707): ``T`` + 9 digits + a weighted mod-10 check digit
  (``S = 1 + Σ i·dᵢ``, ``C = (10 − S mod 10) mod 10``).
* GTIN-8/12/13/14 (UPC, EAN): mod-10 with weights 3, 1, 3, … from the right; stored
  left-padded to 13 digits (a UPC-A is an EAN-13 with a leading zero), original length kept.
* MBID: a hyphenated UUID, stored lower-case.
* DDEX party id (``PADPIDA`` + 10 characters + check) and GRid (``A1`` + 15 characters +
  check): ISO/IEC 7064 MOD 37,36 over the alphabet ``0-9A-Z``.
* ISNI (ISO 27729): 15 digits + ISO/IEC 7064 MOD 11-2 check character (0-9 or X).

Every ``clean_*`` function returns :class:`~crawler.extract.values.Cleaned` and never raises.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Final, NamedTuple

from crawler.extract.values import Cleaned, clean_isrc, compact_isrc, is_valid_isrc

_SEPARATORS_RE: Final = re.compile(r"[\s.\-_/\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]")


def _compact(value: str, label: str = "") -> str:
    text = unicodedata.normalize("NFKC", value).strip().upper()
    if label and text.startswith(label):
        text = text[len(label) :].lstrip(" :")
    return _SEPARATORS_RE.sub("", text)


# ----------------------------------------------------------------------------- ISWC

_ISWC_RE: Final = re.compile(r"T[0-9]{10}")


def iswc_check_digit(nine: str) -> int:
    """Check digit of an ISWC from its nine digits (the ``T`` weighs 1)."""
    total = 1 + sum((i + 1) * int(d) for i, d in enumerate(nine))
    return (10 - total % 10) % 10


def is_valid_iswc(compact: str) -> bool:
    return bool(_ISWC_RE.fullmatch(compact)) and iswc_check_digit(compact[1:10]) == int(compact[10])


def format_iswc(compact: str) -> str:
    """``T0345246801`` → ``T-034.524.680-1`` (the display form the registries use)."""
    return f"T-{compact[1:4]}.{compact[4:7]}.{compact[7:10]}-{compact[10]}"


def clean_iswc(value: object) -> Cleaned[str]:
    """Validate an ISWC and return its display form. Warning code: ``iswc_invalid``."""
    if not isinstance(value, str):
        return Cleaned(None, "iswc_invalid")
    compact = _compact(value, "ISWC")
    if not is_valid_iswc(compact):
        return Cleaned(None, "iswc_invalid")
    return Cleaned(format_iswc(compact))


# ----------------------------------------------------------------------------- GTIN

_GTIN_LENGTHS: Final = frozenset({8, 12, 13, 14})


def gtin_check_digit(data: str) -> int:
    """Check digit for the data digits of a GTIN: weights 3, 1, 3, … from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data)))
    return (10 - total % 10) % 10


def is_valid_gtin(digits: str) -> bool:
    return (
        digits.isascii()
        and digits.isdigit()
        and len(digits) in _GTIN_LENGTHS
        and gtin_check_digit(digits[:-1]) == int(digits[-1])
    )


class Gtin(NamedTuple):
    """A release barcode: 13 digits for storage (GTIN-14 keeps 14) and the length it had."""

    code: str
    length: int


def clean_gtin(value: object) -> Cleaned[Gtin]:
    """Validate a UPC/EAN/GTIN. Warning code: ``upc_ean_invalid``.

    Integers are accepted (JSON often carries barcodes as numbers); a leading zero lost that
    way is restored by the left-padding, but the original length is then unknown and given as
    the padded length.
    """
    if isinstance(value, bool):
        return Cleaned(None, "upc_ean_invalid")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return Cleaned(None, "upc_ean_invalid")
    digits = _compact(value)
    for label in ("UPC", "EAN", "GTIN"):
        if digits.startswith(label):
            digits = digits[len(label) :].lstrip(":")
    if not is_valid_gtin(digits):
        return Cleaned(None, "upc_ean_invalid")
    return Cleaned(Gtin(digits.zfill(13) if len(digits) < 13 else digits, len(digits)))


# ----------------------------------------------------------------------------- MBID

_MBID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MB_URL_RE: Final = re.compile(
    r"^https?://(?:[a-z]+\.)?musicbrainz\.org/(artist|recording|release|release-group|work|label)/"
    r"([0-9a-fA-F-]{36})(?:[/?#].*)?$",
    re.IGNORECASE,
)


def clean_mbid(value: object) -> Cleaned[str]:
    """A MusicBrainz id: a hyphenated UUID, stored lower-case. Warning code: ``mbid_invalid``."""
    if not isinstance(value, str):
        return Cleaned(None, "mbid_invalid")
    text = value.strip().lower()
    if not _MBID_RE.fullmatch(text):
        return Cleaned(None, "mbid_invalid")
    try:
        uuid.UUID(text)
    except ValueError:
        return Cleaned(None, "mbid_invalid")
    return Cleaned(text)


def mbid_from_url(url: str) -> tuple[str, str] | None:
    """``(entity, mbid)`` of a musicbrainz.org entity URL (a ``sameAs`` link), or ``None``."""
    match = _MB_URL_RE.match(url.strip())
    if match is None:
        return None
    mbid = clean_mbid(match.group(2)).value
    return (match.group(1).lower(), mbid) if mbid else None


# ------------------------------------------------------------------- ISO 7064 MOD 37,36

A36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mod37_36(payload: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over ``0-9A-Z`` (ValueError on others)."""
    p = 36
    for ch in payload:
        index = A36.find(ch)
        if index < 0:
            raise ValueError(f"not in 0-9A-Z: {ch!r}")
        t = (p + index) % 36 or 36
        p = (t * 2) % 37
    return A36[(37 - p) % 36]


_DPID_RE: Final = re.compile(r"PADPIDA[0-9A-Z]{11}")
_GRID_RE: Final = re.compile(r"A1[0-9A-Z]{16}")


def clean_dpid(value: object) -> Cleaned[str]:
    """A DDEX party id (18 characters). Warning code: ``dpid_invalid``."""
    if not isinstance(value, str):
        return Cleaned(None, "dpid_invalid")
    compact = _compact(value)
    if not _DPID_RE.fullmatch(compact) or mod37_36(compact[:-1]) != compact[-1]:
        return Cleaned(None, "dpid_invalid")
    return Cleaned(compact)


def clean_grid(value: object) -> Cleaned[str]:
    """A GRid release id (18 characters, hyphens dropped). Warning code: ``grid_invalid``."""
    if not isinstance(value, str):
        return Cleaned(None, "grid_invalid")
    compact = _compact(value, "GRID")
    if not _GRID_RE.fullmatch(compact) or mod37_36(compact[:-1]) != compact[-1]:
        return Cleaned(None, "grid_invalid")
    return Cleaned(compact)


# ----------------------------------------------------------------------------- ISNI

_ISNI_RE: Final = re.compile(r"[0-9]{15}[0-9X]")


def isni_check_char(fifteen: str) -> str:
    """ISO/IEC 7064 MOD 11-2 check character of 15 digits."""
    total = 0
    for d in fifteen:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def clean_isni(value: object) -> Cleaned[str]:
    """An ISNI (16 characters). Warning code: ``isni_invalid``."""
    if not isinstance(value, str):
        return Cleaned(None, "isni_invalid")
    compact = _compact(value, "ISNI")
    if not _ISNI_RE.fullmatch(compact) or isni_check_char(compact[:15]) != compact[15]:
        return Cleaned(None, "isni_invalid")
    return Cleaned(compact)


__all__ = [
    "A36",
    "Gtin",
    "clean_dpid",
    "clean_grid",
    "clean_gtin",
    "clean_isni",
    "clean_isrc",
    "clean_iswc",
    "clean_mbid",
    "compact_isrc",
    "format_iswc",
    "gtin_check_digit",
    "is_valid_gtin",
    "is_valid_isrc",
    "is_valid_iswc",
    "isni_check_char",
    "iswc_check_digit",
    "mbid_from_url",
    "mod37_36",
]

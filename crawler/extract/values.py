"""Small normalisers shared by the extractors: text, durations, ISRC codes and URLs.

Every embedded-metadata syntax (JSON-LD, microdata, RDFa, Open Graph, feeds) hands us the
same kinds of messy values: titles with HTML entities and stray whitespace, durations in
half a dozen spellings, identifiers with display hyphens. Normalising them in one place keeps
the extractors small and makes the rules testable as plain tables.

The ``clean_*`` functions never raise. They return a :class:`Cleaned` pair: the normalised
value (or ``None``) and a warning code when a value was present but had to be rejected, so
the caller can record the raw value in ``field_sources`` and the code in ``warnings``.
"""

from __future__ import annotations

import html
import logging
import math
import re
import unicodedata
from typing import Final, Generic, NamedTuple, TypeVar
from urllib.parse import urljoin, urlsplit

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Cleaned(NamedTuple, Generic[T]):
    """A normalised value, or ``None`` with the reason it was rejected."""

    value: T | None
    warning: str | None = None


# --------------------------------------------------------------------------- text

_WHITESPACE_RE: Final = re.compile(r"\s+")
#: Control characters other than whitespace carry no meaning in a title and break
#: downstream tools (Parquet viewers, terminals), so they are dropped.
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalize_text(value: object) -> str | None:
    """HTML-unescape, Unicode NFC, drop control characters, collapse whitespace and trim.

    Returns ``None`` for non-strings and for strings that are empty after cleaning, so an
    all-blank value never counts as "present".
    """
    if not isinstance(value, str):
        return None
    text = html.unescape(value)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    text = _WHITESPACE_RE.sub(" ", text).strip()
    return text or None


# ---------------------------------------------------------------------- durations

#: A recording lasts more than nothing and less than a day; anything else is a data error
#: (a day-long value usually means a date was put where a duration belongs).
MAX_DURATION_S: Final = 86400.0

_NUM: Final = r"(\d+(?:[.,]\d+)?)"
#: ISO 8601 durations, leniently: optional day part, optional ``T`` (Bandcamp writes
#: ``P00H04M12S``), fractions on any time component, no years/months/weeks (a recording
#: measured in months is not a recording).
_ISO_RE: Final = re.compile(
    rf"P(?:{_NUM}D)?(?P<t>T)?(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?", re.IGNORECASE
)
_CLOCK_RE: Final = re.compile(r"(?:(\d+):)?(\d+):([0-5]?\d(?:[.,]\d+)?)")
_SECONDS_RE: Final = re.compile(r"\d+(?:[.,]\d+)?")


def _num(text: str | None) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def _parse_iso(text: str) -> float | None:
    match = _ISO_RE.fullmatch(text)
    if match is None:
        return None
    days, hours, minutes, seconds = match.group(1, 3, 4, 5)
    if days is None and hours is None and minutes is None and seconds is None:
        return None  # bare "P" or "PT"
    if match.group("t") is None and minutes is not None and hours is None and seconds is None:
        # "P4M" is four months in ISO 8601; without an hour or second part next to it we
        # cannot tell a sloppy minutes value from a real months value, so refuse it.
        return None
    return _num(days) * 86400 + _num(hours) * 3600 + _num(minutes) * 60 + _num(seconds)


def _parse_clock(text: str) -> float | None:
    match = _CLOCK_RE.fullmatch(text)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    if hours is not None and int(minutes) > 59:
        return None  # "1:75:00" is not a clock reading
    return _num(hours) * 3600 + _num(minutes) * 60 + _num(seconds)


def parse_duration(value: object) -> float | None:
    """Parse a duration to seconds without any range check; ``None`` if unreadable.

    Accepts ISO 8601 (``PT3M35S``, ``PT00H03M38S``, ``P00H04M12S``, ``PT1H2M3.5S``),
    clock readings (``MM:SS``, ``H:MM:SS``) and plain seconds (number or numeric string).
    Booleans, negative values, NaN and infinities are unreadable.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            return None
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "pP":
            parsed = _parse_iso(text)
        elif ":" in text:
            parsed = _parse_clock(text)
        elif _SECONDS_RE.fullmatch(text):
            parsed = _num(text)
        else:
            parsed = None
        if parsed is None:
            return None
        seconds = parsed
    else:
        return None
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def clean_duration(value: object) -> Cleaned[float]:
    """Parse a duration and keep it only when ``0 < seconds < MAX_DURATION_S``.

    Warning codes: ``duration_invalid`` (unreadable), ``duration_out_of_range``.
    """
    seconds = parse_duration(value)
    if seconds is None:
        return Cleaned(None, "duration_invalid")
    if not 0 < seconds < MAX_DURATION_S:
        return Cleaned(None, "duration_out_of_range")
    return Cleaned(seconds)


# --------------------------------------------------------------------------- ISRC

#: ISO 3166-1 alpha-2 codes: the usual first two characters of an ISRC.
_ISO_3166_ALPHA2: Final = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

#: Prefixes issued by the ISRC agencies that are not country codes (overflow ranges and
#: agency-specific prefixes), see music-metadata notes section 4.1.
_ISRC_EXTRA_PREFIXES: Final = frozenset(
    "BC BK BP BX CB CP DG FX GX UK KS QM QT QZ QN ZZ XK YU ZB".split()
)

ISRC_PREFIXES: Final = _ISO_3166_ALPHA2 | _ISRC_EXTRA_PREFIXES

_ISRC_RE: Final = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
_ISRC_LABEL_RE: Final = re.compile(r"^\s*ISRC\s*:?", re.IGNORECASE)
#: Separators people put in displayed codes: spaces, hyphens, dots, Unicode dashes.
_ISRC_SEPARATORS_RE: Final = re.compile(r"[\s.\-\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]")


def compact_isrc(value: str) -> str:
    """Strip an ``ISRC``/``ISRC:`` label and display separators, and upper-case.

    >>> compact_isrc("isrc: gb-aye-69-00123")
    'GBAYE6900123'
    """
    text = _ISRC_LABEL_RE.sub("", unicodedata.normalize("NFKC", value))
    return _ISRC_SEPARATORS_RE.sub("", text).upper()


def is_valid_isrc(compact: str) -> bool:
    """Syntax check plus known prefix; an ISRC has no check digit, so typos still pass."""
    return bool(_ISRC_RE.fullmatch(compact)) and compact[:2] in ISRC_PREFIXES


def clean_isrc(value: object) -> Cleaned[str]:
    """Compact and validate an ISRC. Warning code: ``isrc_invalid``."""
    if isinstance(value, bool) or not isinstance(value, str):
        return Cleaned(None, "isrc_invalid")
    compact = compact_isrc(value)
    if not is_valid_isrc(compact):
        return Cleaned(None, "isrc_invalid")
    return Cleaned(compact)


# --------------------------------------------------------------------------- URLs

_URL_SCHEMES: Final = frozenset({"http", "https"})


def absolute_http_url(value: object, base: str) -> str | None:
    """Resolve ``value`` against ``base``; keep it only if the result is an http(s) URL.

    Whitespace around the value is trimmed (page authors often leave newlines in JSON-LD
    strings); values with inner whitespace are not URLs.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    try:
        given = urlsplit(text)
        # urljoin reads "https://" or "https:path" as relative to a base of the same scheme;
        # a value that names a scheme must name a host too.
        if given.scheme and not given.netloc:
            return None
        url = urljoin(base, text)
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 literal in the netloc
        return None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        return None
    return url


def looks_like_url(value: str) -> bool:
    """Whether a string is meant as a URL (absolute, scheme-relative or path-relative).

    Used to tell a licence URL from a licence token such as ``cc-by``: joining the token
    to the page URL would invent a URL nobody wrote.
    """
    text = value.strip()
    return text.startswith(("http://", "https://", "//", "/", "./", "../")) or bool(
        re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE)
    )


# --------------------------------------------------------------------------- dates

_MONTHS: Final = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_ISO_DATE_RE: Final = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?")
#: "14 Sep 2013 00:00:00 GMT" (Bandcamp) and RFC 822/1123 "Sat, 14 Sep 2013 ..." (RSS).
_TEXT_DATE_RE: Final = re.compile(r"(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})\b.*")
MIN_YEAR: Final = 1860


def clean_date(value: object, *, max_year: int | None = None) -> Cleaned[tuple[str, str]]:
    """A release date as ``(ISO 8601 partial date, precision)``; precision is ``year``,
    ``month`` or ``day``. Accepts ISO dates with or without a time part, RFC 822/1123 dates
    and Bandcamp's ``"14 Sep 2013 00:00:00 GMT"``; integers are years. Years outside
    1860..next year are refused. Warning codes: ``date_invalid``, ``date_out_of_range``.
    """
    import calendar
    from datetime import date

    latest = max_year if max_year is not None else date.today().year + 1
    if isinstance(value, bool):
        return Cleaned(None, "date_invalid")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return Cleaned(None, "date_invalid")
    text = value.strip()
    year = month = day = None
    match = _ISO_DATE_RE.fullmatch(text)
    if match:
        year = int(match.group(1))
        month = int(match.group(2)) if match.group(2) else None
        day = int(match.group(3)) if match.group(3) else None
    else:
        match = _TEXT_DATE_RE.fullmatch(text)
        if match is None or match.group(2).lower()[:3] not in _MONTHS:
            return Cleaned(None, "date_invalid")
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()[:3]], int(match.group(3))
    if not MIN_YEAR <= year <= latest:
        return Cleaned(None, "date_out_of_range")
    if month is None:
        return Cleaned((f"{year:04d}", "year"))
    if not 1 <= month <= 12:
        return Cleaned(None, "date_invalid")
    if day is None:
        return Cleaned((f"{year:04d}-{month:02d}", "month"))
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return Cleaned(None, "date_invalid")
    return Cleaned((f"{year:04d}-{month:02d}-{day:02d}", "day"))


# ------------------------------------------------------------------- small numbers

_POSITION_RE: Final = re.compile(r"\s*0*(\d{1,4})\s*(?:/\s*\d+\s*)?")


def clean_position(value: object) -> Cleaned[int]:
    """A track or disc number 1..999 from ``3``, ``"03"`` or ``"3/12"``.
    Warning code: ``position_invalid``."""
    if isinstance(value, bool):
        return Cleaned(None, "position_invalid")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and (match := _POSITION_RE.fullmatch(value)):
        number = int(match.group(1))
    else:
        return Cleaned(None, "position_invalid")
    if not 1 <= number <= 999:
        return Cleaned(None, "position_invalid")
    return Cleaned(number)


_SIZE_RE: Final = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([kmgt]i?b|bytes?|b|[kmgt])?\s*", re.IGNORECASE)
_SIZE_UNITS: Final = {"": 1, "b": 1, "byte": 1, "bytes": 1, "k": 10**3, "kb": 10**3, "m": 10**6,
                      "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
                      "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(value: object) -> tuple[int, bool] | None:
    """A file size in bytes and whether it is approximate (given with a unit such as
    ``"31.2 MB"``); ``None`` if unreadable or not positive."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value, False) if value > 0 else None
    if not isinstance(value, str):
        return None
    match = _SIZE_RE.fullmatch(value)
    if match is None:
        return None
    number = float(match.group(1).replace(",", "."))
    unit = (match.group(2) or "").lower()
    size = int(round(number * _SIZE_UNITS[unit]))
    if size <= 0:
        return None
    return size, _SIZE_UNITS[unit] > 1


# --------------------------------------------------------------------- media types

_MIME_ALIASES: Final = {
    "mp3": "audio/mpeg", "audio/mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg", "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg", "flac": "audio/flac", "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4", "m4a": "audio/mp4", "audio/m4a": "audio/mp4", "audio/aac": "audio/aac",
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav", "wav": "audio/wav",
    "ogg": "audio/ogg", "audio/x-ogg": "audio/ogg", "application/ogg": "audio/ogg", "opus": "audio/opus",
}
_MIME_RE: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def normalize_mime(value: object) -> str | None:
    """A media type in IANA form (``mp3`` and ``audio/mp3`` → ``audio/mpeg``); parameters
    dropped; Facebook's ``audio/vnd.facebook.bridge`` and non-media-types → ``None``."""
    if not isinstance(value, str):
        return None
    text = value.split(";", 1)[0].strip().lower()
    text = _MIME_ALIASES.get(text, text)
    if text == "audio/vnd.facebook.bridge" or not _MIME_RE.fullmatch(text):
        return None
    return text


# ------------------------------------------------------------------------ language

#: ISO 639-2 (B and T) and common 639-3 codes of languages that have a 639-1 code.
_LANG3_TO_1: Final = {
    "ara": "ar", "bul": "bg", "cat": "ca", "ces": "cs", "cze": "cs", "cym": "cy", "wel": "cy",
    "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el", "eng": "en", "spa": "es",
    "est": "et", "eus": "eu", "baq": "eu", "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr",
    "fre": "fr", "gle": "ga", "glg": "gl", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu",
    "hye": "hy", "arm": "hy", "ind": "id", "isl": "is", "ice": "is", "ita": "it", "jpn": "ja",
    "kat": "ka", "geo": "ka", "kor": "ko", "lat": "la", "lit": "lt", "lav": "lv", "mkd": "mk",
    "mac": "mk", "msa": "ms", "may": "ms", "nld": "nl", "dut": "nl", "nor": "no", "nob": "nb",
    "nno": "nn", "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru", "slk": "sk",
    "slo": "sk", "slv": "sl", "sqi": "sq", "alb": "sq", "srp": "sr", "swe": "sv", "swa": "sw",
    "tha": "th", "tur": "tr", "ukr": "uk", "urd": "ur", "vie": "vi", "zho": "zh", "chi": "zh",
    "yor": "yo", "zul": "zu", "afr": "af", "amh": "am", "ben": "bn", "bre": "br", "epo": "eo",
    "fao": "fo", "gla": "gd", "hat": "ht", "kaz": "kk", "khm": "km", "mlt": "mt", "mon": "mn",
    "nep": "ne", "pan": "pa", "pus": "ps", "que": "qu", "sin": "si", "som": "so", "tam": "ta",
    "tel": "te", "tgl": "tl", "uzb": "uz", "wol": "wo", "xho": "xh", "yid": "yi", "ltz": "lb",
}
#: Special codes kept as they are: no linguistic content, undetermined, several languages.
SPECIAL_LANGUAGES: Final = frozenset({"zxx", "und", "mul", "mis"})
_LANG_TAG_RE: Final = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*", re.IGNORECASE)


def normalize_language(value: object) -> str | None:
    """A BCP 47 tag, shortest form: ``fre``/``fra`` → ``fr``, ``en_GB``/``en-gb`` → ``en-GB``,
    ``zxx``/``und``/``mul`` kept. ``None`` if the value is not a language tag."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("_", "-")
    if not _LANG_TAG_RE.fullmatch(text):
        return None
    primary, *rest = text.split("-")
    primary = primary.lower()
    primary = _LANG3_TO_1.get(primary, primary)
    out = [primary]
    for sub in rest:
        if len(sub) == 2:
            out.append(sub.upper())
        elif len(sub) == 4 and sub.isalpha():
            out.append(sub.title())
        else:
            out.append(sub.lower())
    return "-".join(out)


# ------------------------------------------------------------------------ notices

_NOTICE_PREFIX_RE: Final = re.compile(
    r"^\s*(?:(?:©|℗|\(c\)|\(p\)|copyright|phonographic\s+copyright|all\s+rights\s+reserved)[\s.:,]*)+",
    re.IGNORECASE,
)
_NOTICE_YEAR_RE: Final = re.compile(r"^\s*((?:1[89]|20)\d{2})(?:\s*[-–]\s*(?:1[89]|20)\d{2})?[\s,.:]*")
_NOTICE_TAIL_RE: Final = re.compile(r"[\s.,;]*(?:all\s+rights\s+reserved|under\s+.*licen[cs]e.*)[\s.]*$", re.IGNORECASE)


def parse_notice(text: object) -> tuple[int | None, str | None]:
    """``(year, holder)`` from a copyright or ℗ notice such as ``"℗ 2019 Example Records"``
    or ``"2022 Saltmarsh Radio"`` (ID3 TCOP starts with the year). Either may be ``None``."""
    if not isinstance(text, str):
        return None, None
    rest = _NOTICE_PREFIX_RE.sub("", text)
    year = None
    match = _NOTICE_YEAR_RE.match(rest)
    if match:
        year = int(match.group(1))
        rest = rest[match.end():]
        rest = _NOTICE_PREFIX_RE.sub("", rest)
    rest = _NOTICE_TAIL_RE.sub("", rest)
    holder = normalize_text(rest.strip(" .,;:-"))
    return year, holder


def clean_flag(value: object) -> bool | None:
    """A yes/no value (``itunes:explicit`` ``yes``/``true``/``explicit`` vs ``no``/``false``/``clean``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value) if value in (0, 1) else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in ("yes", "true", "explicit", "1", "y"):
        return True
    if text in ("no", "false", "clean", "0", "n"):
        return False
    return None


def dedupe_casefold(values: list[str]) -> list[str]:
    """Keep the first spelling of every value, comparing case-insensitively."""
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


__all__ = [
    "ISRC_PREFIXES",
    "MAX_DURATION_S",
    "MIN_YEAR",
    "SPECIAL_LANGUAGES",
    "Cleaned",
    "absolute_http_url",
    "clean_date",
    "clean_duration",
    "clean_flag",
    "clean_isrc",
    "clean_position",
    "dedupe_casefold",
    "normalize_language",
    "normalize_mime",
    "parse_notice",
    "parse_size",
    "compact_isrc",
    "is_valid_isrc",
    "looks_like_url",
    "normalize_text",
    "parse_duration",
]

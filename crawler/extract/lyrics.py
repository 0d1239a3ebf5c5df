"""Lyrics: LRC, TTML, ID3 ``USLT``/``SYLT``, lyric-page markup → metadata and hashes.

The text of commercial lyrics is not ours to keep. What a corpus team needs is whether
lyrics exist, in which language and script, how long they are, whether and how finely they
are synchronised, and hashes to spot the same lyrics on other sites. So every parser here
reads the text into memory, :func:`analyse` derives those values, and the text itself is
stored only when :func:`storage_basis` finds a recorded basis for it:

* ``cc_license`` — a Creative Commons licence given *for the item* (structured data on the
  recording or its composition, a feed, an API, the tags of the same audio file); a
  page-level ``rel=license`` alone is not enough (it may license a lyrics site's layout,
  not the song);
* ``public_domain`` — CC0, the Public Domain Mark or an explicit public-domain statement at
  the same item level (a *claim*, recorded as such in ``license_status``);
* ``licensed_contract`` / ``rights_holder_supplied`` — set by a source configured for it
  (none of the shipped spiders does);
* ``not_stored`` — everything else: ``text`` stays ``None``, hashes and counts are kept.

Normalised text (the input of ``text_sha256`` and the SimHash): Unicode NFC, timestamps,
section labels (``[Chorus]``) and empty lines dropped, each line trimmed, inner whitespace
collapsed, case-folded, lines joined with ``\\n``. ``text_simhash64`` is a 64-bit SimHash over
word 3-shingles (blake2b-64 per shingle), as 16 hex digits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from crawler.extract.licences import OPEN, OPEN_NC, OPEN_ND, PAGE_LEVEL_SOURCES, PUBLIC_DOMAIN, Licence
from crawler.extract.values import normalize_language, normalize_text

NOT_STORED: Final = "not_stored"
CC_LICENSE: Final = "cc_license"
PUBLIC_DOMAIN_BASIS: Final = "public_domain"
BASES: Final = (CC_LICENSE, PUBLIC_DOMAIN_BASIS, "licensed_contract", "rights_holder_supplied", NOT_STORED)


@dataclass(slots=True)
class Parsed:
    """Lyrics as read from one format, text still in memory."""

    lines: list[str]
    format: str
    sync_level: str = "none"
    sections: int = 0
    #: Timestamps in seconds after any LRC offset, synced formats only.
    times: list[float] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    title: str | None = None
    artist: str | None = None
    lyricists: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# ------------------------------------------------------------------------ plain text

_SECTION_RE: Final = re.compile(r"^\s*[\[(](?:verse|chorus|pre-chorus|bridge|intro|outro|hook|refrain|"
                                r"interlude|instrumental|coda|break|part|strophe|couplet|refrain)"
                                r"[^\])]{0,40}[\])]\s*$", re.IGNORECASE)
_BRACKET_LINE_RE: Final = re.compile(r"^\s*\[[^\]]{1,60}\]\s*$")


def parse_plain(text: str, fmt: str = "plain") -> Parsed:
    """Plain lyrics: one line per line; bracketed section labels are counted and dropped."""
    lines, sections = [], 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _SECTION_RE.match(line) or _BRACKET_LINE_RE.match(line):
            sections += 1
            continue
        lines.append(line)
    return Parsed(lines=lines, format=fmt, sections=sections)


# ------------------------------------------------------------------------ LRC

_LRC_TIME: Final = r"(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?"
_LRC_LINE_TAG_RE: Final = re.compile(r"\[" + _LRC_TIME + r"\]")
_LRC_WORD_TAG_RE: Final = re.compile(r"<" + _LRC_TIME + r">")
_LRC_ID_RE: Final = re.compile(r"^\[(ti|ar|al|au|lr|length|by|offset|re|ve|#)\s*:(.*)\]\s*$", re.IGNORECASE)
_VOICE_RE: Final = re.compile(r"^(?:[MFD]):\s*")


def _lrc_seconds(m: re.Match[str]) -> float:
    minutes, seconds, frac = m.group(1), m.group(2), m.group(3)
    value = int(minutes) * 60 + int(seconds)
    if frac:
        value += int(frac) / (10 ** len(frac))
    return value


def looks_like_lrc(text: str) -> bool:
    return sum(1 for line in text.splitlines()[:50] if _LRC_LINE_TAG_RE.match(line.strip())) >= 2


def parse_lrc(text: str) -> Parsed:
    """LRC with id tags, ``[offset:]`` (positive = lyrics earlier), several time tags per
    line and enhanced ``<mm:ss.xx>`` word tags. A line with several time tags counts once."""
    tags: dict[str, str] = {}
    entries: list[tuple[list[float], str]] = []
    word_level = False
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        id_match = _LRC_ID_RE.match(line)
        if id_match:
            tags[id_match.group(1).lower()] = id_match.group(2).strip()
            continue
        times = []
        pos = 0
        while (m := _LRC_LINE_TAG_RE.match(line, pos)) is not None:
            times.append(_lrc_seconds(m))
            pos = m.end()
        body = line[pos:]
        if _LRC_WORD_TAG_RE.search(body):
            word_level = True
            times.extend(_lrc_seconds(m) for m in _LRC_WORD_TAG_RE.finditer(body))
            body = _LRC_WORD_TAG_RE.sub("", body)
        body = _VOICE_RE.sub("", body.strip())
        entries.append((times, body))
    offset_s = 0.0
    warnings: list[str] = []
    if "offset" in tags:
        try:
            offset_s = int(tags["offset"].replace("+", "")) / 1000
        except ValueError:
            warnings.append("lrc_offset_invalid")
    times = sorted(max(0.0, t - offset_s) for ts, _ in entries for t in ts)
    parsed = parse_plain("\n".join(body for _, body in entries), "lrc_enhanced" if word_level else "lrc")
    parsed.times = times
    parsed.sync_level = "word" if word_level else ("line" if times else "none")
    parsed.tags = tags
    parsed.title = normalize_text(tags.get("ti"))
    parsed.artist = normalize_text(tags.get("ar"))
    author = normalize_text(tags.get("lr") or tags.get("au"))
    parsed.lyricists = [author] if author else []
    parsed.warnings = warnings
    return parsed


# ------------------------------------------------------------------------ TTML

_TTML_NS: Final = "http://www.w3.org/ns/ttml"
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
_CLOCK_RE: Final = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")
_OFFSET_RE: Final = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms)$")


def ttml_time(value: str | None) -> float | None:
    """TTML clock (``hh:mm:ss.mmm``, ``m:ss.mmm``, ``ss.mmm``) or offset (``12.5s``) time."""
    if not value:
        return None
    text = value.strip()
    m = _OFFSET_RE.match(text)
    if m:
        factor = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[m.group(2)]
        return float(m.group(1)) * factor
    m = _CLOCK_RE.match(text)
    if m is None:
        return None
    parts = [p for p in m.groups() if p is not None]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(el: Any, name: str) -> str | None:
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value
    return None


def parse_ttml(data: bytes | str) -> Parsed:
    """Apple-style TTML lyrics: ``<p>`` lines, ``<span begin>`` words, ``itunes:songPart``
    sections, ``xml:lang``; ``itunes:timing="Word"`` or timed spans mean word sync."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    root = etree.fromstring(data.encode("utf-8") if isinstance(data, str) else data, parser=parser)
    lines: list[str] = []
    times: list[float] = []
    sections = 0
    word_level = (_attr(root, "timing") or "").lower() == "word"
    for el in root.iter():
        name = _local(el.tag)
        if name == "div" and _attr(el, "songPart"):
            sections += 1
        elif name == "p":
            begin = ttml_time(el.get("begin"))
            if begin is not None:
                times.append(begin)
            spans = [s for s in el.iter() if _local(s.tag) == "span" and s.get("begin")]
            if spans:
                word_level = True
                times.extend(t for t in (ttml_time(s.get("begin")) for s in spans) if t is not None)
            lines.append(" ".join("".join(el.itertext()).split()))
    title = None
    for el in root.iter():
        if _local(el.tag) == "title" and el.text:
            title = normalize_text(el.text)
            break
    return Parsed(lines=lines, format="ttml", sync_level="word" if word_level else ("line" if times else "none"),
                  sections=sections, times=sorted(times), language=normalize_language(root.get(_XML_LANG)),
                  title=title)


# ------------------------------------------------------------------------ ID3 frames


def parse_sylt(entries: list[tuple[str, int]], time_format: int, language: str | None = None) -> Parsed:
    """An ID3 ``SYLT`` frame: ``(text, time)`` pairs; format 2 = milliseconds, 1 = MPEG
    frames (no timestamps then: converting needs the frame rate)."""
    text = "".join(t for t, _ in entries)
    lines = [t.strip("\n") for t, _ in entries] if "\n" not in text.strip("\n") else text.split("\n")
    parsed = parse_plain("\n".join(lines), "id3_sylt")
    if time_format == 2:
        parsed.times = sorted(ms / 1000 for _, ms in entries)
    else:
        parsed.warnings.append("sylt_mpeg_frames")
    parsed.sync_level = "line"
    parsed.language = normalize_language(language) if language and language.lower() != "xxx" else None
    return parsed


def parse_uslt(text: str, language: str | None = None) -> Parsed:
    """An ID3 ``USLT`` frame (or Vorbis ``LYRICS``, which may hold LRC)."""
    parsed = parse_lrc(text) if looks_like_lrc(text) else parse_plain(text, "id3_uslt")
    parsed.language = parsed.language or (
        normalize_language(language) if language and language.lower() != "xxx" else None)
    return parsed


# ------------------------------------------------------------------------ HTML markup


def html_fragment_text(element: Any) -> str:
    """Text of a lyrics container: ``<br>`` and block ends become line breaks, links and
    annotations keep their text, scripts and styles are skipped."""
    parts: list[str] = []

    def visit(el: Any) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "button"):
            if el.tail:
                parts.append(el.tail)
            return
        if tag == "br":
            parts.append("\n")
        elif el.text and tag:
            parts.append(el.text)
        for child in el:
            visit(child)
        if tag in ("p", "div", "li"):
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    tail = element.tail
    element.tail = None
    try:
        visit(element)
    finally:
        element.tail = tail
    return "".join(parts)


# ------------------------------------------------------------------------ analysis

_SCRIPTS: Final = (("LATIN", "Latn"), ("CYRILLIC", "Cyrl"), ("GREEK", "Grek"), ("ARABIC", "Arab"),
                   ("HEBREW", "Hebr"), ("CJK", "Hani"), ("HIRAGANA", "Hira"), ("KATAKANA", "Kana"),
                   ("HANGUL", "Hang"), ("DEVANAGARI", "Deva"), ("THAI", "Thai"), ("ARMENIAN", "Armn"),
                   ("GEORGIAN", "Geor"), ("BENGALI", "Beng"), ("TAMIL", "Taml"))
_CJK_SCRIPTS: Final = frozenset({"Hani", "Hira", "Kana"})


def script_of(text: str) -> str | None:
    """The ISO 15924 script most letters of ``text`` are written in."""
    counts: Counter[str] = Counter()
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for prefix, code in _SCRIPTS:
            if name.startswith(prefix):
                counts[code] += 1
                break
    if not counts:
        return None
    if counts["Hira"] + counts["Kana"] and counts["Hani"] + counts["Hira"] + counts["Kana"] >= sum(counts.values()) / 2:
        return "Jpan"
    return counts.most_common(1)[0][0]


def normalized_lines(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        text = unicodedata.normalize("NFC", line)
        text = _LRC_LINE_TAG_RE.sub("", text)
        text = _LRC_WORD_TAG_RE.sub("", text)
        if _SECTION_RE.match(text) or _BRACKET_LINE_RE.match(text):
            continue
        text = " ".join(text.split()).casefold()
        if text:
            out.append(text)
    return out


def simhash64(lines: list[str]) -> str:
    """64-bit SimHash over word 3-shingles (fewer than 3 words: the words themselves)."""
    words = " ".join(lines).split()
    shingles = [" ".join(words[i:i + 3]) for i in range(len(words) - 2)] or words
    weights = [0] * 64
    for shingle in shingles:
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    value = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return f"{value:016x}"


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the lyrics item keeps without the text."""

    line_count: int
    section_count: int
    word_count: int
    char_count: int
    script: str | None
    text_sha256: str
    text_simhash64: str
    first_ts_s: float | None
    last_ts_s: float | None


def analyse(parsed: Parsed) -> Analysis:
    lines = normalized_lines(parsed.lines)
    joined = "\n".join(lines)
    script = script_of(joined)
    if script in _CJK_SCRIPTS or script == "Jpan":
        words = sum(1 for ch in joined if not ch.isspace() and unicodedata.name(ch, "").startswith(
            ("CJK", "HIRAGANA", "KATAKANA")))
        words += len([w for w in re.split(r"\s+", "".join(
            " " if unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA")) else ch for ch in joined))
            if w])
    else:
        words = len(joined.split())
    return Analysis(
        line_count=len(lines),
        section_count=parsed.sections,
        word_count=words,
        char_count=sum(1 for ch in joined if ch != "\n"),
        script=script,
        text_sha256=hashlib.sha256(joined.encode("utf-8")).hexdigest(),
        text_simhash64=simhash64(lines),
        first_ts_s=parsed.times[0] if parsed.times else None,
        last_ts_s=parsed.times[-1] if parsed.times else None,
    )


def storage_basis(licence: Licence | None) -> str:
    """Whether the text may be stored, and why (see the module docstring)."""
    if licence is None or licence.source in PAGE_LEVEL_SOURCES:
        return NOT_STORED
    if licence.status == PUBLIC_DOMAIN:
        return PUBLIC_DOMAIN_BASIS
    if licence.status in (OPEN, OPEN_NC, OPEN_ND) and licence.family == "cc":
        return CC_LICENSE
    return NOT_STORED


__all__ = [
    "BASES",
    "CC_LICENSE",
    "NOT_STORED",
    "PUBLIC_DOMAIN_BASIS",
    "Analysis",
    "Parsed",
    "analyse",
    "html_fragment_text",
    "looks_like_lrc",
    "normalized_lines",
    "parse_lrc",
    "parse_plain",
    "parse_sylt",
    "parse_ttml",
    "parse_uslt",
    "script_of",
    "simhash64",
    "storage_basis",
    "ttml_time",
]

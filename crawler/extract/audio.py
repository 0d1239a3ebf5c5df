"""Embedded audio metadata from a few byte ranges of the file, read with mutagen.

Downloading whole audio files to read their tags would be slow, costly for the sites and
unnecessary: tags and stream headers sit at the start of the file (plus, for Ogg and for
MP4 files whose ``moov`` box is at the end, near its end). So the spider fetches the first
``ITEMS_AUDIO_HEAD_BYTES`` with a ``Range`` request, :func:`plan_ranges` sniffs the format
and says which further ranges are needed, and :func:`read_tags` hands the ranges to
``mutagen.File`` through :class:`SparseFile`, a read-only seekable view over the fetched
ranges with the file's true size (unfetched bytes read as zeros). Knowing the true size is
what makes mutagen's CBR duration estimate right; a duration read from a real header (Xing/
Info/VBRI frame, FLAC STREAMINFO, MP4 ``mvhd``, the last Ogg page, a WAV ``data`` chunk) is
marked as such, anything else as ``duration_estimated``.

Tags map to recording fields per format (ID3v2 frames, Vorbis comments, MP4 atoms), with
the frame or key as the ``field_sources`` locator (``TSRC``, ``TXXX:BARCODE``,
``----:com.apple.iTunes:ISRC``). Lyrics frames (``USLT``, ``SYLT``, ``LYRICS``, ``©lyr``)
become lyrics drafts. Picture, private and purchaser atoms (``APIC``, ``PRIV``, ``GEOB``,
``apID``, ``ownr``) are never read. :func:`apply_audio` merges the result into a recording:
the file's ISRC and header duration win over the page's; everything else only fills gaps.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Final

from crawler.extract.draft import Draft, LyricsDraft, apply_licences, apply_rights
from crawler.extract.identifiers import clean_gtin, clean_iswc, clean_mbid
from crawler.extract.lyrics import looks_like_lrc, parse_sylt
from crawler.extract.values import (
    MAX_DURATION_S,
    clean_date,
    clean_isrc,
    clean_position,
    normalize_language,
    normalize_mime,
    normalize_text,
)
from crawler.items import Recording

logger = logging.getLogger(__name__)

#: Default sizes (bytes); the spider reads its own from the ``ITEMS_AUDIO_*`` settings.
HEAD_BYTES: Final = 64 * 1024
TAIL_BYTES: Final = 64 * 1024
MAX_BYTES: Final = 4 * 1024 * 1024
_TOLERANCE_S: Final = 2.0


class SparseFile(io.RawIOBase):
    """Seekable read-only view over fetched byte ranges of a remote file.

    ``chunks`` maps offsets to bytes; bytes nobody fetched read as zeros, and the file is
    ``total`` bytes long whatever was fetched.
    """

    def __init__(self, total: int, chunks: dict[int, bytes]) -> None:
        super().__init__()
        self.total = total
        self.chunks = sorted(chunks.items())
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.total}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self.total - self.pos))
        view[:n] = bytes(n)
        for start, data in self.chunks:
            lo, hi = max(self.pos, start), min(self.pos + n, start + len(data))
            if lo < hi:
                view[lo - self.pos : hi - self.pos] = data[lo - start : hi - start]
        self.pos += n
        return n


# ------------------------------------------------------------------------ HTTP ranges

_CONTENT_RANGE_RE: Final = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range: bytes a-b/total`` header."""
    if not value:
        return None
    m = _CONTENT_RANGE_RE.match(value)
    if m is None:
        return None
    first, last = int(m.group(1)), int(m.group(2))
    if last < first:
        return None
    return first, last, None if m.group(3) == "*" else int(m.group(3))


def range_header(start: int, end: int) -> str:
    return f"bytes={start}-{end}"


# ------------------------------------------------------------------------ planning


def _syncsafe(data: bytes) -> int:
    return (data[0] & 0x7F) << 21 | (data[1] & 0x7F) << 14 | (data[2] & 0x7F) << 7 | (data[3] & 0x7F)


@dataclass(frozen=True, slots=True)
class Plan:
    """Further ranges to fetch (inclusive ``(start, end)`` pairs) and why not, if not."""

    ranges: tuple[tuple[int, int], ...] = ()
    warnings: tuple[str, ...] = ()


def sniff(head: bytes) -> str:
    """``id3``, ``mpeg``, ``flac``, ``ogg``, ``mp4``, ``wav``, ``aiff`` or ``unknown``."""
    if head.startswith(b"ID3"):
        return "id3"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mpeg"
    return "unknown"


def plan_ranges(head: bytes, total: int | None, *, tail_bytes: int = TAIL_BYTES,
                max_bytes: int = MAX_BYTES) -> Plan:
    """Which ranges beyond ``head`` (which starts at offset 0) the format needs."""
    have = len(head)
    if total is not None and have >= total:
        return Plan()
    kind = sniff(head)
    tail = (max(have, total - tail_bytes), total - 1) if total else None
    if kind == "id3" and have >= 10:
        end = 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
        if end <= have:
            return Plan()
        if end > max_bytes:
            return Plan(warnings=("tags_truncated",))
        # the tag plus a little more, so the first MPEG frame header is there too
        last = end + 4096 - 1
        if total is not None:
            last = min(last, total - 1)
        return Plan(ranges=((have, last),))
    if kind == "mpeg" and tail is not None:
        return Plan(ranges=((max(have, total - 128), total - 1),))  # an ID3v1 tag, if any
    if kind == "flac":
        pos = 4
        while pos + 4 <= have:
            header = head[pos]
            length = int.from_bytes(head[pos + 1 : pos + 4], "big")
            pos += 4 + length
            if header & 0x80:
                break
        else:
            pos = max(pos, have + 1)
        if pos <= have:
            return Plan()
        if pos > max_bytes:
            return Plan(warnings=("tags_truncated",))
        # the block that runs past the head, plus room for the (usually small) blocks after it
        last = min(pos + HEAD_BYTES, max_bytes) - 1
        if total is not None:
            last = min(last, total - 1)
        return Plan(ranges=((have, last),))
    if kind == "ogg":
        return Plan(ranges=(tail,)) if tail is not None else Plan(warnings=("duration_needs_tail",))
    if kind == "mp4":
        pos = 0
        while pos + 8 <= have:
            size = int.from_bytes(head[pos : pos + 4], "big")
            box = head[pos + 4 : pos + 8]
            if size == 1 and pos + 16 <= have:
                size = int.from_bytes(head[pos + 8 : pos + 16], "big")
            if box == b"moov":
                if pos + size <= have:
                    return Plan()
                if pos + size > max_bytes and size > max_bytes:
                    return Plan(warnings=("tags_truncated",))
                return Plan(ranges=((have, pos + size - 1),))
            if size < 8:
                break
            pos += size
        if pos >= have and total is not None and pos < total:
            # the moov box starts after the mdat box: fetch from there (bounded) or the tail
            last = min(total - 1, pos + max_bytes - 1)
            return Plan(ranges=((pos, last),))
        return Plan(ranges=(tail,)) if tail is not None else Plan(warnings=("tags_truncated",))
    if kind in ("wav", "aiff") and tail is not None:
        return Plan(ranges=(tail,))
    return Plan()


# ------------------------------------------------------------------------ reading tags


@dataclass(slots=True)
class AudioTags:
    """What the fetched ranges say: a draft of tag values plus stream information."""

    draft: Draft
    tag_format: str = "none"
    codec: str | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    bitrate_bps: int | None = None
    bits_per_sample: int | None = None
    duration_s: float | None = None
    duration_from_header: bool = False
    has_lyrics: bool = False
    has_synced_lyrics: bool = False
    #: Raw values of tags that may carry a TDM/AI opt-out (for the gate, not used here).
    signals: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


def _text_of(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _text_of(v)]
    text = getattr(value, "text", None)
    if text is not None and not isinstance(value, str):
        return _text_of(text)
    return [str(value)]


class _TagReader:
    """Maps one file's tags (whatever the format) onto draft fields."""

    def __init__(self, syntax: str) -> None:
        self.d = Draft(syntax=syntax)

    def text(self, name: str, locator: str, values: list[str], *, clean: Any = normalize_text) -> None:
        for raw in values:
            value = clean(raw)
            if value:
                self.d.set(name, value, locator, raw)
                return

    def many(self, name: str, locator: str, values: list[str]) -> None:
        names = [n for n in (normalize_text(v) for v in values) if n]
        if names:
            self.d.set(name, names, locator, values if len(values) > 1 else values[0])

    def position(self, name: str, locator: str, values: list[str]) -> None:
        for raw in values:
            cleaned = clean_position(raw)
            if cleaned.value is not None:
                self.d.set(name, cleaned.value, locator, raw)
                return

    def isrc(self, locator: str, values: list[str]) -> None:
        for raw in values:
            cleaned = clean_isrc(raw)
            if cleaned.value is None:
                self.d.reject("isrc", cleaned.warning or "isrc_invalid", locator, raw)
                continue
            self.d.set("isrc", cleaned.value, locator, raw)
            self.d.set("isrc_all", [cleaned.value], locator, raw)

    def date(self, locator: str, values: list[str]) -> None:
        for raw in values:
            cleaned = clean_date(raw.strip())
            if cleaned.value is not None:
                self.d.set("release_date", cleaned.value[0], locator, raw)
                self.d.set("release_date_precision", cleaned.value[1], locator, raw)
                return

    def identifier(self, name: str, locator: str, values: list[str], clean: Any) -> None:
        for raw in values:
            cleaned = clean(raw)
            if cleaned.value is None:
                self.d.reject(name, cleaned.warning or f"{name}_invalid", locator, raw)
                continue
            if name == "upc_ean":
                self.d.set("upc_ean", cleaned.value.code, locator, raw)
                self.d.set("upc_ean_length", cleaned.value.length, locator, raw)
            else:
                self.d.set(name, cleaned.value, locator, raw)
            return

    def genres(self, locator: str, values: list[str]) -> None:
        names = [n for n in (normalize_text(v) for v in values) if n]
        if names:
            self.d.set("genres", names, locator, values[0])

    def notice(self, name: str, locator: str, values: list[str]) -> None:
        for raw in values:
            text = normalize_text(raw)
            if text:
                self.d.set(name, text, locator, raw)
                self.d.add_rights_text(raw, locator)
                return

    def licence(self, locator: str, values: list[str]) -> None:
        for raw in values:
            if raw.strip():
                self.d.add_licence(raw, locator)


_TDM_KEY_RE: Final = re.compile(r"tdm|noai|ai[-_ ]?training|content[-_ ]?usage", re.IGNORECASE)


def _read_id3(tags: Any, reader: _TagReader, out: AudioTags) -> None:
    def frames(key: str) -> list[str]:
        return [s for frame in tags.getall(key) for s in _text_of(frame)]

    out.tag_format = "id3v2.%d" % tags.version[1] if getattr(tags, "version", None) else "id3"
    reader.text("title", "TIT2", frames("TIT2"))
    artists = frames("TPE1")
    reader.text("artist_credit", "TPE1", artists)
    reader.text("album_title", "TALB", frames("TALB"))
    reader.position("track_number", "TRCK", frames("TRCK"))
    reader.position("disc_number", "TPOS", frames("TPOS"))
    reader.date("TDRC", [str(v) for f in tags.getall("TDRC") for v in f.text])
    reader.many("composers", "TCOM", frames("TCOM"))
    reader.many("lyricists", "TEXT", frames("TEXT"))
    reader.isrc("TSRC", frames("TSRC"))
    reader.text("record_label", "TPUB", frames("TPUB"))
    reader.notice("copyright_notice", "TCOP", frames("TCOP"))
    reader.notice("phonographic_notice", "TPRO", frames("TPRO"))
    reader.genres("TCON", frames("TCON"))
    reader.text("language", "TLAN", frames("TLAN"), clean=normalize_language)
    for frame in tags.getall("WCOP"):
        reader.licence("WCOP", [frame.url])
    for frame in tags.getall("TXXX"):
        desc = (frame.desc or "").strip()
        values = _text_of(frame)
        key = desc.upper()
        locator = f"TXXX:{desc}"
        if key == "BARCODE":
            reader.identifier("upc_ean", locator, values, clean_gtin)
        elif key in ("CATALOGNUMBER", "CATALOG NUMBER"):
            reader.text("catalog_number", locator, values)
        elif key in ("LICENSE", "LICENCE"):
            reader.licence(locator, values)
        elif key == "ISWC":
            reader.identifier("iswc", locator, values, clean_iswc)
        elif key == "MUSICBRAINZ WORK ID":
            reader.identifier("mbid_work", locator, values, clean_mbid)
        elif key == "MUSICBRAINZ ALBUM ID":
            reader.identifier("mbid_release", locator, values, clean_mbid)
        elif key == "ARTISTS":
            reader.many("artists", locator, values)
        elif key == "MUSICBRAINZ ARTIST ID":
            for v in values:
                mbid = clean_mbid(v).value
                if mbid:
                    reader.d.set("artist_ids", [{"scheme": "mbid", "id": mbid}], locator, v)
        if _TDM_KEY_RE.search(desc):
            out.signals.extend((locator, v) for v in values)
    for frame in tags.getall("UFID"):
        if frame.owner == "http://musicbrainz.org":
            raw = frame.data.decode("ascii", "replace")
            reader.identifier("mbid_recording", "UFID:http://musicbrainz.org", [raw], clean_mbid)
    for frame in tags.getall("USLT"):
        out.has_lyrics = True
        reader.d.lyrics.append(LyricsDraft(text=frame.text, format="id3_uslt", syntax="id3",
                                           locator=f"USLT:{frame.desc}:{frame.lang}", raw=frame.text,
                                           language=frame.lang))
    for frame in tags.getall("SYLT"):
        out.has_lyrics = out.has_synced_lyrics = True
        parsed = parse_sylt(list(frame.text), frame.format, frame.lang)
        draft = LyricsDraft(text="\n".join(parsed.lines), format="id3_sylt", syntax="id3",
                            locator=f"SYLT:{frame.desc}:{frame.lang}", raw=repr(list(frame.text)),
                            language=frame.lang)
        draft.parsed = parsed
        reader.d.lyrics.append(draft)


_VORBIS_MAP: Final = (
    ("title", "TITLE"), ("album_title", "ALBUM"), ("record_label", "LABEL"), ("record_label", "ORGANIZATION"),
    ("catalog_number", "CATALOGNUMBER"),
)


def _read_vorbis(tags: Any, reader: _TagReader, out: AudioTags, syntax: str) -> None:
    def get(key: str) -> list[str]:
        try:
            return [str(v) for v in tags.get(key.lower(), tags.get(key, []))]
        except (KeyError, ValueError):
            return []

    out.tag_format = syntax
    for name, key in _VORBIS_MAP:
        reader.text(name, key, get(key))
    artists = get("ARTIST")
    reader.text("artist_credit", "ARTIST", artists[:1])
    if len(artists) > 1:
        reader.many("artists", "ARTIST", artists)
    reader.position("track_number", "TRACKNUMBER", get("TRACKNUMBER"))
    reader.position("disc_number", "DISCNUMBER", get("DISCNUMBER"))
    reader.date("DATE", get("DATE"))
    reader.many("composers", "COMPOSER", get("COMPOSER"))
    reader.many("lyricists", "LYRICIST", get("LYRICIST"))
    reader.isrc("ISRC", get("ISRC"))
    reader.notice("copyright_notice", "COPYRIGHT", get("COPYRIGHT"))
    reader.licence("LICENSE", get("LICENSE"))
    reader.genres("GENRE", get("GENRE"))
    reader.text("language", "LANGUAGE", get("LANGUAGE"), clean=normalize_language)
    for name, key, clean in (("upc_ean", "BARCODE", clean_gtin), ("iswc", "ISWC", clean_iswc),
                              ("mbid_recording", "MUSICBRAINZ_TRACKID", clean_mbid),
                              ("mbid_work", "MUSICBRAINZ_WORKID", clean_mbid),
                              ("mbid_release", "MUSICBRAINZ_ALBUMID", clean_mbid)):
        if get(key):
            reader.identifier(name, key, get(key), clean)
    for key in ("LYRICS", "UNSYNCEDLYRICS"):
        for text in get(key):
            out.has_lyrics = True
            synced = looks_like_lrc(text)
            out.has_synced_lyrics = out.has_synced_lyrics or synced
            reader.d.lyrics.append(LyricsDraft(text=text, format="lrc" if synced else "vorbis",
                                               syntax=syntax, locator=key, raw=text))
    for key in tags.keys() if hasattr(tags, "keys") else []:
        if _TDM_KEY_RE.search(key):
            out.signals.extend((key, v) for v in get(key))


_FREEFORM: Final = "----:com.apple.iTunes:"


def _read_mp4(tags: Any, reader: _TagReader, out: AudioTags) -> None:
    def get(key: str) -> list[str]:
        return _text_of(tags.get(key))

    out.tag_format = "mp4"
    reader.text("title", "\xa9nam", get("\xa9nam"))
    reader.text("artist_credit", "\xa9ART", get("\xa9ART"))
    reader.text("album_title", "\xa9alb", get("\xa9alb"))
    for key, name in (("trkn", "track_number"), ("disk", "disc_number")):
        pairs = tags.get(key) or []
        if pairs and isinstance(pairs[0], tuple):
            reader.position(name, key, [str(pairs[0][0])])
    reader.date("\xa9day", get("\xa9day"))
    reader.many("composers", "\xa9wrt", get("\xa9wrt"))
    reader.notice("copyright_notice", "cprt", get("cprt"))
    reader.genres("\xa9gen", get("\xa9gen"))
    rating = tags.get("rtng")
    if rating:
        reader.d.set("explicit", rating[0] in (1, 4), "rtng", str(rating[0]))
    for name in ("LYRICIST", "ISRC", "BARCODE", "CATALOGNUMBER", "LABEL", "LICENSE", "LANGUAGE",
                 "MusicBrainz Track Id", "MusicBrainz Work Id", "MusicBrainz Album Id", "ISWC"):
        key = _FREEFORM + name
        values = get(key)
        if not values:
            continue
        if name == "LYRICIST":
            reader.many("lyricists", key, values)
        elif name == "ISRC":
            reader.isrc(key, values)
        elif name == "BARCODE":
            reader.identifier("upc_ean", key, values, clean_gtin)
        elif name == "CATALOGNUMBER":
            reader.text("catalog_number", key, values)
        elif name == "LABEL":
            reader.text("record_label", key, values)
        elif name == "LICENSE":
            reader.licence(key, values)
        elif name == "LANGUAGE":
            reader.text("language", key, values, clean=normalize_language)
        elif name == "ISWC":
            reader.identifier("iswc", key, values, clean_iswc)
        else:
            field_name = {"MusicBrainz Track Id": "mbid_recording", "MusicBrainz Work Id": "mbid_work",
                          "MusicBrainz Album Id": "mbid_release"}[name]
            reader.identifier(field_name, key, values, clean_mbid)
    for text in get("\xa9lyr"):
        out.has_lyrics = True
        reader.d.lyrics.append(LyricsDraft(text=text, format="mp4", syntax="mp4", locator="\xa9lyr", raw=text))


def _codec(audio: Any) -> str | None:
    name = type(audio).__name__
    codec = getattr(audio.info, "codec", None)
    if name == "MP4":
        return {"mp4a.40.2": "aac", "mp4a.40.5": "aac", "mp4a.40.29": "aac", "alac": "alac"}.get(codec or "", codec)
    return {"MP3": "mp3", "EasyMP3": "mp3", "FLAC": "flac", "OggVorbis": "vorbis", "OggOpus": "opus",
            "OggFLAC": "flac", "WAVE": "pcm", "AIFF": "pcm", "OggSpeex": "speex"}.get(name, name.lower())


def _has_vbr_header(audio: Any, fileobj: SparseFile | None) -> bool:
    """Whether the first MPEG frame carries a Xing, Info or VBRI header (a real length)."""
    offset = getattr(audio.info, "frame_offset", None)
    if fileobj is None or offset is None:
        return False
    fileobj.seek(offset)
    frame = fileobj.read(200)
    return any(marker in frame for marker in (b"Xing", b"Info", b"VBRI"))


def _header_duration(audio: Any, fileobj: SparseFile | None = None) -> bool:
    name = type(audio).__name__
    info = audio.info
    if name == "MP3":
        return _has_vbr_header(audio, fileobj)
    if name == "FLAC":
        return bool(getattr(info, "total_samples", 0))
    return name in ("MP4", "OggVorbis", "OggOpus", "WAVE", "AIFF", "OggFLAC")


def read_tags(chunks: dict[int, bytes], total: int) -> AudioTags:
    """Tags and stream info from fetched ranges of a file ``total`` bytes long. Never raises:
    an unreadable file gives ``error`` set and no values."""
    import mutagen

    out = AudioTags(draft=Draft(syntax="id3"))
    sparse = SparseFile(total, chunks)
    try:
        audio = mutagen.File(sparse)
    except Exception as exc:  # mutagen raises many types on damaged or partial input
        out.error = type(exc).__name__
        return out
    if audio is None:
        out.error = "unrecognised"
        return out
    name = type(audio).__name__
    syntax = {"MP4": "mp4", "FLAC": "vorbis", "OggVorbis": "vorbis", "OggOpus": "vorbis",
              "OggFLAC": "vorbis"}.get(name, "id3")
    reader = _TagReader(syntax)
    tags = audio.tags
    try:
        if tags is not None:
            if syntax == "mp4":
                _read_mp4(tags, reader, out)
            elif syntax == "vorbis":
                _read_vorbis(tags, reader, out, "opus" if name == "OggOpus" else "vorbis")
            elif hasattr(tags, "getall"):
                _read_id3(tags, reader, out)
    except Exception as exc:  # a tag mutagen parsed but we could not map: keep the rest
        logger.debug("Could not map %(fmt)s tags", {"fmt": name}, exc_info=True)
        reader.d.warn(f"tags_unreadable:{type(exc).__name__}")
    out.draft = reader.d
    info = audio.info
    out.codec = _codec(audio)
    out.sample_rate_hz = getattr(info, "sample_rate", None) or None
    out.channels = getattr(info, "channels", None) or None
    bitrate = getattr(info, "bitrate", None)
    out.bitrate_bps = int(bitrate) if bitrate else None
    out.bits_per_sample = getattr(info, "bits_per_sample", None) or None
    length = getattr(info, "length", None)
    if length and 0 < length < MAX_DURATION_S:
        out.duration_s = float(length)
        out.duration_from_header = _header_duration(audio, sparse)
    return out


# ------------------------------------------------------------------------ merging


@dataclass(slots=True)
class AudioResult:
    """One finished audio check: the HTTP facts, the ranges fetched and the tags read."""

    status: str  # ok, range-ignored, http:<n>, unparsed
    content_type: str | None = None
    total_size: int | None = None
    ranges: list[tuple[int, int]] = field(default_factory=list)
    sha256: str | None = None
    tags: AudioTags | None = None
    warnings: list[str] = field(default_factory=list)


def digest(chunks: dict[int, bytes]) -> str:
    h = hashlib.sha256()
    for start in sorted(chunks):
        h.update(chunks[start])
    return h.hexdigest()


_FILL_ONLY: Final = (
    "title", "artist_credit", "album_title", "track_number", "disc_number", "release_date",
    "release_date_precision", "language", "upc_ean", "upc_ean_length", "catalog_number", "record_label",
    "copyright_notice", "phonographic_notice", "mbid_recording", "mbid_work", "mbid_release", "iswc",
    "explicit",
)
_LISTS: Final = ("artists", "composers", "lyricists", "genres", "isrc_all", "artist_ids")


def apply_audio(rec: Recording, result: AudioResult) -> list[LyricsDraft]:
    """Merge an audio check into a recording, in place; returns the file's lyrics drafts."""
    rec.audio_fetch = result.status
    rec.byte_ranges = [{"start": a, "end": b} for a, b in result.ranges]
    if result.sha256 and rec.audio_url:
        # body_sha256 stays the page's; the audio bytes that were parsed are named here
        rec.field_sources.append({"field": "byte_ranges", "syntax": "http", "locator": rec.audio_url,
                                  "raw": f"sha256:{result.sha256}"})
    for code in result.warnings:
        if code not in rec.warnings:
            rec.warnings.append(code)
    if result.content_type and (mime := normalize_mime(result.content_type)) and mime.startswith(("audio/", "video/")):
        rec.mime_type = mime
    if result.total_size:
        rec.file_size_bytes, rec.file_size_approx = result.total_size, False
    tags = result.tags
    if tags is None:
        return []
    if tags.error:
        rec.warnings.append(f"audio_unreadable:{tags.error}")
        return []
    d = tags.draft
    values = d.values
    rec.embedded_tag_format = tags.tag_format
    rec.codec, rec.sample_rate_hz, rec.channels = tags.codec, tags.sample_rate_hz, tags.channels
    rec.bitrate_bps, rec.bits_per_sample = tags.bitrate_bps, tags.bits_per_sample
    rec.has_embedded_lyrics, rec.has_synced_lyrics = tags.has_lyrics, tags.has_synced_lyrics
    # The ISRC of the file we would use wins; a different page ISRC is kept and flagged.
    if values.get("isrc"):
        if rec.isrc and rec.isrc != values["isrc"]:
            rec.warnings.append("isrc_conflict")
        rec.isrc = values["isrc"]
    for name in _FILL_ONLY:
        if getattr(rec, name) is None and values.get(name) is not None:
            setattr(rec, name, values[name])
    for name in _LISTS:
        current = getattr(rec, name)
        current.extend(v for v in values.get(name, []) if v not in current)
    if rec.isrc:  # the winning code first, the others after it
        rec.isrc_all = [rec.isrc, *(i for i in rec.isrc_all if i != rec.isrc)]
    if tags.duration_s is not None:
        if rec.duration_s is not None and abs(rec.duration_s - tags.duration_s) > _TOLERANCE_S:
            rec.warnings.append("duration_mismatch")
        if tags.duration_from_header or rec.duration_s is None:
            rec.duration_s = tags.duration_s
            rec.duration_estimated = not tags.duration_from_header
    rec.field_sources.extend(d.sources)
    for code in d.warnings:
        if code not in rec.warnings:
            rec.warnings.append(code)
    rec.license_candidates.extend({"spdx": c.spdx, "source": c.source, "raw": c.raw} for c in d.licences)
    apply_rights(rec)
    apply_licences(rec)
    return d.lyrics


__all__ = [
    "HEAD_BYTES",
    "MAX_BYTES",
    "TAIL_BYTES",
    "AudioResult",
    "AudioTags",
    "Plan",
    "SparseFile",
    "apply_audio",
    "digest",
    "parse_content_range",
    "plan_ranges",
    "range_header",
    "read_tags",
    "sniff",
]

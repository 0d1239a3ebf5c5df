"""Small audio files made at test time: MPEG frames, FLAC metadata blocks, Ogg Opus pages.

No encoder is needed: the files hold valid container structure and headers (what tag
readers look at) and silent or zero payloads. Tags are written with mutagen where it can
write them (ID3, FLAC Vorbis comments), by hand otherwise.
"""

from __future__ import annotations

import struct
from pathlib import Path

# One MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, joint stereo, no padding.
_MP3_HEADER = b"\xff\xfb\x90\x64"
_MP3_FRAME_LEN = 417  # 144 * 128000 / 44100


def mp3_frames(count: int, *, xing_frames: int | None = None) -> bytes:
    """``count`` MPEG frames; with ``xing_frames`` the first carries a Xing header (VBR length)."""
    frames = []
    for i in range(count):
        body = bytearray(_MP3_FRAME_LEN - 4)
        if i == 0 and xing_frames is not None:
            # side info for MPEG-1 stereo is 32 bytes; the Xing tag follows it
            body[32:40] = b"Xing" + struct.pack(">I", 0x1)
            body[40:44] = struct.pack(">I", xing_frames)
        frames.append(_MP3_HEADER + bytes(body))
    return b"".join(frames)


def mp3_file(path: Path, *, version: int = 3, frames: int = 40, xing_frames: int | None = None,
             picture_bytes: int = 0, **tags: str) -> bytes:
    """An MP3 with an ID3v2.``version`` tag. Keyword tags: title, artist, album, isrc,
    copyright, publisher, licence_url, lyrics (USLT), synced (``"text@ms|text@ms"`` → SYLT),
    barcode, language."""
    from mutagen.id3 import (APIC, ID3, SYLT, TALB, TCOP, TIT2, TLAN, TPE1, TPUB, TSRC, TXXX, USLT,
                             WCOP, Encoding)

    path.write_bytes(mp3_frames(frames, xing_frames=xing_frames))
    tag = ID3()
    mapping = {"title": TIT2, "artist": TPE1, "album": TALB, "isrc": TSRC, "copyright": TCOP,
               "publisher": TPUB, "language": TLAN}
    for key, frame in mapping.items():
        if key in tags:
            tag.add(frame(encoding=Encoding.UTF8, text=[tags[key]]))
    if "licence_url" in tags:
        tag.add(WCOP(url=tags["licence_url"]))
    if "barcode" in tags:
        tag.add(TXXX(encoding=Encoding.UTF8, desc="BARCODE", text=[tags["barcode"]]))
    if "lyrics" in tags:
        tag.add(USLT(encoding=Encoding.UTF8, lang="eng", desc="", text=tags["lyrics"]))
    if "synced" in tags:
        pairs = [(t.rsplit("@", 1)[0], int(t.rsplit("@", 1)[1])) for t in tags["synced"].split("|")]
        tag.add(SYLT(encoding=Encoding.UTF8, lang="eng", format=2, type=1, desc="", text=pairs))
    if picture_bytes:
        tag.add(APIC(encoding=Encoding.UTF8, mime="image/png", type=3, desc="cover", data=b"\x89PNG" + bytes(picture_bytes)))
    tag.save(path, v2_version=version, padding=lambda info: 0)
    return path.read_bytes()


def flac_file(path: Path, *, picture_bytes: int = 0, seconds: int = 30, **comments: str) -> bytes:
    """A FLAC file: STREAMINFO, optional large PICTURE, VORBIS_COMMENT, then fake frames."""
    rate, channels, bps = 44100, 2, 16
    total = rate * seconds
    info = struct.pack(">HH", 4096, 4096) + (0).to_bytes(3, "big") + (0).to_bytes(3, "big")
    packed = (rate << 44) | ((channels - 1) << 41) | ((bps - 1) << 36) | total
    info += packed.to_bytes(8, "big") + bytes(16)
    blocks = [(0, info)]
    if picture_bytes:
        mime, desc, data = b"image/png", b"", b"\x89PNG" + bytes(picture_bytes)
        pic = struct.pack(">I", 3) + struct.pack(">I", len(mime)) + mime + struct.pack(">I", len(desc)) + desc
        pic += struct.pack(">IIII", 1, 1, 24, 0) + struct.pack(">I", len(data)) + data
        blocks.append((6, pic))
    vendor = b"heed-tests"
    entries = [f"{k.upper()}={v}".encode() for k, v in comments.items()]
    vc = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    vc += b"".join(struct.pack("<I", len(e)) + e for e in entries)
    blocks.append((4, vc))
    out = bytearray(b"fLaC")
    for i, (kind, data) in enumerate(blocks):
        last = 0x80 if i == len(blocks) - 1 else 0
        out += bytes([last | kind]) + len(data).to_bytes(3, "big") + data
    out += b"\xff\xf8" + bytes(20000)  # a frame sync and filler
    path.write_bytes(bytes(out))
    return bytes(out)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packet: bytes, *, granule: int, seq: int, flags: int, serial: int = 0x484545) -> bytes:
    segments = []
    rest = len(packet)
    while rest >= 255:
        segments.append(255)
        rest -= 255
    segments.append(rest)
    header = b"OggS" + bytes([0, flags]) + struct.pack("<qIII", granule, serial, seq, 0)
    header += bytes([len(segments)]) + bytes(segments)
    page = bytearray(header + packet)
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def opus_file(path: Path, *, seconds: int = 30, filler: int = 150_000, **comments: str) -> bytes:
    """An Ogg Opus file: OpusHead, OpusTags, filler pages, and a last page whose granule
    position gives the duration (so reading it needs the file's tail)."""
    pre_skip = 312
    head = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", pre_skip, 48000, 0, 0)
    vendor = b"heed-tests"
    entries = [f"{k.upper()}={v}".encode() for k, v in comments.items()]
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(entries))
    tags += b"".join(struct.pack("<I", len(e)) + e for e in entries)
    pages = [_ogg_page(head, granule=0, seq=0, flags=0x02), _ogg_page(tags, granule=0, seq=1, flags=0)]
    seq, granule = 2, 0
    chunk = bytes([0xF8]) + bytes(3000)  # a TOC byte and silence-ish filler
    while sum(len(p) for p in pages) < filler:
        granule += 48000
        pages.append(_ogg_page(chunk, granule=min(granule, seconds * 48000), seq=seq, flags=0))
        seq += 1
    pages.append(_ogg_page(chunk, granule=seconds * 48000 + pre_skip, seq=seq, flags=0x04))
    data = b"".join(pages)
    path.write_bytes(data)
    return data


def padded(data: bytes, size: int) -> bytes:
    """``data`` followed by MPEG frames until it is at least ``size`` bytes long."""
    frames = max(0, (size - len(data)) // _MP3_FRAME_LEN + 1)
    return data + mp3_frames(frames)


__all__ = ["flac_file", "mp3_file", "mp3_frames", "opus_file", "padded"]

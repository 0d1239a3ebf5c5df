"""Embedded audio metadata from byte ranges: the sparse file, range planning per format, the
tag mapping, and merging into a recording. Files are made at test time (audio_samples)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audio_samples import flac_file, mp3_file, opus_file

from crawler.extract.audio import (
    AudioResult,
    SparseFile,
    apply_audio,
    parse_content_range,
    plan_ranges,
    read_tags,
    sniff,
)
from crawler.items import Recording, make_item_id

HEAD = 64 * 1024
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def fetch_like_the_spider(data: bytes, *, head: int = HEAD, tail: int = HEAD, max_bytes: int = 4 << 20):
    """Fetch the head, plan, fetch the planned ranges: the chunks the spider would hold."""
    chunks = {0: data[:head]}
    plan = plan_ranges(chunks[0], len(data), tail_bytes=tail, max_bytes=max_bytes)
    for start, end in plan.ranges:
        chunks[start] = data[start : end + 1]
    return chunks, plan


def test_sparse_file_reads_fetched_ranges_and_zeros_elsewhere() -> None:
    f = SparseFile(10, {0: b"abc", 7: b"xyz"})
    assert f.read() == b"abc\0\0\0\0xyz"
    f.seek(-2, io.SEEK_END)
    assert f.read(5) == b"yz"
    f.seek(2)
    assert f.read(3) == b"c\0\0" and f.tell() == 5
    assert f.read(0) == b""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 0-65535/1234567", (0, 65535, 1234567)),
        ("bytes 100-199/*", (100, 199, None)),
        ("bytes 9-3/100", None),
        ("items 0-1/2", None),
        (None, None),
    ],
)
def test_content_range(value: str | None, expected: tuple | None) -> None:
    assert parse_content_range(value) == expected


def test_id3v23_small_tag_head_is_enough(tmp_path: Path) -> None:
    data = mp3_file(tmp_path / "a.mp3", version=3, frames=200, title="Night Ferry", artist="The Tideline Quartet",
                    album="Crossings", isrc="GB-K9R-21-00123", copyright="2021 Open Reel Collective",
                    publisher="Open Reel Collective", licence_url=CC_BY, barcode="036000291452")
    chunks, plan = fetch_like_the_spider(data)
    assert sniff(data) == "id3" and plan.ranges == () or plan.ranges[0][0] >= len(chunks[0])
    tags = read_tags(chunks, len(data))
    assert tags.error is None and tags.tag_format == "id3v2.3" and tags.codec == "mp3"
    values = tags.draft.values
    assert values["title"] == "Night Ferry" and values["isrc"] == "GBK9R2100123"
    assert values["record_label"] == "Open Reel Collective" and values["upc_ean"] == "0036000291452"
    assert values["copyright_notice"] == "2021 Open Reel Collective"
    assert [lic.spdx for lic in tags.draft.licences] == ["CC-BY-4.0"]
    assert (tags.sample_rate_hz, tags.channels, tags.bitrate_bps) == (44100, 2, 128000)
    # CBR without a Xing frame: the duration is an estimate from the true file size
    assert not tags.duration_from_header
    assert tags.duration_s == pytest.approx(200 * 417 * 8 / 128000, rel=0.02)
    locators = {fs["field"]: fs["locator"] for fs in tags.draft.sources}
    assert locators["isrc"] == "TSRC" and locators["upc_ean"] == "TXXX:BARCODE" and locators["license"] == "WCOP"


def test_id3v24_tag_larger_than_the_head_needs_a_second_range(tmp_path: Path) -> None:
    data = mp3_file(tmp_path / "b.mp3", version=4, frames=60, xing_frames=1149, title="Cover Art",
                    picture_bytes=300_000, isrc="QZABC2400001")
    head_only = read_tags({0: data[:HEAD]}, len(data))
    assert head_only.error is not None  # the tag runs past the head
    chunks, plan = fetch_like_the_spider(data)
    assert len(plan.ranges) == 1 and plan.ranges[0][0] == HEAD
    tags = read_tags(chunks, len(data))
    assert tags.tag_format == "id3v2.4" and tags.draft.values["isrc"] == "QZABC2400001"
    assert tags.duration_from_header and tags.duration_s == pytest.approx(1149 * 1152 / 44100, rel=0.01)
    capped = plan_ranges(data[:HEAD], len(data), max_bytes=128 * 1024)
    assert capped.ranges == () and capped.warnings == ("tags_truncated",)


def test_flac_picture_block_pushes_comments_past_the_head(tmp_path: Path) -> None:
    data = flac_file(tmp_path / "c.flac", picture_bytes=100_000, title="Shoreline", isrc="GBAYE6900124",
                     license="https://creativecommons.org/licenses/by-sa/4.0/", artist="A", composer="C")
    assert read_tags({0: data[:HEAD]}, len(data)).draft.values.get("title") is None
    chunks, plan = fetch_like_the_spider(data)
    assert plan.ranges and plan.ranges[0][0] == HEAD
    tags = read_tags(chunks, len(data))
    assert tags.codec == "flac" and tags.tag_format == "vorbis"
    assert tags.duration_from_header and tags.duration_s == pytest.approx(30.0)
    assert tags.draft.values["isrc"] == "GBAYE6900124" and tags.draft.values["composers"] == ["C"]
    assert [lic.spdx for lic in tags.draft.licences] == ["CC-BY-SA-4.0"]


def test_ogg_opus_needs_the_tail_for_its_duration(tmp_path: Path) -> None:
    data = opus_file(tmp_path / "d.opus", title="Low Tide", artist="Fixture", license=CC_BY)
    assert len(data) > 2 * HEAD
    head_only = read_tags({0: data[:HEAD]}, len(data))
    assert head_only.error is not None or not head_only.duration_s
    chunks, plan = fetch_like_the_spider(data)
    assert plan.ranges == ((len(data) - HEAD, len(data) - 1),)
    tags = read_tags(chunks, len(data))
    assert tags.codec == "opus" and tags.tag_format == "opus"
    assert tags.duration_s == pytest.approx(30.0, abs=0.05) and tags.duration_from_header
    assert tags.draft.values["title"] == "Low Tide"


def test_unknown_bytes_are_reported_not_raised() -> None:
    tags = read_tags({0: b"<html>not audio</html>"}, 22)
    assert tags.error == "unrecognised" and tags.draft.values == {}
    assert sniff(b"<html>") == "unknown"


def _recording(**values: object) -> Recording:
    return Recording(item_id=make_item_id("generic_web", "https://label.test/t/1"), source="generic_web",
                     page_url="https://label.test/t/1", fetched_at=datetime(2025, 1, 1, tzinfo=UTC),
                     extractor="page", extractor_version="0", audio_url="https://label.test/a.mp3",
                     audio_url_kind="full", **values)  # type: ignore[arg-type]


def test_apply_audio_file_isrc_and_header_duration_win(tmp_path: Path) -> None:
    data = mp3_file(tmp_path / "e.mp3", version=3, frames=60, xing_frames=2296, title="File Title",
                    isrc="GBAYE6900123", licence_url="https://creativecommons.org/licenses/by-nc/4.0/",
                    lyrics="first line\nsecond line", synced="first line@1000|second line@2500")
    rec = _recording(title="Page Title", isrc="GBAYE6900999", isrc_all=["GBAYE6900999"], duration_s=40.0)
    rec.license_candidates = [{"spdx": "CC-BY-4.0", "source": "json-ld", "raw": CC_BY}]
    chunks, _ = fetch_like_the_spider(data)
    result = AudioResult(status="ok", content_type="audio/mpeg", total_size=len(data), ranges=[(0, len(data) - 1)],
                         sha256="ab" * 32, tags=read_tags(chunks, len(data)))
    lyrics = apply_audio(rec, result)
    assert rec.title == "Page Title"  # only gaps are filled
    assert rec.isrc == "GBAYE6900123" and rec.isrc_all == ["GBAYE6900123", "GBAYE6900999"]
    assert rec.duration_s == pytest.approx(2296 * 1152 / 44100, rel=0.01) and rec.duration_estimated is False
    assert {"isrc_conflict", "duration_mismatch", "license_conflict"} <= set(rec.warnings)
    assert rec.license_status == "conflicting" and rec.license_spdx == "CC-BY-NC-4.0"
    assert rec.byte_ranges == [{"start": 0, "end": len(data) - 1}] and rec.file_size_bytes == len(data)
    assert rec.has_embedded_lyrics and rec.has_synced_lyrics and rec.embedded_tag_format == "id3v2.3"
    assert sorted(d.format for d in lyrics) == ["id3_sylt", "id3_uslt"]
    assert any(fs["field"] == "byte_ranges" and fs["raw"] == "sha256:" + "ab" * 32 for fs in rec.field_sources)


def test_apply_audio_without_tags_keeps_the_page_values() -> None:
    rec = _recording(title="Page Title", duration_s=200.0)
    apply_audio(rec, AudioResult(status="range-ignored", total_size=9_000_000))
    assert (rec.audio_fetch, rec.title, rec.duration_s, rec.file_size_bytes) == ("range-ignored", "Page Title", 200.0, 9_000_000)

"""Lyrics formats and the rule that text is only kept with a storage basis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extract.draft import LyricsDraft, PageContext
from crawler.extract.licences import normalize_licence
from crawler.extract.lyrics import (
    analyse,
    normalized_lines,
    parse_lrc,
    parse_plain,
    parse_sylt,
    parse_ttml,
    parse_uslt,
    script_of,
    simhash64,
    storage_basis,
    ttml_time,
)
from crawler.extract.lyricsitems import build_lyrics
from crawler.items import Lyrics

LRC = """[ti:Paper Moons]
[ar:Fixture Duo]
[al:Night Shift]
[by:fixture-maker]
[offset:+250]
[00:12.00]first line of an invented verse
[00:15.40]<00:15.40>second <00:15.90>line <00:16.30>with <00:16.70>word <00:17.00>timing
[00:20.10][00:52.10]a repeated chorus line
"""

TTML = """<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttm="http://www.w3.org/ns/ttml#metadata"
 xmlns:itunes="http://itunes.apple.com/lyric-ttml-extensions" xml:lang="en" itunes:timing="Word">
 <head><metadata><ttm:title>Paper Moons</ttm:title></metadata></head>
 <body dur="3:05.000">
  <div begin="0:12.000" end="0:20.000" itunes:songPart="Verse">
   <p begin="0:12.000" end="0:15.000" itunes:key="L1"><span begin="0:12.000" end="0:12.500">first</span> <span begin="0:12.500" end="0:13.000">line</span></p>
   <p begin="0:15.400" end="0:18.000" itunes:key="L2"><span begin="0:15.400" end="0:16.000">second</span> <span begin="0:16.000" end="0:17.000">line</span></p>
  </div>
  <div begin="0:20.000" end="0:30.000" itunes:songPart="Chorus"><p begin="0:20.100" end="0:24.000">a chorus line</p></div>
 </body></tt>"""


def test_lrc_tags_offset_and_enhanced_word_timing() -> None:
    parsed = parse_lrc(LRC)
    facts = analyse(parsed)
    assert (parsed.format, parsed.sync_level, facts.line_count) == ("lrc_enhanced", "word", 3)
    assert parsed.tags["by"] == "fixture-maker" and parsed.tags["offset"] == "+250"
    assert (parsed.title, parsed.artist) == ("Paper Moons", "Fixture Duo")
    assert facts.first_ts_s == pytest.approx(11.75) and facts.last_ts_s == pytest.approx(51.85)
    assert "second line with word timing" in normalized_lines(parsed.lines)


def test_plain_lrc_is_line_synced() -> None:
    parsed = parse_lrc("[00:01.00]one\n[00:02.50]two\n")
    assert (parsed.format, parsed.sync_level, parsed.times) == ("lrc", "line", [1.0, 2.5])


def test_ttml_word_timed() -> None:
    parsed = parse_ttml(TTML)
    facts = analyse(parsed)
    assert (parsed.format, parsed.sync_level, parsed.language, parsed.title) == ("ttml", "word", "en", "Paper Moons")
    assert (facts.line_count, facts.section_count, facts.first_ts_s) == (3, 2, 12.0)


@pytest.mark.parametrize(("raw", "seconds"), [("1:02.500", 62.5), ("12.25", 12.25), ("01:00:01.000", 3601.0),
                                              ("12.5s", 12.5), ("250ms", 0.25), ("bogus", None)])
def test_ttml_times(raw: str, seconds: float | None) -> None:
    assert ttml_time(raw) == seconds


def test_sylt_millisecond_and_frame_formats() -> None:
    ms = parse_sylt([("first line", 1000), ("second line", 2500)], 2, "eng")
    assert (ms.sync_level, ms.times, ms.language, analyse(ms).line_count) == ("line", [1.0, 2.5], "en", 2)
    frames = parse_sylt([("first line", 10)], 1, "xxx")
    assert frames.times == [] and frames.warnings == ["sylt_mpeg_frames"] and frames.language is None


def test_uslt_may_hold_lrc() -> None:
    assert parse_uslt("plain words\nmore words", "fre").language == "fr"
    assert parse_uslt("[00:01.00]one\n[00:02.00]two").format == "lrc"


def test_section_labels_are_counted_and_dropped() -> None:
    facts = analyse(parse_plain("[Verse 1]\nwalking home\n\n[Chorus]\nla la la\n"))
    assert (facts.line_count, facts.section_count, facts.word_count) == (2, 2, 5)


def test_hashes_ignore_case_whitespace_and_timestamps() -> None:
    a = analyse(parse_plain("Walking  Home\nLa la la"))
    b = analyse(parse_lrc("[00:01.00]walking home\n[00:03.00] la LA la "))
    assert a.text_sha256 == b.text_sha256 and a.text_simhash64 == b.text_simhash64
    assert len(a.text_simhash64) == 16 and len(a.text_sha256) == 64


def test_simhash_is_close_for_near_duplicates() -> None:
    base = [f"line number {i} of a long invented song" for i in range(20)]
    near = base[:-1] + ["line number 19 of a long invented tune"]
    far = [f"completely different words {i} here" for i in range(20)]
    distance = lambda x, y: bin(int(simhash64(x), 16) ^ int(simhash64(y), 16)).count("1")  # noqa: E731
    assert distance(base, near) < distance(base, far)


@pytest.mark.parametrize(("text", "script"), [("hello", "Latn"), ("привет мир", "Cyrl"), ("夜の街", "Jpan"),
                                              ("東京", "Hani"), ("123", None)])
def test_script(text: str, script: str | None) -> None:
    assert script_of(text) == script


@pytest.mark.parametrize(
    ("licence", "source", "basis"),
    [
        ("https://creativecommons.org/licenses/by-sa/4.0/", "json-ld", "cc_license"),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "api", "cc_license"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "podcast-ns", "public_domain"),
        ("https://creativecommons.org/licenses/by/4.0/", "rel-license", "not_stored"),
        ("all rights reserved", "json-ld", "not_stored"),
        (None, "", "not_stored"),
    ],
)
def test_storage_basis(licence: str | None, source: str, basis: str) -> None:
    lic = normalize_licence(licence, source=source) if licence else None
    assert storage_basis(lic) == basis


CTX = PageContext(page_url="https://lyrics.test/songs/paper-moons", fetched_at=datetime(2025, 1, 1, tzinfo=UTC))


def test_lyrics_without_a_basis_keep_hashes_only() -> None:
    draft = LyricsDraft(text="[Verse]\nfirst line\nsecond line", format="html", syntax="html-text",
                        locator="//div[@data-lyrics-container='true']", with_recording=False)
    item = build_lyrics(draft, CTX, None)
    assert isinstance(item, Lyrics)
    assert item.text is None and not item.text_stored and item.text_storage_basis == "not_stored"
    assert len(item.text_sha256 or "") == 64 and item.line_count == 2 and item.section_count == 1
    assert all(fs["raw"] is None for fs in item.field_sources)


def test_lyrics_with_a_cc_licence_keep_their_text() -> None:
    lic = normalize_licence("https://creativecommons.org/licenses/by-sa/4.0/", source="json-ld")
    draft = LyricsDraft(text="first line\nsecond line", format="plain", syntax="json-ld", locator="script[1]/x",
                        licence=lic)
    item = build_lyrics(draft, CTX, None)
    assert item is not None and item.text_stored and item.text == "first line\nsecond line"
    assert (item.text_storage_basis, item.license_spdx, item.license_inherited_from_recording) == (
        "cc_license", "CC-BY-SA-4.0", False)


def test_synced_lyrics_keep_their_raw_form_when_stored() -> None:
    lic = normalize_licence("cc0", source="podcast-ns")
    item = build_lyrics(LyricsDraft(text=LRC, format="lrc", syntax="rss", locator="x", licence=lic), CTX, None)
    assert item is not None and item.text == LRC and item.format == "lrc_enhanced" and item.lrc_tags["by"] == "fixture-maker"


def test_empty_or_broken_lyrics_give_no_item() -> None:
    assert build_lyrics(LyricsDraft(text="\n\n[Chorus]\n", format="plain", syntax="x", locator="x"), CTX, None) is None
    assert build_lyrics(LyricsDraft(text="<tt><p>", format="ttml", syntax="x", locator="x"), CTX, None) is None


def test_text_without_basis_is_refused_by_the_item() -> None:
    with pytest.raises(ValueError, match="storage basis"):
        Lyrics(item_id="a" * 64, source="s", page_url="https://x.test/", fetched_at=datetime(2025, 1, 1, tzinfo=UTC),
               extractor="e", extractor_version="0", text="words")

"""Whole-page extraction: a table over fixture pages that mirror real site structures
(Bandcamp-, SoundCloud-, Jamendo-, Internet-Archive-, lyric-page-like, RDFa chooser, broken
markup), then the merge rules between syntaxes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.extract.draft import PageContext
from crawler.extract.lyricsitems import build_lyrics
from crawler.extract.page import extract_page, feed_links, page_lyrics
from crawler.items import Recording

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _page(name: str, url: str):
    ctx = PageContext(page_url=url, fetched_at=AT, http_status=200, source="generic_web", extractor="page")
    return extract_page((PAGES / name).read_bytes(), ctx), ctx


def _subset(rec: Recording, expected: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(rec, k) for k in expected}


TABLE = [
    pytest.param(
        "bandcamp_like.html", "https://fixture-band.example/track/glass-river",
        {"title": "Glass River", "artist_credit": "Fixture Band", "album_title": "Tidewater", "duration_s": 252.0,
         "release_date": "2021-03-02", "release_date_precision": "day", "track_number": 2,
         "record_label": None,  # the JSON-LD publisher is the seller account
         "license_status": "all_rights_reserved", "license_spdx": "NOASSERTION",
         "other_ids": [{"scheme": "fixture-band.example:track_id", "value": "1001"}],
         "audio_url_kind": "embed_page",  # og:video (text/html) is a player page
         "canonical_url": "https://fixture-band.example/track/glass-river"},
        id="bandcamp-like",
    ),
    pytest.param(
        "soundcloud_like.html", "https://sound-fixture.example/fixture/low-tide",
        {"title": "Low Tide", "artist_credit": "Fixture", "duration_s": 125.0, "genres": ["Ambient"],
         "artist_ids": [{"scheme": "url", "id": "https://sound-fixture.example/fixture"}],
         "audio_url": "https://player.example/?track=42", "audio_url_kind": "embed_page",
         "other_ids": [{"scheme": "soundcloud:track", "value": "42"}], "license_status": "unknown",
         "license_spdx": None},
        id="soundcloud-like-microdata-in-noscript",
    ),
    pytest.param(
        "jamendo_like.html", "https://label.example/track/night-drive",
        {"title": "Night Drive", "duration_s": 215.0, "track_number": 3, "disc_number": 1,
         "album_url": "https://label.example/album/after-hours",
         "artist_ids": [{"scheme": "url", "id": "https://label.example/artist/one"},
                        {"scheme": "url", "id": "https://label.example/artist/two"}],
         "audio_url": "https://cdn.example/preview/night-drive.mp3", "audio_url_kind": "preview",
         "mime_type": "audio/mpeg", "release_date": "2020-10-01", "license_spdx": "CC-BY-4.0",
         "license_status": "open", "license_source": "rel-license",
         "attribution_text": "Night Drive by The Examples"},
        id="jamendo-like-open-graph",
    ),
    pytest.param(
        "lyrics_page.html", "https://lyrics-fixture.example/songs/paper-moons?ref=home",
        {"title": "Paper Moons", "artist_credit": "Fixture Duo", "isrc": "QZFX12400007",
         "canonical_url": "https://lyrics-fixture.example/fixture-duo-paper-moons-lyrics",
         "license_source": "rel-license", "license_status": "open"},
        id="lyric-page-like",
    ),
    pytest.param(
        "rdfa_chooser.html", "https://label.example/t/7",
        {"title": "Harbour Lights", "artist_credit": "Fixture Trio", "duration_s": 221.0, "isrc": "NLA1B2200046",
         "license_spdx": "CC-BY-NC-SA-4.0", "license_status": "open_noncommercial",
         "license_flags": {"by": True, "sa": True, "nc": True, "nd": False},
         "attribution_text": "Harbour Lights by Fixture Trio"},
        id="rdfa-and-cc-chooser",
    ),
    pytest.param(
        "footer_licence_only.html", "https://site.example/tin-roof",
        {"title": "Tin Roof", "license_source": "rel-license", "license_status": "open_noncommercial",
         "copyright_year": 2019, "copyright_holder": "Fixture Records",
         "rights_holder_candidates": ["fixture records"]},
        id="footer-licence-is-page-level",
    ),
    pytest.param(
        "jsonld_golden.html", "https://label.example/recordings/night-drive",
        {"isrc": "GBAYE6900123", "iswc": "T-034.524.680-1", "license_spdx": "CC-BY-SA-4.0",
         "file_size_bytes": 31200000, "file_size_approx": True, "composers": ["A. Writer"],
         "lyricists": ["B. Poet"], "mime_type": "audio/flac", "language": "en", "copyright_year": 2021,
         "copyright_holder": "Example Records"},
        id="golden",
    ),
]


@pytest.mark.parametrize(("fixture", "url", "expected"), TABLE)
def test_fixture_pages(fixture: str, url: str, expected: dict[str, Any]) -> None:
    result, _ = _page(fixture, url)
    assert len(result.recordings) == 1, result.warnings
    rec = result.recordings[0]
    assert _subset(rec, expected) == expected
    assert rec.extractor == "page" and rec.source == "generic_web" and rec.page_url == url
    for fs in rec.field_sources:
        assert fs["syntax"] and fs["locator"]


@pytest.mark.parametrize("fixture", ["archive_like.html", "og_album_page.html"])
def test_pages_that_describe_no_recording(fixture: str) -> None:
    result, _ = _page(fixture, "https://archive.example/details/fixture-netlabel-042")
    assert result.recordings == [] and result.lyrics == []


def test_scripts_that_are_not_json_ld_are_ignored_but_microdata_is_read() -> None:
    result, _ = _page("jsonld_none.html", "https://music.test/none")
    assert [r.title for r in result.recordings] == ["Microdata only"]


def test_broken_markup_yields_warnings_not_errors() -> None:
    result, _ = _page("broken_markup.html", "https://broken.example/t")
    assert "page-extractor-error" not in result.warnings
    assert "jsonld-block-1-invalid" in result.warnings
    rec = result.recordings[0]
    assert rec.audio_url is None and "audio_url_invalid" in rec.warnings and "duration_invalid" in rec.warnings
    assert rec.isrc is None


def test_every_syntax_is_recorded_with_its_locator() -> None:
    result, _ = _page("jamendo_like.html", "https://label.example/track/night-drive")
    syntaxes = {fs["syntax"] for fs in result.recordings[0].field_sources}
    assert {"opengraph", "twitter", "rel-license"} <= syntaxes
    locators = {fs["locator"] for fs in result.recordings[0].field_sources if fs["field"] == "artist_ids"}
    assert locators == {"meta[@name='music:musician'][1]", "meta[@name='music:musician'][2]"}


def test_lyric_page_markup_becomes_hash_only_lyrics() -> None:
    result, ctx = _page("lyrics_page.html", "https://lyrics-fixture.example/songs/paper-moons")
    (rec,), (drafts,) = result.recordings, result.recording_lyrics
    assert [d.format for d in drafts] == ["html"]
    item = build_lyrics(drafts[0], ctx, rec)
    assert item is not None
    assert (item.line_count, item.section_count, item.sync_level) == (5, 3, "none")
    assert item.text is None and item.text_storage_basis == "not_stored"  # a footer licence is no basis
    assert (item.license_spdx, item.license_source, item.license_status) == ("CC-BY-4.0", "rel-license", "open")
    assert item.recording_ref == {"item_id": rec.item_id, "isrc": "QZFX12400007", "mbid_recording": None}


def test_golden_composition_lyrics_inherit_the_item_licence() -> None:
    html = (PAGES / "jsonld_golden.html").read_text().replace(
        '"iswcCode":"T-034.524.680-1",',
        '"iswcCode":"T-034.524.680-1","lyrics":{"@type":"CreativeWork","inLanguage":"en","text":"one line\\ntwo line"},')
    ctx = PageContext(page_url="https://label.example/r", fetched_at=AT)
    result = extract_page(html, ctx)
    (rec,), (drafts,) = result.recordings, result.recording_lyrics
    item = build_lyrics(drafts[0], ctx, rec)
    assert item is not None and item.text == "one line\ntwo line" and item.text_storage_basis == "cc_license"
    assert item.license_inherited_from_recording and item.language_declared == "en" and item.iswc == rec.iswc


def test_apple_style_composition_lyrics_attach_to_the_page_recording() -> None:
    html = (PAGES / "jsonld_apple_like.html").read_text().replace(
        '"timeRequired":"PT3M5S",', '"timeRequired":"PT3M5S","lyrics":{"@type":"CreativeWork","text":"one\ntwo"},')
    ctx = PageContext(page_url="https://music.example/song/paper-moons/1", fetched_at=AT)
    result = extract_page(html, ctx)
    (rec,), (drafts,) = result.recordings, result.recording_lyrics
    assert result.lyrics == [] and len(drafts) == 1
    item = build_lyrics(drafts[0], ctx, rec)
    assert item is not None and item.recording_ref["item_id"] == rec.item_id and item.line_count == 2
    assert not item.license_inherited_from_recording


def test_page_level_signals_do_not_spread_over_several_recordings() -> None:
    html = (PAGES / "jsonld_top_level_array.html").read_text().replace(
        "</head>", '<meta property="og:audio" content="https://cdn.example/x.mp3"><link rel="license" '
                   'href="https://creativecommons.org/licenses/by/4.0/"></head>')
    result = extract_page(html, PageContext(page_url="https://music.test/split", fetched_at=AT))
    assert len(result.recordings) == 2
    assert all(r.audio_url is None and r.license_status == "unknown" for r in result.recordings)


def test_microdata_matching_json_ld_is_merged_not_duplicated() -> None:
    html = (PAGES / "jsonld_golden.html").read_text().replace(
        "</body>", '<div itemscope itemtype="http://schema.org/MusicRecording"><span itemprop="name">Night Drive</span>'
                   '<meta itemprop="duration" content="PT3M50S"><meta itemprop="genre" content="Synthwave"></div></body>')
    result = extract_page(html, PageContext(page_url="https://label.example/r", fetched_at=AT))
    (rec,) = result.recordings
    assert rec.duration_s == 215.0 and rec.genres == ["Synthwave"] and "duration_mismatch" in rec.warnings


def test_feed_links_and_base_url() -> None:
    from parsel import Selector

    sel = Selector(text='<head><base href="https://cdn.example/site/"><link rel="alternate" '
                        'type="application/rss+xml" href="feed.xml"><link rel="alternate" type="text/html" href="x"></head>')
    assert feed_links(sel, "https://cdn.example/site/") == ["https://cdn.example/site/feed.xml"]
    assert page_lyrics(Selector(text="<p>nothing</p>"), "https://x.test/") == []

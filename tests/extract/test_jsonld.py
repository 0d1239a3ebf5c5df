"""JSON-LD recording extraction: a table over fixture pages, then the parsing rules one by one,
then a property test that no input makes the extractor raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crawler
from crawler.extract.jsonld import (
    ExtractResult,
    extract_recordings,
    find_blocks,
    has_type,
    parse_block,
)
from crawler.items import Recording, make_item_id

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
FETCHED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _extract(html: str | bytes, page_url: str = "https://music.test/page") -> ExtractResult:
    return extract_recordings(html, page_url, fetched_at=FETCHED_AT)


def _page(*blocks: str, script_type: str = "application/ld+json") -> str:
    scripts = "".join(f'<script type="{script_type}">{block}</script>' for block in blocks)
    return f"<!DOCTYPE html><html><head>{scripts}</head><body></body></html>"


def _subset(recording: Recording, expected: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(recording, name) for name in expected}


# --------------------------------------------------------------------------- fixture table

FIXTURE_CASES = [
    pytest.param(
        "jsonld_bandcamp_like.html",
        "https://fixture-band.example/track/glass-river?from=search",
        [],
        [
            {
                "title": "Glass River",
                "artist_credit": "Fixture Band",
                "artists": ["Fixture Band"],
                "album_title": "Tidewater",
                "duration_s": 252.0,
                "isrc": None,
                "license_url": None,
                "audio_url": None,
                "canonical_url": "https://fixture-band.example/track/glass-river",
                "warnings": [],
            }
        ],
        id="bandcamp-like",
    ),
    pytest.param(
        "jsonld_apple_like.html",
        "https://music.example/song/paper-moons/1",
        [],
        [
            {
                "title": "Paper Moons",
                "artist_credit": "Fixture Duo",
                "artists": ["Fixture Duo"],
                "album_title": "Night Shift",
                "duration_s": 185.0,
                "canonical_url": "https://music.example/song/paper-moons/1",
            }
        ],
        id="apple-like-nested",
    ),
    pytest.param(
        "jsonld_golden.html",
        "https://label.example/recordings/night-drive",
        [],
        [
            {
                "title": "Night Drive",
                "artist_credit": "The Examples",
                "artists": ["The Examples"],
                "album_title": None,
                "duration_s": 215.0,
                "isrc": "GBAYE6900123",
                "license_url_raw": "https://creativecommons.org/licenses/by-sa/4.0/",
                "license_url": "https://creativecommons.org/licenses/by-sa/4.0/",
                "audio_url": "https://cdn.example/night-drive.flac",
                "canonical_url": "https://label.example/recordings/night-drive",
                "warnings": [],
            }
        ],
        id="golden-graph",
    ),
    pytest.param(
        "jsonld_top_level_array.html",
        "https://music.test/releases/split-single",
        [],
        [
            {
                "title": "Harbour Lights",
                "artist_credit": "Fixture Trio & Friends",
                "artists": [],  # a plain credit string is never split
                "album_title": "Split Single",
                "duration_s": 221.0,
            },
            {
                "title": "Low Tide",
                "artist_credit": "Solo Fixture",
                "artists": ["Solo Fixture"],
                "album_title": "Split Single",
                "duration_s": 125.0,
            },
        ],
        id="top-level-array",
    ),
    pytest.param(
        "jsonld_type_list.html",
        "https://comp.example/compilation",
        [],
        [
            {
                "title": "First Light",
                "artist_credit": "Ana Example, Ben Example",
                "artists": ["Ana Example", "Ben Example"],
                "duration_s": 3723.5,
                "canonical_url": "https://comp.example/tracks/one",
            },
            {
                "title": "Second Wind",
                "artist_credit": "Cleo Example, Dev Example",
                "artists": ["Cleo Example", "Dev Example"],
                "duration_s": 218.0,
                "canonical_url": "https://comp.example/tracks/two",
            },
            {
                "title": "Café Terrace",
                "artist_credit": "Ana Example",
                "artists": ["Ana Example"],
                "duration_s": None,
                "canonical_url": "https://comp.example/tracks/three",
            },
        ],
        id="type-list-and-type-iris",
    ),
    pytest.param(
        "jsonld_comment_wrapped.html",
        "https://music.test/t/old-bridge",
        [],
        [{"title": "Old Bridge (Live)", "artist_credit": "The Fixtures", "duration_s": 241.0}],
        id="comment-wrapped-with-control-chars",
    ),
    pytest.param(
        "jsonld_empty_block.html",
        "https://music.test/t/quiet-harbour",
        [],
        [{"title": "Quiet Harbour", "artist_credit": "Fixture Quartet", "duration_s": 150.0}],
        id="empty-blocks-skipped-quietly",
    ),
    pytest.param(
        "jsonld_trailing_comma.html",
        "https://music.test/t/commas",
        ["jsonld-block-1-repaired"],
        [
            {
                "title": "Commas, Everywhere ,}",  # commas inside strings survive the repair
                "artists": ["Fixture Band"],
                "duration_s": 180.0,
            }
        ],
        id="trailing-commas",
    ),
    pytest.param(
        "jsonld_broken_beside_valid.html",
        "https://music.test/t/second-chance",
        ["jsonld-block-1-invalid"],
        [
            {
                "title": "Second Chance",
                "isrc": "QZABC2400001",
                "canonical_url": "https://music.test/tracks/second-chance?a=1&b=2&utm_source=feed",
            }
        ],
        id="broken-block-beside-valid",
    ),
    pytest.param(
        "jsonld_rejected_values.html",
        "https://music.test/t/static-hiss",
        [],
        [
            {
                "title": "Static Hiss",
                "isrc": None,
                "duration_s": None,
                "license_url_raw": "cc-by",
                "license_url": None,  # an unversioned token names no licence URL
                "license_spdx": "LicenseRef-CC-BY",
                "license_status": "open",
                "audio_url": "https://player.example/?track=42",
                "audio_url_kind": "embed_page",  # embedUrl is a player page, never audio
                "canonical_url": "https://music.test/t/static-hiss",  # blank node id ignored
                "warnings": ["duration_out_of_range", "isrc_invalid"],
            }
        ],
        id="rejected-values",
    ),
    pytest.param("jsonld_none.html", "https://music.test/none", [], [], id="no-jsonld"),
    pytest.param(
        "jsonld_non_recording.html", "https://label.example/", [], [], id="non-recording-types"
    ),
]


@pytest.mark.parametrize(("fixture", "page_url", "page_warnings", "expected"), FIXTURE_CASES)
def test_fixture_pages(
    fixture: str, page_url: str, page_warnings: list[str], expected: list[dict[str, Any]]
) -> None:
    result = extract_recordings(
        (PAGES / fixture).read_bytes(),
        page_url,
        fetched_at=FETCHED_AT,
        http_status=200,
        body_sha256="ab" * 32,
    )
    assert result.warnings == page_warnings
    assert [_subset(rec, exp) for rec, exp in zip(result.recordings, expected)] == expected
    assert len(result.recordings) == len(expected)
    for rec in result.recordings:
        assert rec.source == "generic_web"
        assert rec.item_type == "recording"
        assert rec.extractor == "jsonld"
        assert rec.extractor_version == crawler.__version__
        assert rec.page_url == page_url
        assert rec.fetched_at == FETCHED_AT
        assert rec.http_status == 200
        assert rec.body_sha256 == "ab" * 32
        assert rec.optout_decision == "allow"
        assert all(fs["syntax"] == "json-ld" for fs in rec.field_sources)
        assert all(fs["locator"].startswith("script[") for fs in rec.field_sources)


def test_every_fixture_page_is_covered() -> None:
    covered = {p.values[0] for p in FIXTURE_CASES}
    assert {p.name for p in PAGES.glob("jsonld_*.html")} == covered


def _only(fixture: str, page_url: str = "https://music.test/page") -> Recording:
    result = _extract((PAGES / fixture).read_bytes(), page_url)
    assert len(result.recordings) == 1
    return result.recordings[0]


def _sources(rec: Recording) -> dict[str, tuple[str, str | None]]:
    return {fs["field"]: (fs["locator"], fs["raw"]) for fs in rec.field_sources}


def test_golden_field_sources_point_into_the_graph() -> None:
    rec = _only("jsonld_golden.html")
    assert _sources(rec) == {
        "title": ("script[1]/@graph/0/name", "Night Drive"),
        # the artist was given as {"@id": "#band"}: the locator names the resolved node
        "artist_credit": ("script[1]/@graph/1/name", "The Examples"),
        "artists": ("script[1]/@graph/1/name", "The Examples"),
        "duration_s": ("script[1]/@graph/0/duration", "PT3M35S"),
        "isrc": ("script[1]/@graph/0/isrcCode", "GB-AYE-69-00123"),
        "isrc_all": ("script[1]/@graph/0/isrcCode", "GB-AYE-69-00123"),
        "license": (
            "script[1]/@graph/0/license",
            "https://creativecommons.org/licenses/by-sa/4.0/",
        ),
        "audio_url": (
            "script[1]/@graph/0/audio/contentUrl",
            "https://cdn.example/night-drive.flac",
        ),
        "audio_url_kind": ("script[1]/@graph/0/audio/contentUrl", "https://cdn.example/night-drive.flac"),
        "mime_type": ("script[1]/@graph/0/audio/encodingFormat", "audio/flac"),
        "file_size_bytes": ("script[1]/@graph/0/audio/contentSize", "31.2 MB"),
        "file_size_approx": ("script[1]/@graph/0/audio/contentSize", "31.2 MB"),
        "language": ("script[1]/@graph/0/inLanguage", "en"),
        # the work was given as {"@id": "#work"}: the composition node is read through it
        "iswc": ("script[1]/@graph/2/iswcCode", "T-034.524.680-1"),
        "composers": ("script[1]/@graph/2/composer/name", "A. Writer"),
        "lyricists": ("script[1]/@graph/2/lyricist/name", "B. Poet"),
        "copyright_year": ("script[1]/@graph/0/copyrightYear", "2021"),
        "copyright_holder": ("script[1]/@graph/0/copyrightHolder/name", "Example Records"),
    }


def test_bandcamp_publisher_is_not_used() -> None:
    rec = _only("jsonld_bandcamp_like.html")
    assert rec.artist_credit == "Fixture Band"
    assert not any("publisher" in fs["locator"] for fs in rec.field_sources)
    assert _sources(rec)["canonical_url"] == (
        "script[1]/@id",
        "https://fixture-band.example/track/glass-river",
    )


def test_apple_composition_itself_is_not_a_recording() -> None:
    rec = _only("jsonld_apple_like.html")
    assert _sources(rec)["title"] == ("script[1]/audio/name", "Paper Moons")


def test_rejected_values_keep_their_raw_text() -> None:
    rec = _only("jsonld_rejected_values.html")
    sources = _sources(rec)
    assert sources["isrc"] == ("script[1]/isrcCode", "XXABC2400001")
    assert sources["duration_s"] == ("script[1]/duration", "PT0S")
    assert sources["license"] == ("script[1]/license/name", "cc-by")
    assert sources["audio_url"] == ("script[1]/audio/embedUrl", "https://player.example/?track=42")


def test_broken_block_keeps_block_numbering() -> None:
    rec = _only("jsonld_broken_beside_valid.html")
    assert _sources(rec)["title"] == ("script[2]/name", "Second Chance")


def test_empty_blocks_still_count_in_locators() -> None:
    rec = _only("jsonld_empty_block.html")
    assert _sources(rec)["title"] == ("script[3]/name", "Quiet Harbour")


# --------------------------------------------------------------------------- item ids


def test_item_id_is_the_canonical_url_when_unique() -> None:
    rec = _only("jsonld_bandcamp_like.html", "https://fixture-band.example/track/glass-river?x=1")
    assert rec.item_id == make_item_id(
        "generic_web", "https://fixture-band.example/track/glass-river"
    )


def test_item_ids_take_the_page_index_when_canonical_urls_are_shared() -> None:
    page_url = "https://music.test/releases/split-single"
    result = _extract((PAGES / "jsonld_top_level_array.html").read_bytes(), page_url)
    assert [r.item_id for r in result.recordings] == [
        make_item_id("generic_web", f"{page_url}#0"),
        make_item_id("generic_web", f"{page_url}#1"),
    ]


def test_shared_canonical_urls_use_the_index_among_all_recordings() -> None:
    page = _page(
        json.dumps(
            [
                {"@type": "MusicRecording", "name": "A", "url": "https://music.test/a"},
                {"@type": "MusicRecording", "name": "B"},
                {"@type": "MusicRecording", "name": "C"},
            ]
        )
    )
    ids = [r.item_id for r in _extract(page, "https://music.test/list").recordings]
    assert ids == [
        make_item_id("generic_web", "https://music.test/a"),
        make_item_id("generic_web", "https://music.test/list#1"),
        make_item_id("generic_web", "https://music.test/list#2"),
    ]


def test_item_id_is_stable_across_fetches() -> None:
    html = (PAGES / "jsonld_golden.html").read_bytes()
    first = extract_recordings(html, "https://label.example/r", fetched_at=FETCHED_AT)
    later = extract_recordings(
        html, "https://label.example/r", fetched_at=FETCHED_AT + timedelta(days=3)
    )
    assert first.recordings[0].item_id == later.recordings[0].item_id


# --------------------------------------------------------------------------- blocks


@pytest.mark.parametrize(
    ("script_type", "found"),
    [
        ("application/ld+json", True),
        ("Application/LD+JSON", True),
        ("application/ld+json; charset=utf-8", True),
        (" application/ld+json ", True),
        ("application/json", False),
        ("text/javascript", False),
        ("application/ld+json+x", False),
    ],
)
def test_find_blocks_matches_the_media_type(script_type: str, found: bool) -> None:
    assert find_blocks(_page("{}", script_type=script_type)) == (["{}"] if found else [])


def test_find_blocks_ignores_untyped_scripts_and_commented_markup() -> None:
    html = (
        '<script>{"a": 1}</script>'
        '<!-- <script type="application/ld+json">{"b": 2}</script> -->'
        '<script type="application/ld+json">{"c": 3}</script>'
    )
    assert find_blocks(html) == ['{"c": 3}']


PARSE_CASES = [
    ('{"a": 1}', [{"a": 1}], None),
    ("[1, 2]", [[1, 2]], None),
    ("", [], "empty"),
    ("  \n\t ", [], "empty"),
    ("<!-- -->", [], "empty"),
    ('<!-- {"a": 1} -->', [{"a": 1}], None),
    ('<!--{"a": 1}-->', [{"a": 1}], None),
    ('<![CDATA[{"a": 1}]]>', [{"a": 1}], None),
    ('//<![CDATA[\n{"a": 1}\n//]]>', [{"a": 1}], None),
    ('\ufeff{"a": 1}', [{"a": 1}], None),
    ('{"a": "x\ty\nz"}', [{"a": "x\ty\nz"}], None),  # raw control characters
    ('{"a": [1, 2,], "b": {"c": 3,},}', [{"a": [1, 2], "b": {"c": 3}}], "repaired"),
    ('{"a": "[1,]", "b": 2,}', [{"a": "[1,]", "b": 2}], "repaired"),
    ('{"a": "q\\",}", "b": 2,}', [{"a": 'q",}', "b": 2}], "repaired"),
    ('{"a": 1}\n{"b": 2}', [{"a": 1}, {"b": 2}], None),
    ('{"a": 1};', [{"a": 1}], None),
    ('{"a": ', [], "invalid"),
    ("{'a': 1}", [], "invalid"),
    ("var x = {};", [], "invalid"),
    ('{"a": 1} trailing', [], "invalid"),
    ("[" * 100_000, [], "invalid"),
    ("[" * 50_000 + "]" * 50_000, [], "invalid"),
]


@pytest.mark.parametrize(("raw", "values", "status"), PARSE_CASES)
def test_parse_block(raw: str, values: list[Any], status: str | None) -> None:
    assert parse_block(raw) == (values, status)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"@type": "MusicRecording"}, True),
        ({"@type": "schema:MusicRecording"}, True),
        ({"@type": "http://schema.org/MusicRecording"}, True),
        ({"@type": "https://schema.org/MusicRecording"}, True),
        ({"@type": ["Product", "MusicRecording"]}, True),
        ({"@type": "MusicComposition"}, False),
        ({"@type": "musicrecording"}, False),
        ({"@type": ["MusicRecordingX"]}, False),
        ({"@type": 7}, False),
        ({"@type": [None, {"x": 1}]}, False),
        ({"type": "MusicRecording"}, False),
        ("MusicRecording", False),
    ],
)
def test_has_type(node: object, expected: bool) -> None:
    assert has_type(node, "MusicRecording") is expected


# --------------------------------------------------------------------------- graph rules


def test_references_resolve_across_blocks_and_id_spellings() -> None:
    page = _page(
        json.dumps(
            {
                "@type": "MusicRecording",
                "name": "Tide",
                "byArtist": [{"@id": "#band"}, {"@id": "https://music.test/page#solo"}],
                "inAlbum": {"@id": "/albums/tidewater"},
            }
        ),
        json.dumps(
            [
                {"@type": "MusicGroup", "@id": "https://music.test/page#band", "name": "Band"},
                {"@type": "Person", "@id": "#solo", "name": "Solo"},
                {
                    "@type": "MusicAlbum",
                    "@id": "https://music.test/albums/tidewater",
                    "name": "Tidewater",
                },
            ]
        ),
    )
    rec = _extract(page).recordings[0]
    assert rec.artists == ["Band", "Solo"]
    assert rec.artist_credit == "Band, Solo"
    assert rec.album_title == "Tidewater"
    assert _sources(rec)["album_title"] == ("script[2]/2/name", "Tidewater")


def test_a_recording_referenced_twice_is_extracted_once() -> None:
    page = _page(
        json.dumps(
            {
                "@graph": [
                    {
                        "@type": "MusicAlbum",
                        "name": "A",
                        "track": [{"@type": "MusicRecording", "@id": "#t1"}],
                    },
                    {"@type": "MusicRecording", "@id": "#t1", "name": "One"},
                    {"@type": "MusicRecording", "@id": "#t1", "name": "One again"},
                ]
            }
        )
    )
    result = _extract(page)
    assert [r.title for r in result.recordings] == ["One"]


def _track(name: str, url: str) -> dict[str, str]:
    return {"@type": "MusicRecording", "name": name, "url": url}


def test_recordings_nested_in_album_track_lists_are_found() -> None:
    album = {
        "@type": "MusicAlbum",
        "name": "Tidewater",
        "track": {
            "@type": "ItemList",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "item": _track("One", "/t/1")},
                {"@type": "ListItem", "position": 2, "item": _track("Two", "/t/2")},
            ],
        },
    }
    result = _extract(_page(json.dumps(album)))
    assert [(r.title, r.canonical_url) for r in result.recordings] == [
        ("One", "https://music.test/t/1"),
        ("Two", "https://music.test/t/2"),
    ]


def test_an_unresolvable_reference_is_not_a_recording() -> None:
    result = _extract(_page('{"@type": "MusicRecording", "@id": "#elsewhere"}'))
    assert result.recordings == [] and result.warnings == []


def test_an_empty_recording_is_skipped_with_a_warning() -> None:
    result = _extract(_page('{"@type": "MusicRecording", "duration": "PT3M"}'))
    assert result.recordings == []
    assert result.warnings == ["jsonld-recording-empty"]


def test_context_term_definitions_are_not_nodes() -> None:
    block = {
        "@context": {
            "@vocab": "https://schema.org/",
            "rec": {"@id": "#x", "@type": "MusicRecording"},
        },
        "@type": "MusicRecording",
        "name": "Only Me",
    }
    assert [r.title for r in _extract(_page(json.dumps(block))).recordings] == ["Only Me"]


_DROP = object()  # marks a base property to leave out
_T = "https://music.test/t"


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"name": {"@value": "Wrapped"}}, {"title": "Wrapped"}),
        ({"name": ["First", "Second"]}, {"title": "First"}),
        ({"name": [None, "", "Late"]}, {"title": "Late"}),
        ({"name": _DROP, "schema:name": "Prefixed"}, {"title": "Prefixed"}),
        ({"name": _DROP, "http://schema.org/name": "Full IRI"}, {"title": "Full IRI"}),
        (
            {"name": "x" * 1000, "isrcCode": "QZABC2400001"},
            {"title": None, "warnings": ["title_too_long"]},
        ),
        ({"byArtist": "A & B feat. C"}, {"artist_credit": "A & B feat. C", "artists": []}),
        ({"byArtist": ["Solo"]}, {"artist_credit": "Solo", "artists": ["Solo"]}),
        ({"byArtist": ["Dup", {"name": "Dup"}]}, {"artist_credit": "Dup", "artists": ["Dup"]}),
        ({"byArtist": [{"name": " "}, 5, None]}, {"artist_credit": None, "artists": []}),
        ({"inAlbum": "Loose Album"}, {"album_title": "Loose Album"}),
        ({"inAlbum": "https://music.test/albums/1"}, {"album_title": None}),
        ({"duration": "PT99H"}, {"duration_s": None, "warnings": ["duration_out_of_range"]}),
        ({"duration": "soon"}, {"duration_s": None, "warnings": ["duration_invalid"]}),
        (
            {"duration": "nope", "audio": {"@type": "AudioObject", "duration": "PT2M"}},
            {"duration_s": 120.0, "warnings": ["duration_invalid"]},
        ),
        ({"isrcCode": "gb aye 69 00123"}, {"isrc": "GBAYE6900123"}),
        (
            {"isrcCode": ["bogus", "QZABC2400001"]},
            {"isrc": "QZABC2400001", "warnings": ["isrc_invalid"]},
        ),
        (
            {"license": "/licence"},
            {"license_url_raw": "/licence", "license_url": "https://music.test/licence"},
        ),
        (
            {"license": {"url": "https://creativecommons.org/licenses/by/4.0/"}},
            {"license_url": "https://creativecommons.org/licenses/by/4.0/"},
        ),
        (
            {"license": {"@id": "https://creativecommons.org/publicdomain/zero/1.0/"}},
            {"license_url": "https://creativecommons.org/publicdomain/zero/1.0/"},
        ),
        (
            {"license": "CC BY 4.0"},
            {"license_url_raw": "CC BY 4.0", "license_url": "https://creativecommons.org/licenses/by/4.0/",
             "license_spdx": "CC-BY-4.0"},
        ),
        ({"audio": "/media/one.mp3"}, {"audio_url": "https://music.test/media/one.mp3"}),
        (
            {"audio": [{"@type": "AudioObject", "embedUrl": "https://player.example/1"},
                       {"@type": "AudioObject", "contentUrl": "//cdn.example/1.ogg"}]},
            {"audio_url": "https://cdn.example/1.ogg"},
        ),
        (
            {"audio": {"@type": "AudioObject", "contentUrl": "javascript:play()"}},
            {"audio_url": None, "warnings": ["audio_url_invalid"]},
        ),
        ({"url": "/t/1#player"}, {"canonical_url": "https://music.test/t/1"}),
        ({"@id": "#rec"}, {"canonical_url": "https://music.test/page"}),
        ({"@id": "https://music.test/t/9?b=2&a=1"}, {"canonical_url": f"{_T}/9?a=1&b=2"}),
        ({"url": "mailto:x@music.test", "@id": "/t/2"}, {"canonical_url": f"{_T}/2"}),
    ],
)
def test_property_shapes(properties: dict[str, Any], expected: dict[str, Any]) -> None:
    node = {"@type": "MusicRecording", "name": "Base", **properties}
    node = {key: value for key, value in node.items() if value is not _DROP}
    result = _extract(_page(json.dumps(node)))
    assert len(result.recordings) == 1
    rec = result.recordings[0]
    expected = {"warnings": [], **expected}
    assert _subset(rec, expected) == expected


def test_bytes_are_decoded_with_the_declared_charset() -> None:
    html = (
        '<html><head><meta charset="iso-8859-1">'
        '<script type="application/ld+json">{"@type": "MusicRecording", "name": "Caf\xe9"}</script>'
        "</head></html>"
    ).encode("latin-1")
    assert [r.title for r in _extract(html).recordings] == ["Café"]


def test_naive_fetched_at_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        extract_recordings("", "https://music.test/", fetched_at=datetime(2025, 3, 1))


def test_fetched_at_in_another_zone_is_stored_in_utc() -> None:
    zone = timezone(timedelta(hours=-5))
    result = extract_recordings(
        (PAGES / "jsonld_golden.html").read_text(encoding="utf-8"),
        "https://label.example/r",
        fetched_at=FETCHED_AT.astimezone(zone),
    )
    assert result.recordings[0].fetched_at == FETCHED_AT


# --------------------------------------------------------------------------- never raises


@pytest.mark.parametrize(
    "html",
    [
        "",
        b"",
        b"\x00\xff\xfe garbage \x00",
        "\x00<script type='application/ld+json'>\x00{}</script>",
        "\ud800 lone surrogate",
        "<script type='application/ld+json'>" + "{" * 5000,
        "<script type='application/ld+json'>" + '{"a":' * 5000 + "1" + "}" * 5000 + "</script>",
        "<script type='application/ld+json'>" + "[" * 3000 + "]" * 3000 + "</script>",
        _page('{"@type": "MusicRecording", "name": "x", "duration": 1e999}'),
        _page('{"@type": "MusicRecording", "name": "x", "url": "http://[::1"}'),
        "<<<>>></script><script type=application/ld+json>]]></script>",
    ],
)
def test_hostile_inputs_do_not_raise(html: str | bytes) -> None:
    result = _extract(html, "https://music.test/page")
    assert "jsonld-extractor-error" not in result.warnings


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary()))
def test_arbitrary_input_never_raises(html: str | bytes) -> None:
    result = _extract(html)
    assert isinstance(result, ExtractResult)
    assert "jsonld-extractor-error" not in result.warnings


_KEYS = st.sampled_from(
    [
        "@type", "@id", "@graph", "@value", "@context", "name", "byArtist", "inAlbum", "duration",
        "isrcCode", "license", "audio", "contentUrl", "embedUrl", "url", "schema:name",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["MusicRecording", "#a", "/x", "_:b", "PT3M", "GBAYE6900123", "http://[::1"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_JSON, min_size=1, max_size=3),
    st.sampled_from(["https://music.test/p", "", "not a url"]),
)
def test_arbitrary_jsonld_never_raises(blocks: list[Any], page_url: str) -> None:
    html = _page(*(json.dumps(block).replace("</", "<\\/") for block in blocks))
    result = extract_recordings(html, page_url, fetched_at=FETCHED_AT)
    assert "jsonld-extractor-error" not in result.warnings
    for rec in result.recordings:
        assert rec.title or rec.isrc or rec.audio_url

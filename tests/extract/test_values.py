"""Table tests for the value normalisers: text, durations, ISRC codes and URLs."""

from __future__ import annotations

import pytest

from crawler.extract.values import (
    ISRC_PREFIXES,
    MAX_DURATION_S,
    Cleaned,
    absolute_http_url,
    clean_duration,
    clean_isrc,
    compact_isrc,
    is_valid_isrc,
    looks_like_url,
    normalize_text,
    parse_duration,
)

TEXT_CASES = [
    ("Night Drive", "Night Drive"),
    ("  Night   Drive \n", "Night Drive"),
    ("Rock &amp; Roll", "Rock & Roll"),
    ("Caf&eacute; Terrace", "Café Terrace"),
    ("Cafe\u0301", "Café"),  # NFD input comes out NFC
    ("First\u00a0Light", "First Light"),  # no-break space collapses like any space
    ("Old\tBridge\r\n(Live)", "Old Bridge (Live)"),
    ("Bell\x07 Tower\x00", "Bell Tower"),
    ("&#x1F3B5; Tune", "\U0001f3b5 Tune"),
    ("", None),
    ("   \n\t", None),
    ("&nbsp;", None),
    (None, None),
    (42, None),
    (["Night Drive"], None),
]


@pytest.mark.parametrize(("value", "expected"), TEXT_CASES)
def test_normalize_text(value: object, expected: str | None) -> None:
    assert normalize_text(value) == expected


def test_normalize_text_output_is_nfc() -> None:
    import unicodedata

    text = normalize_text("A\u030angstro\u0308m")
    assert text is not None and unicodedata.is_normalized("NFC", text)


DURATION_CASES = [
    ("PT3M35S", 215.0),
    ("PT00H03M38S", 218.0),
    ("P00H04M12S", 252.0),  # Bandcamp: no T
    ("PT1H2M3.5S", 3723.5),
    ("PT2M3,25S", 123.25),  # ISO allows a decimal comma
    ("pt3m", 180.0),
    ("PT45S", 45.0),
    ("PT1H", 3600.0),
    ("P0DT0H3M0S", 180.0),
    ("P4M12S", 252.0),  # sloppy, but minutes next to seconds are unambiguous
    (" PT3M35S ", 215.0),
    ("3:41", 221.0),
    ("03:41", 221.0),
    ("75:10", 4510.0),  # minutes may exceed 59 without an hour part
    ("1:02:03", 3723.0),
    ("0:03:41.5", 221.5),
    ("215", 215.0),
    ("215.5", 215.5),
    (215, 215.0),
    (215.25, 215.25),
    (0, 0.0),  # parses; the range check is clean_duration's job
    ("PT0S", 0.0),
    ("P1D", 86400.0),
    # unreadable
    ("P4M", None),  # four months, or four minutes? refuse
    ("P", None),
    ("PT", None),
    ("P1Y", None),
    ("P1W", None),
    ("-PT3M", None),
    ("3m35s", None),
    ("3:75", None),
    ("1:75:00", None),
    ("1:2:3:4", None),
    ("-5", None),
    (-5, None),
    (float("nan"), None),
    (float("inf"), None),
    (10**400, None),
    (True, None),
    ("", None),
    ("   ", None),
    ("three minutes", None),
    (None, None),
    (["PT3M"], None),
    ({"@value": "PT3M"}, None),
]


@pytest.mark.parametrize(("value", "expected"), DURATION_CASES)
def test_parse_duration(value: object, expected: float | None) -> None:
    assert parse_duration(value) == expected


CLEAN_DURATION_CASES = [
    ("PT3M35S", Cleaned(215.0)),
    ("0.5", Cleaned(0.5)),
    ("PT23H59M59S", Cleaned(86399.0)),
    ("PT0S", Cleaned(None, "duration_out_of_range")),
    (0, Cleaned(None, "duration_out_of_range")),
    ("P1D", Cleaned(None, "duration_out_of_range")),
    ("PT24H", Cleaned(None, "duration_out_of_range")),
    (MAX_DURATION_S, Cleaned(None, "duration_out_of_range")),
    ("soon", Cleaned(None, "duration_invalid")),
    (None, Cleaned(None, "duration_invalid")),
]


@pytest.mark.parametrize(("value", "expected"), CLEAN_DURATION_CASES)
def test_clean_duration(value: object, expected: Cleaned[float]) -> None:
    assert clean_duration(value) == expected


# Vectors from the ISRC section of the music-metadata notes, plus separator variants.
ISRC_VALID = [
    ("GBAYE6900123", "GBAYE6900123"),
    ("gb-aye-69-00123", "GBAYE6900123"),
    ("GB-AYE-69-00123", "GBAYE6900123"),
    ("ISRC: US-S1Z-99-00001", "USS1Z9900001"),
    ("isrc US S1Z 99 00001", "USS1Z9900001"),
    ("QZABC2400001", "QZABC2400001"),
    ("GB.AYE.69.00123", "GBAYE6900123"),
    ("GB\u2013AYE\u201369\u201300123", "GBAYE6900123"),  # en dashes
    ("ＧＢＡＹＥ６９００１２３", "GBAYE6900123"),  # full-width forms
    ("UKAYE6900123", "UKAYE6900123"),  # agency prefix, not a country code
]

ISRC_INVALID = [
    "GBAYE690012",  # 11 characters
    "GB_AYE6900123",  # underscore is not a separator
    "G1AYE6900123",  # digit in the prefix
    "XXABC2400001",  # unknown prefix
    "GBAYE69001234",  # 13 characters
    "GBAY!6900123",
    "GBAYE69O0123",  # letter O in the designation
    "",
    "ISRC",
]


@pytest.mark.parametrize(("raw", "expected"), ISRC_VALID)
def test_clean_isrc_valid(raw: str, expected: str) -> None:
    assert clean_isrc(raw) == Cleaned(expected)
    assert is_valid_isrc(expected)


@pytest.mark.parametrize("raw", ISRC_INVALID)
def test_clean_isrc_invalid(raw: str) -> None:
    assert clean_isrc(raw) == Cleaned(None, "isrc_invalid")


@pytest.mark.parametrize("raw", [None, 123456789012, True, ["GBAYE6900123"]])
def test_clean_isrc_non_strings(raw: object) -> None:
    assert clean_isrc(raw) == Cleaned(None, "isrc_invalid")


def test_compact_isrc_keeps_invalid_characters_visible() -> None:
    assert compact_isrc("gb_aye-69-00123") == "GB_AYE6900123"


def test_isrc_prefixes_cover_countries_and_agency_prefixes() -> None:
    assert {"GB", "US", "FR", "DE", "JP", "QM", "QZ", "ZZ", "UK", "FX"} <= ISRC_PREFIXES
    assert "XX" not in ISRC_PREFIXES
    assert all(len(p) == 2 and p.isupper() for p in ISRC_PREFIXES)


BASE = "https://music.test/album/tidewater/track?id=3"

URL_CASES = [
    ("https://cdn.example/a.flac", "https://cdn.example/a.flac"),
    ("  https://cdn.example/a.flac\n", "https://cdn.example/a.flac"),
    ("/media/a.mp3", "https://music.test/media/a.mp3"),
    ("a.mp3", "https://music.test/album/tidewater/a.mp3"),
    ("//cdn.example/a.ogg", "https://cdn.example/a.ogg"),
    ("HTTP://CDN.EXAMPLE/a.ogg", "HTTP://CDN.EXAMPLE/a.ogg"),
    ("javascript:play()", None),
    ("data:audio/mpeg;base64,AAAA", None),
    ("mailto:band@music.test", None),
    ("https://", None),
    ("https://cdn.example/a b.mp3", None),
    ("http://[::1", None),
    ("", None),
    (None, None),
    (7, None),
]


@pytest.mark.parametrize(("value", "expected"), URL_CASES)
def test_absolute_http_url(value: object, expected: str | None) -> None:
    assert absolute_http_url(value, BASE) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", True),
        ("http://creativecommons.org/licenses/by-sa/3.0/", True),
        ("//creativecommons.org/publicdomain/zero/1.0/", True),
        ("/licence", True),
        ("./licence.html", True),
        ("../licence.html", True),
        ("ftp://files.example/licence.txt", True),
        ("cc-by", False),
        ("CC BY-SA 4.0", False),
        ("all_rights_reserved", False),
        ("licence.html", False),  # a bare word is read as a token, not a relative URL
    ],
)
def test_looks_like_url(value: str, expected: bool) -> None:
    assert looks_like_url(value) is expected

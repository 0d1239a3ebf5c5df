"""Identifier tables: every valid and invalid vector of the reference notes (section 4)."""

from __future__ import annotations

import pytest

from crawler.extract.identifiers import (
    clean_dpid,
    clean_grid,
    clean_gtin,
    clean_isni,
    clean_isrc,
    clean_iswc,
    clean_mbid,
    iswc_check_digit,
    mbid_from_url,
    mod37_36,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GBAYE6900123", "GBAYE6900123"),
        ("gb-aye-69-00123", "GBAYE6900123"),
        ("ISRC: US-S1Z-99-00001", "USS1Z9900001"),
        ("QZABC2400001", "QZABC2400001"),
        ("GBAYE690012", None),  # 11 characters
        ("GB_AYE6900123", None),
        ("G1AYE6900123", None),
        ("XXABC2400001", None),  # unknown prefix
    ],
)
def test_isrc(raw: str, expected: str | None) -> None:
    assert clean_isrc(raw).value == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("T-034.524.680-1", "T-034.524.680-1"),
        ("T0345246801", "T-034.524.680-1"),
        ("T-000.000.001-0", "T-000.000.001-0"),
        ("T-123.456.789-4", "T-123.456.789-4"),
        ("ISWC T-034.524.680-1", "T-034.524.680-1"),
        ("T-034.524.680-2", None),
        ("T-123.456.789-C", None),
        ("034.524.680-1", None),
        (3452468, None),
    ],
)
def test_iswc(raw: object, expected: str | None) -> None:
    cleaned = clean_iswc(raw)
    assert cleaned.value == expected
    assert (cleaned.warning is None) == (expected is not None)


def test_iswc_worked_example() -> None:
    assert iswc_check_digit("034524680") == 1


@pytest.mark.parametrize(
    ("raw", "code", "length"),
    [
        ("4006381333931", "4006381333931", 13),
        ("036000291452", "0036000291452", 12),
        ("0036000291452", "0036000291452", 13),
        ("96385074", "0000096385074", 8),
        ("012345678905", "0012345678905", 12),
        ("5012345678900", "5012345678900", 13),
        ("UPC 0-12345-67890-5", "0012345678905", 12),
        ("4006381333932", None, None),
        ("012345678906", None, None),
        ("12345", None, None),
    ],
)
def test_gtin(raw: str, code: str | None, length: int | None) -> None:
    cleaned = clean_gtin(raw)
    if code is None:
        assert cleaned.value is None and cleaned.warning == "upc_ean_invalid"
    else:
        assert cleaned.value is not None
        assert (cleaned.value.code, cleaned.value.length) == (code, length)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d", "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"),
        ("B10BBBFC-CF9E-42E0-BE17-E2C3E1D2600D", "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"),
        ("b10bbbfccf9e42e0be17e2c3e1d2600d", None),  # no hyphens
        ("b10bbbfc-cf9e-42e0-be17-e2c3e1d2600", None),  # 35 characters
    ],
)
def test_mbid(raw: str, expected: str | None) -> None:
    assert clean_mbid(raw).value == expected


def test_mbid_from_musicbrainz_urls() -> None:
    url = "https://musicbrainz.org/recording/b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d"
    assert mbid_from_url(url) == ("recording", "b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d")
    assert mbid_from_url("https://example.org/recording/b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d") is None


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("PADPIDA2020062405C", True),
        ("PADPIDA2015110204V", True),
        ("PADPIDA2013042401U", True),
        ("PADPIDA2013042401X", False),
        ("PADPIDA201304240", False),
    ],
)
def test_ddex_party_id(raw: str, valid: bool) -> None:
    assert (clean_dpid(raw).value is not None) is valid


@pytest.mark.parametrize(("raw", "valid"), [("A1-2425G-ABC1234002-M", True), ("A1-2425G-ABC1234002-N", False)])
def test_grid(raw: str, valid: bool) -> None:
    assert (clean_grid(raw).value is not None) is valid


def test_mod37_36_refuses_other_characters() -> None:
    with pytest.raises(ValueError):
        mod37_36("PADPIDA-")


@pytest.mark.parametrize(("raw", "valid"), [("0000000121032683", True), ("0000000121032684", False)])
def test_isni(raw: str, valid: bool) -> None:
    assert (clean_isni(raw).value is not None) is valid

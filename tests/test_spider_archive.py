"""The Internet Archive API spider on saved responses written from the documented API shape
(metadata record, advanced search pages); no network. The loopback crawl is in
test_spider_crawl.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.extract.draft import PageContext
from crawler.spiders.archive import ArchiveSpider, recordings_from_metadata

API = Path(__file__).resolve().parent / "fixtures" / "api"
BASE = "https://archive.example"
CTX = PageContext(page_url=f"{BASE}/metadata/fixture-netlabel-042", fetched_at=datetime(2025, 1, 1, tzinfo=UTC),
                  source="internet_archive", extractor="archive-api")


def _load(name: str) -> dict:
    return json.loads((API / name).read_text(encoding="utf-8"))


def test_original_audio_files_become_recordings() -> None:
    found = recordings_from_metadata(_load("archive_metadata_netlabel.json"), BASE, CTX)
    assert [native for _, native in found] == ["fixture-netlabel-042/01-shoreline.flac", "fixture-netlabel-042/02-harbour.mp3"]
    flac, mp3 = (rec for rec, _ in found)
    assert (flac.title, flac.album_title, flac.artist_credit, flac.track_number, flac.duration_s) == (
        "Shoreline", "Shoreline EP", "Fixture Artist", 1, 30.0)
    assert flac.audio_url == f"{BASE}/download/fixture-netlabel-042/01-shoreline.flac" and flac.mime_type == "audio/flac"
    assert (flac.release_date, flac.language, flac.genres) == ("2009-05-01", "en", ["ambient", "field recordings"])
    assert flac.license_spdx == "LicenseRef-CC-BY-SA-3.0-US" and flac.license_status == "open"
    assert flac.license_source == "api" and flac.license_jurisdiction == "us"
    assert flac.other_ids == [{"scheme": "ia:identifier/file", "value": "fixture-netlabel-042/01-shoreline.flac"}]
    assert flac.source == "internet_archive" and flac.source_native_id == "fixture-netlabel-042/01-shoreline.flac"
    assert flac.canonical_url == f"{BASE}/details/fixture-netlabel-042"
    assert (mp3.track_number, mp3.duration_s, mp3.artist_credit) == (2, 17.0, "Fixture Artist feat. Guest")
    assert mp3.artists == []  # a free-text credit is never split
    assert flac.item_id != mp3.item_id
    locators = {fs["field"]: fs["locator"] for fs in flac.field_sources}
    assert locators["title"] == "files/0/title" and locators["license"] == "metadata/licenseurl"


def test_no_licenseurl_is_unknown_and_78rpm_is_flagged() -> None:
    ((rec, _),) = recordings_from_metadata(_load("archive_metadata_78rpm.json"), BASE, CTX)
    assert rec.license_status == "unknown" and rec.license_spdx is None
    assert "ia_78rpm_review" in rec.warnings
    assert rec.artist_credit == "Fixture Dance Orchestra" and rec.artists == ["Fixture Dance Orchestra"]
    assert rec.duration_s == 185.0 and rec.release_date == "1928"


@pytest.mark.parametrize("data", [{}, {"metadata": {}}, {"metadata": {"identifier": "x"}, "files": "nope"},
                                  {"metadata": {"identifier": "x"}, "files": [None, {"source": "original"}]}])
def test_odd_records_give_nothing(data: dict) -> None:
    assert recordings_from_metadata(data, BASE, CTX) == []


def _spider(**kwargs: str) -> ArchiveSpider:
    crawler = get_crawler(ArchiveSpider, settings_dict={"ITEMS_PARTY_ALIASES": ""})
    return ArchiveSpider.from_crawler(crawler, api=BASE, **kwargs)


def _response(url: str, name: str) -> TextResponse:
    return TextResponse(url, body=(API / name).read_bytes(), headers={"Content-Type": "application/json"},
                        request=Request(url))


def test_search_pages_until_num_found() -> None:
    spider = _spider(query="collection:netlabels", rows="2")
    first = list(spider.parse_search(_response(spider.search_url(1), "archive_search_page1.json"), page=1))
    assert [r.url for r in first[:2]] == [f"{BASE}/metadata/fixture-a", f"{BASE}/metadata/fixture-b"]
    assert "page=2" in first[2].url and first[2].cb_kwargs == {"page": 2}
    second = list(spider.parse_search(_response(spider.search_url(2), "archive_search_page2.json"), page=2))
    assert [r.url for r in second] == [f"{BASE}/metadata/fixture-c"]  # 3 found, all queued: no page 3


def test_max_items_bounds_the_search() -> None:
    spider = _spider(query="x", rows="2", max_items="1")
    out = list(spider.parse_search(_response(spider.search_url(1), "archive_search_page1.json"), page=1))
    assert [r.url for r in out] == [f"{BASE}/metadata/fixture-a"]


def test_metadata_records_wait_for_their_audio_check() -> None:
    spider = _spider(identifiers="fixture-netlabel-042")
    out = list(spider.parse_metadata(_response(f"{BASE}/metadata/fixture-netlabel-042", "archive_metadata_netlabel.json")))
    assert all(isinstance(r, Request) for r in out) and len(out) == 2
    assert out[0].headers[b"Range"] == b"bytes=0-65535"
    assert out[0].meta["download_maxsize"] == 4 << 20 and out[0].meta["download_warnsize"] == 65536
    assert out[0].meta["allow_offsite"] and out[0].meta["depth_reset"] and out[0].dont_filter


@pytest.mark.parametrize("kwargs", [{}, {"identifiers": "x", "api": "ftp://archive.example"}])
def test_bad_arguments(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="archive spider"):
        ArchiveSpider(**kwargs)

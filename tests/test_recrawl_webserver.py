"""The sample web answers conditional requests, so recrawl tests can see 304s over real sockets.

Validators ride on file-backed 200s only; ``If-None-Match`` wins over ``If-Modified-Since``;
a 304 keeps the route's signal headers; ``"conditional": false`` turns it all off; and every
conditional request is recorded with its status and headers (the tests' ground truth).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.webserver import SampleWeb, load_site
from tests.test_webserver import ask

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo_web"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    for host in ("open.test", "tdm-header.test", "forbidden.test"):
        shutil.copytree(DEMO / host, tmp_path / host)
    site = tmp_path / "open.test" / "_site.json"
    site.write_text(json.dumps({"routes": {"/tracks/two-sides.html": {"conditional": False},
                                           "/made-up": {"body": "generated"}}}))
    with SampleWeb(tmp_path) as server:
        yield server


def test_file_backed_200_carries_a_strong_etag_from_the_body_and_last_modified(web: SampleWeb) -> None:
    path = web.root / "open.test" / "tracks" / "night-ferry.html"
    answer = ask(web, "open.test", "/tracks/night-ferry.html")
    assert answer.status == 200
    assert answer.header("ETag") == '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:32] + '"'
    assert answer.header("Last-Modified") == email.utils.formatdate(path.stat().st_mtime, usegmt=True)


def test_matching_if_none_match_gets_304_without_body_and_is_recorded(web: SampleWeb) -> None:
    etag = ask(web, "open.test", "/").header("ETag")
    answer = ask(web, "open.test", "/", headers={"If-None-Match": etag})
    assert (answer.status, answer.body) == (304, b"")
    assert answer.header("ETag") == etag and answer.header("Content-Type") is None
    hit = web.hits[-1]
    assert (hit.path, hit.status, hit.headers["if-none-match"]) == ("/", 304, etag)


def test_other_etag_or_weak_form(web: SampleWeb) -> None:
    etag = ask(web, "open.test", "/").header("ETag")
    assert ask(web, "open.test", "/", headers={"If-None-Match": '"other"'}).status == 200
    assert ask(web, "open.test", "/", headers={"If-None-Match": f'"other", W/{etag}'}).status == 304
    assert ask(web, "open.test", "/", headers={"If-None-Match": "*"}).status == 304


def test_if_modified_since_only_without_if_none_match(web: SampleWeb) -> None:
    modified = ask(web, "open.test", "/").header("Last-Modified")
    assert ask(web, "open.test", "/", headers={"If-Modified-Since": modified}).status == 304
    old = "Mon, 01 Jan 1990 00:00:00 GMT"
    assert ask(web, "open.test", "/", headers={"If-Modified-Since": old}).status == 200
    assert ask(web, "open.test", "/", headers={"If-Modified-Since": "not a date"}).status == 200
    # a non-matching ETag wins over a matching date (RFC 9110 13.2.2)
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert ask(web, "open.test", "/", headers=both).status == 200


def test_a_changed_file_gets_a_new_etag_and_a_200(web: SampleWeb) -> None:
    etag = ask(web, "open.test", "/tracks/glass-harbour.html").header("ETag")
    path = web.root / "open.test" / "tracks" / "glass-harbour.html"
    path.write_text(path.read_text().replace("Glass Harbour", "Glass Harbour (remastered)"))
    answer = ask(web, "open.test", "/tracks/glass-harbour.html", headers={"If-None-Match": etag})
    assert answer.status == 200 and answer.header("ETag") != etag


def test_a_304_keeps_the_routes_signal_headers(web: SampleWeb) -> None:
    answer = ask(web, "tdm-header.test", "/tracks/aurora-line.html", headers={"If-None-Match": "*"})
    assert answer.status == 304
    assert answer.header("tdm-reservation") == "1"


def test_conditional_false_and_non_file_replies_have_no_validators(web: SampleWeb) -> None:
    off = ask(web, "open.test", "/tracks/two-sides.html", headers={"If-None-Match": "*"})
    assert off.status == 200 and off.header("ETag") is None and off.header("Last-Modified") is None
    made = ask(web, "open.test", "/made-up", headers={"If-None-Match": "*"})
    assert made.status == 200 and made.header("ETag") is None
    missing = ask(web, "open.test", "/nope.html", headers={"If-None-Match": "*"})
    assert missing.status == 404 and missing.header("ETag") is None
    forbidden = ask(web, "forbidden.test", "/robots.txt", headers={"If-None-Match": "*"})
    assert forbidden.status == 403


def test_range_and_conditional(web: SampleWeb) -> None:
    answer = ask(web, "open.test", "/audio/night-ferry.mp3", headers={"Range": "bytes=0-9"})
    assert answer.status == 206 and len(answer.body) == 10 and answer.header("ETag")


def test_site_file_rejects_a_bad_conditional_value(tmp_path: Path) -> None:
    site = tmp_path / "_site.json"
    site.write_text(json.dumps({"routes": {"/x": {"conditional": "no"}}}))
    with pytest.raises(ValueError, match="conditional"):
        load_site(site)
    site.write_text(json.dumps({"routes": {"/x": {"conditional": False}}}))
    assert load_site(site).routes["/x"].conditional is False

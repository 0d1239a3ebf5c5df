"""The crawl DB of a job, its settings, and the request snapshot it stores.

Real SQLite files in tmp_path; requests round-trip through the JSON codec and back into
Scrapy requests bound to a spider's callbacks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.settings import Settings
from scrapy.utils.request import request_from_dict

from crawler.policy.config import ConfigError
from crawler.recrawl.config import RecrawlConfig
from crawler.recrawl.middleware import stored_request
from crawler.recrawl.store import RecrawlStore, StoreError


class _Spider(Spider):
    name = "probe"

    def parse(self, response, **kwargs):  # type: ignore[no-untyped-def]
        return []


def _record(store: RecrawlStore, url: str, **over: object) -> bool:
    values: dict[str, object] = {
        "spider": "probe", "run_id": "r1", "status": 200, "etag": '"abc"', "last_modified": None,
        "sha256": "0" * 64, "policy_hash": "p1", "request": {"url": url, "callback": "parse", "meta": {}},
    }
    values.update(over)
    return store.record(url, **values)  # type: ignore[arg-type]


def test_record_get_touch_forget_delete(tmp_path: Path) -> None:
    with RecrawlStore(tmp_path / "job" / "recrawl.sqlite") as store:
        assert store.get("http://a.test/") is None and len(store) == 0
        assert _record(store, "http://a.test/", last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
        page = store.get("http://a.test/")
        assert page is not None and page.etag == '"abc"' and page.has_validators
        assert (page.status, page.run_id, page.policy_hash, page.spider) == (200, "r1", "p1", "probe")
        assert store.touch("http://a.test/", run_id="r2", status=304)
        assert store.get("http://a.test/").run_id == "r2"  # type: ignore[union-attr]
        assert store.get("http://a.test/").etag == '"abc"'  # type: ignore[union-attr]
        assert not store.touch("http://unknown.test/", run_id="r2", status=304)
        assert store.forget_validators("http://a.test/")
        page = store.get("http://a.test/")
        assert page is not None and not page.has_validators and page.sha256 is None
        assert store.request_dict("http://a.test/") == {"url": "http://a.test/", "callback": "parse", "meta": {}}
        assert store.delete("http://a.test/") and store.get("http://a.test/") is None


def test_upsert_keeps_one_row_per_url(tmp_path: Path) -> None:
    with RecrawlStore(tmp_path / "db.sqlite") as store:
        _record(store, "http://a.test/")
        _record(store, "http://a.test/", etag='"def"', run_id="r2")
        assert len(store) == 1 and store.get("http://a.test/").etag == '"def"'  # type: ignore[union-attr]


def test_requests_that_are_not_json_are_not_stored(tmp_path: Path) -> None:
    with RecrawlStore(tmp_path / "db.sqlite") as store:
        _record(store, "http://a.test/")
        assert not _record(store, "http://a.test/", request={"meta": {"state": object()}})
        assert store.get("http://a.test/") is None  # the stale row went too
        assert not _record(store, "http://b.test/", request={"meta": {"x": float("nan")}})
        assert len(store) == 0


def test_known_requests_by_spider_in_batches_and_up_to_a_snapshot(tmp_path: Path) -> None:
    with RecrawlStore(tmp_path / "db.sqlite") as store:
        for n in range(7):
            _record(store, f"http://a.test/{n}")
        _record(store, "http://b.test/", spider="other")
        upto = store.last_rowid()
        _record(store, "http://a.test/later")
        urls = [u for u, _ in store.known_requests("probe", upto=upto, batch=3)]
        assert urls == [f"http://a.test/{n}" for n in range(7)]
        # writing while iterating is allowed (no cursor stays open across yields)
        for url, _ in store.known_requests("probe", batch=2):
            store.touch(url, run_id="r9", status=304)
        touched = [store.get(f"http://a.test/{n}") for n in range(7)] + [store.get("http://a.test/later")]
        assert all(p is not None and (p.run_id, p.status) == ("r9", 304) for p in touched)
        assert [u for u, _ in store.known_requests("other")] == ["http://b.test/"]


def test_wal_and_a_second_process_reader(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    with RecrawlStore(path) as store:
        _record(store, "http://a.test/")
        other = sqlite3.connect(path)
        try:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert other.execute("SELECT url FROM pages").fetchall() == [("http://a.test/",)]
        finally:
            other.close()


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    RecrawlStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE store_info SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema 99"):
        RecrawlStore(path)


def test_stored_request_drops_download_traces_and_round_trips() -> None:
    spider = _Spider()
    request = Request("http://a.test/x", callback=spider.parse, dont_filter=True, priority=3,
                      headers={"If-None-Match": '"abc"', "Referer": "http://a.test/"},
                      meta={"depth": 2, "download_slot": "a.test", "redirect_times": 1, "heed_hold_attempt": 1,
                            "_private": 1, "is_start_request": True, "keep": "me"})
    data = stored_request(request, spider)
    assert data is not None
    assert data["meta"] == {"depth": 2, "keep": "me"}
    assert data["dont_filter"] is False
    assert [k.lower() for k in data["headers"]] == [b"referer"]
    again = request_from_dict(data, spider=spider)
    assert again.url == request.url and again.callback == spider.parse and again.priority == 3
    assert stored_request(Request("http://a.test/", callback=lambda r: None), spider) is None


def test_config_needs_a_job_name() -> None:
    settings = Settings({"RECRAWL_ENABLED": True, "JOB_NAME": "", "PROVENANCE_DIR": "/tmp/runs"})
    assert not RecrawlConfig.from_settings(settings).active
    settings.set("JOB_NAME", "nightly")
    config = RecrawlConfig.from_settings(settings)
    assert config.active and config.db_path == Path("/tmp/runs/.jobs/nightly/recrawl.sqlite")
    settings.set("RECRAWL_ENABLED", False)
    assert not RecrawlConfig.from_settings(settings).active
    settings.set("RECRAWL_ENABLED", "perhaps")
    with pytest.raises(ConfigError, match="RECRAWL_ENABLED"):
        RecrawlConfig.from_settings(settings)
    with pytest.raises(ConfigError, match="JOB_NAME"):
        RecrawlConfig.from_settings(Settings({"JOB_NAME": "../up", "PROVENANCE_DIR": "/tmp/runs"}))

"""ProvenancePipeline driven through its public hooks; the run directory is read back."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as heed_settings
from warcio.archiveiterator import ArchiveIterator

import pipelines.parquet as parquet_mod
from crawler import signals as heed_signals
from crawler.items import Recording, make_item_id
from crawler.policy.config import ConfigError
from crawler.policy.decision import Decision, Evidence
from crawler.policy.fetchresult import FetchResult
from pipelines.audit import verify
from pipelines.evidence import EvidenceArchive, count_records, find
from pipelines.manifest import load_manifest
from pipelines.policyconfig import get_policy_config
from pipelines.provenance import ItemSchemaError, ProvenanceConfig, ProvenancePipeline, origin_of

ROBOTS = FetchResult(
    url="http://a.test/robots.txt",
    status=200,
    body=b"User-agent: GPTBot\nDisallow: /\n",
    kind="robots.txt",
    headers={"content-type": ["text/plain"]},
    fetched_at=1_735_689_600.0,
)


class MissingIsrc(DropItem):
    reason_code = "validate:isrc"


def make_settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "POLICY_AGENT_TOKEN": "heed",
        "POLICY_ALSO_OBEY": ["Scrapy"],
        "POLICY_STRICT": True,
        "POLICY_AI_TOKENS": "data/ai_tokens.csv",
        "POLICY_REGISTRIES": [],
        "POLICY_RESOLVE": {},
        "POLICY_CACHE_TTL": 86400,
        "POLICY_FAILURE_TTL": 300,
        "POLICY_CACHE_SIZE": 100,
        "POLICY_MAX_FILE_BYTES": 5 * 1024 * 1024,
        "PROVENANCE_DIR": str(tmp_path / "runs"),
        "PROVENANCE_RUN_ID": "run1",
        "PROVENANCE_WORKER": "w1",
        "PROVENANCE_ROWS_PER_PART": 3,
        # extensions that need a running engine when spider_opened is sent by hand
        "LOGSTATS_INTERVAL": 0,
        "MEMUSAGE_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": heed_settings.DOWNLOADER_MIDDLEWARES,
    }
    settings.update(extra)
    return settings


def recording(n: int, **overrides: Any) -> Recording:
    values: dict[str, Any] = {
        "item_id": make_item_id("generic_web", f"http://a.test/t/{n}"),
        "source": "generic_web",
        "page_url": f"http://a.test/t/{n}",
        "fetched_at": datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        "http_status": 200,
        "extractor": "jsonld",
        "extractor_version": "0.1.0",
        "title": f"Song {n}",
        "artists": ["A", "B"],
        "field_sources": [{"field": "title", "syntax": "json-ld", "locator": "/name", "raw": f"Song {n}"}],
    }
    values.update(overrides)
    return Recording(**values)


def read_dir(directory: Path) -> pa.Table:
    files = sorted(directory.glob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files)


@pytest.fixture
def crawl(tmp_path: Path) -> Any:
    crawler = get_crawler(settings_dict=make_settings(tmp_path))
    pipeline = build_from_crawler(ProvenancePipeline, crawler)
    return crawler, pipeline, tmp_path / "runs" / "run1"


def run_scenario(crawler: Any, pipeline: ProvenancePipeline) -> None:
    send = crawler.signals.send_catch_log
    send(signals.spider_opened, spider=None)
    evidence = (Evidence("robots.txt", ROBOTS.url, ROBOTS.sha256),)
    send(heed_signals.policy_evidence, result=ROBOTS)
    send(heed_signals.policy_evidence, result=ROBOTS)  # the same bytes are archived once
    first = Decision(verdict="allow", stage="fetch", url="http://a.test/t/1", evidence=evidence)
    send(heed_signals.policy_decided, decision=first, request=None)  # extra arguments are ignored
    send(
        heed_signals.policy_decided,
        decision=Decision(
            verdict="deny",
            stage="fetch",
            url="https://b.test/x",
            reasons=("robots.ai-token:GPTBot",),
            evidence=evidence,
            rules=("robots.txt:2 Disallow: /",),
            signals=(("robots.txt", "GPTBot"),),
        ),
    )
    send(heed_signals.policy_decided, decision=Decision(verdict="hold", stage="fetch", url="http://c.test:8080/", reasons=("robots.unreachable:503",)))
    send(heed_signals.policy_decided, decision=Decision(verdict="allow", stage="use", url="http://a.test/t/1", http_status=200))
    assert pipeline.process_item(recording(1)) is not None
    assert pipeline.process_item(recording(2), None) is not None
    response = HtmlResponse(url="http://a.test/t/3", body=b"<html></html>")
    send(signals.item_dropped, item=recording(3), response=response, exception=MissingIsrc("no ISRC"), spider=None)
    send(signals.item_dropped, item={"title": "x"}, response=response, exception=DropItem("bad"), spider=None)
    send(signals.spider_closed, spider=None, reason="finished")


def test_decisions_items_and_manifest(crawl: Any) -> None:
    crawler, pipeline, run = crawl
    run_scenario(crawler, pipeline)

    decisions = read_dir(run / "decisions")
    rows = decisions.to_pylist()
    assert [r["seq"] for r in rows] == list(range(1, 9))
    assert [(r["stage"], r["verdict"]) for r in rows] == [
        ("fetch", "allow"),
        ("fetch", "deny"),
        ("fetch", "hold"),
        ("use", "allow"),
        ("item", "allow"),
        ("item", "allow"),
        ("item", "deny"),
        ("item", "deny"),
    ]
    assert {r["run_id"] for r in rows} == {"run1"} and {r["worker"] for r in rows} == {"w1"}
    assert [r["origin"] for r in rows[:3]] == ["http://a.test:80", "https://b.test:443", "http://c.test:8080"]
    deny = rows[1]
    assert deny["reasons"] == ["robots.ai-token:GPTBot"]
    assert deny["evidence"] == [{"kind": "robots.txt", "url": ROBOTS.url, "sha256": ROBOTS.sha256}]
    assert deny["rules"] == ["robots.txt:2 Disallow: /"]
    assert deny["signals"] == [{"name": "robots.txt", "value": "GPTBot"}]
    policy = get_policy_config(crawler)
    assert {r["policy_hash"] for r in rows} == {policy.policy_hash}
    assert {r["agent_token"] for r in rows} == {"heed"} and {r["strict"] for r in rows} == {True}
    assert rows[0]["ts"].tzinfo is not None
    assert rows[3]["http_status"] == 200

    item_allow = rows[4]
    assert item_allow["url"] == "http://a.test/t/1"
    assert item_allow["item_type"] == "recording"
    assert item_allow["item_id"] == recording(1).item_id
    dropped, dropped_dict = rows[6], rows[7]
    assert dropped["reasons"] == ["validate:isrc"]
    assert dropped["item_id"] == recording(3).item_id and dropped["url"] == "http://a.test/t/3"
    assert dropped_dict["reasons"] == ["validate:DropItem"]
    assert dropped_dict["url"] == "http://a.test/t/3" and dropped_dict["item_id"] is None

    items = read_dir(run / "items" / "recording")
    assert items.schema.equals(pq.read_schema(next((run / "items" / "recording").glob("*.parquet"))))
    got = items.to_pylist()
    assert [i["item_id"] for i in got] == [recording(1).item_id, recording(2).item_id]
    assert got[0]["policy_hash"] == policy.policy_hash and got[0]["optout_decision"] == "allow"
    assert got[0]["field_sources"] == [{"field": "title", "syntax": "json-ld", "locator": "/name", "raw": "Song 1"}]
    assert got[0]["canonical_url"] is None

    con = duckdb.connect()
    decisions_glob, items_glob = str(run / "decisions/*.parquet"), str(run / "items/recording/*.parquet")
    dropped_id = recording(3).item_id
    assert con.execute("SELECT count(*) FROM read_parquet(?) WHERE item_id = ?", [items_glob, dropped_id]).fetchone() == (0,)
    joined = con.execute(
        "SELECT count(*) FROM read_parquet(?) i JOIN read_parquet(?) d USING (item_id) "
        "WHERE d.stage = 'item' AND d.verdict = 'allow'",
        [items_glob, decisions_glob],
    ).fetchone()
    assert joined == (2,)

    stats = crawler.stats.get_stats()
    assert stats["provenance/decisions/fetch/deny"] == 1
    assert stats["provenance/decisions/item/allow"] == 2
    assert stats["provenance/decisions/item/deny"] == 2
    assert stats["provenance/items/recording"] == 2
    assert stats["provenance/rows_written"] == 10
    assert stats["provenance/evidence/robots.txt"] == 1

    manifest = load_manifest(run)
    section = manifest["workers"]["w1"]
    assert manifest["complete"] is True and section["complete"] is True
    assert manifest["policy"]["hash"] == policy.policy_hash
    assert manifest["policy"]["config"] == json.loads(json.dumps(policy.describe()))
    assert [f["kind"] for f in section["files"]] == ["decisions"] * 3 + ["items", "evidence"]
    assert section["stats"]["finish_reason"] == "finished"
    assert section["stats"]["provenance/rows_written"] == 10
    assert verify(run) == []

    (evidence_file,) = (run / "evidence").glob("*.warc.gz")
    records = find(evidence_file, ROBOTS.sha256)
    assert len(records) == 1 and records[0]["WARC-Target-URI"] == ROBOTS.url


def test_nothing_is_published_before_close_except_full_parts(crawl: Any) -> None:
    crawler, pipeline, run = crawl
    crawler.signals.send_catch_log(signals.spider_opened, spider=None)
    for n in range(2):
        crawler.signals.send_catch_log(heed_signals.policy_decided, decision=Decision(verdict="allow", stage="fetch", url=f"http://a.test/{n}"))
    assert list((run / "decisions").glob("*.parquet")) == []
    assert not (run / "manifest.json").exists()
    pipeline.close()
    assert pipeline.close() is None  # closing twice is harmless
    assert len(list((run / "decisions").glob("*.parquet"))) == 1


def test_tick_flushes_buffers_that_are_due(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict=make_settings(tmp_path, PROVENANCE_ROWS_PER_PART=1000, PROVENANCE_FLUSH_SECONDS=0.01))
    pipeline = build_from_crawler(ProvenancePipeline, crawler)
    pipeline.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/"))
    time.sleep(0.05)
    pipeline.tick()
    assert pipeline._decisions is not None
    (part,) = pipeline._decisions.wait()
    assert part.rows == 1 and part.path.exists()
    pipeline.close()


def test_unknown_item_field_or_type_is_a_clear_error(crawl: Any) -> None:
    _, pipeline, _ = crawl
    with pytest.raises(ItemSchemaError, match=r"fields not in the recording schema: \['colour'\]"):
        pipeline.process_item({**_as_dict(recording(1)), "colour": "red"})
    with pytest.raises(ItemSchemaError, match="unknown item_type 'video'"):
        pipeline.process_item({"item_type": "video", "item_id": "x"})
    with pytest.raises(ItemSchemaError, match="lacks required fields: .*'source'"):
        pipeline.process_item({k: v for k, v in _as_dict(recording(1)).items() if k != "source"})
    with pytest.raises(ItemSchemaError, match="'duration_s' must be double, got str"):
        pipeline.process_item(replace(recording(1), duration_s="3:00"))
    pipeline.close()


def _as_dict(item: Recording) -> dict[str, Any]:
    from itemadapter import ItemAdapter

    return ItemAdapter(item).asdict()


def test_write_failure_is_logged_and_marks_the_manifest(
    crawl: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    crawler, pipeline, run = crawl

    def broken(tmp: Path, final: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parquet_mod, "publish", broken)
    caplog.set_level(logging.ERROR)
    send = crawler.signals.send_catch_log
    send(signals.spider_opened, spider=None)
    for n in range(7):
        send(heed_signals.policy_decided, decision=Decision(verdict="allow", stage="fetch", url=f"http://a.test/{n}"))
    pipeline.close()

    manifest = load_manifest(run)
    assert manifest["complete"] is False
    assert any("No space left" in e for e in manifest["workers"]["w1"]["errors"])
    assert any(r.name == "pipelines.provenance" and r.exc_info for r in caplog.records)
    assert crawler.stats.get_value("provenance/errors") >= 1
    assert any("did not complete" in f for f in verify(run))
    with pytest.raises(DropItem):
        pipeline.process_item(recording(1))


def test_second_writer_with_the_same_worker_name_is_refused(tmp_path: Path) -> None:
    first = build_from_crawler(ProvenancePipeline, get_crawler(settings_dict=make_settings(tmp_path)))
    first.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/"))
    first.close()
    empty = build_from_crawler(ProvenancePipeline, get_crawler(settings_dict=make_settings(tmp_path, PROVENANCE_WORKER="w2")))
    empty.close()  # listed in the manifest without any decision part
    for worker in ("w1", "w2"):
        again = build_from_crawler(
            ProvenancePipeline, get_crawler(settings_dict=make_settings(tmp_path, PROVENANCE_WORKER=worker))
        )
        with pytest.raises(ConfigError, match="PROVENANCE_WORKER"):
            again.open()
    second = build_from_crawler(ProvenancePipeline, get_crawler(settings_dict=make_settings(tmp_path)))
    with pytest.raises(ConfigError, match="PROVENANCE_WORKER"):
        second.open()


def test_policy_config_is_loaded_once_per_crawler(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict=make_settings(tmp_path))
    assert get_policy_config(crawler) is get_policy_config(crawler)
    pipeline = build_from_crawler(ProvenancePipeline, crawler)
    assert pipeline.policy is get_policy_config(crawler)


def test_config_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PROVENANCE_RUN_ID="", PROVENANCE_WORKER="", PROVENANCE_DIR="data/runs")
    del settings["PROVENANCE_ROWS_PER_PART"]
    config = ProvenanceConfig.from_settings(get_crawler(settings_dict=settings).settings)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", config.run_id)
    assert config.worker == f"w{os.getpid()}"
    assert config.rows_per_part == 10_000 and config.flush_seconds == 2.0
    assert config.directory.is_absolute() and config.directory.parts[-2:] == ("data", "runs")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROVENANCE_ROWS_PER_PART", "many", "PROVENANCE_ROWS_PER_PART must be an integer"),
        ("PROVENANCE_ROWS_PER_PART", 0, "PROVENANCE_ROWS_PER_PART must be at least 1"),
        ("PROVENANCE_FLUSH_SECONDS", "soon", "PROVENANCE_FLUSH_SECONDS must be a number"),
        ("PROVENANCE_FLUSH_SECONDS", 0, "PROVENANCE_FLUSH_SECONDS must be positive"),
        ("PROVENANCE_WORKER", "../w", "PROVENANCE_WORKER must be"),
        ("PROVENANCE_RUN_ID", "a/b", "PROVENANCE_RUN_ID must be"),
    ],
)
def test_config_errors_name_the_setting(tmp_path: Path, name: str, value: Any, message: str) -> None:
    crawler = get_crawler(settings_dict=make_settings(tmp_path, **{name: value}))
    with pytest.raises(ConfigError, match=re.escape(message)):
        ProvenanceConfig.from_settings(crawler.settings)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://a.test/x", "http://a.test:80"),
        ("https://A.Test/x?q=1", "https://a.test:443"),
        ("http://a.test:8080/", "http://a.test:8080"),
        ("https://[::1]/", "https://[::1]:443"),
        ("ftp://a.test/", "ftp://a.test"),
        ("", "://"),
    ],
)
def test_origin(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_evidence_archive_records(tmp_path: Path) -> None:
    archive = EvidenceArchive(tmp_path, worker="w1", run_id="run1")
    robots = replace(ROBOTS, headers={"content-type": ["text/plain"], "content-encoding": ["gzip"]})
    first = archive.add(robots)
    assert archive.add(robots) == first  # stored once
    unavailable = FetchResult(url=ROBOTS.url, status=503, body=robots.body, kind="robots.txt")
    assert archive.add(unavailable) != first  # same bytes, different evidence
    block = b"x-robots-tag: noai\r\n"
    headers = FetchResult(url="http://a.test/t/1", status=200, body=block, kind="headers", headers={"x-robots-tag": ["noai"]})
    archive.add(headers)
    archive.add(FetchResult(url="http://d.test/robots.txt", status=None, error="timeout", kind="robots.txt"))
    assert list(tmp_path.glob("*.warc.gz")) == []  # only the hidden temporary file so far
    info = archive.close()
    assert info is not None and info.path == tmp_path / "evidence-w1.warc.gz"
    assert info.rows == 5 == count_records(info.path)  # warcinfo + 4
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["evidence-w1.warc.gz"]

    with open(info.path, "rb") as fh:
        records = [
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(fh)
        ]
    kinds = [(t, h.get_header("WARC-Target-URI")) for t, h, _, _ in records]
    assert kinds == [
        ("warcinfo", None),
        ("response", ROBOTS.url),
        ("response", ROBOTS.url),
        ("metadata", "http://a.test/t/1"),
        ("metadata", "http://d.test/robots.txt"),
    ]
    _, rec, http, body = records[1]
    assert body == ROBOTS.body
    assert http.get_statuscode() == "200"
    assert http.get_header("content-type") == "text/plain"
    assert http.get_header("content-encoding") is None
    assert http.get_header("X-Heed-Orig-content-encoding") == "gzip"
    assert rec.get_header("X-Heed-Sha256") == ROBOTS.sha256
    assert rec.get_header("WARC-Payload-Digest") == "sha256:" + base64.b32encode(hashlib.sha256(ROBOTS.body).digest()).decode()
    assert records[2][2].get_statuscode() == "503"
    _, rec, http, body = records[3]
    assert http is None and body == block
    assert rec.get_header("X-Heed-Sha256") == hashlib.sha256(block).hexdigest() == headers.sha256
    assert rec.get_header("X-Heed-Http-Status") == "200"
    assert b"error: timeout" in records[4][3]


def test_empty_evidence_archive_writes_no_file(tmp_path: Path) -> None:
    assert EvidenceArchive(tmp_path, worker="w1").close() is None
    assert list(tmp_path.iterdir()) == []

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
from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

import pipelines.parquet as parquet_mod
from crawler import settings as heed_settings
from crawler import signals as heed_signals
from crawler.items import Recording, make_item_id
from crawler.policy.config import ConfigError
from crawler.policy.decision import Decision, Evidence
from crawler.policy.fetchresult import FetchResult
from pipelines import journal as jr
from pipelines.audit import verify
from pipelines.evidence import count_records, find, iter_evidence, write_warc
from pipelines.manifest import load_manifest
from pipelines.policyconfig import get_policy_config
from pipelines.provenance import ItemSchemaError, ProvenanceConfig, ProvenancePipeline, origin_of
from pipelines.records import EvidenceEntry
from pipelines.rows import PARSER_VERSION, decision_id
from pipelines.schema import DECISIONS
from pipelines.signing import generate_keypair, load_public_key

ROBOTS = FetchResult(
    url="http://a.test/robots.txt",
    status=200,
    body=b"User-agent: GPTBot\nDisallow: /\n",
    kind="robots.txt",
    headers={"content-type": ["text/plain"]},
    fetched_at=1_735_689_600.0,
)
REGISTRY = Path(__file__).resolve().parents[1] / "data" / "registries" / "sample.csv"


class MissingIsrc(DropItem):
    reason_code = "validate:isrc"


def make_settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "POLICY_AGENT_TOKEN": "heed",
        "POLICY_ALSO_OBEY": ["Scrapy"],
        "POLICY_STRICT": True,
        "POLICY_AI_TOKENS": "data/ai_tokens.csv",
        "POLICY_REGISTRIES": [str(REGISTRY)],
        "POLICY_RESOLVE": {},
        "POLICY_CACHE_TTL": 86400,
        "POLICY_FAILURE_TTL": 300,
        "POLICY_CACHE_SIZE": 100,
        "POLICY_MAX_FILE_BYTES": 5 * 1024 * 1024,
        "PROVENANCE_DIR": str(tmp_path / "runs"),
        "PROVENANCE_RUN_ID": "run1",
        "PROVENANCE_WORKER": "w1",
        "PROVENANCE_ROWS_PER_PART": 3,
        "PROVENANCE_FLUSH_SECONDS": 60,
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


def pipeline_for(tmp_path: Path, **extra: Any) -> tuple[Any, ProvenancePipeline]:
    crawler = get_crawler(settings_dict=make_settings(tmp_path, **extra))
    return crawler, build_from_crawler(ProvenancePipeline, crawler)


@pytest.fixture
def crawl(tmp_path: Path) -> Any:
    crawler, pipeline = pipeline_for(tmp_path)
    return crawler, pipeline, tmp_path / "runs" / "run1"


def run_scenario(crawler: Any, pipeline: ProvenancePipeline) -> None:
    send = crawler.signals.send_catch_log
    send(signals.spider_opened, spider=None)
    evidence = (Evidence("robots.txt", ROBOTS.url, ROBOTS.sha256),)
    send(heed_signals.policy_evidence, result=ROBOTS)
    send(heed_signals.policy_evidence, result=ROBOTS)  # the same bytes are archived once
    first = Decision(verdict="allow", stage="fetch", url="http://a.test/t/1", evidence=evidence)
    send(heed_signals.policy_decided, decision=first, request=None)
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

    rows = read_dir(run / "decisions").to_pylist()
    assert [r["seq"] for r in rows] == list(range(1, 9))
    assert [(r["stage"], r["verdict"]) for r in rows] == [
        ("fetch", "allow"), ("fetch", "deny"), ("fetch", "hold"), ("use", "allow"),
        ("item", "allow"), ("item", "allow"), ("item", "deny"), ("item", "deny"),
    ]
    assert {r["run_id"] for r in rows} == {"run1"} and {r["worker"] for r in rows} == {"w1"}
    assert [r["origin"] for r in rows[:3]] == ["http://a.test:80", "https://b.test:443", "http://c.test:8080"]
    deny = rows[1]
    assert deny["reasons"] == ["robots.ai-token:GPTBot"]
    assert deny["evidence"] == [{"kind": "robots.txt", "url": ROBOTS.url, "sha256": ROBOTS.sha256}]
    assert deny["rules"] == ["robots.txt:2 Disallow: /"]
    assert deny["signals"] == [{"name": "robots.txt", "value": "GPTBot"}]
    assert (deny["robots_group"], deny["robots_line"]) == ("GPTBot", 2)
    policy = get_policy_config(crawler)
    assert {r["policy_hash"] for r in rows} == {policy.policy_hash}
    assert {r["agent_token"] for r in rows} == {"heed"} and {r["strict"] for r in rows} == {True}
    assert {r["parser_version"] for r in rows} == {PARSER_VERSION}
    assert rows[0]["ts"].tzinfo is not None
    assert rows[3]["http_status"] == 200
    assert rows[0]["decision_id"] == decision_id(
        Decision(verdict="allow", stage="fetch", url="http://a.test/t/1",
                 evidence=(Evidence("robots.txt", ROBOTS.url, ROBOTS.sha256),)), policy.policy_hash)

    # evidence_ids name the WARC records that hold the bytes
    (robots_id,) = rows[0]["evidence_ids"]
    archived = {r.record_id: r for p in sorted((run / "evidence").glob("*.warc.gz")) for r in iter_evidence(p)}
    assert archived[robots_id].body == ROBOTS.body and archived[robots_id].sha256 == ROBOTS.sha256
    # the registry and the AI-token list in force are archived too
    resources = {r.kind: r for r in archived.values() if r.kind in ("registry", "ai-tokens")}
    assert resources["registry"].body == REGISTRY.read_bytes()
    assert resources["ai-tokens"].sha256 == policy.ai_tokens.sha256

    item_allow = rows[4]
    assert item_allow["url"] == "http://a.test/t/1"
    assert item_allow["item_type"] == "recording" and item_allow["item_id"] == recording(1).item_id
    dropped, dropped_dict = rows[6], rows[7]
    assert dropped["reasons"] == ["validate:isrc"]
    assert dropped["item_id"] == recording(3).item_id and dropped["url"] == "http://a.test/t/3"
    assert dropped_dict["reasons"] == ["validate:DropItem"]
    assert dropped_dict["url"] == "http://a.test/t/3" and dropped_dict["item_id"] is None

    items = read_dir(run / "items" / "recording")
    got = items.to_pylist()
    assert [i["item_id"] for i in got] == [recording(1).item_id, recording(2).item_id]
    assert got[0]["policy_hash"] == policy.policy_hash and got[0]["optout_decision"] == "allow"
    assert got[0]["field_sources"] == [{"field": "title", "syntax": "json-ld", "locator": "/name", "raw": "Song 1"}]
    assert got[0]["fetched_at"] == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

    con = duckdb.connect()
    decisions_glob, items_glob = str(run / "decisions/*.parquet"), str(run / "items/recording/*.parquet")
    joined = con.execute(
        "SELECT count(*) FROM read_parquet(?) i JOIN read_parquet(?) d USING (item_id) "
        "WHERE d.stage = 'item' AND d.verdict = 'allow'", [items_glob, decisions_glob]).fetchone()
    assert joined == (2,)

    stats = crawler.stats.get_stats()
    assert stats["provenance/decisions/fetch/deny"] == 1
    assert stats["provenance/decisions/item/allow"] == 2 and stats["provenance/decisions/item/deny"] == 2
    assert stats["provenance/items/recording"] == 2
    assert stats["provenance/rows_written"] == 10
    assert stats["provenance/evidence/robots.txt"] == 1

    manifest = load_manifest(run)
    section = manifest["workers"]["w1"]
    assert manifest["complete"] is True and section["complete"] is True
    assert section["state"] == "closed" and section["last_seq"] == 8
    assert [s["ended"] for s in section["sessions"]] == ["closed"]
    assert manifest["policy"]["hash"] == policy.policy_hash
    assert manifest["policy"]["config"] == json.loads(json.dumps(policy.describe()))
    seals = [re.search(r"-(\d{6})\.", f["path"])[1] for f in section["files"]]
    assert seals == sorted(seals)  # files are listed seal by seal
    for seal in dict.fromkeys(seals):  # within a seal: decisions, items, evidence
        kinds = [f["kind"] for f, s in zip(section["files"], seals, strict=True) if s == seal]
        assert kinds == sorted(kinds, key=["decisions", "items", "evidence"].index)
    assert section["stats"]["finish_reason"] == "finished"
    assert verify(run) == []
    assert not list((run / ".journal").glob("*.wal"))  # sealed and gone after a clean close

    evidence_file = next(p for p in (run / "evidence").glob("*.warc.gz") if find(p, ROBOTS.sha256))
    records = find(evidence_file, ROBOTS.sha256)
    assert len(records) == 1 and records[0]["WARC-Target-URI"] == ROBOTS.url


def test_request_and_response_fill_the_context_columns(crawl: Any) -> None:
    crawler, pipeline, run = crawl
    request = Request("http://a.test/t/9", meta={"redirect_urls": ["http://a.test/old", "http://a.test/older"]},
                      headers={"User-Agent": "heed/0.1.0 (+https://team.example/contact)"})
    body = b"<html><head></head><body>x</body></html>"
    response = HtmlResponse(url="http://a.test/t/9", body=body, request=request, headers={
        "Content-Type": "text/html", "X-Robots-Tag": ["noindex", "otherbot: noai"], "Content-Usage": "train-ai=n"})
    pipeline.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/t/9"), request=request)
    pipeline.record_decision(Decision(verdict="deny", stage="use", url="http://a.test/t/9", reasons=("aipref",)),
                             request=request, response=response)
    pipeline.record_decision(Decision(verdict="deny", stage="fetch", url="http://a.test/r",
                                      reasons=("registry.domain:R1",)))
    pipeline.close()
    fetch, use, registry = read_dir(run / "decisions").to_pylist()
    assert fetch["redirect_chain"] == ["http://a.test/old", "http://a.test/older"]
    assert fetch["user_agent"] == "heed/0.1.0 (+https://team.example/contact)"
    assert fetch["content_sha256"] is None and fetch["headers"] == []
    assert use["content_sha256"] == hashlib.sha256(body).hexdigest() and use["content_length"] == len(body)
    assert use["content_type"] == "text/html"
    assert use["headers"] == [{"name": "x-robots-tag", "value": "noindex"},
                              {"name": "x-robots-tag", "value": "otherbot: noai"},
                              {"name": "content-usage", "value": "train-ai=n"}]
    assert registry["registry_ids"] == ["R1"]


def test_rows_are_journaled_before_any_part_is_published(crawl: Any) -> None:
    crawler, pipeline, run = crawl
    crawler.signals.send_catch_log(signals.spider_opened, spider=None)
    for n in range(2):
        crawler.signals.send_catch_log(heed_signals.policy_decided,
                                       decision=Decision(verdict="allow", stage="fetch", url=f"http://a.test/{n}"))
    pipeline.log.journal.wait_durable(pipeline.log.journal.ticket, timeout=10)
    assert list((run / "decisions").glob("*.parquet")) == []
    (segment,) = (run / ".journal").glob("w1-*.wal")
    kinds = [kind for kind, _ in jr.read_segment(segment).records]
    assert kinds[0] == jr.HEADER and kinds.count(jr.DECISION) == 2 and jr.EVIDENCE in kinds
    assert load_manifest(run)["workers"]["w1"]["state"] == "running"
    pipeline.close()
    assert pipeline.close() is None  # closing twice is harmless
    assert len(list((run / "decisions").glob("*.parquet"))) == 1
    assert not list((run / ".journal").glob("*.wal"))


def test_tick_seals_buffers_that_are_due(tmp_path: Path) -> None:
    _crawler, pipeline = pipeline_for(tmp_path, PROVENANCE_ROWS_PER_PART=1000, PROVENANCE_FLUSH_SECONDS=0.01)
    pipeline.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/"))
    time.sleep(0.05)
    pipeline.tick()
    pipeline.log.wait()
    (part,) = (tmp_path / "runs/run1/decisions").glob("*.parquet")
    assert pq.ParquetFile(part).metadata.num_rows == 1
    assert not list((tmp_path / "runs/run1/.journal").glob("*-000001.wal"))  # sealed: its segment is gone
    pipeline.close()
    assert load_manifest(tmp_path / "runs/run1")["workers"]["w1"]["files"][0]["path"] == f"decisions/{part.name}"


def test_unknown_item_field_or_type_is_a_clear_error(crawl: Any) -> None:
    _, pipeline, _ = crawl
    as_dict = ItemAdapter(recording(1)).asdict()
    with pytest.raises(ItemSchemaError, match=r"fields not in the recording schema: \['colour'\]"):
        pipeline.process_item({**as_dict, "colour": "red"})
    with pytest.raises(ItemSchemaError, match="unknown item_type 'video'"):
        pipeline.process_item({"item_type": "video", "item_id": "x"})
    with pytest.raises(ItemSchemaError, match="lacks required fields: .*'source'"):
        pipeline.process_item({k: v for k, v in as_dict.items() if k != "source"})
    with pytest.raises(ItemSchemaError, match="'duration_s' must be double, got str"):
        pipeline.process_item(replace(recording(1), duration_s="3:00"))
    pipeline.close()


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
    pipeline.log.wait()
    with pytest.raises(DropItem):
        pipeline.process_item(recording(1))
    pipeline.close()

    manifest = load_manifest(run)
    assert manifest["complete"] is False and manifest["workers"]["w1"]["state"] == "failed"
    assert any("No space left" in e for e in manifest["workers"]["w1"]["errors"])
    assert any(r.name.startswith("pipelines.") for r in caplog.records)
    assert crawler.stats.get_value("provenance/errors") >= 1
    assert any("did not complete" in f for f in verify(run))
    assert list((run / ".journal").glob("*.wal"))  # rows that could not be sealed stay journaled


def test_second_writer_with_the_same_worker_name_is_refused(tmp_path: Path) -> None:
    _c, first = pipeline_for(tmp_path)
    first.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/"))
    _c, running = pipeline_for(tmp_path)
    with pytest.raises(ConfigError, match="PROVENANCE_WORKER: .*running in another process"):
        running.open()
    first.close()
    _c, empty = pipeline_for(tmp_path, PROVENANCE_WORKER="w2")
    empty.close()  # listed in the manifest without any decision part
    for worker in ("w1", "w2"):
        _c, again = pipeline_for(tmp_path, PROVENANCE_WORKER=worker)
        with pytest.raises(ConfigError, match="PROVENANCE_WORKER: .*PROVENANCE_RESUME"):
            again.open()


def test_resume_continues_seq_sessions_and_chain(tmp_path: Path) -> None:
    _c, first = pipeline_for(tmp_path)
    for n in range(5):
        first.record_decision(Decision(verdict="allow", stage="fetch", url=f"http://a.test/{n}"))
    first.close()
    run = tmp_path / "runs" / "run1"
    before = load_manifest(run)["workers"]["w1"]
    _c, second = pipeline_for(tmp_path, PROVENANCE_RESUME=True)
    for n in range(3):
        second.record_decision(Decision(verdict="deny", stage="fetch", url=f"http://b.test/{n}", reasons=("tdmrep.file",)))
    second.close()
    section = load_manifest(run)["workers"]["w1"]
    assert [r["seq"] for r in read_dir(run / "decisions").to_pylist()] == list(range(1, 9))
    assert section["last_seq"] == 8 and [s["ended"] for s in section["sessions"]] == ["closed", "closed"]
    assert section["files"][: len(before["files"])] == before["files"]  # the chain is extended, not rebuilt
    assert section["chain"]["genesis"] == before["chain"]["genesis"]
    assert verify(run) == []


def test_signed_manifest_names_its_key(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "heed.key"
    fingerprint = generate_keypair(key, key.with_suffix(".key.pub"))
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    _c, pipeline = pipeline_for(tmp_path, PROVENANCE_SIGNING_KEY=str(key))
    pipeline.record_decision(Decision(verdict="allow", stage="fetch", url="http://a.test/"))
    pipeline.close()
    run = tmp_path / "runs" / "run1"
    manifest = load_manifest(run)
    assert manifest["signature"]["algorithm"] == "ed25519"
    assert manifest["signature"]["key_fingerprint"] == fingerprint
    assert key.read_bytes() not in (run / "manifest.json").read_bytes()
    assert verify(run, public_key=load_public_key(key.with_suffix(".key.pub"))) == []


def test_config_defaults(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PROVENANCE_RUN_ID="", PROVENANCE_WORKER="", PROVENANCE_DIR="data/runs")
    del settings["PROVENANCE_ROWS_PER_PART"], settings["PROVENANCE_FLUSH_SECONDS"]
    config = ProvenanceConfig.from_settings(get_crawler(settings_dict=settings).settings)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", config.run_id)
    assert config.worker == f"w{os.getpid()}"
    assert config.rows_per_part == 10_000 and config.flush_seconds == 2.0
    assert config.signing_key is None and config.resume is False
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
        ("PROVENANCE_SIGNING_KEY", "/no/such/key.pem", "PROVENANCE_SIGNING_KEY: cannot read the signing key"),
        ("PROVENANCE_SIGNING_KEY", str(REGISTRY), "PROVENANCE_SIGNING_KEY: "),
        ("PROVENANCE_RESUME", "perhaps", "PROVENANCE_RESUME must be a boolean"),
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


def test_evidence_warc_records(tmp_path: Path) -> None:
    robots = replace(ROBOTS, headers={"content-type": ["text/plain"], "content-encoding": ["gzip"]})
    block = b"x-robots-tag: noai\r\n"
    entries = [
        EvidenceEntry.from_result(robots),
        EvidenceEntry.from_result(FetchResult(url=ROBOTS.url, status=503, body=robots.body, kind="robots.txt")),
        EvidenceEntry.from_result(FetchResult(url="http://a.test/t/1", status=200, body=block, kind="headers",
                                              headers={"x-robots-tag": ["noai"]})),
        EvidenceEntry.from_result(FetchResult(url="http://d.test/robots.txt", status=None, error="timeout",
                                              kind="robots.txt", redirects=2)),
        EvidenceEntry.of_file("registry", REGISTRY),
    ]
    info = write_warc(tmp_path / "evidence-w1-000001.warc.gz", entries, run_id="run1", worker="w1", seal=1)
    assert info.rows == 6 == count_records(info.path)  # warcinfo + 5
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["evidence-w1-000001.warc.gz"]

    with open(info.path, "rb") as fh:
        records = [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(fh)]
    assert [(t, h.get_header("WARC-Target-URI")) for t, h, _, _ in records] == [
        ("warcinfo", None),
        ("response", ROBOTS.url),
        ("response", ROBOTS.url),
        ("metadata", "http://a.test/t/1"),
        ("metadata", "http://d.test/robots.txt"),
        ("resource", "file://" + str(REGISTRY)),
    ]
    _, rec, http, body = records[1]
    assert body == ROBOTS.body and http.get_statuscode() == "200"
    assert http.get_header("content-type") == "text/plain" and http.get_header("content-encoding") is None
    assert http.get_header("X-Heed-Orig-content-encoding") == "gzip"
    assert rec.get_header("X-Heed-Sha256") == ROBOTS.sha256
    assert rec.get_header("WARC-Record-ID") == entries[0].record_id
    assert rec.get_header("WARC-Payload-Digest") == "sha256:" + base64.b32encode(hashlib.sha256(ROBOTS.body).digest()).decode()
    assert records[2][2].get_statuscode() == "503"
    _, rec, http, body = records[3]
    assert http is None and body == block and rec.get_header("X-Heed-Http-Status") == "200"
    assert b"error: timeout" in records[4][3] and b"redirects: 2" in records[4][3]

    back = list(iter_evidence(info.path))
    assert [(r.kind, r.status, r.error) for r in back] == [
        ("robots.txt", 200, None), ("robots.txt", 503, None), ("headers", 200, None),
        ("robots.txt", None, "timeout"), ("registry", None, None)]
    assert back[0].headers == {"content-type": ["text/plain"], "content-encoding": ["gzip"]}
    assert back[4].url == str(REGISTRY) and back[4].body == REGISTRY.read_bytes()


def test_decision_schema_documents_every_column() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "provenance.md").read_text()
    for field in DECISIONS:
        assert field.metadata and field.metadata[b"doc"], field.name
        assert f"`{field.name}`" in docs, f"docs/provenance.md does not document {field.name}"


def test_an_item_dropped_from_an_errback_is_logged(crawl: Any) -> None:
    from twisted.python.failure import Failure

    crawler, pipeline, run = crawl
    failure = Failure(RuntimeError("audio refused"))
    crawler.signals.send_catch_log(signals.item_dropped, item={"item_type": "recording", "item_id": "x"},
                                   response=failure, exception=MissingIsrc("no ISRC"), spider=None)
    pipeline.close()
    (row,) = read_dir(run / "decisions").to_pylist()
    assert (row["stage"], row["verdict"], row["reasons"], row["item_id"], row["url"]) == (
        "item", "deny", ["validate:isrc"], "x", "")

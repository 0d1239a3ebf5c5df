"""The shared frontier on a real Redis server: codec, leases, reclaim, dupefilter, real crawls.

Everything runs against ``redis-server`` on 127.0.0.1 (the ``redis_url`` fixture) and, for
the crawls, against the loopback sample web, whose access log is the ground truth of what
the workers fetched. Two worker processes share one run; in the last test one of them is
SIGKILLed mid-crawl and the other must still fetch every page, fetching twice only pages
the dead worker had leased.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import DEMO_WEB, ROOT, demo_seeds, expected_urls
from scrapy import Request, Spider
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler import settings as heed_settings
from crawler.distributed import codec
from crawler.distributed.config import DistributedConfig
from crawler.distributed.dupefilter import RedisDupeFilter
from crawler.distributed.leases import Frontier, LostRegistration, WorkerNameInUse
from crawler.distributed.localqueue import LocalQueue
from crawler.demo.webserver import SampleWeb
from crawler.distributed.scheduler import LEASE, FrontierError, LeasedQueue, _engine_slot

SCHEDULER = "crawler.distributed.scheduler.RedisScheduler"
LEASE_MW = "crawler.distributed.scheduler.LeaseMiddleware"
POLICY_FILES = {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt", "/license.xml", "/licensing/rsl.xml"}
#: outcomes of EXPECTED.md whose URL is requested
REQUESTED = {"fetched", "deny:use"}


class _Spider(Spider):
    name = "frontier-test"

    def parse(self, response: Any) -> None:  # pragma: no cover - never called
        pass

    def other(self, response: Any) -> None:  # pragma: no cover - never called
        pass


_CLIENTS: list[Any] = []


def _client(url: str) -> Any:
    client = redis.Redis.from_url(url)
    _CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Close every Redis client a test opened, so no socket is left for the GC to report."""
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def _config(url: str, worker: str = "w1", ttl: float = 30.0, run: str = "run1") -> DistributedConfig:
    return DistributedConfig(redis_url=url, run_id=run, worker=worker, lease_ttl=ttl)


def _frontier(url: str, worker: str = "w1", ttl: float = 30.0) -> Frontier:
    return Frontier(_client(url), _config(url, worker, ttl))


def _wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


# --- codec ---------------------------------------------------------------------------------


def _round_trip(request: Request, spider: Spider | None = None) -> Request:
    data = codec.dumps(request.to_dict(spider=spider))
    json.loads(data)  # plain JSON on the wire
    assert b"pickle" not in data
    return request_from_dict(codec.loads(data), spider=spider)


def test_codec_round_trips_bytes_bodies_headers_and_unicode() -> None:
    spider = _Spider()
    body = bytes(range(256)) + "ünï".encode()
    request = Request(
        "https://example.test/ä/ë?q=ü", method="POST", body=body, callback=spider.other,
        headers={"X-Multi": ["a", "b"], "Accept-Language": "fr-CH, fr;q=0.9", "X-Raw": b"\xff\x00"},
        cookies={"ç": "ö"}, meta={"depth": 2, "note": "naïve ☃", "tuple": ("a", 1), "nested": {"__b64__": "x"},
                                    "none": None, "float": 1.5},
        cb_kwargs={"page": 3, "tags": ["é"]}, priority=-4, dont_filter=True, flags=["f"],
    )
    back = _round_trip(request, spider)
    assert back.url == request.url and back.method == "POST" and back.body == body
    assert back.headers.getlist("X-Multi") == [b"a", b"b"]
    assert back.headers["X-Raw"] == b"\xff\x00"
    assert back.headers["Accept-Language"] == b"fr-CH, fr;q=0.9"
    assert back.callback == spider.other and back.cookies == {"ç": "ö"}
    assert back.meta["note"] == "naïve ☃" and back.meta["nested"] == {"__b64__": "x"}
    assert back.meta["tuple"] == ["a", 1]  # JSON has no tuples: a list comes back
    assert back.cb_kwargs == {"page": 3, "tags": ["é"]}
    assert (back.priority, back.dont_filter, back.flags) == (-4, True, ["f"])


def test_codec_refuses_objects_instead_of_coercing_them() -> None:
    for value in (object(), {1, 2}, Path("/x"), float("nan")):
        request = Request("https://example.test/", meta={"state": value})
        with pytest.raises((codec.Unserializable, ValueError)):
            codec.dumps(request.to_dict())


def test_leased_queue_refuses_entries_naming_foreign_classes(redis_url: str) -> None:
    crawler = get_crawler(_Spider, {"DISTRIBUTED_REDIS_URL": redis_url, "PROVENANCE_RUN_ID": "run1"})
    spider = _Spider.from_crawler(crawler)
    queue = LeasedQueue(_client(redis_url), spider, "heed:run1:queue")
    entry = Request("https://example.test/").to_dict()
    entry["_class"] = "os.system"
    with pytest.raises(ValueError, match="not a Scrapy or heed class"):
        queue._decode_request(codec.dumps(entry))
    entry["_class"] = "scrapy.http.FormRequest"
    assert type(queue._decode_request(codec.dumps(entry))).__name__ == "FormRequest"


def test_queue_entries_never_carry_this_workers_lease(redis_url: str) -> None:
    crawler = get_crawler(_Spider, {"DISTRIBUTED_REDIS_URL": redis_url, "PROVENANCE_RUN_ID": "run1"})
    spider = _Spider.from_crawler(crawler)
    queue = LeasedQueue(_client(redis_url), spider, "heed:run1:queue")
    data = queue.encode(Request("https://example.test/", meta={LEASE: "w0:abc", "depth": 1}))
    assert codec.loads(data)["meta"] == {"depth": 1}


# --- the lease script ----------------------------------------------------------------------


def test_pop_takes_the_best_entry_and_leases_it_in_one_step(redis_url: str) -> None:
    front = _frontier(redis_url)
    front.register()
    for name, priority in (("low", -1), ("mid-1", 0), ("high", 10), ("mid-2", 0), ("mid-2", 0)):
        front.push(json.dumps({"url": name}).encode(), priority, None)
    client, c = front.client, front.config
    order = []
    while (popped := front.pop()) is not None:
        order.append(json.loads(popped.data)["url"])
        # the entry is no longer queued and is recorded under this worker, with its score
        leases = front.leases()
        assert popped.lease in leases
        score, _, member = leases[popped.lease].partition(b" ")
        assert member.endswith(popped.data) and client.zscore(c.queue_key, member) is None
    # priority first, then first in first out; two identical requests stay two entries
    assert order == ["high", "mid-1", "mid-2", "mid-2", "low"]
    assert client.zcard(c.queue_key) == 0 and client.hlen(c.leases_key()) == 5
    assert front.release(list(front.leases())) == 5
    assert client.hlen(c.leases_key()) == 0


def test_concurrent_pops_lose_and_double_nothing(redis_url: str) -> None:
    seed = _frontier(redis_url, "seed")
    for i in range(400):
        seed.push(json.dumps({"url": f"u{i}"}).encode(), i % 7, None)
    fronts = [_frontier(redis_url, f"w{i}") for i in range(4)]
    taken: list[list[str]] = [[] for _ in fronts]

    def drain(i: int) -> None:
        fronts[i].register()
        while (popped := fronts[i].pop()) is not None:
            taken[i].append(json.loads(popped.data)["url"])

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(fronts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [u for chunk in taken for u in chunk]
    assert sorted(every) == sorted(f"u{i}" for i in range(400))
    assert sum(len(f.leases()) for f in fronts) == 400


def test_pop_refused_to_a_process_that_lost_its_name(redis_url: str) -> None:
    front = _frontier(redis_url)
    front.push(b'{"url":"a"}', 0, None)
    with pytest.raises(LostRegistration):
        front.pop()  # never registered
    assert front.queued() == 1


def test_push_records_the_fingerprint_with_the_entry(redis_url: str) -> None:
    front = _frontier(redis_url)
    assert front.push(b'{"url":"a"}', 0, "fp1") is True
    assert front.push(b'{"url":"a"}', 0, "fp1") is False
    assert front.push(b'{"url":"a"}', 0, None) is True  # dont_filter
    assert front.queued() == 2
    assert front.client.smembers(front.config.dupefilter_key) == {b"fp1"}


# --- heartbeats and reclaim ------------------------------------------------------------------


def test_a_dead_workers_leases_go_back_to_the_queue(redis_url: str) -> None:
    dead = _frontier(redis_url, "dead", ttl=0.5)
    live = _frontier(redis_url, "live", ttl=30)
    dead.register()
    live.register()
    for i, priority in enumerate((5, 1, 3)):
        dead.push(json.dumps({"url": f"u{i}"}).encode(), priority, None)
    first, second = dead.pop(), dead.pop()
    assert first is not None and second is not None
    before = dict(dead.leases())
    assert live.reclaim_dead() == {}  # still alive: nothing moves
    c = live.config
    _wait_until(lambda: not live.client.exists(c.alive_key("dead")))  # no heartbeat: it lapses
    assert live.reclaim_dead() == {"dead": 2}
    assert dead.leases() == {} and "dead" not in live.workers()
    # back with their original scores, best first again
    queued = live.client.zrange(c.queue_key, 0, -1, withscores=True)
    restored = {(v.partition(b" ")[2], float(v.partition(b" ")[0])) for v in before.values()}
    assert restored <= set(queued) and len(queued) == 3
    assert [json.loads(m.partition(b":")[2])["url"] for m, _ in queued] == ["u0", "u2", "u1"]
    # the dead process, should it wake up, may not take more, and learns it was declared dead
    with pytest.raises(LostRegistration):
        dead.pop()
    assert dead.heartbeat() == 2
    assert dead.pop() is not None


def test_a_live_worker_name_is_refused_and_a_dead_one_is_taken_over(redis_url: str) -> None:
    first = _frontier(redis_url, "same", ttl=0.5)
    first.register()
    first.push(b'{"url":"a"}', 0, None)
    assert first.pop() is not None
    second = _frontier(redis_url, "same", ttl=0.5)
    with pytest.raises(WorkerNameInUse, match="same"):
        second.register()
    assert first.heartbeat() == 1
    _wait_until(lambda: not first.client.exists(first.config.alive_key()))
    assert second.register() == 1  # the dead holder's lease went back to the queue
    assert second.queued() == 1 and second.leases() == {}
    assert first.heartbeat() == -1  # the old process learns it was replaced


def test_leave_puts_unfinished_leases_back_and_frees_the_name(redis_url: str) -> None:
    front = _frontier(redis_url)
    front.register()
    for i in range(3):
        front.push(json.dumps({"url": f"u{i}"}).encode(), 0, None)
    done, unfinished = front.pop(), front.pop()
    assert done is not None and unfinished is not None
    front.release([done.lease])
    assert front.pending() is True
    assert front.leave() == 1
    assert front.queued() == 2 and "w1" not in front.workers()
    assert not front.client.exists(front.config.alive_key())
    again = _frontier(redis_url)
    again.register()


def test_pending_sees_queued_and_leased_requests_of_every_worker(redis_url: str) -> None:
    a, b = _frontier(redis_url, "a"), _frontier(redis_url, "b")
    a.register()
    b.register()
    assert a.pending() is False
    a.push(b'{"url":"x"}', 0, None)
    assert b.pending() is True
    popped = a.pop()
    assert popped is not None and b.pending() is True  # leased by a
    a.release([popped.lease])
    assert b.pending() is False


def test_finished_run_keys_get_an_expiry_and_keep_their_own(redis_url: str) -> None:
    front = _frontier(redis_url)
    front.register()
    front.push(b'{"url":"x"}', 0, "fp")
    front.client.set(front.config.key("policy-lock", "u"), b"t", ex=30)
    other_run = Frontier(front.client, _config(redis_url, run="run2"))
    other_run.push(b'{"url":"y"}', 0, "fp")
    assert front.expire_run(3600) >= 3
    assert 3500 < front.client.ttl(front.config.queue_key) <= 3600
    assert 3500 < front.client.ttl(front.config.dupefilter_key) <= 3600
    assert front.client.ttl(front.config.key("policy-lock", "u")) <= 30
    assert front.client.ttl(other_run.config.queue_key) == -1  # another run is untouched


# --- dupefilter --------------------------------------------------------------------------------


class _PathOnlyFingerprinter:
    """Treats URLs that differ only in their query string as the same request."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> _PathOnlyFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        return request.url.split("?", 1)[0].encode()


def _dupefilter(redis_url: str, **settings: Any) -> tuple[RedisDupeFilter, Any]:
    crawler = get_crawler(_Spider, {"DISTRIBUTED_REDIS_URL": redis_url, "PROVENANCE_RUN_ID": "run1", **settings})
    crawler.request_fingerprinter = build_from_crawler(
        load_object(crawler.settings["REQUEST_FINGERPRINTER_CLASS"]), crawler
    )
    df = RedisDupeFilter.from_crawler(crawler)
    _CLIENTS.append(df.server)
    return df, crawler


def test_dupefilter_stores_scrapys_own_fingerprint(redis_url: str) -> None:
    df, crawler = _dupefilter(redis_url)
    request = Request("https://example.test/a?b=1&a=2")
    assert df.request_seen(request) is False
    assert df.request_seen(Request("https://example.test/a?a=2&b=1")) is True  # canonical form
    expected = crawler.request_fingerprinter.fingerprint(request).hex()
    assert df.server.smembers("heed:run1:dupefilter") == {expected.encode()}
    df.close("finished")
    assert df.server.exists("heed:run1:dupefilter")  # other workers still rely on it


def test_dupefilter_follows_request_fingerprinter_class(redis_url: str) -> None:
    df, _ = _dupefilter(redis_url, REQUEST_FINGERPRINTER_CLASS=f"{__name__}._PathOnlyFingerprinter")
    assert df.request_seen(Request("https://example.test/a?x=1")) is False
    assert df.request_seen(Request("https://example.test/a?x=2")) is True
    assert df.server.smembers("heed:run1:dupefilter") == {b"https://example.test/a".hex().encode()}


# --- local requests and the engine guard ----------------------------------------------------------


def test_local_queue_counts_waiting_requests_per_lease() -> None:
    local = LocalQueue(LEASE)
    local.push(Request("https://a.test/1", meta={LEASE: "L1"}))
    local.push(Request("https://a.test/2", meta={LEASE: "L1"}, priority=5))
    local.push(Request("https://a.test/3"))
    assert set(local.leases()) == {"L1"} and local.waiting_for("L1") == 2
    first = local.pop()
    assert first is not None and first.url.endswith("/2")  # priority first
    assert local.waiting_for("L1") == 1
    local.pop()
    assert list(local.leases()) == []
    assert len(local) == 1


def test_frontier_refuses_an_engine_without_inprogress() -> None:
    class _Engine:
        _slot = None

    class _Crawler:
        engine = _Engine()

    with pytest.raises(FrontierError, match="inprogress"):
        _engine_slot(_Crawler())


# --- real crawls with several worker processes ------------------------------------------------------


def _worker(web: Any, tmp: Path, redis_url: str, name: str, seeds: list[str], **extra: Any) -> subprocess.Popen[str]:
    spider_mws = dict(heed_settings.SPIDER_MIDDLEWARES)
    spider_mws[LEASE_MW] = 10
    settings: dict[str, Any] = {
        "IDENTITY_ALLOW_PLACEHOLDER": True,
        "POLICY_RESOLVE": web.resolve_map(),
        # one run directory per worker process, as on separate machines
        "PROVENANCE_DIR": str(tmp / f"runs-{name}"),
        "PROVENANCE_RUN_ID": "dist-run",
        "PROVENANCE_WORKER": name,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "POLITENESS_HOLD_RECHECKS": 0,
        "LOG_LEVEL": "INFO",
        "DISTRIBUTED_REDIS_URL": redis_url,
        "DISTRIBUTED_LEASE_TTL": 2,
        "SCHEDULER": SCHEDULER,
        "SPIDER_MIDDLEWARES": spider_mws,
        # the frontier alone: shared pacing and the rest of the add-on are tested with it elsewhere
        "ADDONS": {},
        **extra,
    }
    args = [sys.executable, "-m", "scrapy", "crawl", "music", "-a", "urls=" + ",".join(seeds)]
    for key, value in settings.items():
        args += ["-s", f"{key}={value if isinstance(value, (str, int, float)) else json.dumps(value)}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with (tmp / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def _log(tmp: Path, name: str) -> str:
    return (tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def _stat(log: str, name: str) -> int:
    m = re.search(rf"'distributed/{re.escape(name)}': (\d+)", log)
    return int(m[1]) if m else 0


def _content_hits(web: Any) -> Counter[tuple[str, str]]:
    """Page requests (no policy files, no ranged audio reads) and how often each was made."""
    return Counter((h.host, h.path) for h in web.hits_snapshot()
                   if h.path not in POLICY_FILES and "range" not in h.headers)


def _expected_pages() -> set[tuple[str, str]]:
    return {(row.host, row.path) for row in expected_urls() if row.outcome in REQUESTED}


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_two_workers_fetch_every_page_once_and_both_finish(sample_web: Any, tmp_path: Path, redis_url: str) -> None:
    seeds = demo_seeds(sample_web)
    # a small delay keeps the crawl longer than the gap between the two workers' start-ups
    procs = [_worker(sample_web, tmp_path, redis_url, name, seeds, DOWNLOAD_DELAY=0.2, DISTRIBUTED_MAX_LEASES=4)
             for name in ("wa", "wb")]
    codes = [_finish(p) for p in procs]
    logs = {name: _log(tmp_path, name) for name in ("wa", "wb")}
    assert codes == [0, 0], {k: v[-3000:] for k, v in logs.items()}

    hits = _content_hits(sample_web)
    assert set(hits) >= _expected_pages()
    assert {page: n for page, n in hits.items() if n > 1} == {}, "a page was fetched twice"
    ranged = Counter((h.host, h.path, h.headers["range"]) for h in sample_web.hits_snapshot() if "range" in h.headers)
    assert ranged and max(ranged.values()) == 1  # local follow-ups (audio reads) ran once too

    # both workers took part, every lease they took was released, both finished cleanly
    for name, log in logs.items():
        assert "'finish_reason': 'finished'" in log, name
        assert _stat(log, "leased") > 0, name
        assert _stat(log, "leased") == _stat(log, "released"), name
    # identical seeds counted once: the second worker found them in the dupefilter
    assert sum(_stat(log, "enqueued") for log in logs.values()) == sum(_stat(log, "leased") for log in logs.values())
    assert sum(_stat(log, "duplicates") for log in logs.values()) >= len(seeds)

    # the run's keys are kept with an expiry, nothing is left in the queue or leased
    client = _client(redis_url)
    assert client.zcard("heed:dist-run:queue") == 0
    assert not client.exists("heed:dist-run:workers")
    assert not client.keys("heed:dist-run:leases:*")
    ttl = client.ttl("heed:dist-run:dupefilter")
    assert 0 < ttl <= 7 * 86400
    assert client.scard("heed:dist-run:dupefilter") > 0


def test_a_second_worker_with_a_live_name_is_refused_before_crawling(sample_web: Any, tmp_path: Path,
                                                                      redis_url: str) -> None:
    holder = Frontier(_client(redis_url), _config(redis_url, "wa", ttl=60, run="dist-run"))
    holder.register()
    proc = _worker(sample_web, tmp_path, redis_url, "wa", demo_seeds(sample_web))
    code = _finish(proc)
    log = _log(tmp_path, "wa")
    assert code != 0, log[-3000:]
    assert "a live worker named 'wa' is already crawling run 'dist-run'" in log
    assert sample_web.hits_snapshot() == []  # nothing crawled, not even a policy file
    assert holder.heartbeat() == 1  # the live worker's registration is untouched
    assert holder.client.zcard("heed:dist-run:queue") == 0


def test_the_frontier_refuses_to_run_without_the_lease_middleware(sample_web: Any, tmp_path: Path,
                                                                   redis_url: str) -> None:
    proc = _worker(sample_web, tmp_path, redis_url, "wa", demo_seeds(sample_web),
                   SPIDER_MIDDLEWARES=dict(heed_settings.SPIDER_MIDDLEWARES))
    code = _finish(proc)
    log = _log(tmp_path, "wa")
    assert code != 0 and "must enable crawler.distributed.scheduler.LeaseMiddleware" in log, log[-3000:]
    assert sample_web.hits_snapshot() == []


def test_a_stopped_worker_hands_its_work_back_and_the_run_goes_on(sample_web: Any, tmp_path: Path,
                                                                  redis_url: str) -> None:
    seeds = demo_seeds(sample_web)
    first = _worker(sample_web, tmp_path, redis_url, "wa", seeds, CLOSESPIDER_PAGECOUNT=3)
    _finish(first)
    log = _log(tmp_path, "wa")
    assert "'finish_reason': 'closespider_pagecount'" in log, log[-3000:]
    client = _client(redis_url)
    # not finished: nothing flushed, nothing given an expiry, no lease left behind
    assert client.zcard("heed:dist-run:queue") > 0
    assert client.ttl("heed:dist-run:queue") == -1 and client.ttl("heed:dist-run:dupefilter") == -1
    assert not client.keys("heed:dist-run:leases:*") and not client.exists("heed:dist-run:workers")
    assert _stat(log, "leased") == _stat(log, "released") + _stat(log, "requeued")
    fetched_by_first = _content_hits(sample_web)

    second = _worker(sample_web, tmp_path, redis_url, "wb", seeds)
    assert _finish(second) == 0, _log(tmp_path, "wb")[-3000:]
    hits = _content_hits(sample_web)
    assert set(hits) >= _expected_pages()
    assert {page: n for page, n in hits.items() if n > 1} == {}, "the second worker fetched a page again"
    assert set(fetched_by_first) < set(hits)
    assert 0 < client.ttl("heed:dist-run:dupefilter") <= 7 * 86400


def _leased_urls(client: Any, worker: str) -> set[str]:
    urls = set()
    for value in client.hvals(f"heed:dist-run:leases:{worker}"):
        member = value.partition(b" ")[2]
        urls.add(codec.loads(member.partition(b":")[2])["url"])
    return urls


@pytest.fixture
def slow_web(tmp_path: Path) -> Iterator[SampleWeb]:
    """The sample web, with track pages that answer after 1.5 s on hosts without overrides:
    a worker killed just after such a request arrived certainly had it in flight."""
    root = tmp_path / "web"
    shutil.copytree(DEMO_WEB, root)
    for host in root.iterdir():
        if host.is_dir() and not (host / "_site.json").exists():
            (host / "_site.json").write_text(json.dumps({"routes": {"/tracks/*": {"delay": 1.5}}}))
    with SampleWeb(root) as web:
        yield web


#: scrapy-redis' own scheduler on the same keys: JSON, persistent, but a pop removes the request.
SCRAPY_REDIS = {
    "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
    "SCHEDULER_PERSIST": True,
    "SCHEDULER_SERIALIZER": "crawler.distributed.codec",
    "SCHEDULER_QUEUE_KEY": "heed:dist-run:queue",
    "SCHEDULER_DUPEFILTER_KEY": "heed:dist-run:dupefilter",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
}


@pytest.mark.parametrize("scheduler", ["leases", "scrapy-redis"])
def test_a_killed_workers_pages_are_fetched_by_the_other(scheduler: str, slow_web: SampleWeb, tmp_path: Path,
                                                         redis_url: str) -> None:
    seeds = demo_seeds(slow_web)
    # short timeouts bound how long a policy-file lock of the dead worker can keep the other waiting
    common: dict[str, Any] = {"DOWNLOAD_TIMEOUT": 3, "POLITENESS_MAX_CRAWL_DELAY": 1}
    if scheduler == "scrapy-redis":  # negative control: the same kill without leases loses the page
        common.update(SCRAPY_REDIS, REDIS_URL=redis_url)
    victim = _worker(slow_web, tmp_path, redis_url, "wa", seeds, IDENTITY_FROM="wa@example.test", **common)
    survivor = _worker(slow_web, tmp_path, redis_url, "wb", seeds, IDENTITY_FROM="wb@example.test", **common)
    client = _client(redis_url)

    def in_flight() -> list[Any]:
        return [h for h in slow_web.hits_snapshot() if h.path.startswith("/tracks/")
                and h.headers.get("from") == "wa@example.test"]

    # kill the victim while the server is still answering one of its track requests
    _wait_until(lambda: bool(in_flight()) or victim.poll() is not None, timeout=120)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(30) == -signal.SIGKILL, _log(tmp_path, "wa")[-3000:]
    hit = in_flight()[0]
    page = slow_web.url(hit.host, hit.path)
    # its leases, read before its heartbeat lapses and the survivor puts them back
    leased = _leased_urls(client, "wa")
    alive = client.exists("heed:dist-run:alive:wa")

    code = _finish(survivor)
    log = _log(tmp_path, "wb")
    refetched = [h for h in slow_web.hits_snapshot() if (h.host, h.path) == (hit.host, hit.path)
                 and h.headers.get("from") == "wb@example.test"]
    if scheduler == "scrapy-redis":
        assert "'finish_reason': 'finished'" in log and "'scheduler/dequeued/redis'" in log, log[-3000:]
        assert not refetched, "the control should lose the page the killed worker had in flight"
        return

    assert alive, "the heartbeat lapsed before the leases were read"
    assert page in leased
    assert code == 0, log[-3000:]
    assert "'finish_reason': 'finished'" in log
    assert _stat(log, "reclaimed") == len(leased)
    assert refetched, f"{page} was in flight in the killed worker and never fetched again"
    hits = _content_hits(slow_web)
    assert set(hits) >= _expected_pages(), "a page was never fetched"
    twice = {slow_web.url(host, path) for (host, path), n in hits.items() if n > 1}
    assert twice <= leased, f"fetched twice but not leased by the dead worker: {twice - leased}"
    assert not client.exists("heed:dist-run:workers") and client.zcard("heed:dist-run:queue") == 0


def test_frontier_settings_are_checked_and_named() -> None:
    from scrapy.settings import Settings

    from crawler.distributed.config import DistributedConfigError
    from crawler.distributed.scheduler import FrontierConfig

    assert FrontierConfig.from_settings(Settings()) == FrontierConfig(keys_ttl=7 * 86400.0, poll_interval=0.5)
    for name, bad in (("DISTRIBUTED_KEYS_TTL", 0), ("DISTRIBUTED_POLL_INTERVAL", "soon"), ("DISTRIBUTED_MAX_LEASES", -1)):
        with pytest.raises(DistributedConfigError, match=name):
            FrontierConfig.from_settings(Settings({name: bad}))

"""The shared pace and the shared policy files, against a real Redis server.

Several "workers" here are several clients of one server, as on several machines. The
end-to-end behaviour with real worker processes is in test_distributed_e2e.py.
"""

from __future__ import annotations

import asyncio

import pytest
import redis
from scrapy.settings import Settings

from crawler.distributed.addon import DistributedAddon
from crawler.distributed.config import DistributedConfig, DistributedConfigError
from crawler.distributed.pacing import SharedPace
from crawler.distributed.policyfiles import SharedPolicyFiles, decode, encode
from crawler.policy.fetchresult import FetchResult


def _config(url: str, worker: str = "a") -> DistributedConfig:
    return DistributedConfig(redis_url=url, run_id="r1", worker=worker)


def _pace(url: str, worker: str) -> SharedPace:
    return SharedPace(_config(url, worker), redis.Redis.from_url(url), busy_seconds=30)


# --- config and add-on -------------------------------------------------------------------


def test_distributed_mode_needs_a_run_id_shared_by_all_workers() -> None:
    with pytest.raises(DistributedConfigError, match="PROVENANCE_RUN_ID"):
        DistributedConfig.from_settings(Settings({"DISTRIBUTED_REDIS_URL": "redis://127.0.0.1:6379/0"}))


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379"])
def test_a_redis_url_must_be_a_redis_url(url: str) -> None:
    with pytest.raises(DistributedConfigError, match="DISTRIBUTED_REDIS_URL"):
        DistributedConfig.from_settings(Settings({"DISTRIBUTED_REDIS_URL": url, "PROVENANCE_RUN_ID": "r"}))


def test_a_password_in_the_url_is_refused_it_would_be_logged() -> None:
    settings = Settings({"DISTRIBUTED_REDIS_URL": "redis://:s3cret@127.0.0.1:6379/0", "PROVENANCE_RUN_ID": "r"})
    with pytest.raises(DistributedConfigError, match="HEED_REDIS_PASSWORD") as info:
        DistributedConfig.from_settings(settings)
    assert "s3cret" not in str(info.value)


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.distributed.config import connect

    monkeypatch.setenv("MY_REDIS_PW", "s3cret")
    config = DistributedConfig.from_settings(Settings({
        "DISTRIBUTED_REDIS_URL": "redis://127.0.0.1:6379/0", "PROVENANCE_RUN_ID": "r",
        "DISTRIBUTED_REDIS_PASSWORD_ENV": "MY_REDIS_PW"}))
    client = connect(config)
    assert client.connection_pool.connection_kwargs["password"] == "s3cret"
    client.close()


def test_the_addon_changes_nothing_without_redis() -> None:
    settings = Settings({"SCHEDULER": "x.Y"})
    DistributedAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "x.Y"
    assert "http" not in settings.getdict("DOWNLOAD_HANDLERS")


def test_the_addon_switches_scheduler_handler_and_recovery_together() -> None:
    settings = Settings({"DISTRIBUTED_REDIS_URL": "redis://127.0.0.1:1/0", "PROVENANCE_RUN_ID": "r"})
    DistributedAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "crawler.distributed.scheduler.RedisScheduler"
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == handlers["https"] == "crawler.distributed.pacing.SharedPaceHandler"
    assert settings["DISTRIBUTED_INNER_HTTP_HANDLER"].endswith("HTTP11DownloadHandler")
    assert "crawler.distributed.recovery.DeadWorkerRecovery" in settings.getdict("EXTENSIONS")


def test_command_line_settings_win_over_the_addon() -> None:
    settings = Settings({"DISTRIBUTED_REDIS_URL": "redis://127.0.0.1:1/0", "PROVENANCE_RUN_ID": "r"})
    settings.set("SCHEDULER", "my.Scheduler", "cmdline")
    DistributedAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "my.Scheduler"


# --- shared pace -------------------------------------------------------------------------


def test_one_request_in_flight_per_host_across_workers(redis_url: str) -> None:
    a, b = _pace(redis_url, "a"), _pace(redis_url, "b")
    assert a.try_acquire("host.test", "ta", 0) == 0
    assert b.try_acquire("host.test", "tb", 0) > 0, "a second worker took a host already in flight"
    assert b.try_acquire("other.test", "tb", 0) == 0, "hosts are independent"
    b.release("host.test", "tb")  # not b's to free
    assert b.try_acquire("host.test", "tb", 0) > 0
    a.release("host.test", "ta")
    assert b.try_acquire("host.test", "tb", 0) == 0


def test_the_delay_counts_from_the_previous_start_on_any_worker(redis_url: str) -> None:
    a, b = _pace(redis_url, "a"), _pace(redis_url, "b")
    assert a.try_acquire("host.test", "ta", 60) == 0
    a.release("host.test", "ta")
    wait = b.try_acquire("host.test", "tb", 60)
    assert 55 < wait <= 60, wait


def test_a_longer_delay_learnt_after_the_previous_start_counts_at_once(redis_url: str) -> None:
    """robots.txt's Crawl-delay arrives with the first response: the next request waits for
    it even though the first one was started under the shorter default."""
    a = _pace(redis_url, "a")
    assert a.try_acquire("host.test", "ta", 0.1) == 0
    a.release("host.test", "ta")
    assert 55 < a.try_acquire("host.test", "ta", 60) <= 60


def test_a_hold_reaches_every_worker_and_never_shortens(redis_url: str) -> None:
    a, b = _pace(redis_url, "a"), _pace(redis_url, "b")
    a.hold("host.test", 120)
    assert 115 < b.try_acquire("host.test", "tb", 0) <= 120
    a.hold("host.test", 1)  # a shorter hold does not undo the longer one
    assert b.try_acquire("host.test", "tb", 0) > 100


def test_a_dead_holder_frees_the_host_when_its_key_expires(redis_url: str) -> None:
    a = SharedPace(_config(redis_url, "a"), redis.Redis.from_url(redis_url), busy_seconds=0.2)
    b = _pace(redis_url, "b")
    assert a.try_acquire("host.test", "ta", 0) == 0
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.pttl("heed:r1:busy:host.test") <= 200
    # a's process dies here without releasing: the key's expiry frees the host
    client.pexpire("heed:r1:busy:host.test", 1)
    deadline = 100
    while b.try_acquire("host.test", "tb", 0) != 0 and deadline:
        deadline -= 1
        asyncio.run(asyncio.sleep(0.01))
    assert deadline, "the host stayed taken after its holder's key expired"


# --- shared policy files -----------------------------------------------------------------


def _files(url: str, *, ttl: float = 3600, failure_ttl: float = 60) -> SharedPolicyFiles:
    return SharedPolicyFiles(_config(url), redis.Redis.from_url(url), ttl=ttl, failure_ttl=failure_ttl,
                             lock_seconds=30)


def _robots(status: int | None = 200, **kw: object) -> FetchResult:
    import time

    return FetchResult(url="http://a.test/robots.txt", status=status, kind="robots.txt",
                       body=b"User-agent: *\nDisallow: /x\n\xff", headers={"content-type": ["text/plain"]},
                       fetched_at=time.time(), **kw)  # type: ignore[arg-type]


def test_fetch_results_round_trip_byte_for_byte() -> None:
    original = _robots(redirects=2)
    copy = decode(encode(original))
    assert copy == original and copy.sha256 == original.sha256
    failed = FetchResult(url="http://a.test/robots.txt", status=None, kind="robots.txt", error="timeout")
    assert decode(encode(failed)) == failed


def test_many_waiters_one_fetch(redis_url: str) -> None:
    calls = []

    async def fetch() -> FetchResult:
        calls.append(1)
        await asyncio.sleep(0.2)  # slow enough that every other worker must wait for it
        return _robots()

    async def main() -> list[tuple[FetchResult, bool]]:
        workers = [_files(redis_url) for _ in range(4)]
        return await asyncio.gather(*(w.get("http://a.test/robots.txt", fetch) for w in workers))

    results = asyncio.run(main())
    assert len(calls) == 1
    assert sorted(shared for _, shared in results) == [False, True, True, True]
    assert len({r.sha256 for r, _ in results}) == 1


def test_an_unreachable_file_is_shared_only_for_the_failure_ttl(redis_url: str) -> None:
    files = _files(redis_url, ttl=3600, failure_ttl=5)

    async def fail() -> FetchResult:
        return FetchResult(url="http://a.test/robots.txt", status=503, kind="robots.txt")

    async def main() -> None:
        await files.get("http://a.test/robots.txt", fail)

    asyncio.run(main())
    pttl = redis.Redis.from_url(redis_url).pttl("heed:r1:policy:http://a.test/robots.txt")
    assert 0 < pttl <= 5000


def test_a_corrupt_entry_is_fetched_again_not_trusted(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).set("heed:r1:policy:http://a.test/robots.txt", b"{not json")
    calls = []

    async def fetch() -> FetchResult:
        calls.append(1)
        return _robots()

    result, shared = asyncio.run(_files(redis_url).get("http://a.test/robots.txt", fetch))
    assert calls and not shared and result.status == 200


def test_a_waiter_fetches_itself_when_the_holder_died(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("heed:r1:policy-lock:http://a.test/robots.txt", b"dead-holder", px=150)
    calls = []

    async def fetch() -> FetchResult:
        calls.append(1)
        return _robots()

    result, shared = asyncio.run(_files(redis_url).get("http://a.test/robots.txt", fetch))
    assert calls == [1] and not shared


def test_a_redis_failure_is_an_error_not_an_allow() -> None:
    files = _files("redis://127.0.0.1:9/0")  # nothing listens on the discard port

    async def fetch() -> FetchResult:
        raise AssertionError("must not fetch without the shared store")

    with pytest.raises(redis.ConnectionError):
        asyncio.run(files.get("http://a.test/robots.txt", fetch))


def _beat(url: str, *workers: str) -> None:
    """Heartbeats as the frontier writes them (crawler.distributed.leases)."""
    client = redis.Redis.from_url(url)
    for worker in workers:
        client.set(f"heed:r1:alive:{worker}", b"1", px=60_000)


def test_a_dead_holders_host_is_free_once_its_heartbeat_lapses(redis_url: str) -> None:
    a, b = _pace(redis_url, "a"), _pace(redis_url, "b")
    _beat(redis_url, "a", "b")
    assert a.try_acquire("host.test", "ta", 0) == 0
    assert b.try_acquire("host.test", "tb", 0) > 0
    redis.Redis.from_url(redis_url).delete("heed:r1:alive:a")  # a died: its heartbeat is gone
    assert b.try_acquire("host.test", "tb", 0) == 0


def test_without_heartbeats_no_worker_judges_another_dead(redis_url: str) -> None:
    """A worker outside the heartbeat scheme (no frontier running) must never take a host."""
    a, b = _pace(redis_url, "a"), _pace(redis_url, "b")
    assert a.try_acquire("host.test", "ta", 0) == 0
    assert b.try_acquire("host.test", "tb", 0) > 0


def test_a_waiter_takes_over_the_fetch_of_a_worker_whose_heartbeat_lapsed(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("heed:r1:policy-lock:http://a.test/robots.txt", b"ghost 1234", px=600_000)
    _beat(redis_url, "a")  # the waiter is "a" (see _config); "ghost" has no heartbeat
    calls = []

    async def fetch() -> FetchResult:
        calls.append(1)
        return _robots()

    result, shared = asyncio.run(_files(redis_url).get("http://a.test/robots.txt", fetch))
    assert calls == [1] and not shared


def test_a_stored_request_cannot_carry_the_gates_own_mark() -> None:
    """Queues, JOBDIRs and the crawl DB are data: an entry marked as one of the gate's own
    policy-file requests would skip the gate, so the mark is removed on the way in."""
    from scrapy import Request

    from crawler.distributed import codec
    from crawler.middlewares.guard import INTERNAL

    stored = codec.loads(codec.dumps(Request("http://a.test/x", meta={INTERNAL: True, "depth": 2}).to_dict()))
    request = codec.request_from_stored(stored)
    assert INTERNAL not in request.meta and request.meta["depth"] == 2
    with pytest.raises(ValueError, match="not a Scrapy or heed class"):
        codec.request_from_stored({**stored, "_class": "os.system"})
    with pytest.raises(ValueError, match="not a request"):
        codec.request_from_stored(["http://a.test/x"])


@pytest.mark.parametrize("raw", ["nan", "inf", "-1", "0", "soon"])
def test_a_duration_that_is_not_a_finite_positive_number_is_refused(raw: str) -> None:
    from crawler.distributed.config import seconds_setting

    with pytest.raises(DistributedConfigError, match="DISTRIBUTED_LEASE_TTL"):
        seconds_setting(Settings({"DISTRIBUTED_LEASE_TTL": raw}), "DISTRIBUTED_LEASE_TTL", 30.0)
    assert seconds_setting(Settings({"M": "0"}), "M", 0.1, zero_ok=True) == 0.0

"""One run of a named job at a time: a real ``flock`` between real processes.

The lock unit test holds the lock in a child process; the end-to-end test runs two
``scrapy crawl`` processes of the same job against two separate loopback webs, so the
second web's access log proves the refused run crawled nothing. The negative control runs
the second crawl under another job name and sees it crawl.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_jobs_web import HOST, ROOT, build_chain_web, pages_requested, start_crawl, wait_for_hits

from crawler.demo.webserver import SampleWeb
from crawler.jobs.history import read_runs
from crawler.jobs.lock import JobLock, JobLocked, read_holder
from crawler.jobs.paths import JobPaths

HOLDER = """
import sys, time
from pathlib import Path
from crawler.jobs.lock import JobLock
lock = JobLock(Path(sys.argv[1]), run_id="held-run")
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def hold_in_child(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def stop(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.stdout is not None
    child.stdout.close()


def test_a_held_lock_is_refused_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / ".jobs" / "nightly" / "lock"
    child = hold_in_child(path)
    try:
        with pytest.raises(JobLocked) as caught:
            JobLock(path).acquire()
        assert caught.value.holder["pid"] == child.pid and caught.value.holder["run_id"] == "held-run"
        assert f"pid {child.pid}" in str(caught.value)
    finally:
        stop(child)


def test_a_sigkilled_holder_does_not_block_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    child = hold_in_child(path)
    stop(child)
    assert read_holder(path)["pid"] == child.pid  # the note stays; the flock went with the process
    with JobLock(path, run_id="next") as lock:
        assert lock.held and read_holder(path)["pid"] == os.getpid()
        with pytest.raises(JobLocked):  # and it excludes others again (a second open file, same process)
            JobLock(path).acquire()
    with JobLock(path):  # released on exit
        pass


def job_settings(name: str, run_id: str) -> dict[str, object]:
    return {"JOB_NAME": name, "PROVENANCE_RUN_ID": run_id, "DOWNLOAD_DELAY": 0.2, "CONCURRENT_REQUESTS": 2}


@pytest.fixture
def two_webs(tmp_path: Path):
    slow = build_chain_web(tmp_path / "web-a", pages=20, delay=0.2)  # ~8 s: outlives the other crawls
    other = build_chain_web(tmp_path / "web-b", pages=3)
    with SampleWeb(slow) as a, SampleWeb(other) as b:
        yield a, b


def test_a_second_run_of_the_job_exits_75_and_crawls_nothing(two_webs, tmp_path: Path) -> None:
    a, b = two_webs
    out = tmp_path / "runs"
    first = start_crawl(a, out, [a.url(HOST)], job_settings("nightly", "first"), tag="first")
    try:
        wait_for_hits(a, first, 1)
        second = start_crawl(b, out, [b.url(HOST)], job_settings("nightly", "second"), tag="second")
        assert second.wait() == 75, second.stderr[-3000:]
        assert b.hits == []  # nothing was crawled, not even robots.txt
        assert second.summary() == {"job": "nightly", "run": "-", "status": "locked", "reason": "lock-held",
                                    "holder": f"{first.proc.pid}@{os.uname().nodename}", "exit": "75"}
        assert f"pid {first.proc.pid}" in second.stderr and "run first" in second.stderr
        assert not (out / "second").exists()

        # negative control: another job name is not excluded, and does crawl
        control = start_crawl(b, out, [b.url(HOST)], job_settings("weekly", "control"), tag="control")
        assert control.wait() == 0, control.stderr[-3000:]
        assert pages_requested(b, HOST)
        assert first.proc.poll() is None, "the control must have run while the first run held its lock"
    finally:
        code = first.wait()
    assert code == 0, first.stderr[-3000:]
    assert first.summary()["status"] == "ok"
    runs = read_runs(JobPaths.of(out, "nightly").history)
    assert [(r.run_id, r.status, r.exit) for r in runs] == [("first", "ok", 0)]
    assert runs[0].started < runs[0].finished
    assert [r.run_id for r in read_runs(JobPaths.of(out, "weekly").history)] == ["control"]


def test_a_sigkilled_crawl_does_not_block_the_next_run_of_its_job(two_webs, tmp_path: Path) -> None:
    a, b = two_webs
    out = tmp_path / "runs"
    first = start_crawl(a, out, [a.url(HOST)], job_settings("nightly", "killed"), tag="killed")
    wait_for_hits(a, first, 1)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait()
    holder = json.loads(JobPaths.of(out, "nightly").lock.read_text())
    assert holder["pid"] == first.proc.pid and holder["run_id"] == "killed"
    after = start_crawl(b, out, [b.url(HOST)], job_settings("nightly", "after"), tag="after")
    assert after.wait() == 0, after.stderr[-3000:]
    assert pages_requested(b, HOST)
    # the killed run never wrote its history line; the next one did
    assert [r.run_id for r in read_runs(JobPaths.of(out, "nightly").history)] == ["after"]

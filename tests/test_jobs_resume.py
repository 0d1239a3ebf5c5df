"""``JOBDIR`` resume continues the same run and its log chain, after SIGTERM and after SIGKILL.

Real crawls (``python -m scrapy crawl music``) of a generated 24-page loopback site; the
server's access log is the ground truth of what was fetched. Stopped gracefully (SIGTERM
once) and started again with the same ``JOBDIR``, the crawl fetches every page exactly
once overall and leaves one run directory whose chain verifies clean. Killed (SIGKILL) and
started again, the resumed run first recovers the dead process's journal, so every
decision row it had journaled is in the log. Negative controls: without ``JOBDIR`` the
restart fetches pages again and starts a second run; without the journal, rows are lost.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_jobs_web import HOST, build_chain_web, page_path, pages_requested, start_crawl, wait_for_hits

from crawler.demo.webserver import SampleWeb
from crawler.jobs.history import read_runs
from crawler.jobs.paths import JobPaths
from crawler.jobs.resume import STATE_FILE
from pipelines import journal as jr
from pipelines.manifest import load_manifest
from pipelines.records import decode_row
from pipelines.verify import verify

PAGES = 24
ALL_PAGES = {"/", *(page_path(n) for n in range(PAGES))}


@pytest.fixture
def web(tmp_path: Path):
    with SampleWeb(build_chain_web(tmp_path / "web", PAGES)) as served:
        yield served


def settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    # two requests in flight: the rest of the frontier waits in the scheduler's (disk) queue
    return {"JOBDIR": str(tmp_path / "jobdir"), "DOWNLOAD_DELAY": 0.1, "CONCURRENT_REQUESTS": 2, **extra}


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


def logged_rows(run: Path) -> set[tuple[int, str, str, str]]:
    files = sorted(str(p) for p in (run / "decisions").glob("*.parquet"))
    rows = duckdb.execute("SELECT seq, url, stage, verdict FROM read_parquet(?)", [files]).fetchall()
    return {tuple(r) for r in rows}  # type: ignore[misc]


def journaled_rows(run: Path, worker: str) -> set[tuple[int, str, str, str]]:
    """Decision rows in the worker's journal segments (what a killed process left)."""
    found = set()
    for _index, path in jr.segments(run / jr.JOURNAL_DIR, worker):
        columns, constants = None, None
        for kind, payload in jr.read_segment(path).records:
            if kind == jr.HEADER:
                header = json.loads(payload)
                columns, constants = header.get("columns"), header.get("constants")
            elif kind == jr.DECISION:
                row = decode_row(payload, columns, constants)
                found.add((row["seq"], row["url"], row["stage"], row["verdict"]))
    return found


def test_sigterm_then_resume_fetches_each_page_once_in_one_run(web: SampleWeb, tmp_path: Path) -> None:
    out, seeds = tmp_path / "runs", [web.url(HOST)]
    first = start_crawl(web, out, seeds, settings(tmp_path), tag="first")
    wait_for_hits(web, first, 8)
    os.kill(first.proc.pid, signal.SIGTERM)  # once: Scrapy's graceful stop
    assert first.wait() == 1, first.stderr[-3000:]
    stopped = first.summary()
    assert (stopped["status"], stopped["reason"], stopped["verify"]) == ("failed", "finish:shutdown", "clean")
    before = pages_requested(web)
    assert 8 <= len(before) < len(ALL_PAGES), "the stop must land midway"
    identity = json.loads((tmp_path / "jobdir" / STATE_FILE).read_text())
    assert identity["run_id"] == stopped["run"]

    second = start_crawl(web, out, seeds, settings(tmp_path), tag="second")
    assert second.wait() == 0, second.stderr[-3000:]
    resumed = second.summary()
    assert (resumed["run"], resumed["status"], resumed["verify"]) == (stopped["run"], "ok", "clean")

    fetched = Counter(pages_requested(web))
    assert set(fetched) == ALL_PAGES
    assert [p for p, n in fetched.items() if n > 1] == []  # each page fetched once overall
    assert int(stopped["pages"]) + int(resumed["pages"]) == len(ALL_PAGES)

    (run,) = run_dirs(out)
    assert run.name == stopped["run"] and verify(run) == []
    workers = load_manifest(run)["workers"]
    assert list(workers) == [identity["worker"]]
    assert [s["ended"] for s in workers[identity["worker"]]["sessions"]] == ["closed", "closed"]
    seqs = sorted(seq for seq, _u, _s, _v in logged_rows(run))
    assert seqs == list(range(1, len(seqs) + 1))  # one continuous chain of rows
    assert {u.split(str(web.port), 1)[1] for _q, u, stage, v in logged_rows(run) if stage == "fetch" and v == "allow"} == ALL_PAGES
    # the run finished: the JOBDIR is ready for a new run
    assert not (tmp_path / "jobdir" / STATE_FILE).exists()


def test_negative_control_without_jobdir_a_restart_fetches_again(web: SampleWeb, tmp_path: Path) -> None:
    out, seeds = tmp_path / "runs", [web.url(HOST)]
    first = start_crawl(web, out, seeds, settings(tmp_path, JOBDIR=""), tag="first")
    wait_for_hits(web, first, 8)
    os.kill(first.proc.pid, signal.SIGTERM)
    assert first.wait() == 1
    second = start_crawl(web, out, seeds, settings(tmp_path, JOBDIR=""), tag="second")
    assert second.wait() == 0, second.stderr[-3000:]
    fetched = Counter(pages_requested(web))
    assert [p for p, n in fetched.items() if n > 1], "without JOBDIR the restart must fetch pages again"
    assert len(run_dirs(out)) == 2


@pytest.mark.parametrize("keep_journal", [True, False], ids=["resumed", "negative-control-journal-lost"])
def test_sigkill_then_resume_keeps_every_journaled_decision(web: SampleWeb, tmp_path: Path, keep_journal: bool) -> None:
    out, seeds = tmp_path / "runs", [web.url(HOST)]
    # nothing is sealed before the kill: the journal alone holds the rows
    extra = {"JOB_NAME": "nightly", "PROVENANCE_ROWS_PER_PART": 100000, "PROVENANCE_FLUSH_SECONDS": 600}
    first = start_crawl(web, out, seeds, settings(tmp_path, **extra), tag="first")
    wait_for_hits(web, first, 6)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.wait()
    identity = json.loads((tmp_path / "jobdir" / STATE_FILE).read_text())
    (run,) = run_dirs(out)
    journaled = journaled_rows(run, identity["worker"])
    assert len(journaled) >= 6
    if not keep_journal:
        shutil.rmtree(run / jr.JOURNAL_DIR)

    second = start_crawl(web, out, seeds, settings(tmp_path, **extra), tag="second")  # the lock died with the first
    code = second.wait()
    assert second.summary()["run"] == identity["run_id"]
    missing = journaled - logged_rows(run)
    if not keep_journal:
        assert missing, "the check cannot fail: it would pass without the journal"
        return
    assert code == 0, second.stderr[-3000:]
    assert "Recovered worker" in second.stderr
    assert not missing, f"journaled but not in the log: {sorted(missing)[:5]}"
    assert verify(run) == [] and run_dirs(out) == [run]
    sessions = [s["ended"] for s in load_manifest(run)["workers"][identity["worker"]]["sessions"]]
    assert sessions == ["killed; recovered", "closed"]
    # Scrapy's queue state died with the process: the resume crawled again from the seeds
    # rather than trusting a dupefilter that marks unfetched pages as seen — nothing is lost
    assert set(pages_requested(web)) >= ALL_PAGES, sorted(ALL_PAGES - set(pages_requested(web)))
    assert "was not closed cleanly" in second.stderr
    runs = read_runs(JobPaths.of(out, "nightly").history)
    assert [(r.run_id, r.status) for r in runs] == [(identity["run_id"], "ok")]  # the killed process wrote none

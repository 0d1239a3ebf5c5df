"""``scrapy crawl`` tells a scheduler how the crawl went: exit status and one summary line.

Each failure rule is exercised by a real crawl of a small loopback site that breaks it,
beside a crawl that does not (its negative control): exit 0 and ``status=ok``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_jobs_web import HOST, ROOT, build_chain_web, crawl_args

from crawler.demo.webserver import SampleWeb
from crawler.jobs.history import read_runs
from crawler.jobs.paths import JobPaths

GATE = "crawler.middlewares.gate.PolicyGateMiddleware"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory):
    with SampleWeb(build_chain_web(tmp_path_factory.mktemp("web"), pages=4)) as served:
        yield served


def run(web: SampleWeb, out: Path, spider: str = "music", **settings: Any) -> tuple[int, dict[str, str], str]:
    args = crawl_args(web, out, [web.url(HOST)], settings)
    args[args.index("music")] = spider
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("heed ")]
    summary = dict(f.split("=", 1) for f in lines[-1].split()[1:]) if lines else {}
    return proc.returncode, summary, proc.stderr


def test_a_clean_crawl_exits_0_with_its_summary_and_history(web: SampleWeb, tmp_path: Path) -> None:
    code, summary, err = run(web, tmp_path, JOB_NAME="nightly", PROVENANCE_RUN_ID="r-ok")
    assert code == 0, err[-3000:]
    assert summary == {"job": "nightly", "run": "r-ok", "status": "ok", "reason": "-", "pages": "5", "items": "4", "unchanged": "0",
                       "allow": "10", "deny": "0", "hold": "0", "policy_errors": "0", "spider_errors": "0",
                       "verify": "clean", "takedowns": "0", "seconds": summary["seconds"], "exit": "0"}
    assert summary["seconds"].isdigit()
    (record,) = read_runs(JobPaths.of(tmp_path, "nightly").history)
    assert (record.run_id, record.status, record.reason, record.exit) == ("r-ok", "ok", "-", 0)


def test_a_run_without_the_gate_fails_verification(web: SampleWeb, tmp_path: Path) -> None:
    from crawler import settings as heed

    mws = {**heed.DOWNLOADER_MIDDLEWARES, GATE: None}
    code, summary, err = run(web, tmp_path, DOWNLOADER_MIDDLEWARES=mws)
    assert code == 1, err[-3000:]
    assert summary["status"] == "failed" and summary["reason"].startswith("verify:")
    assert summary["verify"].endswith("-findings") and "crawled without the policy gate" in err


def test_a_spider_exception_fails_the_run(web: SampleWeb, tmp_path: Path) -> None:
    code, summary, err = run(web, tmp_path, "jobs-failing",
                             SPIDER_MODULES="crawler.spiders,tests.test_jobs_spiders")
    assert code == 1, err[-3000:]
    assert summary["reason"].startswith("spider-errors:") and int(summary["spider_errors"]) >= 1
    assert summary["verify"] == "clean"  # the log itself is fine: the spider is what failed


def test_a_closespider_limit_fails_unless_declared_ok(web: SampleWeb, tmp_path: Path) -> None:
    code, summary, err = run(web, tmp_path / "a", CLOSESPIDER_PAGECOUNT=2)
    assert (code, summary["reason"]) == (1, "finish:closespider_pagecount"), err[-3000:]
    code, summary, err = run(web, tmp_path / "b", CLOSESPIDER_PAGECOUNT=2,
                             JOB_OK_FINISH_REASONS=["finished", "closespider_pagecount"])
    assert (code, summary["status"]) == (0, "ok"), err[-3000:]


def test_concurrent_first_requests_to_one_origin_cause_no_policy_error(web: SampleWeb, tmp_path: Path) -> None:
    # every page is a seed: many requests wait together for the origin's policy files, and
    # each must get the loaded policy (a crashed check would hold its URL and fail the run)
    from test_jobs_web import page_path

    seeds = [web.url(HOST, page_path(n)) for n in range(4)]
    args = crawl_args(web, tmp_path, seeds, {"PROVENANCE_RUN_ID": "many"})
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    summary = dict(f.split("=", 1) for f in proc.stdout.split("\n")[-2].split()[1:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (summary["policy_errors"], summary["hold"], summary["status"]) == ("0", "0", "ok")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"JOB_NAME": "../x"}, "JOB_NAME"),
        ({"JOB_MAX_POLICY_ERRORS": "some"}, "JOB_MAX_POLICY_ERRORS"),
    ],
)
def test_bad_job_settings_are_usage_errors(web: SampleWeb, tmp_path: Path, settings: dict[str, Any], message: str) -> None:
    before = len(web.hits_snapshot())
    code, summary, err = run(web, tmp_path, **settings)
    assert code == 2 and message in err and summary == {}
    assert len(web.hits_snapshot()) == before, "a usage error must crawl nothing"


def test_a_jobdir_of_another_run_is_a_usage_error(web: SampleWeb, tmp_path: Path) -> None:
    jobdir = tmp_path / "jobdir"
    code, _summary, err = run(web, tmp_path / "runs", JOBDIR=str(jobdir), PROVENANCE_RUN_ID="one", CLOSESPIDER_PAGECOUNT=1)
    assert code == 1, err[-3000:]  # stopped early: the JOBDIR keeps run "one"
    code, summary, err = run(web, tmp_path / "runs", JOBDIR=str(jobdir), PROVENANCE_RUN_ID="two")
    assert code == 2 and "PROVENANCE_RUN_ID" in err and "one" in err and summary == {}
    assert not (tmp_path / "runs" / "two").exists()


def test_an_unknown_spider_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "nosuch", "-s", f"PROVENANCE_DIR={tmp_path}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "nosuch" in proc.stderr


def test_help_documents_the_exit_codes() -> None:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "-h"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for part in ("0 the crawl finished", "1 the crawl failed", "2 usage error", "75 another run", "-a NAME=VALUE",
                 "--output FILE", "JOB_MAX_POLICY_ERRORS", "JOB_OK_FINISH_REASONS"):
        assert part in text
    doc = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 75 |"):
        assert code in doc

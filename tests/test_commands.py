"""The commands as a user runs them: ``scrapy demo``, ``scrapy audit``, ``scrapy crawl`` errors."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, crawl, demo_seeds, run_scrapy


def test_demo_runs_offline_and_prints_its_summary(tmp_path):
    proc = run_scrapy(["demo", "-s", f"PROVENANCE_DIR={tmp_path}", "-s", "PROVENANCE_RUN_ID=demo-test"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "by stage and verdict" in out
    assert "robots.ai-token" in out and "tdmrep.file" in out and "noai" in out
    assert f"Run directory: {tmp_path / 'demo-test'}" in out
    assert out.rstrip().endswith("verify: clean")
    assert (tmp_path / "demo-test" / "manifest.json").is_file()


@pytest.fixture
def run_dir(sample_web, tmp_path):
    run = crawl(sample_web, tmp_path / "runs", demo_seeds(sample_web))
    assert run.returncode == 0, run.stderr[-3000:]
    return run.run_dir


def test_audit_summary_and_verify_exit_codes(run_dir):
    proc = run_scrapy(["audit", "summary", str(run_dir)])
    assert proc.returncode == 0, proc.stderr
    assert "by reason family" in proc.stdout
    proc = run_scrapy(["audit", "summary", "--json", str(run_dir)])
    assert proc.returncode == 0
    summary = json.loads(proc.stdout)
    assert summary["decisions"] == sum(summary["by_stage"].values()) > 0
    proc = run_scrapy(["audit", "verify", str(run_dir)])
    assert (proc.returncode, proc.stdout.strip()) == (0, "clean")

    part = sorted((run_dir / "decisions").glob("*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    proc = run_scrapy(["audit", "verify", str(run_dir)])
    assert proc.returncode == 1
    assert part.name in proc.stdout


@pytest.mark.parametrize(
    "args",
    [["audit"], ["audit", "nonsense", "x"], ["audit", "verify"], ["audit", "verify", "/no/such/run-dir"]],
)
def test_audit_usage_errors_exit_2(args):
    assert run_scrapy(args).returncode == 2


def test_crawl_refuses_to_start_beside_scrapys_robots_middleware(tmp_path):
    mws = json.dumps({"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100,
                      "crawler.middlewares.gate.PolicyGateMiddleware": 101})
    proc = run_scrapy(["crawl", "music", "-a", "urls=http://open.test/", "-s", "ROBOTSTXT_OBEY=True",
                       "-s", f"DOWNLOADER_MIDDLEWARES={mws}", "-s", f"PROVENANCE_DIR={tmp_path}"])
    assert proc.returncode != 0
    assert "RobotsTxtMiddleware" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "music"], "-a urls="),
        (["crawl", "music", "-a", "urls=ftp://x.test/"], "not an absolute http(s) URL"),
        (["crawl", "music", "-a", "urls_file=/no/such/file"], "cannot read"),
        (["crawl", "music", "-a", "urls=http://a.test/", "-s", "POLICY_AGENT_TOKEN=heed/1"], "POLICY_AGENT_TOKEN"),
    ],
)
def test_crawl_bad_input_is_a_clear_error(args, message, tmp_path):
    proc = run_scrapy([*args, "-s", f"PROVENANCE_DIR={tmp_path}"])
    assert proc.returncode != 0
    assert message in proc.stderr


def test_demo_and_audit_help_match_the_docs():
    proc = run_scrapy(["-h"])
    assert "demo" in proc.stdout and "audit" in proc.stdout
    proc = run_scrapy(["audit", "-h"])
    assert proc.returncode == 0 and "summary|verify" in proc.stdout
    readme = (ROOT / "README.md").read_text()
    assert "scrapy demo" in readme and "scrapy audit summary" in readme and "scrapy audit verify" in readme

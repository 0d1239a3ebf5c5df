"""A real crawl killed with SIGKILL mid-run loses no decision that preceded a fetch.

The crawl runs as ``python -m scrapy crawl music`` against the loopback sample web, with a
small politeness delay so the kill lands mid-crawl; the test kills it after N content
requests reached the server (the server's access log is the ground truth), recovers the
run directory with ``scrapy audit recover``, verifies it, and checks that **every content
page the server served has a fetch-stage ``allow`` row** (content pages are those
``data/demo_web/EXPECTED.md`` documents; policy files get no decision row of their own). The negative control throws the
journal away before recovering and shows the same check failing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import ROOT, demo_seeds, expected_urls, run_scrapy

from crawler.demo.webserver import SampleWeb
from pipelines.manifest import load_manifest
from pipelines.recover import recover_run
from pipelines.verify import verify


def start_crawl(web: SampleWeb, out: Path, **extra: Any) -> subprocess.Popen[str]:
    settings: dict[str, Any] = {
        "POLICY_RESOLVE": web.resolve_map(),
        "PROVENANCE_DIR": str(out),
        "PROVENANCE_RUN_ID": "killed",
        "PROVENANCE_WORKER": "w1",
        "DOWNLOAD_DELAY": 0.25,
        "AUTOTHROTTLE_ENABLED": False,
        "POLITENESS_HOLD_RECHECKS": 0,
        "IDENTITY_ALLOW_PLACEHOLDER": True,
        "LOG_LEVEL": "INFO",
        **extra,
    }
    args = [sys.executable, "-m", "scrapy", "crawl", "music", "-a", "urls=" + ",".join(demo_seeds(web))]
    for name, value in settings.items():
        args += ["-s", f"{name}={value if isinstance(value, (str, int, float)) else json.dumps(value)}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with open(out / f"crawl-{time.monotonic_ns()}.log", "w") as log:  # a file: a full pipe would stall the crawl
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)


def tail(proc: subprocess.Popen[str], out: Path) -> str:
    logs = sorted(out.glob("crawl-*.log"))
    return logs[-1].read_text()[-3000:] if logs else ""


#: The sample web's content pages (data/demo_web/EXPECTED.md, the tests' oracle); policy files
#: (robots.txt, tdmrep.json, ai.txt, RSL licences, ...) are not in it.
CONTENT = {(u.host, u.path) for u in expected_urls()}


def content_urls(web: SampleWeb) -> set[str]:
    return {f"http://{hit.host}:{web.port}{hit.path}" for hit in web.hits_snapshot() if (hit.host, hit.path) in CONTENT}


def kill_after(web: SampleWeb, proc: subprocess.Popen[str], hits: int, out: Path) -> set[str]:
    deadline = time.monotonic() + 120
    while len(content_urls(web)) < hits and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, f"the crawl ended before {hits} content requests: {tail(proc, out)}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return content_urls(web)  # after the kill: nothing more can arrive from the dead process


def allowed_urls(run: Path) -> set[str]:
    files = sorted(str(p) for p in (run / "decisions").glob("*.parquet"))
    if not files:
        return set()
    rows = duckdb.execute("SELECT DISTINCT url FROM read_parquet(?) WHERE stage = 'fetch' AND verdict = 'allow'",
                          [files]).fetchall()
    return {u for (u,) in rows}


@pytest.mark.parametrize("hits", [1, 7, 15])
def test_every_served_url_has_an_allow_row_after_a_kill(sample_web: SampleWeb, tmp_path: Path, hits: int) -> None:
    proc = start_crawl(sample_web, tmp_path, PROVENANCE_ROWS_PER_PART=4, PROVENANCE_FLUSH_SECONDS=0.5)
    served = kill_after(sample_web, proc, hits, tmp_path)
    run = tmp_path / "killed"
    assert len(served) >= hits
    assert any("audit recover" in f for f in verify(run))

    recovered = run_scrapy(["audit", "recover", str(run)])
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "recovered 1 worker(s)" in recovered.stdout
    assert verify(run) == []

    missing = served - allowed_urls(run)
    assert not missing, f"served without a durable allow row: {sorted(missing)}"
    assert load_manifest(run)["workers"]["w1"]["state"] == "recovered"


def test_resuming_the_killed_run_continues_its_chain(sample_web: SampleWeb, tmp_path: Path) -> None:
    served = kill_after(sample_web, start_crawl(sample_web, tmp_path, PROVENANCE_ROWS_PER_PART=4), 6, tmp_path)
    run = tmp_path / "killed"
    first = start_crawl(sample_web, tmp_path, PROVENANCE_RESUME=True, DOWNLOAD_DELAY=0)  # recovers, then crawls on
    assert first.wait(timeout=240) == 0, tail(first, tmp_path)
    proc = run_scrapy(["audit", "verify", str(run)])
    assert (proc.returncode, proc.stdout.strip()) == (0, "clean"), proc.stdout
    section = load_manifest(run)["workers"]["w1"]
    assert [s["ended"] for s in section["sessions"]] == ["killed; recovered", "closed"]
    assert served <= allowed_urls(run)


def test_negative_control_without_the_journal_the_check_fails(sample_web: SampleWeb, tmp_path: Path) -> None:
    # Nothing is sealed before the kill (huge parts, long flush): only the journal holds the rows.
    proc = start_crawl(sample_web, tmp_path, PROVENANCE_ROWS_PER_PART=100000, PROVENANCE_FLUSH_SECONDS=600)
    served = kill_after(sample_web, proc, 5, tmp_path)
    run = tmp_path / "killed"
    shutil.rmtree(run / ".journal")  # a log without a write-ahead journal
    recover_run(run)
    assert served - allowed_urls(run), "the check cannot fail: it would pass without the journal"

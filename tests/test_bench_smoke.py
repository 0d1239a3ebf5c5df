"""The benchmark code runs end to end on a tiny web, so it cannot rot unnoticed.

``python3 -m bench --quick`` serves a three-host web, crawls it with plain Scrapy, heed and
heed without its log, runs every micro-benchmark at toy sizes and writes the results
table. Nothing here asserts a speed: figures on a shared machine are not pass/fail
material (the targets live in bench/RESULTS.md). What is asserted is that every section ran,
that the crawls did what the table claims (every crawler reached every host, heed's log
verifies clean), and the negative control: a crawl that cannot reach its page count is
reported as an error, not as a fast run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import Row, ratio_of_medians, render
from bench.site import LINK_OFFSETS, BenchSite

ROOT = Path(__file__).resolve().parents[1]


def _run_bench(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    proc = _run_bench(out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results["markdown"] = (out / "results.md").read_text(encoding="utf-8")
    return results


def _values(results: dict, section: str, name_start: str) -> list[float]:
    rows = [r for r in results["rows"] if r["section"].endswith(section) and r["name"].startswith(name_start)]
    assert rows, f"no row {section!r} / {name_start!r}"
    return rows[0]["values"]


def test_every_section_ran(quick_results: dict) -> None:
    assert quick_results["errors"] == []
    sections = {r["section"] for r in quick_results["rows"]}
    assert sections == {"1 crawl", "2 policy engine", "3 provenance log", "4 audit verify", "5 scale"}
    assert all(r["values"] for r in quick_results["rows"] if "SampleWeb" not in r["name"])


def test_table_has_ratios_and_targets(quick_results: dict) -> None:
    md = quick_results["markdown"]
    assert "heed / plain (ratio of medians)" in md
    assert "crawl with log / without" in md
    assert "| min | median | max |" in md
    for target in ("≥ 0.970", "≥ 200,000", "≥ 300,000", "≥ 1,000,000"):
        assert target in md
    assert "- commit: " in md and "- machine: " in md


def test_crawls_reached_every_host_and_the_log_verifies(quick_results: dict) -> None:
    crawls = quick_results["raw"]["crawls"]
    assert set(crawls) == {"plain", "heed", "heed-nolog"}
    for variant, runs in crawls.items():
        for run in runs:
            assert run["reached"] and run["hosts"] == 3, (variant, run)
    for run in crawls["heed"]:
        assert run["log_findings"] == []
        assert run["log_rows"] >= run["items"]  # at least a fetch row per page
    # plain Scrapy fetched robots.txt; heed fetched its policy files through the gate
    assert crawls["plain"][0]["stats"].get("robotstxt/request_count", 0) >= 3
    heed_stats = crawls["heed"][0]["stats"]
    assert heed_stats.get("policy/cache/miss", 0) + heed_stats.get("policy/decisions/fetch/allow", 0) > 0


def test_generated_audit_run_is_clean(quick_results: dict) -> None:
    assert _values(quick_results, "audit verify", "verify rows/s")[0] > 0


def test_crawl_that_cannot_reach_its_page_count_is_an_error(tmp_path: Path) -> None:
    # negative control: a 3 x 12 web has 36 pages, so a crawl told to time 40 must fail
    # loudly instead of reporting the rate of a crawl that ran out of pages
    from bench.__main__ import bench_web
    from bench.crawl import run_crawl

    with bench_web(BenchSite(3, 12)) as (site, pid):
        result = run_crawl("plain", site, tmp_path / "ok", 36, run_id="all", server_pid=pid)
        assert result["reached"] and result["items"] == 36
        with pytest.raises(RuntimeError, match="stopped after 36 of 40 pages"):
            run_crawl("plain", site, tmp_path / "short", 40, run_id="short", server_pid=pid)


def test_site_links_reach_every_page_within_two_hops() -> None:
    site = BenchSite(1, 100)
    reach = {(0 + a + b) % site.pages for a in (0, *LINK_OFFSETS) for b in (0, *LINK_OFFSETS)}
    assert reach == set(range(site.pages))
    html = site.page_html(0, 5).decode()
    assert html.count('href="/tracks/') == len(LINK_OFFSETS) + 1  # links + header link
    assert '"@type": "MusicRecording"' in html and 'href="/private/0005.html"' in html


def test_report_statuses_and_ratio() -> None:
    met = Row("s", "m", "1/s", [1.0, 3.0, 2.0], target=2.0)
    missed = Row("s", "m", "ms", [5.0], target=1.0, higher_is_better=False)
    assert (met.median, met.status(), missed.status()) == (2.0, "met", "MISSED")
    assert ratio_of_medians([90.0, 100.0, 80.0], [100.0, 100.0, 200.0]) == pytest.approx(0.9)
    assert "| s | m | 1/s | 3 | 1 | 2 | 3 | ≥ 2 | met |" in render([met])

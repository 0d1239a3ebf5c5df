"""A named job crawled twice: conditional requests, 304s, fresh policy files, takedowns.

Five hosts of the sample web are copied to tmp_path and crawled under one ``JOB_NAME``
(run1). Then the copy changes the way the web does between two scheduled runs:

* ``open.test``: one track page is edited, the rest stays as it was;
* ``robots-private.test``: robots.txt now disallows GPTBot (an AI-training token) from ``/``;
* ``prefix-trap.test``: a ``tdmrep.json`` now reserves every path;
* ``xrobots.test``: ``points`` now answers with ``X-Robots-Tag: noai`` — also on its 304;
* ``aitxt.test``: robots.txt now answers 503 (cannot be checked: a hold).

run2 runs on the same server. The server's access log is the ground truth: what was asked
conditionally, what answered 304, what was not requested at all. A third crawl of the
changed web with the gate removed is the negative control: the opted-out origins' pages are
fetched then, so their absence in run2 is the gate's doing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from crawler.demo.webserver import Hit, SampleWeb
from crawler.jobs.paths import JobPaths
from crawler.recrawl.takedown import earlier_runs, takedowns_for_job
from pipelines.recheck import NewerRun, recheck
from tests.conftest import DEMO_WEB, crawl, run_scrapy

HOSTS = ("open.test", "robots-private.test", "prefix-trap.test", "xrobots.test", "aitxt.test")
POLICY_PATHS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})
JOB = "nightly"
OPTED_OUT = ("robots-private.test", "prefix-trap.test", "aitxt.test")


@dataclass
class Job:
    web: SampleWeb
    out: Path
    run1: Path
    run2: Path
    hits1: list[Hit]
    hits2: list[Hit]
    control: list[Hit]
    stderr2: str
    stdout2: str = ""

    @property
    def paths(self) -> JobPaths:
        return JobPaths.of(self.out, JOB)


def _seeds(web: SampleWeb) -> list[str]:
    return [web.url(host) for host in HOSTS]


def _change_the_web(root: Path) -> None:
    page = root / "open.test" / "tracks" / "night-ferry.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</main>", "<p>Now with liner notes.</p>\n</main>"),
                    encoding="utf-8")
    robots = root / "robots-private.test" / "robots.txt"
    robots.write_text(robots.read_text(encoding="utf-8") + "\nUser-agent: GPTBot\nDisallow: /\n", encoding="utf-8")
    well_known = root / "prefix-trap.test" / ".well-known"
    well_known.mkdir()
    (well_known / "tdmrep.json").write_text(json.dumps([{"location": "/", "tdm-reservation": 1}]))
    site = root / "xrobots.test" / "_site.json"
    routes = json.loads(site.read_text(encoding="utf-8"))
    routes["routes"]["/tracks/points.html"] = {"headers": {"X-Robots-Tag": "noai"}}
    site.write_text(json.dumps(routes), encoding="utf-8")
    (root / "aitxt.test" / "_site.json").write_text(json.dumps({"routes": {"/robots.txt": {"status": 503}}}))


def _ensure_history(paths: JobPaths, run_ids: list[str]) -> None:
    """The scheduled-run command appends these lines; add any it did not (yet) write."""
    listed = set(earlier_runs(paths, "\0none"))
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.history.open("a", encoding="utf-8") as fh:
        for run_id in run_ids:
            if run_id not in listed:
                fh.write(json.dumps({"run_id": run_id, "status": "ok", "exit": 0}) + "\n")


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Job]:
    base = tmp_path_factory.mktemp("recrawl")
    root, out = base / "web", base / "runs"
    for host in HOSTS:
        shutil.copytree(DEMO_WEB / host, root / host)
    with SampleWeb(root) as web:
        first = crawl(web, out, _seeds(web), settings={"JOB_NAME": JOB}, run_id="run1")
        assert first.returncode == 0, first.stderr[-3000:]
        hits1 = web.hits_snapshot()
        web.clear()
        _change_the_web(root)
        web.reload()
        second = crawl(web, out, _seeds(web), settings={"JOB_NAME": JOB}, run_id="run2")
        assert second.returncode == 0, second.stderr[-3000:]
        hits2 = web.hits_snapshot()
        web.clear()
        # an ungated crawl may report itself as failed (its log says it was not gated)
        crawl(web, base / "control", _seeds(web), gate=False, run_id="control")
        yield Job(web, out, first.run_dir, second.run_dir, hits1, hits2, web.hits_snapshot(), second.stderr,
                  second.stdout)


def _content(hits: list[Hit], host: str | None = None) -> list[Hit]:
    return [h for h in hits if h.path not in POLICY_PATHS and (host is None or h.host == host)]


def _items(run_dir: Path) -> list[tuple[str, str]]:
    files = sorted(str(p) for p in run_dir.glob("items/*/*.parquet"))
    if not files:
        return []
    return duckdb.sql(f"SELECT item_type, page_url FROM read_parquet({files!r}, union_by_name=true)").fetchall()


def _decisions(run_dir: Path, where: str) -> list[tuple]:  # type: ignore[type-arg]
    files = sorted(str(p) for p in run_dir.glob("decisions/*.parquet"))
    return duckdb.sql(f"SELECT stage, verdict, url, http_status, reasons FROM read_parquet({files!r}, "
                      f"union_by_name=true) WHERE {where}").fetchall()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"


def _stat(stderr: str, name: str) -> int:
    m = re.search(rf"'{re.escape(name)}': (\d+)", stderr)
    return int(m[1]) if m else 0


# -- conditional requests ---------------------------------------------------------------------


def test_first_run_asks_nothing_conditionally(job: Job) -> None:
    assert _content(job.hits1, "open.test")
    assert not [h for h in job.hits1 if "if-none-match" in h.headers or "if-modified-since" in h.headers]


def test_second_run_asks_every_known_page_conditionally_and_gets_304s(job: Job) -> None:
    pages = [h for h in _content(job.hits2, "open.test") if "range" not in h.headers]
    first = {h.path for h in _content(job.hits1, "open.test") if "range" not in h.headers}
    assert {h.path for h in pages} == first  # every page, unchanged ones included, asked again
    assert all("if-none-match" in h.headers and "if-modified-since" in h.headers for h in pages)
    statuses = {h.path: h.status for h in pages}
    assert statuses.pop("/tracks/night-ferry.html") == 200  # edited: a full answer
    assert set(statuses.values()) == {304}
    assert _stat(job.stderr2, "recrawl/unchanged") == len([h for h in job.hits2 if h.status == 304])
    assert _stat(job.stderr2, "recrawl/conditional") >= len(pages)


def test_only_the_changed_page_is_parsed_again(job: Job) -> None:
    run1 = {url for kind, url in _items(job.run1) if kind == "recording"}
    assert any(url.endswith("/tracks/paper-lanterns.html") for url in run1)
    run2 = _items(job.run2)
    assert [_path(url) for _kind, url in run2] == ["/tracks/night-ferry.html"]


def test_unchanged_pages_keep_their_decision_rows(job: Job) -> None:
    rows = _decisions(job.run2, "url LIKE 'http://open.test:%/tracks/paper-lanterns.html'")
    assert {(stage, verdict, status) for stage, verdict, _u, status, _r in rows} == {
        ("fetch", "allow", None), ("use", "allow", 304)}


def test_policy_files_and_audio_ranges_are_never_conditional(job: Job) -> None:
    files = [h for h in job.hits2 if h.path in POLICY_PATHS]
    assert {(h.host, h.path) for h in files} >= {(host, "/robots.txt") for host in HOSTS}
    ranged = [h for h in job.hits2 if "range" in h.headers]
    assert ranged, "the changed page's audio is read with ranged GETs"
    for hit in files + ranged:
        assert "if-none-match" not in hit.headers and "if-modified-since" not in hit.headers


# -- opt-outs between the runs -----------------------------------------------------------------


@pytest.mark.parametrize("host", OPTED_OUT)
def test_no_content_request_goes_to_an_origin_that_opted_out(job: Job, host: str) -> None:
    assert _content(job.hits1, host), "run1 fetched pages there"
    assert [h.path for h in job.hits2 if h.host == host and h.path == "/robots.txt"]  # read again, fresh
    assert _content(job.hits2, host) == []


@pytest.mark.parametrize("host", OPTED_OUT)
def test_negative_control_without_the_gate_fetches_them(job: Job, host: str) -> None:
    assert _content(job.control, host)
    assert not [h for h in job.control if "if-none-match" in h.headers]  # no job: a one-off crawl


def test_known_pages_of_an_opted_out_origin_are_scheduled_and_refused(job: Job) -> None:
    rows = _decisions(job.run2, "url LIKE 'http://robots-private.test:%/tracks/%' AND stage = 'fetch'")
    assert {_path(u) for _s, _v, u, _h, _r in rows} == {"/tracks/open-window.html", "/tracks/long-hallway.html"}
    assert {(v, tuple(r)) for _s, v, _u, _h, r in rows} == {("deny", ("robots.ai-token:GPTBot",))}


def test_a_reservation_sent_with_a_304_is_enforced(job: Job) -> None:
    hits = [h for h in job.hits2 if h.host == "xrobots.test" and h.path == "/tracks/points.html"]
    assert [h.status for h in hits] == [304]
    rows = _decisions(job.run2, "url LIKE 'http://xrobots.test:%/tracks/points.html' AND stage = 'use'")
    assert [(v, status) for _s, v, _u, status, _r in rows] == [("deny", 304)]
    assert any(r.startswith("noai") for r in rows[0][4])


# -- the takedown list ---------------------------------------------------------------------------


def _listed(text: str) -> dict[str, str]:
    return {_path(row["page_url"]) + "@" + row["page_url"].split("/")[2].split(":")[0]: row["reasons"]
            for row in csv.DictReader(io.StringIO(text))}


EXPECTED_TAKEDOWNS = {
    "/tracks/open-window.html@robots-private.test": "robots.ai-token:GPTBot",
    "/tracks/long-hallway.html@robots-private.test": "robots.ai-token:GPTBot",
    "/tracks/bramble.html@prefix-trap.test": "tdmrep",
    "/tracks/points.html@xrobots.test": "noai",
    "/tracks/updraft.html@aitxt.test": "robots.unreachable",
}


def test_the_jobs_second_run_writes_its_takedown_list_and_counts_it(job: Job) -> None:
    """No helper call here: the crawl command itself made the list when run 2 ended."""
    line = next(ln for ln in job.stdout2.splitlines() if ln.startswith("heed "))
    summary = dict(field.split("=", 1) for field in line.split()[1:])
    assert summary["status"] == "ok" and summary["takedowns"] == str(len(EXPECTED_TAKEDOWNS))
    listed = _listed(job.paths.takedown("run2").read_text(encoding="utf-8"))
    assert set(listed) == set(EXPECTED_TAKEDOWNS)


def test_takedowns_for_job_lists_the_earlier_items_now_reserved(job: Job) -> None:
    _ensure_history(job.paths, ["run1", "run2"])
    path, count = takedowns_for_job(job.paths, job.run2)
    assert path == job.paths.takedown("run2") and path.is_file()
    listed = _listed(path.read_text(encoding="utf-8"))
    assert count == len(listed) == len(EXPECTED_TAKEDOWNS)
    assert set(listed) == set(EXPECTED_TAKEDOWNS)
    for key, family in EXPECTED_TAKEDOWNS.items():
        assert family in listed[key], (key, listed[key])
    assert not [k for k in listed if k.endswith("@open.test")]  # unchanged and still allowed


def test_recheck_against_the_newer_run(job: Job) -> None:
    result = recheck(job.run1, against=job.run2)
    assert {t.page_url for t in result.takedowns} == {
        t.page_url for t in recheck(job.run1, against=NewerRun(job.run2)).takedowns}
    assert len(result.takedowns) == len(EXPECTED_TAKEDOWNS) and result.unchecked == 0
    held = [t for t in result.takedowns if "aitxt.test" in t.page_url]
    assert held and any(r.startswith("robots.unreachable") for r in held[0].reasons)
    # against itself, run2 reserves nothing it kept
    assert recheck(job.run2, against=job.run2).takedowns == []


def test_recheck_against_an_unrelated_run_lists_nothing_but_counts_unchecked(job: Job, tmp_path: Path) -> None:
    only_open = crawl(job.web, tmp_path, [job.web.url("open.test")], run_id="only-open")
    assert only_open.returncode == 0
    result = recheck(job.run1, against=only_open.run_dir)
    assert result.takedowns == []
    assert result.unchecked == len(_items(job.run1)) - len(
        [1 for _k, url in _items(job.run1) if "open.test" in url])


def test_audit_recheck_against_command(job: Job, tmp_path: Path) -> None:
    target = tmp_path / "takedown.csv"
    proc = run_scrapy(["audit", "recheck", str(job.run1), "--against", str(job.run2), "-o", str(target)])
    assert proc.returncode == 1, proc.stderr
    assert f"takedown list: {len(EXPECTED_TAKEDOWNS)} of" in proc.stdout
    assert set(_listed(target.read_text(encoding="utf-8"))) == set(EXPECTED_TAKEDOWNS)
    clean = run_scrapy(["audit", "recheck", str(job.run2), "--against", str(job.run2)])
    assert clean.returncode == 0, clean.stderr
    missing = run_scrapy(["audit", "recheck", str(job.run1), "--against", str(tmp_path / "nope")])
    assert missing.returncode == 2


def test_the_recrawled_run_verifies(job: Job) -> None:
    proc = run_scrapy(["audit", "verify", str(job.run2)])
    assert proc.returncode == 0, proc.stdout + proc.stderr

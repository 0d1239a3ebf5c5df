"""End to end: heed's politeness, judged by the servers' own clocks.

Every assertion on timing reads the arrival times the loopback servers recorded (never a
timer in the test): a host with ``Crawl-delay: 2`` sees its requests at least 2 s apart —
without AutoThrottle, with AutoThrottle on, and after its download slot was collected as idle
and created again — a ``Retry-After`` is respected, a host that keeps failing is held, and a
reserved error page is never fetched again. Hosts without a delay in the same crawl are the
negative control: their requests arrive in a burst, so the measurement can fail.
"""

from __future__ import annotations

import json
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import crawl
from test_politeness_scripted import HTML, TEXT, page, scripted  # noqa: F401 - fixture

from crawler.demo.webserver import SampleWeb

#: Files the gate fetches per origin before any content (ai.txt only when configured).
POLICY_FILES = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})


def make_host(root: Path, host: str, files: dict[str, str], routes: dict | None = None) -> None:
    """Write one sample-web host: ``files`` maps paths to contents, ``routes`` is _site.json."""
    base = root / host
    for path, text in files.items():
        target = base / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    base.mkdir(parents=True, exist_ok=True)
    if routes:
        (base / "_site.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")


def html(*links: str) -> str:
    return page("page", *links).decode()


def content(web, host: str) -> list[str]:
    """Paths of ``host`` the crawl asked for, policy files left out."""
    return [h.path for h in web.hits_snapshot() if h.host == host and h.path not in POLICY_FILES]


def gaps(web, host: str) -> list[float]:
    times = [h.ts for h in web.hits_snapshot() if h.host == host]
    return [b - a for a, b in zip(times, times[1:])]


def decisions(run) -> list[dict]:
    return ds.dataset(run.run_dir / "decisions", format="parquet").to_table().to_pylist()


def rows(run, url: str) -> list[dict]:
    table = ds.dataset(run.run_dir / "decisions", format="parquet").to_table()
    return table.filter(pc.equal(table["url"], url)).sort_by("seq").to_pylist()


def signals(row: dict) -> dict[str, str]:
    return {s["name"]: s["value"] for s in row["signals"]}


def stat(run, name: str) -> int:
    """A final stat from the crawl's log (Scrapy dumps them at INFO when it closes)."""
    for line in run.stderr.splitlines():
        if f"'{name}':" in line:
            return int(line.split(":")[-1].strip().rstrip(",}"))
    return 0


@pytest.fixture
def paced_web(tmp_path):
    root = tmp_path / "web"
    make_host(root, "paced.test", {
        "/robots.txt": "User-agent: *\nCrawl-delay: 2\nDisallow: /private/\n",
        "/index.html": html(),
    })
    make_host(root, "rated.test", {
        "/robots.txt": "User-agent: heed\nRequest-rate: 2/3s\nDisallow: /private/\n",
        "/index.html": html("/a.html"), "/a.html": html(),
    })
    make_host(root, "glacial.test", {
        "/robots.txt": "User-agent: *\nCrawl-delay: 86400\n",
        "/index.html": html("/a.html"), "/a.html": html(),
    })
    make_host(root, "free.test", {
        "/robots.txt": "User-agent: *\nDisallow: /private/\n",
        "/index.html": html("/a.html", "/b.html", "/c.html"),
        "/a.html": html(), "/b.html": html(), "/c.html": html(),
    })
    with SampleWeb(root) as web:
        yield web


def test_crawl_delay_and_request_rate_hold_between_every_request(paced_web, tmp_path):
    web = paced_web
    run = crawl(web, tmp_path / "runs", [web.url(h) for h in ("paced.test", "rated.test", "glacial.test", "free.test")],
                settings={"POLITENESS_MAX_CRAWL_DELAY": 2.5})
    assert run.returncode == 0, run.stderr[-3000:]
    assert content(web, "paced.test") == ["/"]
    # the server's own clock: Crawl-delay 2 between every pair, policy files included
    assert min(gaps(web, "paced.test")) >= 2.0, gaps(web, "paced.test")
    # Request-rate 2/3s in heed's own group: 1.5 s apart
    assert content(web, "rated.test") and min(gaps(web, "rated.test")) >= 1.5
    # negative control: a host that asks for nothing gets its pages in a burst
    assert len(content(web, "free.test")) == 4 and min(gaps(web, "free.test")) < 0.5
    # a day between requests is beyond the cap: the host is held, not crawled at that pace
    assert content(web, "glacial.test") == []
    assert min(gaps(web, "glacial.test")) >= 2.5  # its policy files waited for the cap
    held = rows(run, web.url("glacial.test"))
    assert [r["verdict"] for r in held] == ["allow", "hold"]  # the gate allows, politeness holds
    assert held[1]["reasons"] == ["robots.crawl-delay:86400"]
    assert held[1]["rules"] == ["robots.txt:2 Crawl-delay: 86400"]
    assert signals(held[1])["hold"] == "final"


def test_crawl_delay_survives_autothrottle_and_idle_slot_collection(scripted, tmp_path):
    web_box: list = []

    def answer(host: str, path: str, n: int):
        if path == "/robots.txt":
            return 200, TEXT, b"User-agent: *\nCrawl-delay: 2\n" if host == "paced.test" else b"User-agent: *\n"
        if host == "relay.test" and path == "/":
            # answer only once paced.test has been left alone for 4 s: longer than its
            # delay plus POLITENESS_SLOT_IDLE, so Scrapy has collected its slot by then
            web = web_box[0]
            deadline = time.time() + 30
            while time.time() < deadline:
                paced = web.requested("paced.test")
                if any(h.path == "/" for h in paced) and time.time() - paced[-1].ts > 4.0:
                    break
                time.sleep(0.1)
            return 200, HTML, page("relay", web.url("paced.test", "/late1.html"), web.url("paced.test", "/late2.html"))
        if host == "paced.test" and path in ("/", "/late1.html", "/late2.html"):
            return 200, HTML, page(path)
        return 404, TEXT, b"not found"

    web = scripted(answer)
    web_box.append(web)
    run = crawl(web, tmp_path / "runs", [web.url("paced.test"), web.url("relay.test")], settings={
        "POLICY_RESOLVE": web.resolve_map("paced.test", "relay.test"),
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 0,  # AutoThrottle would go as low as the loopback latency
        "POLITENESS_SLOT_IDLE": 0.5,  # Scrapy's idle-slot collection every 0.5 s, not 60 s
    })
    assert run.returncode == 0, run.stderr[-3000:]
    paced = web.requested("paced.test")
    assert sorted(h.path for h in paced[-2:]) == ["/late1.html", "/late2.html"]
    times = [h.ts for h in paced]
    spacing = [b - a for a, b in zip(times, times[1:])]
    assert min(spacing) >= 2.0, spacing
    # the slot really was collected before the late pages, and AutoThrottle really tried
    assert stat(run, "politeness/slots/collected") >= 1
    assert stat(run, "politeness/crawl_delay/restored") >= 1
    assert max(spacing) > 4.0  # the idle stretch


def test_negative_control_without_the_gate_the_reserved_error_page_is_retried(busy_web, tmp_path):
    """What stops the retries of the reserved 503 above is the gate's deny, not the backoff."""
    web = busy_web
    crawl(web, tmp_path / "runs", [web.url("reserved.test")], gate=False,
          settings={**BACKOFF, "POLITENESS_HOST_MAX_FAILURES": 10})
    reserved = [h.path for h in web.hits_snapshot() if h.host == "reserved.test"]
    assert reserved.count("/reserved.html") == 3


@pytest.fixture
def busy_web(tmp_path):
    root = tmp_path / "web"
    make_host(root, "busy.test", {
        "/robots.txt": "User-agent: *\nAllow: /\n",
        "/index.html": html("/page.html", "/a.html", "/b.html"),
        "/page.html": html(), "/a.html": html(), "/b.html": html(),
    }, {"/page.html": {"status": 503, "headers": {"Retry-After": "2"}}})
    make_host(root, "reserved.test", {
        "/robots.txt": "User-agent: *\nAllow: /\n",
        "/index.html": html("/reserved.html", "/plain.html"),
        "/reserved.html": html(), "/plain.html": html(),
    }, {"/reserved.html": {"status": 503, "headers": {"tdm-reservation": "1"}},
        "/plain.html": {"status": 503}})
    make_host(root, "down.test", {
        "/robots.txt": "User-agent: *\nAllow: /\n",
        "/index.html": html(*(f"/{c}.html" for c in "abcdef")),
        **{f"/{c}.html": html() for c in "abcdef"},
    }, {f"/{c}.html": {"status": 500} for c in "abcdef"})
    with SampleWeb(root) as web:
        yield web


BACKOFF = {
    "DOWNLOAD_DELAY": 0.05,  # with no delay at all Scrapy sends a slot's queue in one burst
    "RETRY_TIMES": 2,
    "POLITENESS_BACKOFF_BASE": 0.2,
}


def test_retry_after_seconds_is_respected_and_reserved_errors_are_not_retried(busy_web, tmp_path):
    web = busy_web
    run = crawl(web, tmp_path / "runs", [web.url("busy.test"), web.url("reserved.test")],
                settings={**BACKOFF, "POLITENESS_HOST_MAX_FAILURES": 10})
    assert run.returncode == 0, run.stderr[-3000:]
    busy = [h for h in web.hits_snapshot() if h.host == "busy.test"]
    answers_503 = [h for h in busy if h.path == "/page.html"]
    assert len(answers_503) == 3  # the first try and RETRY_TIMES=2 retries
    for hit in answers_503:
        # nothing reaches busy.test within the 2 s it asked for after a 503
        assert not [h for h in busy if hit.ts < h.ts < hit.ts + 2.0], (hit, busy)
    assert min(gaps(web, "busy.test")[-2:]) >= 2.0
    # a reserved error page is refused by the gate first and never fetched again ...
    reserved = [h.path for h in web.hits_snapshot() if h.host == "reserved.test"]
    assert reserved.count("/reserved.html") == 1
    use = [r for r in rows(run, web.url("reserved.test", "/reserved.html")) if r["stage"] == "use"]
    assert [r["verdict"] for r in use] == ["deny"] and use[0]["http_status"] == 503
    # ... while the same error without a reservation is retried (negative control)
    assert reserved.count("/plain.html") == 3


def test_a_host_that_keeps_failing_is_held_not_hammered(busy_web, tmp_path):
    web = busy_web
    run = crawl(web, tmp_path / "runs", [web.url("down.test")],
                settings={**BACKOFF, "POLITENESS_HOST_MAX_FAILURES": 3})
    assert run.returncode == 0, run.stderr[-3000:]
    failed = [h for h in web.hits_snapshot() if h.host == "down.test" and h.status == 500]
    assert len(failed) == 3, [h.path for h in failed]
    spacing = [b.ts - a.ts for a, b in zip(failed, failed[1:])]
    assert spacing[0] >= 0.2 and spacing[1] >= 0.4  # exponential backoff between failures
    pages = {web.url("down.test", f"/{c}.html") for c in "abcdef"}
    held = {r["url"] for r in decisions(run) if r["verdict"] == "hold" and r["stage"] == "fetch"}
    never_sent = pages - {web.url("down.test", h.path) for h in failed}
    assert never_sent and never_sent <= held  # every page not sent is logged, none lost
    final = [r for r in decisions(run) if signals(r).get("hold") == "final"]
    assert final and all(r["reasons"] == ["http.backoff:500"] for r in final)


def test_retry_after_http_date_is_respected(scripted, tmp_path):
    announced: list[datetime] = []

    def answer(host: str, path: str, n: int):
        if path == "/robots.txt":
            return 200, TEXT, b"User-agent: *\nAllow: /\n"
        if path == "/" and n == 1:
            when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
            announced.append(when)
            return 503, {**TEXT, "Retry-After": format_datetime(when, usegmt=True)}, b"busy"
        if path == "/":
            return 200, HTML, page("home")
        return 404, TEXT, b"not found"

    web = scripted(answer)
    run = crawl(web, tmp_path / "runs", [web.url("dated.test")], settings={
        **BACKOFF, "POLICY_RESOLVE": web.resolve_map("dated.test"),
    })
    assert run.returncode == 0, run.stderr[-3000:]
    home = [h for h in web.requested("dated.test") if h.path == "/"]
    assert [h.status for h in home] == [503, 200]
    assert home[1].ts >= announced[0].timestamp()  # not before the date the server named
    use = [r for r in rows(run, web.url("dated.test")) if r["stage"] == "use"]
    assert [r["http_status"] for r in use] == [503, 200]

"""Hold, then recheck: origins whose robots.txt could not be read, end to end.

A held request is never allowed by default and never lost: it is asked about again after a
backoff (never before the failed policy leaves the gate's cache, never before the site's
``Retry-After``), released when robots.txt can be read, and otherwise ends with a final
``hold`` row that says how many attempts were made. The servers' access logs show what was
asked and when; the decision log shows what heed concluded.
"""

from __future__ import annotations

import pytest
from conftest import crawl
from test_politeness_e2e import POLICY_FILES, decisions, html, make_host, rows, signals
from test_politeness_scripted import HTML, TEXT, page, scripted  # noqa: F401 - fixture

from crawler.demo.webserver import SampleWeb

RECHECK = {
    "POLITENESS_HOLD_RECHECKS": 2,  # three attempts in all
    "POLITENESS_HOLD_BACKOFF": 0.2,
    "POLICY_FAILURE_TTL": 1,
}


@pytest.fixture
def unreachable_web(tmp_path):
    root = tmp_path / "web"
    make_host(root, "unreach.test", {"/index.html": html("/a.html"), "/a.html": html()},
              {"/robots.txt": {"status": 503}})
    make_host(root, "later.test", {"/index.html": html()},
              {"/robots.txt": {"status": 503, "headers": {"Retry-After": "2"}}})
    make_host(root, "never.test", {"/index.html": html()},
              {"/robots.txt": {"status": 429, "headers": {"Retry-After": "86400"}}})
    with SampleWeb(root) as web:
        yield web


def robots_hits(web, host):
    return [h for h in web.hits_snapshot() if h.host == host and h.path == "/robots.txt"]


def test_held_origins_are_rechecked_then_finally_logged(unreachable_web, tmp_path):
    web = unreachable_web
    run = crawl(web, tmp_path / "runs", [web.url(h) for h in ("unreach.test", "later.test", "never.test")],
                settings=RECHECK)
    assert run.returncode == 0, run.stderr[-3000:]
    # robots.txt asked three times, never faster than the failure TTL; content never asked
    assert len(robots_hits(web, "unreach.test")) == 3
    times = [h.ts for h in robots_hits(web, "unreach.test")]
    assert min(b - a for a, b in zip(times, times[1:])) >= 1.0
    assert not [h for h in web.hits_snapshot() if h.path not in POLICY_FILES]
    history = rows(run, web.url("unreach.test"))
    assert [r["verdict"] for r in history] == ["hold"] * 4  # three attempts, then the final row
    assert all(r["reasons"] == ["robots.unreachable:503"] for r in history)
    assert all(r["evidence"] for r in history)
    final = signals(history[-1])
    assert final["hold"] == "final" and final["hold-attempt"] == "3/3"
    assert not any(signals(r).get("hold") == "final" for r in history[:-1])
    # the site's Retry-After stretches the wait beyond the failure TTL
    later = [h.ts for h in robots_hits(web, "later.test")]
    assert len(later) == 3 and min(b - a for a, b in zip(later, later[1:])) >= 2.0
    # a Retry-After beyond POLITENESS_MAX_WAIT: the host is not asked anything more (not even
    # its other policy files), no recheck, a final hold at once
    assert [h.path for h in web.hits_snapshot() if h.host == "never.test"] == ["/robots.txt"]
    never = rows(run, web.url("never.test"))
    assert [r["verdict"] for r in never] == ["hold", "hold"]
    assert never[-1]["reasons"][0] == "robots.unreachable:429"
    assert "exceeds POLITENESS_MAX_WAIT" in signals(never[-1])["hold-wait"]


def test_negative_control_without_the_gate_a_held_origins_content_is_fetched(unreachable_web, tmp_path):
    """The content above stays unasked only because the gate holds the origin."""
    web = unreachable_web
    crawl(web, tmp_path / "runs", [web.url("unreach.test")], gate=False, settings=RECHECK)
    assert [h for h in web.hits_snapshot() if h.host == "unreach.test" and h.path not in POLICY_FILES]


def test_a_held_request_is_released_when_robots_txt_recovers(scripted, tmp_path):
    def answer(host, path, n):
        if path == "/robots.txt":
            return (503, TEXT, b"down") if n <= 2 else (200, TEXT, b"User-agent: *\nDisallow: /private/\n")
        if path == "/":
            return 200, HTML, page("home")
        return 404, TEXT, b"not found"

    web = scripted(answer)
    run = crawl(web, tmp_path / "runs", [web.url("recovers.test")],
                settings={**RECHECK, "POLICY_RESOLVE": web.resolve_map("recovers.test")})
    assert run.returncode == 0, run.stderr[-3000:]
    asked = [(h.path, h.status) for h in web.requested("recovers.test") if h.path in ("/robots.txt", "/")]
    assert asked == [("/robots.txt", 503), ("/robots.txt", 503), ("/robots.txt", 200), ("/", 200)]
    history = [(r["stage"], r["verdict"]) for r in rows(run, web.url("recovers.test"))]
    assert history == [("fetch", "hold"), ("fetch", "hold"), ("fetch", "allow"), ("use", "allow")]


def test_requests_still_parked_when_the_crawl_ends_get_a_final_hold(unreachable_web, tmp_path):
    web = unreachable_web
    run = crawl(web, tmp_path / "runs", [web.url("unreach.test")], settings={
        **RECHECK, "POLITENESS_HOLD_BACKOFF": 60, "CLOSESPIDER_TIMEOUT": 2,
    })
    assert run.returncode == 1, run.stderr[-3000:]  # stopped by the timeout, not finished
    assert "reason=finish:closespider_timeout" in run.stdout
    assert len(robots_hits(web, "unreach.test")) == 1
    history = rows(run, web.url("unreach.test"))
    assert [r["verdict"] for r in history] == ["hold", "hold"]
    last = signals(history[-1])
    assert last["hold"] == "final" and "closed" in last["parked"] and last["hold-attempt"] == "1/3"
    assert not [r for r in decisions(run) if r["verdict"] == "allow" and r["url"] == web.url("unreach.test")]
    assert not [h for h in web.hits_snapshot() if h.path not in POLICY_FILES]

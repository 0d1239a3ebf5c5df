"""The precedence engine: status table, registry, robots, AI tokens and TDMRep combined."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from crawler import settings as heed_settings
from crawler.policy.config import PolicyConfig
from crawler.policy.fetchresult import FetchResult, classify
from crawler.policy.origin import build_origin_policy, fetch_decision, origin_of, use_decision

ORIGIN = "http://music.test:80"


def config(**overrides) -> PolicyConfig:
    settings = Settings()
    settings.setmodule(heed_settings)
    settings.update(overrides)
    return PolicyConfig.from_settings(settings)


STRICT = config()
LENIENT = config(POLICY_STRICT=False)


def robots(status=200, body=b"", error=None, redirects=0) -> FetchResult:
    return FetchResult(url=f"{ORIGIN}/robots.txt", status=status, body=body, kind="robots.txt",
                       error=error, redirects=redirects)


def tdm(status=404, body=b"", error=None) -> FetchResult:
    return FetchResult(url=f"{ORIGIN}/.well-known/tdmrep.json", status=status, body=body,
                       kind="tdmrep.json", error=error)


def decide(robots_result, tdm_result=None, url=f"{ORIGIN}/song/1", cfg=STRICT):
    policy = build_origin_policy(ORIGIN, robots_result, tdm_result or tdm(), cfg, now=0.0)
    return fetch_decision(policy, url, cfg)


@pytest.mark.parametrize(
    ("result", "verdict", "reason"),
    [
        pytest.param(robots(200, b"User-agent: *\nDisallow:\n"), "allow", None, id="200-empty-disallow"),
        pytest.param(robots(404, b"User-agent: *\nDisallow: /\n"), "allow", None, id="404-body-never-parsed"),
        pytest.param(robots(410), "allow", None, id="410-no-rules"),
        pytest.param(robots(401), "deny", "robots.forbidden:401", id="401-deny"),
        pytest.param(robots(403), "deny", "robots.forbidden:403", id="403-deny"),
        pytest.param(robots(429), "hold", "robots.unreachable:429", id="429-hold"),
        pytest.param(robots(500, b"User-agent: *\nAllow: /\n"), "hold", "robots.unreachable:500",
                     id="500-body-never-parsed"),
        pytest.param(robots(503), "hold", "robots.unreachable:503", id="vector-9-503-hold"),
        pytest.param(robots(None, error="timeout"), "hold", "robots.unreachable:timeout", id="timeout"),
        pytest.param(robots(None, error="dns"), "hold", "robots.unreachable:dns", id="dns-error"),
        pytest.param(robots(None, error="truncated"), "hold", "robots.unreachable:truncated", id="truncated"),
        pytest.param(robots(200, b"", redirects=6), "hold", "robots.unreachable:too-many-redirects",
                     id="six-redirects"),
        pytest.param(robots(200, b"User-agent: *\nAllow: /\n", redirects=5), "allow", None, id="five-redirects-ok"),
        pytest.param(robots(302), "hold", "robots.unreachable:302", id="stray-3xx-hold"),
        pytest.param(robots(418), "hold", "robots.unreachable:418", id="odd-4xx-hold"),
    ],
)
def test_robots_status_table(result, verdict, reason):
    d = decide(result)
    assert d.verdict == verdict
    assert d.stage == "fetch"
    if reason:
        assert reason in d.reasons
    else:
        assert d.reasons == ()
    # the robots.txt fetch is always cited as evidence, whatever its outcome
    assert any(e.kind == "robots.txt" for e in d.evidence)


def test_fetch_result_sha256_is_of_the_body():
    import hashlib

    assert robots(200, b"abc").sha256 == hashlib.sha256(b"abc").hexdigest()
    assert classify(robots(200)) == ("ok", "200")


@pytest.mark.parametrize(
    ("body", "url", "verdict", "reason"),
    [
        pytest.param(b"User-agent: *\nDisallow: /private/\n", "/private/x", "deny", "robots.disallow:*", id="star-disallow"),
        pytest.param(b"User-agent: *\nDisallow: /private/\n", "/public", "allow", None, id="star-allow"),
        pytest.param(b"User-agent: heed\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "/x", "deny", "robots.disallow:heed",
                     id="own-group"),
        pytest.param(b"User-agent: hee\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "/x", "allow", None,
                     id="prefix-group-never-applies"),
        pytest.param(b"User-agent: *\nDisallow: /\n\nUser-agent: heedbot\nAllow: /\n", "/x", "deny", "robots.disallow:*",
                     id="longer-group-never-captures"),
        pytest.param(b"User-agent: Scrapy\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "/x", "deny",
                     "robots.disallow:Scrapy", id="scrapy-group-binds-us"),
        pytest.param(b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "/song/1", "deny",
                     "robots.ai-token:GPTBot", id="ai-vector-1-gptbot"),
        pytest.param(b"User-agent: CCBot\nDisallow: /lyrics/\n", "/lyrics/a", "deny", "robots.ai-token:CCBot",
                     id="ai-vector-2-path-scoped"),
        pytest.param(b"User-agent: CCBot\nDisallow: /lyrics/\n", "/news/a", "allow", None, id="ai-vector-2-other-path"),
        pytest.param(b"User-agent: Google-Extended\nDisallow: /\n", "/any", "deny", "robots.ai-token:Google-Extended",
                     id="ai-vector-3-policy-token"),
        pytest.param(b"User-agent: *\nDisallow: /private\n", "/song", "allow", None,
                     id="star-rules-are-not-an-ai-clause"),
        pytest.param(b"User-agent: GPTBot\nSitemap: http://x/s.xml\nUser-agent: *\nDisallow: /\n", "/x", "deny",
                     "robots.disallow:*", id="ai-vector-7-sitemap-inside-group"),
    ],
)
def test_robots_rules(body, url, verdict, reason):
    d = decide(robots(200, body), url=f"{ORIGIN}{url}")
    assert d.verdict == verdict, d
    if reason:
        assert reason in d.reasons
        assert d.rules and d.rules[0].startswith("robots.txt:")


def test_search_tokens_reserve_only_in_strict_mode():
    body = b"User-agent: OAI-SearchBot\nDisallow: /\n"
    assert decide(robots(200, body), cfg=STRICT).verdict == "deny"
    assert decide(robots(200, body), cfg=LENIENT).verdict == "allow"


@pytest.mark.parametrize(
    ("tdm_result", "url", "verdict", "reason"),
    [
        pytest.param(tdm(200, b'[{"location": "/", "tdm-reservation": 1}]'), "/a", "deny", "tdmrep.file",
                     id="tdm-vector-1"),
        pytest.param(tdm(200, b'[{"location":"/music/","tdm-reservation":1},'
                              b'{"location":"/music/free/*.mp3","tdm-reservation":0}]'),
                     "/music/free/a.mp3", "deny", "tdmrep.file", id="tdm-vector-2-first-match"),
        pytest.param(tdm(200, b"{not json"), "/a", "deny", "tdmrep.invalid", id="tdm-vector-7-invalid-strict"),
        pytest.param(tdm(404), "/a", "allow", None, id="tdm-absent"),
        pytest.param(tdm(503), "/a", "hold", "tdmrep.unreachable:503", id="tdm-503-hold"),
        pytest.param(tdm(None, error="timeout"), "/a", "hold", "tdmrep.unreachable:timeout", id="tdm-timeout-hold"),
        pytest.param(tdm(403), "/a", "deny", "tdmrep.forbidden:403", id="tdm-403-deny"),
    ],
)
def test_tdmrep_file(tdm_result, url, verdict, reason):
    d = decide(robots(404), tdm_result, url=f"{ORIGIN}{url}")
    assert d.verdict == verdict, d
    if reason:
        assert any(r == reason or r.startswith(reason + ":") for r in d.reasons), d.reasons


def test_any_reservation_wins_over_an_explicit_allow():
    body = b"User-agent: heed\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n"
    d = decide(robots(200, body), tdm(200, b'[{"location": "/", "tdm-reservation": 0}]'))
    assert d.verdict == "deny"
    assert d.reasons == ("robots.ai-token:GPTBot",)


def test_registry_finding_combines_with_the_rest():
    cfg = STRICT
    url = "http://shop.registry-listed.test/x"
    registry = cfg.registry.url_finding(url)
    assert registry.verdict == "deny"
    policy = build_origin_policy(origin_of(url), robots(404), tdm(), cfg, now=0.0)
    d = fetch_decision(policy, url, cfg, registry=registry)
    assert d.verdict == "deny"
    assert d.families == ("registry.domain",)


def test_failed_origins_expire_sooner():
    ok = build_origin_policy(ORIGIN, robots(404), tdm(), STRICT, now=100.0)
    failed = build_origin_policy(ORIGIN, robots(503), tdm(), STRICT, now=100.0)
    assert ok.expires_at == 100.0 + STRICT.cache_ttl
    assert failed.expires_at == 100.0 + STRICT.failure_ttl
    assert failed.expires_at < ok.expires_at


@pytest.mark.parametrize(
    ("headers", "meta", "verdict", "family"),
    [
        pytest.param({}, [], "allow", None, id="no-signal"),
        pytest.param({"tdm-reservation": ["1"]}, [], "deny", "tdmrep.header", id="tdm-header"),
        pytest.param({"x-robots-tag": ["noai"]}, [], "deny", "noai", id="x-robots-noai"),
        pytest.param({"x-robots-tag": ["googlebot: noai"]}, [], "allow", None, id="x-robots-other-agent"),
        pytest.param({}, [("robots", "noai, noimageai")], "deny", "noai", id="meta-noai"),
        pytest.param({}, [("tdm-reservation", "1")], "deny", "tdmrep.meta", id="meta-tdm"),
    ],
)
def test_use_decision(headers, meta, verdict, family):
    policy = build_origin_policy(ORIGIN, robots(404), tdm(), STRICT, now=0.0)
    d = use_decision(policy, f"{ORIGIN}/p", STRICT, status=200, headers=headers, meta=meta,
                     content_type="text/html")
    assert d.stage == "use"
    assert d.verdict == verdict, d
    if family:
        assert family in d.families


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://A.test/x", "http://a.test:80"),
        ("https://a.test/x", "https://a.test:443"),
        ("http://a.test:8080/x?q", "http://a.test:8080"),
        ("http://[::1]:81/", "http://[::1]:81"),
    ],
)
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_a_licence_beyond_those_read_holds_the_origin() -> None:
    """robots.txt names more RSL licences than heed reads: the unread one may reserve, so
    the origin holds rather than being decided on the first ones alone."""
    from crawler.policy import rsl

    body = b"User-agent: *\nAllow: /\n" + b"".join(f"License: {ORIGIN}/l{n}.xml\n".encode() for n in range(4))
    ok = b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits></license></content></rsl>'
    read = tuple(FetchResult(url=f"{ORIGIN}/l{n}.xml", status=200, body=ok, kind="rsl") for n in range(3))
    cfg = STRICT
    policy = build_origin_policy(ORIGIN, robots(body=body), tdm(), cfg, now=0.0, licenses=read)
    assert fetch_decision(policy, f"{ORIGIN}/song/1", cfg).verdict == "allow"  # control: three readable licences
    held = build_origin_policy(ORIGIN, robots(body=body), tdm(), cfg, now=0.0,
                               licenses=read + rsl.unread([f"{ORIGIN}/l3.xml"], "too-many-licences"))
    decision = fetch_decision(held, f"{ORIGIN}/song/1", cfg)
    assert decision.verdict == "hold" and "rsl.unreachable:too-many-licences" in decision.reasons


@pytest.mark.parametrize("content_type", ["application/ogg", "binary/octet-stream", "application/x-flac", "",
                                          "audio/mpeg", "image/svg+xml"])
def test_embedded_reservations_are_read_whatever_the_file_is_served_as(content_type) -> None:
    from tests.policy.test_embedded import datamining

    body = b"OggS\x00" + datamining("DMI-PROHIBITED") + b"\x00" * 64
    policy = build_origin_policy(ORIGIN, robots(404), tdm(), STRICT, now=0.0)
    d = use_decision(policy, f"{ORIGIN}/a.ogg", STRICT, status=200, headers={}, meta=[],
                     content_type=content_type, body=body)
    assert d.verdict == "deny" and "embedded.xmp" in d.families, d


def test_text_is_not_scanned_for_embedded_metadata() -> None:
    from tests.policy.test_embedded import datamining

    policy = build_origin_policy(ORIGIN, robots(404), tdm(), STRICT, now=0.0)
    d = use_decision(policy, f"{ORIGIN}/a.txt", STRICT, status=200, headers={}, meta=[],
                     content_type="text/plain; charset=utf-8", body=datamining("DMI-PROHIBITED"))
    assert d.verdict == "allow", d


def test_an_ai_txt_group_for_an_ai_crawler_reserves_even_if_robots_txt_does_not_name_it() -> None:
    ai_txt = FetchResult(url=f"{ORIGIN}/ai.txt", status=200, kind="ai.txt",
                         body=b"# Spawning AI\nUser-Agent: GPTBot\nDisallow: *.mp3\n")
    policy = build_origin_policy(ORIGIN, robots(404), tdm(), STRICT, now=0.0, aitxt_result=ai_txt)
    assert fetch_decision(policy, f"{ORIGIN}/a.mp3", STRICT).verdict == "deny"
    assert fetch_decision(policy, f"{ORIGIN}/a.html", STRICT).verdict == "allow"  # control: not covered

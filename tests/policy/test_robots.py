"""robots.txt parsing and matching: RFC 9309 vectors, peer failure vectors, edge cases."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.policy.robots import MAX_ROBOTS_BYTES, Match, RobotsTxt, Rule


def robots(*lines: str, end: str = "\n") -> RobotsTxt:
    return RobotsTxt.parse(end.join(lines).encode("utf-8"))


# (robots.txt lines, token, url, fallback, expected): expected is True (allowed),
# False (disallowed) or None (no group applies and fallback is off).
VECTORS = [
    # optout-standards.md §1.8 (RFC 9309)
    pytest.param(
        ["User-agent: *", "Disallow: /"], "MusicDataBot", "/charts", True, False,
        id="1.8-v1-star-disallow-all",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /", "User-agent: MusicDataBot", "Allow: /lyrics/"],
        "MusicDataBot", "/charts", True, True,
        id="1.8-v2-own-group-replaces-star",
    ),
    pytest.param(
        ["User-agent: MusicDataBot", "Disallow: /x", "", "User-agent: other", "Disallow: /",
         "User-agent: musicdatabot", "Disallow: /y"],
        "MusicDataBot", "/y/1", True, False,
        id="1.8-v3-groups-merged-case-insensitive",
    ),
    pytest.param(
        ["User-agent: MusicDataBot", "Disallow: /x", "", "User-agent: other", "Disallow: /",
         "User-agent: musicdatabot", "Disallow: /y"],
        "MusicDataBot", "/x/1", True, False,
        id="1.8-v3-first-group-still-applies",
    ),
    pytest.param(
        ["User-agent: MusicDataBot", "Disallow: /x", "", "User-agent: other", "Disallow: /",
         "User-agent: musicdatabot", "Disallow: /y"],
        "MusicDataBot", "/z", True, True,
        id="1.8-v3-other-group-not-merged",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /page", "Allow: /page"], "MusicDataBot", "/page", True, True,
        id="1.8-v4-tie-allow-wins",
    ),
    pytest.param(
        ["User-agent: *", "Allow: /p", "Disallow: /"], "MusicDataBot", "/page", True, True,
        id="1.8-v5-longest-match-allow",
    ),
    pytest.param(
        ["User-agent: *", "Allow: /p", "Disallow: /"], "MusicDataBot", "/x", True, False,
        id="1.8-v5-longest-match-disallow",
    ),
    pytest.param(
        ["User-agent: *", "Allow: /page", "Disallow: /*.htm"], "MusicDataBot", "/page.htm", True,
        False, id="1.8-v6-wildcard-counts-octets",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /*.mp3$"], "MusicDataBot", "/a/song.mp3", True, False,
        id="1.8-v7-dollar-anchor-matches",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /*.mp3$"], "MusicDataBot", "/a/song.mp3?dl=1", True, True,
        id="1.8-v7-dollar-anchor-query-escapes",
    ),
    pytest.param(
        ["User-agent: other", "Sitemap: https://h/s.xml", "User-agent: *", "Disallow: /"],
        "other", "/", True, False,
        id="1.8-v8-sitemap-does-not-end-group",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /música"], "MusicDataBot", "/m%c3%basica", True, False,
        id="1.8-v11-raw-utf8-rule-lowercase-escaped-url",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /música"], "MusicDataBot", "https://h/m%C3%BAsica/x", True,
        False, id="1.8-v11-raw-utf8-rule-full-url",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /foo/bar/%62%61%7A"], "MusicDataBot", "/foo/bar/baz", True,
        False, id="1.8-v12-escaped-unreserved-decoded",
    ),
    # optout-standards.md §2.4 (AI tokens) at the parser level
    pytest.param(
        ["User-agent: GPTBot", "Disallow: /", "", "User-agent: *", "Allow: /"],
        "heed", "/song/1", True, True, id="2.4-v1-own-token-uses-star",
    ),
    pytest.param(
        ["User-agent: GPTBot", "Disallow: /", "", "User-agent: *", "Allow: /"],
        "GPTBot", "/song/1", False, False, id="2.4-v1-gptbot-disallowed",
    ),
    pytest.param(
        ["User-agent: CCBot", "Disallow: /lyrics/"], "CCBot", "/lyrics/a", False, False,
        id="2.4-v2-ccbot-path-scoped-inside",
    ),
    pytest.param(
        ["User-agent: CCBot", "Disallow: /lyrics/"], "CCBot", "/news/a", False, True,
        id="2.4-v2-ccbot-path-scoped-outside",
    ),
    pytest.param(
        ["User-agent: Google-Extended", "Disallow: /"], "Google-Extended", "/any/path?x=1", False,
        False, id="2.4-v3-google-extended-everything",
    ),
    pytest.param(
        ["User-agent: Google-Extended", "Disallow: /"], "heed", "/any/path", True, True,
        id="2.4-v3-own-token-no-group",
    ),
    pytest.param(
        ["User-agent: OAI-SearchBot", "Disallow: /"], "OAI-SearchBot", "/x", False, False,
        id="2.4-v4-search-token-disallowed",
    ),
    pytest.param(
        ["User-agent: Scrapy", "Disallow: /"], "Scrapy", "/x", False, False,
        id="2.4-v5-scrapy-group",
    ),
    pytest.param(
        ["User-agent: Scrapy", "Disallow: /"], "MusicDataBot", "/x", False, None,
        id="2.4-v5-own-token-not-scrapy",
    ),
    pytest.param(
        ["User-agent: bot", "Disallow: /"], "MusicDataBot", "/x", True, True,
        id="2.4-v6-bot-is-not-musicdatabot",
    ),
    pytest.param(
        ["User-agent: bot", "Disallow: /"], "MusicDataBot", "/x", False, None,
        id="2.4-v6-bot-no-group-without-fallback",
    ),
    pytest.param(
        ["User-agent: *", "Sitemap: https://h/sitemap.xml", "User-agent: GPTBot",
         "User-agent: CCBot", "Disallow: /"],
        "MusicDataBot", "/x", True, False, id="2.4-v7-pasted-list-star-in-group",
    ),
    pytest.param(
        ["User-agent: *", "Sitemap: https://h/sitemap.xml", "User-agent: GPTBot",
         "User-agent: CCBot", "Disallow: /"],
        "CCBot", "/x", False, False, id="2.4-v7-pasted-list-ai-token",
    ),
    # peers-summary.md §10 and optout-standards.md §1.6 (Protego deviations)
    pytest.param(
        ["User-agent: *", "Disallow: /", "", "User-agent: music", "Allow: /"],
        "musicmetabot", "/song/1", True, False, id="peers-prefix-group-capture",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /", "", "User-agent: music", "Allow: /"],
        "music", "/song/1", True, True, id="peers-prefix-group-exact-token",
    ),
    pytest.param(
        ["User-agent: hee", "Disallow: /"], "heed", "/x", True, True,
        id="P1-prefix-value-no-match",
    ),
    pytest.param(
        ["User-agent: bot", "Disallow: /"], "mybot", "/x", True, True,
        id="P1-substring-value-no-match",
    ),
    pytest.param(
        ["User-agent: Googlebot/2.1", "Disallow: /"], "Googlebot", "/x", False, False,
        id="P2-value-truncated-at-slash",
    ),
    pytest.param(
        ["User-agent: Foo Bar", "Disallow: /"], "Foo", "/x", False, False,
        id="P3-value-truncated-at-space",
    ),
    pytest.param(
        ["User-agent: Foo Bar", "Disallow: /"], "Bar", "/x", False, None,
        id="P3-second-word-ignored",
    ),
    pytest.param(
        ["User-agent: BarBot", "Sitemap: https://h/s.xml", "User-agent: *", "Disallow: /"],
        "BarBot", "/x", True, False, id="P4-sitemap-between-user-agents",
    ),
    pytest.param(
        ["User-agent: FooBot", "Content-Signal: ai-train=no", "User-agent: *", "Disallow: /"],
        "FooBot", "/x", True, False, id="P5-unknown-line-between-user-agents",
    ),
    pytest.param(
        ["User-agent: FooBot", "Crawl-delay: 5", "User-agent: *", "Disallow: /"],
        "FooBot", "/x", True, False, id="P5-crawl-delay-between-user-agents",
    ),
    pytest.param(
        ["User-agent: FooBot", "this is junk", "User-agent: *", "Disallow: /"],
        "FooBot", "/x", True, False, id="P5-junk-between-user-agents",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a=b"], "heed", "/a=b", True, False, id="P7-equals-in-path",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a=b"], "heed", "http://h/a=b?x=y", True, False,
        id="P7-equals-in-full-url",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /"], "heed", "/robots.txt", True, True,
        id="P8-robots-txt-always-allowed",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /"], "heed", "https://h:8443/robots.txt", True, True,
        id="P8-robots-txt-full-url",
    ),
    pytest.param(
        ["User-agent: music", "Disallow: /", "", "User-agent: musicbot", "Disallow: /private"],
        "musicbot", "/public", True, True, id="P9-only-exact-group",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a$b"], "heed", "/a$b", True, False,
        id="P10-dollar-in-middle-literal",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a$b"], "heed", "/a%24b", True, False,
        id="P10-dollar-in-middle-matches-escaped",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a$b"], "heed", "/ab", True, True,
        id="P10-dollar-in-middle-not-anchor",
    ),
    # own edge cases
    pytest.param(
        ["User-agent: *", "Disallow: /*a*b"], "heed", "/xaYYb", True, False, id="multi-star-match",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /*a*b"], "heed", "/xbYYa", True, True, id="multi-star-order",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /**x***y$"], "heed", "/1x2y", True, False,
        id="repeated-stars-anchored",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /**x***y$"], "heed", "/1x2y3", True, True,
        id="repeated-stars-anchor-fails",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: *.mp3$"], "heed", "/a/b.mp3", True, False,
        id="star-leading-pattern",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: private/"], "heed", "/private/x", True, True,
        id="pattern-without-slash-ignored",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /*?session="], "heed", "/a/b?session=1", True, False,
        id="query-wildcard-match",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /*?session="], "heed", "/a/b?x=1", True, True,
        id="query-wildcard-no-match",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /search?q="], "heed", "https://h/search?q=x#top", True, False,
        id="query-prefix-fragment-dropped",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a;v"], "heed", "http://h:8080/a;v=1?q=1#frag", True, False,
        id="params-kept",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /#x"], "heed", "/anything", True, False,
        id="comment-leaves-slash",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /$"], "heed", "http://h", True, False,
        id="empty-path-is-slash",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /$"], "heed", "http://h?x=1", True, True,
        id="empty-path-with-query",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /$"], "heed", "/x", True, True, id="anchored-root-only",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /x*", "Allow: /x$"], "heed", "/x", True, True,
        id="tie-anchored-allow-wins",
    ),
    pytest.param(
        ["User-agent: *", "Disallow:"], "heed", "/x", True, True, id="empty-disallow-allows",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /", "User-agent: heed", "Disallow:"], "heed", "/x", True, True,
        id="own-empty-group-beats-star",
    ),
    pytest.param(
        ["Disallow: /", "User-agent: *", "Allow: /x"], "heed", "/y", True, True,
        id="rules-before-user-agent-ignored",
    ),
    pytest.param(
        ["User-agent heed", "Disallow /"], "heed", "/y", True, False, id="missing-colons",
    ),
    pytest.param(
        ["User-agent: heed", "Disallow /a:b"], "heed", "/a:b", True, False,
        id="missing-colon-value-with-colon",
    ),
    pytest.param(
        ["useragent: heed", "dissallow: /a", "dissalow: /b", "disalow: /c", "diasllow: /d",
         "disallaw: /e"], "heed", "/e", True, False, id="key-typos",
    ),
    pytest.param(
        ["user agent: heed", "disallow: /a"], "heed", "/a", True, False, id="key-typo-with-space",
    ),
    pytest.param(
        ["USER-AGENT: HEED", "DISALLOW: /A"], "heed", "/A", True, False, id="keys-case-insensitive",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /A"], "heed", "/a", True, True, id="paths-case-sensitive",
    ),
    pytest.param(
        ["User-agent: * everyone", "Disallow: /"], "heed", "/x", True, False,
        id="star-followed-by-text",
    ),
    pytest.param(
        ["User-agent: *bot", "Disallow: /"], "heed", "/x", True, True, id="star-prefix-not-global",
    ),
    pytest.param(
        ["User-agent: Ai2Bot-Dolma", "Disallow: /"], "Ai2Bot-Dolma", "/x", False, False,
        id="token-with-digits",
    ),
    pytest.param(
        ["User-agent: Ai2Bot-Dolma", "Disallow: /"], "Ai2Bot", "/x", False, None,
        id="token-with-digits-exact",
    ),
    pytest.param(
        ["User-agent: heed/1.0 (+https://x)", "Disallow: /"], "heed", "/x", True, False,
        id="value-with-version",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /"], "Mozilla/5.0 heed", "/x", False, None,
        id="full-agent-string-never-a-token",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /m%C3%BAsica"], "heed", "/música", True, False,
        id="raw-utf8-url-escaped-rule",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /m%c3%basica"], "heed", "/m%C3%BAsica", True, False,
        id="hex-case-normalised",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a%2Fb"], "heed", "/a/b", True, True, id="escaped-slash-kept",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a%2Fb"], "heed", "/a%2fb", True, False,
        id="escaped-slash-matches-escaped",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a%2Ab"], "heed", "/a*b", True, False,
        id="escaped-star-is-literal",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a%2Ab"], "heed", "/aXb", True, True,
        id="escaped-star-not-wildcard",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /a b"], "heed", "/a%20b", True, False, id="space-encoded",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /100%"], "heed", "/100%25", True, False,
        id="lone-percent-encoded",
    ),
    pytest.param(
        ["User-agent: *", "Disallow: /%7Euser"], "heed", "/~user", True, False,
        id="tilde-unreserved-decoded",
    ),
]


@pytest.mark.parametrize(("lines", "token", "url", "fallback", "expected"), VECTORS)
def test_vectors(lines: list[str], token: str, url: str, fallback: bool, expected: bool | None):
    result = robots(*lines).match(token, url, fallback=fallback)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert result.allowed is expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xef\xbb\xbfUser-agent: heed\nDisallow: /", id="P6-bom"),
        pytest.param(b"\xef\xbbUser-agent: heed\nDisallow: /", id="partial-bom-2"),
        pytest.param(b"\xefUser-agent: heed\nDisallow: /", id="partial-bom-1"),
        pytest.param(b"User-agent: heed\rDisallow: /\r", id="cr-only"),
        pytest.param(b"User-agent: heed\r\nDisallow: /\r\n", id="crlf"),
        pytest.param(b"User-agent: heed\r\n\rDisallow: /", id="mixed-line-ends"),
        pytest.param(b"User-agent: heed\nDisallow: /", id="no-final-newline"),
        pytest.param(b"User-agent: heed\nDisallow: /caf\xe9\nDisallow: /", id="bad-utf8-line-kept"),
        pytest.param(b"\x00\xff junk\nUser-agent: heed\n\x01\x02\nDisallow: /", id="binary-junk"),
    ],
)
def test_encodings_and_line_ends(body: bytes):
    result = RobotsTxt.parse(body).match("heed", "/x")
    assert result is not None and not result.allowed


def test_bom_in_middle_spoils_only_that_line():
    parsed = RobotsTxt.parse(b"User-agent: heed\n\xef\xbb\xbfDisallow: /a\nDisallow: /b")
    assert parsed.match("heed", "/a").allowed
    assert not parsed.match("heed", "/b").allowed


def test_bad_utf8_in_pattern_is_replaced_not_dropped():
    parsed = RobotsTxt.parse(b"User-agent: *\nDisallow: /caf\xe9")
    assert not parsed.match("heed", "/caf%EF%BF%BD").allowed
    assert parsed.match("heed", "/cafe").allowed


@pytest.mark.parametrize(
    ("body", "agents"),
    [
        pytest.param(b"", frozenset(), id="empty"),
        pytest.param(b"\x00\x9f\x92\x96garbage\xff", frozenset(), id="binary"),
        pytest.param(
            b"User-agent: *\nUser-agent: GPTBot\nDisallow: /\nUser-agent: Googlebot/2.1\n"
            b"User-agent: Foo Bar\nUser-agent: Ai2Bot-Dolma\nUser-agent: /junk\nAllow: /",
            frozenset({"*", "gptbot", "googlebot", "foo", "ai", "ai2bot-dolma"}),
            id="mixed",
        ),
    ],
)
def test_agents(body: bytes, agents: frozenset[str]):
    assert RobotsTxt.parse(body).agents == agents


@pytest.mark.parametrize(
    "parsed",
    [
        pytest.param(RobotsTxt.empty(), id="empty-constructor"),
        pytest.param(RobotsTxt.parse(b""), id="empty-file"),
        pytest.param(RobotsTxt.parse(b"\x89PNG\r\n\x1a\n\x00\x00"), id="binary-file"),
        pytest.param(RobotsTxt.parse(b"<html><body>Not found</body></html>"), id="html"),
    ],
)
def test_no_rules_allows_everything(parsed: RobotsTxt):
    assert parsed.match("heed", "/anything") == Match(True, None, ())
    assert parsed.match("heed", "/anything", fallback=False) is None
    assert parsed.agents == frozenset()
    assert parsed.sitemaps == ()
    assert not parsed.truncated
    assert parsed.crawl_delay("heed") is None


def test_no_group_and_no_fallback_is_none_even_for_robots_txt():
    parsed = robots("User-agent: *", "Disallow: /")
    assert parsed.match("GPTBot", "/robots.txt", fallback=False) is None


def test_deciding_rule_line_agents_and_describe():
    parsed = robots(
        "# music site",            # 1
        "User-agent: *",           # 2
        "Disallow: /private/",     # 3
        "",                        # 4
        "User-agent: heed",        # 5
        "Crawl-delay: 1",          # 6
        "Allow: /private/open",    # 7
        "Disallow: /private/",     # 8
        "Disallow: /*.mp3$  # audio",  # 9
    )
    denied = parsed.match("HEED", "https://h/private/x")
    assert denied == Match(False, Rule(False, "/private/", 8), ("heed",))
    assert denied.rule.describe() == "robots.txt:8 Disallow: /private/"
    allowed = parsed.match("heed", "/private/open/1")
    assert allowed.rule == Rule(True, "/private/open", 7)
    assert allowed.rule.describe() == "robots.txt:7 Allow: /private/open"
    audio = parsed.match("heed", "/a.mp3")
    assert audio.rule == Rule(False, "/*.mp3$", 9)
    assert audio.rule.describe() == "robots.txt:9 Disallow: /*.mp3$"
    star = parsed.match("other", "/private/x")
    assert star == Match(False, Rule(False, "/private/", 3), ("*",))
    assert parsed.match("heed", "/public") == Match(True, None, ("heed",))


def test_tie_reports_the_allow_rule():
    parsed = robots("User-agent: *", "Disallow: /page", "Allow: /page", "Disallow: /page")
    assert parsed.match("heed", "/page").rule == Rule(True, "/page", 3)


def test_same_rule_twice_reports_the_first_line():
    parsed = robots("User-agent: *", "Disallow: /a", "User-agent: heed", "Disallow: /b",
                    "User-agent: *", "Disallow: /a")
    assert parsed.match("x", "/a").rule.line == 2


def test_ignored_lines_are_listed():
    parsed = robots("Disallow: /", "User-agent: *", "Disallow: private/", "Allow: http://h/x",
                    "Disallow: /ok")
    assert parsed.ignored_lines == (1, 3, 4)


def test_sitemaps_in_order_without_repeats():
    parsed = robots(
        "Sitemap: https://h/a.xml",
        "User-agent: *",
        "site-map: https://h/b.xml",
        "Disallow: /x",
        "Sitemap: https://h/a.xml",
        "Sitemap https://h/c.xml",
        "Sitemap:",
    )
    assert parsed.sitemaps == ("https://h/a.xml", "https://h/b.xml", "https://h/c.xml")
    assert not parsed.match("heed", "/x").allowed


@pytest.mark.parametrize(
    ("lines", "token", "expected"),
    [
        pytest.param(["User-agent: *", "Crawl-delay: 2.5"], "heed", 2.5, id="star-fallback"),
        pytest.param(["User-agent: heed", "Crawl-delay: 3"], "HEED", 3.0, id="own-group"),
        pytest.param(["User-agent: *", "Crawl-delay: 2", "Disallow: /y", "User-agent: heed",
                      "Disallow: /x"], "heed", None, id="own-group-replaces-star"),
        pytest.param(["User-agent: *", "Crawl-delay: 2", "User-agent: heed", "Disallow: /x"],
                     "heed", 2.0, id="crawl-delay-does-not-end-group"),
        pytest.param(["User-agent: heed", "Crawl-delay: 1", "Disallow: /", "User-agent: heed",
                      "Crawl-delay: 4"], "heed", 4.0, id="merged-groups-largest"),
        pytest.param(["User-agent: heed", "Crawl-delay: abc"], "heed", None, id="invalid"),
        pytest.param(["User-agent: heed", "Crawl-delay: -1"], "heed", None, id="negative"),
        pytest.param(["User-agent: heed", "Crawl-delay: nan"], "heed", None, id="nan"),
        pytest.param(["User-agent: heed", "Crawl-delay: inf"], "heed", None, id="inf"),
        pytest.param(["User-agent: heed", "Crawl-delay: 0"], "heed", 0.0, id="zero"),
        pytest.param(["User-agent: heed", "Crawl-delay: 5", "Crawl-delay: x"], "heed", 5.0,
                     id="valid-beside-invalid"),
        pytest.param(["Crawl-delay: 9", "User-agent: heed", "Disallow: /"], "heed", None,
                     id="before-any-group"),
        pytest.param(["User-agent: other", "Crawl-delay: 9"], "heed", None, id="other-group"),
        pytest.param(["User-agent: heed", "Crawl delay: 7"], "heed", 7.0, id="key-with-space"),
    ],
)
def test_crawl_delay(lines: list[str], token: str, expected: float | None):
    delay = robots(*lines).crawl_delay(token)
    assert delay == expected
    assert delay is None or math.isfinite(delay)


def test_records_by_group_and_file_wide():
    parsed = robots(
        "Content-Signal: search=yes",           # 1
        "User-agent: *",                        # 2
        "Content-Signal: ai-train=no",          # 3
        "Allow: /",                             # 4
        "User-agent: heed",                     # 5
        "Content-Usage: train-ai=n",            # 6
        "Disallow: /x",                         # 7
        "Crawl delay: 3",                       # 8
    )
    assert parsed.records("Crawl-Delay", "heed") == ((8, "3"),)
    assert parsed.records("content-signal") == ((1, "search=yes"), (3, "ai-train=no"))
    assert parsed.records("Content-Signal", "other") == ((3, "ai-train=no"),)
    assert parsed.records("content-signal", "heed") == ()
    assert parsed.records("content-usage", "heed") == ((6, "train-ai=n"),)
    assert parsed.records("content-usage", "gptbot", fallback=False) == ()


# --- size limits ---------------------------------------------------------------------------

def _padded(head: bytes, tail: bytes, total: int) -> bytes:
    """``head``, comment lines up to ``total - len(tail)`` bytes, then ``tail``."""
    filler = total - len(head) - len(tail)
    assert filler > 2
    comment = b"#" + b"x" * (filler - 2) + b"\n"
    return head + comment + tail


def test_1_8_v13_disallow_past_limit_not_applied():
    head = b"User-agent: *\nDisallow: /early\n"
    body = _padded(head, b"", 600 * 1024 - 20) + b"Disallow: /late\n"
    assert len(body) > MAX_ROBOTS_BYTES and body.index(b"/late") > MAX_ROBOTS_BYTES
    parsed = RobotsTxt.parse(body)
    assert parsed.truncated
    assert not parsed.match("MusicDataBot", "/early").allowed
    assert parsed.match("MusicDataBot", "/late").allowed


def test_line_cut_by_limit_is_dropped_whole():
    head = b"User-agent: *\nDisallow: /early\n"
    body = _padded(head, b"", MAX_ROBOTS_BYTES - 5) + b"Disallow: /cut-line\n"
    parsed = RobotsTxt.parse(body)
    assert parsed.truncated
    assert parsed.match("heed", "/").allowed  # not read as "Disal" or "Disallow: /"
    assert parsed.match("heed", "/cut-line").allowed


def test_line_ending_exactly_at_limit_is_kept():
    tail = b"Disallow: /last"
    body = _padded(b"User-agent: *\n", tail, MAX_ROBOTS_BYTES) + b"\nDisallow: /beyond\n"
    parsed = RobotsTxt.parse(body)
    assert parsed.truncated
    assert not parsed.match("heed", "/last").allowed
    assert parsed.match("heed", "/beyond").allowed


def test_exactly_limit_is_not_truncated():
    body = _padded(b"User-agent: *\n", b"Disallow: /last\n", MAX_ROBOTS_BYTES)
    assert len(body) == MAX_ROBOTS_BYTES
    parsed = RobotsTxt.parse(body)
    assert not parsed.truncated
    assert not parsed.match("heed", "/last").allowed


def test_long_line_truncated_and_still_used():
    line = b"Disallow: /" + b"a" * 20_000  # cut at 16,664 bytes: "/" + 16,653 "a"
    parsed = RobotsTxt.parse(b"User-agent: *\n" + line + b"\nDisallow: /next")
    assert not parsed.match("heed", "/" + "a" * 16_653).allowed
    assert parsed.match("heed", "/" + "a" * 16_652).allowed
    assert not parsed.match("heed", "/next").allowed


# --- large groups (the precompiled lookup path) -------------------------------------------

def test_large_group_precedence():
    lines = ["User-agent: *"]
    lines += [f"Disallow: /section{i}/" for i in range(1000)]
    lines += [f"Disallow: /*/item{i}$" for i in range(600)]
    lines += ["Allow: /section7/open", "Disallow: /section7/open/deep$", "Allow: /x/item5$"]
    parsed = robots(*lines)
    assert parsed.match("h", "/section7/a").rule.pattern == "/section7/"
    assert parsed.match("h", "/section7/open").rule.pattern == "/section7/open"
    assert parsed.match("h", "/section7/open/deep").rule.pattern == "/section7/open/deep$"
    assert parsed.match("h", "/section7/open/deeper").rule.pattern == "/section7/open"
    assert parsed.match("h", "/a/item5").rule.pattern == "/*/item5$"
    assert parsed.match("h", "/x/item5").rule.pattern == "/x/item5$"
    assert parsed.match("h", "/a/item5x").rule is None
    assert parsed.match("h", "/section1000/").allowed


def test_many_wildcards_stay_fast_enough():
    parsed = RobotsTxt.parse(b"User-agent: *\nDisallow: /" + b"*a" * 2000 + b"*b$\n")
    assert parsed.match("heed", "/" + "a" * 5000).allowed
    assert not parsed.match("heed", "/" + "a" * 2000 + "b").allowed


# --- properties ---------------------------------------------------------------------------

_KEYS = ["User-agent", "Allow", "Disallow", "Sitemap", "Crawl-delay", "Content-Signal",
         "useragent", "dissallow", "", "#"]


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=3000), url=st.text(max_size=80), token=st.text(max_size=12))
def test_parse_and_match_never_raise_on_bytes(body: bytes, url: str, token: str):
    parsed = RobotsTxt.parse(body)
    for fallback in (True, False):
        result = parsed.match(token, url, fallback=fallback)
        assert result is None or isinstance(result.allowed, bool)
    parsed.crawl_delay(token)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(
        st.tuples(st.sampled_from(_KEYS), st.sampled_from([":", " ", ": ", "::"]),
                  st.text(max_size=20)),
        max_size=30,
    ),
    line_end=st.sampled_from(["\n", "\r", "\r\n"]),
    url=st.text(max_size=40),
)
def test_parse_and_match_never_raise_on_record_like_lines(records, line_end, url):
    text = line_end.join(f"{k}{sep}{v}" for k, sep, v in records)
    parsed = RobotsTxt.parse(text.encode("utf-8", "surrogatepass"))
    for token in ("heed", "*", ""):
        parsed.match(token, url)
        parsed.match(token, "http://h" + url, fallback=False)


_PATTERN = st.text(alphabet="/ab*$%2A?=é", max_size=8)
_PATH = st.text(alphabet="/ab*$%2A?=é", max_size=10).map(lambda p: "/" + p)
_GROUP = st.tuples(
    st.lists(st.sampled_from(["heed", "*", "GPTBot"]), min_size=1, max_size=2),
    st.lists(st.tuples(st.booleans(), _PATTERN), min_size=1, max_size=6),
)


def _render(groups: list[tuple[list[str], list[tuple[bool, str]]]]) -> bytes:
    lines: list[str] = []
    for agents, rules in groups:
        lines += [f"User-agent: {a}" for a in agents]
        lines += [f"{'Allow' if allow else 'Disallow'}: {p}" for allow, p in rules]
        lines.append("")
    return "\n".join(lines).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(_GROUP, min_size=1, max_size=4), data=st.data(), path=_PATH)
def test_adding_a_disallow_never_allows_more(groups, data, path):
    where = data.draw(st.integers(0, len(groups) - 1))
    extra = data.draw(_PATTERN)
    before = RobotsTxt.parse(_render(groups))
    agents, rules = groups[where]
    changed = [*groups[:where], (agents, [*rules, (False, extra)]), *groups[where + 1 :]]
    after = RobotsTxt.parse(_render(changed))
    for token in ("heed", "GPTBot", "other"):
        old = before.match(token, path)
        new = after.match(token, path)
        if not old.allowed:
            assert not new.allowed, (token, path)


@settings(max_examples=300, deadline=None)
@given(groups=st.lists(_GROUP, min_size=1, max_size=3), path=_PATH)
def test_full_url_and_path_agree(groups, path):
    parsed = RobotsTxt.parse(_render(groups))
    for token in ("heed", "other"):
        assert parsed.match(token, path) == parsed.match(token, "https://h:8443" + path + "#f")


def _reference(rules: list[tuple[bool, str]], path: str) -> tuple[bool, str | None]:
    """Straightforward RFC 9309 precedence over patterns made of '/', 'a', 'b', '*', '$'."""
    best: tuple[int, bool, int] | None = None
    for line, (allow, pattern) in enumerate(rules):
        if not pattern or pattern[0] not in "/*":
            continue
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = "".join(".*" if c == "*" else re.escape(c) for c in body) + ("\\Z" if anchored else "")
        if re.match(regex, path, re.DOTALL):  # a literal '$' never occurs in these paths
            length = len(body.replace("$", "%24")) + anchored
            key = (length, allow, -line)
            best = key if best is None or key > best else best
    if best is None:
        return True, None
    return best[1], rules[-best[2]][1]


# Rules that never match the generated paths; 600 of them push a group onto the large-group
# lookup path.
_PADDING = [f"Disallow: /zz{i}" for i in range(580)] + [f"Disallow: /*zz{i}$" for i in range(20)]


@settings(max_examples=500, deadline=None)
@given(
    rules=st.lists(st.tuples(st.booleans(), st.text(alphabet="/ab*$", max_size=7)), max_size=8),
    path=st.text(alphabet="/ab", max_size=10).map(lambda p: "/" + p),
    padded=st.booleans(),
)
def test_matches_reference_precedence(rules, path, padded):
    lines = ["User-agent: *"] + [f"{'Allow' if a else 'Disallow'}: {p}" for a, p in rules]
    if padded:
        lines += _PADDING
    result = robots(*lines).match("heed", path)
    allowed, pattern = _reference(rules, path)
    assert result.allowed is allowed
    assert (result.rule.pattern if result.rule else None) == pattern

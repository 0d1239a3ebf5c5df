"""AIPREF: the Structured-Field parser, vocab-07 reading, header and robots.txt rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.aipref import (
    ALLOWED,
    DISALLOWED,
    UNKNOWN,
    Date,
    DisplayString,
    InnerList,
    Item,
    SFError,
    Token,
    header_finding,
    parse_content_usage,
    parse_dictionary,
    parse_rule,
    robots_finding,
)
from crawler.policy.decision import Evidence, combine
from crawler.policy.robots import RobotsTxt

TOKEN = "heed"
EV = Evidence(kind="headers", url="https://h.test/x", sha256="a" * 64)


def robots(text: str) -> RobotsTxt:
    return RobotsTxt.parse(text.encode())


# --- RFC 9651 dictionary parsing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", {}, id="empty"),
        pytest.param("   ", {}, id="spaces-only"),
        pytest.param("a=1", {"a": Item(1)}, id="integer"),
        pytest.param("a=-15", {"a": Item(-15)}, id="negative"),
        pytest.param("a=1.5", {"a": Item(1.5)}, id="decimal"),
        pytest.param('a="x\\"y"', {"a": Item('x"y')}, id="string-escape"),
        pytest.param("a=tok/en:1", {"a": Item(Token("tok/en:1"))}, id="token-with-colon-slash"),
        pytest.param("a=*x", {"a": Item(Token("*x"))}, id="token-star"),
        pytest.param("a=?0", {"a": Item(False)}, id="boolean-false"),
        pytest.param("a", {"a": Item(True)}, id="bare-key-is-true"),
        pytest.param("a;p=1", {"a": Item(True, (("p", 1),))}, id="bare-key-params"),
        pytest.param("a=:aGk=:", {"a": Item(b"hi")}, id="byte-sequence"),
        pytest.param("a=@1700000000", {"a": Item(Date(1700000000))}, id="date"),
        pytest.param('a=%"f%c3%bc"', {"a": Item(DisplayString("fü"))}, id="display-string"),
        pytest.param(
            "a=(1 x);q=?1",
            {"a": InnerList((Item(1), Item(Token("x"))), (("q", True),))},
            id="inner-list",
        ),
        pytest.param("a=()", {"a": InnerList(())}, id="empty-inner-list"),
        pytest.param("a=1,a=2", {"a": Item(2)}, id="duplicate-last-wins"),
        pytest.param("a=1 ,\tb=2", {"a": Item(1), "b": Item(2)}, id="ows-around-comma"),
        pytest.param("*k.x_1-=y", {"*k.x_1-": Item(Token("y"))}, id="key-chars"),
        pytest.param("a=y;p;q=\"s\"", {"a": Item(Token("y"), (("p", True), ("q", "s")))},
                     id="item-params"),
    ],
)
def test_sf_dictionary_parses(text, expected):
    assert parse_dictionary(text) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        pytest.param("A=1", "uppercase-key", id="uppercase-first"),
        pytest.param("aB=1", "uppercase-key", id="uppercase-inside"),
        pytest.param("a=1,", "trailing-comma", id="trailing-comma"),
        pytest.param("a=1 b=2", "separator", id="missing-comma"),
        pytest.param("1a=1", "key", id="digit-first-key"),
        pytest.param("a=\"x", "string", id="unterminated-string"),
        pytest.param("a=\"\\x\"", "string", id="bad-escape"),
        pytest.param("a=?2", "boolean", id="bad-boolean"),
        pytest.param("a=1234567890123456", "number", id="integer-too-long"),
        pytest.param("a=1.2345", "number", id="too-many-fraction-digits"),
        pytest.param("a=1.", "number", id="decimal-trailing-dot"),
        pytest.param("a=-", "number", id="lone-minus"),
        pytest.param("a=:a*b:", "bytes", id="bad-base64"),
        pytest.param("a=(1", "inner-list", id="unterminated-inner-list"),
        pytest.param("a=(1,2)", "inner-list", id="comma-in-inner-list"),
        pytest.param("a=@1.5", "date", id="decimal-date"),
        pytest.param('a=%"%C3"', "display-string", id="uppercase-hex-display"),
        pytest.param("a=é", "not-ascii", id="non-ascii"),
        pytest.param("a=", "item", id="missing-value"),
        pytest.param("a=1;", "key", id="empty-parameter"),
    ],
)
def test_sf_dictionary_rejects(text, detail):
    with pytest.raises(SFError) as caught:
        parse_dictionary(text)
    assert caught.value.detail == detail


# --- vocab-07 reading ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "train", "search", "malformed"),
    [
        pytest.param("train-ai=n", DISALLOWED, UNKNOWN, False, id="aipref-v1-train-ai-n"),
        pytest.param("train-ai=y, search=n", ALLOWED, DISALLOWED, False,
                     id="aipref-v2-train-y-search-n"),
        pytest.param('train-ai="n"', UNKNOWN, UNKNOWN, False, id="aipref-v3-quoted-string"),
        pytest.param("Train-AI=n", UNKNOWN, UNKNOWN, True, id="aipref-v4-uppercase-key"),
        pytest.param("all=n", UNKNOWN, UNKNOWN, False, id="aipref-v8-legacy-all"),
        pytest.param("train-ai=?1", UNKNOWN, UNKNOWN, False, id="boolean-true"),
        pytest.param("train-ai", UNKNOWN, UNKNOWN, False, id="bare-key"),
        pytest.param("train-ai=y, train-ai", UNKNOWN, UNKNOWN, False, id="duplicate-bare-last-wins"),
        pytest.param("train-ai=no", UNKNOWN, UNKNOWN, False, id="token-no"),
        pytest.param("train-ai=N", UNKNOWN, UNKNOWN, False, id="token-uppercase-N"),
        pytest.param("train-ai=n;exp=1", DISALLOWED, UNKNOWN, False, id="parameters-ignored"),
        pytest.param("train-ai=(n)", UNKNOWN, UNKNOWN, False, id="inner-list-value"),
        pytest.param("foo=n, train-ai=y", ALLOWED, UNKNOWN, False, id="unknown-key-ignored"),
        pytest.param("search=y", UNKNOWN, ALLOWED, False, id="search-only"),
        pytest.param("train-ai=n,", UNKNOWN, UNKNOWN, True, id="trailing-comma-all-unknown"),
        pytest.param("train-ai=n search=y", UNKNOWN, UNKNOWN, True, id="missing-comma"),
        pytest.param("", UNKNOWN, UNKNOWN, False, id="empty"),
    ],
)
def test_vocabulary(value, train, search, malformed):
    prefs = parse_content_usage(value)
    assert (prefs.train_ai, prefs.search, prefs.malformed) == (train, search, malformed)


def test_invalid_value_is_recorded():
    prefs = parse_content_usage('train-ai="n"')
    assert prefs.invalid == (("train-ai", '"n"'),)
    assert ("aipref-invalid", 'train-ai="n"') in prefs.signals()


# --- header findings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "strict", "verdict", "reasons"),
    [
        pytest.param(["train-ai=n"], False, "deny", ("aipref:train-ai=n",), id="aipref-v1-header-n"),
        pytest.param(["train-ai=y, search=n"], True, "allow", (), id="aipref-v2-header-y"),
        pytest.param(['train-ai="n"'], True, "allow", (), id="aipref-v3-string-strict-unknown"),
        pytest.param(['train-ai="n"'], False, "allow", (), id="aipref-v3-string-lenient"),
        pytest.param(["Train-AI=n"], True, "deny", ("aipref.malformed",),
                     id="aipref-v4-uppercase-key-strict"),
        pytest.param(["Train-AI=n"], False, "allow", (), id="aipref-v4-uppercase-key-lenient"),
        pytest.param(["all=n"], True, "deny", ("aipref.legacy:all=n",), id="aipref-v8-legacy-strict"),
        pytest.param(["all=n"], False, "allow", (), id="aipref-v8-legacy-lenient"),
        pytest.param(["bots=n"], True, "deny", ("aipref.legacy:bots=n",), id="legacy-bots"),
        pytest.param(["train-genai=n"], True, "deny", ("aipref.legacy:train-genai=n",),
                     id="legacy-train-genai"),
        pytest.param(["tdm=n"], True, "deny", ("aipref.legacy:tdm=n",), id="legacy-tdm"),
        pytest.param(["ai-use=n"], True, "allow", (), id="legacy-ai-use-not-training"),
        pytest.param(["all=n, train-ai=y"], True, "allow", (), id="legacy-overridden-by-specific"),
        pytest.param(["all=y"], True, "allow", (), id="legacy-y"),
        pytest.param(["train-ai=n, train-ai=y"], True, "deny", ("aipref.conflict:train-ai",),
                     id="duplicate-conflict-strict"),
        pytest.param(["train-ai=n, train-ai=y"], False, "allow", (),
                     id="duplicate-conflict-lenient-last-wins"),
        pytest.param(["train-ai=y", "train-ai=n"], False, "deny", ("aipref:train-ai=n",),
                     id="two-lines-most-restrictive"),
        pytest.param(["train-ai=n", "train-ai=y"], False, "deny", ("aipref:train-ai=n",),
                     id="two-lines-most-restrictive-reversed"),
        pytest.param(["train-ai=y", "Bad"], True, "deny", ("aipref.malformed",),
                     id="one-malformed-line-strict"),
        pytest.param(["search=n"], True, "allow", (), id="search-n-not-training"),
        pytest.param([], True, "allow", (), id="no-header"),
    ],
)
def test_header_finding(values, strict, verdict, reasons):
    found = header_finding(values, strict=strict, evidence=EV)
    assert found.verdict == verdict
    assert found.reasons == reasons
    assert found.evidence == (EV,)
    for value in values:
        assert ("content-usage", value) in found.signals


def test_header_rules_name_the_line():
    found = header_finding(["search=y", "train-ai=n"], strict=True)
    assert found.rules == ("header content-usage[1]: train-ai=n",)


# --- robots.txt rules ----------------------------------------------------------------------

VECTOR_5 = """\
User-agent: *
Allow: /
Content-Usage: train-ai=n
Content-Usage: /free/ train-ai=y
"""

DRAFT_EXAMPLE = """\
User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Content-Usage: train-ai=y
"""


@pytest.mark.parametrize(
    ("text", "token", "url", "strict", "verdict", "reasons"),
    [
        pytest.param(VECTOR_5, TOKEN, "https://h.test/free/x", True, "allow", (),
                     id="aipref-v5-free-path-y"),
        pytest.param(VECTOR_5, TOKEN, "https://h.test/other", True, "deny", ("aipref:train-ai=n",),
                     id="aipref-v5-other-path-n"),
        pytest.param("User-agent: *\nContent-Usage: /a/ train-ai=y\nContent-Usage: /a/ train-ai=n\n",
                     TOKEN, "/a/x", False, "deny", ("aipref:train-ai=n",),
                     id="aipref-v6-same-path-disallow-wins"),
        pytest.param("User-agent: *\nContent-Usage: /a/ train-ai=n\nContent-Usage: /a/ train-ai=y\n",
                     TOKEN, "/a/x", False, "deny", ("aipref:train-ai=n",),
                     id="aipref-v6-same-path-reversed"),
        pytest.param(DRAFT_EXAMPLE, TOKEN, "/test", False, "deny", ("aipref:train-ai=n",),
                     id="draft-example-test"),
        pytest.param(DRAFT_EXAMPLE, TOKEN, "/never/test", False, "allow", (),
                     id="draft-example-never-not-crawlable"),
        pytest.param(DRAFT_EXAMPLE, TOKEN, "/ai-ok/test", False, "allow", (),
                     id="draft-example-ai-ok"),
        pytest.param(DRAFT_EXAMPLE, "ExampleBot", "/test", False, "allow", (),
                     id="draft-example-examplebot-group"),
        pytest.param("User-agent: *\nContent-Usage: train-ai=n\nAllow: /\nUser-agent: heed\nAllow: /\n",
                     TOKEN, "/x", True, "allow", (), id="own-group-without-rule-no-fallback"),
        pytest.param("User-agent: heed\nContent-Usage: train-ai=n\n\nUser-agent: *\nAllow: /\n",
                     TOKEN, "/x", True, "deny", ("aipref:train-ai=n",), id="own-group-rule"),
        pytest.param("User-agent: *\nContent-Usage: Train-AI=n\nContent-Usage: /free/ train-ai=y\n",
                     TOKEN, "/x", True, "deny", ("aipref.malformed",), id="malformed-strict"),
        pytest.param("User-agent: *\nContent-Usage: Train-AI=n\nContent-Usage: /free/ train-ai=y\n",
                     TOKEN, "/free/x", True, "allow", (), id="malformed-overridden-by-longer"),
        pytest.param("User-agent: *\nContent-Usage: Train-AI=n\n", TOKEN, "/x", False, "allow", (),
                     id="malformed-lenient"),
        pytest.param("User-agent: *\nContent-Usage: all=n\n", TOKEN, "/x", True, "deny",
                     ("aipref.legacy:all=n",), id="legacy-in-robots-strict"),
        pytest.param("User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /a/ search=y\n",
                     TOKEN, "/a/x", True, "deny", ("aipref:train-ai=n",),
                     id="longer-rule-without-train-ai-inherits"),
        pytest.param("User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: / train-ai=y\n",
                     TOKEN, "/a", False, "deny", ("aipref:train-ai=n",),
                     id="pathless-equals-root-conflict"),
        pytest.param("User-agent: *\nContent-Usage: /*.mp3$ train-ai=n\n", TOKEN, "/a/b.mp3", False,
                     "deny", ("aipref:train-ai=n",), id="wildcard-anchored"),
        pytest.param("User-agent: *\nContent-Usage: /*.mp3$ train-ai=n\n", TOKEN, "/a/b.mp3?x", False,
                     "allow", (), id="wildcard-anchored-query-misses"),
        pytest.param("User-agent: *\nContent-Usage: /caf%C3%A9/ train-ai=n\n", TOKEN, "/café/x",
                     False, "deny", ("aipref:train-ai=n",), id="percent-encoding-normalised"),
        pytest.param("User-agent: *\nContent-Usage:\ttrain-ai=n # comment\n", TOKEN, "/x", True,
                     "deny", ("aipref:train-ai=n",), id="tab-and-comment"),
        pytest.param("user-agent: *\ncontent-usage : train-ai=n\n", TOKEN, "/x", True, "deny",
                     ("aipref:train-ai=n",), id="label-case-and-space"),
        pytest.param("Content-Usage: train-ai=n\nUser-agent: *\nAllow: /\n", TOKEN, "/x", True,
                     "allow", (), id="outside-any-group-ignored"),
        pytest.param("User-agent: *\nDisallow: /\nContent-Usage: train-ai=n\n", TOKEN, "/x", True,
                     "allow", (), id="not-crawlable-no-preference"),
        pytest.param("User-agent: *\nContent-Usage: /a/\n", TOKEN, "/a/x", True, "allow", (),
                     id="path-without-preferences"),
        pytest.param("", TOKEN, "/x", True, "allow", (), id="empty-file"),
    ],
)
def test_robots_finding(text, token, url, strict, verdict, reasons):
    found = robots_finding(robots(text), token, url, strict=strict)
    assert found.verdict == verdict, found
    assert found.reasons == reasons


def test_robots_rule_and_line_recorded():
    found = robots_finding(robots(VECTOR_5), TOKEN, "https://h.test/other", strict=True)
    assert found.rules == ("robots.txt:3 Content-Usage: train-ai=n",)
    assert ("content-usage", "robots.txt:3 train-ai=n") in found.signals
    allowed = robots_finding(robots(VECTOR_5), TOKEN, "https://h.test/free/x", strict=True)
    assert allowed.rules == ("robots.txt:4 Content-Usage: /free/ train-ai=y",)


def test_not_crawlable_is_logged():
    found = robots_finding(robots("User-agent: *\nDisallow: /\nContent-Usage: train-ai=n\n"),
                           TOKEN, "/x", strict=True)
    assert ("content-usage-skipped", "heed: not crawlable") in found.signals


def test_ai_token_group_is_a_reservation():
    text = "User-agent: GPTBot\nContent-Usage: train-ai=n\nAllow: /\n\nUser-agent: *\nAllow: /\n"
    found = robots_finding(robots(text), TOKEN, "/x", strict=False, ai_tokens=frozenset({"gptbot"}))
    assert found.verdict == "deny"
    assert found.reasons == ("aipref.ai-token:gptbot",)
    assert found.rules == ("robots.txt:2 Content-Usage: train-ai=n (group gptbot)",)
    # without the token list, the GPTBot group says nothing about heed
    assert robots_finding(robots(text), TOKEN, "/x", strict=True).verdict == "allow"


def test_ai_token_group_without_fallback():
    # a '*' rule must not be read as the AI token's own
    text = "User-agent: *\nContent-Usage: train-ai=y\n"
    found = robots_finding(robots(text), TOKEN, "/x", strict=True, ai_tokens={"gptbot"})
    assert found.verdict == "allow"


def test_aipref_v7_robots_y_header_n_combined():
    # aipref-v7: robots.txt says train-ai=y for /, the response says train-ai=n
    pre = robots_finding(robots("User-agent: *\nContent-Usage: / train-ai=y\n"), TOKEN, "/x",
                         strict=True)
    post = header_finding(["train-ai=n"], strict=True)
    assert pre.verdict == "allow"
    decision = combine([pre, post], stage="use", url="https://h.test/x")
    assert decision.verdict == "deny"
    assert decision.reasons == ("aipref:train-ai=n",)


@pytest.mark.parametrize(
    ("value", "path", "pref"),
    [
        pytest.param("/a/ train-ai=n", "/a/", "train-ai=n", id="path-space"),
        pytest.param("/a/\ttrain-ai=n", "/a/", "train-ai=n", id="path-tab"),
        pytest.param("train-ai=n", None, "train-ai=n", id="no-path"),
        pytest.param("/a/", "/a/", "", id="path-only"),
        pytest.param("  /a/   train-ai=n  ", "/a/", "train-ai=n", id="extra-spaces"),
    ],
)
def test_parse_rule(value, path, pref):
    rule = parse_rule(1, value)
    assert rule.path == path
    assert rule.prefs.raw == pref


# --- never raises ------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_parse_content_usage_never_raises(text):
    prefs = parse_content_usage(text)
    assert prefs.train_ai in (ALLOWED, DISALLOWED, UNKNOWN)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet='abn=yz-,;()"?:*@%. \t019', max_size=40))
def test_sf_parser_only_raises_sferror(text):
    try:
        parse_dictionary(text)
    except SFError:
        pass


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=400), url=st.text(max_size=40))
def test_robots_finding_never_raises(body, url):
    found = robots_finding(RobotsTxt.parse(b"User-agent: *\n" + body), TOKEN, url or "/",
                           strict=True, ai_tokens={"gptbot"})
    assert found.verdict in ("allow", "deny")

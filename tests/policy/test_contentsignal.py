"""Cloudflare Content Signals: robots.txt lines, AI-token groups, the header form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.contentsignal import header_finding, parse_content_signal, robots_finding
from crawler.policy.decision import Evidence
from crawler.policy.robots import RobotsTxt

TOKEN = "heed"
AI = frozenset({"gptbot", "ccbot"})
EV = Evidence(kind="robots.txt", url="https://h.test/robots.txt", sha256="b" * 64)


def robots(text: str) -> RobotsTxt:
    return RobotsTxt.parse(text.encode())


@pytest.mark.parametrize(
    ("text", "strict", "verdict", "reasons"),
    [
        pytest.param("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n", False,
                     "deny", ("content-signal:ai-train=no",), id="content-signal-v1-ai-train-no"),
        pytest.param("User-agent: *\nContent-Signal: search=yes,ai-train=yes\nAllow: /\n", True,
                     "allow", (), id="content-signal-v2-ai-train-yes"),
        pytest.param("User-agent: *\nContent-Signal: search=yes\nAllow: /\n", True, "allow", (),
                     id="content-signal-v3-search-only"),
        pytest.param("User-agent: *\nContent-Signal: ai-input=no, ai-train=yes\nAllow: /\n", True,
                     "allow", (), id="content-signal-v4-ai-input-no"),
        pytest.param("User-agent: *\nContent-Signal: search=yes,ai-train=no,use=reference\nAllow: /\n",
                     False, "deny", ("content-signal:ai-train=no",),
                     id="content-signal-v5-use-reference"),
        pytest.param("User-agent: GPTBot\nContent-Signal: ai-train=no\nDisallow: /\n\n"
                     "User-agent: *\nAllow: /\n", False, "deny",
                     ("content-signal.ai-token:gptbot",), id="content-signal-v6-gptbot-group"),
        pytest.param("User-agent: *\nContent-signal: AI-Train=No\n", False, "deny",
                     ("content-signal:ai-train=no",), id="label-and-values-case-insensitive"),
        pytest.param("User-agent: *\nContent-Signal:search=yes ai-train=no\n", False, "deny",
                     ("content-signal:ai-train=no",), id="space-separated-items"),
        pytest.param("User-agent: *\nContent-Signal: ai-train = no\n", False, "deny",
                     ("content-signal:ai-train=no",), id="spaces-around-equals"),
        pytest.param("User-agent: *\nContent-Signal: ai-train=yes\nContent-Signal: ai-train=no\n",
                     False, "deny", ("content-signal:ai-train=no",), id="two-lines-no-wins"),
        pytest.param("User-agent: *\nContent-Signal: ai-train=yes, ai-train=no\n", False, "deny",
                     ("content-signal:ai-train=no",), id="repeated-key-no-wins"),
        pytest.param("User-agent: *\nContent-Signal: ai-train=maybe\n", True, "deny",
                     ("content-signal.malformed",), id="bad-value-strict"),
        pytest.param("User-agent: *\nContent-Signal: ai-train=maybe\n", False, "allow", (),
                     id="bad-value-lenient"),
        pytest.param("User-agent: *\nContent-Signal: ai-train:no\n", True, "deny",
                     ("content-signal.malformed",), id="colon-instead-of-equals-strict"),
        pytest.param("User-agent: *\nContent-Signal: ai-train:no\n", False, "allow", (),
                     id="colon-instead-of-equals-lenient"),
        pytest.param("User-agent: *\nContent-Signal: search=maybe\n", True, "allow", (),
                     id="bad-search-value-not-training"),
        pytest.param("User-agent: *\nContent-Signal: use=immediate\n", True, "allow", (),
                     id="use-alone-recorded-only"),
        pytest.param("User-agent: *\nContent-Signal:\n", True, "allow", (), id="empty-line"),
        pytest.param("User-agent: *\nContent-Signal: ai-train=no # reserved\n", False, "deny",
                     ("content-signal:ai-train=no",), id="trailing-comment"),
        pytest.param("User-agent: heed\nAllow: /\n\nUser-agent: *\nContent-Signal: ai-train=no\n",
                     True, "allow", (), id="own-group-without-line-no-fallback"),
        pytest.param("User-agent: heed\nContent-Signal: ai-train=no\nAllow: /\n", False, "deny",
                     ("content-signal:ai-train=no",), id="own-group"),
        pytest.param("User-agent: Bingbot\nContent-Signal: ai-train=no\nAllow: /\n\n"
                     "User-agent: *\nAllow: /\n", True, "allow", (),
                     id="non-ai-other-group-ignored"),
        pytest.param("User-agent: GPTBot\nContent-Signal: ai-train=yes\nAllow: /\n", True, "allow",
                     (), id="ai-token-group-yes"),
        pytest.param("Content-Signal: ai-train=no\nUser-agent: *\nAllow: /\n", True, "allow", (),
                     id="outside-any-group"),
    ],
)
def test_robots_finding(text, strict, verdict, reasons):
    found = robots_finding(robots(text), TOKEN, "https://h.test/music/x", strict=strict,
                           ai_tokens=AI, evidence=EV)
    assert found.verdict == verdict, found
    assert found.reasons == reasons
    assert found.evidence == (EV,)


def test_signals_and_rules_recorded():
    text = "User-agent: *\nContent-Signal: search=yes,ai-train=no,use=reference\nAllow: /\n"
    found = robots_finding(robots(text), TOKEN, "/x", strict=True, ai_tokens=AI)
    assert found.rules == ("robots.txt:2 Content-Signal: search=yes,ai-train=no,use=reference",)
    assert ("content-signal:use", "reference") in found.signals
    assert ("content-signal", "robots.txt:2 search=yes,ai-train=no,use=reference") in found.signals


def test_content_signal_v4_ai_input_denied_tag():
    text = "User-agent: *\nContent-Signal: ai-input=no, ai-train=yes\nAllow: /\n"
    found = robots_finding(robots(text), TOKEN, "/x", strict=True, ai_tokens=AI)
    assert found.verdict == "allow"
    assert ("ai_input_denied", "1") in found.signals
    assert ("content-signal:ai-input", "no") in found.signals


def test_content_signal_v6_rule_names_group():
    text = "User-agent: GPTBot\nContent-Signal: ai-train=no\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    found = robots_finding(robots(text), TOKEN, "/x", strict=True, ai_tokens=AI)
    assert found.rules == ("robots.txt:2 Content-Signal: ai-train=no (group gptbot)",)
    # without the AI token list, a GPTBot group says nothing about heed
    assert robots_finding(robots(text), TOKEN, "/x", strict=True).verdict == "allow"


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        pytest.param("search=yes,ai-train=no,use=reference",
                     ("yes", None, "no", "reference"), id="managed-default"),
        pytest.param("ai-train=yes, search=yes, ai-input=yes", ("yes", "yes", "yes", None),
                     id="header-form"),
        pytest.param("use=full, use=reference", (None, None, None, "reference"),
                     id="use-lowest-level-wins"),
        pytest.param("USE=Full", (None, None, None, "full"), id="use-case"),
        pytest.param("use=everything", (None, None, None, None), id="use-bad-value"),
        pytest.param("search=no;ai-train=no", ("no", None, "no", None), id="semicolon-separator"),
    ],
)
def test_parse(value, fields):
    parsed = parse_content_signal(value)
    assert (parsed.search, parsed.ai_input, parsed.ai_train, parsed.use) == fields


def test_parse_records_errors_and_other_keys():
    parsed = parse_content_signal("foo=bar, junk, ai-train=perhaps")
    assert parsed.other == (("foo", "bar"),)
    assert parsed.errors == ("junk:junk", "bad-value:ai-train=perhaps")


@pytest.mark.parametrize(
    ("values", "strict", "verdict", "reasons"),
    [
        pytest.param(["ai-train=yes, search=yes, ai-input=yes"], True, "allow", (),
                     id="header-all-yes"),
        pytest.param(["search=yes", "ai-train=no"], False, "deny", ("content-signal:ai-train=no",),
                     id="header-two-lines"),
        pytest.param(["ai-train=nope"], True, "deny", ("content-signal.malformed",),
                     id="header-bad-value-strict"),
        pytest.param([], True, "allow", (), id="header-absent"),
    ],
)
def test_header_finding(values, strict, verdict, reasons):
    found = header_finding(values, strict=strict)
    assert (found.verdict, found.reasons) == (verdict, reasons)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_parse_never_raises(text):
    parse_content_signal(text)
    header_finding([text], strict=True)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_robots_finding_never_raises(body):
    found = robots_finding(RobotsTxt.parse(b"User-agent: *\nContent-Signal: " + body), TOKEN,
                           "/x", strict=True, ai_tokens=AI)
    assert found.verdict in ("allow", "deny")

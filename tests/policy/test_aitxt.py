"""Spawning ai.txt: form detection, file-type globs, groups, strict-mode orphan rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.aitxt import AiTxt, finding
from crawler.policy.decision import Evidence

TOKEN = "heed"
EV = Evidence(kind="ai.txt", url="https://h.test/ai.txt", sha256="d" * 64)

SPAWNING = b"""\
# Spawning AI
# Prevent datasets from using the following file types

User-Agent: *
Disallow: *.mp3
Disallow: *.wav
Disallow: *.flac
Disallow: *.jpg
Allow: *.html
"""


@pytest.mark.parametrize(
    ("body", "url", "strict", "verdict", "reasons"),
    [
        pytest.param(b"User-Agent: *\nDisallow: *.flac\n", "https://h.test/music/track.flac", False,
                     "deny", ("ai-txt:*.flac",), id="ai-txt-v6-flac-denied"),
        pytest.param(b"User-Agent: *\nDisallow: *.flac\n", "https://h.test/music/track.mp3", False,
                     "allow", (), id="ai-txt-v6-mp3-not-reserved"),
        pytest.param(SPAWNING, "/a/b/c.wav", False, "deny", ("ai-txt:*.wav",),
                     id="generated-file-wav"),
        pytest.param(SPAWNING, "/index.html", False, "allow", (), id="generated-file-html-allowed"),
        pytest.param(SPAWNING, "/lyrics/song", False, "allow", (), id="generated-file-other"),
        pytest.param(b"User-Agent: *\nDisallow: /\n", "/anything", False, "deny", ("ai-txt:/",),
                     id="disallow-all"),
        pytest.param(b"User-Agent: *\nDisallow: .mp3\n", "/x/y.mp3", False, "deny", ("ai-txt:.mp3",),
                     id="glob-without-star-matches-anywhere"),
        pytest.param(b"User-Agent: *\nDisallow: music/\n", "/a/music/x", False, "deny",
                     ("ai-txt:music/",), id="relative-path-matches-anywhere"),
        pytest.param(b"User-Agent: *\nDisallow: *.mp3$\n", "/x.mp3?dl=1", False, "allow", (),
                     id="anchored-glob-query"),
        pytest.param(b"User-Agent: *\nDisallow: *.mp3\n", "/x.mp3?dl=1", False, "deny",
                     ("ai-txt:*.mp3",), id="unanchored-glob-query"),
        pytest.param(b"User-Agent: *\nDisallow: *.MP3\n", "/x.mp3", False, "allow", (),
                     id="case-sensitive-like-robots"),
        pytest.param(b"User-Agent: *\nDisallow: /\nAllow: *.txt\n", "/a.txt", False, "allow", (),
                     id="longer-allow-wins"),
        pytest.param(b"user-agent: *\r\ndisallow: *.flac\r\n", "/a.flac", False, "deny",
                     ("ai-txt:*.flac",), id="crlf-lowercase-keys"),
        pytest.param(b"\xef\xbb\xbfUser-Agent: *\nDisallow: *.flac\n", "/a.flac", False, "deny",
                     ("ai-txt:*.flac",), id="bom"),
        pytest.param(b"User-Agent: heed\nAllow: /\n\nUser-Agent: *\nDisallow: /\n", "/a", False,
                     "allow", (), id="own-group-wins"),
        pytest.param(b"User-Agent: GPTBot\nDisallow: *.flac\n\nUser-Agent: *\nAllow: /\n", "/a.flac",
                     False, "deny", ("ai-txt:*.flac",), id="ai-token-group"),
        pytest.param(b"Disallow: *.flac\n", "/a.flac", True, "deny", ("ai-txt:*.flac",),
                     id="orphan-rule-strict"),
        pytest.param(b"Disallow: *.flac\n", "/a.flac", False, "allow", (),
                     id="orphan-rule-lenient"),
        pytest.param(b"Disallow: *.flac\nAllow: /music/*.flac\n", "/music/a.flac", True, "allow",
                     (), id="orphan-longer-allow"),
        pytest.param(b"# ai.txt\n\nThis site welcomes LLM agents. Please cite us.\n", "/a.flac",
                     True, "allow", (), id="markdown-other-format"),
        pytest.param(b"", "/a.flac", True, "allow", (), id="empty-file"),
    ],
)
def test_finding(body, url, strict, verdict, reasons):
    found = finding(AiTxt.parse(body), url, TOKEN, strict=strict, ai_tokens={"gptbot"},
                    evidence=EV)
    assert found.verdict == verdict, found
    assert found.reasons == reasons
    assert found.evidence == (EV,)


def test_rule_line_and_form_recorded():
    found = finding(AiTxt.parse(SPAWNING), "/a.flac", TOKEN, strict=True)
    assert found.rules == ("ai.txt:7 Disallow: *.flac",)
    assert ("ai-txt-format", "spawning") in found.signals


def test_other_format_is_logged():
    parsed = AiTxt.parse(b"# About this site\n- be nice\n")
    assert parsed.format == "other"
    found = finding(parsed, "/x", TOKEN, strict=True)
    assert found.signals == (("ai-txt-format", "other"),)


def test_absent_file():
    assert finding(None, "/x", TOKEN, strict=True, evidence=EV).verdict == "allow"


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=800), url=st.text(max_size=40))
def test_never_raises(body, url):
    for strict in (True, False):
        found = finding(AiTxt.parse(body), url or "/", TOKEN, strict=strict, ai_tokens={"gptbot"})
        assert found.verdict in ("allow", "deny")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["User-Agent: *", "Disallow: ", "Allow: ", "Disallow: *.mp3",
                                 "x", "", "# c", "Disallow: .wav$", "User-Agent: GPTBot"]),
                max_size=12),
       st.sampled_from(["/a.mp3", "/b.wav", "/", "/c.flac"]))
def test_structured_never_raises(lines, url):
    finding(AiTxt.parse("\n".join(lines).encode()), url, TOKEN, strict=True, ai_tokens={"gptbot"})

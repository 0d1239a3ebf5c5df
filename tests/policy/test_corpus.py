"""No-crash run of the robots.txt-borne readers over thousands of real robots.txt files.

The corpus (tests/fixtures/robots_corpus, see its README) is real-world input: odd
encodings, stray HTML, huge wildcard lists, misspelt keys. Every reader that takes
robots.txt-style input must get through all of it without raising.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.policy import aipref, aitxt, contentsignal, rsl
from crawler.policy.robots import RobotsTxt

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "robots_corpus" / "files"
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []
TOKENS = ("heed", "googlebot", "gptbot", "*")
AI_TOKENS = frozenset({"gptbot", "ccbot", "google-extended", "claudebot"})
URLS = ("/", "/index.html", "/search?q=a", "/music/track.mp3", "/wp-admin/", "/caf%C3%A9/")


def test_corpus_is_present():
    assert len(FILES) > 3000, f"robots.txt corpus missing or incomplete in {CORPUS}"


def _chunks(size: int) -> list[list[Path]]:
    return [FILES[i : i + size] for i in range(0, len(FILES), size)]


@pytest.mark.parametrize("chunk", range(len(_chunks(500))))
def test_corpus_never_raises(chunk):
    failures: list[str] = []
    for path in _chunks(500)[chunk]:
        body = path.read_bytes()
        try:
            robots = RobotsTxt.parse(body)
            for token in TOKENS:
                for url in URLS:
                    robots.match(token, url)
                    aipref.robots_finding(robots, token, url, strict=True, ai_tokens=AI_TOKENS)
                contentsignal.robots_finding(robots, token, "/", strict=True, ai_tokens=AI_TOKENS)
            rsl.license_urls(robots, f"https://{path.name}/robots.txt")
            as_aitxt = aitxt.AiTxt.parse(body)
            for url in URLS:
                aitxt.finding(as_aitxt, url, "heed", strict=True, ai_tokens=AI_TOKENS)
        except Exception as exc:  # noqa: BLE001 - the point is to catch anything
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures[:20])


def test_corpus_reads_something():
    """A sanity check that the readers see the files' content, not an empty parse."""
    disallowing = 0
    spawning_form = 0
    for path in FILES[:400]:
        body = path.read_bytes()
        robots = RobotsTxt.parse(body)
        match = robots.match("googlebot", "/wp-admin/")
        disallowing += bool(match is not None and not match.allowed)
        spawning_form += aitxt.AiTxt.parse(body).format == "spawning"
    assert disallowing > 20
    assert spawning_form > 300

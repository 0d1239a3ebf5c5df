"""The AI-token list: the shipped file, validation errors, and reservation classes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from crawler.policy.robots import RobotsTxt
from crawler.policy.tokens import CLASSES, AiToken, AiTokens

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "ai_tokens.csv"


@pytest.fixture(scope="module")
def shipped() -> AiTokens:
    return AiTokens.load(SHIPPED)


@pytest.mark.parametrize(
    ("token", "cls"),
    [
        *(
            (t, "training")
            for t in (
                "GPTBot", "ClaudeBot", "anthropic-ai", "Claude-Web", "CCBot", "Google-Extended",
                "Applebot-Extended", "Bytespider", "Meta-ExternalAgent", "FacebookBot",
                "cohere-training-data-crawler", "Ai2Bot-Dolma", "Diffbot", "img2dataset",
                "LAIONDownloader", "omgili", "omgilibot", "Webzio-Extended", "PanguBot",
                "DeepSeekBot", "Timpibot", "ImagesiftBot",
            )
        ),
        *((t, "search") for t in ("OAI-SearchBot", "Claude-SearchBot", "PerplexityBot")),
        *(
            (t, "user")
            for t in ("ChatGPT-User", "Claude-User", "Perplexity-User", "Meta-ExternalFetcher")
        ),
    ],
)
def test_shipped_classes(shipped: AiTokens, token: str, cls: str):
    row = shipped.by_token(token)
    assert row is not None and row.token == token and row.cls == cls


def test_shipped_file_shape(shipped: AiTokens):
    assert shipped.path == str(SHIPPED)
    assert shipped.sha256 == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert len(shipped.tokens) >= 60
    assert {t.cls for t in shipped.tokens} == set(CLASSES)
    assert all(t.operator and t.note for t in shipped.tokens)
    assert shipped.by_token("Scrapy") is None


def test_every_shipped_token_finds_its_robots_group(shipped: AiTokens):
    for row in shipped.tokens:
        parsed = RobotsTxt.parse(f"User-agent: {row.token}\nDisallow: /\n".encode())
        assert row.token.lower() in parsed.agents
        result = parsed.match(row.token, "/song/1", fallback=False)
        assert result is not None and not result.allowed, row.token


@pytest.mark.parametrize(
    ("strict", "included", "excluded"),
    [
        pytest.param(False, {"gptbot", "ccbot", "google-extended", "ai2bot-dolma"},
                     {"oai-searchbot", "perplexitybot", "chatgpt-user", "claude-user"},
                     id="default-training-only"),
        pytest.param(True, {"gptbot", "ccbot", "oai-searchbot", "perplexitybot"},
                     {"chatgpt-user", "claude-user", "perplexity-user"},
                     id="strict-adds-search"),
    ],
)
def test_reserving(shipped: AiTokens, strict: bool, included: set[str], excluded: set[str]):
    reserving = shipped.reserving(strict)
    assert included <= reserving
    assert not excluded & reserving
    assert all(t == t.lower() for t in reserving)


def test_reserving_by_class(shipped: AiTokens):
    by_class = {c: {t.token.lower() for t in shipped.tokens if t.cls == c} for c in CLASSES}
    assert shipped.reserving(False) == by_class["training"]
    assert shipped.reserving(True) == by_class["training"] | by_class["search"]


@pytest.mark.parametrize("spelling", ["gptbot", "GPTBOT", "GptBot"])
def test_by_token_case_insensitive(shipped: AiTokens, spelling: str):
    assert shipped.by_token(spelling) == AiToken("GPTBot", "OpenAI", "training",
                                                 "crawler for OpenAI model training")


def test_by_token_unknown(shipped: AiTokens):
    assert shipped.by_token("heed") is None
    assert shipped.by_token("GPT") is None


HEADER = "token,operator,class,note\n"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        pytest.param(HEADER + "Brightbot 1.0,Bright Data,training,x\n", 2, "not a product token",
                     id="space-in-token"),
        pytest.param(HEADER + "MistralAI-User/1.0,Mistral,user,x\n", 2, "not a product token",
                     id="slash-in-token"),
        pytest.param(HEADER + ",nobody,training,x\n", 2, "not a product token", id="empty-token"),
        pytest.param(HEADER + "2bot,x,training,x\n", 2, "not a product token",
                     id="leading-digit"),
        pytest.param(HEADER + "GPTBot,OpenAI,scraping,x\n", 2, "class 'scraping'",
                     id="unknown-class"),
        pytest.param(HEADER + "GPTBot,OpenAI,Training,x\n", 2, "class 'Training'",
                     id="class-is-case-sensitive"),
        pytest.param(HEADER + "GPTBot,OpenAI,training,x\n# note\n\ngptbot,OpenAI,search,y\n", 5,
                     "repeats line 2", id="duplicate-case-insensitive"),
        pytest.param(HEADER + "GPTBot,OpenAI,training\n", 2, "expected 4 fields",
                     id="too-few-fields"),
        pytest.param(HEADER + "GPTBot,OpenAI,training,x,y\n", 2, "expected 4 fields",
                     id="too-many-fields"),
        pytest.param("# comment\ntoken,class\nGPTBot,training\n", 2, "expected the header",
                     id="wrong-header"),
        pytest.param(HEADER + 'GPTBot,"OpenAI,training,x\n', 2, "not a CSV row",
                     id="unterminated-quote"),
        pytest.param(HEADER + "CCBot,CC,training,x\r\nBad Bot,x,training,x\r\n", 3,
                     "not a product token", id="crlf-line-numbers"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, content: str, line: int, message: str):
    path = tmp_path / "tokens.csv"
    path.write_text(content, encoding="utf-8", newline="")
    with pytest.raises(ValueError, match=re.escape(f"{path}:{line}: ")) as info:
        AiTokens.load(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "no header line", id="empty"),
        pytest.param("# only a comment\n", "no header line", id="comments-only"),
        pytest.param(b"token,operator,class,note\nGPT\xffBot,x,training,x\n", "not UTF-8",
                     id="not-utf8"),
    ],
)
def test_bad_files(tmp_path: Path, content: str | bytes, message: str):
    path = tmp_path / "tokens.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=message):
        AiTokens.load(path)


def test_comments_blank_lines_quotes_and_bom(tmp_path: Path):
    path = tmp_path / "tokens.csv"
    path.write_bytes(
        b"\xef\xbb\xbf# list\n\n"
        b"token,operator,class,note\n"
        b"  # indented comment\n"
        b'GPTBot,OpenAI,training,"trains models, and more"\n'
        b"OAI-SearchBot,OpenAI,search,\n"
        b"ChatGPT-User,OpenAI,user,x\n"
    )
    tokens = AiTokens.load(str(path))
    assert [t.token for t in tokens.tokens] == ["GPTBot", "OAI-SearchBot", "ChatGPT-User"]
    assert tokens.by_token("gptbot").note == "trains models, and more"
    assert tokens.reserving(False) == frozenset({"gptbot"})
    assert tokens.reserving(True) == frozenset({"gptbot", "oai-searchbot"})
    assert tokens.path == str(path)


def test_missing_file_is_os_error(tmp_path: Path):
    with pytest.raises(OSError):
        AiTokens.load(tmp_path / "absent.csv")

"""The list of known AI-crawler product tokens, and which of them signal a reservation.

A robots.txt group that disallows ``GPTBot`` or ``CCBot`` says nothing about heed's own
fetching, but it is how most sites reserve their content from AI training: heed reads such
a group as a rights reservation for the URLs it covers. Which tokens count is data, not
code, so the list can follow the market without a release: ``data/ai_tokens.csv``, one
token a row, with a class:

``training``
    the crawler (or policy token) feeds model training or training datasets; a Disallow
    for it is a reservation in every mode.
``search``
    an AI search or answer index; a reservation in strict mode only.
``user``
    fetches made for one user's request; listed so logs can name them, never a reservation.

File format: UTF-8 CSV with the header ``token,operator,class,note``; blank lines and lines
starting with ``#`` are skipped; one row per line (no quoted line breaks). A token is a
product token as crawlers use them: a letter, then letters, digits, ``_`` and ``-``. (RFC
9309's grammar has no digits, but ``Ai2Bot-Dolma`` and ``img2dataset`` are real names;
:mod:`crawler.policy.robots` finds their groups.) No spaces or ``/``, because heed compares
tokens exactly; each token may appear only once, compared case-insensitively. Any bad row stops loading with a
:class:`ValueError` naming ``file:line``, so a broken list cannot quietly drop reservations.

Refreshing the list from a newer public source, e.g. the community ``ai.robots.txt``
project's ``robots.json`` (an object keyed by agent name, with free-text ``operator`` and
``function`` fields):

1. Keep names that are valid product tokens. Names such as ``Brightbot 1.0`` or
   ``MistralAI-User/1.0`` are read by parsers as their leading token (``Brightbot``,
   ``MistralAI-User``); add that token if it is not there yet. Drop duplicates that differ
   only in case.
2. Map ``function`` to a class by reading it: training, dataset building, "data scraper",
   "data provider" or data resale → ``training``; AI search or answer indexing →
   ``search``; assistants and agents acting on a user's prompt → ``user``. "Unclear at this
   time" needs a look at the operator's documentation; when in doubt prefer ``training``.
3. Leave out ``Scrapy`` (heed obeys groups for Scrapy as addressed to itself) and names too
   generic to mean one crawler (``Code``, ``Spider``).
4. Review the diff by hand, run the tests, and note the source snapshot in the file header.
   The file's sha256 goes into the policy hash, so runs record which list they used.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

CLASSES: Final = ("training", "search", "user")
HEADER: Final = ("token", "operator", "class", "note")

_PRODUCT_TOKEN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class AiToken:
    """One row of the list."""

    token: str
    operator: str
    #: ``training``, ``search`` or ``user``
    cls: str
    note: str


@dataclass(frozen=True, slots=True)
class AiTokens:
    """The loaded list, with the digest of the file it came from."""

    tokens: tuple[AiToken, ...]
    #: sha256 of the file bytes
    sha256: str
    path: str
    _index: dict[str, AiToken] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t.token.lower(): t for t in self.tokens})

    @classmethod
    def load(cls, path: str | Path) -> AiTokens:
        """Read and validate a token list; ValueError naming ``file:line`` on a bad row."""
        path = Path(path)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        tokens = tuple(_rows(path, text))
        logger.debug("Loaded %d AI tokens from %s", len(tokens), path)
        return cls(tokens, hashlib.sha256(data).hexdigest(), str(path))

    def reserving(self, strict: bool) -> frozenset[str]:
        """Lower-cased tokens whose Disallow rules count as a reservation.

        ``training`` always; ``search`` too when ``strict``; ``user`` never.
        """
        wanted = ("training", "search") if strict else ("training",)
        return frozenset(t.token.lower() for t in self.tokens if t.cls in wanted)

    def by_token(self, token: str) -> AiToken | None:
        """The row for ``token``, compared case-insensitively."""
        return self._index.get(token.lower())


def _rows(path: Path, text: str) -> list[AiToken]:
    tokens: list[AiToken] = []
    seen: dict[str, int] = {}
    header_seen = False
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            raise ValueError(f"{where}: not a CSV row ({exc})") from None
        fields = [f.strip() for f in fields]
        if not header_seen:
            if tuple(f.lower() for f in fields) != HEADER:
                raise ValueError(f"{where}: expected the header {','.join(HEADER)!r}")
            header_seen = True
            continue
        row = _row(where, fields)
        key = row.token.lower()
        if key in seen:
            raise ValueError(f"{where}: token {row.token!r} repeats line {seen[key]}")
        seen[key] = number
        tokens.append(row)
    if not header_seen:
        raise ValueError(f"{path}: no header line {','.join(HEADER)!r}")
    return tokens


def _row(where: str, fields: list[str]) -> AiToken:
    if len(fields) != len(HEADER):
        raise ValueError(f"{where}: expected {len(HEADER)} fields, got {len(fields)}")
    token, operator, cls, note = fields
    if not _PRODUCT_TOKEN.fullmatch(token):
        raise ValueError(
            f"{where}: {token!r} is not a product token (a letter, then letters, digits, '_', '-')"
        )
    if cls not in CLASSES:
        raise ValueError(f"{where}: class {cls!r} is not one of {', '.join(CLASSES)}")
    return AiToken(token, operator, cls, note)


__all__ = ["CLASSES", "HEADER", "AiToken", "AiTokens"]

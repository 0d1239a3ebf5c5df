"""Spawning's ``/ai.txt``: which files a site keeps out of AI datasets.

Spawning's generator writes ``/ai.txt`` in robots.txt syntax: a comment header,
``User-Agent: *``, then ``Disallow:``/``Allow:`` lines whose patterns are mostly file-type
globs (``*.mp3``, ``*.flac``, ``*.txt``) and sometimes ``Disallow: /``. A ``Disallow`` that
matches a URL means the file may not be used in AI datasets, so it is a reservation
(``ai-txt:<pattern>``) — not a reason to avoid fetching.

No normative grammar or reference parser exists, so heed reads the file with its own
robots.txt parser (groups, ``*`` fallback, longest match, Allow wins a tie) with one change
the generated files need: a pattern that does not start with ``/`` or ``*`` (``.mp3``,
``music/``) matches anywhere in the path, as if it started with ``*``.

Other files are called ``ai.txt`` too (Markdown notes for language models, the
``/.well-known/ai.txt`` proposal). A file with no ``User-Agent``, ``Allow`` or ``Disallow``
line is not Spawning's form: it is ignored and recorded as the signal
``ai-txt-format=other``.

Strict mode (heed's default) also applies ``Disallow`` lines written before any
``User-Agent`` line, as if they were in a ``User-Agent: *`` group; robots.txt rules would
ignore them, but in an ai.txt their intent is plain.

Fetching is the gate's job (``crawler.policy.fetchresult.classify``: 404/410 → absent, 5xx
→ hold); this module parses bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from crawler.policy.decision import ALLOW, DENY, Evidence, Finding
from crawler.policy.patterns import compile_pattern, normalize_path
from crawler.policy.robots import MAX_ROBOTS_BYTES, RobotsTxt

logger = logging.getLogger(__name__)

_LINE_BREAK: Final = re.compile(rb"\r\n|\r|\n")
#: ``key: value`` of a rule or user-agent line (robots.txt keys, case-insensitive).
_RECORD: Final = re.compile(
    rb"^(\s*)(user-?agent|allow|disallow)(\s*:\s*)([^#]*?)(\s*(?:#.*)?)$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class OrphanRule:
    """A rule line written before any ``User-Agent`` line."""

    allow: bool
    pattern: str
    line: int


@dataclass(frozen=True, slots=True)
class AiTxt:
    """A parsed ``/ai.txt``. Build it with :meth:`parse`."""

    #: "spawning" (robots.txt syntax) or "other" (ignored)
    format: str
    robots: RobotsTxt = field(default_factory=RobotsTxt.empty, repr=False)
    #: the pattern of each rule line as written, by line number (before any rewriting)
    written: dict[int, str] = field(default_factory=dict, repr=False)
    orphans: tuple[OrphanRule, ...] = ()

    @classmethod
    def parse(cls, body: bytes) -> AiTxt:
        """Parse the bytes of an ai.txt file. Never raises."""
        data = body[:MAX_ROBOTS_BYTES]
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        lines = _LINE_BREAK.split(data)
        out: list[bytes] = []
        written: dict[int, str] = {}
        orphans: list[OrphanRule] = []
        seen_agent = False
        spawning = False
        for number, raw in enumerate(lines, start=1):
            m = _RECORD.match(raw)
            if m is None:
                out.append(raw)
                continue
            spawning = True
            key = m.group(2).lower().replace(b"-", b"")
            value = m.group(4).strip()
            if key == b"useragent":
                seen_agent = True
                out.append(raw)
                continue
            text = value.decode("utf-8", "replace")
            written[number] = text
            if value and not value.startswith((b"/", b"*")):
                value = b"*" + value
            if not seen_agent and value:
                pattern = value.decode("utf-8", "replace")
                orphans.append(OrphanRule(key == b"allow", pattern, number))
            out.append(m.group(1) + m.group(2) + m.group(3) + value + m.group(5))
        if not spawning:
            return cls("other")
        return cls("spawning", RobotsTxt.parse(b"\n".join(out)), written, tuple(orphans))

    def describe(self, line: int, allow: bool) -> str:
        return f"ai.txt:{line} {'Allow' if allow else 'Disallow'}: {self.written.get(line, '')}"


def _orphan_match(orphans: tuple[OrphanRule, ...], url: str) -> OrphanRule | None:
    """Longest matching orphan rule (Allow wins a tie), or None."""
    path = normalize_path(url)
    best: tuple[int, bool, OrphanRule] | None = None
    for rule in orphans:
        pattern = compile_pattern(rule.pattern)
        if not pattern.matches(path):
            continue
        # as for robots.txt: normalised length, each ``*`` and a final ``$`` count one
        stars = len(pattern.segments) - 1
        length = sum(len(s) for s in pattern.segments) + stars + pattern.anchored
        key = (length, rule.allow, rule)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best is not None else None


def finding(
    aitxt: AiTxt | None,
    url: str,
    token: str,
    *,
    strict: bool,
    ai_tokens: Iterable[str] = (),
    evidence: Evidence | None = None,
) -> Finding:
    """What ai.txt says about using ``url`` in an AI dataset. ``None`` means no file (404).

    The group(s) for ``token`` (else ``*``) decide; a group naming one of ``ai_tokens``
    (known AI-training tokens) that disallows the URL reserves it as well.
    """
    ev = (evidence,) if evidence is not None else ()
    if aitxt is None:
        return Finding(verdict=ALLOW, evidence=ev)
    if aitxt.format != "spawning":
        return Finding(verdict=ALLOW, evidence=ev, signals=(("ai-txt-format", "other"),))
    signals = (("ai-txt-format", "spawning"),)
    reasons: list[str] = []
    deny_rules: list[str] = []
    allow_rules: list[str] = []
    match = aitxt.robots.match(token, url)
    if match is not None and match.rule is not None:
        rule = aitxt.describe(match.rule.line, match.rule.allow)
        if match.allowed:
            allow_rules.append(rule)
        else:
            reasons.append(f"ai-txt:{aitxt.written.get(match.rule.line, match.rule.pattern)}")
            deny_rules.append(rule)
    elif strict and aitxt.orphans:
        orphan = _orphan_match(aitxt.orphans, url)
        if orphan is not None and not orphan.allow:
            reasons.append(f"ai-txt:{aitxt.written.get(orphan.line, orphan.pattern)}")
            deny_rules.append(
                f"{aitxt.describe(orphan.line, False)} (before any User-Agent line)"
            )
    me = token.lower()
    for agent in sorted(set(ai_tokens)):
        if agent.lower() == me or agent.lower() not in aitxt.robots.agents:
            continue
        theirs = aitxt.robots.match(agent, url, fallback=False)
        if theirs is not None and not theirs.allowed and theirs.rule is not None:
            reasons.append(f"ai-txt:{aitxt.written.get(theirs.rule.line, theirs.rule.pattern)}")
            deny_rules.append(f"{aitxt.describe(theirs.rule.line, False)} (group {agent})")
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(dict.fromkeys(deny_rules)),
            signals=signals,
        )
    return Finding(verdict=ALLOW, evidence=ev, rules=tuple(allow_rules), signals=signals)


__all__ = ["AiTxt", "OrphanRule", "finding"]

"""Cloudflare Content Signals: ``Content-Signal:`` lines in robots.txt (and the header form).

Millions of Cloudflare-managed robots.txt files carry a line such as
``Content-Signal: search=yes,ai-train=no,use=reference`` in their ``User-agent: *`` group, and
the comment block that comes with it declares ``no`` an express reservation of rights under
art. 4 of Directive (EU) 2019/790. heed builds a training dataset, so ``ai-train=no`` is a
reservation; ``search``, ``ai-input`` and ``use`` are recorded (``ai-input=no`` also as the
``ai_input_denied`` signal, for datasets that feed retrieval products).

No normative grammar was published, so parsing is tolerant: the label is case-insensitive
(``Content-signal`` occurs), items are ``key=value`` pairs separated by commas and/or spaces,
spaces around ``=`` are allowed, keys and values are case-insensitive. Values are ``yes`` or
``no`` (``use`` takes ``immediate``, ``reference`` or ``full``). A key said twice with
different values keeps the most restrictive one (``no``; the lowest ``use`` level).

Where it applies: the line sits in a group, so the group(s) for heed's own token (else ``*``)
apply to every path of the site. A ``Content-Signal`` with ``ai-train=no`` in a group
addressed to a known AI-training token (``User-agent: GPTBot``) is a reservation too, as a
Disallow for that token is (``content-signal.ai-token:<token>``).

Strict mode (heed's default) also reserves when a line that exists cannot be read: an item
without ``=``, stray text, or an ``ai-train`` value other than yes/no
(``content-signal.malformed``). Lenient mode records such lines and ignores them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from crawler.policy.decision import ALLOW, DENY, Evidence, Finding
from crawler.policy.robots import RobotsTxt

logger = logging.getLogger(__name__)

ROBOTS_KEY: Final = "content-signal"
HEADER: Final = "content-signal"

YES_NO_KEYS: Final = ("search", "ai-input", "ai-train")
#: ``use`` levels, least permissive first.
USE_LEVELS: Final = ("immediate", "reference", "full")

_ITEM: Final = re.compile(r"([^\s,;=]+)\s*=\s*([^\s,;=]*)")
_SEPARATORS: Final = re.compile(r"[\s,;]*")


@dataclass(frozen=True, slots=True)
class ContentSignals:
    """One ``Content-Signal`` value as read."""

    raw: str
    #: "yes", "no" or None (not stated) for each of search, ai-input, ai-train
    search: str | None = None
    ai_input: str | None = None
    ai_train: str | None = None
    #: "immediate", "reference", "full" or None
    use: str | None = None
    #: other keys as written: (("foo", "bar"),)
    other: tuple[tuple[str, str], ...] = ()
    #: what could not be read: "junk:<text>", "bad-value:ai-train=maybe", ...
    errors: tuple[str, ...] = ()

    @property
    def unreadable_training(self) -> bool:
        """Stray text, or an ``ai-train`` value other than yes/no: the line may say "no"."""
        return any(e.startswith(("junk:", "bad-value:ai-train=")) for e in self.errors)

    def signals(self) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        for key, value in (
            ("search", self.search),
            ("ai-input", self.ai_input),
            ("ai-train", self.ai_train),
            ("use", self.use),
        ):
            if value is not None:
                out.append((f"content-signal:{key}", value))
        if self.ai_input == "no":
            out.append(("ai_input_denied", "1"))
        out.extend(("content-signal-error", e) for e in self.errors)
        return tuple(out)


def _stricter(key: str, old: str | None, new: str) -> str:
    if old is None:
        return new
    if key == "use":
        return min(old, new, key=USE_LEVELS.index)
    return "no" if "no" in (old, new) else old


def parse_content_signal(value: str) -> ContentSignals:
    """Read one ``Content-Signal`` value. Never raises."""
    said: dict[str, str] = {}
    other: list[tuple[str, str]] = []
    errors: list[str] = []
    pos = 0
    text = value.strip()
    while pos < len(text):
        sep = _SEPARATORS.match(text, pos)
        pos = sep.end() if sep else pos
        if pos >= len(text):
            break
        item = _ITEM.match(text, pos)
        if item is None:
            end = pos
            while end < len(text) and text[end] not in ",; \t":
                end += 1
            end = max(end, pos + 1)
            errors.append(f"junk:{text[pos:end][:40]}")
            pos = end
            continue
        pos = item.end()
        key, val = item.group(1).lower(), item.group(2).lower()
        if key in YES_NO_KEYS:
            if val not in ("yes", "no"):
                errors.append(f"bad-value:{key}={val[:40]}")
                continue
        elif key == "use":
            if val not in USE_LEVELS:
                errors.append(f"bad-value:use={val[:40]}")
                continue
        else:
            other.append((key[:40], val[:40]))
            continue
        said[key] = _stricter(key, said.get(key), val)
    return ContentSignals(
        raw=value,
        search=said.get("search"),
        ai_input=said.get("ai-input"),
        ai_train=said.get("ai-train"),
        use=said.get("use"),
        other=tuple(other),
        errors=tuple(errors),
    )


def _line_reason(signals: ContentSignals, *, strict: bool) -> str | None:
    if signals.ai_train == "no":
        return "content-signal:ai-train=no"
    if strict and signals.unreadable_training:
        return "content-signal.malformed"
    return None


def robots_finding(
    robots: RobotsTxt,
    token: str,
    url: str,
    *,
    strict: bool,
    ai_tokens: Iterable[str] = frozenset(),
    evidence: Evidence | None = None,
) -> Finding:
    """What ``Content-Signal`` lines in robots.txt say about using ``url`` for training.

    ``url`` is not needed to pick the line (the signal is site-wide within its group); it is
    accepted so every robots.txt mechanism has the same call shape.
    """
    del url  # site-wide signal
    ev = (evidence,) if evidence is not None else ()
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    for line, value in robots.records(ROBOTS_KEY, token):
        parsed = parse_content_signal(value)
        signals.append(("content-signal", f"robots.txt:{line} {value}"))
        signals.extend(parsed.signals())
        reason = _line_reason(parsed, strict=strict)
        if reason is not None:
            reasons.append(reason)
            rules.append(f"robots.txt:{line} Content-Signal: {value}")
    me = token.lower()
    for agent in sorted(set(ai_tokens)):
        key = agent.lower()
        if key == me or key not in robots.agents:
            continue
        for line, value in robots.records(ROBOTS_KEY, key, fallback=False):
            parsed = parse_content_signal(value)
            signals.append(("content-signal", f"robots.txt:{line} {value} (group {agent})"))
            if _line_reason(parsed, strict=strict) is not None:
                reasons.append(f"content-signal.ai-token:{agent}")
                rules.append(f"robots.txt:{line} Content-Signal: {value} (group {agent})")
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(dict.fromkeys(rules)),
            signals=signals_t,
        )
    return Finding(verdict=ALLOW, evidence=ev, signals=signals_t)


def header_finding(
    values: Sequence[str], *, strict: bool, evidence: Evidence | None = None
) -> Finding:
    """What ``Content-Signal`` response-header lines say (any reservation wins)."""
    ev = (evidence,) if evidence is not None else ()
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    for i, value in enumerate(values):
        parsed = parse_content_signal(value)
        signals.append((HEADER, value))
        signals.extend(parsed.signals())
        reason = _line_reason(parsed, strict=strict)
        if reason is not None:
            reasons.append(reason)
            rules.append(f"header content-signal[{i}]: {value}")
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(rules),
            signals=signals_t,
        )
    return Finding(verdict=ALLOW, evidence=ev, signals=signals_t)


__all__ = [
    "USE_LEVELS",
    "YES_NO_KEYS",
    "ContentSignals",
    "header_finding",
    "parse_content_signal",
    "robots_finding",
]

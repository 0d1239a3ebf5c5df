"""``noai``-style directives in the X-Robots-Tag header and in robots meta elements.

DeviantArt's ``noai``/``noimageai`` (and the ``noml`` some sites send) are the de-facto way a
page or a file download says "not for AI training"; Bing and Amazon read ``noarchive`` (and
Bing ``nocache``) as a training opt-out too. The existing readers get the details wrong in
ways that fail open or over-block, so this module is careful about each one:

* header names arrive lower-cased and every header line is read (a repeated header is not
  collapsed to its last line);
* directives and agent names are compared case-insensitively; our agent is matched exactly,
  never by prefix;
* ``<agent>: a, b`` scopes the *whole* comma list to that agent (a later ``other: c`` in the
  same line switches the scope), so ``otherbot: noindex, noai`` reserves nothing for us;
* ``unavailable_after: 25 Jun 2026 15:00:00 PST`` and ``max-snippet: 20`` are directives
  with a value, not agents.

Which directives reserve:

==============  ===========================================================
``noai``        always
``noml``        always
``noimageai``   on an ``image/*`` response, and on anything in strict mode
``noarchive``   strict mode only (Bing/Amazon training opt-out)
``nocache``     strict mode only (Bing)
==============  ===========================================================

Reason codes are ``noai:<directive>`` (``noai:noai``, ``noai:noimageai``, ``noai:noarchive``,
…); the carrier (header line or meta element) is named in the finding's rules. AI directives
seen but not reserving in the current mode are recorded as ``("noai-flag", directive)``
signals; every raw header line / meta content is recorded as well, including lines addressed
to other agents.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Final

from crawler.policy.decision import ALLOW, DENY, Finding

logger = logging.getLogger(__name__)

#: Directive names that take a ``: value``; a prefix with one of these names is not an agent.
KNOWN_DIRECTIVES: Final = frozenset(
    {
        "all",
        "follow",
        "index",
        "indexifembedded",
        "max-image-preview",
        "max-snippet",
        "max-video-preview",
        "noai",
        "noarchive",
        "nocache",
        "nofollow",
        "noimageai",
        "noimageindex",
        "noindex",
        "noml",
        "none",
        "nosnippet",
        "notranslate",
        "unavailable_after",
    }
)

#: Directives that mean "not for AI training" in some reading; which of them reserve
#: depends on the mode and the content type (see the module docstring).
AI_DIRECTIVES: Final = ("noai", "noml", "noimageai", "noarchive", "nocache")

_AGENT_RE: Final = re.compile(r"\s*([A-Za-z_-]+)\s*:(.*)\Z", re.DOTALL)

#: (agent or None for every agent, directive name lower-cased)
Directive = tuple[str | None, str]


def reserving_directives(*, strict: bool, content_type: str) -> frozenset[str]:
    """The directives that count as a reservation for this response."""
    found = {"noai", "noml"}
    if strict or content_type.strip().lower().startswith("image/"):
        found.add("noimageai")
    if strict:
        found.update(("noarchive", "nocache"))
    return frozenset(found)


def _agent_prefix(item: str) -> tuple[str, str] | None:
    """(agent, rest) if the item starts with ``agent:``; None for a plain directive."""
    m = _AGENT_RE.match(item)
    if m is None or m.group(1).lower() in KNOWN_DIRECTIVES:
        return None
    return m.group(1), m.group(2)


def parse_directives(value: str, *, agents: bool = True) -> list[Directive]:
    """Split one header line (or meta content) into (agent, directive name) pairs.

    With ``agents`` an ``agent:`` prefix scopes the rest of the comma list to that agent
    until another prefix appears. Directive names are lower-cased; the value after a
    directive's own colon (``max-snippet: 20``) is dropped.
    """
    out: list[Directive] = []
    agent: str | None = None
    for item in value.split(","):
        if agents:
            prefixed = _agent_prefix(item)
            if prefixed is not None:
                agent, item = prefixed[0].lower(), prefixed[1]
        name = item.split(":", 1)[0].strip().lower()
        if name:
            out.append((agent, name))
    return out


def _finding(
    found: list[tuple[str, str]],
    raw_signals: list[tuple[str, str]],
    *,
    strict: bool,
    content_type: str,
) -> Finding:
    """``found``: (directive, carrier) pairs addressed to us or to every agent."""
    reserving = reserving_directives(strict=strict, content_type=content_type)
    reasons: list[str] = []
    rules: list[str] = []
    signals = list(raw_signals)
    for directive, carrier in found:
        if directive in reserving:
            reasons.append(f"noai:{directive}")
            rules.append(f"{carrier}: {directive}")
        elif directive in AI_DIRECTIVES:
            signals.append(("noai-flag", directive))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            rules=tuple(dict.fromkeys(rules)),
            signals=tuple(dict.fromkeys(signals)),
        )
    return Finding(verdict=ALLOW, signals=tuple(dict.fromkeys(signals)))


def x_robots_finding(
    values: Sequence[str], token: str, *, strict: bool, content_type: str = ""
) -> Finding:
    """Read every X-Robots-Tag line of a response for AI directives addressed to us.

    ``values`` are the raw header lines (``headers.get("x-robots-tag", ())``); ``token`` is
    our product token. Lines for other agents are recorded but do not reserve.
    """
    me = token.lower()
    found: list[tuple[str, str]] = []
    raw: list[tuple[str, str]] = []
    for i, line in enumerate(values):
        raw.append(("x-robots-tag", line))
        for agent, directive in parse_directives(line):
            if agent is None or agent == me:
                carrier = f"x-robots-tag[{i}] {agent}" if agent else f"x-robots-tag[{i}]"
                found.append((directive, carrier))
    if found:
        logger.debug("x-robots-tag directives for %s: %s", token, found)
    return _finding(found, raw, strict=strict, content_type=content_type)


def meta_robots_finding(
    meta: Sequence[tuple[str, str]],
    token: str,
    *,
    strict: bool,
    content_type: str = "text/html",
) -> Finding:
    """Read ``<meta name="robots">`` and ``<meta name="<token>">`` elements (union of all).

    ``meta`` holds (lower-case name, content) pairs taken from the HTML head. Elements for
    other agents that carry an AI directive are recorded as evidence but do not reserve.
    """
    names = {"robots", token.lower()}
    found: list[tuple[str, str]] = []
    raw: list[tuple[str, str]] = []
    for name, content in meta:
        lname = name.strip().lower()
        directives = [d for _agent, d in parse_directives(content, agents=False)]
        if lname not in names:
            # another agent's element: evidence only, and only if it carries an AI directive
            if any(d in AI_DIRECTIVES for d in directives):
                raw.append((f"meta:{lname}", content))
            continue
        raw.append((f"meta:{lname}", content))
        found.extend((d, f"meta {lname}") for d in directives)
    return _finding(found, raw, strict=strict, content_type=content_type)


__all__ = [
    "AI_DIRECTIVES",
    "KNOWN_DIRECTIVES",
    "meta_robots_finding",
    "parse_directives",
    "reserving_directives",
    "x_robots_finding",
]

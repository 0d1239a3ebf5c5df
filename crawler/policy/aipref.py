"""IETF AI Preferences (AIPREF): the ``Content-Usage`` header and robots.txt rule.

A site states its AI-usage preferences as a Structured-Field Dictionary (RFC 9651) in a
``Content-Usage`` response header, or path by path in robots.txt with a
``Content-Usage: [<path> SP] <dictionary>`` line inside a group. The vocabulary (vocab-07) has
two categories, ``train-ai`` and ``search``, each ``y`` or ``n`` as a bare Token. heed builds a
training dataset, so ``train-ai=n`` is a reservation; ``search`` is recorded only.

The drafts are strict about syntax, and heed follows them: a quoted ``"n"``, ``?1``, ``no`` or
``N`` is *unknown*, an upper-case key or any other syntax error makes *every* preference
unknown. The drafts leave the meaning of unknown to the consumer, and heed's strict mode (its
default) reads a preference that exists but cannot be understood as a reservation:

=====================================  ====================  =============================
what the site wrote                    lenient               strict
=====================================  ====================  =============================
``train-ai=n``                         deny ``aipref:train-ai=n``
``train-ai=y``                         allow                 allow
``train-ai="n"``, ``train-ai=?1``      allow (unknown)       allow (unknown; logged)
syntax error (``Train-AI=n``)          allow (all unknown)   deny ``aipref.malformed``
legacy label ``all=n`` (``bots``,      allow (unknown key)   deny ``aipref.legacy:all=n``
``train-genai``, ``tdm``)
``train-ai=n, train-ai=y``             allow (last wins)     deny ``aipref.conflict:train-ai``
=====================================  ====================  =============================

A legacy label counts only where ``train-ai`` itself is not stated: the older vocabularies
let the specific category override the general one.

Several header lines are read one by one and combined most-restrictively (the vocabulary's
rule for several statements), rather than joined into one dictionary as RFC 9651 would do:
joined, a later line could silently override an earlier ``train-ai=n``.

robots.txt rules: the ``Content-Usage`` lines of the group(s) that apply to our token, with
the ``*`` fallback used for Allow/Disallow. A value starting with ``/`` is a path pattern (to
the first space or tab) followed by the dictionary; otherwise the whole value is the
dictionary and applies to every path (compared as the pattern ``/``). Patterns match like
Allow/Disallow patterns; the longest matching pattern that states ``train-ai`` decides, so a
more specific rule that only mentions ``search`` does not erase a site-wide ``train-ai=n``
(the draft would call that case unknown; reading it as the broader rule is the deny-biased
choice). Equally long patterns that disagree combine most-restrictively. Preferences apply
only to paths the token may crawl.

Rules that name a known AI-training token (e.g. a ``GPTBot`` group with
``Content-Usage: train-ai=n``) are read the same way, without the ``*`` fallback, and count
as a reservation (``aipref.ai-token:<token>``), as robots.txt groups for such tokens do.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Union

from crawler.policy.decision import ALLOW, DENY, Evidence, Finding
from crawler.policy.patterns import compile_pattern, normalize_path
from crawler.policy.robots import RobotsTxt

logger = logging.getLogger(__name__)

State = Literal["allowed", "disallowed", "unknown"]
ALLOWED: Final = "allowed"
DISALLOWED: Final = "disallowed"
UNKNOWN: Final = "unknown"

#: Categories of vocab-07.
CATEGORIES: Final = ("train-ai", "search")
#: Labels of earlier vocabulary drafts (vocab-02 to -06); unknown keys under vocab-07.
LEGACY_LABELS: Final = ("all", "train-genai", "ai-use", "bots", "ai-output", "tdm")
#: Legacy labels whose ``n`` clearly meant "no training"; a reservation in strict mode.
LEGACY_TRAINING: Final = frozenset({"all", "bots", "train-genai", "tdm"})

#: robots.txt record key of the rule.
ROBOTS_KEY: Final = "content-usage"
HEADER: Final = "content-usage"


# --- RFC 9651 Structured Fields: the Dictionary type -------------------------------------


class SFError(ValueError):
    """A Structured Field value that does not parse. ``detail`` names what failed."""

    def __init__(self, detail: str, pos: int) -> None:
        super().__init__(f"{detail} at {pos}")
        self.detail = detail
        self.pos = pos


class Token(str):
    """An sf-token, kept apart from an sf-string (``n`` is not ``"n"``)."""

    __slots__ = ()


class DisplayString(str):
    """An sf-displaystring (``%"..."``), already decoded."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Date:
    """An sf-date: seconds since the epoch."""

    seconds: int


BareItem = Union[int, float, str, bytes, bool, Token, DisplayString, Date]
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True, slots=True)
class Item:
    value: BareItem
    params: Params = ()


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = ()


Member = Union[Item, InnerList]

_LCALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_DIGITS: Final = frozenset("0123456789")
_ALPHA: Final = _LCALPHA | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEY_START: Final = _LCALPHA | {"*"}
_KEY_CHARS: Final = _LCALPHA | _DIGITS | frozenset("_-.*")
_TCHAR: Final = _ALPHA | _DIGITS | frozenset("!#$%&'*+-.^_`|~")
_TOKEN_CHARS: Final = _TCHAR | frozenset(":/")
_BASE64: Final = _ALPHA | _DIGITS | frozenset("+/=")
_LCHEX: Final = frozenset("0123456789abcdef")


class _Reader:
    """RFC 9651 §4.2 parsing algorithms over one ASCII string."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, detail: str) -> SFError:
        char = self.text[self.pos : self.pos + 1]
        if "A" <= char <= "Z" and detail in ("key", "separator"):
            detail = "uppercase-key"
        return SFError(detail, self.pos)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip(self, chars: str) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in chars:
            pos += 1
        self.pos = pos

    def dictionary(self) -> tuple[dict[str, Member], list[tuple[str, Member]]]:
        members: dict[str, Member] = {}
        overridden: list[tuple[str, Member]] = []
        while not self.at_end():
            key = self.key()
            if self.peek() == "=":
                self.pos += 1
                member = self.item_or_inner_list()
            else:
                member = Item(True, self.parameters())
            if key in members:
                overridden.append((key, members[key]))
            members[key] = member
            self.skip(" \t")
            if self.at_end():
                break
            if self.peek() != ",":
                raise self.fail("separator")
            self.pos += 1
            self.skip(" \t")
            if self.at_end():
                raise self.fail("trailing-comma")
        return members, overridden

    def key(self) -> str:
        if self.peek() not in _KEY_START or self.at_end():
            raise self.fail("key")
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] in _KEY_CHARS:
            self.pos += 1
        return text[start : self.pos]

    def item_or_inner_list(self) -> Member:
        return self.inner_list() if self.peek() == "(" else self.item()

    def inner_list(self) -> InnerList:
        self.pos += 1  # "("
        items: list[Item] = []
        while not self.at_end():
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.parameters())
            items.append(self.item())
            if self.peek() not in (" ", ")") or self.at_end():
                raise self.fail("inner-list")
        raise self.fail("inner-list")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.parameters())

    def parameters(self) -> Params:
        params: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return tuple(params.items())

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char and (char == "-" or char in _DIGITS):
            return self.number()
        if char == '"':
            return self.string()
        if char and (char == "*" or char in _ALPHA):
            return self.token()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char == "@":
            self.pos += 1
            value = self.number()
            if not isinstance(value, int):
                raise self.fail("date")
            return Date(value)
        if char == "%":
            return self.display_string()
        raise self.fail("item")

    def number(self) -> int | float:
        sign = 1
        if self.peek() == "-":
            self.pos += 1
            sign = -1
        if self.at_end() or self.peek() not in _DIGITS:
            raise self.fail("number")
        digits: list[str] = []
        decimal = False
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _DIGITS:
                digits.append(char)
            elif not decimal and char == ".":
                if len(digits) > 12:
                    raise self.fail("number")
                digits.append(".")
                decimal = True
            else:
                break
            self.pos += 1
            if len(digits) > (16 if decimal else 15):
                raise self.fail("number")
        number = "".join(digits)
        if not decimal:
            return sign * int(number)
        if number.endswith(".") or len(number.split(".", 1)[1]) > 3:
            raise self.fail("number")
        return sign * float(number)

    def string(self) -> str:
        self.pos += 1  # '"'
        out: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if char == "\\":
                if self.pos >= len(text) or text[self.pos] not in '"\\':
                    raise self.fail("string")
                out.append(text[self.pos])
                self.pos += 1
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                raise self.fail("string")
            else:
                out.append(char)
        raise self.fail("string")

    def token(self) -> Token:
        start = self.pos
        self.pos += 1
        text = self.text
        while self.pos < len(text) and text[self.pos] in _TOKEN_CHARS:
            self.pos += 1
        return Token(text[start : self.pos])

    def byte_sequence(self) -> bytes:
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise self.fail("bytes")
        content = self.text[self.pos + 1 : end]
        if any(c not in _BASE64 for c in content):
            raise self.fail("bytes")
        try:
            value = base64.b64decode(content + "=" * (-len(content) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("bytes") from None
        self.pos = end + 1
        return value

    def boolean(self) -> bool:
        value = self.text[self.pos + 1 : self.pos + 2]
        if value not in ("0", "1"):
            raise self.fail("boolean")
        self.pos += 2
        return value == "1"

    def display_string(self) -> DisplayString:
        if self.text[self.pos : self.pos + 2] != '%"':
            raise self.fail("display-string")
        self.pos += 2
        out = bytearray()
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if not " " <= char <= "~":
                raise self.fail("display-string")
            if char == "%":
                octet = text[self.pos : self.pos + 2]
                if len(octet) != 2 or any(c not in _LCHEX for c in octet):
                    raise self.fail("display-string")
                out.append(int(octet, 16))
                self.pos += 2
            elif char == '"':
                try:
                    return DisplayString(out.decode("utf-8"))
                except UnicodeDecodeError:
                    raise self.fail("display-string") from None
            else:
                out.append(ord(char))
        raise self.fail("display-string")


def _parse_dictionary(text: str) -> tuple[dict[str, Member], list[tuple[str, Member]]]:
    if not text.isascii():
        raise SFError("not-ascii", next(i for i, c in enumerate(text) if not c.isascii()))
    reader = _Reader(text.strip(" "))
    return reader.dictionary()


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an RFC 9651 Dictionary; :class:`SFError` when it does not parse.

    Duplicate keys: the last one wins. Keys are lower-case only (an upper-case key is a
    syntax error). Leading and trailing spaces are ignored; empty text is an empty dictionary.
    """
    return _parse_dictionary(text)[0]


def show(member: Member | BareItem) -> str:
    """A short serialisation of a parsed value, for the log (not a full RFC 9651 serialiser)."""
    if isinstance(member, Item):
        return show(member.value) + "".join(f";{k}={show(v)}" for k, v in member.params)
    if isinstance(member, InnerList):
        return "(" + " ".join(show(i) for i in member.items) + ")"
    if isinstance(member, bool):
        return "?1" if member else "?0"
    if isinstance(member, Token):
        return str(member)
    if isinstance(member, DisplayString):
        return '%"' + member.encode("utf-8").hex() + '"'  # the octets, for the log
    if isinstance(member, str):
        return '"' + member.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(member, bytes):
        return ":" + base64.b64encode(member).decode() + ":"
    if isinstance(member, Date):
        return f"@{member.seconds}"
    return str(member)


# --- the AIPREF vocabulary -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    """One ``Content-Usage`` dictionary, read with vocab-07."""

    raw: str
    train_ai: State = UNKNOWN
    search: State = UNKNOWN
    #: the dictionary did not parse: every preference is unknown
    malformed: bool = False
    #: why it did not parse, e.g. ``uppercase-key``, ``separator``, ``not-ascii``
    error: str | None = None
    #: legacy labels with a valid ``y``/``n`` Token: ``(("all", "n"),)``
    legacy: tuple[tuple[str, str], ...] = ()
    #: vocab-07 keys whose value is not the Token ``y`` or ``n``: ``(("train-ai", '"n"'),)``
    invalid: tuple[tuple[str, str], ...] = ()
    #: earlier values of repeated keys (the last one wins): ``(("train-ai", "n"),)``
    overridden: tuple[tuple[str, str], ...] = ()

    def training(self, *, strict: bool) -> tuple[State, str | None]:
        """Effective ``train-ai`` preference and the reason code when it is a reservation.

        Lenient mode is the draft's reading. Strict mode also reserves on a malformed
        dictionary, on a repeated ``train-ai`` that once said ``n``, and on a legacy
        training label with ``n`` when ``train-ai`` itself is not stated.
        """
        if self.malformed:
            return (DISALLOWED, "aipref.malformed") if strict else (UNKNOWN, None)
        if strict and self.train_ai != DISALLOWED:
            if any(k == "train-ai" and v == "n" for k, v in self.overridden):
                return DISALLOWED, "aipref.conflict:train-ai"
        if self.train_ai == DISALLOWED:
            return DISALLOWED, "aipref:train-ai=n"
        if self.train_ai == ALLOWED:
            return ALLOWED, None
        if strict:
            for label, value in self.legacy:
                if value == "n" and label in LEGACY_TRAINING:
                    return DISALLOWED, f"aipref.legacy:{label}=n"
        return UNKNOWN, None

    def signals(self) -> tuple[tuple[str, str], ...]:
        """Parsed values for the log (the raw text is recorded by the caller)."""
        out = [("aipref:train-ai", self.train_ai), ("aipref:search", self.search)]
        if self.malformed:
            out.append(("aipref-malformed", self.error or "syntax"))
        out.extend(("aipref-legacy", f"{k}={v}") for k, v in self.legacy)
        out.extend(("aipref-invalid", f"{k}={v}") for k, v in self.invalid)
        out.extend(("aipref-overridden", f"{k}={v}") for k, v in self.overridden)
        return tuple(out)


def _state(member: Member) -> State:
    if isinstance(member, Item) and isinstance(member.value, Token):
        if member.value == "y":
            return ALLOWED
        if member.value == "n":
            return DISALLOWED
    return UNKNOWN


def parse_content_usage(value: str) -> Preferences:
    """Read one ``Content-Usage`` value. Never raises; a parse failure → all unknown."""
    try:
        members, overridden = _parse_dictionary(value)
    except SFError as exc:
        logger.debug("unparsable Content-Usage %r: %s", value, exc)
        return Preferences(raw=value, malformed=True, error=exc.detail)
    states: dict[str, State] = {}
    invalid: list[tuple[str, str]] = []
    for key in CATEGORIES:
        if key in members:
            states[key] = _state(members[key])
            if states[key] == UNKNOWN:
                invalid.append((key, show(members[key])))
    legacy = tuple(
        (label, str(members[label].value))  # type: ignore[union-attr]
        for label in LEGACY_LABELS
        if label in members and _state(members[label]) != UNKNOWN
    )
    return Preferences(
        raw=value,
        train_ai=states.get("train-ai", UNKNOWN),
        search=states.get("search", UNKNOWN),
        legacy=legacy,
        invalid=tuple(invalid),
        overridden=tuple(
            (k, show(m)) for k, m in overridden if k in CATEGORIES or k in LEGACY_LABELS
        ),
    )


def combine_states(states: Iterable[State]) -> State:
    """The vocabulary's rule for several statements: any disallow, else any allow, else unknown."""
    seen = set(states)
    if DISALLOWED in seen:
        return DISALLOWED
    return ALLOWED if ALLOWED in seen else UNKNOWN


# --- findings -------------------------------------------------------------------------------


def header_finding(
    values: Sequence[str], *, strict: bool, evidence: Evidence | None = None
) -> Finding:
    """What the ``Content-Usage`` header lines of one response say (most restrictive wins).

    ``values`` are the raw header lines (``headers.get("content-usage", ())``).
    """
    ev = (evidence,) if evidence is not None else ()
    if not values:
        return Finding(verdict=ALLOW, evidence=ev)
    reasons: list[str] = []
    rules: list[str] = []
    signals: list[tuple[str, str]] = []
    for i, line in enumerate(values):
        prefs = parse_content_usage(line)
        signals.append((HEADER, line))
        signals.extend(prefs.signals())
        state, reason = prefs.training(strict=strict)
        if state == DISALLOWED and reason is not None:
            reasons.append(reason)
            rules.append(f"header content-usage[{i}]: {line}")
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(rules),
            signals=tuple(dict.fromkeys(signals)),
        )
    return Finding(verdict=ALLOW, evidence=ev, signals=tuple(dict.fromkeys(signals)))


@dataclass(frozen=True, slots=True)
class RobotsRule:
    """One ``Content-Usage`` line of a robots.txt group."""

    line: int
    #: the value as written after the colon
    value: str
    #: the path pattern, or None when the rule applies to every path
    path: str | None
    prefs: Preferences

    def describe(self) -> str:
        return f"robots.txt:{self.line} Content-Usage: {self.value}"

    @property
    def length(self) -> int:
        """Specificity as for Allow/Disallow: normalised length, ``*`` and ``$`` count one."""
        if self.path is None:
            return 1  # the same as "/"
        pattern = compile_pattern(self.path)
        return sum(len(s) for s in pattern.segments) + len(pattern.segments) - 1 + pattern.anchored


def parse_rule(line: int, value: str) -> RobotsRule:
    """Split a robots.txt ``Content-Usage`` value into path and preferences."""
    value = value.strip(" \t")
    if value.startswith("/"):
        cut = min((i for i in (value.find(" "), value.find("\t")) if i >= 0), default=len(value))
        return RobotsRule(line, value, value[:cut], parse_content_usage(value[cut:].strip(" \t")))
    return RobotsRule(line, value, None, parse_content_usage(value))


def robots_rules(robots: RobotsTxt, token: str, *, fallback: bool = True) -> tuple[RobotsRule, ...]:
    """The ``Content-Usage`` rules of the group(s) that apply to ``token``."""
    return tuple(
        parse_rule(line, value)
        for line, value in robots.records(ROBOTS_KEY, token, fallback=fallback)
    )


@dataclass(frozen=True, slots=True)
class PathResult:
    """The effective ``train-ai`` preference for one token and URL."""

    state: State
    #: reason codes of the deciding rules when the state is a reservation
    reasons: tuple[str, ...]
    #: deciding rules
    rules: tuple[RobotsRule, ...]
    #: every rule whose path matched
    matched: tuple[RobotsRule, ...]


def evaluate_rules(rules: Sequence[RobotsRule], url: str, *, strict: bool) -> PathResult:
    """Longest matching rule that states ``train-ai`` decides; equal lengths combine."""
    path = normalize_path(url)
    matched = tuple(r for r in rules if r.path is None or compile_pattern(r.path).matches(path))
    stating = []
    for rule in matched:
        state, reason = rule.prefs.training(strict=strict)
        if state != UNKNOWN:
            stating.append((rule.length, rule, state, reason))
    if not stating:
        return PathResult(UNKNOWN, (), (), matched)
    longest = max(length for length, *_ in stating)
    top = [(rule, state, reason) for length, rule, state, reason in stating if length == longest]
    state = combine_states(s for _, s, _ in top)
    deciding = tuple(r for r, s, _ in top if s == state)
    reasons = tuple(dict.fromkeys(x for _, s, x in top if s == state and x is not None))
    return PathResult(state, reasons, deciding, matched)


def robots_finding(
    robots: RobotsTxt,
    token: str,
    url: str,
    *,
    strict: bool,
    ai_tokens: Iterable[str] = (),
    evidence: Evidence | None = None,
) -> Finding:
    """What robots.txt ``Content-Usage`` rules say about ``url`` for ``token``.

    The group(s) for ``token`` (else ``*``) give heed's own preferences; groups naming one of
    ``ai_tokens`` (known AI-training tokens) are read as reservations for AI training too.
    A rule applies only to a path its token may crawl.
    """
    ev = (evidence,) if evidence is not None else ()
    reasons: list[str] = []
    deny_rules: list[str] = []
    other_rules: list[str] = []
    signals: list[tuple[str, str]] = []

    def read(agent: str, fallback: bool) -> PathResult | None:
        found = robots_rules(robots, agent, fallback=fallback)
        if not found:
            return None
        match = robots.match(agent, url, fallback=fallback)
        if match is not None and not match.allowed:
            signals.append(("content-usage-skipped", f"{agent}: not crawlable"))
            return None
        result = evaluate_rules(found, url, strict=strict)
        signals.extend((ROBOTS_KEY, f"robots.txt:{r.line} {r.value}") for r in result.matched)
        return result

    own = read(token, True)
    if own is not None:
        signals.append(("aipref:train-ai", own.state))
        if own.state == DISALLOWED:
            reasons.extend(own.reasons)
            deny_rules.extend(r.describe() for r in own.rules)
        else:
            other_rules.extend(r.describe() for r in own.rules)
    for agent in sorted(set(ai_tokens)):
        if agent.lower() == token.lower() or agent.lower() not in robots.agents:
            continue
        theirs = read(agent, False)
        if theirs is not None and theirs.state == DISALLOWED:
            reasons.append(f"aipref.ai-token:{agent}")
            deny_rules.extend(f"{r.describe()} (group {agent})" for r in theirs.rules)
    signals_t = tuple(dict.fromkeys(signals))
    if reasons:
        return Finding(
            verdict=DENY,
            reasons=tuple(dict.fromkeys(reasons)),
            evidence=ev,
            rules=tuple(dict.fromkeys(deny_rules)),
            signals=signals_t,
        )
    return Finding(
        verdict=ALLOW, evidence=ev, rules=tuple(dict.fromkeys(other_rules)), signals=signals_t
    )


__all__ = [
    "ALLOWED",
    "CATEGORIES",
    "DISALLOWED",
    "LEGACY_LABELS",
    "LEGACY_TRAINING",
    "UNKNOWN",
    "Date",
    "DisplayString",
    "InnerList",
    "Item",
    "PathResult",
    "Preferences",
    "RobotsRule",
    "SFError",
    "State",
    "Token",
    "combine_states",
    "evaluate_rules",
    "header_finding",
    "parse_content_usage",
    "parse_dictionary",
    "parse_rule",
    "robots_finding",
    "robots_rules",
    "show",
]

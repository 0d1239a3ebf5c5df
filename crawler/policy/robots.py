"""robots.txt parsing and matching per RFC 9309, with exact product-token groups.

heed answers "may we fetch?" from the group addressed to its own product token, and reads
the groups addressed to known AI-training tokens as rights reservations. Both readings
depend on picking *the right group*, so this module does its own parsing instead of using
Protego (the parser Scrapy ships):

- Protego picks a group when its User-agent value is a substring of the crawler's agent
  string, so ``User-agent: bot`` captures ``mybot`` and a ``music`` group captures
  ``musicmetabot``. Here a group applies only when its value, truncated at the first
  character outside ``[A-Za-z_-]`` (``Googlebot/2.1`` is ``googlebot``), equals the token,
  case-insensitively. Real crawler names with digits (``Ai2Bot-Dolma``, ``img2dataset``)
  would be cut to useless stubs by that rule, so a value with digits is also kept as the
  longer token up to the first character outside ``[A-Za-z0-9_-]``.
- Protego ends a group at any line it does not know (``Sitemap``, ``Crawl-delay``,
  ``Content-Signal``...), so ``User-agent: a`` / ``Sitemap: ...`` / ``User-agent: *`` /
  ``Disallow: /`` leaves ``a`` unrestricted. RFC 9309 says other records must not interfere
  with grouping: here only a ``User-agent`` line that follows an ``Allow``/``Disallow`` line
  starts a new group.
- All groups naming a token are merged (RFC 9309 §2.2.1); ``*`` applies only when no group
  names the token, and :meth:`RobotsTxt.match` can be told not to fall back to ``*`` at all
  (an AI-token reservation must come from a group that names that token).
- Patterns and URLs are brought to one percent-encoded form before comparing, on both
  sides: ``%XX`` of an unreserved character is decoded, other escapes get upper-case hex,
  raw non-ASCII text and characters not allowed in a URI are encoded, ``%2F`` stays
  ``%2F``. So ``Disallow: /foo/bar/%62%61%7A`` covers ``/foo/bar/baz``, ``Disallow: /música``
  covers ``/m%c3%basica`` and ``Disallow: /a=b`` covers ``/a=b``. A literal ``*`` or ``$``
  in a URL is compared as ``%2A`` / ``%24``, the form a file must use to name it.

Parsing choices beyond the RFC, all taken from widespread practice:

- Only the first :data:`MAX_ROBOTS_BYTES` bytes are parsed (the RFC's minimum limit); a line
  cut by the limit is dropped whole rather than read as a shorter pattern, and
  :attr:`RobotsTxt.truncated` tells the caller to log it.
- A UTF-8 byte-order mark at the start (or a leading part of one) is skipped. Lines end at
  CR, LF or CRLF; each line is cut at 16,664 bytes and decoded as UTF-8 with bad bytes
  replaced, so no line is lost to an encoding error.
- Keys are case-insensitive and compared whole (not by prefix); common misspellings of
  user-agent, disallow and sitemap are accepted. ``key value`` without a colon is accepted
  when the line holds exactly those two words.
- A rule pattern must start with ``/`` or ``*``. Other patterns (``Disallow: private/``,
  ``Allow: http://...``) are ignored rather than guessed at: prefixing a ``/`` could turn a
  stray value into a rule the site never wrote. Ignored rule lines still count as rule lines
  for grouping and are listed in :attr:`RobotsTxt.ignored_lines`.
- An empty ``Allow:``/``Disallow:`` matches nothing.
- ``/robots.txt`` itself is always allowed (RFC 9309 §2.2.2). Google's habit of reading
  ``Allow: /dir/index.html`` as also allowing ``/dir/`` is not in the RFC and is not done.

Matching: the rule with the longest normalised pattern wins (``*`` and a final ``$`` count
as one octet each), ``Allow`` wins a tie. ``*`` matches any run of characters, ``$`` anchors
only at the very end of a pattern and is a literal elsewhere.

Speed: the gate asks once per URL and token, so a file is parsed once and each token's merged
group is compiled on first use and kept. Rules go into regular expressions whose
alternatives are ordered by precedence, so the first alternative that matches is the
deciding rule; they are bucketed by the first characters a URL must start with, so a URL is
tried only against rules that can match it. Every ``*`` compiles to an atomic lazy scan for
the next literal piece: the leftmost occurrence of each piece is always a valid choice, so
matching never backtracks and stays linear in the URL length per rule (wildcard-heavy
files have earned other parsers ReDoS advisories). A URL made only of characters that need
no normalisation (the common case) skips the percent-encoding step.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

logger = logging.getLogger(__name__)

#: RFC 9309 §2.5: parse at least 500 KiB; heed parses exactly that much.
MAX_ROBOTS_BYTES: Final = 512_000
#: Longer lines are cut to this many bytes (eight times the classic 2,083-character URL).
MAX_LINE_BYTES: Final = 16_664
#: Rules per compiled regular expression; larger groups are split into several.
_RULES_PER_REGEX: Final = 512
#: Regex-matched rules are bucketed by this many leading characters of their pattern.
_BUCKET_CHARS: Final = 3
#: Most copies of unbucketed rules (rules x buckets) before bucketing is given up.
_MAX_BUCKET_COPIES: Final = 4096

_BOM: Final = b"\xef\xbb\xbf"
_LINE_BREAK: Final = re.compile(rb"\r\n|\r|\n")

_USER_AGENT_KEYS: Final = frozenset({"user-agent", "useragent", "user agent"})
_ALLOW_KEYS: Final = frozenset({"allow"})
_DISALLOW_KEYS: Final = frozenset(
    {"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"}
)
_SITEMAP_KEYS: Final = frozenset({"sitemap", "site-map"})
_CRAWL_DELAY_KEYS: Final = frozenset({"crawl-delay", "crawl delay", "crawldelay"})
_CRAWL_DELAY: Final = frozenset({"crawl-delay"})
_KNOWN_KEYS: Final = (
    _USER_AGENT_KEYS | _ALLOW_KEYS | _DISALLOW_KEYS | _SITEMAP_KEYS | _CRAWL_DELAY_KEYS
)

_AGENT_TOKEN: Final = re.compile(r"[A-Za-z_-]*")
_AGENT_TOKEN_WITH_DIGITS: Final = re.compile(r"[A-Za-z0-9_-]*")

_UNRESERVED: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
#: Characters compared as written: unreserved ones, and reserved ones whose raw and
#: percent-encoded forms mean different things in a path or query.
_AS_WRITTEN: Final = r"A-Za-z0-9\-._~/!&'()+,;=:@?"
_SCHEME_AND_AUTHORITY: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
#: A request target needing no normalisation at all (the common case, checked in C).
_PLAIN_TARGET: Final = re.compile(f"[{_AS_WRITTEN}]*")
#: What normalisation rewrites in a URL: escapes, and every character not kept as written.
_URL_WORK: Final = re.compile(f"%[0-9A-Fa-f]{{2}}|[^{_AS_WRITTEN}]")
#: The same in a pattern, where ``*`` is a wildcard and stays.
_PATTERN_WORK: Final = re.compile(f"%[0-9A-Fa-f]{{2}}|[^{_AS_WRITTEN}*]")


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``Allow``/``Disallow`` line of a robots.txt file."""

    allow: bool
    #: the value as written in the file (after trimming), e.g. ``/private/``
    pattern: str
    #: 1-based line number in the file
    line: int

    def describe(self) -> str:
        """Human-readable form for the provenance log, e.g. ``robots.txt:7 Disallow: /x``."""
        return f"robots.txt:{self.line} {'Allow' if self.allow else 'Disallow'}: {self.pattern}"


@dataclass(frozen=True, slots=True)
class Match:
    """The answer for one token and one URL."""

    allowed: bool
    #: the deciding rule; None when no rule matched (then the URL is allowed)
    rule: Rule | None
    #: the group key that applied: the lower-cased token, or ``"*"``; empty when no group did
    agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Group:
    """One group as parsed: its user-agent keys and the lines that belong to it."""

    agents: tuple[str, ...]
    rules: tuple[Rule, ...]
    #: non-rule records inside the group, lower-cased key first: ("crawl-delay", "5", 4)
    records: tuple[tuple[str, str, int], ...]


@dataclass(slots=True)
class _GroupBuilder:
    agents: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    records: list[tuple[str, str, int]] = field(default_factory=list)
    has_rule_line: bool = False

    def build(self) -> _Group:
        return _Group(tuple(self.agents), tuple(self.rules), tuple(self.records))


_Regexes = tuple[tuple[tuple[int, ...], re.Pattern[str]], ...]


class _Compiled:
    """The merged rules for one group key, ready to match.

    Rules are sorted by precedence; the deciding rule is the matching one with the lowest
    index. Patterns are tried by regular expressions whose alternatives keep precedence
    order, bucketed by the first characters a target must start with (see
    :func:`_bucketed`); a bucket is compiled when a target first needs it. In large groups only wildcard patterns go into regexes: plain
    prefixes are looked up by slicing the target at each distinct pattern length (longest
    first) and ``$``-anchored plain patterns by exact lookup, which costs nothing to build.
    """

    __slots__ = ("allow_all", "decisions", "exact", "lengths", "prefixes", "regexes", "sources")

    def __init__(self, key: str, rules: Iterable[Rule]) -> None:
        agents = (key,)
        self.allow_all = Match(True, None, agents)
        entries = sorted(_compile_rule(rule) for rule in rules)
        self.decisions = tuple(Match(e.rule.allow, e.rule, agents) for e in entries)
        self.prefixes: dict[str, int] = {}
        self.exact: dict[str, int] = {}
        by_regex: list[tuple[int, _Entry]] = []
        # A small group is fastest as regexes only; a large one would compile slowly.
        small = len(entries) <= _RULES_PER_REGEX
        for index, entry in enumerate(entries):
            if small or "*" in entry.pattern:
                by_regex.append((index, entry))
            else:
                table = self.exact if entry.anchored else self.prefixes
                table.setdefault(entry.pattern, index)
        self.lengths = tuple(sorted({len(p) for p in self.prefixes}, reverse=True))
        self.sources = _bucketed(by_regex)
        self.regexes: dict[str, _Regexes] = {}

    def match(self, target: str) -> Match:
        best = self.exact.get(target, len(self.decisions))
        size = len(target)
        for length in self.lengths:
            if length <= size:
                index = self.prefixes.get(target[:length])
                if index is not None:
                    best = min(best, index)
                    break
        head = target[:_BUCKET_CHARS]
        if head not in self.sources:
            head = ""
        regexes = self.regexes.get(head)
        if regexes is None:
            regexes = self.regexes[head] = _regexes(self.sources[head])
        for indices, regex in regexes:
            if indices[0] > best:
                break
            found = regex.match(target)
            if found is not None:
                best = min(best, indices[found.lastindex - 1])  # type: ignore[operator]
                break
        return self.decisions[best] if best < len(self.decisions) else self.allow_all


def _bucketed(rules: list[tuple[int, _Entry]]) -> dict[str, list[tuple[int, str]]]:
    """Regex sources of the rules that can match a target, keyed by its first characters.

    A rule whose literal start (up to its first ``*``) has at least :data:`_BUCKET_CHARS`
    characters can only match targets that start with those characters; the other rules can
    match any target and join every bucket. They alone form the bucket ``""``, for targets
    that no other bucket fits. Each bucket is in precedence order.
    """
    anywhere: list[tuple[int, str]] = []
    keyed: dict[str, list[tuple[int, str]]] = {}
    for index, entry in rules:
        source = (index, _regex_source(entry.pattern, entry.anchored))
        head = entry.pattern.split("*", 1)[0]
        if len(head) >= _BUCKET_CHARS:
            keyed.setdefault(head[:_BUCKET_CHARS], []).append(source)
        else:
            anywhere.append(source)
    if len(anywhere) * len(keyed) > _MAX_BUCKET_COPIES:
        return {"": sorted(anywhere + [s for bucket in keyed.values() for s in bucket])}
    buckets = {k: sorted(v + anywhere) for k, v in keyed.items()}
    buckets[""] = anywhere
    return buckets


def _regexes(sources: list[tuple[int, str]]) -> _Regexes:
    """Regexes trying ``sources`` in order, a chunk each; group *n* is the chunk's *n*-th."""
    chunks = []
    for start in range(0, len(sources), _RULES_PER_REGEX):
        chunk = sources[start : start + _RULES_PER_REGEX]
        alternatives = "|".join(f"({src})" for _, src in chunk)
        chunks.append((tuple(i for i, _ in chunk), re.compile(f"(?s)(?:{alternatives})")))
    return tuple(chunks)


class RobotsTxt:
    """A parsed robots.txt file. Build it with :meth:`parse` or :meth:`empty`."""

    __slots__ = (
        "_compiled",
        "_groups",
        "_keys",
        "_record_memo",
        "_records",
        "agents",
        "ignored_lines",
        "sitemaps",
        "truncated",
    )

    truncated: bool
    sitemaps: tuple[str, ...]
    agents: frozenset[str]
    #: rule lines that were not used: before any User-agent line, or a pattern that does
    #: not start with ``/`` or ``*``
    ignored_lines: tuple[int, ...]

    def __init__(
        self,
        groups: tuple[_Group, ...] = (),
        *,
        sitemaps: tuple[str, ...] = (),
        records: tuple[tuple[str, str, int], ...] = (),
        ignored_lines: tuple[int, ...] = (),
        truncated: bool = False,
    ) -> None:
        self._groups = groups
        self._records = records
        self.sitemaps = sitemaps
        self.ignored_lines = ignored_lines
        self.truncated = truncated
        keys: dict[str, list[int]] = {}
        for index, group in enumerate(groups):
            for agent in dict.fromkeys(group.agents):
                if agent:
                    keys.setdefault(agent, []).append(index)
        self._keys: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in keys.items()}
        self.agents = frozenset(self._keys)
        # compiled matchers keyed by the groups they merge: tokens that share a group (a
        # file listing ten AI crawlers above one Disallow) share one matcher
        self._compiled: dict[tuple[int, ...], _Compiled] = {}
        self._record_memo: dict[tuple[str, str | None, bool], tuple[tuple[int, str], ...]] = {}

    @classmethod
    def empty(cls) -> RobotsTxt:
        """A file without rules: what a 404 means."""
        return cls()

    @classmethod
    def parse(cls, body: bytes) -> RobotsTxt:
        """Parse the bytes of a robots.txt file. Never raises, whatever the bytes are."""
        data, truncated = _cut(body)
        parser = _Parser()
        for number, line in enumerate(_lines(data), start=1):
            parser.feed(number, line)
        robots = parser.finish(truncated)
        logger.debug(
            "Parsed robots.txt: %d groups, %d sitemaps, %d ignored rule lines, truncated=%s",
            len(robots._groups),
            len(robots.sitemaps),
            len(robots.ignored_lines),
            truncated,
        )
        return robots

    def match(self, token: str, url: str, *, fallback: bool = True) -> Match | None:
        """Is ``url`` allowed for the crawler whose product token is ``token``?

        ``url`` is a full URL or a path (anything starting with ``/`` is taken as a path).
        Groups naming ``token`` exactly are merged; without one, the ``*`` groups apply when
        ``fallback`` is true. Returns None when no group names the token and ``fallback`` is
        false; an allowed :class:`Match` with no rule and no agents when nothing applies.
        """
        compiled = self._select(token.lower(), fallback)
        if compiled is None:
            return None if not fallback else _NOTHING_APPLIES
        target = _request_target(url)
        if not _PLAIN_TARGET.fullmatch(target):
            target = _URL_WORK.sub(_normalise_in_url, target)
        if target == "/robots.txt":
            return compiled.allow_all
        return compiled.match(target)

    def match_many(self, tokens: Iterable[str], url: str) -> dict[str, Match]:
        """:meth:`match` without fallback for several tokens at once, for the same URL.

        The URL is normalised once and tokens that share their groups (ten AI crawlers
        listed above one rule set) share one match. Tokens without a group are left out.
        """
        target = _request_target(url)
        if not _PLAIN_TARGET.fullmatch(target):
            target = _URL_WORK.sub(_normalise_in_url, target)
        results: dict[str, Match] = {}
        seen: dict[int, Match] = {}
        for token in tokens:
            compiled = self._select(token.lower(), False)
            if compiled is None:
                continue
            found = seen.get(id(compiled))
            if found is None:
                found = compiled.allow_all if target == "/robots.txt" else compiled.match(target)
                seen[id(compiled)] = found
            results[token] = found
        return results

    def crawl_delay(self, token: str) -> float | None:
        """Crawl-delay in seconds for ``token`` (its own groups, else ``*``), or None.

        Several values in the merged groups give the largest; a value that is not a
        finite non-negative number is ignored.
        """
        delays = [
            delay
            for _, value, line in self._group_records(token.lower(), _CRAWL_DELAY)
            if (delay := _seconds(value, line)) is not None
        ]
        return max(delays) if delays else None

    def records(
        self, key: str, token: str | None = None, *, fallback: bool = True
    ) -> tuple[tuple[int, str], ...]:
        """``(line, value)`` of every non-rule record named ``key`` (case-insensitive).

        Misspelt Crawl-delay keys are reported as ``crawl-delay``.

        Without ``token``: every such record in the file, in or out of groups (for
        file-wide lines such as ``License`` or ``Content-Signal``). With ``token``: only
        those in the group(s) that apply to it, chosen as :meth:`match` chooses them.
        """
        memo_key = (key, None if token is None else token.lower(), fallback)
        found = self._record_memo.get(memo_key)
        if found is not None:
            return found
        wanted = frozenset({" ".join(key.split()).lower()})
        if token is None:
            found = tuple((line, value) for k, value, line in self._records if k in wanted)
        else:
            found = tuple(
                (line, value)
                for _, value, line in self._group_records(token.lower(), wanted, fallback)
            )
        self._record_memo[memo_key] = found
        return found

    def _select(self, key: str, fallback: bool) -> _Compiled | None:
        if key not in self._keys:
            if not fallback or "*" not in self._keys:
                return None
            key = "*"
        indices = self._keys[key]
        compiled = self._compiled.get(indices)
        if compiled is None:
            rules = (rule for i in indices for rule in self._groups[i].rules)
            compiled = self._compiled[indices] = _Compiled(key, rules)
        return compiled

    def _group_records(
        self, key: str, wanted: frozenset[str], fallback: bool = True
    ) -> Iterator[tuple[str, str, int]]:
        if key not in self._keys:
            if not fallback or "*" not in self._keys:
                return
            key = "*"
        for index in self._keys[key]:
            yield from (r for r in self._groups[index].records if r[0] in wanted)

    def __repr__(self) -> str:
        return (
            f"<RobotsTxt groups={len(self._groups)} agents={sorted(self.agents)!r} "
            f"truncated={self.truncated}>"
        )


_NOTHING_APPLIES: Final = Match(True, None, ())


class _Parser:
    """Line-by-line state machine that builds the groups of one file."""

    def __init__(self) -> None:
        self.groups: list[_GroupBuilder] = []
        self.current: _GroupBuilder | None = None
        self.sitemaps: dict[str, None] = {}
        self.records: list[tuple[str, str, int]] = []
        self.ignored: list[int] = []

    def feed(self, number: int, line: str) -> None:
        record = _split_record(line)
        if record is None:
            return
        key, value = record
        if key in _USER_AGENT_KEYS:
            self._user_agent(value)
        elif key in _ALLOW_KEYS or key in _DISALLOW_KEYS:
            self._rule(key in _ALLOW_KEYS, value, number)
        elif key in _SITEMAP_KEYS:
            if value:
                self.sitemaps[value] = None
        else:
            if key in _CRAWL_DELAY_KEYS:
                key = "crawl-delay"
            self.records.append((key, value, number))
            if self.current is not None:
                self.current.records.append((key, value, number))

    def _user_agent(self, value: str) -> None:
        if self.current is None or self.current.has_rule_line:
            self.current = _GroupBuilder()
            self.groups.append(self.current)
        self.current.agents.extend(_agent_keys(value))

    def _rule(self, allow: bool, value: str, number: int) -> None:
        if self.current is None:
            self.ignored.append(number)
            return
        self.current.has_rule_line = True
        if not value:
            return
        if value[0] not in "/*":
            self.ignored.append(number)
            return
        self.current.rules.append(Rule(allow, value, number))

    def finish(self, truncated: bool) -> RobotsTxt:
        return RobotsTxt(
            tuple(g.build() for g in self.groups),
            sitemaps=tuple(self.sitemaps),
            records=tuple(self.records),
            ignored_lines=tuple(self.ignored),
            truncated=truncated,
        )


def _cut(body: bytes) -> tuple[bytes, bool]:
    """The part of ``body`` that is parsed, and whether anything was left out."""
    if len(body) <= MAX_ROBOTS_BYTES:
        return _skip_bom(body), False
    head = body[:MAX_ROBOTS_BYTES]
    if body[MAX_ROBOTS_BYTES] not in b"\r\n":
        # The limit falls inside a line: drop that line rather than parse half of it.
        end = max(head.rfind(b"\n"), head.rfind(b"\r"))
        head = head[: end + 1]
    return _skip_bom(head), True


def _skip_bom(data: bytes) -> bytes:
    """Skip a UTF-8 byte-order mark at the start, or any leading part of one."""
    skip = 0
    while skip < len(_BOM) and data[skip : skip + 1] == _BOM[skip : skip + 1]:
        skip += 1
    return data[skip:]


def _lines(data: bytes) -> Iterator[str]:
    for raw in _LINE_BREAK.split(data):
        yield raw[:MAX_LINE_BYTES].decode("utf-8", "replace")


def _split_record(line: str) -> tuple[str, str] | None:
    """``(lower-cased key, trimmed value)`` of one line, or None for blank lines and junk."""
    hash_at = line.find("#")
    if hash_at >= 0:
        line = line[:hash_at]
    line = line.strip()
    if not line:
        return None
    colon = line.find(":")
    if colon >= 0:
        key = " ".join(line[:colon].split()).lower()
        if key in _KNOWN_KEYS or colon == 0 or len(line[:colon].split()) == 1:
            return key, line[colon + 1 :].strip()
    # No usable colon: accept "key value" when the line is exactly two words.
    words = line.split()
    if len(words) != 2:
        return None
    return words[0].lower(), words[1]


def _agent_keys(value: str) -> tuple[str, ...]:
    """Group keys of a User-agent value, lower-cased: ``*``, or its leading product token.

    The product token is cut at the first character outside ``[A-Za-z_-]``. When digits
    follow, the longer token with digits is a key too, so ``Ai2Bot-Dolma`` is found both as
    ``ai`` (the strict reading) and as ``ai2bot-dolma`` (the name its operator uses).
    """
    if value[:1] == "*" and (len(value) == 1 or value[1].isspace()):
        return ("*",)
    strict = _AGENT_TOKEN.match(value).group().lower()  # type: ignore[union-attr]
    longer = _AGENT_TOKEN_WITH_DIGITS.match(value).group().lower()  # type: ignore[union-attr]
    return (strict,) if longer == strict else (strict, longer)


def _seconds(value: str, line: int) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        logger.debug("Ignoring Crawl-delay %r on robots.txt line %d", value, line)
        return None
    return seconds


def _request_target(url: str) -> str:
    """Path, params and query of ``url`` (fragment dropped); ``/`` when the path is empty."""
    if url[:1] != "/":
        authority = _SCHEME_AND_AUTHORITY.match(url)
        if authority is not None:
            url = url[authority.end() :]
        if url[:1] != "/":
            url = "/" + url
    hash_at = url.find("#")
    return url if hash_at < 0 else url[:hash_at]


def _escape_octets(text: str) -> str:
    return "".join(f"%{octet:02X}" for octet in text.encode("utf-8", "surrogatepass"))


def _normalise_in_url(found: re.Match[str]) -> str:
    text = found.group()
    if len(text) == 3:  # %XX
        char = chr(int(text[1:], 16))
        return char if char in _UNRESERVED else text.upper()
    return _escape_octets(text)


def _normalise_pattern(pattern: str) -> tuple[str, bool]:
    """The normalised pattern without a final ``$``, and whether it had one."""
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    return _PATTERN_WORK.sub(_normalise_in_url, pattern), anchored


@dataclass(frozen=True, slots=True, order=True)
class _Entry:
    """A rule with its normalised pattern; entries sort in precedence order."""

    #: longest pattern first (``*`` and a final ``$`` count), Allow first, then file order
    key: tuple[int, bool, int]
    rule: Rule = field(compare=False)
    #: normalised pattern without the final ``$``
    pattern: str = field(compare=False)
    anchored: bool = field(compare=False)


def _compile_rule(rule: Rule) -> _Entry:
    pattern, anchored = _normalise_pattern(rule.pattern)
    length = len(pattern) + anchored
    return _Entry((-length, not rule.allow, rule.line), rule, pattern, anchored)


def _regex_source(pattern: str, anchored: bool) -> str:
    """Regex for one normalised pattern, matched from the start of the request target.

    Each ``*`` becomes an atomic lazy scan to the leftmost occurrence of the next literal
    piece; when the pattern is anchored, the last piece must end the target instead.
    """
    first, *rest = pattern.split("*")
    parts = [re.escape(first)]
    if rest:
        *middle, last = rest
        parts.extend(f"(?>.*?{re.escape(piece)})" for piece in middle if piece)
        if anchored:
            parts.append(f".*{re.escape(last)}\\Z" if last else "")
        elif last:
            parts.append(f"(?>.*?{re.escape(last)})")
    elif anchored:
        parts.append("\\Z")
    return "".join(parts)


__all__ = ["MAX_LINE_BYTES", "MAX_ROBOTS_BYTES", "Match", "RobotsTxt", "Rule"]

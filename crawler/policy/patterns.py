"""robots.txt-style path patterns, shared by the mechanisms that borrow them.

TDMRep's ``location`` (and ai.txt, and AI-preference rules in robots.txt) reuse the path
patterns of RFC 9309: ``*`` is any run of characters, a ``$`` at the very end anchors the
pattern to the end of the path, everything else is compared octet by octet, case-sensitively,
from the first octet of the path. Both sides are brought to one percent-encoded form first
(RFC 9309 §2.2.2), so ``/%62az`` and ``/baz``, or ``/caf%c3%a9`` and ``/café``, are the same
path; otherwise a site's reservation would silently miss URLs written another way.

Matching is done segment by segment with ``str.find`` rather than with a regular expression:
the leftmost match of each literal segment is always a valid choice, so the cost is linear in
the path length for every pattern a site can write (a regex of many ``.*`` can backtrack
badly, which is how robots.txt parsers have got ReDoS advisories).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

_HEX: Final = "0123456789ABCDEFabcdef"
_UNRESERVED: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
#: ASCII characters that may not appear raw in a URI; they are compared in %XX form.
_UNSAFE_ASCII: Final = frozenset(" \"<>\\^`{|}") | frozenset(chr(c) for c in range(0x20)) | {
    "\x7f"
}
#: Anything that sends a string down the slow path. A literal ``*`` or ``$`` (in a path, or
#: a ``$`` inside a pattern) is compared as ``%2A`` / ``%24``, the form a pattern must use to
#: match those characters literally.
_NEEDS_WORK: Final = re.compile(r"[%*$\x00-\x20\x7f-\U0010ffff\"<>\\^`{|}]")


def _normalize(text: str) -> str:
    """Percent-encoding normal form (RFC 9309 §2.2.2, RFC 3986 §6.2.2).

    ``%XX`` of an unreserved character is decoded, every other ``%XX`` gets upper-case hex,
    raw non-ASCII characters become their UTF-8 octets in ``%XX`` form, and raw characters
    that are not allowed in a URI are encoded. A ``%`` not followed by two hex digits is
    kept as it is. ``*`` and ``$`` are encoded: here they are literal characters.
    """
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            octet = int(text[i + 1 : i + 3], 16)
            decoded = chr(octet)
            out.append(decoded if decoded in _UNRESERVED else f"%{octet:02X}")
            i += 3
            continue
        code = ord(ch)
        if code > 0x7F:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        elif ch in _UNSAFE_ASCII or ch in "*$":
            out.append(f"%{code:02X}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _normalize_literal(text: str) -> str:
    if not _NEEDS_WORK.search(text):
        return text
    return _normalize(text)


def normalize_path(url_or_path: str) -> str:
    """Path, ``;params`` and ``?query`` of a URL (or of a bare path), fragment dropped.

    The result is in percent-encoding normal form and is ``/`` when the URL has no path.
    Input starting with a single ``/`` is taken as a path; anything else is parsed as a URL.
    """
    text = url_or_path.split("#", 1)[0]
    if text.startswith("/") and not text.startswith("//"):
        path = text
    else:
        try:
            parts = urlsplit(text)
        except ValueError:
            logger.debug("unparsable URL %r compared as its raw text", url_or_path)
            path = text
        else:
            path = parts.path or "/"
            if parts.query:
                path = f"{path}?{parts.query}"
    if not path.startswith("/"):
        path = "/" + path
    return _normalize_literal(path)


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A compiled robots.txt-style pattern; call it with a path or a URL."""

    pattern: str
    #: literal segments between ``*``s, in percent-encoding normal form
    segments: tuple[str, ...] = field(repr=False)
    anchored: bool = field(repr=False)

    def __call__(self, url_or_path: str) -> bool:
        return self.matches(normalize_path(url_or_path))

    def matches(self, path: str) -> bool:
        """Match a path already passed through :func:`normalize_path`."""
        segments = self.segments
        first = segments[0]
        if len(segments) == 1:
            return path == first if self.anchored else path.startswith(first)
        if not path.startswith(first):
            return False
        pos = len(first)
        last = segments[-1]
        for seg in segments[1:-1]:
            found = path.find(seg, pos)
            if found < 0:
                return False
            pos = found + len(seg)
        if self.anchored:
            return len(path) - len(last) >= pos and path.endswith(last)
        return path.find(last, pos) >= 0


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> PathPattern:
    """Compile a robots.txt-style pattern.

    Matching starts at the first octet of the path, so a pattern should start with ``/``
    or ``*``; callers that accept looser forms fix them up first. The empty pattern matches
    every path (mechanisms that give an empty value another meaning handle it themselves).
    """
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    # Every ``*`` is an operator and only a final ``$`` anchors; what is left is literal.
    segments = tuple(_normalize_literal(s) for s in body.split("*"))
    return PathPattern(pattern=pattern, segments=segments, anchored=anchored)


__all__ = ["PathPattern", "compile_pattern", "normalize_path"]

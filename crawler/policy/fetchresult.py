"""How a policy file fetch ended, and what that means: the fail-closed status table.

The gate fetches robots.txt, tdmrep.json (and later ai.txt) through Scrapy and hands the
outcome to the pure policy code as a :class:`FetchResult`. :func:`classify` applies heed's
status table, which is stricter than RFC 9309 where the RFC would let a crawler guess:

==========================  ============  =========================================
outcome                     state         why
==========================  ============  =========================================
2xx                         ``ok``        the body is parsed (first 500 KiB)
404, 410                    ``absent``    the file does not exist: no rules
401, 403, 407, 451          ``forbidden`` the site refuses automated access: deny
429, 5xx                    ``unreachable`` could not check: hold, retry later
other 1xx/3xx/4xx           ``unreachable`` unexpected answer: hold, never guess allow
network error, timeout,     ``unreachable`` could not check: hold
DNS error, truncated body,
more than 5 redirects
==========================  ============  =========================================

A non-2xx body is never parsed: Scrapy's own middleware parses 5xx error pages as rules
and so fails open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final, Literal

State = Literal["ok", "absent", "forbidden", "unreachable"]

MAX_REDIRECTS: Final = 5

_ABSENT: Final = frozenset({404, 410})
_FORBIDDEN: Final = frozenset({401, 403, 407, 451})


@dataclass(frozen=True)
class FetchResult:
    """One policy-file fetch as the network layer saw it.

    ``status`` is None when no response arrived; ``error`` then names the failure
    (``timeout``, ``dns``, ``connection``, ``truncated``, ``too-many-redirects``,
    ``security``, ...). ``headers`` maps lower-case header names to every value received.
    """

    url: str
    status: int | None
    body: bytes = b""
    #: what was fetched: "robots.txt", "tdmrep.json", "headers" (a response's header block)
    kind: str = ""
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    error: str | None = None
    redirects: int = 0
    fetched_at: float = 0.0

    @cached_property
    def sha256(self) -> str:
        """Digest of the body exactly as received (the evidence key)."""
        return hashlib.sha256(self.body).hexdigest()


def classify(result: FetchResult) -> tuple[State, str]:
    """Map a fetch outcome to a state and a short detail for reason codes.

    The detail is the status code (``"503"``) or the error name (``"timeout"``).
    """
    if result.error is not None or result.status is None:
        return "unreachable", result.error or "no-response"
    if result.redirects > MAX_REDIRECTS:
        return "unreachable", "too-many-redirects"
    status = result.status
    detail = str(status)
    if 200 <= status < 300:
        return "ok", detail
    if status in _ABSENT:
        return "absent", detail
    if status in _FORBIDDEN:
        return "forbidden", detail
    return "unreachable", detail


__all__ = ["MAX_REDIRECTS", "FetchResult", "State", "classify"]

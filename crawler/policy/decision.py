"""The value every policy check returns.

A check never answers with a bare bool: the provenance log must be able to say *why* a URL
was fetched, refused or held, and on which evidence. So every check builds a
:class:`Decision` that carries the verdict, stable reason codes (``family`` or
``family:detail``, see DESIGN.md), the evidence the decision rests on (by sha256), the rules
that matched (human-readable, with line numbers where there are lines) and the raw signal
values that were read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

Verdict = Literal["allow", "deny", "hold"]
Stage = Literal["fetch", "use", "item"]

ALLOW: Final = "allow"
DENY: Final = "deny"
HOLD: Final = "hold"

FETCH: Final = "fetch"
USE: Final = "use"
ITEM: Final = "item"

#: Severity order used when decisions are combined: one deny beats everything (a reservation
#: from any mechanism wins), a hold beats an allow (could-not-check is never allow).
_RANK: Final = {ALLOW: 0, HOLD: 1, DENY: 2}


@dataclass(frozen=True, slots=True)
class Evidence:
    """A policy file or header block a decision rests on, named by the sha256 of its bytes."""

    kind: str  # "robots.txt", "tdmrep.json", "headers", "registry", "ai-tokens"
    url: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """One verdict about one URL (or item) at one stage."""

    verdict: Verdict
    stage: Stage
    url: str
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    #: Rules that decided, e.g. ``robots.txt:7 Disallow: /private/`` or
    #: ``tdmrep.json[0] location=/music/``.
    rules: tuple[str, ...] = ()
    #: Raw signal values as read, e.g. ``("tdm-reservation", "1")``.
    signals: tuple[tuple[str, str], ...] = ()
    http_status: int | None = None
    item_type: str | None = None
    item_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOW

    @property
    def families(self) -> tuple[str, ...]:
        """Reason families (the part before ``:``), in order, without repeats."""
        return tuple(dict.fromkeys(r.split(":", 1)[0] for r in self.reasons))


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What one mechanism says about one URL, before findings are combined.

    ``verdict`` is ``allow`` when the mechanism found nothing against the URL (or explicitly
    allowed it), ``deny`` for a reservation or a refusal, ``hold`` when the mechanism could
    not be checked. Pure check functions return findings; :func:`combine` turns them into
    a :class:`Decision`.
    """

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    rules: tuple[str, ...] = ()
    signals: tuple[tuple[str, str], ...] = ()


CLEAR: Final = Finding(verdict=ALLOW)


def worst(verdicts: Iterable[str]) -> Verdict:
    """The most restrictive of several verdicts (deny > hold > allow); allow when empty."""
    best: Verdict = ALLOW
    for v in verdicts:
        if _RANK[v] > _RANK[best]:
            best = v  # type: ignore[assignment]
    return best


def _unique(seq: Iterable) -> tuple:
    return tuple(dict.fromkeys(seq))


def combine(
    findings: Iterable[Finding],
    *,
    stage: Stage,
    url: str,
    http_status: int | None = None,
    item_type: str | None = None,
    item_id: str | None = None,
) -> Decision:
    """Combine the findings of several mechanisms into one decision.

    The verdict is the most restrictive one: an explicit allow from one mechanism never
    cancels another's reservation. Reasons are kept only from findings that restrict
    (a clean allow has no reasons); evidence, rules and raw signals are kept from every
    finding, so the log shows what was consulted even when it allowed.
    """
    findings = tuple(findings)
    verdict = worst(f.verdict for f in findings)
    return Decision(
        verdict=verdict,
        stage=stage,
        url=url,
        reasons=_unique(r for f in findings if f.verdict != ALLOW for r in f.reasons),
        evidence=_unique(e for f in findings for e in f.evidence),
        rules=_unique(r for f in findings if f.verdict != ALLOW for r in f.rules)
        or _unique(r for f in findings for r in f.rules),
        signals=_unique(s for f in findings for s in f.signals),
        http_status=http_status,
        item_type=item_type,
        item_id=item_id,
    )


__all__ = [
    "ALLOW",
    "CLEAR",
    "DENY",
    "FETCH",
    "HOLD",
    "ITEM",
    "USE",
    "Decision",
    "Evidence",
    "Finding",
    "Stage",
    "Verdict",
    "combine",
    "worst",
]

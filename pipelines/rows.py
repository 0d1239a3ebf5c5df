"""A :class:`~crawler.policy.decision.Decision` as one row of the decisions table.

The contract columns come straight from the decision. The columns added for the auditor
(DESIGN.md: "matched group and rule line, raw header values, TDMRep location, registry
entry, policy/parser versions") are derived here from the decision's reasons, rules and
signals, and from a :class:`RowContext` the Scrapy glue fills from the request and the
response (redirect chain, User-Agent, content digest and length, raw signal headers).
Nothing here does I/O; :meth:`RowBuilder.row` runs once per decision on the event loop,
so it sticks to string work.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import crawler
from crawler.policy.decision import Decision
from crawler.policy.origin import origin_of

#: The policy parsers are heed's own code (robots.txt RFC 9309 matcher, TDMRep, X-Robots-Tag,
#: registry), versioned with heed; this names them in every row so a later reader knows
#: which rules produced the verdict.
PARSER_VERSION: Final = f"heed-policy/{crawler.__version__} (robots.txt RFC 9309, TDMRep, X-Robots-Tag, registry)"

#: Response headers recorded raw in the ``headers`` column when present.
RECORDED_HEADERS: Final = (
    "tdm-reservation",
    "tdm-policy",
    "x-robots-tag",
    "content-usage",
    "content-signal",
    "link",
)

_ROBOTS_RULE: Final = re.compile(r"^robots\.txt:(\d+) ")
_TDM_LOCATION: Final = re.compile(r"^tdmrep\.json\[\d+\] location=(\S*)")
_TDM_POLICY: Final = re.compile(r"tdm-policy=(\S+)")
_ROBOTS_GROUP_REASONS: Final = ("robots.disallow:", "robots.ai-token:")


@dataclass(frozen=True, slots=True)
class RowContext:
    """What the request and response add to a decision row."""

    redirect_chain: tuple[str, ...] = ()
    user_agent: str | None = None
    content_type: str | None = None
    content_sha256: str | None = None
    content_length: int | None = None
    headers: tuple[tuple[str, str], ...] = ()


NO_CONTEXT: Final = RowContext()


def row_context(request: Any, response: Any) -> RowContext:
    """Redirect chain and User-Agent from a Scrapy request; content type, digest, length
    and raw signal headers from its response (either may be None)."""
    if request is None and response is None:
        return NO_CONTEXT
    chain: tuple[str, ...] = ()
    agent = None
    if request is not None:
        chain = tuple(request.meta.get("redirect_urls") or ())
        ua = request.headers.get(b"User-Agent")
        agent = ua.decode("latin-1") if ua else None
    if response is None:
        return RowContext(redirect_chain=chain, user_agent=agent)
    headers = tuple(
        (name, value.decode("latin-1")) for name in RECORDED_HEADERS for value in response.headers.getlist(name)
    )
    body = response.body
    content_type = response.headers.get(b"Content-Type")
    return RowContext(
        redirect_chain=chain,
        user_agent=agent,
        content_type=content_type.decode("latin-1") if content_type else None,
        content_sha256=hashlib.sha256(body).hexdigest(),
        content_length=len(body),
        headers=headers,
    )


def decision_id(decision: Decision, policy_hash: str) -> str:
    """Deterministic id: equal decisions (same inputs, same outcome) share it."""
    text = "\x1f".join(
        (
            decision.stage,
            decision.url,
            decision.item_id or "",
            decision.verdict,
            "\x1e".join(decision.reasons),
            "\x1e".join(e.sha256 for e in decision.evidence),
            policy_hash,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def robots_line(rules: Sequence[str]) -> int | None:
    for rule in rules:
        m = _ROBOTS_RULE.match(rule)
        if m:
            return int(m[1])
    return None


def robots_group(reasons: Sequence[str]) -> str | None:
    for reason in reasons:
        for prefix in _ROBOTS_GROUP_REASONS:
            if reason.startswith(prefix):
                return reason[len(prefix):]
    return None


def tdmrep_location(rules: Sequence[str]) -> str | None:
    for rule in rules:
        m = _TDM_LOCATION.match(rule)
        if m:
            return m[1]
    return None


def tdm_policy(decision: Decision) -> str | None:
    for name, value in decision.signals:
        if name in ("tdm-policy", "meta:tdm-policy") and value.strip():
            return value.strip()
    for rule in decision.rules:
        m = _TDM_POLICY.search(rule)
        if m:
            return m[1]
    return None


def registry_ids(reasons: Sequence[str]) -> list[str]:
    return [r.split(":", 1)[1] for r in reasons if r.startswith("registry") and ":" in r and not r.endswith(":bad-url")]


class RobotsGroups:
    """Names the robots.txt group heed's own token falls into at an origin.

    The group does not depend on the URL's path, so it is computed once per loaded
    :class:`~crawler.policy.origin.OriginPolicy` (the gate announces each on
    ``policy_loaded``); the origin is read off the robots.txt evidence URL, which the gate
    builds as ``<origin>/robots.txt``. Bounded: past ``limit`` origins the oldest go.
    """

    def __init__(self, agent_token: str, limit: int) -> None:
        self.agent_token = agent_token
        self.limit = limit
        self._policies: dict[str, Any] = {}
        self._names: dict[int, str] = {}

    def loaded(self, origin: str, policy: Any) -> None:
        self._policies.pop(origin, None)
        self._policies[origin] = policy
        if len(self._policies) > self.limit:
            del self._policies[next(iter(self._policies))]
            self._names.clear()

    def group(self, decision: Decision) -> str | None:
        robots = next((e for e in decision.evidence if e.kind == "robots.txt"), None)
        if robots is None or not robots.url.endswith("/robots.txt"):
            return None
        origin = robots.url[: -len("/robots.txt")]
        policy = self._policies.get(origin)
        if policy is None or getattr(policy, "robots", None) is None:
            return None
        name = self._names.get(id(policy))
        if name is None:
            match = policy.robots.match(self.agent_token, f"{origin}/", fallback=True)
            name = self._names[id(policy)] = match.agents[0] if match is not None and match.agents else ""
        return name or None


class RowBuilder:
    """Builds decision rows for one worker (the per-run values are fixed at creation)."""

    def __init__(
        self,
        *,
        run_id: str,
        worker: str,
        policy_hash: str,
        agent_token: str,
        strict: bool,
        user_agent: str | None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.run_id = run_id
        self.worker = worker
        self.policy_hash = policy_hash
        self.agent_token = agent_token
        self.strict = strict
        self.user_agent = user_agent
        self._clock = clock

    @property
    def constants(self) -> dict[str, Any]:
        """Columns whose value is the same in every row this builder makes."""
        return {"run_id": self.run_id, "worker": self.worker, "policy_hash": self.policy_hash,
                "agent_token": self.agent_token, "strict": self.strict, "heed_version": crawler.__version__,
                "parser_version": PARSER_VERSION}

    def origin(self, url: str) -> str:
        """The origin column: the gate's own policy-cache key for the URL."""
        return origin_of(url)

    def row(
        self,
        decision: Decision,
        seq: int,
        *,
        context: RowContext = NO_CONTEXT,
        evidence_ids: Mapping[tuple[str, str, str], str] | None = None,
        group: str | None = None,
    ) -> dict[str, Any]:
        """One row of :data:`pipelines.schema.DECISIONS`. ``group`` is the robots.txt group
        that applied when the reasons do not name it (an allowing rule)."""
        ids = evidence_ids or {}
        rules, reasons, evidence = decision.rules, decision.reasons, decision.evidence
        return {
            "run_id": self.run_id,
            "worker": self.worker,
            "seq": seq,
            "ts": self._clock() // 1000,
            "stage": decision.stage,
            "verdict": decision.verdict,
            "reasons": list(reasons),
            "url": decision.url,
            "origin": self.origin(decision.url),
            "http_status": decision.http_status,
            "evidence": [{"kind": e.kind, "url": e.url, "sha256": e.sha256} for e in evidence],
            "item_type": decision.item_type,
            "item_id": decision.item_id,
            "policy_hash": self.policy_hash,
            "rules": list(rules),
            "signals": [{"name": n, "value": v} for n, v in decision.signals],
            "agent_token": self.agent_token,
            "strict": self.strict,
            "decision_id": decision_id(decision, self.policy_hash),
            "evidence_ids": [ids.get((e.kind, e.url, e.sha256)) for e in evidence],
            "robots_group": (robots_group(reasons) if reasons else None) or group,
            "robots_line": robots_line(rules) if rules else None,
            "tdmrep_location": tdmrep_location(rules) if rules else None,
            "tdm_policy": tdm_policy(decision) if rules or decision.signals else None,
            "registry_ids": registry_ids(reasons) if reasons else [],
            "headers": [{"name": n, "value": v} for n, v in context.headers],
            "content_type": context.content_type,
            "redirect_chain": list(context.redirect_chain),
            "content_sha256": context.content_sha256,
            "content_length": context.content_length,
            "user_agent": context.user_agent or self.user_agent,
            "heed_version": crawler.__version__,
            "parser_version": PARSER_VERSION,
        }


__all__ = [
    "NO_CONTEXT",
    "RobotsGroups",
    "PARSER_VERSION",
    "RECORDED_HEADERS",
    "RowBuilder",
    "RowContext",
    "decision_id",
    "origin_of",
    "registry_ids",
    "row_context",
    "robots_group",
    "robots_line",
    "tdm_policy",
    "tdmrep_location",
]

"""The precedence engine: everything heed knows about one origin, and the two questions.

An origin is scheme + host + port (RFC 9309: http and https, and every port, are different
services). Before the first content request to an origin the gate fetches its policy files;
:func:`build_origin_policy` turns those fetches into an :class:`OriginPolicy`, which then
answers, per URL and without any I/O:

* :func:`fetch_decision` — may heed fetch this URL? This already includes every signal that
  can be read before fetching and that answers "may the content be used?" with no: rules
  for known AI-training tokens, and tdmrep.json. A URL whose content could not be used is
  not fetched at all.
* :func:`use_decision` — after fetching: may the content enter the dataset? (response
  headers and HTML meta).

Combination is deny-biased (:func:`crawler.policy.decision.combine`): any reservation from
any mechanism wins, a could-not-check is a hold, never an allow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crawler.policy import aipref, aitxt, contentsignal, embedded, rsl, tdmrep, xrobots
from crawler.policy.decision import (
    ALLOW,
    DENY,
    FETCH,
    HOLD,
    USE,
    Decision,
    Evidence,
    Finding,
    combine,
)
from crawler.policy.fetchresult import FetchResult, State, classify
from crawler.policy.robots import RobotsTxt
from crawler.policy.aitxt import AiTxt
from crawler.policy.tdmrep import TdmrepFile

if TYPE_CHECKING:
    from crawler.policy.config import PolicyConfig

#: Response headers that carry a use signal; their values are archived as evidence.
SIGNAL_HEADERS = (
    "tdm-reservation",
    "tdm-policy",
    "x-robots-tag",
    "content-usage",
    "content-signal",
    "link",
    "www-authenticate",
)

#: Most RSL licence documents fetched for one origin's robots.txt ``License:`` lines.
MAX_LICENSE_DOCUMENTS = 3

#: Content types whose bytes are read for embedded signals (XMP, C2PA, rights tags): every
#: one but text and markup. A list of the types that *may* carry them would miss files
#: served as application/ogg, binary/octet-stream or with no type at all.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml",
               "application/rss+xml", "application/atom+xml", "application/ld+json")


def _may_embed(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return not kind.startswith(_TEXT_TYPES)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit (the policy cache key).

    Runs several times per page: the work is cached on the ``scheme://authority`` prefix.
    """
    start = url.find("//")
    if start < 0:
        return _origin_of_prefix(url)
    end = start + 2
    while end < len(url) and url[end] not in "/?#":
        end += 1
    return _origin_of_prefix(url[:end])


@lru_cache(maxsize=4096)
def _origin_of_prefix(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    # a scheme without a known default port (never fetched: the guard refuses it) has none
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One fetched policy file: the raw fetch, its state in the status table, its evidence."""

    result: FetchResult
    state: State
    detail: str
    #: built once: every decision about the origin's URLs cites it
    evidence: Evidence
    signal: tuple[str, str]

    @classmethod
    def of(cls, result: FetchResult) -> PolicyFile:
        state, detail = classify(result)
        evidence = Evidence(kind=result.kind, url=result.url, sha256=result.sha256)
        return cls(result, state, detail, evidence, (f"{result.kind} status", detail))

    def status_signal(self) -> tuple[str, str]:
        return self.signal


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """The policy files of one origin, parsed once, with the tokens worth checking."""

    origin: str
    robots_file: PolicyFile
    robots: RobotsTxt | None
    tdmrep_file: PolicyFile
    tdmrep: TdmrepFile | None
    #: AI tokens that both reserve (per the token list and strict flag) and have a group in
    #: this robots.txt: only these are matched per URL.
    ai_tokens: tuple[str, ...]
    fetched_at: float
    expires_at: float
    #: Spawning's /ai.txt (None when not fetched).
    aitxt_file: PolicyFile | None = None
    aitxt: AiTxt | None = None
    #: RSL licence documents named by robots.txt ``License:`` lines, as fetched.
    licenses: tuple[FetchResult, ...] = ()
    #: Reserving AI tokens that have a group in ai.txt (robots.txt need not name them).
    aitxt_tokens: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """True when a policy file could not be checked (short cache lifetime)."""
        files = [self.robots_file, self.tdmrep_file]
        if self.aitxt_file is not None:
            files.append(self.aitxt_file)
        if any(f.state == "unreachable" for f in files):
            return True
        return any(classify(r)[0] != "ok" for r in self.licenses)


def build_origin_policy(
    origin: str,
    robots_result: FetchResult,
    tdmrep_result: FetchResult,
    config: PolicyConfig,
    *,
    now: float,
    aitxt_result: FetchResult | None = None,
    licenses: tuple[FetchResult, ...] = (),
) -> OriginPolicy:
    robots_file = PolicyFile.of(robots_result)
    tdm_file = PolicyFile.of(tdmrep_result)
    robots: RobotsTxt | None = None
    if robots_file.state == "ok":
        robots = RobotsTxt.parse(robots_result.body)
    elif robots_file.state == "absent":
        robots = RobotsTxt.empty()
    tdm = TdmrepFile.parse(tdmrep_result.body) if tdm_file.state == "ok" else None
    ai_tokens: tuple[str, ...] = ()
    reserving = config.ai_tokens.reserving(config.strict)
    if robots is not None:
        ai_tokens = tuple(sorted(t for t in robots.agents if t in reserving))
    policy = OriginPolicy(
        origin=origin,
        robots_file=robots_file,
        robots=robots,
        tdmrep_file=tdm_file,
        tdmrep=tdm,
        ai_tokens=ai_tokens,
        fetched_at=now,
        expires_at=0.0,
        aitxt_file=None if aitxt_result is None else PolicyFile.of(aitxt_result),
        aitxt=(
            AiTxt.parse(aitxt_result.body)
            if aitxt_result is not None and classify(aitxt_result)[0] == "ok"
            else None
        ),
        licenses=licenses,
    )
    if policy.aitxt is not None:
        object.__setattr__(policy, "aitxt_tokens",
                           tuple(sorted(t for t in policy.aitxt.robots.agents if t in reserving)))
    ttl = config.failure_ttl if policy.failed else config.cache_ttl
    object.__setattr__(policy, "expires_at", now + ttl)
    return policy


def _robots_status_finding(policy: OriginPolicy) -> Finding | None:
    """A finding when robots.txt could not be used at all (it then answers both questions)."""
    found = _file_state_finding(policy.robots_file, "robots")
    # an absent robots.txt (404/410) is an empty file, read like any other
    return None if found is None or found.verdict == ALLOW else found


def _robots_signals(policy: OriginPolicy) -> tuple[tuple[str, str], ...]:
    signals = (policy.robots_file.status_signal(),)
    if policy.robots is not None and policy.robots.truncated:
        signals += (("robots.txt truncated", "true"),)
    return signals


def _own_findings(policy: OriginPolicy, url: str, config: PolicyConfig) -> list[Finding]:
    """robots.txt read for heed's own token (``*`` as fallback) and the tokens it also obeys."""
    status = _robots_status_finding(policy)
    if status is not None:
        return [status]
    robots = policy.robots
    assert robots is not None
    ev = (policy.robots_file.evidence,)
    signals = _robots_signals(policy)
    findings: list[Finding] = []
    own = robots.match(config.agent_token, url, fallback=True)
    if own is not None and not own.allowed and own.rule is not None:
        group = own.agents[0] if own.agents else "*"
        findings.append(
            Finding(verdict=DENY, reasons=(f"robots.disallow:{group}",), evidence=ev,
                    rules=(own.rule.describe(),), signals=signals)
        )
    for token in config.also_obey:
        m = robots.match(token, url, fallback=False)
        if m is not None and not m.allowed and m.rule is not None:
            findings.append(
                Finding(verdict=DENY, reasons=(f"robots.disallow:{token}",), evidence=ev,
                        rules=(m.rule.describe(),), signals=signals)
            )
    if not findings:
        rules = (own.rule.describe(),) if own is not None and own.rule is not None else ()
        findings.append(Finding(verdict=ALLOW, evidence=ev, rules=rules, signals=signals))
    return findings


def _ai_token_findings(policy: OriginPolicy, url: str, config: PolicyConfig) -> list[Finding]:
    """robots.txt groups for known AI-training tokens: a Disallow there is a reservation.

    Each token is read as its operator would (exact group, no ``*`` fallback), so a plain
    ``User-agent: *`` rule is never mistaken for an AI clause.
    """
    status = _robots_status_finding(policy)
    if status is not None:
        return [status]
    robots = policy.robots
    assert robots is not None
    ev = (policy.robots_file.evidence,)
    findings: list[Finding] = []
    for token, m in robots.match_many(policy.ai_tokens, url).items():
        if not m.allowed and m.rule is not None:
            known = config.ai_tokens.by_token(token)
            name = known.token if known else token
            findings.append(
                Finding(verdict=DENY, reasons=(f"robots.ai-token:{name}",), evidence=ev,
                        rules=(m.rule.describe(),), signals=_robots_signals(policy))
            )
    return findings


def _file_state_finding(pf: PolicyFile, family: str) -> Finding | None:
    """What a policy file's fetch outcome says by itself; None when its body is to be read.

    Unreachable → hold, forbidden → deny, absent → nothing against the URL.
    """
    ev = (pf.evidence,)
    signals = (pf.status_signal(),)
    if pf.state == "unreachable":
        return Finding(verdict=HOLD, reasons=(f"{family}.unreachable:{pf.detail}",), evidence=ev, signals=signals)
    if pf.state == "forbidden":
        return Finding(verdict=DENY, reasons=(f"{family}.forbidden:{pf.detail}",), evidence=ev, signals=signals)
    if pf.state == "absent":
        return Finding(verdict=ALLOW, evidence=ev, signals=signals)
    return None


def _tdmrep_file_finding(policy: OriginPolicy, url: str, config: PolicyConfig) -> Finding:
    pf = policy.tdmrep_file
    by_state = _file_state_finding(pf, "tdmrep")
    if by_state is not None:
        return by_state
    return tdmrep.file_finding(policy.tdmrep, url, strict=config.strict, evidence=pf.evidence)


def fetch_question(
    policy: OriginPolicy, url: str, config: PolicyConfig, *, registry: Finding | None = None
) -> list[Finding]:
    """May heed fetch ``url`` at all? Registry and robots.txt for heed's own token."""
    findings = [] if registry is None else [registry]
    return findings + _own_findings(policy, url, config)


def _robots_extension_findings(policy: OriginPolicy, url: str, config: PolicyConfig) -> list[Finding]:
    """Usage rules that ride in robots.txt: AIPREF Content-Usage and Content-Signal."""
    robots = policy.robots
    if robots is None or policy.robots_file.state != "ok":
        return []  # an unusable robots.txt is already a hold or deny
    ev = policy.robots_file.evidence
    token, strict = config.agent_token, config.strict
    findings = []
    # most files have neither line: skip the per-URL work then (records() is memoised)
    if robots.records("content-usage"):
        findings.append(aipref.robots_finding(robots, token, url, strict=strict, ai_tokens=policy.ai_tokens,
                                              evidence=ev))
    if robots.records("content-signal"):
        findings.append(contentsignal.robots_finding(robots, token, url, strict=strict,
                                                     ai_tokens=frozenset(policy.ai_tokens), evidence=ev))
    return findings


def _aitxt_finding(policy: OriginPolicy, url: str, config: PolicyConfig) -> Finding | None:
    pf = policy.aitxt_file
    if pf is None:
        return None
    by_state = _file_state_finding(pf, "ai-txt")
    if by_state is not None:
        return by_state
    return aitxt.finding(policy.aitxt, url, config.agent_token, strict=config.strict,
                         ai_tokens=policy.aitxt_tokens, evidence=pf.evidence)


def use_question(policy: OriginPolicy, url: str, config: PolicyConfig) -> list[Finding]:
    """May the content enter the dataset, as far as can be known before fetching?

    AI-token groups, Content-Usage and Content-Signal in robots.txt, tdmrep.json, ai.txt
    and the RSL licences named by robots.txt.
    """
    findings = _ai_token_findings(policy, url, config)
    findings += _robots_extension_findings(policy, url, config)
    findings.append(_tdmrep_file_finding(policy, url, config))
    ai = _aitxt_finding(policy, url, config)
    if ai is not None:
        findings.append(ai)
    findings += [rsl.result_finding(doc, url, strict=config.strict) for doc in policy.licenses]
    return findings


def fetch_decision(
    policy: OriginPolicy, url: str, config: PolicyConfig, *, registry: Finding | None = None
) -> Decision:
    """The fetch-stage decision: both questions, since content that could not be used is
    not fetched at all."""
    findings = fetch_question(policy, url, config, registry=registry)
    findings += use_question(policy, url, config)
    return combine(findings, stage=FETCH, url=url)


def registry_decision(finding: Finding, url: str) -> Decision:
    """A fetch-stage decision taken on the registry alone (no policy file needed)."""
    return combine([finding], stage=FETCH, url=url)


def rsl_links(url: str, headers: Mapping[str, Sequence[str]], links: Sequence[rsl.Link]) -> tuple[str, ...]:
    """RSL licence documents a response points to (Link header or HTML ``<link>``)."""
    found = rsl.parse_link_header(list(headers.get("link", ()))) + tuple(links)
    return rsl.links_finding(found, url)[0]


def _rsl_link_findings(
    url: str,
    headers: Mapping[str, Sequence[str]],
    links: Sequence[rsl.Link],
    licenses: Mapping[str, FetchResult],
    config: PolicyConfig,
) -> list[Finding]:
    found = rsl.parse_link_header(list(headers.get("link", ()))) + tuple(links)
    urls, pending = rsl.links_finding(found, url)
    if not urls:
        return [pending]
    findings = []
    for doc_url in urls:
        result = licenses.get(doc_url)
        # a document the caller could not fetch keeps the URL held (rsl.pending)
        findings.append(pending if result is None else rsl.result_finding(result, url, strict=config.strict))
    return findings


def use_decision(
    policy: OriginPolicy | None,
    url: str,
    config: PolicyConfig,
    *,
    status: int | None,
    headers: Mapping[str, Sequence[str]],
    meta: Sequence[tuple[str, str]],
    content_type: str,
    evidence: tuple[Evidence, ...] = (),
    body: bytes = b"",
    links: Sequence[rsl.Link] = (),
    licenses: Mapping[str, FetchResult] | None = None,
) -> Decision:
    """May the fetched content enter the dataset? Response headers and HTML meta.

    ``headers`` holds only lower-cased signal headers with every value received; ``meta``
    the ``(name, content)`` pairs of the ``<head>`` meta elements; ``evidence`` names the
    archived header block and meta block the signals were read from.
    """
    file_rule = None
    if policy is not None and policy.tdmrep is not None:
        file_rule = policy.tdmrep.match(url)
    findings = [
        tdmrep.response_finding(
            file_rule, headers, meta, strict=config.strict, evidence=evidence[0] if evidence else None
        ),
        xrobots.x_robots_finding(
            list(headers.get("x-robots-tag", ())), config.agent_token,
            strict=config.strict, content_type=content_type,
        ),
        xrobots.meta_robots_finding(
            meta, config.agent_token, strict=config.strict, content_type=content_type
        ),
        aipref.header_finding(list(headers.get("content-usage", ())), strict=config.strict),
        contentsignal.header_finding(list(headers.get("content-signal", ())), strict=config.strict),
        rsl.auth_finding(status or 0, list(headers.get("www-authenticate", ()))),
    ]
    findings += _rsl_link_findings(url, headers, links, licenses or {}, config)
    if body and _may_embed(content_type):
        found = embedded.embedded_finding(body, strict=config.strict)
        if found.verdict != ALLOW and not found.evidence:
            # the file itself is the evidence; it is named by its digest, not archived
            found = Finding(verdict=found.verdict, reasons=found.reasons, rules=found.rules,
                            signals=found.signals,
                            evidence=(Evidence(kind="content", url=url, sha256=hashlib.sha256(body).hexdigest()),))
        findings.append(found)
    if evidence:
        findings = [
            Finding(verdict=f.verdict, reasons=f.reasons, evidence=evidence, rules=f.rules, signals=f.signals)
            if f.signals and not f.evidence
            else f
            for f in findings
        ]
    return combine(findings, stage=USE, url=url, http_status=status)


__all__ = [
    "SIGNAL_HEADERS",
    "OriginPolicy",
    "PolicyFile",
    "build_origin_policy",
    "fetch_decision",
    "fetch_question",
    "origin_of",
    "registry_decision",
    "rsl_links",
    "use_decision",
    "use_question",
]

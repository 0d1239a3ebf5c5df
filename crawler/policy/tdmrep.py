"""W3C TDM Reservation Protocol (TDMRep): the well-known file, headers and HTML meta.

``tdm-reservation: 1`` is the machine-readable form of the EU DSM art. 4(3) opt-out, so heed
reads every carrier the protocol defines and applies the protocol's own precedence:

1. ``/.well-known/tdmrep.json``, checked before the host is crawled. Inside the file the
   *first* rule (in array order) whose ``location`` matches wins — not the longest one, as a
   robots.txt reader would assume.
2. The ``tdm-reservation`` / ``tdm-policy`` response headers supersede the file.
3. ``<meta name="tdm-reservation">`` / ``<meta name="tdm-policy">`` in the HTML head supersede
   both.

A later carrier that is present supersedes earlier ones; absence never resets a value, and a
value other than ``0``/``1`` is a protocol error that leaves the property unset (it is logged).
In strict mode (heed's default) a conflict is resolved to the restrictive side: any carrier
saying ``1`` reserves, and disagreement is reported as ``tdmrep.conflict`` so an auditor sees
that the site contradicts itself. A ``tdm-policy`` is an offer to license, not a licence, so
it never lifts a reservation; it is recorded for whoever wants to ask for one.

Fetching the file (and holding when it is unreachable) is the caller's job; this module only
parses bytes and reads header and meta values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from crawler.policy.decision import ALLOW, DENY, Evidence, Finding
from crawler.policy.patterns import PathPattern, compile_pattern, normalize_path

logger = logging.getLogger(__name__)

RESERVATION: Final = "tdm-reservation"
POLICY: Final = "tdm-policy"


def _reservation_value(raw: Any) -> int | None:
    """0 or 1 for a valid value, None for anything else (a protocol error: unset).

    JSON numbers 0/1 are the specified form (``1.0`` is the same number); the strings
    ``"0"``/``"1"`` (what the header and meta carriers hold anyway) are read the same way.
    Booleans are not numbers here.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return int(raw)
    if isinstance(raw, str) and raw.strip() in ("0", "1"):
        return int(raw.strip())
    return None


def _location_pattern(location: str) -> str:
    """The path pattern a ``location`` stands for.

    The protocol asks for a path pattern. Two forms sites write instead are read for what they
    evidently mean: a full URL (its path and query are used) and a path without its leading
    ``/`` (``music/*`` → ``/music/*``). An empty location matches every path, as an empty
    pattern does.
    """
    loc = location.strip()
    if loc[:7].lower() == "http://" or loc[:8].lower() == "https://":
        try:
            parts = urlsplit(loc)
        except ValueError:
            return loc
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    if loc and not loc.startswith(("/", "*")):
        return "/" + loc
    return loc


@dataclass(frozen=True, slots=True)
class TdmRule:
    """One object of the tdmrep.json array."""

    index: int
    location: str
    #: 1 reserved, 0 not reserved, None for a value other than 0/1 (protocol error → unset)
    reservation: int | None
    policy: str | None
    #: the ``tdm-reservation`` value as written (JSON text), for the log
    raw: str = ""

    def describe(self) -> str:
        text = f"tdmrep.json[{self.index}] location={self.location} {RESERVATION}={self.raw}"
        return f"{text} {POLICY}={self.policy}" if self.policy else text


@dataclass(frozen=True, slots=True)
class TdmrepFile:
    """A parsed ``/.well-known/tdmrep.json``.

    An invalid file has no rules: the protocol makes it unusable, and whether that reserves
    is decided by :func:`file_finding` (strict mode says it does).
    """

    rules: tuple[TdmRule, ...]
    #: None if valid; else a short reason ("not-utf8", "not-json", "not-an-array", ...)
    invalid: str | None = None
    _patterns: tuple[PathPattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_patterns",
            tuple(compile_pattern(_location_pattern(r.location)) for r in self.rules),
        )

    @classmethod
    def parse(cls, body: bytes) -> TdmrepFile:
        """Parse the file's bytes (UTF-8, a BOM is tolerated). Never raises."""
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            return cls((), "not-utf8")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return cls((), "not-json")
        if not isinstance(data, list):
            return cls((), "not-an-array")
        rules: list[TdmRule] = []
        for i, obj in enumerate(data):
            if not isinstance(obj, dict):
                return cls((), f"rule-{i}-not-an-object")
            if "location" not in obj:
                return cls((), f"rule-{i}-no-location")
            location = obj["location"]
            if not isinstance(location, str):
                return cls((), f"rule-{i}-location-not-a-string")
            raw_value = obj.get(RESERVATION)
            raw = _json_text(raw_value) if RESERVATION in obj else "(missing)"
            policy = obj.get(POLICY)
            rules.append(
                TdmRule(
                    index=i,
                    location=location,
                    reservation=_reservation_value(raw_value),
                    policy=(policy.strip() or None) if isinstance(policy, str) else None,
                    raw=raw,
                )
            )
        return cls(tuple(rules))

    def match(self, url: str) -> TdmRule | None:
        """The FIRST rule, in array order, whose location matches the URL (not the longest)."""
        if not self.rules:
            return None
        path = normalize_path(url)
        for rule, pattern in zip(self.rules, self._patterns):
            if pattern.matches(path):
                return rule
        return None


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)[:200]
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:200]


def file_finding(
    tdm: TdmrepFile | None, url: str, *, strict: bool, evidence: Evidence | None
) -> Finding:
    """What the well-known file says about a URL, before it is fetched.

    ``tdm`` None means the file is absent (404/410): the site does not use the protocol.
    """
    ev = (evidence,) if evidence is not None else ()
    if tdm is None:
        return Finding(verdict=ALLOW, evidence=ev)
    if tdm.invalid is not None:
        signals = (("tdmrep-invalid", tdm.invalid),)
        rule = f"tdmrep.json invalid: {tdm.invalid}"
        if strict:
            return Finding(
                verdict=DENY,
                reasons=(f"tdmrep.invalid:{tdm.invalid}",),
                evidence=ev,
                rules=(rule,),
                signals=signals,
            )
        logger.debug("invalid tdmrep.json (%s) ignored for %s: not strict", tdm.invalid, url)
        return Finding(verdict=ALLOW, evidence=ev, rules=(rule,), signals=signals)
    rule = tdm.match(url)
    if rule is None:
        return Finding(verdict=ALLOW, evidence=ev)
    if rule.reservation is None:
        return Finding(
            verdict=ALLOW,
            evidence=ev,
            rules=(rule.describe(),),
            signals=((RESERVATION, rule.raw), ("tdm-reservation-invalid", rule.raw)),
        )
    if rule.reservation == 1:
        signals: tuple[tuple[str, str], ...] = ((RESERVATION, "1"),)
        if rule.policy:
            signals += ((POLICY, rule.policy),)
        return Finding(
            verdict=DENY,
            reasons=("tdmrep.file",),
            evidence=ev,
            rules=(rule.describe(),),
            signals=signals,
        )
    return Finding(
        verdict=ALLOW, evidence=ev, rules=(rule.describe(),), signals=((RESERVATION, "0"),)
    )


@dataclass(frozen=True, slots=True)
class _Said:
    """One valid value read from one carrier."""

    carrier: str  # "file", "header", "meta"
    value: int
    rule: str


def _split_header(lines: Sequence[str]) -> list[str]:
    # Several header lines, or one line that a proxy joined with commas: the same list.
    return [v.strip() for line in lines for v in line.split(",") if v.strip()]


def response_finding(
    file_rule: TdmRule | None,
    headers: Mapping[str, Sequence[str]],
    meta: Sequence[tuple[str, str]],
    *,
    strict: bool,
    evidence: Evidence | None,
) -> Finding:
    """Combine the three carriers for a fetched response: file → header → HTML meta.

    ``file_rule`` is the rule of the well-known file that matched the URL (None if none did
    or there is no file); ``headers`` maps lower-case names to every value received; ``meta``
    holds (lower-case name, content) pairs from the HTML head.

    Signals: header values as ``("tdm-reservation", raw)``, meta values as
    ``("meta:tdm-reservation", raw)``, values that are neither 0 nor 1 again as
    ``("tdm-reservation-invalid", raw)``, disagreement as ``("tdmrep-conflict",
    "file=1,meta=0")``, and, when the result is a reservation, the ``tdm-policy`` of each
    reserving carrier.
    """
    said: list[_Said] = []
    signals: list[tuple[str, str]] = []
    policies: dict[str, list[tuple[str, str]]] = {"file": [], "header": [], "meta": []}

    if file_rule is not None:
        if file_rule.reservation is None:
            signals.append(("tdm-reservation-invalid", file_rule.raw))
        else:
            said.append(_Said("file", file_rule.reservation, file_rule.describe()))
            if file_rule.policy:
                policies["file"].append((POLICY, file_rule.policy))

    header_lines = tuple(headers.get(RESERVATION, ()))
    signals.extend((RESERVATION, line) for line in header_lines)
    policies["header"].extend((POLICY, p) for p in headers.get(POLICY, ()) if p.strip())
    for value in _split_header(header_lines):
        if value in ("0", "1"):
            said.append(_Said("header", int(value), f"header {RESERVATION}: {value}"))
        else:
            signals.append(("tdm-reservation-invalid", value))

    for name, content in meta:
        lname = name.strip().lower()
        if lname == POLICY and content.strip():
            policies["meta"].append((f"meta:{POLICY}", content))
        if lname != RESERVATION:
            continue
        signals.append((f"meta:{RESERVATION}", content))
        value = content.strip()
        if value in ("0", "1"):
            said.append(_Said("meta", int(value), f"meta {RESERVATION}={value}"))
        else:
            signals.append(("tdm-reservation-invalid", content))

    ev = (evidence,) if evidence is not None else ()
    if not said:
        return Finding(verdict=ALLOW, evidence=ev, signals=tuple(signals))

    conflict = len({s.value for s in said}) > 1
    if conflict:
        signals.append(("tdmrep-conflict", ",".join(f"{s.carrier}={s.value}" for s in said)))
    if strict:
        reserving = [s for s in said if s.value == 1]
    else:
        # The protocol's own precedence: the last carrier present decides.
        reserving = [said[-1]] if said[-1].value == 1 else []

    if not reserving:
        if conflict:
            logger.debug("tdmrep carriers disagree; non-strict mode lets the last value (0) decide")
        return Finding(
            verdict=ALLOW, evidence=ev, rules=(said[-1].rule,), signals=tuple(signals)
        )

    reasons = [f"tdmrep.{s.carrier}" for s in reserving]
    if conflict and strict:
        reasons.append("tdmrep.conflict")
        rules = [s.rule for s in said]
    else:
        rules = [s.rule for s in reserving]
    for carrier in dict.fromkeys(s.carrier for s in reserving):
        signals.extend(policies[carrier])
    return Finding(
        verdict=DENY,
        reasons=tuple(dict.fromkeys(reasons)),
        evidence=ev,
        rules=tuple(dict.fromkeys(rules)),
        signals=tuple(dict.fromkeys(signals)),
    )


__all__ = ["TdmRule", "TdmrepFile", "file_finding", "response_finding"]

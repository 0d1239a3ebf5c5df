"""Did a crawl succeed? One answer for a scheduler: an exit status and a one-line summary.

A run started by cron, a systemd timer or scrapyd has nobody watching its log. What the
scheduler sees is the process's exit status and what it printed on stdout, so both must say
plainly whether the crawl can be trusted. This module turns what a finished crawl left (its
stats, the result of verifying its run directory) into that answer. It is pure: no Scrapy,
no files, so every rule is a row in a table test.

A run **failed** when any of these holds (the first one found is the ``reason``):

=====================  =============================================================
reason                 meaning
=====================  =============================================================
``start``              the crawl never started (bad settings, a spider argument
                       error, an exception while opening)
``finish:<reason>``    the engine stopped for another reason than those accepted
                       (``finished`` by default): a shutdown signal, a
                       ``CLOSESPIDER_*`` limit, ``provenance_error``, ...
``spider-errors:<n>``  a spider callback raised (``spider_exceptions/*`` stats)
``policy-errors:<n>``  more policy checks crashed (and held their URL) than
                       ``JOB_MAX_POLICY_ERRORS`` allows (``policy/errors/*`` stats)
``no-run-dir``         the provenance log is enabled but no run directory exists
``verify:<n>``         ``scrapy audit verify`` reports ``n`` findings on the run
=====================  =============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Exit statuses of ``scrapy crawl`` (sysexits.h names where one fits).
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_LOCKED: Final = 75  # EX_TEMPFAIL: another run of the job holds the lock; try later

OK: Final = "ok"
FAILED: Final = "failed"
LOCKED: Final = "locked"

#: What ``verify`` means in the summary when the run directory was not checked at all.
NOT_CHECKED: Final = "off"  # the provenance log is not enabled in this crawl
NO_RUN_DIR: Final = "no-run-dir"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFacts:
    """Everything the outcome depends on, gathered after the crawl and its log have closed."""

    job: str = ""
    run_id: str = ""
    stats: Mapping[str, Any]
    #: verify findings; None when the log is not enabled (nothing to verify)
    findings: Sequence[str] | None = ()
    #: the provenance log is enabled but its run directory does not exist
    run_dir_missing: bool = False
    #: Scrapy could not even create or open the crawler
    bootstrap_failed: bool = False
    max_policy_errors: int = 0
    ok_finish_reasons: tuple[str, ...] = ("finished",)
    seconds: float = 0.0
    #: items of the job's earlier runs this run's policy now reserves (None: not a job run,
    #: or not computed)
    takedowns: int | None = None
    #: why the takedown list could not be made (the run then failed: a list that should
    #: exist and does not is never "nothing to take down")
    takedown_error: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one run: ``status`` ok/failed, the first ``reason``, the exit status."""

    status: str
    reason: str
    exit_code: int


def _count(stats: Mapping[str, Any], prefix: str, total_key: str | None = None) -> int:
    """A stat total: ``total_key`` when recorded, else the sum of every ``prefix*`` counter."""
    if total_key is not None and isinstance(stats.get(total_key), int):
        return int(stats[total_key])
    return sum(int(v) for k, v in stats.items() if k.startswith(prefix) and k != total_key and _is_count(v))


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def spider_errors(stats: Mapping[str, Any]) -> int:
    return _count(stats, "spider_exceptions/", "spider_exceptions/count")


def policy_errors(stats: Mapping[str, Any]) -> int:
    """Policy checks that raised: the gate held each such URL (``policy-error:<exc>``)."""
    return _count(stats, "policy/errors/")


def verdicts(stats: Mapping[str, Any]) -> dict[str, int]:
    """Gate decisions by verdict, every stage together (``policy/decisions/<stage>/<verdict>``)."""
    out = {"allow": 0, "deny": 0, "hold": 0}
    for key, value in stats.items():
        parts = key.split("/")
        if len(parts) == 4 and parts[:2] == ["policy", "decisions"] and parts[3] in out and _is_count(value):
            out[parts[3]] += value
    return out


def pages(stats: Mapping[str, Any]) -> int:
    """Content responses: every one gets a use-stage decision (policy files get none)."""
    used = sum(v for k, v in stats.items() if k.startswith("policy/decisions/use/") and _is_count(v))
    if used:
        return used
    return int(stats.get("response_received_count") or 0)  # a crawl without the gate


def verify_label(facts: RunFacts) -> str:
    if facts.findings is None:
        return NOT_CHECKED
    if facts.run_dir_missing:
        return NO_RUN_DIR
    return "clean" if not facts.findings else f"{len(facts.findings)}-findings"


def failures(facts: RunFacts) -> list[str]:
    """Every reason the run failed, most fundamental first; empty when it succeeded."""
    stats = facts.stats
    found: list[str] = []
    reason = stats.get("finish_reason")
    if facts.bootstrap_failed or reason is None:
        found.append("start")
    elif reason not in facts.ok_finish_reasons:
        found.append(f"finish:{_token(str(reason))}")
    if (n := spider_errors(stats)) > 0:
        found.append(f"spider-errors:{n}")
    if (n := policy_errors(stats)) > facts.max_policy_errors:
        found.append(f"policy-errors:{n}")
    if facts.findings is not None:
        if facts.run_dir_missing:
            found.append(NO_RUN_DIR)
        elif facts.findings:
            found.append(f"verify:{len(facts.findings)}")
    if facts.takedown_error is not None:
        found.append("takedown-error")
    return found


def decide(facts: RunFacts) -> Outcome:
    found = failures(facts)
    if found:
        return Outcome(FAILED, found[0], EXIT_FAILED)
    return Outcome(OK, "-", EXIT_OK)


def _token(value: str) -> str:
    """A value safe inside ``key=value`` (no spaces, no '='); '-' when empty."""
    cleaned = "".join(c if c.isprintable() and not c.isspace() and c != "=" else "_" for c in value)
    return cleaned or "-"


def format_line(fields: Iterable[tuple[str, Any]]) -> str:
    return "heed " + " ".join(f"{k}={_token(str(v))}" for k, v in fields)


def summary_line(facts: RunFacts, outcome: Outcome | None = None) -> str:
    """The one line a scheduler mails (stable keys, in this order)::

        heed job=<job|-> run=<run_id|-> status=ok|failed reason=<first failure|-> pages=N items=N
        unchanged=N allow=N deny=N hold=N policy_errors=N spider_errors=N verify=clean|<n>-findings|no-run-dir|off
        takedowns=N|- seconds=N exit=N

    ``takedowns`` counts the earlier items of a named job that this run's policy reserves
    (``-`` outside a job); a non-zero count does not fail the run, the list is its result.
    """
    outcome = outcome or decide(facts)
    stats = facts.stats
    counts = verdicts(stats)
    return format_line([
        ("job", facts.job or "-"),
        ("run", facts.run_id or "-"),
        ("status", outcome.status),
        ("reason", outcome.reason),
        ("pages", pages(stats)),
        ("items", int(stats.get("item_scraped_count") or 0)),
        ("unchanged", int(stats.get("recrawl/unchanged") or 0)),
        ("allow", counts["allow"]),
        ("deny", counts["deny"]),
        ("hold", counts["hold"]),
        ("policy_errors", policy_errors(stats)),
        ("spider_errors", spider_errors(stats)),
        ("verify", verify_label(facts)),
        ("takedowns", "-" if facts.takedowns is None else facts.takedowns),
        ("seconds", round(facts.seconds)),
        ("exit", outcome.exit_code),
    ])


def locked_line(job: str, holder: str) -> str:
    """The summary of a run that did not start because another run of the job is crawling."""
    return format_line([("job", job or "-"), ("run", "-"), ("status", LOCKED), ("reason", "lock-held"),
                        ("holder", holder or "-"), ("exit", EXIT_LOCKED)])


__all__ = [
    "EXIT_FAILED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FAILED",
    "LOCKED",
    "OK",
    "Outcome",
    "RunFacts",
    "decide",
    "failures",
    "locked_line",
    "pages",
    "policy_errors",
    "spider_errors",
    "summary_line",
    "verdicts",
]

"""The takedown list of a job run: what earlier runs collected that the newest run now reserves.

A site that opts out after heed crawled it gets no new request (the gate reads its policy
files again every run), but items from earlier runs may already sit in a dataset. After
each run of a job, :func:`takedowns_for_job` rechecks every earlier run in the job's
history against the new run (``scrapy audit recheck OLD --against NEW``: the new run's
archived policy files, through the gate's own precedence engine, and its refusals of the
exact URLs) and writes one CSV — the columns of ``audit recheck`` — to
``JobPaths.takedown(<new run id>)``. An item listed by several earlier runs appears once,
with the reasons of all.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from crawler.jobs.paths import JobPaths
from pipelines.recheck import NewerRun, Takedown, recheck, takedown_csv
from pipelines.rundir import write_atomic

logger = logging.getLogger(__name__)


class TakedownError(RuntimeError):
    """An earlier run of the job could not be rechecked; no list was written."""


def earlier_runs(paths: JobPaths, new_run_id: str) -> list[str]:
    """Run ids the job's history lists before *new_run_id* (all of them when it is not
    listed yet), oldest first, each once. Lines that are not run records are skipped."""
    try:
        text = paths.history.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    ids: list[str] = []
    for line in text.splitlines():
        try:
            run_id = json.loads(line).get("run_id") if line.strip() else None
        except (ValueError, AttributeError):
            run_id = None  # a torn last line
        if not isinstance(run_id, str) or not run_id:
            continue
        if run_id == new_run_id:
            break
        ids.append(run_id)
    return list(dict.fromkeys(ids))


def _merge(found: dict[tuple[str, str], Takedown], takedown: Takedown) -> None:
    key = (takedown.item_type, takedown.item_id)
    old = found.get(key)
    if old is None:
        found[key] = takedown
        return
    found[key] = Takedown(
        item_type=old.item_type, item_id=old.item_id, page_url=old.page_url or takedown.page_url,
        reasons=tuple(dict.fromkeys((*old.reasons, *takedown.reasons))),
        rules=tuple(dict.fromkeys((*old.rules, *takedown.rules))),
        holders=tuple(dict.fromkeys((*old.holders, *takedown.holders))),
    )


def takedowns_for_job(paths: JobPaths, new_run_dir: Path) -> tuple[Path, int]:
    """Recheck every earlier run of the job against *new_run_dir*; write the takedown CSV.

    Returns the CSV's path and how many items it lists. An earlier run whose directory is
    gone has nothing left to take down and is skipped (logged); one that exists but cannot
    be read raises :class:`TakedownError` — a list silently missing a run is worse than none.
    """
    new_run_dir = Path(new_run_dir)
    new_run_id = new_run_dir.name
    found: dict[tuple[str, str], Takedown] = {}
    checked = unchecked = 0
    try:
        newer = NewerRun(new_run_dir)
    except Exception as exc:
        raise TakedownError(f"run {new_run_id}: cannot read its policy files: {exc}") from exc
    for run_id in earlier_runs(paths, new_run_id):
        old_dir = paths.provenance_dir / run_id
        if not old_dir.is_dir():
            logger.warning("Takedown: run %(run)s of job %(job)s has no run directory; skipped",
                           {"run": run_id, "job": paths.name})
            continue
        try:
            result = recheck(old_dir, against=newer)
        except Exception as exc:
            raise TakedownError(f"run {run_id}: cannot recheck it: {exc}") from exc
        checked += result.checked
        unchecked += result.unchecked
        for takedown in result.takedowns:
            _merge(found, takedown)
    target = paths.takedown(new_run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, takedown_csv(found.values()).encode("utf-8"), replace=True)
    logger.info("Takedown list of job %(job)s, run %(run)s: %(n)d of %(checked)d earlier items (%(unchecked)d "
                "unchecked) -> %(path)s", {"job": paths.name, "run": new_run_id, "n": len(found),
                                           "checked": checked, "unchecked": unchecked, "path": target})
    return target, len(found)


__all__ = ["TakedownError", "earlier_runs", "takedowns_for_job"]

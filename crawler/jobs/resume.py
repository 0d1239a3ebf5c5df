"""``JOBDIR`` resume that continues the same run and the same log chain.

Scrapy's ``JOBDIR`` keeps a stopped crawl's pending requests and the fingerprints of those
it already saw, so a restart with the same ``JOBDIR`` goes on where the crawl stopped and
fetches nothing twice. The provenance log must go on with it: one run directory, the same
worker, ``seq`` and hash chain continued, not a second run that knows nothing of the first.

So the first start records the run's identity in ``JOBDIR/heed-run.json`` (run id, worker
name, provenance directory, job name), and a later start with that ``JOBDIR`` reuses them
and sets ``PROVENANCE_RESUME=True``. Resuming a worker first recovers whatever the previous
process left (:func:`pipelines.recover.recover_worker`: journal segments of a SIGKILLed
process become sealed files), so no decision it journaled is lost.

When a run's crawl *finishes* (Scrapy's finish reason ``finished``: nothing left to crawl),
:func:`complete` empties the ``JOBDIR`` of this state and of Scrapy's (``requests.seen``,
``requests.queue/``, ``spider.state``), so the next scheduled run with the same ``JOBDIR``
is a new run rather than a resume with nothing left to do. A run stopped any other way
(a signal, a ``CLOSESPIDER_*`` limit, a crash) leaves it for the next start to continue.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from crawler.policy.config import ConfigError
from pipelines.rundir import check_name, new_run_id, utc_now_iso, write_atomic

logger = logging.getLogger(__name__)

STATE_FILE: Final = "heed-run.json"
#: What Scrapy keeps in a JOBDIR (scheduler queue, dupefilter, spider state): cleared with ours.
SCRAPY_STATE: Final = ("requests.queue", "requests.seen", "spider.state")


class ResumeMismatch(ConfigError):
    """The settings name another run than the one ``JOBDIR`` holds."""


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """Who writes the log of the run a ``JOBDIR`` belongs to."""

    run_id: str
    worker: str
    provenance_dir: str
    job: str = ""
    created: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: Path) -> RunIdentity:
        try:
            identity = cls(run_id=str(data["run_id"]), worker=str(data["worker"]),
                           provenance_dir=str(data["provenance_dir"]), job=str(data.get("job", "")),
                           created=str(data.get("created", "")))
            check_name("run_id", identity.run_id)
            check_name("worker", identity.worker)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"JOBDIR: {where} is not a heed run record ({exc}); "
                              "remove the JOBDIR to start a new run") from None
        return identity


@dataclass(frozen=True, slots=True)
class Prepared:
    identity: RunIdentity
    resumed: bool


def state_path(jobdir: Path) -> Path:
    return Path(jobdir) / STATE_FILE


def load(jobdir: Path) -> RunIdentity | None:
    path = state_path(jobdir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"JOBDIR: cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"JOBDIR: {path} is not a heed run record")
    return RunIdentity.from_json(raw, path)


def prepare(jobdir: Path, *, run_id: str, worker: str, provenance_dir: Path, job: str) -> Prepared:
    """The run identity for a start with ``jobdir``: the recorded one (resume) or a new one.

    ``run_id`` / ``worker`` are the settings' values ("" = not set). Settings that name
    another run, worker, provenance directory or job than the recorded ones are refused
    (:class:`ResumeMismatch`): continuing one run's queue under another run's log would
    break the chain the resume exists to keep.
    """
    recorded = load(jobdir)
    if recorded is not None:
        wanted = {"PROVENANCE_RUN_ID": (run_id, recorded.run_id), "PROVENANCE_WORKER": (worker, recorded.worker),
                  "PROVENANCE_DIR": (str(provenance_dir), recorded.provenance_dir), "JOB_NAME": (job, recorded.job)}
        for setting, (given, kept) in wanted.items():
            if setting in ("PROVENANCE_RUN_ID", "PROVENANCE_WORKER") and not given:
                continue
            if given != kept:
                raise ResumeMismatch(
                    f"{setting}: JOBDIR {jobdir} holds run {recorded.run_id} with {setting}={kept!r}, "
                    f"not {given!r}; use another JOBDIR for another run, or remove this one to start over"
                )
        logger.info("Resuming run %(run)s (worker %(worker)s) from JOBDIR %(dir)s",
                    {"run": recorded.run_id, "worker": recorded.worker, "dir": jobdir})
        if not closed_cleanly(jobdir):
            forget_scrapy_state(jobdir)
        return Prepared(recorded, True)
    identity = RunIdentity(run_id=run_id or new_run_id(), worker=worker or f"w{os.getpid()}",
                           provenance_dir=str(provenance_dir), job=job, created=utc_now_iso())
    Path(jobdir).mkdir(parents=True, exist_ok=True)
    write_atomic(state_path(jobdir), (json.dumps(asdict(identity), indent=2) + "\n").encode("utf-8"), replace=True)
    return Prepared(identity, False)


#: Written by Scrapy's scheduler only when it closes: its absence next to a queue means the
#: process that used the JOBDIR was killed (SIGKILL, power loss) before writing its state.
QUEUE_STATE: Final = "requests.queue/active.json"


def closed_cleanly(jobdir: Path) -> bool:
    """Whether the last process that crawled from ``jobdir`` closed its scheduler."""
    root = Path(jobdir)
    used = (root / "requests.queue").exists() or (root / "requests.seen").exists()
    return not used or (root / QUEUE_STATE).is_file()


def forget_scrapy_state(jobdir: Path) -> None:
    """Drop Scrapy's queue, dupefilter and spider state after an unclean stop.

    A killed process leaves ``requests.seen`` (appended as requests are scheduled) but not
    the queue's state, so Scrapy would resume with every queued URL marked seen and none
    left to fetch: the rest of the crawl would be silently lost. Without them the resumed
    run starts again from the seeds, in the same run and log chain; pages fetched before
    the kill are fetched (and decided) again, which costs time, never coverage.
    """
    root = Path(jobdir)
    for name in SCRAPY_STATE:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    logger.warning("JOBDIR %(dir)s was not closed cleanly (killed?): its queue cannot be trusted, "
                   "crawling again from the seeds in the same run", {"dir": root})


def complete(jobdir: Path) -> None:
    """Empty ``jobdir`` of the finished run's state (ours and Scrapy's); other files stay."""
    root = Path(jobdir)
    for name in (*SCRAPY_STATE, STATE_FILE):
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    logger.info("Run finished: JOBDIR %(dir)s emptied for the next run", {"dir": root})


__all__ = [
    "Prepared", "ResumeMismatch", "RunIdentity", "SCRAPY_STATE", "STATE_FILE", "closed_cleanly", "complete",
    "forget_scrapy_state", "load", "prepare",
]

"""``scrapy crawl``, as Scrapy's, plus an answer a scheduler can act on.

heed runs unattended (cron, systemd timers, scrapyd), so this command replaces Scrapy's
``crawl`` (same options, same spider arguments) and adds what nobody-watching needs:

* after the crawl, once the provenance log has sealed, it decides whether the run failed
  (:mod:`crawler.jobs.outcome`: the spider raised, the crawl stopped before finishing,
  policy checks crashed, or the run directory does not verify) and sets the exit status;
* it prints one ``key=value`` summary line on stdout, the line to mail;
* with ``JOB_NAME`` it holds the job's lock for the whole crawl (a second run of the job
  exits 75 at once, crawling nothing) and appends the run to the job's ``runs.jsonl``;
* with ``JOBDIR`` a restart continues the same run: same run id, same worker, same log
  chain (:mod:`crawler.jobs.resume`).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.jobs import outcome as oc
from crawler.jobs import resume
from crawler.jobs.config import JobConfig
from crawler.jobs.history import RunRecord, append_run
from crawler.jobs.lock import JobLock, JobLocked, holder_token
from crawler.jobs.paths import JobPaths
from crawler.policy.config import ConfigError, resolve_path
from pipelines.rundir import new_run_id, utc_now_iso

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PROVENANCE_PIPELINE = "pipelines.provenance.ProvenancePipeline"

_DESCRIPTION = (
    "Run a spider of this project, then tell a scheduler how it went. After the crawl and its "
    "provenance log have closed, the run directory is verified as 'scrapy audit verify' does and "
    "one summary line is printed on stdout: 'heed job=<job|-> run=<run_id> status=ok|failed "
    "reason=<first failure|-> pages=N items=N unchanged=N allow=N deny=N hold=N policy_errors=N "
    "spider_errors=N verify=clean|<n>-findings|no-run-dir|off takedowns=N|- seconds=N exit=N'. "
    "Exit status: 0 the crawl finished and its log verifies clean; 1 the crawl failed (it did not "
    "start, it stopped for a reason not in JOB_OK_FINISH_REASONS such as a signal or a CLOSESPIDER "
    "limit, a spider callback raised, more policy checks crashed than JOB_MAX_POLICY_ERRORS, or "
    "the run directory is missing or has verify findings, or a named job's takedown list could not "
    "be made); 2 usage error; 75 another run of the "
    "same JOB_NAME holds the job's lock (nothing was crawled; try again later). "
    "-s JOB_NAME=NAME makes the crawl a named job: one run at a time, each appended to "
    "<PROVENANCE_DIR>/.jobs/NAME/runs.jsonl; later runs send conditional requests for pages "
    "earlier runs fetched, and list earlier items the new policy reserves in "
    "<PROVENANCE_DIR>/.jobs/NAME/takedown-<run>.csv (docs/recrawl.md). -s JOBDIR=DIR makes it resumable: a restart with "
    "the same DIR continues the same run and its log chain (docs/scheduling.md)."
)


@dataclass(frozen=True, slots=True)
class _Run:
    """What the command fixed before the crawl started."""

    job: JobConfig
    run_id: str
    provenance_dir: Path


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider; exit 0 ok, 1 failed, 2 usage, 75 job locked; print a summary line"

    def long_desc(self) -> str:
        return _DESCRIPTION

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.settings is not None and self.crawler_process is not None
        started_at, started = utc_now_iso(), time.monotonic()
        try:
            job = JobConfig.from_settings(self.settings)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from None
        provenance_dir = resolve_path(str(self.settings.get("PROVENANCE_DIR") or "data/runs"))
        lock = JobLock(JobPaths.of(provenance_dir, job.name).lock) if job.name else None
        if lock is not None:
            try:
                lock.acquire()
            except JobLocked as exc:
                sys.stderr.write(f"heed: job {job.name!r} not started: {exc}\n")
                print(oc.locked_line(job.name, holder_token(exc.holder)), flush=True)
                self.exitcode = oc.EXIT_LOCKED
                return
        try:
            run = _Run(job, self._fix_identity(job, provenance_dir), provenance_dir)
            if lock is not None:
                lock.note(run_id=run.run_id)
            crawler = self._start(args[0], opts)
            facts = self._facts(run, crawler, time.monotonic() - started)
            result = oc.decide(facts)
            if job.name:
                append_run(JobPaths.of(provenance_dir, job.name).history,
                           RunRecord(run_id=run.run_id, started=started_at, finished=utc_now_iso(),
                                     status=result.status, reason=result.reason, exit=result.exit_code))
            if job.jobdir is not None and facts.stats.get("finish_reason") == "finished":
                resume.complete(job.jobdir)
        finally:
            if lock is not None:
                lock.release()
        for reason in oc.failures(facts)[1:]:
            logger.error("Run %(run)s also failed on: %(reason)s", {"run": run.run_id, "reason": reason})
        print(oc.summary_line(facts, result), flush=True)
        self.exitcode = result.exit_code

    # -- steps -----------------------------------------------------------------------------

    def _fix_identity(self, job: JobConfig, provenance_dir: Path) -> str:
        """Settle the run id (and with JOBDIR, the worker) before the crawler reads settings."""
        assert self.settings is not None
        run_id = str(self.settings.get("PROVENANCE_RUN_ID") or "")
        if job.jobdir is not None:
            try:
                prepared = resume.prepare(job.jobdir, run_id=run_id, worker=str(self.settings.get("PROVENANCE_WORKER") or ""),
                                          provenance_dir=provenance_dir, job=job.name)
            except ConfigError as exc:
                raise UsageError(str(exc), print_help=False) from None
            self.settings.set("PROVENANCE_WORKER", prepared.identity.worker, priority="cmdline")
            if prepared.resumed:
                self.settings.set("PROVENANCE_RESUME", True, priority="cmdline")
            run_id = prepared.identity.run_id
        run_id = run_id or new_run_id()
        self.settings.set("PROVENANCE_RUN_ID", run_id, priority="cmdline")
        return run_id

    def _start(self, spider: str, opts: argparse.Namespace) -> Crawler:
        assert self.crawler_process is not None
        try:
            crawler = self._create_crawler(spider)
        except KeyError as exc:
            raise UsageError(str(exc.args[0] if exc.args else exc), print_help=False) from None
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        return crawler

    def _facts(self, run: _Run, crawler: Crawler, seconds: float) -> oc.RunFacts:
        assert self.crawler_process is not None
        stats: dict[str, Any] = dict(crawler.stats.get_stats()) if getattr(crawler, "stats", None) else {}
        settings = crawler.settings if crawler.settings is not None else self.settings
        findings: list[str] | None = None
        missing = False
        takedowns: int | None = None
        takedown_error: str | None = None
        if _log_enabled(settings):
            run_dir = run.provenance_dir / run.run_id
            missing = not run_dir.is_dir()
            distributed = bool(settings.get("DISTRIBUTED_REDIS_URL"))
            own = str(settings.get("PROVENANCE_WORKER") or "") if distributed else None
            findings = [] if missing else _verify(run_dir, own or None)
            if run.job.name and not missing and not distributed and settings.getbool("RECRAWL_ENABLED"):
                takedowns, takedown_error = _takedowns(JobPaths.of(run.provenance_dir, run.job.name), run_dir)
        return oc.RunFacts(
            job=run.job.name, run_id=run.run_id, stats=stats, findings=findings, run_dir_missing=missing,
            bootstrap_failed=bool(self.crawler_process.bootstrap_failed),
            max_policy_errors=run.job.max_policy_errors, ok_finish_reasons=run.job.ok_finish_reasons,
            seconds=seconds, takedowns=takedowns, takedown_error=takedown_error,
        )


def _log_enabled(settings: Any) -> bool:
    return settings.getwithbase("ITEM_PIPELINES").get(PROVENANCE_PIPELINE) is not None


def _verify(run_dir: Path, worker: str | None) -> list[str]:
    """``scrapy audit verify RUN_DIR``'s findings; a verifier that crashes is a finding too.

    ``worker`` limits the check to this worker's share: in distributed mode other workers
    may still be writing the same run directory, and what they have not closed yet is not
    this run's failure (``scrapy audit verify`` checks every worker once all have closed).
    """
    from pipelines.verify import verify

    try:
        findings = verify(run_dir, worker=worker)
    except Exception as exc:  # noqa: BLE001 - could not check is never clean
        logger.error("Verifying %(dir)s failed", {"dir": run_dir}, exc_info=exc)
        return [f"{run_dir}: verify failed ({type(exc).__name__}: {exc})"]
    for finding in findings:
        logger.error("Verify finding: %(finding)s", {"finding": finding})
    return findings


def _takedowns(paths: JobPaths, run_dir: Path) -> tuple[int | None, str | None]:
    """The job's takedown list for this run: (items listed, None) or (None, error)."""
    from crawler.recrawl.takedown import TakedownError, takedowns_for_job

    try:
        path, count = takedowns_for_job(paths, run_dir)
    except (TakedownError, OSError, ValueError) as exc:
        logger.error("Could not make the takedown list of %(run)s: %(exc)s", {"run": run_dir.name, "exc": exc})
        return None, str(exc)
    if count:
        logger.warning("%(n)d item(s) of earlier runs are now reserved: %(path)s", {"n": count, "path": path})
    return count, None


__all__ = ["Command"]

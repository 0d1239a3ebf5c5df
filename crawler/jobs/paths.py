"""Where a named job keeps what outlives one run.

A *job* is a crawl run again and again under one name (``JOB_NAME``). Its runs are ordinary
run directories under ``PROVENANCE_DIR``; what connects them lives beside them in
``<PROVENANCE_DIR>/.jobs/<JOB_NAME>/``::

    lock            held (flock) while a run of the job crawls: two never crawl at once
    runs.jsonl      one line per run: run id, start, end, exit status
    recrawl.sqlite  what each URL answered last time (ETag, Last-Modified, digest)
    takedown-<run_id>.csv   earlier items that run's policy files now reserve

A crawl without ``JOB_NAME`` is a one-off: no lock, no history, no conditional requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.rundir import check_name

JOBS_DIR = ".jobs"


@dataclass(frozen=True, slots=True)
class JobPaths:
    provenance_dir: Path
    name: str

    @classmethod
    def of(cls, provenance_dir: Path | str, name: str) -> JobPaths:
        return cls(Path(provenance_dir), check_name("JOB_NAME", name))

    @property
    def root(self) -> Path:
        return self.provenance_dir / JOBS_DIR / self.name

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def history(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def recrawl_db(self) -> Path:
        return self.root / "recrawl.sqlite"

    def takedown(self, run_id: str) -> Path:
        return self.root / f"takedown-{run_id}.csv"


__all__ = ["JOBS_DIR", "JobPaths"]

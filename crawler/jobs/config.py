"""``JOB_*`` settings (and ``JOBDIR``), read once into a frozen value whose errors name the setting.

==========================  ==============  ==============================================
setting                     default         meaning
==========================  ==============  ==============================================
``JOB_NAME``                "" (one-off)    a job run again and again: lock and history
``JOB_MAX_POLICY_ERRORS``   0               crashed policy checks a run may have and pass
``JOB_OK_FINISH_REASONS``   ["finished"]    finish reasons that count as a complete run
``JOBDIR``                  (none)          Scrapy's resumable state; heed adds the run id
==========================  ==============  ==============================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.policy.config import ConfigError
from pipelines.rundir import check_name


@dataclass(frozen=True, slots=True, kw_only=True)
class JobConfig:
    name: str = ""
    max_policy_errors: int = 0
    ok_finish_reasons: tuple[str, ...] = ("finished",)
    jobdir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> JobConfig:
        name = settings.get("JOB_NAME") or ""
        if name:
            try:
                check_name("JOB_NAME", name)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        try:
            limit = settings.getint("JOB_MAX_POLICY_ERRORS", 0)
        except (TypeError, ValueError):
            raise ConfigError(f"JOB_MAX_POLICY_ERRORS must be an integer, got {settings.get('JOB_MAX_POLICY_ERRORS')!r}") from None
        if limit < 0:
            raise ConfigError(f"JOB_MAX_POLICY_ERRORS must be 0 or more, got {limit}")
        raw = settings.get("JOB_OK_FINISH_REASONS", ["finished"])
        try:  # a list, "a,b", or a JSON array as -s passes it
            reasons = json.loads(raw) if isinstance(raw, str) and raw.lstrip().startswith("[") else settings.getlist(
                "JOB_OK_FINISH_REASONS", ["finished"])
        except (TypeError, ValueError):
            reasons = None
        if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) and r.strip() for r in reasons):
            raise ConfigError("JOB_OK_FINISH_REASONS must be a non-empty list of Scrapy finish reasons, "
                              f"got {settings.get('JOB_OK_FINISH_REASONS')!r}")
        jobdir = settings.get("JOBDIR") or None
        if jobdir is not None and not isinstance(jobdir, (str, Path)):
            raise ConfigError(f"JOBDIR must be a directory path, got {jobdir!r}")
        return cls(name=name, max_policy_errors=limit, ok_finish_reasons=tuple(r.strip() for r in reasons),
                   jobdir=Path(jobdir) if jobdir else None)


__all__ = ["JobConfig"]

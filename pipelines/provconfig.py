"""``PROVENANCE_*`` settings, read once into a frozen value whose errors name the setting.

====================================  ==========  ============================================
setting                               default     meaning
====================================  ==========  ============================================
``PROVENANCE_DIR``                    data/runs   where run directories go (relative: project)
``PROVENANCE_RUN_ID``                 generated   the run directory's name
``PROVENANCE_WORKER``                 ``w<pid>``  this writer's name inside the run
``PROVENANCE_ROWS_PER_PART``          10000       rows per Parquet part (a seal is due)
``PROVENANCE_FLUSH_SECONDS``          2.0         age after which buffered rows are sealed
``PROVENANCE_SIGNING_KEY``            (none)      PEM file of an Ed25519 key: sign manifests
``PROVENANCE_RESUME``                 False       continue this worker's log and chain
====================================  ==========  ============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.policy.config import ConfigError, resolve_path
from pipelines.rundir import RunDir, check_name, new_run_id
from pipelines.signing import Signer, SigningError


def _number(settings: Any, name: str, default: float, kind: type) -> Any:
    try:
        return settings.getint(name, default) if kind is int else settings.getfloat(name, default)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {settings.get(name)!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvenanceConfig:
    """Where and how this worker writes its share of the run."""

    directory: Path
    run_id: str
    worker: str
    rows_per_part: int = 10_000
    flush_seconds: float = 2.0
    #: path of the PEM private key; never the key itself (it must not reach logs or the run)
    signing_key: Path | None = None
    resume: bool = False

    @property
    def run_dir(self) -> RunDir:
        return RunDir(self.directory / self.run_id)

    def signer(self) -> Signer | None:
        """The loaded signing key, or None; ConfigError naming the setting if unusable."""
        if self.signing_key is None:
            return None
        try:
            return Signer.from_file(self.signing_key)
        except SigningError as exc:
            raise ConfigError(f"PROVENANCE_SIGNING_KEY: {exc}") from None

    @classmethod
    def from_settings(cls, settings: Any) -> ProvenanceConfig:
        directory = settings.get("PROVENANCE_DIR") or "data/runs"
        run_id = settings.get("PROVENANCE_RUN_ID") or new_run_id()
        worker = settings.get("PROVENANCE_WORKER") or f"w{os.getpid()}"
        try:
            check_name("PROVENANCE_RUN_ID", run_id)
            check_name("PROVENANCE_WORKER", worker)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        rows = _number(settings, "PROVENANCE_ROWS_PER_PART", 10_000, int)
        seconds = _number(settings, "PROVENANCE_FLUSH_SECONDS", 2.0, float)
        if rows < 1:
            raise ConfigError(f"PROVENANCE_ROWS_PER_PART must be at least 1, got {rows}")
        if not seconds > 0:
            raise ConfigError(f"PROVENANCE_FLUSH_SECONDS must be positive, got {seconds}")
        key = settings.get("PROVENANCE_SIGNING_KEY") or None
        if key is not None and not isinstance(key, (str, Path)):
            raise ConfigError("PROVENANCE_SIGNING_KEY must be the path of a PEM key file")
        try:
            resume = settings.getbool("PROVENANCE_RESUME", False)
        except ValueError:
            raise ConfigError(f"PROVENANCE_RESUME must be a boolean, got {settings.get('PROVENANCE_RESUME')!r}") from None
        config = cls(
            directory=resolve_path(str(directory)),
            run_id=run_id,
            worker=worker,
            rows_per_part=rows,
            flush_seconds=seconds,
            signing_key=resolve_path(str(key)) if key else None,
            resume=resume,
        )
        config.signer()  # a bad key stops the crawl at start, not at the first checkpoint
        return config


def get_provenance_config(crawler: Any) -> ProvenanceConfig:
    """The crawler's provenance configuration, parsed once: every component sees the same
    run id (generated once when ``PROVENANCE_RUN_ID`` is empty) and loads the key once."""
    from crawler.config import per_crawler

    return per_crawler(crawler, "_heed_provenance_config", ProvenanceConfig.from_settings)


__all__ = ["ProvenanceConfig", "get_provenance_config"]

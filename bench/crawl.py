"""Crawl the benchmark web with plain Scrapy and with heed, as users run them.

Every crawl is ``python -m scrapy crawl music`` in a child process (a Twisted reactor
cannot be restarted, and a fresh process per run keeps runs independent). Three variants:

``plain``
    Scrapy with its ``RobotsTxtMiddleware`` and a JSON-lines feed
    (:mod:`bench.plain_settings`), heed's spider, names mapped by :mod:`bench.resolver`.
``heed``
    heed's own settings: network guard, guarded resolver, policy gate (robots.txt,
    tdmrep.json, registry, AI tokens, response signals) and the full provenance log.
``heed-nolog``
    heed with every check but without the provenance pipeline; items go to the same
    JSON-lines feed as plain's. ``heed`` / ``heed-nolog`` is the log's cost.

All three get the same overrides: no politeness delay, AutoThrottle off, ``LOG_LEVEL``
INFO into a file, the same seeds, and a stop after a fixed number of pages
(:mod:`bench.probe` times them from inside the process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.site import BenchSite

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("plain", "heed", "heed-nolog")
PROVENANCE = "pipelines.provenance.ProvenancePipeline"


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "SCRAPY_SETTINGS_MODULE"}
    env.update(extra)
    return env


def _setting(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _heed_pipelines_without_log() -> dict[str, int]:
    from crawler import settings as heed_settings

    pipelines = dict(heed_settings.ITEM_PIPELINES)
    pipelines[PROVENANCE] = None  # type: ignore[assignment]
    return pipelines


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (0.0 if unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def crawl_command(variant: str, site: BenchSite, work: Path, target: int, *, run_id: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one crawl (``work`` receives its files)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {VARIANTS}")
    seeds = work / "seeds.txt"
    if not seeds.exists():
        seeds.write_text("\n".join(site.seeds()) + "\n", encoding="utf-8")
    settings: dict[str, Any] = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(work / f"{run_id}.log"),
        "EXTENSIONS": {"bench.probe.ThroughputProbe": 0},
        "BENCH_PROBE_FILE": str(work / f"{run_id}.probe.json"),
        "BENCH_TARGET_ITEMS": target,
        "CLOSESPIDER_ITEMCOUNT": target,
        # the page-count stop is how a bench crawl ends, not a failure of the run
        "JOB_OK_FINISH_REASONS": ["finished", "closespider_itemcount"],
    }
    env = _child_env()
    if variant == "plain":
        env["SCRAPY_SETTINGS_MODULE"] = "bench.plain_settings"
        settings["BENCH_RESOLVE"] = site.resolve_map()
    else:
        settings["POLICY_RESOLVE"] = site.resolve_map()
        # the bench web is loopback: the placeholder contact URL is fine here
        settings["IDENTITY_ALLOW_PLACEHOLDER"] = True
        settings["PROVENANCE_DIR"] = str(work / "runs")
        settings["PROVENANCE_RUN_ID"] = run_id
    if variant != "heed":
        settings["FEEDS"] = {str(work / f"{run_id}.jsonl"): {"format": "jsonlines"}}
    if variant == "heed-nolog":
        settings["ITEM_PIPELINES"] = _heed_pipelines_without_log()
    cmd = [sys.executable, "-m", "scrapy", "crawl", "music", "-a", f"urls_file={seeds}"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={_setting(value)}"]
    return cmd, env


def run_crawl(
    variant: str,
    site: BenchSite,
    work: Path,
    target: int,
    *,
    run_id: str,
    server_pid: int | None = None,
    timeout: float = 600,
    keep: bool = False,
) -> dict[str, Any]:
    """Run one crawl and return the probe's figures plus what the run left behind."""
    work.mkdir(parents=True, exist_ok=True)
    cmd, env = crawl_command(variant, site, work, target, run_id=run_id)
    server_before = process_cpu_seconds(server_pid) if server_pid else 0.0
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - started
    server_cpu = (process_cpu_seconds(server_pid) - server_before) if server_pid else 0.0
    probe_file = work / f"{run_id}.probe.json"
    if proc.returncode != 0 or not probe_file.exists():
        log = work / f"{run_id}.log"
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(
            f"{variant} crawl failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}\n{tail}"
        )
    result: dict[str, Any] = json.loads(probe_file.read_text(encoding="utf-8"))
    result.update(variant=variant, process_seconds=wall, server_cpu_seconds=server_cpu)
    if not result["reached"]:
        raise RuntimeError(
            f"{variant} crawl stopped after {result['items']} of {target} pages ({result['reason']}); "
            "the web is too small or pages were refused"
        )
    if variant == "heed":
        result.update(_run_dir_figures(work / "runs" / run_id))
        if not keep:
            shutil.rmtree(work / "runs" / run_id, ignore_errors=True)
    if not keep:
        (work / f"{run_id}.jsonl").unlink(missing_ok=True)
    return result


def _run_dir_figures(run_dir: Path) -> Mapping[str, Any]:
    """Rows and bytes the provenance log wrote, and whether ``audit verify`` accepts it."""
    from pipelines.audit import verify
    from pipelines.manifest import load_manifest

    manifest = load_manifest(run_dir)
    files = [f for w in manifest["workers"].values() for f in w["files"]]
    decisions = [f for f in files if f["kind"] == "decisions"]
    return {
        "log_rows": sum(f["rows"] for f in decisions),
        "log_bytes": sum(f["bytes"] for f in decisions),
        "log_files": len(files),
        "log_findings": verify(run_dir),
    }


__all__ = ["VARIANTS", "crawl_command", "process_cpu_seconds", "run_crawl"]

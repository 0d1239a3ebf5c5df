"""``python3 -m bench``: heed against plain Scrapy, and heed's parts, in one run, one table.

Sections (bench/README.md explains each measure):

1. the loopback web alone, then crawls: plain Scrapy, heed, heed without its provenance log,
   alternating, ``--reps`` times, on the same server process;
2. policy engine micro-benchmarks;
3. provenance log micro-benchmarks;
4. ``audit verify`` on a generated run of ``--verify-rows`` rows;
5. policy cache memory with 1,000 and 10,000 origins.

The table goes to stdout and, with the machine and the commit, to ``<out>/results.md``
(``results.json`` holds every raw figure). Exit status 1 if any section failed.
``--quick`` runs everything at toy sizes, once (the smoke test uses it). ``--profile
heed|plain`` instead profiles one crawl (see :mod:`bench.profile`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.crawl import ROOT, VARIANTS, run_crawl
from bench.report import Row, ratio_of_medians, render
from bench.site import BenchSite

DEFAULT_OUT = ROOT / "bench" / "out"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description="heed's benchmarks (bench/README.md)")
    parser.add_argument("--quick", action="store_true", help="toy sizes, one repetition (smoke test)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/out)")
    parser.add_argument("--reps", type=int, help="crawl repetitions per variant (default 3; quick 1)")
    parser.add_argument("--hosts", type=int, help="hosts in the bench web (default 100)")
    parser.add_argument("--pages", type=int, help="pages per host (default 100)")
    parser.add_argument("--pages-per-run", type=int, help="pages each crawl fetches before it stops (default 3000)")
    parser.add_argument("--verify-rows", type=int, help="rows of the generated run for audit verify (default 10,000,000)")
    parser.add_argument("--sections", default="1,2,3,4,5", help="comma-separated sections to run (default all)")
    parser.add_argument("--profile", choices=["heed", "plain", "heed-nolog"], help="profile one crawl instead")
    args = parser.parse_args(argv)
    quick = args.quick
    args.reps = args.reps or (1 if quick else 3)
    args.hosts = args.hosts or (3 if quick else 100)
    args.pages = args.pages or (12 if quick else 100)
    args.pages_per_run = args.pages_per_run or (20 if quick else 3000)
    args.verify_rows = args.verify_rows or (20_000 if quick else 10_000_000)
    args.sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if args.pages_per_run > args.hosts * args.pages:
        parser.error("--pages-per-run is larger than the web (--hosts x --pages)")
    return args


# -- the server ----------------------------------------------------------------------------


@contextmanager
def bench_web(site: BenchSite):  # type: ignore[no-untyped-def]
    """Start ``python -m bench.web`` and yield (site with its port, server pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.web", "--hosts", str(site.hosts), "--pages", str(site.pages)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"bench web did not start: {line!r}")
        yield BenchSite(site.hosts, site.pages, port=int(line.split()[1])), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _load(port: int, site: BenchSite, seconds: float, depth: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.load", "--port", str(port), "--hosts", str(site.hosts), "--pages",
         str(site.pages), "--seconds", str(seconds), "--connections", "16", "--depth", str(depth)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=seconds + 60,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _sampleweb_rate(site: BenchSite, work: Path, seconds: float) -> float:
    """Requests/s of the demo's threaded SampleWeb serving (a few hosts of) the same pages."""
    from bench.site import host_name, page_path

    small = BenchSite(min(site.hosts, 5), min(site.pages, 50))
    root = work / "sampleweb"
    shutil.rmtree(root, ignore_errors=True)
    for h in range(small.hosts):
        for i in range(small.pages):
            path = root / host_name(h) / page_path(i).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(small.page_html(h, i))
    proc = subprocess.Popen([sys.executable, "-m", "crawler.demo.webserver", str(root)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1].split()[0])
        result = _load(port, small, seconds, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(root, ignore_errors=True)
    return result["requests"] / result["seconds"]


# -- sections ------------------------------------------------------------------------------


def crawl_section(args: argparse.Namespace, work: Path, raw: dict[str, Any]) -> list[Row]:
    site = BenchSite(args.hosts, args.pages)
    rows: list[Row] = []
    sec = "1 crawl"
    with bench_web(site) as (site, server_pid):
        seconds = 0.5 if args.quick else 3.0
        alone = _load(site.port, site, seconds, 1)
        piped = _load(site.port, site, seconds, 8)
        raw["server"] = {"depth1": alone, "depth8": piped}
        if alone["errors"] or piped["errors"]:
            raise RuntimeError(f"bench web answered errors under load: {alone} {piped}")
        rows.append(Row(sec, "bench web alone, 16 connections", "req/s", [alone["requests"] / alone["seconds"]],
                        note=f"{site.total_pages:,} pages over {site.hosts} hosts; separate process"))
        rows.append(Row(sec, "bench web alone, pipelined ×8", "req/s", [piped["requests"] / piped["seconds"]],
                        note="the client (Python) is the limit"))
        try:
            rows.append(Row(sec, "demo SampleWeb (threaded stdlib), 16 connections", "req/s",
                            [_sampleweb_rate(site, work, seconds)], note="for comparison; not used by the bench"))
        except Exception as exc:  # the comparison is informative only
            rows.append(Row(sec, "demo SampleWeb (threaded stdlib)", "req/s", [], note=f"not measured: {exc}"))
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for rep in range(args.reps):
            for variant in VARIANTS:
                result = run_crawl(variant, site, work / "crawls", args.pages_per_run,
                                   run_id=f"{variant}-{rep + 1}", server_pid=server_pid)
                runs[variant].append(result)
                print(f"  crawl {rep + 1}/{args.reps} {variant:<10} {result['timed_items'] / result['seconds']:8.1f} "
                      f"pages/s  {result['cpu_seconds'] / result['timed_items'] * 1e3:6.2f} ms CPU/page",
                      file=sys.stderr, flush=True)
        raw["crawls"] = runs
    rate = {v: [r["timed_items"] / r["seconds"] for r in runs[v]] for v in VARIANTS}
    cpu = {v: [r["cpu_seconds"] / r["timed_items"] * 1e3 for r in runs[v]] for v in VARIANTS}
    server_share = [r["server_cpu_seconds"] / r["seconds"] * 100 for v in VARIANTS for r in runs[v]]
    note_run = f"{args.pages_per_run:,} pages per run, {args.reps} alternating reps"
    rows += [
        Row(sec, "plain Scrapy pages/s", "pages/s", rate["plain"], digits=1, note=note_run),
        Row(sec, "heed pages/s (every check, full log)", "pages/s", rate["heed"], digits=1),
        Row(sec, "heed without the provenance log pages/s", "pages/s", rate["heed-nolog"], digits=1),
        Row(sec, "heed / plain (ratio of medians)", "×", _one(ratio_of_medians(rate["heed"], rate["plain"])),
            target=0.97, digits=3),
        Row(sec, "heed / plain, per pair", "×", [h / p for h, p in zip(rate["heed"], rate["plain"], strict=True)],
            digits=3),
        Row(sec, "heed / plain by CPU time (plain CPU/page ÷ heed CPU/page)", "×",
            _one(ratio_of_medians(cpu["plain"], cpu["heed"])), target=0.97, digits=3,
            note="less sensitive to other load on the machine"),
        Row(sec, "plain CPU per page", "ms", cpu["plain"], higher_is_better=False, digits=2,
            note="process CPU time, all threads"),
        Row(sec, "heed CPU per page", "ms", cpu["heed"], higher_is_better=False, digits=2),
        Row(sec, "heed-nolog CPU per page", "ms", cpu["heed-nolog"], higher_is_better=False, digits=2),
        Row(sec, "heed adds per page (median CPU)", "µs",
            _one(_diff(cpu["heed"], cpu["plain"], 1e3)), higher_is_better=False),
        Row(sec, "bench web CPU while crawling", "% of a core", server_share, higher_is_better=False, digits=1,
            note="the server is not the bottleneck"),
        Row(sec, "hosts reached per crawl", "hosts", [float(r["hosts"]) for v in VARIANTS for r in runs[v]]),
    ]
    logged = runs["heed"]
    rows += [
        Row("3 provenance log", "crawl with log / without (ratio of medians)", "×",
            _one(ratio_of_medians(rate["heed"], rate["heed-nolog"])), digits=3,
            note="heed vs heed-nolog, same checks; nolog writes items as JSON lines"),
        Row("3 provenance log", "log cost per page in the crawl (median CPU)", "µs",
            _one(_diff(cpu["heed"], cpu["heed-nolog"], 1e3)), higher_is_better=False),
        Row("3 provenance log", "decision rows per crawled page", "rows",
            [r["log_rows"] / r["items"] for r in logged], digits=2),
        Row("3 provenance log", "bytes per decision row, crawl log", "B",
            [r["log_bytes"] / r["log_rows"] for r in logged if r["log_rows"]], higher_is_better=False, digits=1),
        Row("3 provenance log", "audit verify findings on the crawl logs", "findings",
            [float(len(r["log_findings"])) for r in logged], target=0, higher_is_better=False),
    ]
    return rows


def _one(value: float | None) -> list[float]:
    return [] if value is None else [value]


def _diff(a: list[float], b: list[float], scale: float) -> float | None:
    if not a or not b:
        return None
    return (statistics.median(a) - statistics.median(b)) * scale


def policy_section(args: argparse.Namespace, work: Path, raw: dict[str, Any]) -> list[Row]:
    from bench.micro import policy_rows

    return policy_rows(BenchSite(args.hosts if not args.quick else 3, args.pages), repeats=args.reps,
                       decisions=5_000 if args.quick else 20_000)


def provenance_section(args: argparse.Namespace, work: Path, raw: dict[str, Any]) -> list[Row]:
    from bench.micro import provenance_rows

    return provenance_rows(work / "provenance", repeats=args.reps, rows=5_000 if args.quick else 100_000)


def audit_section(args: argparse.Namespace, work: Path, raw: dict[str, Any]) -> list[Row]:
    from bench.audit import audit_rows

    return audit_rows(args.out, rows=args.verify_rows, repeats=args.reps)


def scale_section(args: argparse.Namespace, work: Path, raw: dict[str, Any]) -> list[Row]:
    from bench.scale import scale_rows

    return scale_rows((20, 100) if args.quick else (1_000, 10_000))


SECTIONS: dict[str, tuple[str, Callable[[argparse.Namespace, Path, dict[str, Any]], list[Row]]]] = {
    "1": ("crawl", crawl_section),
    "2": ("policy engine", policy_section),
    "3": ("provenance log", provenance_section),
    "4": ("audit verify", audit_section),
    "5": ("scale", scale_section),
}


def other_benchmarks(args: argparse.Namespace, errors: list[str]) -> list[str]:
    """Benchmarks other modules add under bench/ with their own ``python -m`` entry point;
    one that exits non-zero is an error of the whole run, like a failed section."""
    extra = []
    quick_args = {"policy_cache_memory": ["--origins", "50,200", "--bound", "100"]}
    for module in ("policy_cache_memory",):
        if not (ROOT / "bench" / f"{module}.py").exists():
            continue
        cmd = [sys.executable, "-m", f"bench.{module}"] + (quick_args.get(module, []) if args.quick else [])
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
        text = (proc.stdout or "").strip() or (proc.stderr or "").strip()[-2000:]
        extra.append(f"### bench.{module} (exit {proc.returncode})\n\n```\n{text}\n```\n")
        if proc.returncode != 0:
            errors.append(f"bench.{module} exited {proc.returncode}")
    return extra


# -- the machine ---------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import pyarrow
    import scrapy

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "nproc": str(os.cpu_count()),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    site = BenchSite(args.hosts, args.pages)
    if args.profile:
        from bench.profile import profile

        with bench_web(site) as (served, _):
            summary = profile(args.profile, served, work, args.out, args.pages_per_run)
        print(summary.read_text())
        print(f"call tree: {args.out / f'profile-{args.profile}.txt'}")
        return 0
    started = time.perf_counter()
    rows: list[Row] = []
    errors: list[str] = []
    raw: dict[str, Any] = {}
    for key, (name, fn) in SECTIONS.items():
        if key not in args.sections:
            continue
        print(f"[{time.perf_counter() - started:6.1f} s] section {key}: {name}", file=sys.stderr, flush=True)
        try:
            rows += fn(args, work, raw)
        except Exception as exc:
            errors.append(f"section {key} ({name}): {type(exc).__name__}: {exc}")
            traceback.print_exc()
    extra = other_benchmarks(args, errors)
    elapsed = time.perf_counter() - started
    rows.sort(key=lambda r: r.section)
    info = machine()
    table = render(rows, errors=errors)
    command = "python3 -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    header = (
        f"# heed benchmark results\n\n"
        f"- command: `{command.strip()}`\n- date: {info['date']}\n- commit: {info['commit']}\n"
        f"- machine: {info['nproc']} CPUs, {info['cpu']}, {info['platform']}\n"
        f"- Python {info['python']}, Scrapy {info['scrapy']}, pyarrow {info['pyarrow']}\n"
        f"- web: {args.hosts} hosts × {args.pages} pages; crawls stop after {args.pages_per_run:,} pages; "
        f"{args.reps} repetition(s)\n- total time: {elapsed:.0f} s\n\n"
    )
    text = header + table + ("\n" + "\n".join(extra) if extra else "")
    print(text)
    (args.out / "results.md").write_text(text, encoding="utf-8")
    (args.out / "results.json").write_text(
        json.dumps({"machine": info, "elapsed_seconds": elapsed, "errors": errors, "raw": raw,
                    "rows": [{"section": r.section, "name": r.name, "unit": r.unit, "values": r.values,
                              "target": r.target, "status": r.status()} for r in rows]},
                   indent=2, default=str),
        encoding="utf-8",
    )
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Profile one benchmark crawl and say what heed's own code costs per page.

``python3 -m bench --profile heed`` (or ``plain``) runs one crawl of the benchmark web under
pyinstrument (a development tool, not a dependency of heed: ``pip install pyinstrument``)
and writes, under ``--out``:

* ``profile-<variant>.txt``: pyinstrument's call tree;
* ``profile-<variant>-summary.txt``: per function of heed's own packages (``crawler/``,
  ``pipelines/``), the time spent in it and below it, counted once per stack (the outermost
  heed frame owns the time), in microseconds per page; then the functions with the most
  self time anywhere, Scrapy's included.

The profiler slows the crawl down; read the figures as shares, not as absolute costs.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.crawl import ROOT, crawl_command
from bench.site import BenchSite

_OWN = (str(ROOT / "crawler") + "/", str(ROOT / "pipelines") + "/")


def _is_own(frame: Any) -> bool:
    path = frame.file_path or ""
    return path.startswith(_OWN)


def _walk(frame: Any, inside_own: bool, own: dict[str, float], self_times: dict[str, float]) -> None:
    key = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
    own_here = _is_own(frame)
    if own_here and not inside_own:
        own[key] += frame.time
    self_times[key] += frame.total_self_time
    for child in frame.children:
        _walk(child, inside_own or own_here, own, self_times)


def summarise(session_file: Path, pages: int, top: int = 30) -> Iterator[str]:
    from pyinstrument.session import Session

    session = Session.load(str(session_file))
    root = session.root_frame()
    own: dict[str, float] = defaultdict(float)
    self_times: dict[str, float] = defaultdict(float)
    if root is not None:
        _walk(root, False, own, self_times)
    total = root.time if root is not None else 0.0
    yield f"profiled: {total:.2f} s for {pages} pages ({total / pages * 1e6:.0f} µs per page under the profiler)"
    yield ""
    yield "heed-owned code, outermost frames (time in it and below it):"
    yield f"{'µs/page':>9}  {'share':>6}  function"
    for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        yield f"{seconds / pages * 1e6:9.1f}  {seconds / total:6.1%}  {key}"
    yield f"{sum(own.values()) / pages * 1e6:9.1f}  {sum(own.values()) / total:6.1%}  TOTAL heed-owned"
    yield ""
    yield "self time, any code:"
    for key, seconds in sorted(self_times.items(), key=lambda kv: -kv[1])[:top]:
        yield f"{seconds / pages * 1e6:9.1f}  {seconds / total:6.1%}  {key}"


def profile(variant: str, site: BenchSite, work: Path, out: Path, pages: int) -> Path:
    """Run one crawl under pyinstrument; returns the summary file."""
    import importlib.util

    if importlib.util.find_spec("pyinstrument") is None:
        raise SystemExit("profiling needs pyinstrument: python3 -m pip install pyinstrument")
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    cmd, env = crawl_command(variant, site, work, pages, run_id=f"profile-{variant}")
    session = out / f"profile-{variant}.pyisession"
    at = cmd.index("-m")
    wrapped = [*cmd[:at], "-m", "pyinstrument", "-r", "session", "-o", str(session), *cmd[at:]]
    subprocess.run(wrapped, cwd=ROOT, env=env, check=True, capture_output=True)
    tree = out / f"profile-{variant}.txt"
    subprocess.run(
        [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", "text", "-o", str(tree)],
        check=True, capture_output=True,
    )
    summary = out / f"profile-{variant}-summary.txt"
    summary.write_text("\n".join(summarise(session, pages)) + "\n", encoding="utf-8")
    return summary


__all__ = ["profile", "summarise"]

"""The README's schedule try-out, run as a newcomer would run it.

The commands are read from README.md (between the ``schedule-try`` markers), not copied
here, so the README cannot drift from what works. Only what must differ on a test machine is
changed: a free port instead of 8765, and a temporary directory instead of ``data/runs``.
Ground truth is the sample web's own access log.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
from pathlib import Path

from conftest import ROOT, run_scrapy


def _block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- schedule-try -->", 1)[1].split("<!-- /schedule-try -->", 1)[0]
    lines = [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.startswith("```")]
    assert lines, "README.md has no schedule try-out block"
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _summary(stdout: str) -> dict[str, str]:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("heed "))
    return dict(field.split("=", 1) for field in line.split()[1:])


def _run_block(lines: list[str], tmp_path: Path, *, drop_job: bool = False) -> tuple[list[dict[str, str]], Path]:
    port = str(_free_port())
    log = tmp_path / "try-web.log"
    summaries = []
    for line in lines:
        line = line.replace("data/runs/try-web.log", str(log)).replace("8765", port)
        if line.startswith("grep"):
            continue  # checked below against the same file, line by line
        argv = shlex.split(line)
        assert argv[:3] == ["python3", "-m", "scrapy"], line
        args = argv[3:] + ["-s", f"PROVENANCE_DIR={tmp_path / 'runs'}"]
        if drop_job:
            i = args.index("JOB_NAME=try-nightly")
            del args[i - 1:i + 1]
        proc = run_scrapy(args)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        summaries.append(_summary(proc.stdout))
    return summaries, log


def _hits(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_the_readme_schedule_recipe_sends_conditional_requests_the_second_time(tmp_path: Path) -> None:
    lines = _block()
    assert sum(ln.startswith("python3 -m scrapy demo") for ln in lines) == 2
    assert any(re.match(r"grep -c .*if-none-match", ln) for ln in lines)
    (first, second), log = _run_block(lines, tmp_path)
    hits = _hits(log)
    conditional = [h for h in hits if "if-none-match" in h["headers"]]  # type: ignore[operator]
    assert conditional, "the second run sent no conditional request"
    assert all(h["status"] == 304 for h in conditional)
    # the first run's requests come first in the log, and none of them is conditional
    first_conditional = hits.index(conditional[0])
    assert first_conditional >= int(first["pages"])
    assert not any(h["path"] in ("/robots.txt", "/.well-known/tdmrep.json") for h in conditional)
    assert first["job"] == second["job"] == "try-nightly"
    assert int(first["unchanged"]) == 0 and int(first["items"]) > 0
    assert int(second["unchanged"]) == len(conditional) and second["items"] == "0"
    assert second["verify"] == "clean" and second["takedowns"] == "0"


def test_negative_control_without_a_job_name_nothing_is_conditional(tmp_path: Path) -> None:
    (first, second), log = _run_block(_block(), tmp_path, drop_job=True)
    assert not any("if-none-match" in h["headers"] for h in _hits(log))  # type: ignore[operator]
    assert second["job"] == "-" and second["unchanged"] == "0" and int(second["items"]) > 0

"""Crash recovery: a writer process killed with SIGKILL at chosen points, then recovered.

Each case runs a real child process that writes through :class:`pipelines.worklog.WorkerLog`,
waits for durability exactly as the gate does, prints the last durable ``seq`` and then
kills itself (SIGKILL: no cleanup, no ``finally``). The parent recovers the run directory
and checks that every durable row is in a sealed, verifiable Parquet part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import journal as jr
from pipelines.audit import verify
from pipelines.manifest import load_manifest
from pipelines.recover import WorkerBusy, recover_run, recover_worker, worker_lock, workers_to_recover
from pipelines.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, os, signal, sys
from datetime import datetime, timezone
from pathlib import Path
import pipelines.seal as seal_mod
import pipelines.worklog as worklog_mod
from crawler.items import Recording, make_item_id
from crawler.policy.decision import Decision, Evidence
from crawler.policy.fetchresult import FetchResult
from pipelines.itemrows import item_row
from pipelines.records import EvidenceEntry, jsonable
from pipelines.rows import RowBuilder
from pipelines.rundir import RunDir
from pipelines.worklog import WorkerLog

args = json.loads(sys.argv[1])

def die(*_a, **_k):
    os.kill(os.getpid(), signal.SIGKILL)

log = WorkerLog(RunDir(Path(args["run"])), run_id="run1", worker="w1", policy_hash="h",
                policy={"hash": "h", "config": {}}, components={"policy_gate": True, "network_guard": True},
                metadata={"heed.run_id": "run1"}, rows_per_part=args["rows_per_part"], flush_seconds=3600,
                resume=args["resume"])
log.open()
rows = RowBuilder(run_id="run1", worker="w1", policy_hash="h", agent_token="heed", strict=True, user_agent="ua")
robots = FetchResult(url="http://a.test/robots.txt", status=200, body=b"User-agent: *\nDisallow: /p/\n", kind="robots.txt")
log.add_evidence(EvidenceEntry.from_result(robots))
last = 0
for n in range(args["decisions"]):
    url = f"http://a.test/{args['tag']}{n}"
    decision = Decision(verdict="allow", stage="fetch", url=url, evidence=(Evidence("robots.txt", robots.url, robots.sha256),))
    last = log.add_decision(rows.row(decision, log.next_seq()))
    if n % 3 == 0:
        item = Recording(item_id=make_item_id("generic_web", url), source="generic_web", page_url=url,
                         fetched_at=datetime(2025, 1, 1, tzinfo=timezone.utc), extractor="jsonld",
                         extractor_version="0.1.0", title=f"t{n}")
        log.add_item("recording", {k: jsonable(v) for k, v in item_row(item, "h").items()})
    if log.due():
        log.seal()
log.wait()
log.journal.wait_durable(last, timeout=30)  # what the gate waits for before a fetch
print(json.dumps({"durable_seq": log._seq}), flush=True)
kill = args["kill"]
if kill == "none":
    log.close()
    sys.exit(0)
if kill == "torn":  # a write the crash cut in half
    segment = sorted(Path(args["run"], ".journal").glob("*.wal"))[-1]
    with open(segment, "ab") as fh:
        fh.write(b"HJD\x00\x00\x10\x00half a frame")
if kill == "mid-seal":  # the decisions part is published, the evidence WARC never is
    log.add_evidence(EvidenceEntry.from_result(FetchResult(url="http://b.test/robots.txt", status=404, kind="robots.txt")))
    seal_mod.write_warc = die
if kill == "before-checkpoint":  # every file of the seal published, none listed yet
    worklog_mod.update_manifest = die
if kill in ("mid-seal", "before-checkpoint"):
    log.seal()
    log.wait()
die()
'''


def run_child(run: Path, *, kill: str, decisions: int = 20, rows_per_part: int = 6, resume: bool = False,
              tag: str = "a") -> int:
    args = {"run": str(run), "kill": kill, "decisions": decisions, "rows_per_part": rows_per_part,
            "resume": resume, "tag": tag}
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    expected = 0 if kill == "none" else -9
    assert proc.returncode == expected, proc.stderr[-3000:]
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["durable_seq"])


def decision_seqs(run: Path) -> list[int]:
    manifest = load_manifest(run)
    parts = [run / f["path"] for f in manifest["workers"]["w1"]["files"] if f["kind"] == "decisions"]
    return [s for p in parts for s in pq.read_table(p, columns=["seq"])["seq"].to_pylist()]


@pytest.mark.parametrize("kill", ["after-durable", "torn", "mid-seal", "before-checkpoint"])
def test_killed_writer_loses_no_durable_row(tmp_path: Path, kill: str) -> None:
    run = tmp_path / "run1"
    durable = run_child(run, kill=kill)
    findings = verify(run)
    assert any("has not closed" in f and "audit recover" in f for f in findings), findings
    assert any("journal segments" in f for f in findings) or kill == "before-checkpoint"
    assert workers_to_recover(run) == ["w1"]

    (recovery,) = recover_run(run)
    assert recovery.written or recovery.adopted
    if kill == "torn":
        assert recovery.torn_bytes > 0
    if kill == "before-checkpoint":
        assert recovery.adopted  # published before the kill, listed only now
    assert verify(run) == []
    assert decision_seqs(run) == list(range(1, durable + 1))
    section = load_manifest(run)["workers"]["w1"]
    assert section["state"] == "recovered" and section["last_seq"] == durable
    assert section["sessions"][-1]["ended"] == "killed; recovered"
    items = [p for f in section["files"] if f["kind"] == "items" for p in [run / f["path"]]]
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in items) == len(range(0, 20, 3))
    assert not list((run / ".journal").glob("*.wal")) and not list(run.rglob(".*.tmp"))
    assert recover_worker(run, "w1").changed is False  # idempotent
    assert verify(run) == []


def test_resume_after_a_kill_continues_the_chain(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    durable = run_child(run, kill="after-durable")
    total = run_child(run, kill="none", decisions=5, resume=True, tag="b")  # recovers, then continues
    assert total == durable + 5
    assert verify(run) == []
    assert decision_seqs(run) == list(range(1, total + 1))
    section = load_manifest(run)["workers"]["w1"]
    assert [s["ended"] for s in section["sessions"]] == ["killed; recovered", "closed"]
    assert section["state"] == "closed" and section["last_seq"] == total


def test_a_second_start_without_resume_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    run_child(run, kill="after-durable")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(
        {"run": str(run), "kill": "none", "decisions": 1, "rows_per_part": 6, "resume": False, "tag": "c"})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "PROVENANCE_RESUME" in proc.stderr


def test_recovery_refuses_a_running_worker(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run1")
    with worker_lock(rd, "w1"):
        (rd.journal / jr.segment_name("w1", 1)).write_bytes(jr.frame(jr.HEADER, b"{}"))
        with pytest.raises(WorkerBusy, match="running in another process"):
            recover_worker(rd, "w1")


def test_an_old_unlisted_file_is_never_adopted(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    run_child(run, kill="none", rows_per_part=4)
    first = run / "decisions" / "decisions-w1-000001.parquet"
    forged = run / "decisions" / "decisions-w1-000000.parquet"
    forged.write_bytes(first.read_bytes())
    recover_worker(run, "w1")
    assert "decisions/decisions-w1-000000.parquet: present but not listed in manifest.json" in verify(run)


def test_recovered_manifest_is_signed_when_a_key_is_given(tmp_path: Path) -> None:
    from pipelines.signing import Signer, generate_keypair, load_public_key

    key = tmp_path / "k"
    generate_keypair(key, tmp_path / "k.pub")
    run = tmp_path / "run1"
    run_child(run, kill="after-durable")
    recover_run(run, signer=Signer.from_file(key))
    assert verify(run, public_key=load_public_key(tmp_path / "k.pub")) == []

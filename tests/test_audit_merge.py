"""``audit merge``: the parts of one run written on two machines become one verifiable run.

Two real crawls of the loopback sample web stand for two machines: the same run id, different
worker names, different PROVENANCE_DIRs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import DEMO_WEB, crawl, run_scrapy

from crawler.demo.webserver import SampleWeb
from pipelines.merge import MergeError, merge_runs
from pipelines.signing import Signer, generate_keypair, load_public_key
from pipelines.verify import verify


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    base = tmp_path_factory.mktemp("machines")
    key = base / "keys" / "heed.key"
    generate_keypair(key, base / "keys" / "heed.key.pub")
    parts = []
    with SampleWeb(DEMO_WEB) as web:
        for worker, host in (("east-1", "open.test"), ("west-1", "ai-tokens.test")):
            run = crawl(web, base / worker, [web.url(host)], run_id="shared-run", settings={
                "PROVENANCE_WORKER": worker, "PROVENANCE_SIGNING_KEY": str(key)})
            assert run.returncode == 0, run.stderr[-3000:]
            parts.append(run.run_dir)
    yield parts[0], parts[1], key


def test_two_machines_parts_merge_into_one_clean_run(machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    east, west, key = machines
    result = merge_runs(tmp_path / "merged", [east, west], public_key=load_public_key(key.with_name("heed.key.pub")),
                        signer=Signer.from_file(key))
    assert result.findings == () and result.workers == ("east-1", "west-1")
    assert verify(tmp_path / "merged", public_key=load_public_key(key.with_name("heed.key.pub"))) == []
    workers = duckdb.sql(
        f"select distinct worker from read_parquet('{tmp_path}/merged/decisions/*.parquet') order by 1"
    ).fetchall()
    assert workers == [("east-1",), ("west-1",)]
    manifest = json.loads((tmp_path / "merged" / "manifest.json").read_text())
    assert [m["workers"] for m in manifest["merged_from"]] == [["east-1"], ["west-1"]]
    assert all(m["signature"] for m in manifest["merged_from"])


def test_a_source_that_does_not_verify_is_refused(machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    east, west, _ = machines
    broken = tmp_path / "east"
    shutil.copytree(east, broken)
    part = sorted((broken / "decisions").glob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-1] + b"\x00")
    with pytest.raises(MergeError, match="does not verify"):
        merge_runs(tmp_path / "merged", [broken, west])
    assert not (tmp_path / "merged").exists()


def test_the_same_worker_twice_is_refused(machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    east, _, _ = machines
    with pytest.raises(MergeError, match="appears in both"):
        merge_runs(tmp_path / "merged", [east, east])


def test_parts_of_different_runs_are_refused(tmp_path: Path) -> None:
    with SampleWeb(DEMO_WEB) as web:
        a = crawl(web, tmp_path / "a", [web.url("open.test")], run_id="run-a", settings={"PROVENANCE_WORKER": "a"})
        b = crawl(web, tmp_path / "b", [web.url("open.test")], run_id="run-b", settings={"PROVENANCE_WORKER": "b"})
    with pytest.raises(MergeError, match="different runs"):
        merge_runs(tmp_path / "merged", [a.run_dir, b.run_dir])


def test_the_command_merges_and_refuses_a_non_empty_destination(
    machines: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    east, west, _ = machines
    dest = tmp_path / "merged"
    ok = run_scrapy(["audit", "merge", str(dest), str(east), str(west)])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 workers" in ok.stdout
    assert run_scrapy(["audit", "verify", str(dest)]).returncode == 0
    again = run_scrapy(["audit", "merge", str(dest), str(east), str(west)])
    assert again.returncode == 1 and "not empty" in again.stdout
    usage = run_scrapy(["audit", "merge", str(dest)])
    assert usage.returncode == 2


def test_a_worker_can_verify_its_own_share_while_others_still_write(
    machines: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    east, west, _ = machines
    merged = tmp_path / "merged"
    merge_runs(merged, [east, west])
    part = sorted((merged / "decisions").glob("decisions-west-1-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-1] + b"\x00")
    (merged / "decisions" / "decisions-west-1-000099.parquet").write_bytes(b"half-written by a live worker")
    assert verify(merged, worker="east-1") == []
    west_findings = verify(merged, worker="west-1")
    assert any("sha256" in f for f in west_findings) and any("000099" in f for f in west_findings)
    assert len(verify(merged)) == len(west_findings)
    assert verify(merged, worker="north-1") == ["manifest.json: worker north-1 is not listed"]

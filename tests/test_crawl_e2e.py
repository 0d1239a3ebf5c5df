"""End to end: a real crawl of the multi-host loopback web, judged by the server's own log.

The gate is judged by what the server saw, not by what heed says it did: no opted-out URL
may appear in the access log, every allowed one must. The negative control runs the same
crawl with the gate removed and shows the opted-out URLs *are* then requested, so these
tests could fail. The decision log is read back with pyarrow and with DuckDB.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import crawl, demo_seeds, expected_urls

POLICY_FILES = {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"}
NOT_REQUESTED = {"deny:fetch", "hold", "unseen", "offsite"}


def content_hits(web) -> set[tuple[str, str]]:
    return {(h.host, h.path) for h in web.hits_snapshot() if h.path not in POLICY_FILES}


def read_decisions(run_dir: Path):
    return ds.dataset(run_dir / "decisions", format="parquet").to_table()


def rows_for(table, url: str, stage: str) -> list[dict]:
    mask = pc.and_(pc.equal(table["url"], url), pc.equal(table["stage"], stage))
    return table.filter(mask).to_pylist()


@pytest.fixture
def gated_run(sample_web, tmp_path):
    run = crawl(sample_web, tmp_path / "runs", demo_seeds(sample_web))
    assert run.returncode == 0, run.stderr[-3000:]
    return sample_web, run


def test_no_opted_out_url_is_requested_and_every_allowed_one_is(gated_run):
    web, run = gated_run
    hits = content_hits(web)
    for row in expected_urls():
        requested = (row.host, row.path) in hits
        if row.outcome in NOT_REQUESTED:
            assert not requested, f"{row.outcome} URL was requested: {row.host}{row.path}"
        else:
            assert requested, f"{row.outcome} URL was not requested: {row.host}{row.path}"
    # registry-listed hosts are refused before any policy file is fetched
    assert not [h for h in web.hits_snapshot() if h.host == "registry-listed.test"]


def test_every_considered_url_has_a_decision_with_the_right_verdict(gated_run):
    web, run = gated_run
    table = read_decisions(run.run_dir)
    redirected = {(h.host, h.path) for h in web.hits_snapshot() if 300 <= h.status < 400}
    assert redirected, "the sample web's short links should have redirected"
    for row in expected_urls():
        url = web.url(row.host, row.path)
        fetch_rows = rows_for(table, url, "fetch")
        use_rows = rows_for(table, url, "use")
        if row.outcome in ("unseen", "offsite"):
            assert not fetch_rows and not use_rows, url
            continue
        assert fetch_rows, f"no fetch decision for {url}"
        verdicts = {r["verdict"] for r in fetch_rows}
        if row.outcome in ("fetched", "deny:use"):
            assert verdicts == {"allow"}, (url, fetch_rows)
            if (row.host, row.path) in redirected:
                # a redirect carries no content: the target gets its own fetch and use rows
                assert not use_rows, (url, use_rows)
                continue
            assert use_rows, f"no use decision for {url}"
            use_verdict = "allow" if row.outcome == "fetched" else "deny"
            assert {r["verdict"] for r in use_rows} == {use_verdict}, (url, use_rows)
            decided = use_rows
        else:
            expected_verdict = "hold" if row.outcome == "hold" else "deny"
            assert verdicts == {expected_verdict}, (url, fetch_rows)
            assert not use_rows
            decided = fetch_rows
        if row.family:
            reasons = [r for d in decided for r in d["reasons"]]
            assert any(r.startswith(row.family) for r in reasons), (url, reasons)
            # a refusal names its evidence: the policy file or header block it rests on
            if row.family != "registry":
                assert all(d["evidence"] for d in decided), (url, decided)


def test_items_come_only_from_used_pages(gated_run):
    web, run = gated_run
    items = ds.dataset(run.run_dir / "items" / "recording", format="parquet").to_table()
    used = {web.url(r.host, r.path) for r in expected_urls() if r.outcome == "fetched"}
    assert set(items["page_url"].to_pylist()) <= used
    expected = sum(r.recordings for r in expected_urls() if r.outcome == "fetched")
    assert items.num_rows == expected
    table = read_decisions(run.run_dir)
    item_rows = table.filter(pc.equal(table["stage"], "item"))
    assert sorted(item_rows["item_id"].to_pylist()) == sorted(items["item_id"].to_pylist())


def test_log_reads_back_with_duckdb_and_seq_is_strictly_increasing(gated_run):
    web, run = gated_run
    pattern = str(run.run_dir / "decisions" / "*.parquet")
    con = duckdb.connect()
    by_verdict = dict(con.execute(
        f"select verdict, count(*) from read_parquet('{pattern}') group by verdict").fetchall())
    table = read_decisions(run.run_dir)
    assert by_verdict == dict(Counter(table["verdict"].to_pylist()))
    assert set(by_verdict) == {"allow", "deny", "hold"}
    seqs = [s for (s,) in con.execute(f"select seq from read_parquet('{pattern}') order by seq").fetchall()]
    assert seqs == list(range(1, len(seqs) + 1))
    hashes = con.execute(f"select distinct policy_hash, agent_token, strict from read_parquet('{pattern}')").fetchall()
    assert len(hashes) == 1 and hashes[0][1] == "heed" and hashes[0][2] is True


def test_negative_control_without_the_gate_the_opted_out_urls_are_requested(sample_web, tmp_path):
    run = crawl(sample_web, tmp_path / "runs", demo_seeds(sample_web), gate=False)
    assert run.returncode == 1, run.stderr[-3000:]  # an ungated run fails its verification
    hits = content_hits(sample_web)
    opted_out = [r for r in expected_urls() if r.outcome in ("deny:fetch", "hold", "unseen")]
    assert opted_out
    missing = [(r.host, r.path) for r in opted_out if (r.host, r.path) not in hits]
    assert not missing, f"without the gate these should have been requested: {missing}"
    # and reserved content reaches the dataset
    items = ds.dataset(run.run_dir / "items" / "recording", format="parquet").to_table()
    reserved_pages = {sample_web.url(r.host, r.path) for r in expected_urls()
                      if r.outcome == "deny:use" and r.recordings}
    assert reserved_pages & set(items["page_url"].to_pylist())
    # an ungated run says so: the audit refuses to call it clean
    from pipelines.audit import verify

    assert any("without the policy gate" in f for f in verify(run.run_dir))


def test_network_guard_never_connects_to_a_private_literal(sample_web, tmp_path):
    import socket
    import threading

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.2", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, addr = listener.accept()
            except OSError:
                continue
            accepted.append(addr)
            conn.close()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        target = f"http://127.0.0.2:{port}/song.html"
        run = crawl(sample_web, tmp_path / "runs", [target, sample_web.url("open.test")])
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert run.returncode == 0, run.stderr[-3000:]
    assert accepted == []
    rows = rows_for(read_decisions(run.run_dir), target, "fetch")
    assert [r["verdict"] for r in rows] == ["deny"]
    assert rows[0]["reasons"] == ["security:loopback"]

"""The audit actions an auditor runs on a real crawl: explain, replay, recheck, query, summary.

One crawl of the loopback sample web serves the module; cases that change the run work
on a copy. Commands run as ``python -m scrapy audit ...`` where the exit code matters, and
in-process where a negative control needs to change the policy code.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DEMO_WEB, crawl, demo_seeds, run_scrapy

import pipelines.replay as replay_mod
from crawler.demo.webserver import SampleWeb
from crawler.policy.decision import Decision
from pipelines.explain import explain, quote_robots_line
from pipelines.query import run_query
from pipelines.recheck import recheck
from pipelines.replay import replay

ROOT = Path(__file__).resolve().parents[1]
NEW_PARTY = "Quillfeather Sound Archive"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    base = tmp_path_factory.mktemp("audit")
    with SampleWeb(DEMO_WEB) as web:
        run = crawl(web, base / "runs", demo_seeds(web), settings={"PROVENANCE_WORKER": "w1"})
        port = web.port
    assert run.returncode == 0, run.stderr[-3000:]
    yield run.run_dir, port


@pytest.fixture
def copy(crawled: tuple[Path, int], tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(crawled[0], target)
    return target


def url(crawled: tuple[Path, int], host: str, path: str) -> str:
    return f"http://{host}:{crawled[1]}{path}"


# -- explain ---------------------------------------------------------------------------


def test_explain_quotes_the_robots_line_from_the_archive(crawled: tuple[Path, int]) -> None:
    secret = url(crawled, "robots-private.test", "/private/secret.html")
    proc = run_scrapy(["audit", "explain", str(crawled[0]), secret])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "fetch DENY   robots.disallow:*" in out
    assert "rule: robots.txt:3 Disallow: /private/" in out
    assert "robots.txt line 3: 'Disallow: /private/'" in out  # read from the WARC, not from the row
    assert "archived: evidence-w1-" in out
    result = explain(crawled[0], secret)
    (row,) = result.decisions
    (robots,) = [e for e in row["_evidence"] if e["kind"] == "robots.txt"]
    assert robots["archived"] and robots["status"] == 200


def test_explain_shows_every_stage_and_the_items_of_a_page(crawled: tuple[Path, int]) -> None:
    result = explain(crawled[0], url(crawled, "open.test", "/tracks/glass-harbour.html"))
    assert [r["stage"] for r in result.decisions] == ["fetch", "use", "item"]
    assert [i["item_type"] for i in result.items] == ["recording"]
    header = explain(crawled[0], url(crawled, "tdm-header.test", "/tracks/aurora-line.html"))
    use = next(r for r in header.decisions if r["stage"] == "use")
    (block,) = [e for e in use["_evidence"] if e["kind"] == "headers"]
    assert "tdm-reservation: 1" in block["block"]


def test_explain_of_an_unknown_url_exits_1(crawled: tuple[Path, int]) -> None:
    proc = run_scrapy(["audit", "explain", str(crawled[0]), "http://nowhere.test/"])
    assert proc.returncode == 1 and "no decision about http://nowhere.test/" in proc.stdout


def test_quote_robots_line_counts_lines_as_the_parser_does() -> None:
    body = b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /a\rAllow: /b\nDisallow: /c"
    assert [quote_robots_line(body, n) for n in (1, 2, 3, 4, 5)] == [
        "User-agent: *", "Disallow: /a", "Allow: /b", "Disallow: /c", None]


# -- replay ----------------------------------------------------------------------------


def test_replay_of_an_untouched_run_finds_no_difference(crawled: tuple[Path, int]) -> None:
    proc = run_scrapy(["audit", "replay", str(crawled[0])])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ": 0 difference(s)" in proc.stdout
    result = replay(crawled[0])
    assert result.checked > 30 and result.differences == []
    assert result.skipped.get("network guard", 0) == 0


def test_replay_reports_what_changed_policy_code_would_decide(crawled: tuple[Path, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = replay_mod.fetch_decision

    def forgetful(*args: Any, **kwargs: Any) -> Decision:  # a policy change that ignores robots.txt
        decision = real(*args, **kwargs)
        kept = tuple(r for r in decision.reasons if not r.startswith("robots."))
        return Decision(verdict="allow" if not kept else decision.verdict, stage=decision.stage, url=decision.url,
                        reasons=kept, rules=decision.rules if kept else ())

    monkeypatch.setattr(replay_mod, "fetch_decision", forgetful)
    result = replay(crawled[0])
    changed = {d.url for d in result.differences}
    assert url(crawled, "robots-private.test", "/private/secret.html") in changed
    assert url(crawled, "ai-tokens.test", "/") in changed
    diff = next(d for d in result.differences if d.url.endswith("/private/secret.html"))
    assert diff.recorded[0] == "deny" and diff.replayed[0] == "allow"
    assert "recorded deny [robots.disallow:*], replayed allow []" in diff.describe()


def test_replay_needs_the_archived_policy_inputs(copy: Path) -> None:
    for warc in (copy / "evidence").glob("*.warc.gz"):
        warc.unlink()
    proc = run_scrapy(["audit", "replay", str(copy)])
    assert proc.returncode == 1 and "cannot replay: registry" in proc.stdout


# -- recheck ---------------------------------------------------------------------------


def _add_items(run: Path) -> dict[str, str]:
    """A part with the party columns the music-metadata pipelines add; returns id -> label."""
    rows = [
        {"item_id": "q1", "item_type": "recording", "page_url": "http://x.test/1", "record_label": NEW_PARTY},
        {"item_id": "q2", "item_type": "recording", "page_url": "http://x.test/2", "record_label": "Other Label",
         "rights_holder_candidates": ["Somebody", "QUILLFEATHER SOUND ARCHIVE, LLC"]},
        {"item_id": "q3", "item_type": "recording", "page_url": "http://x.test/3", "record_label": "Other Label",
         "copyright_holder": "Quillfeather Sound"},
        {"item_id": "q4", "item_type": "recording", "page_url": "http://x.test/4", "music_publisher": "Nobody Music",
         "isrc": "GBAYE0000001", "iswc": "T-034.524.680-1"},
    ]
    schema = pa.schema([("item_id", pa.string()), ("item_type", pa.string()), ("page_url", pa.string()),
                        ("record_label", pa.string()), ("copyright_holder", pa.string()),
                        ("music_publisher", pa.string()), ("rights_holder_candidates", pa.list_(pa.string())),
                        ("isrc", pa.string()), ("iswc", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), run / "items/recording/recording-w9-000001.parquet")
    return {r["item_id"]: str(r.get("record_label")) for r in rows}


def _registry_with_new_party(tmp_path: Path) -> Path:
    path = tmp_path / "newer.csv"
    sample = (ROOT / "data/registries/sample.csv").read_text()
    path.write_text(sample.rstrip("\n") + f"\nR9,{NEW_PARTY},party,{NEW_PARTY},https://rights.example/r9,2026-11-01\n")
    return path


def test_recheck_with_one_new_party_takes_down_exactly_its_items(copy: Path, tmp_path: Path) -> None:
    _add_items(copy)
    out = tmp_path / "takedown.csv"
    proc = run_scrapy(["audit", "recheck", str(copy), "--registry", str(_registry_with_new_party(tmp_path)),
                       "-o", str(out)])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # findings: items must leave
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["item_id"] for r in rows) == ["q1", "q2"]
    assert {r["reasons"] for r in rows} == {"registry.party:R9"}
    assert {r["holders"] for r in rows} == {NEW_PARTY}
    # the same registry without the new party takes nothing down
    baseline = recheck(copy, registries=[ROOT / "data/registries/sample.csv"])
    assert baseline.takedowns == [] and baseline.checked > 4
    assert "record_label" in baseline.columns["recording"]


def test_recheck_with_a_newer_ai_token_list(crawled: tuple[Path, int], tmp_path: Path) -> None:
    tokens = tmp_path / "ai_tokens.csv"
    tokens.write_text((ROOT / "data/ai_tokens.csv").read_text().rstrip("\n") + "\nhee,Example,training,new token\n")
    result = recheck(crawled[0], ai_tokens=tokens)
    assert [(t.page_url, t.reasons) for t in result.takedowns] == [
        (url(crawled, "prefix-trap.test", "/tracks/bramble.html"), ("robots.ai-token:hee",))]
    assert result.takedowns[0].rules == ("robots.txt:3 Disallow: /",)
    assert recheck(crawled[0], ai_tokens=ROOT / "data/ai_tokens.csv").takedowns == []


def test_recheck_usage_errors(crawled: tuple[Path, int], tmp_path: Path) -> None:
    assert run_scrapy(["audit", "recheck", str(crawled[0])]).returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,registry\n")
    assert run_scrapy(["audit", "recheck", str(crawled[0]), "--registry", str(bad)]).returncode == 2


# -- query and summary -----------------------------------------------------------------


def test_query_over_decisions_items_and_evidence(crawled: tuple[Path, int]) -> None:
    names, rows = run_query(crawled[0], "SELECT stage, verdict, count(*) AS n FROM decisions GROUP BY ALL ORDER BY ALL")
    assert names == ["stage", "verdict", "n"] and any(r[:2] == ("fetch", "deny") and r[2] > 0 for r in rows)
    (items,) = run_query(crawled[0], "SELECT count(*) FROM items_recording")[1]
    assert items[0] > 0
    kinds = {k for (k,) in run_query(crawled[0], "SELECT DISTINCT kind FROM evidence")[1]}
    assert {"robots.txt", "tdmrep.json", "registry", "ai-tokens"} <= kinds
    joined = run_query(crawled[0], "SELECT count(*) FROM decisions d JOIN evidence e "
                                   "ON list_contains(d.evidence_ids, e.record_id) WHERE d.verdict = 'deny'")[1]
    assert joined[0][0] > 0
    proc = run_scrapy(["audit", "query", str(crawled[0]), "SELECT verdict, count(*) AS n FROM decisions "
                       "GROUP BY 1 ORDER BY 1", "--format", "json"])
    assert proc.returncode == 0
    assert {r["verdict"] for r in json.loads(proc.stdout)} >= {"allow", "deny", "hold"}
    assert run_scrapy(["audit", "query", str(crawled[0]), "SELECT nonsense FROM nowhere"]).returncode == 2


def test_recover_of_a_clean_run_does_nothing(copy: Path) -> None:
    before = (copy / "manifest.json").read_bytes()
    proc = run_scrapy(["audit", "recover", str(copy)])
    assert (proc.returncode, proc.stdout.strip()) == (0, "nothing to recover")
    assert (copy / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [["audit"], ["audit", "nonsense", "x"], ["audit", "verify"], ["audit", "verify", "/no/such/run-dir"],
     ["audit", "explain", "/no/such/run-dir"], ["audit", "report", "/no/such/run-dir"],
     ["audit", "query", "/no/such/run-dir", "SELECT 1"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run_scrapy(args).returncode == 2


def test_keygen_writes_a_key_pair_once(tmp_path: Path) -> None:
    key = tmp_path / "heed.key"
    proc = run_scrapy(["audit", "keygen", str(key)])
    assert proc.returncode == 0, proc.stderr
    assert "fingerprint: sha256:" in proc.stdout and key.exists() and (tmp_path / "heed.key.pub").exists()
    assert b"PRIVATE KEY" not in proc.stdout.encode()
    assert run_scrapy(["audit", "keygen", str(key)]).returncode == 2  # never overwrites a key

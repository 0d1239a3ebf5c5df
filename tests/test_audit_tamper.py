"""``audit verify`` names every way a run directory can be tampered with.

One real, signed crawl of the loopback sample web (small parts, so each worker has several)
is copied for every case; each case changes the copy the way an operator covering their
tracks would, then checks that ``verify`` names the change. Cases where the forger also
recomputes the manifest (digests, row counts, chain) show what the signature and the
``seq`` walk add on top of the digests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DEMO_WEB, crawl, demo_seeds, run_scrapy

from crawler.demo.webserver import SampleWeb
from pipelines.manifest import chain, dump, entries_from_json, load_manifest
from pipelines.seal import adopt
from pipelines.signing import Signer, generate_keypair, load_public_key, sign
from pipelines.verify import verify


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("signed")
    key = base / "keys" / "heed.key"
    generate_keypair(key, base / "keys" / "heed.key.pub")
    with SampleWeb(DEMO_WEB) as web:
        run = crawl(web, base / "runs", demo_seeds(web), settings={
            "PROVENANCE_SIGNING_KEY": str(key), "PROVENANCE_ROWS_PER_PART": 5, "PROVENANCE_WORKER": "w1"})
    assert run.returncode == 0, run.stderr[-3000:]
    yield run.run_dir, key


@pytest.fixture
def run(signed_run: tuple[Path, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(signed_run[0], copy)
    return copy


@pytest.fixture
def public_key(signed_run: tuple[Path, Path]) -> Any:
    return load_public_key(signed_run[1].with_name("heed.key.pub"))


def files(run: Path, kind: str) -> list[str]:
    return [f["path"] for f in load_manifest(run)["workers"]["w1"]["files"] if f["kind"] == kind]


def rewrite_part(path: Path, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    rows = change(parquet.read().to_pylist())
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")


def recompute_manifest(run: Path, signer: Signer | None = None) -> None:
    """What a forger without the key can do: make every digest, count and link agree again."""
    manifest = load_manifest(run)
    manifest.pop("signature", None)
    for worker, section in manifest["workers"].items():
        entries = entries_from_json(section["files"])
        for raw, entry in zip(section["files"], entries, strict=True):
            path = run / entry.path
            if path.exists():
                info = adopt(path, entry.kind)
                raw.update(sha256=info.sha256, rows=info.rows, bytes=info.bytes)
        links = chain(manifest["run_id"], worker, entries_from_json(section["files"]))
        for raw, link in zip(section["files"], links, strict=True):
            raw["chain"] = link
        section["chain"]["head"] = links[-1] if links else section["chain"]["genesis"]
    if signer is not None:
        manifest = sign(manifest, signer)
    (run / "manifest.json").write_bytes(dump(manifest))


def test_the_untouched_run_is_clean_and_signed(run: Path, public_key: Any) -> None:
    assert len(files(run, "decisions")) >= 3
    assert verify(run, public_key=public_key) == []
    proc = run_scrapy(["audit", "verify", str(run), "--public-key", str(_pub(run, public_key))])
    assert (proc.returncode, proc.stdout.strip()) == (0, "clean"), proc.stderr


def _pub(run: Path, key: Any) -> Path:
    from cryptography.hazmat.primitives import serialization

    path = run.parent / "trusted.pub"
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def test_a_changed_value_in_a_row_is_named(run: Path, public_key: Any) -> None:
    part = files(run, "decisions")[1]

    def flip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[2]["verdict"] = "allow" if rows[2]["verdict"] != "allow" else "deny"
        return rows

    rewrite_part(run / part, flip)
    assert f"{part}: sha256 does not match the manifest (the file was changed)" in verify(run)
    recompute_manifest(run)  # the forger makes the digests agree again ...
    findings = verify(run, public_key=public_key)
    assert "manifest.json: not signed, but a public key was given" in findings  # ... but cannot sign
    proc = run_scrapy(["audit", "verify", str(run), "--public-key", str(_pub(run, public_key))])
    assert proc.returncode == 1 and "not signed" in proc.stdout


def test_a_re_signed_forgery_is_named_with_the_auditors_key(run: Path, public_key: Any, tmp_path: Path) -> None:
    part = files(run, "decisions")[0]
    rewrite_part(run / part, lambda rows: [{**r, "reasons": []} for r in rows])
    forger = tmp_path / "forger.key"
    generate_keypair(forger, tmp_path / "forger.pub")
    recompute_manifest(run, Signer.from_file(forger))
    assert verify(run) == []  # the embedded key alone proves nothing ...
    findings = verify(run, public_key=public_key)  # ... the auditor's key does
    assert any(f.startswith("manifest.json: signed by key sha256:") and "not by the given key" in f for f in findings)
    assert "manifest.json: signature does not verify (the manifest was rewritten after signing)" in findings


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("deleted", lambda rows: rows[:2] + rows[3:]),
        ("inserted", lambda rows: rows[:3] + [rows[2]] + rows[3:]),
        ("reordered", lambda rows: [rows[1], rows[0], *rows[2:]]),
    ],
)
def test_a_deleted_inserted_or_reordered_row_is_named(run: Path, case: str, change: Any) -> None:
    part = files(run, "decisions")[1]
    rewrite_part(run / part, change)
    findings = verify(run)
    assert f"{part}: sha256 does not match the manifest (the file was changed)" in findings
    recompute_manifest(run)  # even with digests and chain recomputed, seq gives it away
    findings = verify(run)
    assert any(f.startswith(f"{part}: seq not strictly consecutive") and "deleted, inserted or moved" in f
               for f in findings), (case, findings)


def test_a_deleted_part_is_named(run: Path, public_key: Any) -> None:
    part = files(run, "decisions")[1]
    (run / part).unlink()
    assert f"{part}: listed for worker w1 but missing" in verify(run)
    data = json.loads((run / "manifest.json").read_text())
    data["workers"]["w1"]["files"] = [f for f in data["workers"]["w1"]["files"] if f["path"] != part]
    (run / "manifest.json").write_text(json.dumps(data))
    findings = verify(run, public_key=public_key)
    assert any("chain link" in f for f in findings)
    assert any("signature does not verify" in f for f in findings)
    nxt = files(run, "decisions")[1]
    assert any(f.startswith(f"{nxt}: seq starts at") for f in findings)


def test_an_inserted_part_is_named(run: Path) -> None:
    first = files(run, "decisions")[0]
    forged = run / "decisions" / "decisions-w1-000999.parquet"
    shutil.copy(run / first, forged)
    assert verify(run) == ["decisions/decisions-w1-000999.parquet: present but not listed in manifest.json"]
    data = json.loads((run / "manifest.json").read_text())
    entry = dict(next(f for f in data["workers"]["w1"]["files"] if f["path"] == first), path="decisions/decisions-w1-000999.parquet")
    data["workers"]["w1"]["files"].insert(1, entry)
    (run / "manifest.json").write_text(json.dumps(data))
    findings = verify(run)
    assert any(f.startswith("decisions/decisions-w1-000999.parquet: chain link 2") for f in findings), findings
    assert any(f.startswith("decisions/decisions-w1-000999.parquet: seq starts at 1") for f in findings)


def test_reordered_parts_are_named(run: Path) -> None:
    data = json.loads((run / "manifest.json").read_text())
    listed = data["workers"]["w1"]["files"]
    a, b = [i for i, f in enumerate(listed) if f["kind"] == "decisions"][:2]
    listed[a], listed[b] = listed[b], listed[a]
    (run / "manifest.json").write_text(json.dumps(data))
    findings = verify(run)
    assert any(f.startswith(f"{listed[a]['path']}: chain link") for f in findings), findings
    assert any(f.startswith(f"{listed[a]['path']}: seq starts at") for f in findings)


def test_a_changed_evidence_file_is_named(run: Path) -> None:
    warc = files(run, "evidence")[0]
    data = bytearray((run / warc).read_bytes())
    data[len(data) // 2] ^= 0x20
    (run / warc).write_bytes(bytes(data))
    findings = verify(run)
    assert f"{warc}: sha256 does not match the manifest (the file was changed)" in findings


def test_a_changed_item_file_is_named(run: Path) -> None:
    part = files(run, "items")[0]
    rewrite_part(run / part, lambda rows: [{**r, "title": "Renamed"} for r in rows])
    assert f"{part}: sha256 does not match the manifest (the file was changed)" in verify(run)


def test_a_rewritten_signed_manifest_is_named(run: Path) -> None:
    data = json.loads((run / "manifest.json").read_text())
    data["workers"]["w1"]["components"]["policy_gate"] = True
    data["policy"]["config"]["strict"] = False  # claim a laxer policy was never in force
    (run / "manifest.json").write_text(json.dumps(data, indent=2, sort_keys=True))
    assert verify(run) == [
        "manifest.json: signature does not verify (the manifest was rewritten after signing)"]
    proc = run_scrapy(["audit", "verify", str(run)])
    assert proc.returncode == 1 and "signature does not verify" in proc.stdout


def test_verify_usage_errors(run: Path, tmp_path: Path) -> None:
    assert run_scrapy(["audit", "verify", str(run), "--public-key", str(tmp_path / "none.pub")]).returncode == 2
    (tmp_path / "bad.pub").write_text("not a key")
    assert run_scrapy(["audit", "verify", str(run), "--public-key", str(tmp_path / "bad.pub")]).returncode == 2

"""Policy files behind redirects: followed up to five hops (RFC 9309), rules kept for the
original origin; more hops, or a hop to a forbidden address, hold the origin."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import crawl

from crawler.demo.webserver import SampleWeb


def site(root: Path, host: str, robots_routes: dict, files: dict[str, str]) -> None:
    base = root / host
    for path, text in files.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_text(text)
    (base / "_site.json").write_text(json.dumps({"routes": robots_routes}))


def hop(location: str) -> dict:
    return {"status": 301, "headers": {"Location": location}}


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "web"
    page = '<html><head></head><body><a href="/private/x.html">x</a> <a href="/public.html">p</a></body></html>'
    files = {"index.html": page, "private/x.html": "<html></html>", "public.html": "<html></html>",
             "real-robots.txt": "User-agent: *\nDisallow: /private/\n"}
    site(root, "moved.test", {"/robots.txt": hop("/real-robots.txt")}, files)
    chain = {f"/r{i}": hop(f"/r{i + 1}") for i in range(6)}
    chain["/robots.txt"] = hop("/r0")
    site(root, "far.test", chain, {**files, "r6": "User-agent: *\nDisallow: /private/\n"})
    with SampleWeb(root) as server:
        yield server


def rows(run_dir, host):
    table = ds.dataset(run_dir / "decisions", format="parquet").to_table()
    table = table.filter(pc.equal(table["stage"], "fetch"))
    return {r["url"].split(host, 1)[1].split("/", 1)[1]: r for r in table.to_pylist() if host in r["url"]}


def test_a_redirected_robots_txt_is_followed_and_applies_to_the_original_origin(web, tmp_path):
    run = crawl(web, tmp_path / "runs", [web.url("moved.test")])
    assert run.returncode == 0, run.stderr[-2000:]
    assert "/real-robots.txt" in web.requested("moved.test")
    decided = rows(run.run_dir, "moved.test")
    assert decided[""]["verdict"] == "allow"
    assert decided["private/x.html"]["verdict"] == "deny"
    assert decided["private/x.html"]["reasons"] == ["robots.disallow:*"]
    assert "/private/x.html" not in web.requested("moved.test")
    assert "/public.html" in web.requested("moved.test")


def test_more_than_five_redirects_hold_the_origin(web, tmp_path):
    run = crawl(web, tmp_path / "runs", [web.url("far.test")])
    assert run.returncode == 0, run.stderr[-2000:]
    decided = rows(run.run_dir, "far.test")
    assert decided[""]["verdict"] == "hold"
    assert decided[""]["reasons"] == ["robots.unreachable:too-many-redirects"]
    assert "/r4" in web.requested("far.test")  # five hops were followed
    assert "/r5" not in web.requested("far.test")  # the sixth never is
    assert [p for p in web.requested("far.test") if p.endswith(".html") or p == "/"] == []


def test_negative_control_without_the_gate_the_private_page_is_fetched(web, tmp_path):
    run = crawl(web, tmp_path / "runs", [web.url("moved.test")], gate=False)
    assert run.returncode == 1, run.stderr[-2000:]  # an ungated run fails its verification
    assert "/private/x.html" in web.requested("moved.test")

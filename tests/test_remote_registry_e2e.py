"""The optional remote registry, against a real loopback stand-in for its API.

The stand-in answers like the Do-Not-Train API (POST of newline-separated URLs, JSON answer)
and records every query, so the tests see both what heed asked and what it then fetched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from conftest import crawl

OPTED_OUT = "/tracks/night-ferry.html"


class FakeRegistry:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.queries: list[tuple[str, list[str]]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                urls = body.split("\n") if body else []
                registry.queries.append((self.headers.get("Authorization", ""), urls))
                answer = json.dumps({"urls": [{"url": u, "optOut": u.endswith(OPTED_OUT)} for u in urls]})
                data = answer.encode() if registry.status == 200 else b"busy"
                self.send_response(registry.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://registry-api.test:{self.server.server_address[1]}/api/v2/query/urls/"

    def __enter__(self) -> FakeRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[FakeRegistry]:
    with FakeRegistry() as registry:
        yield registry


def run(web, tmp_path, api: FakeRegistry, *, enabled: bool = True):
    resolve = {**web.resolve_map(), "registry-api.test": "127.0.0.1"}
    settings = {
        "POLICY_RESOLVE": resolve,
        "POLICY_REMOTE_REGISTRY": enabled,
        "POLICY_REMOTE_REGISTRY_ENDPOINT": api.endpoint,
        "POLICY_REMOTE_REGISTRY_KEY_ENV": "HEED_TEST_REGISTRY_KEY",
    }
    return crawl(web, tmp_path / "runs", [web.url("open.test")], settings=settings)


def fetch_rows(run_dir):
    table = ds.dataset(run_dir / "decisions", format="parquet").to_table()
    return table.filter(pc.equal(table["stage"], "fetch")).to_pylist()


def test_opted_out_url_is_not_fetched(sample_web, tmp_path, api, monkeypatch):
    monkeypatch.setenv("HEED_TEST_REGISTRY_KEY", "k-123")
    result = run(sample_web, tmp_path, api)
    assert result.returncode == 0, result.stderr[-3000:]
    paths = sample_web.requested("open.test")
    assert OPTED_OUT not in paths and "/tracks/paper-lanterns.html" in paths
    asked = [u for _, urls in api.queries for u in urls]
    assert sample_web.url("open.test", OPTED_OUT) in asked
    assert {auth for auth, _ in api.queries} == {"API k-123"}
    denied = [r for r in fetch_rows(result.run_dir) if r["url"].endswith(OPTED_OUT)]
    assert [r["reasons"] for r in denied] == [["registry.remote:spawning"]]
    assert denied[0]["evidence"][0]["kind"] == "registry-answer"
    assert "k-123" not in result.stderr  # the key never reaches the log


def test_negative_control_registry_off_fetches_it(sample_web, tmp_path, api, monkeypatch):
    monkeypatch.setenv("HEED_TEST_REGISTRY_KEY", "k-123")
    result = run(sample_web, tmp_path, api, enabled=False)
    assert result.returncode == 0
    assert OPTED_OUT in sample_web.requested("open.test")
    assert api.queries == []


def test_missing_key_holds_everything(sample_web, tmp_path, api, monkeypatch):
    monkeypatch.delenv("HEED_TEST_REGISTRY_KEY", raising=False)
    result = run(sample_web, tmp_path, api)
    assert result.returncode == 0
    assert sample_web.requested("open.test") == []
    rows = fetch_rows(result.run_dir)
    assert rows and {r["verdict"] for r in rows} == {"hold"}
    assert {tuple(r["reasons"]) for r in rows} == {("registry.remote.unconfigured",)}


def test_unreachable_registry_holds_everything(sample_web, tmp_path, monkeypatch):
    monkeypatch.setenv("HEED_TEST_REGISTRY_KEY", "k-123")
    with FakeRegistry(status=503) as busy:
        result = run(sample_web, tmp_path, busy)
    assert result.returncode == 0
    assert [p for p in sample_web.requested("open.test")] == []
    rows = fetch_rows(result.run_dir)
    assert rows and all(r["verdict"] == "hold" for r in rows)
    assert all(r["reasons"][0].startswith("registry.remote.unreachable") for r in rows)

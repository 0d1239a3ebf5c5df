"""Spawning Do-Not-Train registry adapter (pure part): query body and answer reading."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.policy.decision import Evidence
from crawler.policy.remote_registry import (
    MAX_URLS_PER_QUERY,
    batches,
    build_query,
    parse_answer,
    request_headers,
    unconfigured_finding,
)

A = "https://h.test/a.mp3"
B = "https://h.test/b.mp3"
EV = Evidence(kind="registry", url="https://registry.test/query", sha256="e" * 64)


def answer(*entries: dict) -> bytes:
    return json.dumps({"urls": list(entries)}).encode()


def test_build_query():
    assert build_query([A, B]) == f"{A}\n{B}".encode()
    assert build_query(["https://h.test/é"]) == "https://h.test/é".encode()
    with pytest.raises(ValueError):
        build_query(["https://h.test/a\nhttps://evil.test/"])
    with pytest.raises(ValueError):
        build_query(["u"] * (MAX_URLS_PER_QUERY + 1))


def test_batches():
    urls = [f"https://h.test/{i}" for i in range(5)] + ["https://h.test/0"]
    assert list(batches(urls, 2)) == [
        ("https://h.test/0", "https://h.test/1"),
        ("https://h.test/2", "https://h.test/3"),
        ("https://h.test/4",),
    ]
    with pytest.raises(ValueError):
        list(batches(urls, 0))


def test_request_headers():
    assert request_headers("k") == {"Content-Type": "text/plain", "Authorization": "API k"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(200, answer({"url": A, "optOut": True}, {"url": B, "optOut": False}),
                     {A: ("deny", ("registry.remote:spawning",)), B: ("allow", ())},
                     id="registry-v7-optout-true-denies"),
        pytest.param(503, b"", {A: ("hold", ("registry.remote.unreachable:503",)),
                                B: ("hold", ("registry.remote.unreachable:503",))},
                     id="registry-v7-5xx-holds"),
        pytest.param(None, b"", {A: ("hold", ("registry.remote.unreachable:no-response",)),
                                 B: ("hold", ("registry.remote.unreachable:no-response",))},
                     id="no-response"),
        pytest.param(429, b"", {A: ("hold", ("registry.remote.unreachable:429",)),
                                B: ("hold", ("registry.remote.unreachable:429",))},
                     id="rate-limited"),
        pytest.param(200, b"<html>", {A: ("hold", ("registry.remote.unreachable:malformed-json",)),
                                      B: ("hold", ("registry.remote.unreachable:malformed-json",))},
                     id="not-json"),
        pytest.param(200, b'{"results": []}',
                     {A: ("hold", ("registry.remote.unreachable:malformed-answer",)),
                      B: ("hold", ("registry.remote.unreachable:malformed-answer",))},
                     id="wrong-shape"),
        pytest.param(200, answer({"url": A, "optOut": False}),
                     {A: ("allow", ()), B: ("hold", ("registry.remote.unreachable:missing-url",))},
                     id="missing-url"),
        pytest.param(200, answer({"url": A, "optOut": "false"}, {"url": B, "optOut": 0}),
                     {A: ("hold", ("registry.remote.unreachable:malformed-entry",)),
                      B: ("hold", ("registry.remote.unreachable:malformed-entry",))},
                     id="non-boolean-optout"),
        pytest.param(200, answer({"url": A, "optOut": False}, {"url": A, "optOut": True},
                                 {"url": B, "optOut": False}),
                     {A: ("deny", ("registry.remote:spawning",)), B: ("allow", ())},
                     id="duplicate-conflict-most-restrictive"),
        pytest.param(200, answer({"url": A + "/", "optOut": True}, {"url": B, "optOut": False}),
                     {A: ("hold", ("registry.remote.unreachable:missing-url",)), B: ("allow", ())},
                     id="url-compared-exactly"),
    ],
)
def test_parse_answer(status, body, expected):
    found = parse_answer(status, body, [A, B], evidence=EV)
    assert {u: (f.verdict, f.reasons) for u, f in found.items()} == expected
    assert all(f.evidence == (EV,) for f in found.values())


def test_unconfigured_holds_never_allows():
    found = unconfigured_finding(A)
    assert found.verdict == "hold"
    assert found.reasons == ("registry.remote.unconfigured",)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.integers(0, 999)), st.binary(max_size=300),
       st.lists(st.text(max_size=20), max_size=4))
def test_parse_answer_never_raises(status, body, urls):
    found = parse_answer(status, body, urls)
    assert set(found) == set(urls)
    assert all(f.verdict in ("allow", "deny", "hold") for f in found.values())


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["urls", "url", "optOut"]), inner, max_size=3),
                    max_leaves=12))
def test_parse_answer_json_shapes_never_raise(obj):
    found = parse_answer(200, json.dumps(obj).encode(), [A])
    # only an explicit optOut=false for exactly this URL may allow
    if found[A].verdict == "allow":
        assert isinstance(obj, dict)

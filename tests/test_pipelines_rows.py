"""The auditor's columns derived from a decision: a table of decisions and what they yield."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.policy.decision import Decision, Evidence
from pipelines.records import decode_row, encode_row, jsonable_row
from pipelines.rows import RowBuilder, RowContext, decision_id
from pipelines.schema import DECISIONS

BUILDER = RowBuilder(run_id="r", worker="w", policy_hash="p" * 64, agent_token="heed", strict=True,
                     user_agent="heed/0.1.0 (+https://team.example/)", clock=lambda: 1_700_000_000_000_000_000)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (Decision(verdict="deny", stage="fetch", url="http://a.test/private/x", reasons=("robots.disallow:*",),
                  rules=("robots.txt:7 Disallow: /private/",)),
         {"robots_group": "*", "robots_line": 7, "tdmrep_location": None, "registry_ids": []}),
        (Decision(verdict="deny", stage="fetch", url="http://a.test/", reasons=("robots.ai-token:GPTBot",),
                  rules=("robots.txt:2 Disallow: /",)),
         {"robots_group": "GPTBot", "robots_line": 2}),
        (Decision(verdict="deny", stage="fetch", url="http://a.test/music/x", reasons=("tdmrep.file",),
                  rules=("tdmrep.json[0] location=/music/ tdm-reservation=1 tdm-policy=https://a.test/p.json",)),
         {"tdmrep_location": "/music/", "tdm_policy": "https://a.test/p.json", "robots_line": None}),
        (Decision(verdict="deny", stage="use", url="http://a.test/t", reasons=("tdmrep.header",),
                  signals=(("tdm-reservation", "1"), ("tdm-policy", " https://a.test/h.json "))),
         {"tdm_policy": "https://a.test/h.json"}),
        (Decision(verdict="deny", stage="fetch", url="http://b.test/", reasons=("registry.domain:R1", "registry.url:R3")),
         {"registry_ids": ["R1", "R3"]}),
        (Decision(verdict="hold", stage="fetch", url="bad", reasons=("registry:bad-url",)), {"registry_ids": []}),
        (Decision(verdict="allow", stage="fetch", url="http://a.test/"), {"robots_group": None, "robots_line": None}),
    ],
)
def test_derived_columns(decision: Decision, expected: dict[str, Any]) -> None:
    row = BUILDER.row(decision, 1)
    assert {k: row[k] for k in expected} == expected
    assert set(row) == set(DECISIONS.names)


def test_the_group_is_taken_from_the_gate_when_the_reasons_do_not_name_it() -> None:
    decision = Decision(verdict="allow", stage="fetch", url="http://a.test/x", rules=("robots.txt:3 Allow: /",))
    assert BUILDER.row(decision, 1, group="heed")["robots_group"] == "heed"


def test_context_columns_and_defaults() -> None:
    decision = Decision(verdict="allow", stage="use", url="http://a.test:8080/x", http_status=200)
    ctx = RowContext(redirect_chain=("http://a.test:8080/old",), content_type="text/html", content_sha256="c" * 64,
                     content_length=12, headers=(("x-robots-tag", "noindex"),))
    row = BUILDER.row(decision, 5, context=ctx)
    assert (row["origin"], row["seq"], row["ts"]) == ("http://a.test:8080", 5, 1_700_000_000_000_000)
    assert row["user_agent"] == "heed/0.1.0 (+https://team.example/)"  # the configured one, when the request has none
    assert row["headers"] == [{"name": "x-robots-tag", "value": "noindex"}]
    assert row["redirect_chain"] == ["http://a.test:8080/old"] and row["content_length"] == 12


def test_decision_id_is_stable_and_sensitive() -> None:
    ev = (Evidence("robots.txt", "http://a.test/robots.txt", "a" * 64),)
    one = Decision(verdict="allow", stage="fetch", url="http://a.test/", evidence=ev)
    assert decision_id(one, "p") == decision_id(Decision(verdict="allow", stage="fetch", url="http://a.test/", evidence=ev), "p")
    other_evidence = (Evidence("robots.txt", "http://a.test/robots.txt", "b" * 64),)
    assert decision_id(one, "p") != decision_id(Decision(verdict="allow", stage="fetch", url="http://a.test/",
                                                         evidence=other_evidence), "p")
    assert decision_id(one, "p") != decision_id(one, "q")


def test_journal_encoding_round_trips() -> None:
    row = BUILDER.row(Decision(verdict="deny", stage="fetch", url="http://ä.test/ü", reasons=("noai:noai",),
                               evidence=(Evidence("headers", "http://ä.test/ü", "d" * 64),)), 3)
    constants = BUILDER.constants
    columns = [c for c in DECISIONS.names if c not in constants]
    assert decode_row(encode_row(row, columns), columns, constants) == row
    assert decode_row(encode_row(row)) == row
    from datetime import UTC, datetime

    assert jsonable_row({"a": datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "b": ("x",), "c": None}) == {
        "a": 1_000_000, "b": ["x"], "c": None}

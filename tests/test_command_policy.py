"""``scrapy policy``: explains decisions, fetching only policy files (judged by the server)."""

from __future__ import annotations

import json

import pytest
from conftest import run_scrapy

POLICY_FILES = {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"}


def policy(web, *args: str):
    return run_scrapy(["policy", "-s", f"POLICY_RESOLVE={json.dumps(web.resolve_map())}", *args])


def test_explains_down_to_the_robots_line_and_fetches_no_content(sample_web):
    urls = [
        sample_web.url("ai-tokens.test", "/tracks/lowlands.html"),
        sample_web.url("robots-private.test", "/private/secret.html"),
        sample_web.url("tdm-file.test", "/music/salt-road.html"),
        sample_web.url("open.test", "/"),
        sample_web.url("unreachable.test", "/"),
        sample_web.url("registry-listed.test", "/"),
    ]
    proc = policy(sample_web, "--json", *urls)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["url"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert list(rows) == urls
    ai, private, tdm, open_, unreachable, registry = (rows[u] for u in urls)

    assert (ai["fetch"], ai["use"], ai["final"]) == ("allow", "deny", "deny")
    assert "robots.ai-token:GPTBot" in ai["use_reasons"]
    assert any(r.startswith("robots.txt:") and "Disallow: /" in r for r in ai["rules"])

    assert (private["fetch"], private["final"]) == ("deny", "deny")
    assert private["rules"] == ["robots.txt:3 Disallow: /private/"]

    assert (tdm["fetch"], tdm["use"]) == ("allow", "deny")
    assert any(r.startswith("tdmrep.json[0]") for r in tdm["rules"])

    assert (open_["fetch"], open_["use"], open_["final"]) == ("allow", "allow", "allow")
    assert unreachable["final"] == "hold" and "robots.unreachable:503" in unreachable["reasons"]
    assert registry["final"] == "deny" and registry["reasons"] == ["registry.domain:R1"]
    for row in rows.values():
        assert {"url", "fetch", "use", "reasons", "evidence"} <= set(row)

    # only policy files were requested, and none at all for the registry-listed host
    assert {h.path for h in sample_web.hits_snapshot()} <= POLICY_FILES
    assert not [h for h in sample_web.hits_snapshot() if h.host == "registry-listed.test"]


def test_agent_option_evaluates_as_another_token(sample_web):
    url = sample_web.url("ai-tokens.test", "/tracks/lowlands.html")
    as_heed = json.loads(policy(sample_web, "--json", url).stdout)
    as_gptbot = json.loads(policy(sample_web, "--json", "--agent", "GPTBot", url).stdout)
    assert as_heed["fetch"] == "allow"
    assert as_gptbot["fetch"] == "deny" and as_gptbot["fetch_reasons"] == ["robots.disallow:gptbot"]


def test_text_output_names_both_questions(sample_web):
    proc = policy(sample_web, sample_web.url("robots-private.test", "/private/secret.html"))
    assert proc.returncode == 0
    assert "may fetch? deny  (robots.disallow:*)" in proc.stdout
    assert "rule: robots.txt:3 Disallow: /private/" in proc.stdout
    assert "final: deny" in proc.stdout


def test_private_literal_is_refused_without_any_fetch(sample_web):
    proc = policy(sample_web, "--json", f"http://127.0.0.1:{sample_web.port}/")
    row = json.loads(proc.stdout)
    assert row["final"] == "deny" and row["reasons"] == ["security:loopback"]
    assert sample_web.hits_snapshot() == []


@pytest.mark.parametrize("args", [[], ["ftp://x.test/"], ["not-a-url"]])
def test_usage_errors(args):
    assert run_scrapy(["policy", *args]).returncode == 2

"""Settings are read once into a frozen config; every error names the setting."""

from __future__ import annotations

import dataclasses

import pytest
from scrapy.settings import Settings

from crawler import settings as heed_settings
from crawler.policy.config import ConfigError, PolicyConfig


def make(**overrides) -> PolicyConfig:
    settings = Settings()
    settings.setmodule(heed_settings)
    settings.update(overrides)
    return PolicyConfig.from_settings(settings)


def test_defaults_load_the_shipped_data():
    config = make()
    assert config.agent_token == "heed"
    assert config.also_obey == ("Scrapy",)
    assert config.strict is True
    assert config.ai_tokens.tokens
    assert config.registry.entries
    assert len(config.policy_hash) == 64


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().strict = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"POLICY_AGENT_TOKEN": "heed/1.0"}, "POLICY_AGENT_TOKEN"),
        ({"POLICY_AGENT_TOKEN": ""}, "POLICY_AGENT_TOKEN"),
        ({"POLICY_ALSO_OBEY": ["Scrapy bot"]}, "POLICY_ALSO_OBEY"),
        ({"POLICY_AI_TOKENS": "data/no-such-file.csv"}, "POLICY_AI_TOKENS"),
        ({"POLICY_REGISTRIES": ["data/no-such-registry.csv"]}, "POLICY_REGISTRIES"),
        ({"POLICY_RESOLVE": {"a.test": "not-an-ip"}}, "POLICY_RESOLVE"),
        ({"POLICY_CACHE_TTL": "soon"}, "POLICY_CACHE_TTL"),
        ({"POLICY_CACHE_TTL": 0}, "POLICY_CACHE_TTL"),
        ({"POLICY_CACHE_TTL": "nan"}, "POLICY_CACHE_TTL"),
        ({"POLICY_CACHE_SIZE": 0}, "POLICY_CACHE_SIZE"),
        ({"POLICY_MAX_FILE_BYTES": 1000}, "POLICY_MAX_FILE_BYTES"),
    ],
)
def test_errors_name_the_setting(overrides, setting):
    with pytest.raises(ConfigError, match=setting):
        make(**overrides)


def test_policy_hash_changes_with_what_changes_decisions(tmp_path):
    base = make()
    assert make().policy_hash == base.policy_hash
    assert make(POLICY_STRICT=False).policy_hash != base.policy_hash
    assert make(POLICY_AGENT_TOKEN="otherbot").policy_hash != base.policy_hash
    registry = tmp_path / "r.csv"
    registry.write_text("id,holder,scope,value,source_url,declared_on\nX1,H,host,a.test,https://r.example/,2026-01-01\n")
    assert make(POLICY_REGISTRIES=[str(registry)]).policy_hash != base.policy_hash


def test_resolve_map_accepts_json_from_the_command_line():
    config = make(POLICY_RESOLVE='{"Open.TEST": "127.0.0.1"}')
    assert config.resolve == {"open.test": "127.0.0.1"}

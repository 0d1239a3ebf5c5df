"""The effective policy configuration, read once from settings into a frozen value.

Every ``POLICY_*`` setting is parsed and validated here, and every validation error names the
setting, so a scheduled job fails at start with a clear message instead of crawling with a
policy nobody asked for. The module imports nothing from Scrapy: ``from_settings`` only calls
``get``/``getbool``/``getfloat``/``getint``/``getlist``/``getdict`` on the object it is given.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from crawler.policy.registry import Registry
from crawler.policy.tokens import AiTokens

#: Project root: relative data paths in settings are resolved against it, so a crawl started
#: from any directory reads the same shipped files.
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]

_TOKEN_RE: Final = re.compile(r"^[A-Za-z_-]+$")


class ConfigError(ValueError):
    """A setting has a value heed cannot run with; the message names the setting."""


def resolve_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _token(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _TOKEN_RE.match(value):
        raise ConfigError(
            f"{name} must be an RFC 9309 product token (letters, '_' and '-' only), got {value!r}"
        )
    return value


def _http_url(name: str, value: Any) -> str:
    text = str(value or "")
    if not re.match(r"^https?://[^/\s]+", text):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return text


def parse_resolve_map(name: str, raw: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for host, addr in raw.items():
        try:
            ip = ipaddress.ip_address(str(addr))
        except ValueError:
            raise ConfigError(f"{name}: {host!r} maps to {addr!r}, which is not an IP address") from None
        out[str(host).lower().rstrip(".")] = str(ip)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    """What the gate enforces. Defaults live in ``crawler/settings.py``, not here."""

    agent_token: str
    #: Other tokens whose robots.txt groups bind heed too (groups for ``Scrapy`` address any
    #: Scrapy-based crawler).
    also_obey: tuple[str, ...]
    strict: bool
    ai_tokens: AiTokens
    registry: Registry
    resolve: Mapping[str, str]
    cache_ttl: float
    failure_ttl: float
    cache_size: int
    max_policy_bytes: int
    #: Fetch Spawning's /ai.txt per origin (one more small request per origin).
    fetch_ai_txt: bool = True
    #: Ask the remote opt-out registry about every content URL before fetching it.
    remote_registry: bool = False
    remote_registry_endpoint: str = ""
    #: Name of the environment variable that holds the API key (never the key itself).
    remote_registry_key_env: str = ""
    policy_hash: str = field(default="")

    @classmethod
    def from_settings(cls, settings: Any) -> PolicyConfig:
        token = _token("POLICY_AGENT_TOKEN", settings.get("POLICY_AGENT_TOKEN"))
        also = tuple(_token("POLICY_ALSO_OBEY", t) for t in settings.getlist("POLICY_ALSO_OBEY"))
        try:
            ai_tokens = AiTokens.load(resolve_path(settings.get("POLICY_AI_TOKENS")))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"POLICY_AI_TOKENS: {exc}") from exc
        try:
            registry = Registry.load([resolve_path(p) for p in settings.getlist("POLICY_REGISTRIES")])
        except (OSError, ValueError) as exc:
            raise ConfigError(f"POLICY_REGISTRIES: {exc}") from exc
        try:
            resolve = parse_resolve_map("POLICY_RESOLVE", settings.getdict("POLICY_RESOLVE"))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"POLICY_RESOLVE must map host names to IP addresses: {exc}") from exc
        numbers = {}
        for name, minimum in (
            ("POLICY_CACHE_TTL", 1.0),
            ("POLICY_FAILURE_TTL", 1.0),
            ("POLICY_CACHE_SIZE", 1),
            ("POLICY_MAX_FILE_BYTES", 512_000),
        ):
            try:
                value = settings.getfloat(name) if name.endswith("TTL") else settings.getint(name)
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be a number, got {settings.get(name)!r}") from None
            if not value >= minimum:  # also refuses NaN, which compares false with everything
                raise ConfigError(f"{name} must be at least {minimum}, got {value}")
            numbers[name] = value
        config = cls(
            agent_token=token,
            also_obey=also,
            strict=settings.getbool("POLICY_STRICT"),
            ai_tokens=ai_tokens,
            registry=registry,
            resolve=resolve,
            cache_ttl=numbers["POLICY_CACHE_TTL"],
            failure_ttl=numbers["POLICY_FAILURE_TTL"],
            cache_size=int(numbers["POLICY_CACHE_SIZE"]),
            max_policy_bytes=int(numbers["POLICY_MAX_FILE_BYTES"]),
            fetch_ai_txt=settings.getbool("POLICY_AI_TXT", True),
            remote_registry=settings.getbool("POLICY_REMOTE_REGISTRY", False),
            remote_registry_endpoint=_http_url(
                "POLICY_REMOTE_REGISTRY_ENDPOINT", settings.get("POLICY_REMOTE_REGISTRY_ENDPOINT", "")
            ) if settings.getbool("POLICY_REMOTE_REGISTRY", False) else "",
            remote_registry_key_env=str(settings.get("POLICY_REMOTE_REGISTRY_KEY_ENV", "") or ""),
        )
        object.__setattr__(config, "policy_hash", config.compute_hash())
        return config

    def describe(self) -> dict[str, Any]:
        """The configuration as plain JSON values (for the manifest and the hash)."""
        return {
            "agent_token": self.agent_token,
            "also_obey": list(self.also_obey),
            "strict": self.strict,
            "ai_tokens_sha256": self.ai_tokens.sha256,
            "registries": [{"path": str(p), "sha256": h} for p, h in self.registry.sources],
            "cache_ttl": self.cache_ttl,
            "failure_ttl": self.failure_ttl,
            "max_policy_bytes": self.max_policy_bytes,
            "fetch_ai_txt": self.fetch_ai_txt,
            "remote_registry": self.remote_registry_endpoint if self.remote_registry else None,
        }

    def compute_hash(self) -> str:
        """sha256 over everything that can change a decision (not where files live)."""
        described = self.describe()
        described["registries"] = [r["sha256"] for r in described["registries"]]
        blob = json.dumps(described, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


__all__ = ["PROJECT_ROOT", "ConfigError", "PolicyConfig", "parse_resolve_map", "resolve_path"]

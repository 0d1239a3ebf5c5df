"""The ``ITEMS_*`` settings, read once into a frozen value, and the party alias table.

Settings:

* ``ITEMS_LICENSE_ALLOW`` (``["open", "public_domain"]``): licence statuses an item may
  have to be kept; ``["*"]`` keeps every status (for metadata-only corpora). Statuses are
  the ``license_status`` values (``open``, ``open_noncommercial``, ``open_noderivatives``,
  ``public_domain``, ``all_rights_reserved``, ``custom``, ``unknown``, ``conflicting``).
* ``ITEMS_PARTY_ALIASES`` (``data/party_aliases.csv``): label and publisher names that stand
  for a registry party (Columbia Records → Sony Music Entertainment).
* ``ITEMS_AUDIO_HEAD_BYTES`` (65536), ``ITEMS_AUDIO_TAIL_BYTES`` (65536): the first and last
  ranges of an audio file that are fetched; ``ITEMS_AUDIO_MAX_BYTES`` (4 MiB): the most any
  one audio response may bring (tags larger than that are not fetched: ``tags_truncated``).

Every error names the setting, so a job fails at start, not halfway.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from crawler.config import per_crawler
from crawler.extract.licences import STATUSES
from crawler.policy.config import ConfigError, resolve_path
from crawler.policy.registry import normalize_party

ALIAS_HEADER: Final = ("alias", "party", "relationship", "source_url", "checked_on")


@dataclass(frozen=True, slots=True)
class PartyAlias:
    """One alias row: a normalised alias name and the party it stands for."""

    alias: str
    party: str
    relationship: str
    line: int


def load_aliases(path: Path) -> tuple[PartyAlias, ...]:
    """Read the alias CSV; ``ValueError("file:line: ...")`` on a malformed row."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, None)
    if header is None or tuple(c.strip() for c in header) != ALIAS_HEADER:
        raise ValueError(f"{path}:1: header must be exactly {','.join(ALIAS_HEADER)!r}")
    out = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(ALIAS_HEADER):
            raise ValueError(f"{path}:{line}: expected {len(ALIAS_HEADER)} columns, got {len(row)}")
        alias, party = normalize_party(row[0]), row[1].strip()
        if not alias or not normalize_party(party):
            raise ValueError(f"{path}:{line}: alias and party must both have letters or digits")
        out.append(PartyAlias(alias=alias, party=party, relationship=row[2].strip(), line=line))
    return tuple(out)


def _int(settings: Any, name: str, default: int, minimum: int) -> int:
    try:
        value = settings.getint(name, default)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an integer, got {settings.get(name)!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemsConfig:
    """What the item pipelines and the audio step of the spiders run with."""

    license_allow: frozenset[str]
    aliases: tuple[PartyAlias, ...]
    audio_head_bytes: int = 65536
    audio_tail_bytes: int = 65536
    audio_max_bytes: int = 4 * 1024 * 1024

    def licence_allowed(self, status: str | None) -> bool:
        return "*" in self.license_allow or (status or "unknown") in self.license_allow

    @classmethod
    def from_settings(cls, settings: Any) -> ItemsConfig:
        allow = settings.getlist("ITEMS_LICENSE_ALLOW", ["open", "public_domain"])
        allowed = frozenset(str(s).strip() for s in allow if str(s).strip())
        unknown = sorted(allowed - set(STATUSES) - {"*"})
        if unknown:
            raise ConfigError(f"ITEMS_LICENSE_ALLOW: unknown licence status(es) {unknown}; use {list(STATUSES)} or '*'")
        if not allowed:
            raise ConfigError("ITEMS_LICENSE_ALLOW must name at least one status (or '*')")
        alias_setting = settings.get("ITEMS_PARTY_ALIASES", "data/party_aliases.csv")
        aliases: tuple[PartyAlias, ...] = ()
        if alias_setting:
            path = resolve_path(str(alias_setting))
            try:
                aliases = load_aliases(path)
            except OSError as exc:
                raise ConfigError(f"ITEMS_PARTY_ALIASES: cannot read {path}: {exc.strerror}") from None
            except (ValueError, csv.Error) as exc:
                raise ConfigError(f"ITEMS_PARTY_ALIASES: {exc}") from None
        head = _int(settings, "ITEMS_AUDIO_HEAD_BYTES", 65536, 1024)
        tail = _int(settings, "ITEMS_AUDIO_TAIL_BYTES", 65536, 0)
        most = _int(settings, "ITEMS_AUDIO_MAX_BYTES", 4 * 1024 * 1024, head)
        return cls(license_allow=allowed, aliases=aliases, audio_head_bytes=head, audio_tail_bytes=tail,
                   audio_max_bytes=most)


def get_items_config(crawler: Any) -> ItemsConfig:
    """The crawler's items configuration, parsed from its settings on first use."""
    return per_crawler(crawler, "_heed_items_config", ItemsConfig.from_settings)


def contains_words(haystack: str, needle: str) -> bool:
    """Whether normalised ``needle`` occurs in normalised ``haystack`` as whole words."""
    return bool(needle) and f" {needle} " in f" {haystack} "


__all__ = ["ALIAS_HEADER", "ItemsConfig", "PartyAlias", "contains_words", "get_items_config", "load_aliases"]

"""Rights-holder registry checks on items: ``party``, ``isrc-prefix`` and ``iswc`` entries.

A rights holder's reservation (Sony Music's May 2024 declaration covers recordings,
compositions, lyrics, artwork *and data*) follows its catalogue onto any site. Items are
matched on:

* ``party`` — every rights-holder candidate of the item (record label, copyright and ℗
  holders, publisher, already normalised: case-folded, punctuation and legal forms such as
  Inc/LLC/GmbH removed). A candidate matches an entry when the entry's name occurs in it as
  whole words ("Columbia Records, a division of Sony Music Entertainment" contains "sony music
  entertainment"), or when it contains an alias from ``ITEMS_PARTY_ALIASES`` that stands for
  the entry's party (Columbia Records → Sony Music Entertainment). Over-matching costs
  coverage; under-matching would keep reserved data.
* ``isrc-prefix`` — the item's ISRC and every other ISRC seen for it;
* ``iswc`` — the work code.

A matching item is dropped with :class:`RegistryReserved`, whose ``reason_code`` lists
``registry.party:<id>``, ``registry.isrc:<id>`` or ``registry.iswc:<id>`` for every matching
entry; the item is scrubbed first, so nothing but the ids reaches the crawl log either.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler.items import Lyrics, Recording, scrub
from crawler.policy.registry import Registry, normalize_party
from pipelines.items_config import ItemsConfig, PartyAlias, contains_words, get_items_config
from pipelines.policyconfig import get_policy_config

logger = logging.getLogger(__name__)


class RegistryReserved(DropItem):
    """The item matches rights-holder registry entries; ``reason_code`` names them."""

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reason_code = reasons


def _party_names(adapter: ItemAdapter) -> list[str]:
    names = list(adapter.get("rights_holder_candidates") or [])
    for key in ("record_label", "copyright_holder", "music_publisher", "copyright_notice", "phonographic_notice"):
        value = adapter.get(key)
        if isinstance(value, str) and value.strip():
            names.append(normalize_party(value))
    for value in adapter.get("publishers") or []:
        names.append(normalize_party(value))
    return [n for n in dict.fromkeys(names) if n]


def registry_reasons(registry: Registry, aliases: tuple[PartyAlias, ...], item: Any) -> tuple[str, ...]:
    """Every registry reason code that covers the item (empty: no entry does)."""
    adapter = ItemAdapter(item)
    reasons: list[str] = []
    parties = registry.by_scope("party")
    if parties:
        entry_keys = [(normalize_party(e.value), e) for e in parties]
        for name in _party_names(adapter):
            for key, entry in entry_keys:
                if contains_words(name, key):
                    reasons.extend(registry.item_finding("party", entry.value).reasons)
            for alias in aliases:
                if contains_words(name, alias.alias):
                    reasons.extend(registry.item_finding("party", alias.party).reasons)
    isrcs = [adapter.get("isrc"), *(adapter.get("isrc_all") or [])]
    ref = adapter.get("recording_ref") or {}
    if isinstance(ref, dict):
        isrcs.append(ref.get("isrc"))
    for isrc in dict.fromkeys(i for i in isrcs if i):
        reasons.extend(registry.item_finding("isrc-prefix", isrc).reasons)
    iswc = adapter.get("iswc")
    if iswc:
        reasons.extend(registry.item_finding("iswc", iswc).reasons)
    return tuple(dict.fromkeys(reasons))


class RegistryItemPipeline:
    """Drops items a rights-holder registry covers (see the module docstring)."""

    def __init__(self, registry: Registry, config: ItemsConfig, stats: Any = None) -> None:
        self.registry = registry
        self.config = config
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RegistryItemPipeline:
        return cls(get_policy_config(crawler).registry, get_items_config(crawler), crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Recording | Lyrics) and not ItemAdapter.is_item(item):
            return item
        reasons = registry_reasons(self.registry, self.config.aliases, item)
        if not reasons:
            return item
        item_id = ItemAdapter(item).get("item_id")
        if isinstance(item, Recording | Lyrics):
            scrub(item)
        if self.stats is not None:
            for reason in reasons:
                self.stats.inc_value(f"items/dropped/{reason.split(':', 1)[0]}")
        raise RegistryReserved(f"item {item_id} is reserved by a rights holder ({', '.join(reasons)})", reasons)


__all__ = ["RegistryItemPipeline", "RegistryReserved", "registry_reasons"]

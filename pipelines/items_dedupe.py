"""Duplicate items within a crawl: one recording per ISRC and per canonical URL.

The same recording reaches the crawl from its page, from a feed, from an API record and
through redirects. Within one page every syntax is already merged into one recording; across
responses the first item is kept (it is already written when the second arrives) and a later
one with the same item id, the same ISRC or the same canonical URL (when that URL is what
the item id was made from) is dropped with ``validate:duplicate``, its log message naming
the kept item. Lyrics are duplicates when they belong to the same recording and have the
same format and normalised text hash (synced and unsynced lyrics are separate items).

Memory: one short key per kept item (two for recordings), for the crawl's lifetime.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler.items import make_item_id


class DuplicateItem(DropItem):
    reason_code = "validate:duplicate"


def item_keys(adapter: ItemAdapter) -> list[str]:
    kind = adapter.get("item_type")
    if kind == "recording":
        keys = [f"id:{adapter.get('item_id')}"]
        if adapter.get("isrc"):
            keys.append(f"isrc:{adapter['isrc']}")
        canonical = adapter.get("canonical_url")
        # A canonical URL identifies one recording only when the item id was made from it
        # (a page listing several tracks, or an archive item with several files, shares one).
        if canonical and make_item_id(str(adapter.get("source")), canonical) == adapter.get("item_id"):
            keys.append(f"url:{canonical}")
        return keys
    if kind == "lyrics":
        ref = adapter.get("recording_ref") or {}
        anchor = (ref.get("item_id") if isinstance(ref, dict) else None) or adapter.get("canonical_url")
        return [f"id:{adapter.get('item_id')}", f"lyrics:{anchor}:{adapter.get('format')}:{adapter.get('text_sha256')}"]
    return []


class DedupePipeline:
    def __init__(self, stats: Any = None) -> None:
        self.stats = stats
        self.seen: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        keys = item_keys(adapter)
        for key in keys:
            kept = self.seen.get(key)
            if kept is not None:
                if self.stats is not None:
                    self.stats.inc_value(f"items/dropped/duplicate/{adapter.get('item_type')}")
                raise DuplicateItem(f"{adapter.get('item_type')} {adapter.get('item_id')} duplicates {kept} ({key})")
        for key in keys:
            self.seen.setdefault(key, adapter.get("item_id"))
        return item


__all__ = ["DedupePipeline", "DuplicateItem", "item_keys"]

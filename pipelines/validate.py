"""Item validation: an item that fails a check is dropped with a reason of its own.

Each reason is its own ``DropItem`` subclass so Scrapy's stats count drops per reason, and
each carries a ``reason_code`` that the provenance log writes on the item's ``deny`` row.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem


class InvalidItem(DropItem):
    """Base of every validation drop; ``reason_code`` goes to the decision row."""

    reason_code = "validate"


class MissingTitle(InvalidItem):
    reason_code = "validate:missing-title"


class MissingPageUrl(InvalidItem):
    reason_code = "validate:missing-page-url"


class ValidateRecordingPipeline:
    """Drops recordings that an ML team could not use: no title, or no page to trace back to."""

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if adapter.get("item_type") != "recording":
            return item
        if not adapter.get("page_url"):
            raise MissingPageUrl("recording without page_url")
        if not (adapter.get("title") or "").strip():
            raise MissingTitle(f"recording without title on {adapter.get('page_url')}")
        return item

"""Licence allowlist: only items whose licence status is allowed are kept.

A licensed corpus keeps open licences and public-domain material by default
(``ITEMS_LICENSE_ALLOW = ["open", "public_domain"]``); a recording whose signals conflict is
``conflicting`` and, like ``unknown`` ("available for free", no licence found), is dropped
until reviewed. The drop's ``reason_code`` is ``license:<status>``.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from pipelines.items_config import ItemsConfig, get_items_config


class LicenceNotAllowed(DropItem):
    """The item's licence status is not in ``ITEMS_LICENSE_ALLOW``."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.reason_code = f"license:{status}"


class LicenceAllowlistPipeline:
    def __init__(self, config: ItemsConfig, stats: Any = None) -> None:
        self.config = config
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> LicenceAllowlistPipeline:
        return cls(get_items_config(crawler), crawler.stats)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if adapter.get("item_type") not in ("recording", "lyrics"):
            return item
        status = adapter.get("license_status") or "unknown"
        if self.config.licence_allowed(status):
            return item
        if self.stats is not None:
            self.stats.inc_value(f"items/dropped/license/{status}")
        raise LicenceNotAllowed(f"{adapter.get('item_type')} {adapter.get('item_id')}: licence status {status}", status)


__all__ = ["LicenceAllowlistPipeline", "LicenceNotAllowed"]

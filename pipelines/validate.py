"""Item validation: an item that fails a check is dropped with a reason of its own.

Each reason is its own ``DropItem`` subclass so Scrapy's stats count drops per reason, and
each carries a ``reason_code`` (``validate:<what>``) that the provenance log writes on the
item's ``deny`` row. The extractors already refuse bad values field by field (an invalid
ISRC never reaches an item); these checks guard the invariants a corpus team relies on:

recordings — a page URL to trace back to, a title (< 1000 characters), a 64-hex item id,
identifiers that still validate (ISRC, ISWC, barcode, MBIDs), a duration within
0 < d < 86400 s, a known licence status;

lyrics — a page URL, a join key to a recording (``recording_ref`` with at least one of
item id, ISRC, MBID), at least one lyric line, a 64-hex text hash, and text only when
``text_stored`` with a storage basis.
"""

from __future__ import annotations

import re
from typing import Any, Final

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler.extract.identifiers import clean_gtin, clean_iswc, clean_mbid
from crawler.extract.licences import STATUSES
from crawler.extract.values import MAX_DURATION_S, clean_isrc

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
MAX_TITLE_CHARS: Final = 1000


class InvalidItem(DropItem):
    """Base of every validation drop; ``reason_code`` goes to the decision row."""

    reason_code = "validate"


class MissingTitle(InvalidItem):
    reason_code = "validate:missing-title"


class TitleTooLong(InvalidItem):
    reason_code = "validate:title-too-long"


class MissingPageUrl(InvalidItem):
    reason_code = "validate:missing-page-url"


class BadItemId(InvalidItem):
    reason_code = "validate:item-id"


class BadIdentifier(InvalidItem):
    reason_code = "validate:identifier"


class BadDuration(InvalidItem):
    reason_code = "validate:duration"


class BadLicenceStatus(InvalidItem):
    reason_code = "validate:license-status"


class UnlinkedLyrics(InvalidItem):
    reason_code = "validate:lyrics-unlinked"


class EmptyLyrics(InvalidItem):
    reason_code = "validate:lyrics-empty"


class BadLyricsHash(InvalidItem):
    reason_code = "validate:lyrics-hash"


class TextWithoutBasis(InvalidItem):
    reason_code = "validate:lyrics-text-without-basis"


def _check_common(adapter: ItemAdapter) -> None:
    if not adapter.get("page_url"):
        raise MissingPageUrl(f"{adapter.get('item_type')} without page_url")
    if not _HEX64.fullmatch(str(adapter.get("item_id") or "")):
        raise BadItemId(f"{adapter.get('item_type')} with item_id {adapter.get('item_id')!r}")
    status = adapter.get("license_status")
    if status is not None and status not in STATUSES:
        raise BadLicenceStatus(f"{adapter.get('item_id')}: licence status {status!r}")


def _check_recording(adapter: ItemAdapter) -> None:
    title = (adapter.get("title") or "").strip()
    if not title:
        raise MissingTitle(f"recording without title on {adapter.get('page_url')}")
    if len(title) >= MAX_TITLE_CHARS:
        raise TitleTooLong(f"recording title of {len(title)} characters on {adapter.get('page_url')}")
    checks = (("isrc", clean_isrc), ("iswc", clean_iswc), ("mbid_recording", clean_mbid),
              ("mbid_work", clean_mbid), ("mbid_release", clean_mbid))
    for name, clean in checks:
        value = adapter.get(name)
        if value is not None and clean(value).value is None:
            raise BadIdentifier(f"recording {adapter.get('item_id')}: {name} {value!r}")
    for value in adapter.get("isrc_all") or []:
        if clean_isrc(value).value != value:
            raise BadIdentifier(f"recording {adapter.get('item_id')}: isrc_all {value!r}")
    if adapter.get("upc_ean") is not None and clean_gtin(adapter["upc_ean"]).value is None:
        raise BadIdentifier(f"recording {adapter.get('item_id')}: upc_ean {adapter['upc_ean']!r}")
    duration = adapter.get("duration_s")
    if duration is not None and not 0 < duration < MAX_DURATION_S:
        raise BadDuration(f"recording {adapter.get('item_id')}: duration {duration!r}")


def _check_lyrics(adapter: ItemAdapter) -> None:
    ref = adapter.get("recording_ref") or {}
    if not (isinstance(ref, dict) and any(ref.get(k) for k in ("item_id", "isrc", "mbid_recording"))):
        raise UnlinkedLyrics(f"lyrics {adapter.get('item_id')} without a recording to join")
    if not adapter.get("line_count"):
        raise EmptyLyrics(f"lyrics {adapter.get('item_id')} without lines")
    if not _HEX64.fullmatch(str(adapter.get("text_sha256") or "")):
        raise BadLyricsHash(f"lyrics {adapter.get('item_id')} without a text hash")
    if adapter.get("text") is not None and not (
        adapter.get("text_stored") and adapter.get("text_storage_basis") not in (None, "not_stored")
    ):
        raise TextWithoutBasis(f"lyrics {adapter.get('item_id')} carry text without a storage basis")


class ValidateItemPipeline:
    """Drops recordings and lyrics that an ML team could not use or trace (see above)."""

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item):
            return item
        adapter = ItemAdapter(item)
        kind = adapter.get("item_type")
        if kind not in ("recording", "lyrics"):
            return item
        _check_common(adapter)
        if kind == "recording":
            _check_recording(adapter)
        else:
            _check_lyrics(adapter)
        return item


#: The earlier name of the pipeline, kept so existing settings keep working.
ValidateRecordingPipeline = ValidateItemPipeline

__all__ = [
    "BadDuration",
    "BadIdentifier",
    "BadItemId",
    "BadLicenceStatus",
    "BadLyricsHash",
    "EmptyLyrics",
    "InvalidItem",
    "MissingPageUrl",
    "MissingTitle",
    "TextWithoutBasis",
    "TitleTooLong",
    "UnlinkedLyrics",
    "ValidateItemPipeline",
    "ValidateRecordingPipeline",
]

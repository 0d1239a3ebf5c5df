"""Audio-URL policy for items: a recording whose audio the gate refused is not kept.

The music spider emits a recording with an audio URL only after a ranged GET to that URL
went through the policy gate (the audio URL's own host, robots.txt, TDMRep, registry). When
the gate refused or held the audio request, the spider yields an
:class:`~crawler.items.AudioRefused` marker instead of the recording (and of its lyrics),
carrying only the ids and the audio decision's verdict and reasons. This pipeline turns the
marker into a :class:`AudioReserved` drop whose ``reason_code`` is the audio decision's
reasons, so the provenance log writes an ``item``-stage ``deny`` row naming them.

It also fails closed on recordings that claim an audio file but never had it checked
(``audio_url_kind`` full, preview or stream with no ``audio_fetch`` outcome): they are
dropped with ``validate:audio-unchecked``.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler.items import AudioRefused

logger = logging.getLogger(__name__)

FETCHED_KINDS: Final = frozenset({"full", "preview", "stream"})


class AudioReserved(DropItem):
    """The item's audio URL was refused (or held) by the gate; reasons are the audio decision's."""

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reason_code = reasons or ("http",)


class AudioUnchecked(DropItem):
    """A recording names an audio file that never went through the gate."""

    reason_code = "validate:audio-unchecked"


class AudioPolicyPipeline:
    """See the module docstring. Runs first among the item pipelines."""

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> AudioPolicyPipeline:
        return cls(crawler.stats)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, AudioRefused):
            self._inc(f"items/dropped/audio/{item.verdict}")
            raise AudioReserved(
                f"{item.item_type} {item.item_id}: audio {item.audio_url} {item.verdict} "
                f"({', '.join(item.reasons)})",
                tuple(item.reasons),
            )
        adapter = ItemAdapter(item)
        if adapter.get("item_type") == "recording" and adapter.get("audio_url"):
            if adapter.get("audio_url_kind") in FETCHED_KINDS and not adapter.get("audio_fetch"):
                self._inc("items/dropped/audio/unchecked")
                raise AudioUnchecked(f"recording {adapter.get('item_id')}: audio URL never checked by the gate")
        return item


__all__ = ["AudioPolicyPipeline", "AudioReserved", "AudioUnchecked", "FETCHED_KINDS"]

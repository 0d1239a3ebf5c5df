"""The audio step shared by heed's spiders: a recording with an audio URL waits for its file.

A recording that names an audio file (``audio_url_kind`` full, preview or stream) is not
emitted when its page is parsed. Instead the spider requests the file's first
``ITEMS_AUDIO_HEAD_BYTES`` with ``Range`` (and ``Accept-Encoding: identity``); that request
goes through the network guard and the policy gate like any other, so the audio URL is
judged by **its own host's** robots.txt, TDMRep file, headers and registry entries:

* the gate allows it → the response (206, or 200 from a server that ignores ``Range``) is
  read; further ranges follow when the format needs them (an ID3 tag longer than the head,
  FLAC metadata blocks, the tail of an Ogg file, an MP4 ``moov`` box at the end); the tags
  are merged into the recording (:func:`crawler.extract.audio.apply_audio`) and the
  recording and its lyrics are emitted;
* the gate refuses or holds it (the errback receives :class:`~crawler.exceptions.PolicyRefusal`),
  or the first download fails outright (the gate logs that as a ``hold``) → an
  :class:`~crawler.items.AudioRefused` marker is emitted in place of the recording and of
  each of its lyrics; ``pipelines.items_audio`` drops it with the audio decision's reasons;
* the server answers an HTTP error (the response passed the gate's use check) → the
  recording is emitted with ``audio_fetch=http:<status>`` and no tags.

Byte budget: each request declares how many bytes it wants; a ``bytes_received`` handler
stops the download (``StopDownload(fail=False)``) as soon as that many arrived, which is what
cuts off servers that ignore ``Range``. ``download_warnsize`` is the wanted length (Scrapy
logs the server that sends more) and ``download_maxsize`` is ``ITEMS_AUDIO_MAX_BYTES``; a
server that announces more than that without honouring ``Range`` is stopped at the headers
(``audio_fetch=range-ignored``, no tags) rather than downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from scrapy import Request
from scrapy.exceptions import StopDownload
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.exceptions import PolicyRefusal
from crawler.extract.audio import AudioResult, apply_audio, digest, parse_content_range, plan_ranges, range_header, read_tags
from crawler.extract.draft import LyricsDraft, PageContext
from crawler.extract.lyricsitems import build_lyrics
from crawler.items import AudioRefused, Lyrics, Recording
from pipelines.items_audio import FETCHED_KINDS
from pipelines.items_config import ItemsConfig

logger = logging.getLogger(__name__)

AUDIO_META: Final = "heed_audio"
_WANT: Final = "heed_audio_want"
_GOT: Final = "heed_audio_got"
#: Audio requests go ahead of page requests, so items are not held back for long.
AUDIO_PRIORITY: Final = 10


@dataclass(slots=True)
class AudioState:
    """A recording waiting for its audio file, and what was fetched so far."""

    recording: Recording
    lyrics: list[LyricsDraft]
    ctx: PageContext
    chunks: dict[int, bytes] = field(default_factory=dict)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    total: int | None = None
    content_type: str | None = None
    status: str = "ok"
    warnings: list[str] = field(default_factory=list)
    pending: list[tuple[int, int]] = field(default_factory=list)
    requests: int = 0


class AudioStep:
    """Mixin for spiders: :meth:`emit` a recording (after its audio check when it has one)."""

    items_config: ItemsConfig

    # -- signals -----------------------------------------------------------------------------

    def connect_audio_signals(self, crawler: Any) -> None:
        from scrapy import signals

        crawler.signals.connect(self._audio_headers, signal=signals.headers_received)
        crawler.signals.connect(self._audio_bytes, signal=signals.bytes_received)

    def _audio_headers(self, headers: Any, body_length: int, request: Request, **kwargs: Any) -> None:
        if AUDIO_META not in request.meta:
            return
        if headers.get(b"Content-Range") is None and body_length is not None and body_length > self.items_config.audio_max_bytes:
            request.meta[_GOT] = -1  # marks "stopped at the headers"
            raise StopDownload(fail=False)

    def _audio_bytes(self, data: bytes, request: Request, **kwargs: Any) -> None:
        want = request.meta.get(_WANT)
        if want is None:
            return
        got = request.meta.get(_GOT, 0) + len(data)
        request.meta[_GOT] = got
        if got >= want:
            raise StopDownload(fail=False)

    # -- requests ------------------------------------------------------------------------------

    def _range_request(self, state: AudioState, start: int, end: int) -> Request:
        url = state.recording.audio_url
        assert url is not None
        want = end - start + 1
        state.requests += 1
        return Request(
            url,
            headers={"Range": range_header(start, end), "Accept-Encoding": "identity"},
            callback=self._audio_response,
            errback=self._audio_failed,
            dont_filter=True,
            priority=AUDIO_PRIORITY,
            meta={
                AUDIO_META: state,
                _WANT: want,
                "heed_audio_range": (start, end),
                "download_maxsize": self.items_config.audio_max_bytes,
                "download_warnsize": want,
                "allow_offsite": True,
                "depth_reset": True,
                "dont_merge_cookies": True,
            },
        )

    def emit(self, rec: Recording, lyrics: list[LyricsDraft], ctx: PageContext) -> Iterator[Any]:
        """The recording and its lyrics now, or the first ranged GET of its audio file."""
        if rec.audio_url and rec.audio_url_kind in FETCHED_KINDS:
            state = AudioState(recording=rec, lyrics=list(lyrics), ctx=ctx)
            yield self._range_request(state, 0, self.items_config.audio_head_bytes - 1)
            return
        if rec.audio_url:
            rec.audio_fetch = f"skipped:{rec.audio_url_kind or 'unknown'}"
        yield rec
        yield from self._lyrics_items(rec, lyrics, ctx)

    @staticmethod
    def _lyrics_items(rec: Recording, drafts: list[LyricsDraft], ctx: PageContext) -> Iterator[Lyrics]:
        seen: set[str] = set()
        for draft in drafts:
            item = build_lyrics(draft, ctx, rec)
            if item is not None and item.item_id not in seen:
                seen.add(item.item_id)
                yield item

    # -- responses -------------------------------------------------------------------------------

    def _audio_response(self, response: Response) -> Iterator[Any]:
        state: AudioState = response.meta[AUDIO_META]
        start, end = response.meta["heed_audio_range"]
        body = response.body
        if state.content_type is None:
            state.content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        stopped_at_headers = response.meta.get(_GOT) == -1
        if response.status == 206:
            parsed = parse_content_range(response.headers.get(b"Content-Range", b"").decode("latin-1"))
            if parsed is None:
                state.warnings.append("audio_content_range_invalid")
                yield from self._finish(state)
                return
            first, last, total = parsed
            data = body[: last - first + 1]
            state.chunks[first] = data
            state.ranges.append((first, first + len(data) - 1))
            state.total = total if total is not None else state.total
        else:
            # 200: the server ignored Range and sent the file from its start.
            length = response.headers.get(b"Content-Length")
            announced = int(length) if length and length.isdigit() else None
            data = b"" if stopped_at_headers else body[: end + 1]
            if data:
                state.chunks[0] = data
                state.ranges.append((0, len(data) - 1))
            state.total = announced if announced is not None else (len(body) if "download_stopped" not in response.flags else None)
            if stopped_at_headers or (announced or 0) > len(data):
                state.status = "range-ignored"
                yield from self._finish(state)
                return
        if state.requests == 1 and state.total is not None and response.status == 206:
            head = state.chunks.get(0, b"")
            plan = plan_ranges(head, state.total, tail_bytes=self.items_config.audio_tail_bytes,
                               max_bytes=self.items_config.audio_max_bytes)
            state.warnings.extend(plan.warnings)
            state.pending = [r for r in plan.ranges if r[0] <= r[1]]
        if state.pending:
            first_pending, last_pending = state.pending.pop(0)
            yield self._range_request(state, first_pending, last_pending)
            return
        yield from self._finish(state)

    def _audio_failed(self, failure: Any) -> Iterator[Any]:
        request = failure.request
        state: AudioState = request.meta[AUDIO_META]
        exc = failure.value
        if isinstance(exc, PolicyRefusal):
            yield from self._refused(state, exc.decision.verdict, tuple(exc.decision.reasons))
            return
        if isinstance(exc, HttpError):
            state.status = state.status if state.chunks else f"http:{exc.response.status}"
            if state.chunks:
                state.warnings.append(f"audio_range_http_{exc.response.status}")
            yield from self._finish(state)
            return
        if state.chunks:  # a later range failed: the file was allowed; keep what was read
            state.warnings.append(f"audio_range_failed:{type(exc).__name__}")
            yield from self._finish(state)
            return
        # The gate logged this failed download as a hold (could not check): fail closed.
        yield from self._refused(state, "hold", (f"http.error:{type(exc).__name__}",))

    def _refused(self, state: AudioState, verdict: str, reasons: tuple[str, ...]) -> Iterator[AudioRefused]:
        rec = state.recording
        logger.info("Audio %(url)s %(verdict)s (%(reasons)s): recording %(id)s not kept",
                    {"url": rec.audio_url, "verdict": verdict, "reasons": ", ".join(reasons), "id": rec.item_id})
        ids = [("recording", rec.item_id)] + [("lyrics", item.item_id) for item in
                                              self._lyrics_items(rec, state.lyrics, state.ctx)]
        for item_type, item_id in ids:
            yield AudioRefused(item_type=item_type, item_id=item_id, page_url=rec.page_url,
                               http_status=rec.http_status, audio_url=rec.audio_url or "",
                               verdict=verdict, reasons=reasons)

    def _finish(self, state: AudioState) -> Iterator[Any]:
        rec = state.recording
        tags = None
        if state.chunks:
            total = state.total or max(s + len(d) for s, d in state.chunks.items())
            tags = read_tags(state.chunks, total)
            if tags.error and state.status == "ok":
                state.status = "unparsed"
        result = AudioResult(status=state.status, content_type=state.content_type, total_size=state.total,
                             ranges=state.ranges, sha256=digest(state.chunks) if state.chunks else None,
                             tags=tags, warnings=state.warnings)
        file_lyrics = apply_audio(rec, result)
        yield rec
        yield from self._lyrics_items(rec, [*state.lyrics, *file_lyrics], state.ctx)


__all__ = ["AUDIO_META", "AudioState", "AudioStep"]

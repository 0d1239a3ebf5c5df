"""Scrapy's on-disk request queues (``JOBDIR``) as JSON, never pickle.

With ``JOBDIR`` set, Scrapy keeps its pending requests on disk so a stopped crawl can go
on. Its default disk queues pickle them, and unpickling a file runs whatever code it names:
a job directory would become a way to execute code in the crawler. These queues store
:meth:`scrapy.Request.to_dict` through :mod:`crawler.distributed.codec` (plain JSON, bytes
tagged) on queuelib's FIFO/LIFO disk queues, with the interface Scrapy's priority queues
expect (``from_crawler(crawler, key)``, ``push``, ``pop``, ``peek``, ``close``, ``len``).

A request JSON cannot carry faithfully (a Python object in ``meta``, such as the state of
a recording whose audio is being read, or a callback that is not a spider method) makes
``push`` raise ``ValueError``; Scrapy's scheduler then keeps that request in memory and
counts it under ``scheduler/unserializable``, exactly as it does for requests pickle
cannot carry. Such requests do not survive a stop.

Selected in ``crawler/settings.py``: ``SCHEDULER_DISK_QUEUE`` (LIFO, Scrapy's default
order) and ``SCHEDULER_START_DISK_QUEUE`` (FIFO, for start requests).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from queuelib import queue

from crawler.distributed import codec

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self


def encode_request(request: Request, spider: Any = None) -> bytes:
    """The request as JSON bytes; ``ValueError`` when JSON cannot carry it faithfully."""
    try:
        return codec.dumps(request.to_dict(spider=spider))
    except (codec.Unserializable, TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"request {request.url} cannot be stored as JSON: {exc}") from exc


def decode_request(data: bytes, spider: Any = None) -> Request:
    return codec.request_from_stored(codec.loads(data), spider=spider)


def _json_request_queue(base: type[Any]) -> type[Any]:
    class JsonRequestDiskQueue(base):  # type: ignore[misc,valid-type]
        def __init__(self, crawler: Crawler, key: str) -> None:
            self.spider = crawler.spider
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            super().__init__(key)

        @classmethod
        def from_crawler(cls, crawler: Crawler, key: str, *args: Any, **kwargs: Any) -> Self:
            return cls(crawler, key)

        def push(self, request: Request) -> None:
            super().push(encode_request(request, self.spider))

        def pop(self) -> Request | None:
            data = super().pop()
            return decode_request(data, self.spider) if data else None

        def peek(self) -> Request | None:
            data = super().peek()
            return decode_request(data, self.spider) if data else None

    return JsonRequestDiskQueue


JsonFifoDiskQueue = _json_request_queue(queue.FifoDiskQueue)
JsonFifoDiskQueue.__name__ = JsonFifoDiskQueue.__qualname__ = "JsonFifoDiskQueue"
JsonLifoDiskQueue = _json_request_queue(queue.LifoDiskQueue)
JsonLifoDiskQueue.__name__ = JsonLifoDiskQueue.__qualname__ = "JsonLifoDiskQueue"

__all__ = ["JsonFifoDiskQueue", "JsonLifoDiskQueue", "decode_request", "encode_request"]

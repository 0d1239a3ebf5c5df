"""Requests as JSON, never pickle: what a shared queue carries cannot run code when read.

Scrapy turns a request into a dict (:meth:`scrapy.Request.to_dict`) whose values are JSON
types except for bytes (URL-safe body, header names and values) and dicts keyed by bytes
(headers). Those two are tagged here; everything else must already be plain JSON, and a
value that is not (an object in ``meta``) raises :class:`Unserializable` instead of being
coerced, so a caller can keep that request local rather than send a lossy copy.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from scrapy import Request

_BYTES = "__b64__"
_PAIRS = "__pairs__"


class Unserializable(TypeError):
    """The value holds something JSON cannot carry faithfully."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            if _BYTES in value or _PAIRS in value:
                return {_PAIRS: [[k, _encode(v)] for k, v in value.items()]}
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise Unserializable(f"cannot carry a {type(value).__name__} as JSON")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        if len(value) == 1 and _PAIRS in value:
            return {_hashable(_decode(k)): _decode(v) for k, v in value[_PAIRS]}
        return {k: _decode(v) for k, v in value.items()}
    return value


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def dumps(obj: Any) -> bytes:
    """``obj`` as compact UTF-8 JSON; raises :class:`Unserializable` for non-JSON values."""
    return json.dumps(_encode(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """The value :func:`dumps` encoded."""
    return _decode(json.loads(data))


#: Modules a stored request's class may come from (``Request.to_dict()`` names subclasses).
_REQUEST_MODULES = ("scrapy.http.", "crawler.")


def request_from_stored(obj: Any, spider: Any = None) -> Request:
    """A request read back from a queue, a JOBDIR or the crawl DB — data another process
    wrote, so not trusted: it must be a request dict of a Scrapy or heed request class, and
    meta keys only heed's own components may set (the gate's mark on its policy-file
    requests, which it does not check) are removed, so a stored entry can never skip the
    gate. Raises ``ValueError`` when the entry is not an acceptable request."""
    from scrapy.utils.misc import load_object
    from scrapy.utils.request import request_from_dict

    from crawler.middlewares.guard import INTERNAL

    if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
        raise ValueError("not a request")
    path = obj.get("_class")
    if path is not None:
        if not isinstance(path, str) or not path.startswith(_REQUEST_MODULES):
            raise ValueError(f"request class {path!r} is not a Scrapy or heed class")
        if not (isinstance(cls := load_object(path), type) and issubclass(cls, Request)):
            raise ValueError(f"{path!r} is not a request class")
    meta = obj.get("meta")
    if isinstance(meta, dict) and INTERNAL in meta:
        obj = {**obj, "meta": {k: v for k, v in meta.items() if k != INTERNAL}}
    return request_from_dict(obj, spider=spider)


__all__ = ["Unserializable", "dumps", "loads", "request_from_stored"]

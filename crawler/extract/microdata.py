"""HTML microdata items as JSON-LD-shaped nodes, and the recordings they describe.

A small parser of our own rather than a general extraction library: the rules are short
(WHATWG HTML, "Microdata"), and the known library losses matter here — relative URLs inside
``<meta itemprop content>`` left unresolved, and no way to point back at the element a value
came from. Items inside ``<noscript>`` (SoundCloud puts its microdata there) are read like
any other markup.

Each top-level item (an ``itemscope`` element without ``itemprop``) becomes a dictionary:
``@type`` from ``itemtype`` (a list when several types are given), ``@id`` from ``itemid``,
and one key per property name, whose value is a scalar or, when the property appears more
than once, a list in document order. Property values follow the HTML rules: ``content`` for
``<meta>``; ``src`` for media elements, ``href`` for links, ``data`` for ``<object>`` (all
resolved against the document base URL); ``value`` for ``<data>``/``<meter>``; ``datetime``
for ``<time>``; text content otherwise; a nested ``itemscope`` gives a nested item.
``itemref`` is followed (each referenced element once, no cycles).

The nodes then go through :mod:`crawler.extract.nodes` exactly like JSON-LD does; locators
read ``microdata(<XPath of the item element>)/<property path>``.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.draft import Draft
from crawler.extract.nodes import At, NodeGraph, recording_draft

logger = logging.getLogger(__name__)

SYNTAX: Final = "microdata"
_SRC_TAGS: Final = frozenset({"audio", "embed", "iframe", "img", "source", "track", "video"})
_HREF_TAGS: Final = frozenset({"a", "area", "link"})
_MAX_DEPTH: Final = 64


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _url(value: str | None, base: str) -> str:
    if not value:
        return ""
    try:
        return urljoin(base, value.strip())
    except ValueError:
        return value.strip()


class _Parser:
    def __init__(self, root: Any, base: str) -> None:
        self.root = root
        self.base = base
        self.tree = root.getroottree()
        self._by_id: dict[str, Any] | None = None
        self._order: dict[int, int] | None = None

    def position(self, el: Any) -> int:
        if self._order is None:
            self._order = {id(e): i for i, e in enumerate(self.root.iter())}
        return self._order.get(id(el), 0)

    def by_id(self, ident: str) -> Any | None:
        if self._by_id is None:
            self._by_id = {}
            for el in self.root.iter():
                if isinstance(el.tag, str) and el.get("id"):
                    self._by_id.setdefault(el.get("id"), el)
        return self._by_id.get(ident)

    def value(self, el: Any, depth: int) -> Any:
        if el.get("itemscope") is not None:
            return self.item(el, depth + 1)
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag == "meta":
            return el.get("content") or ""
        if tag in _SRC_TAGS:
            return _url(el.get("src"), self.base)
        if tag in _HREF_TAGS:
            return _url(el.get("href"), self.base)
        if tag == "object":
            return _url(el.get("data"), self.base)
        if tag in ("data", "meter"):
            return el.get("value") or ""
        if tag == "time" and el.get("datetime"):
            return el.get("datetime")
        return _text(el)

    def _property_elements(self, scope: Any) -> list[Any]:
        """Elements that carry properties of the item ``scope``, in document order."""
        found: list[Any] = []
        seen: set[int] = {id(scope)}
        pending = [scope]
        for ref in (scope.get("itemref") or "").split():
            target = self.by_id(ref)
            if target is not None and id(target) not in seen:
                seen.add(id(target))
                if target.get("itemprop") is not None:
                    found.append(target)
                if target.get("itemscope") is None:
                    pending.append(target)
        while pending:
            parent = pending.pop(0)
            for child in parent.iterchildren():
                if not isinstance(child.tag, str) or id(child) in seen:
                    continue
                seen.add(id(child))
                if child.get("itemprop") is not None:
                    found.append(child)
                if child.get("itemscope") is None:
                    pending.append(child)
        found.sort(key=self.position)
        return found

    def item(self, scope: Any, depth: int = 0) -> dict[str, Any]:
        node: dict[str, Any] = {}
        types = (scope.get("itemtype") or "").split()
        if types:
            node["@type"] = types if len(types) > 1 else types[0]
        if scope.get("itemid"):
            node["@id"] = _url(scope.get("itemid"), self.base)
        if depth > _MAX_DEPTH:
            return node
        for el in self._property_elements(scope):
            value = self.value(el, depth)
            for name in (el.get("itemprop") or "").split():
                if name in node:
                    current = node[name]
                    node[name] = [*current, value] if isinstance(current, list) else [current, value]
                else:
                    node[name] = value
        return node


def microdata_items(html: Selector, base_url: str) -> list[At]:
    """Every top-level microdata item as an :class:`At` rooted at the item's XPath."""
    root = html.root
    if root is None or not hasattr(root, "iter"):
        return []
    parser = _Parser(root, base_url)
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("itemscope") is None or el.get("itemprop") is not None:
            continue
        out.append(At(parser.item(el), f"microdata({parser.tree.getpath(el)})"))
    return out


def microdata_drafts(html: Selector, page_url: str, base_url: str | None = None) -> list[Draft]:
    """One draft per microdata ``MusicRecording`` on the page, in document order."""
    graph = NodeGraph(page_url, microdata_items(html, base_url or page_url))
    return [d for d in (recording_draft(graph, node, SYNTAX) for node in graph.recordings()) if d is not None]


__all__ = ["SYNTAX", "microdata_drafts", "microdata_items"]

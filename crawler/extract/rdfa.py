"""RDFa (the schema.org subset), ``rel="license"`` links and Creative Commons REL markup.

Three things pages say with attributes rather than scripts:

* **schema.org in RDFa Lite** — ``typeof`` starts a node, ``property`` adds values (from
  ``content``, else ``href``/``src``/``resource`` resolved against the base URL, else the
  text), a ``property`` element that has its own ``typeof`` is a nested node, ``resource`` or
  ``about`` gives the ``@id``. Prefixes are ignored and types and properties are matched on
  their local names (``schema:name`` and ``name`` with ``vocab="http://schema.org/"`` are the
  same). Full RDFa (CURIE maps, chaining through ``rel``/``rev``, literal datatypes) is not
  implemented: it carries nothing the recording fields need.
* **``rel="license"``** — ``rel`` is a space-separated, case-insensitive token list, so
  ``rel="license noopener noreferrer"`` (what the Creative Commons chooser emits) counts.
  These are page-level signals: they often license the page text, not the audio, and are
  recorded with ``license_source=rel-license`` and used only when nothing item-level exists.
* **CC REL** — ``property="dct:title"``, ``property="cc:attributionName"`` and
  ``rel="cc:attributionURL"`` next to the licence link give the attribution text
  ("Harbour Lights by Fixture Trio").

Locators are XPaths of the elements (``rdfa(/html/body/div)/name`` for schema.org nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.draft import Draft
from crawler.extract.nodes import At, NodeGraph, recording_draft
from crawler.extract.values import normalize_text

SYNTAX: Final = "rdfa"
_MAX_DEPTH: Final = 64


def _tokens(value: str | None) -> list[str]:
    return (value or "").lower().split()


def _local(term: str) -> str:
    for sep in (":", "/", "#"):
        term = term.rsplit(sep, 1)[-1]
    return term


class _Parser:
    def __init__(self, root: Any, base: str) -> None:
        self.root = root
        self.base = base
        self.tree = root.getroottree()

    def url(self, value: str | None) -> str:
        if not value:
            return ""
        try:
            return urljoin(self.base, value.strip())
        except ValueError:
            return value.strip()

    def value(self, el: Any, depth: int) -> Any:
        if el.get("typeof") is not None:
            return self.node(el, depth + 1)
        if el.get("content") is not None:
            return el.get("content")
        for attr in ("href", "src", "resource"):
            if el.get(attr):
                return self.url(el.get(attr))
        return " ".join("".join(el.itertext()).split())

    def node(self, scope: Any, depth: int = 0) -> dict[str, Any]:
        node: dict[str, Any] = {}
        types = [_local(t) for t in (scope.get("typeof") or "").split()]
        if types:
            node["@type"] = types if len(types) > 1 else types[0]
        ident = scope.get("resource") or scope.get("about")
        if ident:
            node["@id"] = self.url(ident)
        if depth > _MAX_DEPTH:
            return node
        pending = list(scope.iterchildren())
        while pending:
            el = pending.pop(0)
            if not isinstance(el.tag, str):
                continue
            if el.get("property"):
                value = self.value(el, depth)
                for name in (_local(p) for p in el.get("property").split()):
                    if name in node:
                        current = node[name]
                        node[name] = [*current, value] if isinstance(current, list) else [current, value]
                    else:
                        node[name] = value
            if el.get("typeof") is None:
                pending[0:0] = list(el.iterchildren())
        return node


def rdfa_nodes(html: Selector, base_url: str) -> list[At]:
    """Top-level ``typeof`` nodes (not themselves a property value) as :class:`At` values."""
    root = html.root
    if root is None or not hasattr(root, "iter"):
        return []
    parser = _Parser(root, base_url)
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("typeof") is None or el.get("property"):
            continue
        if any(a.get("typeof") is not None for a in el.iterancestors()):
            continue
        out.append(At(parser.node(el), f"rdfa({parser.tree.getpath(el)})"))
    return out


def rdfa_drafts(html: Selector, page_url: str, base_url: str | None = None) -> list[Draft]:
    """One draft per RDFa ``MusicRecording`` on the page, in document order."""
    graph = NodeGraph(page_url, rdfa_nodes(html, base_url or page_url))
    return [d for d in (recording_draft(graph, node, SYNTAX) for node in graph.recordings()) if d is not None]


# ------------------------------------------------------------------------ rel=license


@dataclass(frozen=True, slots=True)
class LicenceLink:
    """One ``rel="license"`` link: its target as written, resolved, and where it sits."""

    raw: str
    url: str
    locator: str
    attribution: str | None = None


def _attribution(container: Any) -> str | None:
    """CC REL attribution in the element around a licence link ("<title> by <name>")."""
    title = name = None
    for el in container.iter():
        if not isinstance(el.tag, str):
            continue
        props = _tokens(el.get("property"))
        if title is None and "dct:title" in props:
            title = normalize_text(" ".join("".join(el.itertext()).split()) or el.get("content"))
        if name is None and "cc:attributionname" in props:
            name = normalize_text(el.get("content") or " ".join("".join(el.itertext()).split()))
    if title and name:
        return f"{title} by {name}"
    return name or None


def licence_links(html: Selector, base_url: str) -> list[LicenceLink]:
    """Every ``a``/``link``/``area`` whose ``rel`` has the token ``license``, in order."""
    root = html.root
    if root is None or not hasattr(root, "iter"):
        return []
    tree = root.getroottree()
    out = []
    for el in root.iter("a", "link", "area"):
        if "license" not in _tokens(el.get("rel")) or not (el.get("href") or "").strip():
            continue
        raw = el.get("href").strip()
        try:
            url = urljoin(base_url, raw)
        except ValueError:
            continue
        parent = el.getparent()
        attribution = _attribution(parent) if parent is not None and el.tag != "link" else None
        out.append(LicenceLink(raw=raw, url=url, locator=f"{tree.getpath(el)}/@href", attribution=attribution))
    return out


__all__ = ["SYNTAX", "LicenceLink", "licence_links", "rdfa_drafts", "rdfa_nodes"]

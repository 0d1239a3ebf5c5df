"""Small inline-SVG charts for the audit report: no script, no stylesheet, no network.

An auditor opens the report on an air-gapped machine or attaches it to a letter; it must
render the same everywhere, so every chart is a static ``<svg>`` element with flat fills.
Each function returns the markup of one chart; labels are HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Final

#: Fixed colours, one per meaning, so a reader (and the report test) can tell them apart.
VERDICT_COLOURS: Final = {"allow": "#2e7d32", "deny": "#c62828", "hold": "#f9a825"}
FAMILY_COLOUR: Final = "#3949ab"
DENIED_HOST_COLOUR: Final = "#ad1457"
ITEM_COLOURS: Final = {"kept": "#00897b", "dropped": "#6d4c41"}

_FONT: Final = 'font-family="system-ui, sans-serif" font-size="12"'


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _empty(width: int, text: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40" role="img">'
            f'<text x="8" y="24" {_FONT} fill="#666">{escape(text)}</text></svg>')


def bar_chart(rows: Sequence[tuple[str, float]], *, colour: str, width: int = 860, title: str = "") -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    if not rows:
        return _empty(width, "no data")
    label_w, row_h, top = 260, 24, 8
    plot_w = width - label_w - 70
    peak = max(v for _l, v in rows) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top * 2 + row_h * len(rows)}" '
             f'role="img" aria-label="{escape(title)}">']
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = max(1.0, plot_w * value / peak) if value else 0
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" {_FONT}>{escape(label[:40])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" {_FONT}>{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_chart(
    rows: Sequence[tuple[str, Mapping[str, float]]], *, colours: Mapping[str, str], width: int = 860, title: str = ""
) -> str:
    """Horizontal stacked bars: per label, one segment per key of ``colours`` (in order)."""
    if not rows:
        return _empty(width, "no data")
    label_w, row_h, top, legend_h = 260, 24, 8, 26
    plot_w = width - label_w - 70
    peak = max(sum(parts.values()) for _l, parts in rows) or 1
    height = legend_h + top * 2 + row_h * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}">', _legend(colours, label_w)]
    for i, (label, parts) in enumerate(rows):
        y = legend_h + top + i * row_h
        x = float(label_w)
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" {_FONT}>{escape(label[:40])}</text>')
        for key, colour in colours.items():
            value = parts.get(key, 0)
            if value:
                w = max(1.0, plot_w * value / peak)
                out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
                           f"<title>{escape(key)}: {_fmt(value)}</title></rect>")
                x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 16}" {_FONT}>{_fmt(sum(parts.values()))}</text>')
    out.append("</svg>")
    return "".join(out)


def time_chart(
    buckets: Sequence[tuple[str, Mapping[str, float]]], *, colours: Mapping[str, str], width: int = 860,
    height: int = 260, title: str = "",
) -> str:
    """Stacked columns over time: one column per bucket, labelled at both ends."""
    if not buckets:
        return _empty(width, "no data")
    left, bottom, top, legend_h = 60, 30, 10, 26
    plot_w, plot_h = width - left - 20, height - bottom - top - legend_h
    peak = max(sum(parts.values()) for _l, parts in buckets) or 1
    step = plot_w / len(buckets)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}">', _legend(colours, left)]
    base = legend_h + top + plot_h
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#999"/>')
    out.append(f'<text x="{left - 6}" y="{legend_h + top + 10}" text-anchor="end" {_FONT}>{_fmt(peak)}</text>')
    for i, (_label, parts) in enumerate(buckets):
        x = left + i * step
        y = float(base)
        for key, colour in colours.items():
            value = parts.get(key, 0)
            if value:
                h = max(1.0, plot_h * value / peak)
                y -= h
                out.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                           f'fill="{colour}"/>')
    out.append(f'<text x="{left}" y="{height - 8}" {_FONT}>{escape(buckets[0][0])}</text>')
    out.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" {_FONT}>{escape(buckets[-1][0])}</text>')
    out.append("</svg>")
    return "".join(out)


def _legend(colours: Mapping[str, str], x0: int) -> str:
    parts, x = [], x0
    for key, colour in colours.items():
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="16" {_FONT}>{escape(key)}</text>')
        x += 24 + 8 * len(key) + 16
    return "".join(parts)


__all__ = ["DENIED_HOST_COLOUR", "FAMILY_COLOUR", "ITEM_COLOURS", "VERDICT_COLOURS", "bar_chart",
           "stacked_bar_chart", "time_chart"]

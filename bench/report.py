"""Figures and the results table: min / median / max over repetitions, targets, ratios.

Every measurement becomes a :class:`Row` of one section. A row holds all repetitions'
values; the table shows min, median and max, the target if there is one, and whether the
median meets it. Ratios between two crawlers are ratios of medians (the pairwise ratios are
shown as their own row, so the spread is visible too).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Row:
    section: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    #: ">= 0.97" style target on the median, or None
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""
    #: digits after the decimal point
    digits: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def status(self) -> str:
        if self.target is None:
            return ""
        med = self.median
        if med is None:
            return "n/a"
        ok = med >= self.target if self.higher_is_better else med <= self.target
        return "met" if ok else "MISSED"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.higher_is_better else '≤'} {_fmt(self.target, self.digits)}"


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio_of_medians(numerator: Sequence[float], denominator: Sequence[float]) -> float | None:
    if not numerator or not denominator:
        return None
    bottom = statistics.median(denominator)
    return statistics.median(numerator) / bottom if bottom else None


def render(rows: Iterable[Row], *, errors: Sequence[str] = ()) -> str:
    """The Markdown table, grouped by section, then any section errors."""
    lines = [
        "| section | measure | unit | n | min | median | max | target | status | note |",
        "|---|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        vals = r.values
        lines.append(
            f"| {r.section} | {r.name} | {r.unit} | {len(vals)} | "
            f"{_fmt(min(vals) if vals else None, r.digits)} | {_fmt(r.median, r.digits)} | "
            f"{_fmt(max(vals) if vals else None, r.digits)} | {r.target_text()} | {r.status()} | {r.note} |"
        )
    text = "\n".join(lines) + "\n"
    if errors:
        text += "\nErrors:\n\n" + "\n".join(f"- {e}" for e in errors) + "\n"
    return text


__all__ = ["Row", "ratio_of_medians", "render"]

"""A one-line progress bar for long audit runs, shown only on a terminal.

On a pipe or in a file (CI logs, ``verify > report.txt``) nothing is printed, so the
output stays exactly the findings. Redraws are throttled to a few per second, so the
bar costs nothing measurable next to hashing gigabytes.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class Progress:
    """``update(n)`` adds ``n`` units (bytes by default) of ``total``; ``done()`` ends the line."""

    def __init__(
        self, label: str, total: float, *, stream: TextIO | None = None, enabled: bool | None = None,
        unit: str = "bytes", interval: float = 0.2,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label, self.total, self.unit, self.interval = label, max(float(total), 1.0), unit, interval
        self.done_units = 0.0
        self._started = self._drawn = time.monotonic()
        self._visible = False

    def update(self, n: float) -> None:
        self.done_units += n
        if self.enabled and time.monotonic() - self._drawn >= self.interval:
            self._draw()

    def _draw(self) -> None:
        self._drawn = now = time.monotonic()
        share = min(self.done_units / self.total, 1.0)
        width = 24
        bar = "#" * int(share * width) + "-" * (width - int(share * width))
        rate = self.done_units / max(now - self._started, 1e-9)
        if self.unit == "bytes":
            amount = f"{_size(self.done_units)}/{_size(self.total)} {_size(rate)}/s"
        else:
            amount = f"{self.done_units:,.0f}/{self.total:,.0f} {self.unit} {rate:,.0f}/s"
        self.stream.write(f"\r{self.label} {share:4.0%} [{bar}] {amount}  ")
        self.stream.flush()
        self._visible = True

    def done(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["Progress"]

"""``audit report``: one self-contained HTML page, checked in a real headless Chromium.

The page is rendered by Chromium (``apt-get install chromium``) to a PNG screenshot, which
is decoded here in pure Python; each chart has its own fill colour, so counting pixels of
that colour inside the chart's band shows the chart was drawn. The negative control is the
report of a run with no decisions: the same check finds none of the chart colours.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections import Counter
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_WEB, crawl, demo_seeds, run_scrapy

from crawler.demo.webserver import SampleWeb
from pipelines.charts import DENIED_HOST_COLOUR, FAMILY_COLOUR, ITEM_COLOURS, VERDICT_COLOURS
from pipelines.manifest import WorkerRecord, update_manifest
from pipelines.report import render, report_data, write_report

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
# On a developer machine without Chromium these two tests skip; in CI (.ci/run installs it)
# a missing browser is a failure, so the render check can never silently stop running.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="the chromium binary is absent (apt-get install chromium)",
)
WIDTH, HEIGHT = 1100, 3200
SCALE = 0.5  # a half-size screenshot decodes 4x faster and still shows every chart


def decode_png(data: bytes) -> tuple[int, int, list[bytearray], int]:
    """(width, height, rows of raw pixel bytes, bytes per pixel) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        filt, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    return width, height, rows, bpp


def colour_counts(png: Path, colours: dict[str, str]) -> dict[str, int]:
    """Pixels (within ±6 per channel) of each colour in the screenshot."""
    _width, _height, rows, bpp = decode_png(png.read_bytes())
    seen: Counter[tuple[int, int, int]] = Counter()
    for line in rows:
        seen.update(zip(line[0::bpp], line[1::bpp], line[2::bpp], strict=True))
    wanted = {name: tuple(int(hex_[i:i + 2], 16) for i in (1, 3, 5)) for name, hex_ in colours.items()}
    return {
        name: sum(n for px, n in seen.items() if all(abs(p - q) <= 6 for p, q in zip(px, rgb, strict=True)))
        for name, rgb in wanted.items()
    }


def bands(png: Path, colour: str, *, gap: int = 12) -> list[int]:
    """Pixel counts of ``colour`` per vertical band (runs of rows holding it, split at gaps):
    the verdict colours must show up in two charts, by host and over time."""
    _width, _height, rows, bpp = decode_png(png.read_bytes())
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    per_row = [sum(1 for px in zip(line[0::bpp], line[1::bpp], line[2::bpp], strict=True)
                   if all(abs(p - q) <= 6 for p, q in zip(px, rgb, strict=True))) for line in rows]
    found: list[int] = []
    last = -gap - 1
    for y, n in enumerate(per_row):
        if n:
            if y - last > gap:
                found.append(0)
            found[-1] += n
            last = y
    return found


def screenshot(html: Path, png: Path, profile: Path) -> None:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         f"--window-size={WIDTH},{HEIGHT}", f"--force-device-scale-factor={SCALE}", f"--screenshot={png}",
         html.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert png.exists(), proc.stderr[-2000:]


CHART_COLOURS = {
    "family": FAMILY_COLOUR,
    "allow": VERDICT_COLOURS["allow"],
    "deny": VERDICT_COLOURS["deny"],
    "hold": VERDICT_COLOURS["hold"],
    "denied-host": DENIED_HOST_COLOUR,
    "items-kept": ITEM_COLOURS["kept"],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("report")
    with SampleWeb(DEMO_WEB) as web:
        result = crawl(web, base / "runs", demo_seeds(web))
    assert result.returncode == 0, result.stderr[-3000:]
    yield result.run_dir


def test_report_is_one_self_contained_page(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = run_scrapy(["audit", "report", str(run), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert html.count("<svg") == 5
    for external in ("<script", "http-equiv", "<link", "src=", "@import", "url("):
        assert external not in html
    data = report_data(run)
    assert data["decisions"] > 50 and data["items"]["kept"] > 0
    assert {f for f, _n in data["families"]} >= {"robots.disallow", "robots.ai-token", "noai"}
    denials = [n for _h, n, _f in data["denied_hosts"]]
    assert denials and denials == sorted(denials, reverse=True)
    assert sum(sum(parts.values()) for _label, parts in data["timeline"]) == data["decisions"]


@needs_chromium
def test_report_charts_render_in_headless_chromium(run: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    write_report(run, html)
    png = tmp_path / "report.png"
    screenshot(html, png, tmp_path / "profile")
    counts = colour_counts(png, CHART_COLOURS)
    for name, count in counts.items():
        assert count > 20, f"chart colour {name} barely on screen: {counts}"
    big = [n for n in bands(png, VERDICT_COLOURS["allow"]) if n > 200]
    assert len(big) >= 2, f"decisions by host and over time should both draw allow bars: {bands(png, VERDICT_COLOURS['allow'])}"


@needs_chromium
def test_negative_control_a_run_without_decisions_draws_no_chart(tmp_path: Path) -> None:
    empty = tmp_path / "empty-run"
    empty.mkdir()
    update_manifest(empty, run_id="empty-run", policy={"hash": "h", "config": {}},
                    record=WorkerRecord(worker="w1", started_at="2025-01-01T00:00:00Z"))
    html = tmp_path / "empty.html"
    html.write_text(render(report_data(empty)))
    png = tmp_path / "empty.png"
    screenshot(html, png, tmp_path / "profile")
    counts = colour_counts(png, CHART_COLOURS)
    assert all(count < 20 for count in counts.values()), counts

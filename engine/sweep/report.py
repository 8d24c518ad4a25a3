"""A sweep's summaries: ``sweep.csv`` (a row per run) and ``sweep.png`` (each final metric by
setting, a dot per seed). Torch-free; both written atomically.

``SUMMARY_WRITERS`` is the extension point for more summaries: each is called with the
sweep, its runs, the results so far and the output folder, after every finished run (``final``
False, cheap writers only) and once at the end (``final`` True). A TensorBoard export
(``--tensorboard``, the packaging issue) goes here as one more writer.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, atomic_write_text
from ..catalogue import COLUMN_TITLES
from .spec import Run, Sweep, value_text

CSV_NAME = "sweep.csv"
PNG_NAME = "sweep.png"
RUNS_DIR = "runs"


def csv_header(sweep: Sweep) -> list[str]:
    return ["run", *sweep.keys, "seed", "step", *sweep.metric_columns(), "wall_s", "status",
            "message"]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return str(v)


def csv_text(sweep: Sweep, runs: list[Run], results: dict[str, dict[str, Any]]) -> str:
    """A row per run that has a result (done, diverged or failed), in the sweep's order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_header(sweep))
    metrics = sweep.metric_columns()
    for run in runs:
        r = results.get(run.name)
        if r is None:
            continue
        m = r.get("metrics") or {}
        w.writerow([run.name, *(value_text(v) for v in run.setting), run.seed,
                    _cell(r.get("step")), *(_cell(m.get(c)) for c in metrics),
                    _cell(round(r["wall_s"], 2) if isinstance(r.get("wall_s"), float | int)
                          else None),
                    r.get("status", ""), r.get("message", "")])
    return buf.getvalue()


def write_csv(sweep: Sweep, runs: list[Run], results: dict[str, dict[str, Any]], out: Path,
              final: bool) -> None:
    atomic_write_text(str(out / CSV_NAME), csv_text(sweep, runs, results))


def write_png(sweep: Sweep, runs: list[Run], results: dict[str, dict[str, Any]], out: Path,
              final: bool) -> None:
    if final:
        atomic_write_bytes(str(out / PNG_NAME), png_bytes(sweep, runs, results))


Writer = Callable[[Sweep, list[Run], dict[str, dict[str, Any]], Path, bool], None]
SUMMARY_WRITERS: list[Writer] = [write_csv, write_png]


def write_summaries(sweep: Sweep, runs: list[Run], results: dict[str, dict[str, Any]],
                    out: Path, final: bool) -> None:
    for writer in SUMMARY_WRITERS:
        if final or writer is write_csv:
            writer(sweep, runs, results, out, final)


# --------------------------------------------------------------------------- sweep.png
_BG, _FG, _GRID = (255, 255, 255), (30, 30, 30), (225, 225, 225)
_STATUS_COLOURS = {"done": (31, 119, 180), "diverged": (230, 120, 20)}
_MAX_ROWS = 60


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _title(col: str) -> str:
    """A metric's title in the characters the fallback font has (W1, not W₁)."""
    title = COLUMN_TITLES.get(col, col).translate({0x2081: "1", 0xB2: "^2"})
    title = title.encode("ascii", "replace").decode()
    return title if title == col else f"{title}  ({col})"


def _tick_text(t: float, step: float) -> str:
    digits = 3
    if t and step:
        digits = max(3, math.ceil(math.log10(abs(t) / step)) + 1)
    return f"{t:.{min(digits, 12)}g}"


def _ticks(lo: float, hi: float) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / 3))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= 5:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def png_bytes(sweep: Sweep, runs: list[Run], results: dict[str, dict[str, Any]]) -> bytes:
    """Each final metric in a panel: a row per setting, a dot per seed (blue done, orange
    diverged), the mean as a black bar and the seeds' range as a grey line."""
    from PIL import Image, ImageDraw

    font, small = _font(13), _font(11)
    settings = sweep.settings[:_MAX_ROWS]
    labels = [" / ".join(value_text(v) for v in s) for s in settings]
    metrics = []
    for c in sweep.metric_columns():
        vals = [(results.get(r.name) or {}).get("metrics", {}) or {} for r in runs]
        if any(isinstance(m.get(c), int | float) for m in vals):
            metrics.append(c)
    label_w = min(260, 12 + 7 * max((len(x) for x in labels), default=4))
    plot_w, row_h, cols = 250, 18, 2
    panel_w = label_w + plot_w + 30
    panel_h = 50 + row_h * len(settings) + 20
    n_rows = max(1, math.ceil(len(metrics) / cols))
    head = 56
    width, height = cols * panel_w + 20, head + n_rows * panel_h + 10
    img = Image.new("RGB", (width, height), _BG)
    d = ImageDraw.Draw(img)
    done = sum(1 for r in results.values() if r.get("status") in _STATUS_COLOURS)
    d.text((10, 8), f"{sweep.preset}: {len(runs)} runs, {sweep.steps:,} steps, seeds "
                    f"{','.join(str(s) for s in sweep.seeds[:12])}"
                    f"{'…' if len(sweep.seeds) > 12 else ''} ({done} finished)",
           fill=_FG, font=font)
    legend = f"settings: {' / '.join(sweep.keys)}"
    d.text((10, 28), legend, fill=_FG, font=small)
    x = 10 + d.textlength(legend, font=small) + 20
    for status, colour in _STATUS_COLOURS.items():
        d.ellipse([x, 32, x + 6, 38], fill=colour)
        d.text((x + 10, 28), f"{status} (a dot per seed)", fill=_FG, font=small)
        x += 20 + d.textlength(f"{status} (a dot per seed)", font=small) + 10
    d.line([(x + 3, 29), (x + 3, 41)], fill=_FG, width=2)
    d.text((x + 10, 28), "mean", fill=_FG, font=small)
    x += 50
    d.line([(x, 35), (x + 18, 35)], fill=(150, 150, 150))
    d.text((x + 24, 28), "range across seeds", fill=_FG, font=small)
    if len(sweep.settings) > _MAX_ROWS:
        d.text((10, 42), f"(the first {_MAX_ROWS} of {len(sweep.settings)} settings)",
               fill=_FG, font=small)
    if not metrics:
        d.text((10, head + 10), "no finished run has metrics yet", fill=_FG, font=font)
    by_setting: dict[tuple[str, ...], list[Run]] = {}
    for r in runs:  # keyed by text: list values are not hashable
        by_setting.setdefault(tuple(map(value_text, r.setting)), []).append(r)
    for i, col in enumerate(metrics):
        x0 = 10 + (i % cols) * panel_w
        y0 = head + (i // cols) * panel_h
        values = [((results.get(r.name) or {}).get("metrics") or {}).get(col) for r in runs]
        finite = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        pad = (hi - lo) * 0.06 or (abs(hi) * 0.1 or 0.5)
        lo, hi = lo - pad, hi + pad
        px0, px1 = x0 + label_w, x0 + label_w + plot_w

        def xof(v: float, px0: int = px0, lo: float = lo, hi: float = hi) -> float:
            return px0 + (v - lo) / (hi - lo) * plot_w

        d.text((x0, y0 + 4), _title(col), fill=_FG, font=font)
        top, bottom = y0 + 26, y0 + 26 + row_h * len(settings)
        ticks = _ticks(lo, hi)
        tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.0
        texts = [_tick_text(t, tick_step) for t in ticks]
        crowded = sum(d.textlength(t, font=small) + 8 for t in texts) > plot_w
        for k, (t, text) in enumerate(zip(ticks, texts)):
            x = xof(t)
            d.line([(x, top), (x, bottom)], fill=_GRID)
            if not crowded or k in (0, len(ticks) - 1):
                d.text((x - 3 * len(text), bottom + 3), text, fill=_FG, font=small)
        d.rectangle([px0, top, px1, bottom], outline=(150, 150, 150))
        for j, (setting, label) in enumerate(zip(settings, labels)):
            yc = top + row_h * j + row_h / 2
            d.text((x0, yc - 7), label[:40], fill=_FG, font=small)
            pts = []
            group = by_setting.get(tuple(map(value_text, setting)), [])
            for k, r in enumerate(group):
                res = results.get(r.name) or {}
                v = (res.get("metrics") or {}).get(col)
                if not (isinstance(v, int | float) and math.isfinite(v)):
                    continue
                pts.append(v)
                x = xof(v)
                dy = (k - (len(group) - 1) / 2) * min(2.0, 10 / max(1, len(group)))
                colour = _STATUS_COLOURS.get(res.get("status"), (120, 120, 120))
                d.ellipse([x - 3, yc + dy - 3, x + 3, yc + dy + 3], fill=colour)
            if pts:
                d.line([(xof(min(pts)), yc), (xof(max(pts)), yc)], fill=(150, 150, 150))
                m = xof(sum(pts) / len(pts))
                d.line([(m, yc - 6), (m, yc + 6)], fill=_FG, width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


__all__ = ["csv_header", "csv_text", "png_bytes", "write_summaries", "SUMMARY_WRITERS",
           "CSV_NAME", "PNG_NAME", "RUNS_DIR"]

"""Axes whose tick labels never touch, on a plot of any size.

pyqtgraph picks a tick spacing from the axis length alone (at least 2.25 intervals, more as
the axis grows), not from how wide its labels are. On the small plots of Compare and the
Divergences tab at 1280x720 (an x axis of about 130 px) that drew ``200400600800`` as one
word, and ``2000 4000 6000`` overlapping by a pixel or two. ``RoomyAxis`` keeps pyqtgraph's
spacing wherever the labels fit it, and otherwise steps it up through 1, 2 and 5 times a
power of ten until the widest label, plus a gap, fits between two ticks, as long as two
labels stay on the axis. Then it labels only the ticks whose labels have that room, the
coarsest level and the roundest numbers first; a tick too near an end (pyqtgraph hides its
label) crowds out none. ``LogAxis`` labels 1, 2 and 5 times a power of ten by the same rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

GAP_EM = 0.6  # the least space between two labels side by side, in the tick font's height
STACKED_GAP_EM = 0.3  # ... and between two stacked ones (y), which read as lines of text
TEXT_LEVELS = 2  # pyqtgraph's default: the major and two finer levels may be labelled
MAX_STEPS = 40  # of 1-2-5 widening: from any spacing pyqtgraph picks to one a label fits
ROUNDER = 6  # how many coarser 1-2-5 steps are tried when ranking a tick's roundness


def round_up(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= x (x > 0)."""
    e = 10.0 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return float(m * e)
    return float(10 * e)


def next_round(step: float) -> float:
    """The next of 1, 2 and 5 times a power of ten above ``step`` (itself one of them)."""
    return round_up(step * (1 + 1e-9))


def minor_of(major: float) -> float:
    """A minor spacing that divides ``major`` evenly: 1, 5 and 10 in fifths, 2 in quarters."""
    exponent = math.floor(math.log10(major) + 1e-9)
    return major / (4.0 if round(major / 10.0 ** exponent) == 2 else 5.0)


def _multiple(v: float, step: float) -> bool:
    q = v / step
    return abs(q - round(q)) < 1e-6


class RoomyAxis(pg.AxisItem):
    """An ``AxisItem`` whose labels are at least a gap apart (see the module docstring)."""

    _labelled: frozenset[float] | None = None  # the tick values that get text this paint

    def _metrics(self) -> QFontMetricsF:
        font = QFont(self.style.get("tickFont") or self.font())
        key = font.key()
        if getattr(self, "_fm_key", None) != key:
            self._fm_key, self._fm = key, QFontMetricsF(font)
        return self._fm

    def _extent(self, fm: QFontMetricsF, text: str) -> float:
        """A label's length along the axis."""
        return fm.height() if self.orientation in ("left", "right") else fm.horizontalAdvance(text)

    def _gap(self, fm: QFontMetricsF) -> float:
        stacked = self.orientation in ("left", "right")
        return (STACKED_GAP_EM if stacked else GAP_EM) * fm.height()

    def _texts(self, values: list[float], spacing: float) -> list[str]:
        """The labels pyqtgraph would draw at ``values`` (before any are left out)."""
        return pg.AxisItem.tickStrings(self, list(values), self.autoSIPrefixScale * self.scale,
                                       spacing)

    def _shown(self, step: float, lo: float, hi: float, px: float, fm: QFontMetricsF,
               gap: float) -> tuple[int, bool]:
        """At spacing ``step``: how many labels fit inside the axis, and whether each has
        room for itself and a gap before the next."""
        first = math.ceil(lo / step)
        values = [k * step for k in range(first, first + 64) if k * step <= hi]
        texts = self._texts(values, step)
        extents = [self._extent(fm, t) for t in texts]
        inside = sum(1 for v, e in zip(values, extents)
                     if min(v - lo, hi - v) * px >= e / 2)
        roomy = all(step * px >= (a + b) / 2 + gap for a, b in zip(extents, extents[1:]))
        return inside, roomy

    def tickSpacing(self, minVal: float, maxVal: float, size: float  # noqa: N802, N803
                    ) -> list[tuple[float, float]]:
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if (self.logMode or self._tickSpacing is not None or not levels or size <= 0
                or not (math.isfinite(span) and span > 0)):
            return levels
        major = levels[0][0]
        if not (math.isfinite(major) and major > 0):
            return levels
        lo, hi = sorted((minVal, maxVal))
        px = size / span
        fm = self._metrics()
        gap = self._gap(fm)
        widened = major
        for _ in range(MAX_STEPS):
            if self._shown(widened, lo, hi, px, fm, gap)[1]:
                break
            wider = next_round(widened)
            if self._shown(wider, lo, hi, px, fm, gap)[0] < 2:
                break  # two labels matter more: some are left out below instead
            widened = wider
        if widened == major:
            return levels
        return [(widened, 0.0), (minor_of(widened), 0.0)]

    def tickValues(self, minVal: float, maxVal: float, size: float  # noqa: N802, N803
                   ) -> list[Any]:
        levels = super().tickValues(minVal, maxVal, size)
        if self.logMode:  # pyqtgraph removes repeats from linear levels itself
            levels = _without_repeats(levels)
        self._labelled = self._pick(levels, minVal, maxVal, size)
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float  # noqa: N802
                    ) -> list[str]:
        texts = super().tickStrings(values, scale, spacing)
        keep = self._labelled
        if keep is None:
            return texts
        return [t if round(float(v), 9) in keep else "" for v, t in zip(values, texts)]

    def _tiers(self, levels: list[Any], px: float, least: float
               ) -> list[list[tuple[float, str]]]:
        """The ticks that may get text, in the order they are offered it: each level, down
        to the first finer one whose ticks are closer than ``least`` px (no label fits
        there, and a fine level's strings are most of the cost of a repaint). The coarsest
        level is always offered: every k-th of its ticks may still fit (a 51 px JS axis
        with ticks 12 px apart showed no number at all when it was cut too)."""
        out = []
        for i, (spacing, values) in enumerate(levels[:TEXT_LEVELS + 1]):
            if spacing is None or (i and spacing * px < least):
                break
            vs = [float(v) for v in values]
            out.append(list(zip(vs, self._texts(vs, spacing))))
        return out

    def _anchor(self, values: list[float]) -> int:
        """The tick the thinned labels line up on: zero, else the roundest."""
        def roundness(v: float) -> tuple[int, int]:
            step, r = 1.0, 0
            if len(values) > 1:
                step = abs(values[1] - values[0])
                for _ in range(ROUNDER):
                    step = next_round(step)
                    if not _multiple(v, step):
                        break
                    r += 1
            return (0 if v == 0 else 1, -r)
        return min(range(len(values)), key=lambda i: roundness(values[i]))

    def _pick(self, levels: list[Any], minVal: float, maxVal: float,  # noqa: N803
              size: float) -> frozenset[float] | None:
        """The values to label. The first tier's (see ``_tiers``): every k-th, for the least
        k that leaves each label room for itself and a gap (the most labels, lined up on
        ``_anchor`` when that is a tie). Each
        later tier's labels are added all together if they all have that room, else that
        tier and the finer ones stay blank (half of them would read as uneven steps). A tick
        closer to an end than half its label counts for nothing: pyqtgraph hides it."""
        lo, hi = sorted((minVal, maxVal))
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo and size > 0):
            return None
        px = size / (hi - lo)
        fm = self._metrics()
        gap = self._gap(fm)

        def placed(tier: list[tuple[float, str]]) -> list[tuple[float, float, float]]:
            out = []
            for v, text in tier:
                extent = self._extent(fm, text)
                if text and min(v - lo, hi - v) * px >= extent / 2:
                    out.append((v * px, extent, v))
            return sorted(out)

        def roomy(marks: list[tuple[float, float, float]]) -> bool:
            marks = sorted(marks)
            return all(b[0] - a[0] >= (a[1] + b[1]) / 2 + gap for a, b in zip(marks, marks[1:]))

        least = fm.height() if self.orientation in ("left", "right") else gap
        tiers = [t for t in (placed(tier) for tier in self._tiers(levels, px, least)) if t]
        if not tiers:
            return frozenset()
        first = tiers[0]
        anchor = self._anchor([v for *_, v in first])
        kept = first[anchor:anchor + 1]
        for k in range(1, len(first) + 1):
            strides = [first[o::k] for o in range(k) if roomy(first[o::k])]
            if strides:  # the most labels; of those, the one through the anchor
                kept = max(strides, key=lambda m: (len(m), first[anchor] in m))
                break
        for tier in tiers[1:] if len(kept) == len(first) else []:
            if not roomy(kept + tier):
                break
            kept = kept + tier
        return frozenset(round(v, 9) for *_, v in kept)


def plot_axes(log_y: bool = False) -> dict[str, pg.AxisItem]:
    """The axes of a plot of series: roomy on both sides, log ticks on y when asked."""
    return {"left": LogAxis("left") if log_y else RoomyAxis("left"),
            "bottom": RoomyAxis("bottom")}


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_RANGE = (1e-3, 1e4)  # an axis inside this range reads as plain numbers: 0.002, 5, 200


def log_tick_text(mantissa: float, exponent: int, plain: bool) -> str:
    """``mantissa`` × 10^``exponent`` as a log axis labels it: plain (``0.002``, ``50``,
    ``1.5``) or as a power of ten (``2·10⁻³``, ``10⁴``, ``1.5·10⁻⁶``)."""
    m = f"{mantissa:.2f}".rstrip("0").rstrip(".")
    if plain:
        decimals = max(0, len(m.partition(".")[2]) - exponent)
        return f"{mantissa * 10.0 ** exponent:.{decimals}f}"
    power = f"10{str(exponent).translate(SUPERSCRIPT)}"
    return power if m == "1" else f"{m}·{power}"


class LogAxis(RoomyAxis):
    """A log axis with one style of label at a time, its labels a gap apart.

    pyqtgraph mixes ``1``, ``10¹`` and ``5·10¹`` on one axis and labels every minor tick
    (0.3, 0.4, ...), which crowds a short plot into an unreadable stack. Here an axis whose
    visible range lies within ``PLAIN_RANGE`` reads as plain numbers (``0.01 0.1 1 10``),
    any other as powers of ten throughout (``10⁻⁶ 10⁻⁴ 10⁻² 10⁰``), and only 1, 2 and 5
    times a power of ten are labelled. A range too narrow to hold two of those (1.1 to 1.8)
    gets evenly spaced ticks, all labelled (pyqtgraph draws none there). On a short plot
    the labels that would sit closer than a label and a gap to another go: the powers of
    ten stay first, then 5, then 2 times one.
    """

    def logTickValues(self, minVal: float, maxVal: float, size: float,  # noqa: N802, N803
                      stdTicks: list[Any]) -> list[Any]:  # noqa: N803
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        inside = sum(1 for _, values in ticks for v in values if minVal <= v <= maxVal)
        if inside >= 2 or not (math.isfinite(minVal) and math.isfinite(maxVal)):
            return ticks
        a, b = 10.0 ** minVal, 10.0 ** maxVal
        step = round_up((b - a) / 4) if b > a else 0.0
        if step <= 0:
            return ticks
        first = math.ceil(a / step) * step
        values = [math.log10(first + i * step) for i in range(12) if first + i * step <= b]
        return [(None, values)]

    def _tiers(self, levels: list[Any], px: float, least: float
               ) -> list[list[tuple[float, str]]]:
        """Powers of ten, then 5 times them, then 2 times them; a narrow range's evenly
        spaced ticks (no 1, 2 or 5 inside) are one tier."""
        values = sorted(float(v) for _, vs in levels for v in vs)
        ticks = list(zip(values, self._texts(values, 1.0)))
        lo, hi = sorted(float(v) for v in self.range)
        if _round_ticks_between(lo, hi) < 2:
            return [ticks]
        tiers: list[list[tuple[float, str]]] = [[], [], []]
        for v, text in ticks:
            mantissa = round(10.0 ** (v - math.floor(v + 1e-9)), 2)
            tier = {1.0: 0, 10.0: 0, 5.0: 1, 2.0: 2}.get(mantissa)
            if tier is not None:
                tiers[tier].append((v, text))
        return tiers

    def _anchor(self, values: list[float]) -> int:
        """10^0 when it is there: 1 is read first."""
        near = [i for i, v in enumerate(values) if abs(v) < 1e-9]
        return near[0] if near else 0

    def logTickStrings(self, values: list[float], scale: float, spacing: float  # noqa: N802
                       ) -> list[str]:
        lo, hi = sorted(float(v) for v in self.range)
        scale = scale or 1.0
        plain = (10.0 ** lo * scale >= PLAIN_RANGE[0] * (1 - 1e-9)
                 and 10.0 ** hi * scale < PLAIN_RANGE[1])
        every = _round_ticks_between(lo, hi) < 2
        out = []
        for v in values:
            x = 10.0 ** float(v) * scale
            if not (x > 0 and math.isfinite(x)):
                out.append("")
                continue
            exponent = math.floor(math.log10(x) + 1e-9)
            mantissa = round(x / 10.0 ** exponent, 2)
            if mantissa >= 10:
                mantissa, exponent = 1.0, exponent + 1
            out.append(log_tick_text(mantissa, exponent, plain)
                       if every or mantissa in (1, 2, 5) else "")
        return out


def _without_repeats(levels: list[Any]) -> list[Any]:
    """Each tick value in its coarsest level only: pyqtgraph's log levels repeat the powers
    of ten among the minor ticks (1 x 10^k), and a value in two levels is labelled twice."""
    seen: set[float] = set()
    out = []
    for spacing, values in levels:
        mine = [v for v in values if round(float(v), 9) not in seen]
        seen.update(round(float(v), 9) for v in mine)
        out.append((spacing, mine))
    return out


def _round_ticks_between(lo: float, hi: float) -> int:
    """How many of 1, 2 and 5 times a power of ten lie in [10^lo, 10^hi] (capped)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo > 3:
        return 3
    count = 0
    for e in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in (1, 2, 5):
            if lo - 1e-9 <= e + math.log10(m) <= hi + 1e-9:
                count += 1
    return count

"""Swap markers: a labelled vertical line at every change applied mid-run, on curve plots.

The engine keeps the swap log (``Session.swaps``: ``(step, text)`` such as
``(1200, "loss → wgan-gp")``) and sends it whole (``SwapLog``); every plot of values over
steps draws it through one ``SwapMarkers``: a dashed line at the step and a short label at
the top of the plot, to the right of the line (to its left near the right edge). Labels of
changes close together are stacked in rows instead of drawn over each other, in at most
``LABEL_SHARE`` of the plot's height; when the rows run out (a small plot may have none),
the label is left off and the line keeps the text in its tooltip (the full text, with
the step, is always there).

Lines are built when the log changes (rarely) and only repositioned when the x range or
the plot's size changes, so a marker costs nothing per frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QFont

MARKER_COLOR = "#facc15"
LINE_ALPHA = 170
LABEL_FILL = (23, 24, 28, 180)
LABEL_POINTS = 9        # label font size
LABEL_CHARS = 30        # longer texts are shortened on the plot (the tooltip has them whole)
ROW_GAP_PX = 6          # horizontal room between two labels in one row
MAX_ROWS = 4
LABEL_SHARE = 0.35      # of a plot's height, at most, for label rows (a small plot: lines only)
Z_VALUE = 20            # above the curves: a label must stay readable


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class SwapMarkers:
    """Markers for ``entries`` of ``(step, text)`` on each of ``plots`` (``pg.PlotItem``s
    or ``PlotWidget``s); ``shift`` is subtracted from each step (a plot whose x counts from
    another origin)."""

    def __init__(self, plots: Iterable[Any], *, color: str = MARKER_COLOR) -> None:
        self.plots: list[pg.PlotItem] = [p.getPlotItem() if hasattr(p, "getPlotItem") else p
                                         for p in plots]
        self.color = color
        self.entries: tuple[tuple[int, str], ...] = ()
        self.shift = 0
        self.lines: list[list[pg.InfiniteLine]] = [[] for _ in self.plots]
        self._shown: list[tuple[float, int, str]] = []  # (x, step, text) of each line drawn
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.layout)
        for plot in self.plots:
            vb = plot.getViewBox()
            vb.sigXRangeChanged.connect(self._schedule)
            vb.sigResized.connect(self._schedule)

    # ------------------------------------------------------------------ data in
    def set_entries(self, entries: Sequence[Sequence[Any]], shift: int | None = None) -> None:
        """Draw these entries (replacing any drawn before)."""
        clean = tuple((int(step), str(text)) for step, text in entries)
        if shift is not None:
            self.shift = int(shift)
        self.entries = clean
        self._rebuild()

    def clear(self) -> None:
        self.set_entries(())

    def positions(self, index: int = 0) -> list[float]:
        """The x of each line on plot ``index`` (tests, scripts)."""
        return [line.value() for line in self.lines[index]]

    # ------------------------------------------------------------------ drawing
    def _rebuild(self) -> None:
        """Bring the lines in line with ``entries``: only what changed is rebuilt. The log
        grows at its end (one entry per change), so a new entry costs one line per plot,
        not a rebuild of all of them (after a hundred changes that took ~60 ms a change and
        held back the next frame)."""
        shown = [(step - self.shift, step, text) for step, text in self.entries
                 if step - self.shift >= 0]
        keep = 0
        while (keep < len(shown) and keep < len(self._shown)
               and shown[keep] == self._shown[keep]):
            keep += 1
        for plot, lines in zip(self.plots, self.lines):
            for line in lines[keep:]:
                plot.removeItem(line)
            del lines[keep:]
        pen = pg.mkPen(_alpha(self.color, LINE_ALPHA), width=1, style=Qt.PenStyle.DashLine)
        for plot, lines in zip(self.plots, self.lines):
            for x, step, text in shown[keep:]:
                lines.append(_marker_line(plot, pen, self.color, x, step, text))
        self._shown = shown
        self.layout()

    def _schedule(self, *_: Any) -> None:
        if any(self.lines):
            self._timer.start()

    def layout(self) -> None:
        """Place each label at the top of its plot, stacked in rows where labels would
        overlap; a label with no free row is hidden (its line keeps the tooltip)."""
        for plot, lines in zip(self.plots, self.lines):
            if lines:
                _layout_plot(plot, lines)


def _marker_line(plot: pg.PlotItem, pen: Any, color: str, x: float, step: int,
                 text: str) -> pg.InfiniteLine:
    line = pg.InfiniteLine(
        pos=x, angle=90, movable=False, pen=pen,
        label=short_label(text).replace("{", "{{").replace("}", "}}"),
        labelOpts={"position": 0.98, "color": color, "fill": pg.mkBrush(*LABEL_FILL),
                   "anchors": [(0, 0), (0, 0)]})
    line.setZValue(Z_VALUE)
    line.label.textItem.document().setDocumentMargin(0.5)  # compact rows
    font = QFont(line.label.textItem.font())
    font.setPointSize(LABEL_POINTS)
    line.label.setFont(font)
    tip = f"step {step:,}: {text}"
    line.setToolTip(tip)
    line.label.setToolTip(tip)
    plot.addItem(line, ignoreBounds=True)
    return line


def _alpha(color: str, alpha: int) -> Any:
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return c


def _layout_plot(plot: pg.PlotItem, lines: list[pg.InfiniteLine]) -> None:
    vb = plot.getViewBox()
    width, height = vb.width(), vb.height()
    if width <= 0 or height <= 0:
        return
    (x0, x1), _ = vb.viewRange()
    row_h = max((line.label.boundingRect().height() for line in lines), default=14.0)
    rows_fit = min(MAX_ROWS, int(LABEL_SHARE * height // max(row_h, 1.0)))
    ends: list[float] = []  # the right edge of the last label in each row
    placed = []
    for line in lines:
        x = line.value()
        if not x0 <= x <= x1:
            line.label.hide()
            continue
        px = vb.mapFromView(QPointF(x, 0)).x()  # pixels from the plot area's left edge
        w = line.label.boundingRect().width()
        right = px + w + 2 <= width  # the label reads to the right of its line if it fits
        left_edge = px if right else px - w
        placed.append((left_edge, line, right, w))
    placed.sort(key=lambda item: item[0])
    n = len(placed)
    for i, (left_edge, line, right, w) in enumerate(placed):
        # a label covers the lines it reaches over (the neighbours' dashes would cross it)
        line.setZValue(Z_VALUE + (n - i if right else n + i))
        row = next((r for r, end in enumerate(ends) if left_edge >= end + ROW_GAP_PX), None)
        if row is None and len(ends) < rows_fit:
            row = len(ends)
            ends.append(float("-inf"))
        if row is None:
            line.label.hide()
            continue
        ends[row] = left_edge + w
        anchor = (0, 0) if right else (1, 0)
        line.label.anchors = [anchor, anchor]
        line.label.setPosition(max(0.0, 1.0 - (2 + row * row_h) / height))
        line.label.show()

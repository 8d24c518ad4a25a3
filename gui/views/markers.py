"""Swap markers: a labelled vertical line at every change applied mid-run, on curve plots.

The engine keeps the swap log (``Session.swaps``: ``(step, text)`` such as
``(1200, "loss → wgan-gp")``) and sends it whole (``SwapLog``); every plot of values over
steps draws it through one ``SwapMarkers``: a dashed line at the step and a short label at
the top of the plot, to the right of the line (to its left near the right edge). Labels of
changes close together are stacked in rows instead of drawn over each other, in at most
``LABEL_SHARE`` of the plot's height; when the rows run out (a small plot may have none),
the label is left off and the line keeps the text in its tooltip (the full text, with
the step, is always there: hover the line). While a plot's range follows its data, the
label rows get room of their own above the data (``LabelBand``): a label at the top no
longer sits over the top of a curve (D(x) on real near 1, where the interest is).

What a marker costs per frame is bounded whatever the length of the log: each plot draws
all its lines as one item (``MarkerLines``: one ``drawLines`` call), and only the labels
that find a row exist as text items (a pool, reused). A line per change as a pyqtgraph
``InfiniteLine`` cost ~0.4 ms a frame each over the six curve plots, so a lecture of a
hundred changes took the window's whole frame budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF

from ..appearance import themed

MARKER_COLOR = "#facc15"
LINE_ALPHA = 170
LABEL_FILL = (23, 24, 28, 180)
LABEL_POINTS = 9        # label font size
LABEL_CHARS = 30        # longer texts are shortened on the plot (the tooltip has them whole)
ROW_GAP_PX = 6          # horizontal room between two labels in one row
MAX_ROWS = 4
LABEL_SHARE = 0.35      # of a plot's height, at most, for label rows (a small plot: lines only)
Z_VALUE = 20            # above the curves: a label must stay readable
MAX_PER_ROW = 16        # labels tried per row (the newest changes in view), at most
HOVER_PX = 4            # the pointer this close to a line shows its tooltip
LABEL_PAD = 1.0         # px around a label's text (its filled box)
BAND_GAP_PX = 3         # between the lowest label row and the top of the data


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class MarkerLines(pg.GraphicsObject):
    """Every marker line of one plot as one item: dashed, from the bottom of the view to
    its top, at ``xs`` (view coordinates); hovering a line shows its tooltip."""

    def __init__(self, pen: Any) -> None:
        super().__init__()
        self.pen = pg.mkPen(pen)
        self.pen.setCosmetic(True)
        self.xs = np.empty(0)
        self.tips: list[str] = []
        self.setZValue(Z_VALUE - 1)
        self.setAcceptHoverEvents(True)

    def set_lines(self, xs: Sequence[float], tips: Sequence[str]) -> None:
        self.prepareGeometryChange()
        self.xs = np.asarray(xs, dtype=np.float64)
        self.tips = list(tips)
        self.update()

    def _view(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        vb = self.getViewBox()
        return None if vb is None else vb.viewRange()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        ranges = self._view()
        if ranges is None or not len(self.xs):
            return QRectF()
        (x0, x1), (y0, y1) = ranges
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph's hook)
        self.prepareGeometryChange()
        self.update()

    def paint(self, painter: Any, *args: Any) -> None:
        ranges = self._view()
        if ranges is None or not len(self.xs):
            return
        (x0, x1), (y0, y1) = ranges
        shown = self.xs[(self.xs >= x0) & (self.xs <= x1)]
        if not len(shown):
            return
        painter.setPen(self.pen)
        painter.drawLines([QLineF(float(x), y0, float(x), y1) for x in shown])

    def nearest(self, scene_x: float) -> int | None:
        """The line within ``HOVER_PX`` of a scene x (the newest of several), or None."""
        vb = self.getViewBox()
        if vb is None or not len(self.xs):
            return None
        # the view-to-scene map is affine in x: two points give it, not one per line
        at0 = vb.mapViewToScene(QPointF(0.0, 0.0)).x()
        per = vb.mapViewToScene(QPointF(1.0, 0.0)).x() - at0
        px = at0 + per * np.asarray(self.xs, dtype=float)
        close = np.flatnonzero(np.abs(px - scene_x) <= HOVER_PX)
        return int(close[-1]) if len(close) else None

    def hoverMoveEvent(self, ev: Any) -> None:  # noqa: N802 (Qt override)
        i = self.nearest(ev.scenePos().x())
        self.setToolTip(self.tips[i] if i is not None else "")

    def hoverLeaveEvent(self, ev: Any) -> None:  # noqa: N802 (Qt override)
        self.setToolTip("")


class LabelBand(pg.GraphicsObject):
    """Nothing drawn: room above a plot's data for its label rows. Its data bounds in y
    are those of the plot's data items, the top raised so that the highest point sits
    ``share`` of the view's height below the top (before the view's own padding): auto-
    range then keeps the curves under the labels. No room while ``share`` is 0 (no label
    shown), and none asked of x."""

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.share = 0.0
        self.setFlag(self.GraphicsItemFlag.ItemHasNoContents)

    def set_share(self, share: float) -> None:
        share = min(max(float(share), 0.0), 0.5)
        if abs(share - self.share) > 1e-3:
            self.share = share
            self.informViewBoundsChanged()

    def dataBounds(self, ax: int, frac: float = 1.0,  # noqa: N802 (pyqtgraph's hook)
                   orthoRange: Any = None) -> tuple[float, float] | None:  # noqa: N803
        if ax != 1 or self.share <= 0:
            return None
        lo, hi = math.inf, -math.inf
        counted = self.plot.getViewBox().addedItems  # not those added with ignoreBounds
        for item in self.plot.listDataItems():
            if not item.isVisible() or item not in counted:
                continue
            bounds = item.dataBounds(1, frac, orthoRange)
            if bounds is None or bounds[0] is None or bounds[1] is None:
                continue
            a, b = float(bounds[0]), float(bounds[1])
            if math.isfinite(a) and math.isfinite(b):
                lo, hi = min(lo, a), max(hi, b)
        if not math.isfinite(lo):
            return None
        span = hi - lo if hi > lo else (abs(hi) or 1.0)
        return lo, hi + span * self.share / (1.0 - self.share)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF()

    def paint(self, *args: Any) -> None:
        pass


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
        self._shown: list[tuple[float, int, str]] = []  # (x, step, text) of each line
        self._widths: dict[tuple[str, float], float] = {}  # a label's width in px, by text
        pen = pg.mkPen(_alpha(color, LINE_ALPHA), width=1, style=Qt.PenStyle.DashLine)
        self.lines: list[MarkerLines] = []
        self.bands: list[LabelBand] = []
        self.labels: list[list[pg.TextItem]] = [[] for _ in self.plots]  # a pool per plot
        self.placed: list[dict[int, pg.TextItem]] = [{} for _ in self.plots]  # line -> label
        for plot in self.plots:
            item = MarkerLines(pen)
            plot.addItem(item, ignoreBounds=True)
            self.lines.append(item)
            band = LabelBand(plot)
            plot.addItem(band)
            self.bands.append(band)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.layout)
        for plot in self.plots:
            vb = plot.getViewBox()
            vb.sigXRangeChanged.connect(self._schedule)
            vb.sigYRangeChanged.connect(self._schedule)  # labels sit at a height in pixels
            vb.sigResized.connect(self._schedule)

    # ------------------------------------------------------------------ data in
    def set_entries(self, entries: Sequence[Sequence[Any]], shift: int | None = None) -> None:
        """Draw these entries (replacing any drawn before)."""
        clean = tuple((int(step), str(text)) for step, text in entries)
        if shift is not None:
            self.shift = int(shift)
        self.entries = clean
        self._shown = [(float(step - self.shift), step, text) for step, text in clean
                       if step - self.shift >= 0]
        xs = [x for x, _, _ in self._shown]
        tips = [tip_of(step, text) for _, step, text in self._shown]
        for item in self.lines:
            item.set_lines(xs, tips)
        self.layout()

    def clear(self) -> None:
        self.set_entries(())

    # ------------------------------------------------------------------ read back
    def positions(self, index: int = 0) -> list[float]:
        """The x of each line on plot ``index`` (tests, scripts)."""
        return [float(x) for x in self.lines[index].xs]

    def tooltip(self, index: int, line: int) -> str:
        """What hovering line ``line`` of plot ``index`` shows."""
        return self.lines[index].tips[line]

    def label(self, index: int, line: int) -> pg.TextItem | None:
        """The label drawn for line ``line`` on plot ``index`` (None: it found no row)."""
        return self.placed[index].get(line)

    # ------------------------------------------------------------------ drawing
    def _schedule(self, *_: Any) -> None:
        if self._shown:
            self._timer.start()

    def layout(self) -> None:
        """Place each label at the top of its plot, stacked in rows where labels would
        overlap; a line with no free row gets no label (it keeps its tooltip)."""
        for i, plot in enumerate(self.plots):
            self._layout_plot(i, plot)

    def _layout_plot(self, i: int, plot: pg.PlotItem) -> None:
        try:
            vb = plot.getViewBox()
        except RuntimeError:  # the plot was deleted (a closed window) before the timer fired
            return
        if vb is None:
            return
        width, height = vb.width(), vb.height()
        wanted: dict[int, tuple[float, float, bool, int]] = {}  # line -> (x, y, right, row)
        band_px = 0.0  # the label rows' height
        if self._shown and width > 0 and height > 0:
            (x0, x1), _ = vb.viewRange()
            font = _label_font()
            metrics = QFontMetricsF(font)
            row_h = math.ceil(metrics.height() + 2 * LABEL_PAD) + 1  # a label's box, and 1 px
            rows_fit = min(MAX_ROWS, int(LABEL_SHARE * height // max(row_h, 1.0)))
            xs = np.array([x for x, _, _ in self._shown])
            inside = np.flatnonzero((xs >= x0) & (xs <= x1))
            # newest first: when rows run out, the latest changes keep their labels
            candidates = []
            for j in inside[::-1][: rows_fit * MAX_PER_ROW]:
                px = (xs[j] - x0) / (x1 - x0) * width if x1 > x0 else 0.0
                w = self._width(metrics, short_label(self._shown[j][2]))
                right = px + w + 2 <= width  # reads to the right of its line if it fits
                left_edge = px if right else px - w
                x = float(xs[j])
                if not right and left_edge < 0:
                    # fits on neither side: it starts at the plot's left edge, whole, rather
                    # than losing its start ("moons" for "data → moons")
                    left_edge, right, x = 0.0, True, float(x0)
                candidates.append((left_edge, int(j), right, w, x))
            # newest first: each takes the first row where it overlaps no label placed yet
            rows: list[list[tuple[float, float]]] = []
            for left_edge, j, right, w, x in candidates:
                span = (left_edge - ROW_GAP_PX, left_edge + w + ROW_GAP_PX)
                row = next((r for r, spans in enumerate(rows)
                            if all(span[1] <= a or span[0] >= b for a, b in spans)), None)
                if row is None and len(rows) < rows_fit:
                    row = len(rows)
                    rows.append([])
                if row is None:
                    continue
                rows[row].append((left_edge, left_edge + w))
                wanted[j] = (x, 2 + row * row_h, right, row)
            band_px = 2 + len(rows) * row_h + BAND_GAP_PX if rows else 0.0
        self._place(i, vb, wanted)
        self.bands[i].set_share(band_px / height if height > 0 else 0.0)

    def _width(self, metrics: QFontMetricsF, text: str) -> float:
        key = (text, metrics.height())
        w = self._widths.get(key)
        if w is None:
            w = self._widths[key] = metrics.horizontalAdvance(text) + 2 * LABEL_PAD
        return w

    def _place(self, i: int, vb: Any, wanted: dict[int, tuple[float, float, bool, int]]
               ) -> None:
        pool, placed = self.labels[i], self.placed[i]
        placed.clear()
        for k, (j, (x, top_px, right, _row)) in enumerate(sorted(wanted.items())):
            if k == len(pool):
                pool.append(self._new_label(self.plots[i]))
            label = pool[k]
            text = short_label(self._shown[j][2])
            if label.toPlainText() != text:
                label.setText(text)
            label.setToolTip(tip_of(self._shown[j][1], self._shown[j][2]))
            label.setAnchor((0, 0) if right else (1, 0))
            y = vb.mapToView(QPointF(0.0, top_px)).y()
            label.setPos(x, y)
            label.show()
            placed[j] = label
        for label in pool[len(wanted):]:
            label.hide()

    def _new_label(self, plot: pg.PlotItem) -> pg.TextItem:
        # in the theme of the moment: a restyle swaps the labels that exist, not later ones
        fill = QColor(themed(QColor(*LABEL_FILL[:3]).name()))
        fill.setAlpha(LABEL_FILL[3])
        label = pg.TextItem("", color=themed(self.color), fill=pg.mkBrush(fill), anchor=(0, 0))
        label.textItem.document().setDocumentMargin(LABEL_PAD)  # compact rows
        label.setFont(_label_font())
        label.setZValue(Z_VALUE)
        plot.addItem(label, ignoreBounds=True)
        return label


def last_data_change(entries: Iterable[Sequence[Any]]) -> int | None:
    """The step of the newest change of the data set in a swap log (``engine.swaps``
    writes it ``data → moons``, ``data std 0.02 → 0.05``), or None. Rows before it
    describe another target: a loaded session's history crosses it."""
    steps = [int(step) for step, text in entries
             if any(part.startswith("data ") for part in str(text).split(", "))]
    return max(steps) if steps else None


def tip_of(step: int, text: str) -> str:
    return f"step {step:,}: {text}"


def _label_font() -> QFont:
    font = QFont()
    font.setPointSize(LABEL_POINTS)
    return font


def _alpha(color: str, alpha: int) -> Any:
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return c

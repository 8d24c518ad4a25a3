"""Metric curves: losses, D's outputs on real vs fake, and gradient norms (log y).

The three plots share their x axis (zoom one, all follow) and read from one bounded
buffer, so memory and drawing cost stay flat however long training runs. Curves use
pyqtgraph's peak downsampling and clip-to-view, pen width 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from engine.metrics import COLUMNS

from .. import theme
from .series import BoundedSeries
from .styling import style_plot

REFRESH_FPS = 15.0
LOG_FLOOR = 1e-12  # gradient norms of exactly 0 would be -inf on a log axis
FOLLOW_GROWTH = 1.5  # when the run outgrows the x range, extend it to a round number past this


def round_up(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= x (x > 0)."""
    e = 10.0 ** np.floor(np.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return float(m * e)
    return float(10 * e)


@dataclass(frozen=True)
class CurveSpec:
    column: str
    name: str
    color: str


@dataclass(frozen=True)
class PlotSpec:
    key: str
    title: str
    y_label: str
    curves: tuple[CurveSpec, ...]
    log_y: bool = False
    sparse: bool = False  # a point every train.metrics_every steps: draw the points too


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("loss", "Losses", "loss", (
        CurveSpec("d_loss", "D loss", theme.D_LOSS),
        CurveSpec("g_loss", "G loss", theme.G_LOSS),
    )),
    PlotSpec("outputs", "D(x) on real vs D(G(z)) on fake", "D output", (
        CurveSpec("d_real", "D(x) real", theme.D_REAL),
        CurveSpec("d_fake", "D(G(z)) fake", theme.D_FAKE),
    )),
    PlotSpec("grads", "Gradient norms", "norm (log scale)", (
        CurveSpec("d_grad_norm", "D grad", theme.D_GRAD),
        CurveSpec("g_grad_norm", "G grad", theme.G_GRAD),
    ), log_y=True),
    PlotSpec("quality", "Image quality: FID (lower is better), IS (higher)", "log scale", (
        CurveSpec("fid", "FID", theme.G_LOSS),
        CurveSpec("inception_score", "IS", theme.REAL),
    ), log_y=True, sparse=True),
)
QUALITY_PLOT = "quality"  # shown for image data only


class LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten: pyqtgraph labels every
    minor tick (0.3, 0.4, ...), which crowds a short plot into an unreadable stack."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        out = []
        for v, text in zip(values, strings):
            x = 10.0 ** float(v) * scale
            mantissa = round(x / 10.0 ** np.floor(np.log10(x))) if x > 0 else 0
            out.append(text if mantissa in (1, 2, 5) else "")
        return out


def _make_plot(spec: PlotSpec) -> pg.PlotWidget:
    axes = {"left": LogAxis("left")} if spec.log_y else None
    w = pg.PlotWidget(background=theme.PLOT_BACKGROUND, axisItems=axes)
    w.setObjectName(f"plot_{spec.key}")
    item = w.getPlotItem()
    style_plot(item, spec.title)
    item.setLabel("left", spec.y_label, color=theme.AXIS)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.setMenuEnabled(True)
    if spec.log_y:
        item.setLogMode(y=True)
    item.getAxis("left").setWidth(52)
    legend = item.addLegend(offset=(-8, 6), labelTextColor="#d8dbe0", labelTextSize="8pt",
                            brush=pg.mkBrush(23, 24, 28, 200))
    legend.setColumnCount(2)
    return w


class CurvesView(QWidget):
    """Three stacked, x-linked plots fed by ``add_rows``; the splitter is user-resizable.

    The x range follows the run in round steps (0..1000, 0..2000, 0..5000 ...) instead of
    auto-ranging every frame: a moving axis is re-rendered on each repaint, a still one is
    a cached pixmap. Zooming or panning by hand stops the following; pyqtgraph's "A"
    (auto-range) button resumes it.
    """

    def __init__(self, parent: QWidget | None = None, capacity: int = 20_000,
                 max_fps: float = REFRESH_FPS) -> None:
        super().__init__(parent)
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self._last_refresh = 0.0
        self.series = BoundedSeries(COLUMNS, capacity)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("curves_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._log_columns: set[str] = set()
        first: pg.PlotWidget | None = None
        for spec in PLOTS:
            w = _make_plot(spec)
            if first is None:
                first = w
            else:
                w.setXLink(first)
            self.plots[spec.key] = w
            for c in spec.curves:
                marks = dict(symbol="o", symbolSize=5, symbolBrush=c.color,
                             symbolPen=None) if spec.sparse else {}
                self.curves[c.column] = w.plot([], [], pen=pg.mkPen(c.color, width=1), name=c.name,
                                               **marks)
                if spec.log_y:
                    self._log_columns.add(c.column)
            self.splitter.addWidget(w)
        self.plots["grads"].getPlotItem().setLabel("bottom", "iteration", color=theme.AXIS)
        self.plots[QUALITY_PLOT].getPlotItem().setLabel("bottom", "iteration", color=theme.AXIS)
        self.plots[QUALITY_PLOT].setToolTip(
            "Classifier-based FID and Inception-style score, every train.metrics_every steps.<br>"
            "The classifier is trained once on the data set itself (no downloads).")
        self.plots[QUALITY_PLOT].hide()
        self.following = True
        self._x_max: float | None = None
        for w in self.plots.values():
            vb = w.getViewBox()
            vb.enableAutoRange(x=False)
            vb.sigRangeChangedManually.connect(self._on_manual_range)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._dirty = False

    def set_quality_visible(self, visible: bool) -> None:
        """The FID/IS plot, for image data; the bottom axis label moves with it."""
        self.plots[QUALITY_PLOT].setVisible(visible)
        self.plots["grads"].getPlotItem().showLabel("bottom", not visible)

    def add_rows(self, rows: np.ndarray) -> None:
        """New history rows (``engine.metrics.COLUMNS``); drawn at the next ``refresh``."""
        if len(rows):
            self.series.extend(rows)
            self._dirty = True

    def _on_manual_range(self, mask: list[bool]) -> None:
        if mask[0]:
            self.following = False

    def _follow_x(self, first: float, last: float) -> None:
        boxes = [w.getViewBox() for w in self.plots.values()]
        if any(vb.state["autoRange"][0] for vb in boxes):  # the user pressed "A"
            for vb in boxes:
                vb.enableAutoRange(x=False)
            self.following, self._x_max = True, None
        if not self.following:
            return
        if self._x_max is None or last > self._x_max:
            self._x_max = round_up(max(last * FOLLOW_GROWTH, first + 10))
            boxes[0].setXRange(first, self._x_max, padding=0)

    def clear(self) -> None:
        self.series.clear()
        self.following, self._x_max = True, None
        for curve in self.curves.values():
            curve.setData([], [])
        self._dirty = False

    def refresh(self, force: bool = False) -> None:
        """Push the buffered history to the curves, if it changed, at most ``max_fps`` times
        a second (the plane gets every frame; curves move slowly and cost more to paint)."""
        if not self._dirty:
            return
        now = time.perf_counter()
        if not force and now - self._last_refresh < self.min_interval:
            return
        self._last_refresh = now
        self._dirty = False
        x = self.series.column("step").copy()  # curves keep a reference: give them their own
        self._follow_x(float(x[0]), float(x[-1]))
        for column, curve in self.curves.items():
            y = self.series.column(column).copy()
            if column in self._log_columns:
                y = np.maximum(y, LOG_FLOOR)
            ok = np.isfinite(y)
            if ok.all():
                curve.setData(x, y)
            else:
                curve.setData(x[ok], y[ok])

"""Metric curves: losses, D's outputs on real vs fake, and gradient norms (log y).

The three plots share their x axis (zoom one, all follow) and read from one bounded
buffer, so memory and drawing cost stay flat however long training runs. Curves use
pyqtgraph's peak downsampling and clip-to-view, pen width 1.

Each plot's title is its legend (the names in their curves' colours), so no legend box
ever sits on the data. Every change applied mid-run is a labelled dashed line
(``gui.views.markers``). Image data adds a fourth plot (FID/IS); the splitter keeps one
set of sizes for point data and one for images, so neither squashes the other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from engine.metrics import COLUMNS

from .. import theme
from .axes import plot_axes, round_up
from .markers import SwapMarkers
from .pacing import FramePacer
from .series import BoundedSeries
from .styling import legend_title, style_plot

REFRESH_FPS = 15.0
LOG_FLOOR = 1e-12  # gradient norms of exactly 0 would be -inf on a log axis
FOLLOW_GROWTH = 1.5  # when the run outgrows the x range, extend it to a round number past this


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
    PlotSpec("outputs", "D output", "D output", (
        CurveSpec("d_real", "D(x) on real", theme.D_REAL),
        CurveSpec("d_fake", "D(G(z)) on fake", theme.D_FAKE),
    )),
    PlotSpec("grads", "Gradient norms", "norm (log scale)", (
        CurveSpec("d_grad_norm", "D", theme.D_GRAD),
        CurveSpec("g_grad_norm", "G", theme.G_GRAD),
    ), log_y=True),
    PlotSpec("quality", "Image quality", "log scale", (
        CurveSpec("fid", "FID (lower is better)", theme.G_LOSS),
        CurveSpec("inception_score", "IS (higher)", theme.REAL),
    ), log_y=True, sparse=True),
)
QUALITY_PLOT = "quality"  # shown for image data only

def _with_gaps(x: np.ndarray, y: np.ndarray, ok: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """The finite points of a per-step figure, joined except across two or more missing
    rows: a stretch where that network did not step (frozen, or D under MMD) is a gap, not
    a straight line across it; one lone missing row (a single D or G step) is joined. A
    gap is one NaN between its ends, drawn with ``connect="finite"``."""
    idx = np.flatnonzero(ok)
    breaks = np.flatnonzero(np.diff(idx) > 2) + 1  # kept points that start after a gap
    xs = np.insert(x[idx], breaks, np.nan)
    ys = np.insert(y[idx], breaks, np.nan)
    return xs, ys, {"connect": "finite"}


def _make_plot(spec: PlotSpec) -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.PLOT_BACKGROUND, axisItems=plot_axes(spec.log_y))
    w.setObjectName(f"plot_{spec.key}")
    item = w.getPlotItem()
    style_plot(item, legend_title(spec.title, [(c.name, c.color) for c in spec.curves]))
    item.setLabel("left", spec.y_label, color=theme.AXIS)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.setMenuEnabled(True)
    if spec.log_y:
        item.setLogMode(y=True)
    item.getAxis("left").setWidth(52)
    return w


class CurvesSplitter(QSplitter):
    """The plots' splitter, with one set of sizes per data kind (``points``, ``images``).

    Image data adds the FID/IS plot; point data hides it. A single set of sizes made the
    FID/IS plot start as a 40 px strip (the sizes of point data, where it had none), and
    carried that back to point data, squashing the gradient norms. Each kind now starts
    from its own shares (``DEFAULT_SHARES``) and keeps what the user makes of them.
    ``saveState``/``restoreState`` carry both kinds (JSON), so the window's settings code
    stores them as before; a state from an older version is ignored.
    """

    KINDS = ("points", "images")
    DEFAULT_SHARES = {"points": (1, 1, 1, 0), "images": (1, 1, 1, 1)}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.kind = "points"
        self.kind_sizes: dict[str, list[int] | None] = {k: None for k in self.KINDS}

    def set_kind(self, kind: str) -> None:
        """Show the plots of ``kind`` with that kind's sizes (remembering the other's)."""
        if kind not in self.KINDS:
            raise ValueError(f"kind: {kind!r}; allowed: {', '.join(self.KINDS)}")
        if kind == self.kind:
            return
        self._remember()
        self.kind = kind
        self.widget(self.count() - 1).setVisible(kind == "images")
        self._apply()

    def _remember(self) -> None:
        sizes = self.sizes()
        visible = [s for i, s in enumerate(sizes) if not self.widget(i).isHidden()]
        if visible and min(visible) > 0:  # laid out (not before the first show)
            self.kind_sizes[self.kind] = sizes

    def _apply(self) -> None:
        sizes = self.kind_sizes[self.kind]
        if sizes is None:
            total = max(self.height(), 400)
            shares = self.DEFAULT_SHARES[self.kind][: self.count()]
            sizes = [round(total * s / sum(shares)) for s in shares]
        self.setSizes(list(sizes))

    def saveState(self) -> QByteArray:  # noqa: N802 (Qt's name)
        self._remember()
        return QByteArray(json.dumps({"kind_sizes": self.kind_sizes}).encode())

    def restoreState(self, state: Any) -> bool:  # noqa: N802 (Qt's name)
        try:
            raw = state.encode() if isinstance(state, str) else bytes(state)
            doc = json.loads(raw.decode())
            stored = doc["kind_sizes"]
            for kind in self.KINDS:
                sizes = stored.get(kind)
                if sizes is not None and not (
                        isinstance(sizes, list) and len(sizes) == self.count()
                        and all(isinstance(v, int) and 0 <= v < 100_000 for v in sizes)):
                    raise ValueError(kind)
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
            return False  # another version's state: keep the defaults
        self.kind_sizes = {k: stored.get(k) for k in self.KINDS}
        self._apply()
        return True


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
        self.pacer = FramePacer(self.refresh, self)
        self.series = BoundedSeries(COLUMNS, capacity)
        self.splitter = CurvesSplitter()
        self.splitter.setObjectName("curves_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._log_columns: set[str] = set()
        self._dense: set[str] = set()  # a figure every logged row: a stretch of NaN is a gap
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
                if not spec.sparse:
                    self._dense.add(c.column)
            self.splitter.addWidget(w)
        self.plots["grads"].getPlotItem().setLabel("bottom", "iteration", color=theme.AXIS)
        self.plots[QUALITY_PLOT].getPlotItem().setLabel("bottom", "iteration", color=theme.AXIS)
        self.plots[QUALITY_PLOT].setToolTip(
            "Classifier-based FID and Inception-style score, every train.metrics_every steps.<br>"
            "The classifier is trained once on the data set itself (no downloads).")
        self.plots[QUALITY_PLOT].hide()
        self.splitter._apply()
        self.markers = SwapMarkers(self.plots.values())
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
        """The FID/IS plot, for image data; the bottom axis label moves with it and the
        splitter takes that kind's sizes."""
        self.splitter.set_kind("images" if visible else "points")
        self.plots["grads"].getPlotItem().showLabel("bottom", not visible)

    def set_swaps(self, entries: Sequence[Sequence[Any]]) -> None:
        """The session's swap log (``(step, text)``): a labelled line on every plot."""
        self.markers.set_entries(entries)

    def drop_after(self, step: int) -> None:
        """A rollback to ``step`` (a divergence): the rows after it are gone from the
        engine's history, so they go from the curves too (-1: nothing to drop)."""
        if step >= 0 and self.series.truncate_after(step):
            self._x_max = None
            self._dirty = True
            self.refresh(force=True)

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
        """A new run: no curves, no markers."""
        self.series.clear()
        self.following, self._x_max = True, None
        for curve in self.curves.values():
            curve.setData([], [])
        self.markers.clear()
        self._dirty = False

    def frame_shown(self) -> None:
        """A live frame was just drawn: the curves catch up in its paint (``pacing``)."""
        self.pacer.frame_shown()
        self.refresh()

    def refresh_unpaced(self) -> None:
        """Rows or a status arrived: refresh now unless a frame is coming to do it."""
        self.pacer.request()

    def refresh(self, force: bool = False) -> None:
        """Push the buffered history to the curves, if it changed, at most ``max_fps`` times
        a second (the plane gets every frame; curves move slowly and cost more to paint)."""
        if not self._dirty:
            return
        now = time.perf_counter()
        # 0.9: frames 33.3 ms apart against a 66.7 ms limit let only every third through
        if not force and now - self._last_refresh < 0.9 * self.min_interval:
            self.pacer.put_off()  # drawn shortly whatever comes next (nothing, if it died)
            return
        self._last_refresh = now
        self._dirty = False
        x = self.series.column("step").copy()  # curves keep a reference: give them their own
        if not len(x):
            for curve in self.curves.values():
                curve.setData([], [])
            return
        self._follow_x(float(x[0]), float(x[-1]))
        for column, curve in self.curves.items():
            y = self.series.column(column).copy()
            if column in self._log_columns:
                y = np.maximum(y, LOG_FLOOR)
            ok = np.isfinite(y)
            if ok.all():
                curve.setData(x, y)
            elif column in self._dense:
                xs, ys, opts = _with_gaps(x, y, ok)
                curve.setData(xs, ys, **opts)
            else:
                curve.setData(x[ok], y[ok])

"""Divergence curves: JS, KL, W1, MMD and the mode metrics over training steps.

The engine estimates them every ``train.metrics_every`` steps on fresh samples and sends
them in the metric rows (NaN elsewhere); this view keeps only the rows that carry them,
in bounded memory, and plots their finite values. The JS plot has a dashed line at log 2:
on the ``lines`` data set (disjoint supports) JS sits there while W1 keeps falling.

A new data set restarts the curves (``restart``): the old set's JS, W1 or modes describe
a different target. The mode plots (and the header's modes and HQ) are there only for data
sets made of modes; two moons or a spiral have none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.dataspecs import DATA_SPECS
from engine.metrics import CADENCE_COLUMNS

from .. import theme
from ..views.axes import plot_axes
from ..views.markers import SwapMarkers, last_data_change
from .buffers import RowBuffer
from .style import REFERENCE_COLOR, TEXT_COLOR, caption, style_plot_item

LOG2 = math.log(2.0)
JS_HEADROOM = 1.22  # room above the log 2 line for its label (at least the label's height)
NBSP = "\u00a0"  # joins a name to its value: a wrapped header never splits "MMD²" from "0.004"


@dataclass(frozen=True)
class MetricPlot:
    column: str
    title: str
    y_label: str
    color: str
    tip: str
    scale: float = 1.0


# short titles (two columns fit beside the plane at 1280x720); the tooltips say the rest
PLOTS: tuple[MetricPlot, ...] = (
    MetricPlot("js", "JS(p_data ‖ p_g)", "nats", "#f472b6",
               "Jensen–Shannon divergence from 30×30 histograms over the data box (nats). It "
               "saturates at log 2 (dashed) when the supports do not overlap."),
    MetricPlot("w1", "Wasserstein-1 W₁", "distance", "#34d399",
               "Exact W1 between equal-size sample sets (optimal assignment): it keeps "
               "tracking the distance where JS is stuck at log 2."),
    MetricPlot("kl", "KL(p_data ‖ p_g)", "nats", "#a78bfa",
               "KL divergence from the same histograms (a small ε per cell keeps it finite)."),
    MetricPlot("mmd", "MMD² (RBF)", "MMD²", "#60a5fa",
               "Unbiased squared maximum mean discrepancy, RBF kernel, median bandwidth."),
    MetricPlot("modes", "Modes captured", "modes", "#4ade80",
               "Modes with at least one high-quality sample (within 3 std of the mode)."),
    MetricPlot("high_quality", "High quality", "%", "#fbbf24",
               "High-quality samples: the share of generated samples within 3 std of their "
               "nearest mode.", scale=100.0),
    MetricPlot("mode_kl", "Mode balance KL", "nats", "#fb7185",
               "Mode balance: KL of the per-mode histogram of high-quality samples against "
               "uniform, 0 when every mode gets its share."),
)
MODE_COLUMNS = ("modes", "high_quality", "mode_kl")


class StepAnchor(pg.GraphicsObject):
    """An invisible item that keeps steps inside its plot's x auto-range (no y): the step
    the data set changed at, whose swap marker would otherwise fall off the left edge once
    the new set's estimates, which start after it, fill the plot; and the span of every
    estimate, so the seven plots share one x range even where a column starts later (the
    KL plot's own range gave it other ticks, which ran together: "100015002000")."""

    def __init__(self) -> None:
        super().__init__()
        self.step: float | None = None
        self.span: tuple[float, float] | None = None

    def set_step(self, step: float | None) -> None:
        self.step = step
        self.informViewBoundsChanged()

    def set_span(self, span: tuple[float, float] | None) -> None:
        if span != self.span:
            self.span = span
            self.informViewBoundsChanged()

    def dataBounds(self, ax: int, frac: float = 1.0,  # noqa: N802 (pyqtgraph's hook)
                   orthoRange: Any = None) -> tuple[float, float] | None:  # noqa: N803
        if ax != 0:
            return None
        xs = [x for x in (self.step, *(self.span or ())) if x is not None]
        return (min(xs), max(xs)) if xs else None

    def pixelPadding(self) -> float:  # noqa: N802 (pyqtgraph's hook)
        return 0.0

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF()

    def paint(self, *args: Any) -> None:
        pass


class DivergenceView(QWidget):
    """Seven small x-linked plots fed by ``add_rows``; drawn by ``refresh``."""

    def __init__(self, parent: QWidget | None = None, capacity: int = 5000) -> None:
        super().__init__(parent)
        self.setObjectName("insight_divergences")
        self.rows = RowBuffer(capacity=capacity)
        self._cadence = [self.rows.columns.index(c) for c in CADENCE_COLUMNS]
        self._dirty = False
        self._total_modes: int | None = None
        self._has_modes: bool | None = None  # None until a config says
        self._metrics_every: int | None = None
        self._samples = 0
        self._since = ""  # the last data-set change, for the note
        self._narrow = False  # the x range is held wider than the few estimates so far

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.readout = QLabel("Waiting for the first estimate…")
        self.readout.setObjectName("divergence_readout")
        self.readout.setStyleSheet(f"color: {TEXT_COLOR}; font-weight: 600;")
        self.readout.setToolTip("The latest estimates (every train.metrics_every steps)")
        self.readout.setWordWrap(True)  # a longer header wraps; it never widens the panel
        layout.addWidget(self.readout)
        self.note = caption("")
        self.note.setToolTip("How these numbers are estimated")
        layout.addWidget(self.note)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.PLOT_BACKGROUND)
        self.graphics.setToolTip("")
        # the plots keep a readable minimum size; below it the grid scrolls, never cut off
        self.scroll = QScrollArea()
        self.scroll.setObjectName("divergence_scroll")
        self.scroll.setWidget(self.graphics)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroll, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._empty_notes: dict[str, pg.TextItem] = {}
        top = self.graphics.ci
        for i, spec in enumerate(PLOTS):
            # two columns throughout: a row of three is wider than the panel beside the plane
            item = top.addPlot(row=i // 2, col=i % 2, axisItems=plot_axes())
            bottom = "step" if spec.column in MODE_COLUMNS else None
            style_plot_item(item, spec.title, x_label=bottom, y_label=spec.y_label)
            item.setToolTip(spec.tip)
            curve = item.plot([], [], pen=pg.mkPen(spec.color, width=1), symbol="o",
                              symbolSize=4, symbolPen=None, symbolBrush=spec.color)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.plots[spec.column] = item
            self.curves[spec.column] = curve
            # no x-link: pyqtgraph links plots of different widths by pixels, not by step;
            # every plot auto-ranges over the same steps instead
        js = self.plots["js"]
        self.log2_line = pg.InfiniteLine(
            LOG2, angle=0, pen=pg.mkPen(REFERENCE_COLOR, width=1, style=Qt.PenStyle.DashLine),
            # under the line at its right end: the swap markers' labels take the top rows
            # (a data change's marker is always in view, at the left, since the restart)
            label="log 2", labelOpts={"position": 0.97, "color": REFERENCE_COLOR,
                                      "anchors": [(1, 0), (1, 0)]})
        js.addItem(self.log2_line)
        js.setYRange(0, LOG2 * JS_HEADROOM, padding=0)
        js.enableAutoRange(y=False)
        # a short plot (four rows at 1280x720) needs more than 22% headroom for the label
        js.getViewBox().sigResized.connect(lambda *_: self._fit_js())
        self.total_line = pg.InfiniteLine(
            0, angle=0, pen=pg.mkPen(REFERENCE_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self.total_line.hide()
        self.plots["modes"].addItem(self.total_line)
        for column in MODE_COLUMNS:
            text = pg.TextItem("no modes for this data set", color="#8a8f98", anchor=(0.5, 0.5))
            text.hide()
            self.plots[column].addItem(text, ignoreBounds=True)
            self._empty_notes[column] = text
        self._positions = {spec.column: (i // 2, i % 2) for i, spec in enumerate(PLOTS)}
        self.markers = SwapMarkers(self.plots.values())  # a line per change applied mid-run
        self._restart: float | None = None  # the step the data set changed at, if it did
        self.config: dict[str, Any] | None = None
        self.anchors = {column: StepAnchor() for column in self.plots}
        for column, anchor in self.anchors.items():
            self.plots[column].addItem(anchor)
        self._fit_minimum()
        self._update_note()

    def set_swaps(self, entries: Any) -> None:
        """The session's swap log (``(step, text)``): a labelled line on every plot. A
        history that crosses a change of data set (a loaded session, Undo reset, a restart
        from the autosave: the live change restarts the plots as it happens) keeps only
        the estimates from that change on, as a live change would have."""
        self.markers.set_entries(entries)
        step = last_data_change(entries)
        if step is None or self.config is None:
            return
        steps = self.rows.column("step")
        if len(steps) and steps.min() <= step:  # the row of the change's step is the old set's
            later = self.rows.drop_through(step)
            self.restart(self.config, step, keep=True)
            self._dirty = self._dirty or later

    # ------------------------------------------------------------------ layout
    @property
    def mode_plots_shown(self) -> bool:
        return self.plots["modes"].scene() is not None

    def _show_mode_plots(self, on: bool) -> None:
        """Put the mode plots in the grid, or take them out of it (a set without modes:
        the four divergences then share the room)."""
        if on == self.mode_plots_shown:
            return
        top = self.graphics.ci
        for column in MODE_COLUMNS:
            item = self.plots[column]
            if on:
                top.addItem(item, *self._positions[column])
                item.show()
            else:
                top.removeItem(item)
                item.hide()
        self._fit_minimum()

    def _fit_minimum(self) -> None:
        """The plots' own minimum size (titles, axes) for the scroll area to honour."""
        hint = self.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).toSize()
        if hint != self.graphics.minimumSize():
            self.graphics.setMinimumSize(hint)

    # ------------------------------------------------------------------ data in
    def set_config(self, config: dict[str, Any]) -> None:
        """Learn the cadence and the number of modes (for the note and the dashed total)."""
        self.config = config
        train = config.get("train", {})
        self._metrics_every = int(train.get("metrics_every", 0) or 0)
        self._samples = int(train.get("metrics_samples", 0) or 0)
        data = config.get("data", {})
        ds = DATA_SPECS.get(data.get("name", ""))
        modes = ds.modes(data) if ds is not None else None
        self._total_modes = len(modes.centers) if modes is not None else None
        self._has_modes = ds is not None and modes is not None
        self._show_mode_plots(self._has_modes)
        if self._total_modes:
            self.total_line.setValue(self._total_modes)
            self.total_line.show()
        else:
            self.total_line.hide()
        self._update_note()

    def _update_note(self) -> None:
        every = self._metrics_every
        if every == 0:
            self.note.setText("<span style='color:#facc15'>Divergences are off: set "
                              "<b>Mode metrics every</b> (train.metrics_every) above 0.</span>")
            return
        cadence = f"every {every} steps" if every else "every train.metrics_every steps"
        samples = self._samples
        on = f" on {samples} fresh samples" if samples else ""
        self.note.setText(f"Estimated {cadence}{on}: JS and KL from 30×30 histograms over the "
                          "data box, exact W₁ by optimal assignment, MMD² with an RBF kernel."
                          + self._since)

    def add_rows(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or not len(rows):
            return
        keep = np.isfinite(rows[:, self._cadence]).any(1)
        if keep.any():
            self.rows.extend(rows[keep])
            self._dirty = True

    def drop_after(self, step: int) -> None:
        """A rollback to ``step``: the estimates after it are no longer in the history."""
        if self.rows.truncate_after(step):
            self._dirty = True
            self.refresh(force=True)

    def clear(self) -> None:
        self.rows.clear()
        self._dirty = True
        self._since = ""
        self._anchor(None)
        self.readout.setText("Waiting for the first estimate…")
        self._update_note()
        self.refresh(force=True)  # no frame of the old run's curves after this

    def restart(self, config: dict[str, Any], step: int, keep: bool = False) -> None:
        """The data set changed (at ``step``): drop every curve and the header of the old
        one, whose divergences and modes describe another target, and learn the new one
        (``keep``: the rows from ``step`` on are the new set's and stay)."""
        if not keep:
            self.rows.clear()
        self._dirty = True
        data = config.get("data", {})
        ds = DATA_SPECS.get(data.get("name", ""))
        title = ds.title if ds is not None else str(data.get("name", "?"))
        self._since = f" Restarted at step {step}: the data set changed to {title}."
        self._anchor(float(step))
        self.readout.setText(f"{title} since step {step}: waiting for its first estimate…")
        self.set_config(config)
        self.refresh(force=True)  # the old set's curves go now, not at the next tick
        if keep and len(self.rows):
            return  # the estimates since the change set the range
        # empty plots keep whatever range they had: start them at the change, not on the
        # old set's steps and values
        every = float(self._metrics_every or 0) or 1.0
        for column, item in self.plots.items():
            item.setXRange(float(step), float(step) + every, padding=0)
            if column != "js":
                item.setYRange(0.0, 1.0)
                item.enableAutoRange(y=True)
        self._narrow = True  # the next estimates widen it again (_fit_steps)

    def _anchor(self, step: float | None) -> None:
        self._restart = step
        for anchor in self.anchors.values():
            anchor.set_step(step)

    @property
    def point_count(self) -> int:
        return len(self.rows)

    # ------------------------------------------------------------------ drawing
    def refresh(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        steps = self.rows.column("step")
        span = (float(steps.min()), float(steps.max())) if len(steps) else None
        for anchor in self.anchors.values():
            anchor.set_span(span)
        for spec in PLOTS:
            x, y = self.rows.xy(spec.column)
            self.curves[spec.column].setData(x, y * spec.scale)
            note = self._empty_notes.get(spec.column)
            if note is not None:
                empty = len(self.rows) > 0 and not len(y)
                note.setVisible(empty)
                if empty:
                    vb = self.plots[spec.column].getViewBox()
                    (x0, x1), (y0, y1) = vb.viewRange()
                    note.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self._fit_minimum()
        self._fit_steps()
        self._fit_js()
        self._update_readout()

    def _fit_js(self) -> None:
        """JS from 0 to a little above log 2 (or its largest value), with a label's height
        of room above the dashed line however short the plot is (swap markers' labels sit
        there; the line's own label hangs below it)."""
        js_max = self.rows.xy("js")[1]
        top = max(LOG2 * JS_HEADROOM, float(js_max.max()) * 1.05 if len(js_max) else 0.0)
        height = self.plots["js"].getViewBox().height()
        label = self.log2_line.label.boundingRect().height() + 4  # px
        if height > 2 * label:  # the line sits ``label`` px below the top at least
            top = max(top, LOG2 * height / (height - label))
        (_, _), (y0, y1) = self.plots["js"].getViewBox().viewRange()
        if abs(y0) > 1e-12 or abs(y1 - top) > 1e-9 * max(top, 1.0):
            self.plots["js"].setYRange(0, top, padding=0)

    def _fit_steps(self) -> None:
        """One estimate (or a few close together) auto-ranges to a sliver of a step, whose
        ticks ("499.8 500.0 500.2") run into each other: show at least a cadence's width."""
        steps = self.rows.column("step")
        steps = steps[np.isfinite(steps)]
        every = float(self._metrics_every or 0) or 1.0
        narrow = len(steps) > 0 and float(steps.max() - steps.min()) < every
        if not narrow and not self._narrow:
            return  # the plots auto-range (or show what the user zoomed to)
        self._narrow = narrow
        for item in self.plots.values():
            if narrow:
                low = float(steps.min())
                if self._restart is not None:
                    low = min(low, self._restart)
                item.setXRange(low - every, float(steps.max()) + every, padding=0)
            else:
                item.enableAutoRange(x=True)

    def _update_readout(self) -> None:
        if not len(self.rows):
            return
        step = self.rows.last("step")
        parts = [f"step{NBSP}{step:.0f}" if step is not None else ""]
        for col, name, digits in (("js", "JS", 3), ("kl", "KL", 2), ("w1", "W₁", 3),
                                  ("mmd", "MMD²", 3)):
            v = self.rows.last(col)
            if v is not None:
                # the unbiased MMD² estimate dips just below 0 near a match: it read
                # "MMD² -0.000"; a value that rounds to zero is shown as 0
                parts.append(f"{name}{NBSP}{round(v, digits) + 0.0:.{digits}f}")
        if self._has_modes is not False:  # only what the current data set has
            modes = self.rows.last("modes")
            if modes is not None:
                total = f"/{self._total_modes}" if self._total_modes else ""
                parts.append(f"modes{NBSP}{modes:.0f}{total}")
            hq = self.rows.last("high_quality")
            if hq is not None:
                parts.append(f"HQ{NBSP}{hq * 100:.0f}%")
        self.readout.setText("  ·  ".join(p for p in parts if p))

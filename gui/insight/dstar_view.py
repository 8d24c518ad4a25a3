"""The optimal discriminator D* next to the learned D, and one number for their gap.

For a fixed G, ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (GAN_REFERENCE.md). The engine
computes it per cell of the heatmap grid from the probability mass of the data and of G in
the cell (exact for the Gaussian mixtures, so modes far narrower than a cell still show),
and sends D* and the gap (mean |D - D*| weighted by P_data + P_g) when the request asks for
``dstar``. With label smoothing the optimum becomes ``((1-α) p_data + β p_g) / (p_data +
p_g)``; that small per-cell formula is applied here, on the masses the engine sent. D* only
exists for the BCE losses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from engine.catalogue import LOSS_INFO, trains_d
from engine.snapshot import Snapshot

from .. import theme
from .buffers import RowBuffer
from .one_d_view import centred
from .plane_canvas import heat_rect
from .style import (
    DSTAR_COLOR,
    MUTED,
    NOTE_COLOR,
    add_curve,
    add_legend,
    caption,
    make_plot,
    style_axis,
    style_plot_item,
)

BCE_NOTE = "D* is defined for the minimax / non-saturating losses"
CELL_CAPTION = ("D* = p_data / (p_data + p_g), the best discriminator for the current G, from "
                "the share of the data's and of G's mass in each cell (dark: neither has any "
                "there). The gap: mean |D − D*| weighted by that mass.")
NOT_RECORDED = ("This frame was recorded without D*: frames carry it while this tab is on "
                "screen.")


def smoothed_dstar(p_data: np.ndarray, p_g: np.ndarray, real_label: float = 1.0,
                   fake_label: float = 0.0) -> np.ndarray:
    """((1-α) p_data + β p_g) / (p_data + p_g), 0.5·(targets) where both vanish."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    tot = p_data + p_g
    num = real_label * p_data + fake_label * p_g
    return np.where(tot > 1e-300, num / np.maximum(tot, 1e-300), 0.5 * (real_label + fake_label))


def weighted_gap(d: np.ndarray, dstar: np.ndarray, p_data: np.ndarray, p_g: np.ndarray) -> float:
    w = np.asarray(p_data, dtype=np.float64) + np.asarray(p_g, dtype=np.float64)
    return float((np.abs(d - dstar) * w).sum() / max(float(w.sum()), 1e-300))


class DStarView(QWidget):
    """Two heatmaps (or two curves in 1-D) on one 0..1 scale, the gap, and its history."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insight_dstar")
        self.gap_value: float | None = None
        self._labels = (1.0, 0.0)
        self._loss_name = ""
        self._rect_key: tuple | None = None
        self.history = RowBuffer(("step", "gap"), capacity=4000)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(12)
        self.gap_label = QLabel("gap —")
        self.gap_label.setObjectName("dstar_gap")
        self.gap_label.setStyleSheet("font-size: 15pt; font-weight: 700; color: #f3f4f6;")
        self.gap_label.setToolTip("Mean |D(x) − D*(x)| over the grid, weighted by "
                                  "p_data + p_g: 0 when D is optimal for the current G")
        top.addWidget(self.gap_label)
        self.gap_caption = caption(CELL_CAPTION)
        self.gap_caption.setToolTip(self.gap_label.toolTip())
        top.addWidget(self.gap_caption, 1)
        layout.addLayout(top)
        self.note = caption("", color=NOTE_COLOR)
        self.note.setObjectName("dstar_note")
        self.note.hide()
        layout.addWidget(self.note)

        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self._build_maps()
        self._build_curves()
        self._build_explanation()

        self.gap_plot = make_plot("Gap over training", x_label="step", y_label="gap",
                                  name="dstar_gap_plot")
        self.gap_plot.setFixedHeight(150)
        self.gap_plot.setToolTip("The gap between D and D* at each frame while this tab was "
                                 "shown")
        self.gap_curve = add_curve(self.gap_plot.getPlotItem(), DSTAR_COLOR)
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(MUTED, width=1,
                                                                 style=Qt.PenStyle.DotLine))
        self.cursor.hide()  # the step of a scrubbed frame
        self.gap_plot.getPlotItem().addItem(self.cursor, ignoreBounds=True)
        layout.addWidget(self.gap_plot)

    # ------------------------------------------------------------------ building
    def _build_maps(self) -> None:
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setBackground(theme.PLOT_BACKGROUND)
        self.maps.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.maps.setToolTip("Left: the discriminator being trained. Right: the optimal "
                             "discriminator for the current generator. Same colours: "
                             "0 (fake, violet) … 0.5 (dark) … 1 (real, green)")
        cmap = theme.heatmap_colormap()
        self.d_plot = self.maps.addPlot(row=0, col=0)
        self.dstar_plot = self.maps.addPlot(row=0, col=1)
        self.d_image = pg.ImageItem(axisOrder="col-major")
        self.dstar_image = pg.ImageItem(axisOrder="col-major")
        for plot, image, title in ((self.d_plot, self.d_image, "Learned D(x)"),
                                   (self.dstar_plot, self.dstar_image, "Optimal D*(x)")):
            plot.setMinimumWidth(120)
            style_plot_item(plot, title, grid=False, series=False)
            plot.setAspectLocked(True)
            plot.addItem(image)
            image.setColorMap(cmap)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, interactive=False,
                                        width=12)
        self.colorbar.setImageItem([self.d_image, self.dstar_image])
        style_axis(self.colorbar.getAxis("right"))
        self.colorbar.getAxis("right").setLabel("D(x)")
        self.maps.addItem(self.colorbar, row=0, col=2)
        grid = self.maps.ci.layout
        for col, stretch in ((0, 10), (1, 10), (2, 0)):
            grid.setColumnStretchFactor(col, stretch)
        for col in (0, 1):
            grid.setColumnPreferredWidth(col, 300)
        self.stack.addWidget(self.maps)

    def _build_curves(self) -> None:
        self.curves_plot = make_plot("D(x) and D*(x) over x", x_label="x", y_label="D",
                                     name="dstar_curves")
        self.curves_plot.setToolTip("1-D data: the learned D and the optimal D* as curves")
        item = self.curves_plot.getPlotItem()
        item.setYRange(0, 1.02)
        item.enableAutoRange(y=False)
        add_legend(item, columns=2)
        self.d_curve = add_curve(item, "#60a5fa", "D(x)", Qt.PenStyle.DashLine)
        self.dstar_curve = add_curve(item, DSTAR_COLOR, "D*(x)")
        self.stack.addWidget(self.curves_plot)

    def _build_explanation(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addStretch(1)
        self.explanation = QLabel(BCE_NOTE)
        self.explanation.setObjectName("dstar_explanation")
        self.explanation.setWordWrap(True)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explanation.setStyleSheet(f"color: {MUTED}; font-size: 11pt;")
        self.explanation.setMaximumWidth(560)
        v.addLayout(centred(self.explanation))
        v.addStretch(1)
        self.stack.addWidget(page)

    # ------------------------------------------------------------------ config
    def set_config(self, config: dict[str, Any]) -> None:
        loss = config.get("loss", {})
        self._labels = (float(loss.get("real_label", 1.0)), float(loss.get("fake_label", 0.0)))

    @property
    def smoothing(self) -> bool:
        return self._labels != (1.0, 0.0)

    def clear(self) -> None:
        self.history.clear()
        self.gap_curve.setData([], [])

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, live: bool = True) -> None:
        """Draw a frame; ``live=False`` for a recorded one (the timeline's scrubbing): its
        step is marked on the gap plot, and it never adds to the gap's history."""
        self.cursor.setValue(float(snap.step))
        self.cursor.setVisible(not live)
        if not snap.heatmap_is_probability:
            self._show_not_bce(snap.loss_name)
            return
        dstar, gap = snap.dstar, snap.dstar_gap
        if dstar is None or snap.heatmap is None:
            self.gap_value = None
            self.gap_label.setText("gap …" if live else "gap —")
            if not live:  # nothing of this frame's D* to draw: say so, show nothing stale
                self.note.setText(NOT_RECORDED)
                self.note.show()
                for image in (self.d_image, self.dstar_image):
                    image.clear()
                for curve in (self.d_curve, self.dstar_curve):
                    curve.setData([], [])
            return
        notes = []
        if self.smoothing and snap.p_data is not None and snap.p_g is not None:
            dstar = smoothed_dstar(snap.p_data, snap.p_g, *self._labels)
            gap = weighted_gap(snap.heatmap, dstar, snap.p_data, snap.p_g)
            r, f = self._labels
            notes.append(f"Label smoothing is on: D* = ({r:g}·p_data + {f:g}·p_g) / "
                         f"(p_data + p_g), so D never needs to exceed {max(r, f):g}.")
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))
        if snap.dim == 1:
            self.stack.setCurrentIndex(1)
            x = np.linspace(snap.box[0], snap.box[1], len(snap.heatmap))
            self.d_curve.setData(x, np.asarray(snap.heatmap, dtype=np.float64))
            self.dstar_curve.setData(x, np.asarray(dstar, dtype=np.float64))
            self.curves_plot.getPlotItem().setXRange(snap.box[0], snap.box[1], padding=0)
        else:
            self.stack.setCurrentIndex(0)
            self.d_image.setImage(snap.heatmap, autoLevels=False, levels=(0, 1))
            self.dstar_image.setImage(dstar, autoLevels=False, levels=(0, 1))
            # the grid covers ``heat_box`` (the plane's visible region) when the window
            # asked for one; the plots show the data's box
            box = tuple(float(v) for v in snap.box)
            heat = tuple(float(v) for v in (snap.heat_box or snap.box))
            key = (box, heat, snap.heatmap.shape)
            if key != self._rect_key:
                self._rect_key = key
                rect = heat_rect(heat, snap.heatmap.shape)
                self.d_image.setRect(rect)
                self.dstar_image.setRect(rect)
                for plot in (self.d_plot, self.dstar_plot):
                    plot.setRange(xRange=(box[0], box[1]), yRange=(box[2], box[3]),
                                  padding=0.02)
        if gap is not None and np.isfinite(gap):
            self.gap_value = float(gap)
            self.gap_label.setText(f"gap {gap:.3f}")
            last = self.history.last("step") if len(self.history) else None
            if live and (last is None or snap.step > last):
                self.history.extend(np.array([[snap.step, gap]]))
                self.gap_curve.setData(*self.history.xy("gap"))

    def _show_not_bce(self, loss_name: str) -> None:
        if loss_name != self._loss_name or self.stack.currentIndex() != 2:
            self._loss_name = loss_name
            title = LOSS_INFO[loss_name].title if loss_name in LOSS_INFO else loss_name
            if not trains_d(loss_name):
                self.explanation.setText(
                    f"{BCE_NOTE}.<br><br>The active loss, <b>{title}</b>, trains no "
                    "discriminator at all: G is fitted by matching kernel moments of its "
                    "samples to the data's, so there is no D to set beside D*.")
            else:
                self.explanation.setText(
                    f"{BCE_NOTE}.<br><br>The active loss, <b>{title}</b>, trains D as a "
                    "critic whose raw score has no optimal-discriminator formula "
                    "p_data / (p_data + p_g).")
            self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.stack.setCurrentIndex(2)
        self.note.hide()
        self.gap_value = None
        self.gap_label.setText("gap —")

"""The 1-D picture of the original GAN paper (Goodfellow et al. 2014, figure 1).

Above: p_data (black, dotted), p_g (green), the learned D(x) (blue, dashed) and the optimal
D*(x) as curves over x. Below: two horizontal axes, z (lower) and x (upper), with a line
from each of a subset of the fixed noise values z to its image G(z): where the lines bunch,
G concentrates probability mass. Drawn in the paper's colours, on a light background.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.snapshot import Snapshot

from .geometry import EMPTY, mapping_segments, spread_indices, z_to_axis
from .style import MUTED, add_legend, caption, style_plot_item

PAPER_BG = "#ffffff"
PAPER_AXIS = "#374151"
P_DATA_COLOR = "#000000"
P_G_COLOR = "#16a34a"
D_COLOR = "#2563eb"
DSTAR_COLOR = "#c2410c"
MAP_COLOR = "#6b7280"

X_LEVEL = -0.22   # the x axis of the mapping, in plot units below the curves
Z_LEVEL = -0.68   # the z axis
DENSITY_PEAK = 0.9  # p_data's peak drawn at this height (p_g on the same scale)
DEFAULT_LINES = 40
ONE_D_CHANGES = {"data.name": "mixture1d", "noise.dim": 1}


def signed(v: float) -> str:
    """A tick label with a true minus sign (U+2212), as the axes write it."""
    text = f"{v:.2g}"
    return text.replace("-", "\u2212") if v < 0 else text


def centred(label: QLabel) -> QHBoxLayout:
    """``label`` (word-wrapped) centred in a row: it gets the row's width up to its maximum,
    and with it the height its wrapped text needs (an alignment flag would give it only its
    size hint's width, and cut the last lines off)."""
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(label, 100)
    row.addStretch(1)
    return row


class OneDView(QWidget):
    """Curves over x and z -> G(z) lines; a note (and a switch button) for 2-D data."""

    switch_requested = Signal(dict)   # config changes that make the data 1-D

    def __init__(self, parent: QWidget | None = None, *, controls: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("insight_one_d")
        self._z_key: tuple | None = None
        self._subset = np.empty(0, dtype=int)
        self._z_range = (-1.0, 1.0)
        self._scale: float | None = None
        self._box: tuple[float, ...] | None = None
        self._last: Snapshot | None = None
        self.curves_drawn = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)

        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        self.lines_spin = QSpinBox()
        self.lines_spin.setRange(5, 256)
        self.lines_spin.setValue(DEFAULT_LINES)
        self.lines_spin.setSuffix(" lines")
        self.lines_spin.setToolTip("How many of the fixed noise values get a z → G(z) line "
                                   "(evenly spread in rank)")
        self.lines_spin.valueChanged.connect(self._on_lines_changed)
        if controls:
            row = QHBoxLayout()
            row.setSpacing(8)
            label = QLabel("z → G(z):")
            label.setToolTip(self.lines_spin.toolTip())
            row.addWidget(label)
            row.addWidget(self.lines_spin)
            row.addStretch(1)
            v.addLayout(row)
        self.plot = pg.PlotWidget(background=PAPER_BG)
        self.plot.setObjectName("one_d_plot")
        self.plot.setToolTip("p_data: black dotted · p_g: green · D(x): blue dashed · D*(x): "
                             "orange · below, lines from z (lower axis) to G(z) (upper axis)")
        v.addWidget(self.plot, 1)
        self.caption = caption("Densities are drawn to scale with each other (p_data's peak "
                               "at 0.9); D and D* on the 0…1 axis. Noise with more than one "
                               "dimension: lines use its first coordinate.")
        v.addWidget(self.caption)
        self.stack.addWidget(page)
        self._build_plot()

        other = QWidget()
        o = QVBoxLayout(other)
        o.addStretch(1)
        self.message = QLabel("The 1-D view needs 1-D data: choose the data set "
                              "<b>1-D Gaussian mixture</b> (mixture1d) with noise dimension 1 "
                              "for the picture of the original GAN paper.")
        self.message.setObjectName("one_d_message")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {MUTED}; font-size: 11pt;")
        self.message.setMaximumWidth(560)
        o.addLayout(centred(self.message))
        self.switch_button = QPushButton("Switch to 1-D data")
        self.switch_button.setObjectName("one_d_switch")
        self.switch_button.setToolTip("Apply data.name = mixture1d and noise.dim = 1 to this "
                                      "session (G and D continue)")
        self.switch_button.clicked.connect(lambda: self.switch_requested.emit(dict(ONE_D_CHANGES)))
        self.switch_button.setVisible(controls)
        o.addWidget(self.switch_button, 0, Qt.AlignmentFlag.AlignHCenter)
        o.addStretch(1)
        self.stack.addWidget(other)

    def _build_plot(self) -> None:
        item = self.item = self.plot.getPlotItem()
        style_plot_item(item, "1-D: densities, discriminator and the mapping z → G(z)",
                        x_label="x", grid=False, color=PAPER_AXIS, title_color="#111827",
                        series=False)
        item.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")], []])
        item.setMouseEnabled(x=True, y=False)
        legend = add_legend(item, offset=(-8, 4), columns=4, text_color="#111827",
                            brush=(255, 255, 255, 230))
        legend.setPen(pg.mkPen("#d1d5db"))
        self.p_data = self._curve(P_DATA_COLOR, Qt.PenStyle.DotLine, "p_data", legend, 1.5)
        self.p_g = self._curve(P_G_COLOR, Qt.PenStyle.SolidLine, "p_g", legend)
        self.d_curve = self._curve(D_COLOR, Qt.PenStyle.DashLine, "D(x)", legend)
        self.dstar = self._curve(DSTAR_COLOR, Qt.PenStyle.SolidLine, "D*(x)", legend)
        self.maps = pg.PlotDataItem([], [], pen=pg.mkPen(MAP_COLOR, width=1), connect="pairs")
        self.maps.setOpacity(0.8)
        item.addItem(self.maps)
        self.x_axis_line = pg.PlotDataItem([], [], pen=pg.mkPen("#111827", width=1))
        self.z_axis_line = pg.PlotDataItem([], [], pen=pg.mkPen("#111827", width=1))
        item.addItem(self.x_axis_line)
        item.addItem(self.z_axis_line)
        self.gz_dots = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(P_G_COLOR))
        self.z_dots = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush("#111827"))
        item.addItem(self.gz_dots)
        item.addItem(self.z_dots)
        self.x_text = pg.TextItem("x", color="#111827", anchor=(1.2, 0.5))
        self.z_text = pg.TextItem("z", color="#111827", anchor=(1.2, 0.5))
        # the end labels hang inward from the ends of the z axis: centred on them, half of
        # each fell outside the plot, and the left one lost its minus sign
        self.z_ticks = [pg.TextItem("", color=PAPER_AXIS, anchor=(ax, 0.0))
                        for ax in (0.0, 0.5, 1.0)]
        for t in (self.x_text, self.z_text, *self.z_ticks):
            item.addItem(t, ignoreBounds=True)
        item.setYRange(Z_LEVEL - 0.14, 1.06, padding=0)

    def _curve(self, color: str, style: Qt.PenStyle, name: str, legend: pg.LegendItem,
               width: float = 1.0) -> pg.PlotDataItem:
        curve = pg.PlotDataItem([], [], pen=pg.mkPen(color, width=width, style=style))
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        self.item.addItem(curve)
        legend.addItem(curve, name)
        return curve

    # ------------------------------------------------------------------ requests
    @staticmethod
    def extras(config: dict[str, Any] | None = None) -> dict[str, Any]:
        """D, D* and a fine grid (1-D curves are cheap), unless minibatch discrimination
        makes D's cost grow with the grid."""
        out: dict[str, Any] = {"heatmap": True, "dstar": True}
        mb = (config or {}).get("discriminator", {}).get("minibatch")
        if mb != "discrimination":
            out["grid"] = 160
        return out

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, live: bool = True) -> None:
        """Draw a frame (live or recorded: whatever it lacks is left empty, not stale)."""
        self._last = snap
        if snap.dim != 1:
            self.stack.setCurrentIndex(1)
            self.curves_drawn = False
            return
        self.stack.setCurrentIndex(0)
        box = (float(snap.box[0]), float(snap.box[1]))
        if box != self._box:
            self._box = box
            self._scale = None
            self.item.setXRange(*box, padding=0.02)
            for y, line in ((X_LEVEL, self.x_axis_line), (Z_LEVEL, self.z_axis_line)):
                line.setData(list(box), [y, y])
            self.x_text.setPos(box[0], X_LEVEL)
            self.z_text.setPos(box[0], Z_LEVEL)
        n = len(snap.heatmap) if snap.heatmap is not None else (
            len(snap.p_data) if snap.p_data is not None else 0)
        x = np.linspace(box[0], box[1], n) if n else np.empty(0)
        if snap.p_data is not None:
            p_data = np.asarray(snap.p_data, dtype=np.float64).reshape(-1)
            if self._scale is None:
                peak = float(np.nanmax(p_data)) if p_data.size else 0.0
                self._scale = DENSITY_PEAK / peak if peak > 0 else 1.0
            self.p_data.setData(x, p_data * self._scale)
        else:
            self.p_data.setData([], [])
        if snap.p_g is not None:
            p_g = np.asarray(snap.p_g, dtype=np.float64).reshape(-1)
            self.p_g.setData(x, np.minimum(p_g * (self._scale or 1.0), 1.05))
        else:
            self.p_g.setData([], [])
        if snap.heatmap is not None and snap.heatmap_is_probability:
            self.d_curve.setData(x, np.asarray(snap.heatmap, dtype=np.float64).reshape(-1))
        else:
            self.d_curve.setData([], [])
        if snap.dstar is not None:
            self.dstar.setData(x, np.asarray(snap.dstar, dtype=np.float64).reshape(-1))
        else:
            self.dstar.setData([], [])
        self._draw_mapping(snap, box)
        self.curves_drawn = snap.p_data is not None and snap.heatmap is not None

    def _draw_mapping(self, snap: Snapshot, box: tuple[float, float]) -> None:
        if snap.view_z is None or not len(snap.fake):
            for item in (self.maps, self.gz_dots, self.z_dots):
                item.setData(*EMPTY)
            return
        z = np.asarray(snap.view_z, dtype=np.float64)[:, 0]
        gz = np.asarray(snap.fake, dtype=np.float64)[:, 0]
        key = (len(z), float(z[0]), float(z[-1]), self.lines_spin.value(), box)
        if key != self._z_key:
            self._z_key = key
            self._subset = spread_indices(z, self.lines_spin.value())
            lim = float(np.abs(z[np.isfinite(z)]).max()) if np.isfinite(z).any() else 1.0
            lim = max(lim, 1e-6)
            self._z_range = (-lim, lim)
            for t, v in zip(self.z_ticks, (-lim, 0.0, lim)):
                t.setText(signed(v))
                t.setPos(float(z_to_axis(np.array([v]), self._z_range, box)[0]), Z_LEVEL - 0.02)
        sub = self._subset
        xs, ys = mapping_segments(z[sub], gz[sub], self._z_range, box, Z_LEVEL, X_LEVEL)
        self.maps.setData(xs, ys)
        self.gz_dots.setData(gz[sub], np.full(len(sub), X_LEVEL))
        self.z_dots.setData(z_to_axis(z[sub], self._z_range, box), np.full(len(sub), Z_LEVEL))

    def _on_lines_changed(self) -> None:
        if self._last is not None and self._last.dim == 1 and self._box is not None:
            self._draw_mapping(self._last, self._box)

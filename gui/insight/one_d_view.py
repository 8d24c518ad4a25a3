"""The 1-D picture of the original GAN paper (Goodfellow et al. 2014, figure 1).

Above: p_data (black, dotted), p_g (green), the learned D(x) (blue, dashed) and the optimal
D*(x) as curves over x. Below: two horizontal axes, z (lower) and x (upper), with a line
from each of a subset of the fixed noise values z to its image G(z): where the lines bunch,
G concentrates probability mass. Drawn in the paper's colours, on a light background.

Beside them, the inverse-transform picture (seeds 001, 004; ``engine.transport_map``): a
small plot of G(z) against z over the sorted fixed noise, with the ideal increasing map
T(z) = F_data⁻¹(F_z(z)) and its mirror T(−z) dashed and the mean gap |G − T| ("ideal map"
check box), and on the main plot the density G defines by the change of variables,
p_z(z) / |G′(z)| at x = G(z), drawn beside the cell estimate of p_g, or a note where G is
not monotone (the formula needs a one-to-one G). Only for mixture1d with noise dimension 1,
and only while the frame's box is the configured data's (a frame of the old data after a
data change gets no overlay computed from the new one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.dataspecs import DATA_SPECS
from engine.snapshot import Snapshot
from engine.transport_map import density_from_map, ideal_map, line_centers, map_gap

from .geometry import EMPTY, mapping_segments, spread_indices, z_to_axis
from .style import MUTED, add_legend, caption, style_plot_item

PAPER_BG = "#ffffff"
PAPER_AXIS = "#374151"
P_DATA_COLOR = "#000000"
P_G_COLOR = "#16a34a"
D_COLOR = "#2563eb"
DSTAR_COLOR = "#c2410c"
MAP_COLOR = "#6b7280"
COV_COLOR = "#7c3aed"     # p_g by the change of variables
IDEAL_COLOR = "#000000"   # T(z), dashed; its mirror T(-z) in grey
MIRROR_COLOR = "#9ca3af"
NOTE_INK = "#b45309"

X_LEVEL = -0.22   # the x axis of the mapping, in plot units below the curves
Z_LEVEL = -0.68   # the z axis
DENSITY_PEAK = 0.9  # p_data's peak drawn at this height (p_g on the same scale)
DEFAULT_LINES = 40
ONE_D_CHANGES = {"data.name": "mixture1d", "noise.dim": 1}
MAP_NODES = 128   # rank-spread noise values for G' and the gap (finite differences of float32
#                   outputs between neighbouring samples of 512 would be mostly rounding)
NOT_MONOTONE = "G not monotone: p_z/|G′| not drawn"   # the formula needs a one-to-one G


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
        self._config: dict[str, Any] | None = None
        self._ideal_key: tuple | None = None
        self._ideal: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self.curves_drawn = False
        self.gap_value: float | None = None   # the drawn gap (None: no overlay)
        self.map_shown = False                # the inverse-transform overlay is drawn

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
        self.ideal_box = QCheckBox("ideal map")
        self.ideal_box.setObjectName("one_d_ideal")
        self.ideal_box.setChecked(True)
        self.ideal_box.setToolTip(
            "Draw the ideal map T(z) = F_data⁻¹(F_z(z)) (dashed; its mirror T(−z) grey): the "
            "one increasing function that turns the noise into exactly the data, which a G "
            "that learned the data must approach (or its mirror). The number is the mean "
            "|G(z) − T(z)| over z ~ p_z, in units of x, against the nearer of the two")
        self.ideal_box.toggled.connect(self._on_ideal_toggled)
        if controls:
            row = QHBoxLayout()
            row.setSpacing(8)
            label = QLabel("z → G(z):")
            label.setToolTip(self.lines_spin.toolTip())
            row.addWidget(label)
            row.addWidget(self.lines_spin)
            row.addSpacing(12)
            row.addWidget(self.ideal_box)
            row.addStretch(1)
            v.addLayout(row)
        self.plot = pg.PlotWidget(background=PAPER_BG)
        self.plot.setObjectName("one_d_plot")
        self.plot.setProperty("gp_paper", True)   # the paper's colours in every theme
        self.plot.setToolTip("p_data: black dotted · p_g: green · D(x): blue dashed · D*(x): "
                             "orange · below, lines from z (lower axis) to G(z) (upper axis)")
        v.addWidget(self.plot, 3)
        self.map_plot = pg.PlotWidget(background=PAPER_BG)
        self.map_plot.setObjectName("one_d_map_plot")
        self.map_plot.setProperty("gp_paper", True)
        self.map_plot.setToolTip("G(z) (green) over the sorted fixed noise, against the ideal "
                                 "map T(z) = F_data⁻¹(F_z(z)) (black dashed) and its mirror "
                                 "T(−z) (grey dashed)")
        v.addWidget(self.map_plot, 2)
        self.map_note = QLabel("")
        self.map_note.setObjectName("one_d_map_note")
        self.map_note.setWordWrap(True)
        self.map_note.setStyleSheet(f"color: {MUTED};")
        self.map_note.setVisible(False)
        v.addWidget(self.map_note)
        self.caption = caption("Densities are drawn to scale with each other (p_data's peak "
                               "at 0.9); D and D* on the 0…1 axis. Noise with more than one "
                               "dimension: lines use its first coordinate.")
        v.addWidget(self.caption)
        self.stack.addWidget(page)
        self._build_plot()
        self._build_map_plot()

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
        style_plot_item(item, "1-D: densities, D and z → G(z)",
                        x_label="x", grid=False, color=PAPER_AXIS, title_color="#111827",
                        series=False)
        item.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")], []])
        item.setMouseEnabled(x=True, y=False)
        legend = add_legend(item, offset=(-8, 4), columns=3, text_color="#111827",
                            brush=(255, 255, 255, 230))
        legend.setPen(pg.mkPen("#d1d5db"))
        self.p_data = self._curve(P_DATA_COLOR, Qt.PenStyle.DotLine, "p_data", legend, 1.5)
        self.p_g = self._curve(P_G_COLOR, Qt.PenStyle.SolidLine, "p_g", legend)
        self.d_curve = self._curve(D_COLOR, Qt.PenStyle.DashLine, "D(x)", legend)
        self.dstar = self._curve(DSTAR_COLOR, Qt.PenStyle.SolidLine, "D*(x)", legend)
        self.p_g_cov = self._curve(COV_COLOR, Qt.PenStyle.DashDotLine, "p_z/|G′|",
                                   legend, 1.5)
        self.cov_note = pg.TextItem(NOT_MONOTONE, color=NOTE_INK, anchor=(0.0, 1.0),
                                    fill=pg.mkBrush(255, 255, 255, 230))
        self.cov_note.setVisible(False)
        item.addItem(self.cov_note, ignoreBounds=True)
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

    def _build_map_plot(self) -> None:
        item = self.map_item = self.map_plot.getPlotItem()
        style_plot_item(item, "G(z) and T = F_data⁻¹∘F_z",
                        x_label="z", y_label="x = G(z)", grid=True, color=PAPER_AXIS,
                        title_color="#111827", series=False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        legend = add_legend(item, offset=(-8, -4), columns=3, text_color="#111827",
                            brush=(255, 255, 255, 230))
        legend.setPen(pg.mkPen("#d1d5db"))
        self.t_curve = pg.PlotDataItem([], [], pen=pg.mkPen(IDEAL_COLOR, width=1.5,
                                                            style=Qt.PenStyle.DashLine))
        self.t_mirror = pg.PlotDataItem([], [], pen=pg.mkPen(MIRROR_COLOR, width=1.5,
                                                             style=Qt.PenStyle.DashLine))
        self.g_curve = pg.PlotDataItem([], [], pen=pg.mkPen(P_G_COLOR, width=2))
        for curve, name in ((self.g_curve, "G(z)"), (self.t_curve, "T(z)"),
                            (self.t_mirror, "T(−z)")):
            item.addItem(curve)
            legend.addItem(curve, name)
        # the gap is in the title: every corner of the plot holds T or its mirror
        self.gap_text = pg.TextItem("")

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

    def set_config(self, config: dict[str, Any] | None) -> None:
        """The session's config: the data's and the noise's parameters for the ideal map.
        A change redraws the overlay of the last frame (or clears it)."""
        self._config = config
        self._ideal_key = None
        if self._last is not None and self._last.dim == 1 and self._box is not None:
            self._draw_transport(self._last)

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, live: bool = True) -> None:
        """Draw a frame (live or recorded: whatever it lacks is left empty, not stale)."""
        self._last = snap
        if snap.dim != 1:
            self.stack.setCurrentIndex(1)
            self.curves_drawn = False
            self._clear_transport("")
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
        self._draw_transport(snap)
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

    # ------------------------------------------------------------------ inverse transform
    def _transport_data(self, snap: Snapshot) -> tuple[str, np.ndarray, float] | str:
        """(noise dist, centres, std) for this frame, or why there is no overlay."""
        cfg = self._config
        if cfg is None:
            return ""
        data, noise = cfg.get("data", {}), cfg.get("noise", {})
        if data.get("name") != "mixture1d":
            return "The ideal map T(z) and p_z/|G′| are drawn for the 1-D Gaussian mixture."
        if int(noise.get("dim", 0)) != 1 or snap.view_z is None \
                or np.ndim(snap.view_z) != 2 or np.shape(snap.view_z)[1] != 1:
            return ("The ideal map T(z) and p_z/|G′| need noise dimension 1 (noise.dim = 1): "
                    "with more, many z share one x and G has no single inverse.")
        try:
            box = DATA_SPECS["mixture1d"].box(data)
            centers = line_centers(int(data["modes"]), float(data["spacing"]),
                                   float(data["offset"]))
            std = float(data["std"])
        except (KeyError, TypeError, ValueError):
            return ""
        if not np.allclose(box[:2], snap.box[:2]):
            return "Waiting for a frame of the new data…"   # a frame of the old data
        return str(noise.get("dist", "gaussian")), centers, std

    def _clear_transport(self, note: str) -> None:
        for curve in (self.g_curve, self.t_curve, self.t_mirror, self.p_g_cov):
            curve.setData([], [])
        self.gap_text.setText("")
        self._set_map_title()
        self.cov_note.setVisible(False)
        self.gap_value = None
        self.map_shown = False
        self.map_plot.setVisible(False)
        self.map_note.setText(note)
        self.map_note.setVisible(bool(note))

    def _draw_transport(self, snap: Snapshot) -> None:
        found = self._transport_data(snap)
        if isinstance(found, str):
            self._clear_transport(found)
            return
        dist, centers, std = found
        z = np.asarray(snap.view_z, dtype=np.float64)[:, 0]
        g = np.asarray(snap.fake, dtype=np.float64).reshape(len(z), -1)[:, 0] \
            if len(snap.fake) == len(z) else np.empty(0)
        ok = np.isfinite(z) & np.isfinite(g)
        if dist == "uniform":
            ok &= np.abs(z) < 1.0   # T is infinite at the ends
        order = np.argsort(z[ok], kind="stable")
        z, g = z[ok][order], g[ok][order]
        keep = np.concatenate([[True], np.diff(z) > 0]) if len(z) else np.empty(0, bool)
        z, g = z[keep], g[keep]
        if len(z) < 3:
            self._clear_transport("")
            return
        self.map_note.setVisible(False)
        self.map_plot.setVisible(True)
        self.map_shown = True
        key = (dist, tuple(centers), std, len(z), z.tobytes())
        if key != self._ideal_key:
            self._ideal_key = key
            self._ideal = (ideal_map(z, dist, centers, std),
                           ideal_map(z, dist, centers, std, decreasing=True))
            lim = float(np.abs(z).max())
            self.map_item.setXRange(-lim, lim, padding=0.02)
            box = self._box or (float(snap.box[0]), float(snap.box[1]))
            self.map_item.setYRange(box[0], box[1], padding=0.02)
        self.g_curve.setData(z, g)
        # G' and the gap on rank-spread nodes: dense where p_z is, clear of rounding noise
        nodes = np.unique(np.linspace(0, len(z) - 1, min(MAP_NODES, len(z))).round()
                          .astype(int))
        zn, gn = z[nodes], g[nodes]
        gaps = [map_gap(zn, gn, dist, centers, std, orientation=o)
                for o in ("increasing", "decreasing")]
        self.gap_value = min(gaps)
        self._show_ideal(z, gaps)
        cov = density_from_map(zn, gn, dist)
        if cov.monotone:
            self.cov_note.setVisible(False)
            self.p_g_cov.setData(cov.x, np.minimum(cov.p * (self._scale or 1.0), 1.05))
        else:
            self.p_g_cov.setData([], [])
            if self._box is not None:
                self.cov_note.setPos(self._box[0], X_LEVEL)   # just above the x line
            self.cov_note.setVisible(True)

    def _show_ideal(self, z: np.ndarray, gaps: list[float]) -> None:
        if self.ideal_box.isChecked() and len(z) == len(self._ideal[0]):
            self.t_curve.setData(z, self._ideal[0])
            self.t_mirror.setData(z, self._ideal[1])
            nearer = "T(z)" if gaps[0] <= gaps[1] else "T(−z)"
            self.gap_text.setText(f"E|G − {nearer}| = {min(gaps):.3g}")
        else:
            self.t_curve.setData([], [])
            self.t_mirror.setData([], [])
            self.gap_text.setText("")
        self._set_map_title()

    def _set_map_title(self) -> None:
        gap = self.gap_text.toPlainText()
        self.map_item.setTitle("G(z) and T = F_data⁻¹∘F_z" + (f" · {gap}" if gap else ""),
                               color="#111827", size="9pt")

    def _on_ideal_toggled(self) -> None:
        if self._last is not None and self._last.dim == 1 and self._box is not None:
            self._draw_transport(self._last)

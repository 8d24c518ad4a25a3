"""The data plane: D's output as a heatmap behind the real and generated samples.

Items are built once; each frame only calls ``setImage``/``setData``. In draw mode a
click-and-drag paints real points with a round brush (``drawing.py``); the stroke is
previewed locally and handed out once, on mouse release (``points_drawn``), so the engine
sees one change per stroke, not one per mouse move.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import LOSS_INFO
from engine.dataspecs import DATA_SPECS
from engine.snapshot import Snapshot, ViewRequest

from .. import theme
from .code_clouds import CodeClouds
from .drawing import DrawViewBox, Stroke
from .points import PointCloudItem
from .styling import style_axis, style_plot

N_SAMPLES = 512  # real and generated samples per frame
MATES = 64  # fixed z shown among two sets of batch-mates (the batch-norm overlay)
GRID = 32  # D evaluated on 32x32 points ~30 times a second, drawn with bilinear smoothing


def plane_view_request(config: dict[str, Any], heatmap: bool,
                       heat_box: tuple[float, float, float, float] | None = None,
                       batch_mates: bool = False) -> ViewRequest:
    """What the engine should compute for this view under ``config``.

    Only 2-D data has a plane. With minibatch discrimination the engine scores each grid
    point as one more member of a batch of the current fakes (what D says about a point
    there): ``engine.views._d_in_context``.
    """
    ds = DATA_SPECS.get(config["data"]["name"])
    two_d = ds is None or ds.dim == 2
    grid = GRID
    return ViewRequest(n_fake=N_SAMPLES, n_real=N_SAMPLES, heatmap=heatmap and two_d, grid=grid,
                       heat_box=heat_box if two_d else None,
                       batch_mates=MATES if batch_mates and two_d else 0)



def heatmap_note(config: dict[str, Any]) -> str:
    """What the plane's heatmap shows, when it is not simply a trained D(x)."""
    if not getattr(LOSS_INFO.get(config["loss"]["name"]), "trains_d", True):
        return ("D is not trained under this loss (moment matching): the heatmap shows an "
                "untrained D and means nothing")
    mb = config["discriminator"].get("minibatch", "none")
    if mb != "none":
        return (f"D has minibatch features ({mb}): the heatmap scores each point as one more "
                "member of a batch of the current fakes")
    return ""

class PlaneView(QWidget):
    """Heatmap + samples + colour bar, with layer toggles and the drawing tools."""

    points_drawn = Signal(list)      # [[x, y], ...] of one finished stroke
    drawing_cleared = Signal()
    view_changed = Signal()          # a layer was toggled or the view moved: what the engine
                                     # computes may change

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stroke = Stroke()
        self._box: tuple[float, float, float, float] | None = None
        self._levels: tuple[float, float] | None = None
        self._is_probability: bool | None = None
        self._real_shown: np.ndarray | None = None
        self._rect_key: tuple | None = None
        self._last_snap: Snapshot | None = None
        self._layers_changed = False
        self.frames = 0
        self.mates_spread: float | None = None  # mean distance between a z's two draws

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._build_toolbar())

        self.viewbox = DrawViewBox()
        self.plot = pg.PlotWidget(viewBox=self.viewbox, background=theme.PLOT_BACKGROUND)
        self.plot.setObjectName("plane")
        # A coarse D grid (cheap for the engine: it is computed ~25 times a second) drawn
        # with bilinear filtering reads as a smooth field rather than blocks.
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        item = self.plot.getPlotItem()
        style_plot(item, "Data plane")
        item.setAspectLocked(True)
        item.hideButtons()
        self.viewbox.disableAutoRange()

        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        item.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=theme.heatmap_colormap(),
                                        interactive=False, width=14)
        self.colorbar.setImageItem(self.image, insert_in=item)
        style_axis(self.colorbar.getAxis("right"))

        self.real = PointCloudItem(theme.REAL, 4)
        self.fake = PointCloudItem(theme.FAKE, 4)
        self.drawn = PointCloudItem(theme.DRAWN, 5)
        # real samples on top: they are the fixed target the fakes should cover
        for z, cloud in enumerate((self.fake, self.real, self.drawn)):
            cloud.setZValue(z)
            item.addItem(cloud)
        legend = item.addLegend(offset=(8, 6), labelTextColor="#d8dbe0", labelTextSize="8pt",
                                brush=pg.mkBrush(23, 24, 28, 200))
        legend.addItem(self.real.legend_sample, "real")
        legend.addItem(self.fake.legend_sample, "generated")
        self.legend = legend
        # InfoGAN: fakes in one colour per code, above the reals (the colours are the point)
        self.codes = CodeClouds(item, z=2.5)
        self.mates = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(theme.DRAWN, width=1.5))
        self.mates.setZValue(5)
        self.mates.setVisible(False)
        item.addItem(self.mates)
        self.note = pg.TextItem("", color="#d8dbe0", anchor=(0.5, 0.5))
        item.addItem(self.note)

        # the heatmap covers what is on screen (fakes off the data's box too): a moved view
        # asks for a new region, once it has settled
        self._range_timer = QTimer(self)
        self._range_timer.setSingleShot(True)
        self._range_timer.setInterval(120)
        self._range_timer.timeout.connect(self._on_range_settled)
        self.viewbox.sigRangeChanged.connect(lambda *_: self._range_timer.start())
        self._heat_box: tuple[float, float, float, float] | None = None
        self.viewbox.stroke_moved.connect(self.add_stroke_point)
        self.viewbox.stroke_finished.connect(self.finish_stroke)
        # what the heatmap shows when it is not simply D(x): a wrapped line of its own (in
        # the plot's title it widened the plot past the window, the colour bar with it)
        self.heat_note = QLabel()
        self.heat_note.setObjectName("plane_note")
        self.heat_note.setWordWrap(True)
        self.heat_note.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.heat_note.setStyleSheet("font-size: 8pt;")
        self.heat_note.hide()
        layout.addWidget(self.heat_note)
        layout.addWidget(self.plot, 1)
        self.draw_tools = self._build_draw_tools()
        layout.addWidget(self.draw_tools)

    # ------------------------------------------------------------------ tools row
    def _build_draw_tools(self) -> QWidget:
        """Brush and clear: shown only in draw mode, where they mean something."""
        tools = QWidget()
        row = QHBoxLayout(tools)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        hint = QLabel("Click and drag to paint real points; each stroke is sent on release.")
        hint.setStyleSheet("color: #facc15;")
        hint.setWordWrap(True)  # never widen the window (it did, to 1,470 px at 1280x720)
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(hint, 1)
        brush_label = QLabel("Brush")
        row.addWidget(brush_label)
        self.brush = QDoubleSpinBox()
        self.brush.setObjectName("brush_size")
        self.brush.setRange(0.0, 5.0)
        self.brush.setSingleStep(0.05)
        self.brush.setDecimals(2)
        self.brush.setValue(0.15)
        self.brush.setToolTip("Brush radius in data units (0: one point per mouse move)")
        brush_label.setToolTip(self.brush.toolTip())
        row.addWidget(self.brush)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setObjectName("clear_points")
        self.clear_button.setToolTip("Forget the drawn points: the next stroke starts a new set")
        self.clear_button.clicked.connect(self.clear_drawing)
        row.addWidget(self.clear_button)
        tools.hide()
        return tools

    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.layer_boxes: dict[str, QCheckBox] = {}
        for key, text, tip in (
            ("heatmap", "D(x)", "Show D's output over the plane as a heatmap (1)"),
            ("real", "Real", "Show real samples (2)"),
            ("fake", "Generated", "Show generated samples (3)"),
            ("mates", "Batch-mates", "Draw 64 fixed z twice, each time among different "
                                     "batch-mates, and join each pair (4): long lines mean a "
                                     "fake depends on the rest of its batch (batch norm); "
                                     "reference and virtual norm draw none"),
        ):
            box = QCheckBox(text)
            box.setObjectName(f"layer_{key}")
            box.setChecked(key != "mates")
            box.setToolTip(tip)
            box.toggled.connect(self._apply_layers)
            row.addWidget(box)
            self.layer_boxes[key] = box
        row.addStretch(1)
        self.draw_button = QToolButton()
        self.draw_button.setObjectName("draw_mode")
        self.draw_button.setText("✎ Draw points")
        self.draw_button.setCheckable(True)
        # "on" must show from across a lecture hall, in either theme
        self.draw_button.setStyleSheet(
            "QToolButton:checked { background: #d97706; color: #ffffff; border-radius: 4px;"
            " padding: 2px 6px; font-weight: 600; }")
        self.draw_button.setToolTip("Draw mode (B): click and drag on the plane to paint real "
                                    "points; each stroke is sent when you release the mouse. "
                                    "Right-drag and the wheel still zoom.")
        self.draw_button.toggled.connect(self.set_draw_mode)
        row.addWidget(self.draw_button)
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Fit the view to the data box (F)")
        self.fit_button.clicked.connect(self.fit)
        row.addWidget(self.fit_button)
        return row

    # ------------------------------------------------------------------ the heatmap's region
    def heat_box(self) -> tuple[float, float, float, float] | None:
        """The region the heatmap should cover: the visible range, a little wider, snapped
        to a coarse grid so that small pans do not ask the engine for a new one."""
        return self._heat_box

    def _on_range_settled(self) -> None:
        if self._box is None:
            return
        (x0, x1), (y0, y1) = self.viewbox.viewRange()
        unit = max(self._box[1] - self._box[0], self._box[3] - self._box[2]) / 16
        if not (np.isfinite([x0, x1, y0, y1]).all() and unit > 0):
            return
        snap = (np.floor(x0 / unit) * unit, np.ceil(x1 / unit) * unit,
                np.floor(y0 / unit) * unit, np.ceil(y1 / unit) * unit)
        box = tuple(float(v) for v in snap)
        if box != self._heat_box:
            self._heat_box = box  # type: ignore[assignment]
            self.view_changed.emit()

    # ------------------------------------------------------------------ layers
    def layer_visible(self, key: str) -> bool:
        return self.layer_boxes[key].isChecked()

    def _apply_layers(self) -> None:
        self.image.setVisible(self.layer_visible("heatmap"))
        self.colorbar.setVisible(self.layer_visible("heatmap"))
        self.real.setVisible(self.layer_visible("real"))
        self.fake.setVisible(self.layer_visible("fake"))
        self.codes.set_visible(self.layer_visible("fake"))
        self.mates.setVisible(self.layer_visible("mates"))
        self._layers_changed = True  # a layer shown again needs the next frame drawn
        self.view_changed.emit()

    def toggle_layer(self, key: str) -> None:
        self.layer_boxes[key].toggle()

    # ------------------------------------------------------------------ frames
    def _same_as_shown(self, snap: Snapshot) -> bool:
        """A paused engine keeps publishing the same frame: do not redraw it."""
        last = self._last_snap
        if last is None or last.box != snap.box or last.step != snap.step:
            return False
        return (np.array_equal(last.fake, snap.fake) and np.array_equal(last.real, snap.real)
                and (last.heatmap is None) == (snap.heatmap is None)
                and (snap.heatmap is None or np.array_equal(last.heatmap, snap.heatmap)))

    def show_snapshot(self, snap: Snapshot) -> None:
        """Draw one frame (GUI thread, items built once)."""
        if self._same_as_shown(snap) and not self._layers_changed:
            return
        self._last_snap = snap
        self._layers_changed = False
        self.frames += 1
        two_d = snap.fake.ndim == 2 and snap.fake.shape[1] == 2
        self.note.setText("" if two_d else "This data set is not 2-D: no plane view")
        if not two_d:
            self._clear_layers()  # nothing of the last 2-D set may stay under the note
            return
        box = tuple(float(v) for v in snap.box)
        box_changed = box != self._box
        if box_changed:
            first = self._box is None
            self._box = box  # type: ignore[assignment]
            self._heat_box = None  # another data set: its own region, once the view settles
            self.note.setPos((box[0] + box[1]) / 2, (box[2] + box[3]) / 2)
            if first or not self.viewbox.draw_mode:
                self.fit()
        if snap.heatmap is not None and self.layer_visible("heatmap"):
            self._show_heatmap(snap.heatmap, snap.heatmap_is_probability)
            hb = tuple(float(v) for v in (snap.heat_box or box))
            rect_key = (hb, snap.heatmap.shape)
            if rect_key != self._rect_key:
                # after setImage: setRect scales by the image's size in pixels
                self._rect_key = rect_key
                self.image.setRect(QRectF(hb[0], hb[2], hb[1] - hb[0], hb[3] - hb[2]))
        if self.layer_visible("real") and (self._real_shown is None
                                           or not np.array_equal(self._real_shown, snap.real)):
            self.real.setData(snap.real)
            self._real_shown = snap.real
        if self.layer_visible("fake"):
            self._show_fakes(snap)
        pairs = snap.batch_mates
        if self.layer_visible("mates") and pairs is not None and pairs.shape[-1] == 2:
            xy = pairs.reshape(-1, 2)  # a0, b0, a1, b1, ...: joined in pairs
            ok = np.isfinite(xy).all(1)
            self.mates.setData(xy[:, 0], xy[:, 1], connect=ok.astype(np.int32))
            self.mates_spread = float(np.linalg.norm(pairs[:, 0] - pairs[:, 1], axis=1).mean())

    def _show_fakes(self, snap: Snapshot) -> None:
        """One colour, or (InfoGAN) one colour per code value with the legend saying so."""
        coded = snap.codes_fake is not None and snap.codes > 0
        if coded:
            self.codes.zoom = self.fake.zoom
            self.codes.show(snap.fake, snap.codes_fake, snap.codes)
            self.fake.setData(np.empty((0, 2)))
        else:
            self.codes.clear()
            self.fake.setData(snap.fake)
        label = f"generated (colour: code, {snap.codes} values)" if coded else "generated"
        if any(sample.item is self.fake.legend_sample and text.text != label
               for sample, text in self.legend.items):
            # built again, not relabelled: the legend's box keeps the width of its longest
            # text ever (the codes' label stayed wide after the codes were turned off)
            self.legend.clear()
            self.legend.addItem(self.real.legend_sample, "real")
            self.legend.addItem(self.fake.legend_sample, label)

    def _clear_layers(self) -> None:
        """Empty the heatmap and every point layer (the data is no longer 2-D)."""
        empty = np.empty((0, 2))
        for cloud in (self.real, self.fake):
            cloud.setData(empty)
        self.codes.clear()
        self.mates.setData([], [])
        self.image.clear()
        self._real_shown = None
        self._rect_key = None
        self._box = None  # 2-D data again: fit its box afresh

    def _show_heatmap(self, heat: np.ndarray, is_probability: bool) -> None:
        if is_probability:
            levels = (0.0, 1.0)
        else:  # raw scores: symmetric around 0, so 0 stays the neutral middle colour
            finite = heat[np.isfinite(heat)]
            m = float(np.abs(finite).max()) if finite.size else 1.0
            m = m if m > 0 else 1.0
            old = self._levels[1] if self._levels and not self._is_probability else None
            if old is not None and 0.9 * old <= m <= old:  # avoid flicker on tiny changes
                m = old
            levels = (-m, m)
        self.image.setImage(heat, autoLevels=False, levels=levels)
        if levels != self._levels:
            self._levels = levels
            self.colorbar.setLevels(levels)
        if is_probability != self._is_probability:
            self._is_probability = is_probability
            self.colorbar.getAxis("right").setLabel("D(x)" if is_probability else "D score")

    def set_title_note(self, note: str) -> None:
        """A line under the plane's title saying what the heatmap shows, when it is not
        simply D(x) (e.g. with minibatch features)."""
        self.heat_note.setText(note)
        self.heat_note.setVisible(bool(note))
        self.plot.setToolTip(note)

    def fit(self) -> None:
        if self._box is not None:
            b = self._box
            self.viewbox.setRange(xRange=(b[0], b[1]), yRange=(b[2], b[3]), padding=0.02)

    def reset_points_cache(self) -> None:
        """Forget what was drawn (everything is redrawn on the next frame)."""
        self._real_shown = None
        self._last_snap = None

    # ------------------------------------------------------------------ drawing
    def set_draw_mode(self, on: bool) -> None:
        self.viewbox.draw_mode = on
        self.draw_button.setText("✎ Drawing" if on else "✎ Draw points")
        with_cursor = Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor
        self.plot.viewport().setCursor(with_cursor)
        self.draw_tools.setVisible(on)
        if self.draw_button.isChecked() != on:
            self.draw_button.setChecked(on)

    def add_stroke_point(self, x: float, y: float) -> None:
        """Paint around (x, y) with the brush (a local preview until the stroke ends)."""
        self._stroke.add(x, y, self.brush.value())
        self.drawn.setData(self._stroke.as_array())

    def finish_stroke(self) -> None:
        points = self._stroke.take()
        self.drawn.setData(np.empty((0, 2)))
        if points:
            self.points_drawn.emit(points)

    def clear_drawing(self) -> None:
        self._stroke.take()
        self.drawn.setData(np.empty((0, 2)))
        self.drawing_cleared.emit()

"""A data-plane canvas of its own for the insight views (not ``gui/views/plane.py``).

Layers, all built once and updated with ``setData``/``setImage``: D's output as a heatmap,
real and generated samples, G's push on each fake as arrows, D's gradient field as arrows
over a coarse grid, and the generator manifold as a mesh. The timeline replays recorded
frames on the same canvas.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.snapshot import Snapshot

from .. import theme
from .geometry import EMPTY, arrow_segments, mesh_polylines
from .style import (
    ARROW_COLOR,
    FIELD_COLOR,
    MESH_COLOR,
    add_legend,
    style_axis,
    style_plot_item,
)

ARROW_FRACTION = 0.07   # longest (95th percentile) push arrow: this share of the box width
FIELD_FRACTION = 0.5    # field arrows: this share of the grid spacing


def heat_rect(box: tuple[float, ...], shape: tuple[int, ...]) -> QRectF:
    """Where an image of D on ``linspace`` points over ``box`` goes: each pixel centred on
    its grid point (the cell around it, as the engine's D* cells), not squeezed into the
    box."""
    nx, ny = (max(int(n), 1) for n in shape[:2])
    hx = (box[1] - box[0]) / max(nx - 1, 1)
    hy = (box[3] - box[2]) / max(ny - 1, 1)
    return QRectF(box[0] - hx / 2, box[2] - hy / 2, box[1] - box[0] + hx, box[3] - box[2] + hy)


def heat_levels(heat: np.ndarray, is_probability: bool) -> tuple[float, float]:
    if is_probability:
        return (0.0, 1.0)
    finite = heat[np.isfinite(heat)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


class PlaneCanvas(QWidget):
    """Heatmap, samples, arrows, field and mesh on one aspect-locked plot."""

    def __init__(self, title: str = "Data plane", parent: QWidget | None = None,
                 colorbar: bool = True) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(background=theme.PLOT_BACKGROUND)
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        layout.addWidget(self.plot)
        item = self.item = self.plot.getPlotItem()
        style_plot_item(item, title, grid=False, series=False)
        item.setAspectLocked(True)
        self.viewbox = item.getViewBox()
        self.viewbox.disableAutoRange()

        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        item.addItem(self.image)
        self.colorbar = None
        if colorbar:
            self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=theme.heatmap_colormap(),
                                            interactive=False, width=12)
            self.colorbar.setImageItem(self.image, insert_in=item)
            style_axis(self.colorbar.getAxis("right"))
        else:
            self.image.setColorMap(theme.heatmap_colormap())
        self._levels: tuple[float, float] | None = None
        self._prob: bool | None = None

        self.mesh = pg.PlotDataItem([], [], pen=pg.mkPen(MESH_COLOR, width=1), connect="finite")
        self.mesh.setOpacity(0.55)
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(theme.REAL))
        self.real.setOpacity(0.55)
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(theme.FAKE))
        self.field = pg.PlotDataItem([], [], pen=pg.mkPen(FIELD_COLOR, width=1), connect="pairs")
        self.field.setOpacity(0.8)
        self.arrows = pg.PlotDataItem([], [], pen=pg.mkPen(ARROW_COLOR, width=1),
                                      connect="pairs")
        for z, layer in enumerate((self.mesh, self.real, self.field, self.fake, self.arrows)):
            layer.setZValue(z)
            item.addItem(layer)
        self.legend = add_legend(item, offset=(8, 6))
        self.legend.addItem(self.real, "real")
        self.legend.addItem(self.fake, "generated")
        self.note = pg.TextItem("", color="#d8dbe0", anchor=(0.5, 0.5))
        item.addItem(self.note, ignoreBounds=True)
        self._box: tuple[float, ...] | None = None
        self._rect_key: tuple | None = None
        self._legend_keys: set[str] = set()
        self._real_shown: np.ndarray | None = None

    # ------------------------------------------------------------------ legend
    def set_legend(self, arrows: bool, field: bool, mesh: bool) -> None:
        want = {k for k, on in (("arrows", arrows), ("field", field), ("mesh", mesh)) if on}
        if want == self._legend_keys:
            return
        for key, layer, text in (("arrows", self.arrows, "G's push −∂L_G/∂x"),
                                 ("field", self.field, "D's gradient ∇D(x)"),
                                 ("mesh", self.mesh, "G over a noise grid")):
            if key in self._legend_keys:
                self.legend.removeItem(layer)
            if key in want:
                self.legend.addItem(layer, text)
        self._legend_keys = want

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, *, heatmap: bool = True, samples: bool = True,
                      arrows: bool = True, n_arrows: int | None = None,
                      arrow_mode: str = "relative", field: bool = True,
                      mesh: bool = True) -> None:
        two_d = snap.dim == 2 and snap.fake.ndim == 2 and snap.fake.shape[1] == 2
        if not two_d:
            self.clear_layers()
            self.note.setText("1-D data: see the 1-D tab")
            self._set_box((-1.0, 1.0, -1.0, 1.0))
            self.note.setPos(0, 0)
            return
        self.note.setText("")
        box = tuple(float(v) for v in snap.box)
        self._set_box(box)
        width = box[1] - box[0]

        if heatmap and snap.heatmap is not None and snap.heatmap.ndim == 2:
            # the region the heatmap covers: the window may have asked for its visible one
            heat_box = tuple(float(v) for v in (snap.heat_box or snap.box))
            self._show_heatmap(snap.heatmap, snap.heatmap_is_probability, heat_box)
            self.image.show()
        else:
            self.image.hide()
        if self.colorbar is not None:
            self.colorbar.setVisible(self.image.isVisible())

        if samples:
            # the real batch is fixed: set it only when it changes (data set swaps)
            if self._real_shown is None or not np.array_equal(self._real_shown, snap.real):
                self.real.setData(pos=_finite(snap.real))
                self._real_shown = snap.real
            self.fake.setData(pos=_finite(snap.fake))
        else:
            self.real.setData(pos=np.empty((0, 2)))
            self.fake.setData(pos=np.empty((0, 2)))
            self._real_shown = None

        shown_arrows = arrows and snap.arrows is not None and snap.arrows.shape[-1] == 2
        if shown_arrows:
            n = len(snap.fake) if n_arrows is None else min(n_arrows, len(snap.fake))
            self.arrows.setData(*arrow_segments(snap.fake[:n], snap.arrows[:n],
                                                ARROW_FRACTION * width, arrow_mode))
        else:
            self.arrows.setData(*EMPTY)

        shown_field = field and snap.d_field is not None
        if shown_field:
            k = snap.d_field.shape[0]
            xs = np.linspace(box[0], box[1], k)
            ys = np.linspace(box[2], box[3], snap.d_field.shape[1])
            gx, gy = np.meshgrid(xs, ys, indexing="ij")
            origins = np.stack([gx.ravel(), gy.ravel()], 1)
            spacing = width / max(k - 1, 1)
            self.field.setData(*arrow_segments(origins, snap.d_field.reshape(-1, 2),
                                               FIELD_FRACTION * spacing, arrow_mode))
        else:
            self.field.setData(*EMPTY)

        shown_mesh = mesh and snap.manifold is not None and snap.manifold.shape[-1] >= 2
        self.mesh.setData(*(mesh_polylines(snap.manifold) if shown_mesh else EMPTY))
        self.set_legend(shown_arrows, shown_field, shown_mesh)

    def clear_layers(self) -> None:
        self.image.hide()
        if self.colorbar is not None:
            self.colorbar.hide()
        for layer in (self.real, self.fake):
            layer.setData(pos=np.empty((0, 2)))
        self._real_shown = None
        for layer in (self.arrows, self.field, self.mesh):
            layer.setData(*EMPTY)
        self.set_legend(False, False, False)

    def _show_heatmap(self, heat: np.ndarray, is_probability: bool,
                      box: tuple[float, ...]) -> None:
        levels = heat_levels(heat, is_probability)
        if not is_probability and self._levels and self._prob is False:
            old = self._levels[1]
            if 0.9 * old <= levels[1] <= old:  # no flicker on tiny changes
                levels = self._levels
        self.image.setImage(heat, autoLevels=False, levels=levels)
        if levels != self._levels:
            self._levels = levels
            if self.colorbar is not None:
                self.colorbar.setLevels(levels)
        if is_probability != self._prob:
            self._prob = is_probability
            if self.colorbar is not None:
                self.colorbar.getAxis("right").setLabel("D(x)" if is_probability else "D score")
        key = (box, heat.shape)
        if key != self._rect_key:
            self._rect_key = key
            self.image.setRect(heat_rect(box, heat.shape))

    def _set_box(self, box: tuple[float, ...]) -> None:
        if box != self._box:
            self._box = box
            self.fit()

    def fit(self) -> None:
        if self._box is not None:
            b = self._box
            self.viewbox.setRange(xRange=(b[0], b[1]), yRange=(b[2], b[3]), padding=0.03)


def _finite(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts[np.isfinite(pts).all(1)]

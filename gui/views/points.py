"""A fast item for many same-looking dots (the samples on the data plane).

pyqtgraph's ``ScatterPlotItem`` supports per-point symbols, sizes and hover; for 512 plain
dots redrawn 30 times a second that generality costs ~0.8 ms of Python per ``setData``
(~3% of a core, while holding the GIL the training thread needs). This item keeps the
coordinates as one array and paints them as fragments of one pre-rendered round dot with
a single ``drawPixmapFragments`` call (the same fast path ``ScatterPlotItem`` uses to
paint), at a fixed pixel size whatever the zoom. Where pyqtgraph's fragment-array helper
is missing it falls back to ``drawPoints`` with a square pen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

try:  # pyqtgraph's C-array wrapper for QPainter.PixmapFragment (internal, hence guarded)
    from pyqtgraph.Qt.internals import PrimitiveArray
except ImportError:  # pragma: no cover - other pyqtgraph versions
    PrimitiveArray = None

COORD_LIMIT = 2.0**30  # Qt misbehaves with wilder device coordinates (a diverging G)


def round_dot(color: str, size: float) -> QPixmap:
    side = int(np.ceil(size)) + 2
    pix = QPixmap(side, side)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    p.drawEllipse(QPointF(side / 2, side / 2), size / 2, size / 2)
    p.end()
    return pix


class PointCloudItem(pg.GraphicsObject):
    def __init__(self, color: str, size: float = 4.0) -> None:
        super().__init__()
        self._pos = np.empty((0, 2))
        self._bounds = QRectF()
        self._color, self._size = color, size
        self.zoom = 1.0
        self._dot = round_dot(color, size)
        self._frags = (PrimitiveArray(QPainter.PixmapFragment, 10)
                       if PrimitiveArray is not None else None)
        self._pen = QPen(QColor(color))
        self._pen.setWidthF(size)
        self._pen.setCosmetic(True)
        self._pen.setCapStyle(Qt.PenCapStyle.SquareCap)
        # a stand-in the legend can draw its sample from (it reads ScatterPlotItem opts)
        self.legend_sample = pg.ScatterPlotItem(size=size, pen=None, brush=pg.mkBrush(color))

    def set_zoom(self, zoom: float) -> None:
        """Dots ``zoom`` times their base size (``gui.appearance``)."""
        self.zoom = zoom
        self._dot = round_dot(self._color, self._size * zoom)
        self._pen.setWidthF(self._size * zoom)
        self.update()

    @property
    def count(self) -> int:
        return len(self._pos)

    def setData(self, pos: np.ndarray) -> None:  # noqa: N802 (pyqtgraph naming)
        pos = np.asarray(pos, dtype=np.float64).reshape(-1, 2)
        finite = pos[np.isfinite(pos).all(1)]
        self.prepareGeometryChange()
        self._pos = finite
        if len(finite):
            lo, hi = finite.min(0), finite.max(0)
            pad = 0.02 * max(float((hi - lo).max()), 1e-6)  # room for the dots' radius
            self._bounds = QRectF(lo[0] - pad, lo[1] - pad,
                                  hi[0] - lo[0] + 2 * pad, hi[1] - lo[1] + 2 * pad)
        else:
            self._bounds = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: Any = None) -> tuple:  # noqa: N802, N803
        r = self._bounds
        if r.isNull():
            return None, None
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    def paint(self, p: QPainter, *args: Any) -> None:
        n = len(self._pos)
        if not n:
            return
        if self._frags is None:
            p.setPen(self._pen)
            p.drawPoints([QPointF(x, y) for x, y in self._pos])
            return
        xy = fn.transformCoordinates(p.transform(), self._pos.T)
        xy = np.clip(xy, -COORD_LIMIT, COORD_LIMIT).T
        p.resetTransform()
        self._frags.resize(n)
        frags = self._frags.ndarray()
        w, h = self._dot.width(), self._dot.height()
        frags[:, 0:2] = xy                      # centre of each fragment, device pixels
        frags[:, 2:6] = (0.0, 0.0, w, h)        # source rect in the dot pixmap
        frags[:, 6:10] = (1.0, 1.0, 0.0, 1.0)   # scale x, scale y, rotation, opacity
        p.drawPixmapFragments(*self._frags.drawargs(), self._dot)

"""The look shared by every insight plot: dark axes, titles, curves built the same way.

Curves follow the project's conventions: built once, pen width 1, peak downsampling and
clip-to-view, updated with ``setData``. Axis pictures are cached (axis text is the most
expensive thing pyqtgraph paints on a software raster).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QWidget

from .. import theme
from ..views.axes import plot_axes

TITLE_COLOR = "#cfd3da"
TEXT_COLOR = "#d8dbe0"
MUTED = "#8a8f98"
NOTE_COLOR = "#facc15"
LEGEND_BRUSH = (23, 24, 28, 210)

# Run colours in the comparison (A: this session, B: the copy with one change).
RUN_COLORS = {"A": "#60a5fa", "B": "#fb923c"}

ARROW_COLOR = "#fbbf24"      # G's push on each fake
FIELD_COLOR = "#7dd3fc"      # D's gradient field
MESH_COLOR = "#e5e7eb"       # the generator manifold
DSTAR_COLOR = "#f97316"      # D* wherever it is a curve
REFERENCE_COLOR = "#9ca3af"  # reference lines (log 2)


def style_axis(axis: pg.AxisItem, color: str = theme.AXIS) -> None:
    axis.setPen(color)
    axis.setTextPen(color)
    axis.enableAutoSIPrefix(False)
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def style_plot_item(item: pg.PlotItem, title: str, *, x_label: str | None = None,
                    y_label: str | None = None, grid: bool = True,
                    color: str = theme.AXIS, title_color: str = TITLE_COLOR,
                    series: bool = True) -> None:
    """Title, axis colours and labels, grid; for plots of series over x (``series``), the
    curve conventions too: peak downsampling and clip-to-view for every item. Planes, meshes
    and arrows (x not sorted, ``connect`` pairs) must not get them: clipping assumes sorted x.
    """
    item.setTitle(title, color=title_color, size="10pt")
    for name in ("left", "bottom"):
        style_axis(item.getAxis(name), color)
    if x_label:
        item.setLabel("bottom", x_label, color=color)
    if y_label:
        item.setLabel("left", y_label, color=color)
    if grid:
        item.showGrid(x=True, y=True, alpha=0.15)
    if series:
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
    item.hideButtons()
    item.getAxis("left").setWidth(50)


def make_plot(title: str, *, x_label: str | None = None, y_label: str | None = None,
              log_y: bool = False, name: str = "") -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.PLOT_BACKGROUND, axisItems=plot_axes(log_y))
    if name:
        w.setObjectName(name)
    item = w.getPlotItem()
    style_plot_item(item, title, x_label=x_label, y_label=y_label)
    if log_y:
        item.setLogMode(y=True)
    return w


def add_legend(item: pg.PlotItem, offset: tuple[float, float] = (-8, 6),
               columns: int = 1, text_color: str = TEXT_COLOR,
               brush: tuple[int, ...] = LEGEND_BRUSH) -> pg.LegendItem:
    legend = item.addLegend(offset=offset, labelTextColor=text_color, labelTextSize="8pt",
                            brush=pg.mkBrush(*brush))
    legend.setColumnCount(columns)
    return legend


def add_curve(item: pg.PlotItem, color: str, name: str | None = None,
              style: Qt.PenStyle = Qt.PenStyle.SolidLine, width: float = 1.0,
              **kwargs: object) -> pg.PlotDataItem:
    """A curve built once: pen width 1 unless asked, peak downsampling, clip to view."""
    curve = pg.PlotDataItem([], [], pen=pg.mkPen(color, width=width, style=style), name=name,
                            **kwargs)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    item.addItem(curve)
    return curve


def finite_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(x) & np.isfinite(y)
    return (x, y) if ok.all() else (x[ok], y[ok])


def caption(text: str = "", *, color: str = MUTED, wrap: bool = True,
            parent: QWidget | None = None) -> QLabel:
    """A small explanatory line under or above a plot."""
    label = QLabel(text, parent)
    label.setWordWrap(wrap)
    label.setStyleSheet(f"color: {color};")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


def unbreakable(text: str) -> str:
    """``text`` that a word-wrapped label never breaks: no-break spaces, and a word joiner
    between characters (Unicode allows a break after '|' or '/' even before a no-break
    space). For the "name = value" parts of a readout, so a wrap falls between parts."""
    return "\u2060".join(text.replace(" ", "\u00a0"))


class ElidedLabel(QLabel):
    """One line of plain text that never asks for more width than it is given: whatever
    does not fit is elided at the right (``text()`` still returns all of it), so a status
    that grows never pushes its neighbours or the panel around."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is drawn (elided to the width)."""
        return super().text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(0, super().sizeHint().height())

    def resizeEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(width, 0)) if width > 0 else self._full
        if shown != super().text():
            super().setText(shown)

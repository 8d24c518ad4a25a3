"""Shared look (and paint cost) of every plot: dark axes, cached axis pictures, legends in
the title line.

Axis text is the most expensive thing pyqtgraph paints on a software raster (about 2 ms per
axis per repaint here); caching each axis as a device pixmap means an axis whose range did
not change is blitted, not re-rendered, when the data under it moves.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from .. import theme


def style_axis(axis: pg.AxisItem) -> None:
    axis.setPen(theme.AXIS)
    axis.setTextPen(theme.AXIS)
    axis.enableAutoSIPrefix(False)  # unitless figures: no "(x0.001)" rescaling
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def style_plot(item: pg.PlotItem, title: str) -> None:
    item.setTitle(title, color="#cfd3da", size="10pt")
    for name in ("left", "bottom"):
        style_axis(item.getAxis(name))


def legend_title(title: str, entries: Sequence[tuple[str, str]]) -> str:
    """A plot title that is its own legend: ``Losses  ━ D loss  ━ G loss``, each name in
    its curve's colour. A legend in the title row never sits on the data (a legend box
    inside the plot hides the curves it names, wherever it is put as the run grows)."""
    keys = "&nbsp;&nbsp;".join(f"<span style='color:{color}'>━&nbsp;{html.escape(name)}</span>"
                               for name, color in entries)
    return f"{html.escape(title)}&nbsp;&nbsp;&nbsp;{keys}" if title else keys

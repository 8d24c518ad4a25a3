"""InfoGAN on the plane: each fake in the colour of the code value G was given.

With ``generator.codes`` = K the engine sends the code of every view fake
(``Snapshot.codes_fake``); drawn in K colours, a trained InfoGAN shows each code settling on
its own mode of ring8, the picture the notes promise. One point cloud per code keeps the
plane's fast drawing path (one dot pixmap per cloud).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .points import PointCloudItem

# distinct on the dark and the light plot background alike (Tableau 10, less its grey)
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f")


def code_colour(i: int, k: int) -> str:
    """The colour of code value ``i`` of ``k``."""
    if k <= len(PALETTE):
        return PALETTE[i]
    return pg.intColor(i, hues=k, values=1, minValue=200, maxValue=255).name()


class CodeClouds:
    """K point clouds on a plot, one per code value, built as codes appear."""

    def __init__(self, plot: pg.PlotItem, z: float, size: float = 4.0) -> None:
        self.plot = plot
        self.z = z
        self.size = size
        self.zoom = 1.0
        self.k = 0
        self.clouds: list[PointCloudItem] = []
        self.visible = True

    def show(self, fake: np.ndarray, codes: np.ndarray, k: int) -> None:
        """Draw ``fake`` split by ``codes`` (values 0..k-1)."""
        if k != self.k:
            self._rebuild(k)
        codes = np.asarray(codes).reshape(-1)
        for i, cloud in enumerate(self.clouds):
            cloud.setData(fake[codes == i] if len(codes) == len(fake) else np.empty((0, 2)))

    def clear(self) -> None:
        for cloud in self.clouds:
            cloud.setData(np.empty((0, 2)))

    @property
    def count(self) -> int:
        return sum(c.count for c in self.clouds)

    def set_visible(self, on: bool) -> None:
        self.visible = on
        for cloud in self.clouds:
            cloud.setVisible(on)

    def set_zoom(self, zoom: float) -> None:
        self.zoom = zoom
        for cloud in self.clouds:
            cloud.set_zoom(zoom)

    def _rebuild(self, k: int) -> None:
        for cloud in self.clouds:
            self.plot.removeItem(cloud)
        self.clouds = []
        for i in range(k):
            cloud = PointCloudItem(code_colour(i, k), self.size)
            cloud.set_zoom(self.zoom)
            cloud.setZValue(self.z)
            cloud.setVisible(self.visible)
            cloud.setToolTip(f"generated with code {i}")
            self.plot.addItem(cloud)
            self.clouds.append(cloud)
        self.k = k

"""A vector field drawn as arrows of one length, shaded by speed in a few steps.

Arrow length would hide the slow arrows near an equilibrium (exactly where the story is),
so every arrow has the same length and shows only the direction; how fast the players move
there is the arrow's shade, in ``LEVELS`` steps from the slowest to the fastest arrow in view.
Each shade is one ``PlotDataItem`` of segment pairs (shaft and two barbs), so a whole field
is a handful of items however many arrows it has.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .common import set_pen, with_alpha

LEVELS = 5
HEAD = 0.32  # barb length, as a share of the arrow's length
HEAD_ANGLE = np.deg2rad(26.0)


def arrow_segments(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                   length: float) -> tuple[np.ndarray, np.ndarray]:
    """Segment end points (x, y), in pairs, for arrows of ``length`` centred on (x, y) and
    pointing along (u, v); arrows whose direction is undefined (zero or not finite) are
    left out."""
    x, y, u, v = (np.asarray(a, dtype=float).ravel() for a in (x, y, u, v))
    norm = np.hypot(u, v)
    ok = np.isfinite(norm) & (norm > 0)
    x, y, u, v, norm = x[ok], y[ok], u[ok], v[ok], norm[ok]
    dx, dy = u / norm * length, v / norm * length
    tail_x, tail_y = x - 0.5 * dx, y - 0.5 * dy
    tip_x, tip_y = x + 0.5 * dx, y + 0.5 * dy
    c, s = np.cos(HEAD_ANGLE), np.sin(HEAD_ANGLE)
    bx, by = -dx * HEAD, -dy * HEAD  # from the tip, backwards
    b1x, b1y = tip_x + c * bx - s * by, tip_y + s * bx + c * by
    b2x, b2y = tip_x + c * bx + s * by, tip_y - s * bx + c * by
    xs = np.stack([tail_x, tip_x, tip_x, b1x, tip_x, b2x], axis=1).ravel()
    ys = np.stack([tail_y, tip_y, tip_y, b1y, tip_y, b2y], axis=1).ravel()
    return xs, ys


def speed_levels(speed: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Each arrow's shade, 0 (slowest in view) to levels - 1 (fastest), on a linear scale of
    the speed relative to the fastest arrow."""
    speed = np.asarray(speed, dtype=float).ravel()
    finite = np.isfinite(speed)
    top = float(speed[finite].max()) if finite.any() else 0.0
    if top <= 0:
        return np.zeros(speed.shape, dtype=int)
    rel = np.where(finite, speed / top, 0.0)
    return np.minimum((rel * levels).astype(int), levels - 1)


class Quiver:
    """The arrows of one field on a plot, in ``LEVELS`` shades of one colour."""

    def __init__(self, plot: pg.PlotItem, colour: str, z: float = -10) -> None:
        self.items = []
        for _ in range(LEVELS):
            item = pg.PlotDataItem([], [], connect="pairs")
            item.setZValue(z)
            plot.addItem(item)
            self.items.append(item)
        self.set_colour(colour)
        self.speed_max = 0.0

    def set_colour(self, colour: str) -> None:
        for i, item in enumerate(self.items):
            alpha = int(70 + (255 - 70) * i / (LEVELS - 1))
            set_pen(item, with_alpha(colour, alpha), width=1.0 + 0.25 * i)

    def set_field(self, x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                  length: float) -> None:
        speed = np.hypot(np.asarray(u, dtype=float), np.asarray(v, dtype=float)).ravel()
        finite = np.isfinite(speed)
        self.speed_max = float(speed[finite].max()) if finite.any() else 0.0
        level = speed_levels(speed)
        flat = [np.asarray(a, dtype=float).ravel() for a in (x, y, u, v)]
        for i, item in enumerate(self.items):
            pick = level == i
            xs, ys = arrow_segments(*(a[pick] for a in flat), length=length)
            item.setData(xs, ys, connect="pairs")

"""Painting real points on the data plane: the mouse handling and the brush.

``DrawViewBox`` turns left-button clicks and drags into stroke events while draw mode is
on (right-drag and the wheel still zoom); ``Stroke`` turns the mouse path into points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

POINTS_PER_STAMP = 3
MAX_STROKE_POINTS = 2000
MIN_SPACING = 0.025  # data units between stamps when the brush is a single point


class DrawViewBox(pg.ViewBox):
    """A ViewBox that reports left-button strokes in draw mode instead of panning."""

    stroke_moved = Signal(float, float)
    stroke_finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.draw_mode = False

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph override)
        if self.draw_mode and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if ev.isStart():
                p = self.mapSceneToView(ev.buttonDownScenePos())
                self.stroke_moved.emit(p.x(), p.y())
            p = self.mapSceneToView(ev.scenePos())
            self.stroke_moved.emit(p.x(), p.y())
            if ev.isFinish():
                self.stroke_finished.emit()
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if self.draw_mode and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.stroke_moved.emit(p.x(), p.y())
            self.stroke_finished.emit()
            return
        super().mouseClickEvent(ev)


class Stroke:
    """The points of one stroke. Stamps are spaced along the mouse path (half a brush
    radius apart), so a fast mouse that sends few move events still leaves a continuous
    line; each stamp scatters a few points uniformly over the brush disc."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self.points: list[list[float]] = []
        self._last: np.ndarray | None = None

    def add(self, x: float, y: float, radius: float) -> None:
        if len(self.points) >= MAX_STROKE_POINTS:
            return
        here = np.array([x, y], dtype=float)
        if self._last is None:
            centres = here[None, :]
        else:
            spacing = max(radius * 0.5, MIN_SPACING)
            n = max(1, int(np.linalg.norm(here - self._last) / spacing))
            t = np.arange(1, n + 1)[:, None] / n
            centres = self._last + t * (here - self._last)
        self._last = here
        if radius <= 0:
            new = centres
        else:
            k = len(centres) * POINTS_PER_STAMP
            ang = self._rng.uniform(0, 2 * np.pi, k)
            rad = radius * np.sqrt(self._rng.uniform(0, 1, k))
            new = np.repeat(centres, POINTS_PER_STAMP, 0) + np.stack(
                [rad * np.cos(ang), rad * np.sin(ang)], 1)
        self.points.extend(new[: MAX_STROKE_POINTS - len(self.points)].tolist())

    def take(self) -> list[list[float]]:
        """The finished stroke's points; the stroke starts empty again."""
        points, self.points, self._last = self.points, [], None
        return points

    def as_array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=float).reshape(-1, 2)

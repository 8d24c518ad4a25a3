"""Run A's and run B's samples side by side, on the same axes (the Compare tab).

For 2-D data each side is a small data plane: the real samples (green) and that run's
generated samples (violet), both drawn over the same region (the union of the two runs' data boxes)
in two cells of one size: A's view keeps the plane's aspect ratio and B's takes A's ranges
exactly, so both have the same axes, tick for tick. (pyqtgraph's view linking aligns views
by screen position, which offsets a view beside another; hence the explicit follow. The
mouse does not move them: they are an overview, the main plane is for zooming.) For image data each side is that run's grid of
generated images. The pictures are drawn from the newest frame of each run when
``refresh`` is called (the Compare tab throttles it); ``frames[run]`` counts the frames
drawn, for tests.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from engine.snapshot import Snapshot, ViewRequest

from .. import theme
from ..appearance import appearance, set_unzoomed
from ..views.images import mosaic
from ..views.points import PointCloudItem
from .style import RUN_COLORS, style_plot_item

N_POINTS = 512       # samples per run per frame: as many as the main plane shows
MIN_HEIGHT = 140     # px: the planes never fold away in the Compare tab's splitter
AXIS_WIDTH = 30      # px for the left axis' ticks, the same on both sides
N_IMAGES = 36        # generated images per run (a 6 x 6 grid)
RUNS = ("A", "B")


def run_view_request(dim: int) -> ViewRequest:
    """What run B's engine computes for its side: samples for 1-D/2-D data (the plane),
    a grid of generated images for image data; no heatmap (it would cost B speed)."""
    if dim == 0:
        return ViewRequest(n_fake=0, n_real=0, heatmap=False, images=N_IMAGES)
    return ViewRequest(n_fake=N_POINTS, n_real=N_POINTS, heatmap=False)


class ComparePlanes(QWidget):
    """Two plots, A left and B right, sharing their axes; ``put(run, snap)`` keeps a
    run's newest frame and ``refresh()`` draws what changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare_planes")
        self.latest: dict[str, Snapshot | None] = dict.fromkeys(RUNS)
        self.frames = dict.fromkeys(RUNS, 0)     # frames drawn per run (tests read it)
        self._drawn: dict[str, Snapshot | None] = dict.fromkeys(RUNS)
        self._box: tuple[float, float, float, float] | None = None
        self._boxes: dict[str, tuple[float, float, float, float]] = {}
        self._image_shape: tuple[int, ...] | None = None
        layout = QHBoxLayout(self)  # two widgets of one stretch: cells of exactly one size
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.widgets: dict[str, pg.PlotWidget] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self.real: dict[str, PointCloudItem] = {}
        self.fake: dict[str, PointCloudItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        for run in RUNS:
            widget = pg.PlotWidget(background=theme.PLOT_BACKGROUND)
            # the width split evenly whatever the titles ask for; the height the splitter's
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
            widget.setMinimumHeight(MIN_HEIGHT)
            layout.addWidget(widget, 1)
            self.widgets[run] = widget
            item = widget.getPlotItem()
            style_plot_item(item, run, series=False, title_color=RUN_COLORS[run])
            item.setAspectLocked(run == "A")  # B takes A's ranges as they are (below)
            item.hideButtons()
            item.setMenuEnabled(False)
            item.getAxis("left").setWidth(AXIS_WIDTH)  # the two cells stay the same size
            box = item.getViewBox()
            box.disableAutoRange()
            box.setMouseEnabled(x=False, y=False)
            real, fake = PointCloudItem(theme.REAL, 3), PointCloudItem(theme.FAKE, 3)
            real.setZValue(1)  # the fixed target on top, as on the main plane
            image = pg.ImageItem(axisOrder="row-major")
            image.setVisible(False)
            for part in (fake, real, image):
                item.addItem(part)
            self.plots[run], self.real[run], self.fake[run] = item, real, fake
            self.images[run] = image
        self.plots["A"].getViewBox().sigRangeChanged.connect(self._follow_a)
        self.set_titles("this session", "")

    # ------------------------------------------------------------------ public
    def set_titles(self, a: str, b: str) -> None:
        """Each side's title: the run's letter (in its colour) and what it is."""
        for run, text in (("A", a), ("B", b)):
            title = f"{run}: {text}" if text else run
            item = self.plots[run]
            if not getattr(item.titleLabel, "_fits_width", False):
                _free_width(item.titleLabel)
            # at the zoom of the moment (a comparison started after zooming in was 10 pt)
            set_unzoomed(item.titleLabel, "size", "10pt")
            item.setTitle(title, color=RUN_COLORS[run], size=f"{10 * appearance().zoom:.1f}pt")


    def put(self, run: str, snap: Snapshot) -> None:
        """Keep ``snap`` as ``run``'s newest frame (drawn by the next ``refresh``)."""
        self.latest[run] = snap

    def clear(self) -> None:
        """Nothing of either run: empty plots, ready for another comparison."""
        self.latest = dict.fromkeys(RUNS)
        self._drawn = dict.fromkeys(RUNS)
        self._box = None
        self._boxes = {}
        self._image_shape = None
        for run in RUNS:
            self.real[run].setData(np.empty((0, 2)))
            self.fake[run].setData(np.empty((0, 2)))
            self.images[run].clear()

    def point_count(self, run: str) -> int:
        """Generated samples (or images) drawn for ``run`` now."""
        if self.images[run].isVisible():
            return 0 if self.images[run].image is None else 1
        return self.fake[run].count

    def refresh(self) -> None:
        for run in RUNS:
            snap = self.latest[run]
            if snap is None or snap is self._drawn[run]:
                continue
            self._drawn[run] = snap
            self.frames[run] += 1
            if snap.images_fake is not None:
                self._draw_images(run, snap.images_fake)
            elif snap.fake.ndim == 2 and snap.fake.shape[1] in (1, 2):
                self._draw_points(run, snap)

    # ------------------------------------------------------------------ drawing
    def _draw_points(self, run: str, snap: Snapshot) -> None:
        self._set_images_mode(False)
        fake, real = snap.fake, snap.real
        if fake.shape[1] == 1:  # 1-D data: the samples along a line, spread a little
            fake = np.column_stack([fake[:, 0], _jitter(len(fake), 0.0)])
            real = np.column_stack([real[:, 0], _jitter(len(real), 1.0)])
        self.fake[run].setData(fake)
        self.real[run].setData(real)
        box = tuple(float(v) for v in snap.box)
        if snap.fake.shape[1] == 1:  # the x range only; the spread's height for y
            box = (box[0], box[1], -0.5, 2.3)
        if len(box) != 4 or not all(map(math.isfinite, box)):
            return
        self._boxes[run] = box  # type: ignore[assignment]
        boxes = list(self._boxes.values())  # both runs' data in view (a compared data set)
        union = (min(b[0] for b in boxes), max(b[1] for b in boxes),
                 min(b[2] for b in boxes), max(b[3] for b in boxes))
        if union != self._box:
            self._box = union
            self._set_range(union[:2], union[2:], 0.02)

    def _draw_images(self, run: str, images: np.ndarray) -> None:
        self._set_images_mode(True)
        images = images[:N_IMAGES]  # A's frames may carry the window's bigger grid
        cols = max(1, int(math.ceil(math.sqrt(len(images)))))
        picture = mosaic(images, cols)
        self.images[run].setImage(picture, autoLevels=False, levels=(0.0, 1.0))
        if picture.shape != self._image_shape:
            self._image_shape = picture.shape
            self._set_range((0, picture.shape[1]), (0, picture.shape[0]), 0.01)

    def _set_range(self, x: tuple[float, float], y: tuple[float, float], padding: float
                   ) -> None:
        self.plots["A"].getViewBox().setRange(xRange=x, yRange=y, padding=padding)

    def _follow_a(self, _box: Any, ranges: Any) -> None:
        """B shows exactly A's region (A's view widened it to keep the aspect ratio)."""
        (x0, x1), (y0, y1) = ranges
        self.plots["B"].getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _set_images_mode(self, on: bool) -> None:
        for run in RUNS:
            item = self.plots[run]
            if self.images[run].isVisible() == on:
                continue
            self.images[run].setVisible(on)
            self.real[run].setVisible(not on)
            self.fake[run].setVisible(not on)
            item.getViewBox().invertY(on)
            for axis in ("left", "bottom"):
                item.showAxis(axis, not on)
            self._box = None
            self._image_shape = None


def _jitter(n: int, offset: float) -> np.ndarray:
    """Fixed vertical spread for 1-D samples (real above, generated below)."""
    rng = np.random.default_rng(0)
    return offset + 0.8 * rng.random(n)


def _free_width(label: pg.LabelItem) -> None:
    """A title that asks for no width and is elided to the width it gets: a long one (B's
    change) would otherwise widen its column, and B's plane would grow past its cell (its
    picture cut off at the right); clipped, it lost its end mid-letter with nothing to say
    so. The label's own ``updateMin`` (run by every ``setText`` and every resize) asks for
    the text's width again, so it is replaced on this label; ``setText`` keeps the whole
    title (a theme or zoom change sets the shown text again, with a new size) and shows
    what fits, the whole of it in the tooltip."""

    def update_min() -> None:
        height = label.itemRect().height()
        label.setMinimumWidth(0)
        label.setMinimumHeight(height)
        label._sizeHint = {Qt.SizeHint.MinimumSize: (0, height),
                           Qt.SizeHint.PreferredSize: (0, height),
                           Qt.SizeHint.MaximumSize: (-1, -1),
                           Qt.SizeHint.MinimumDescent: (0, 0)}
        label.updateGeometry()

    set_text = label.setText
    state = {"whole": label.text, "shown": label.text, "width": -1.0}

    def fitted(text: str, **opts: Any) -> None:
        if text != state["shown"]:  # a new title (not the one shown, set again)
            state["whole"] = text
        label.opts.update(opts)
        shown = _elided(state["whole"], label, label.rect().width())
        state["shown"] = shown
        label.setToolTip(state["whole"] if shown != state["whole"] else "")
        set_text(shown)

    def resized() -> None:
        if abs(label.rect().width() - state["width"]) >= 1:
            state["width"] = label.rect().width()
            fitted(state["shown"])

    label._fits_width = True
    label.updateMin = update_min  # type: ignore[method-assign]
    label.setText = fitted  # type: ignore[method-assign]
    label.geometryChanged.connect(resized)
    update_min()


def _elided(text: str, label: pg.LabelItem, width: float) -> str:
    """``text`` cut to ``width`` pixels at ``label``'s size, ending in an ellipsis."""
    if width <= 0:
        return text
    font = QFont(label.item.font())
    size = str(label.opts.get("size") or "")
    with contextlib.suppress(ValueError):
        font.setPointSizeF(float(size.removesuffix("pt")))
    margin = 2 * label.item.document().documentMargin()
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width - margin)

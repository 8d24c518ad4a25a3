"""The image-data view: generated and real image grids, and D's output on both.

Image data sets have no plane to draw D over, so the left-hand view shows instead what G
makes from a fixed batch of noise (the same z every frame, so a change is training, not
resampling), a fixed batch of real images beside it, and histograms of D's output on real
and generated images below: where the heatmap showed D's opinion over space, the
histograms show how well D currently separates the two.

Items are built once; a frame composes each grid into one picture in numpy (``mosaic``) and
costs one ``setImage`` per grid and one ``setData`` per histogram. The real grid changes only
when the fixed real batch does, and is not redrawn otherwise.

Images are shown row-major (``ImageItem(axisOrder="row-major")``: ``image[row, col]``) in a
view box with an inverted y axis, so row 0 of a picture is at the top of the screen.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.exports import tile_images
from engine.snapshot import Snapshot, ViewRequest

from .. import theme
from .styling import style_axis, style_plot

IMAGE_GRID = 100        # generated images in the grid when unconditional (10 x 10)
PER_CLASS = 10          # columns per class row when conditional
REAL_GRID = 100
HISTOGRAM_BATCH = 256
PROBABILITY_BINS = 40
SCORE_BINS = 40
LABEL_COLOR = "#d8dbe0"


def image_view_request(config: dict[str, Any], only_class: int = -1) -> ViewRequest:
    """What the engine computes for image data: no samples or heatmap, an image grid (a row
    of ``PER_CLASS`` per class when the session is conditional: the engine knows the class
    count; or ``IMAGE_GRID`` fakes of ``only_class``), real images and D's output for the
    histograms."""
    del config  # same signature as plane_view_request
    return ViewRequest(n_fake=0, n_real=0, heatmap=False, images=IMAGE_GRID,
                       per_class=PER_CLASS, only_class=only_class, real_images=REAL_GRID,
                       d_histogram=HISTOGRAM_BATCH)


def mosaic(images: np.ndarray, cols: int, pad: int = 1, pad_value: float = -1.0) -> np.ndarray:
    """Tile ``(n, C, H, W)`` images in [-1, 1] into one picture with values in [0, 1].

    Row-major, for ``pg.ImageItem(axisOrder="row-major")`` under an inverted y axis: the
    result is ``(H_total, W_total)`` for grey images (C == 1) and ``(H_total, W_total, 3)``
    for colour (C == 3); ``result[0, 0]`` is the top-left pixel of the first image. Images
    fill rows left to right, top to bottom, ``pad`` pixels of ``pad_value`` between them;
    an incomplete last row is filled with ``pad_value``. NaN shows as mid grey.
    """
    tiled = tile_images(images, cols, pad, pad_value)
    c = tiled.shape[-1]
    out = np.clip(np.nan_to_num((tiled + 1.0) * 0.5, nan=0.5), 0.0, 1.0)
    return out[:, :, 0] if c == 1 else out


def rows_by_class(images: np.ndarray, labels: np.ndarray, classes: int,
                  per_row: int = PER_CLASS, fill: float = -1.0) -> np.ndarray:
    """``classes * per_row`` images: row k holds the first ``per_row`` images of class k in
    their order, the rest of the row ``fill`` (a class with fewer images, or none)."""
    labels = np.asarray(labels).reshape(-1)
    out = np.full((classes * per_row, *images.shape[1:]), fill, dtype=np.float32)
    for k in range(classes):
        idx = np.flatnonzero(labels == k)[:per_row]
        out[k * per_row:k * per_row + len(idx)] = images[idx]
    return out


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    return a.shape == b.shape and np.array_equal(a, b)


class ImageGrid(QWidget):
    """A titled picture of many small images: one ImageItem, aspect locked, no mouse zoom;
    class names (conditional) label the rows on the left."""

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shape: tuple[int, ...] | None = None
        self._labels: list[str] = []
        self._rows = 0
        self.plot = pg.PlotWidget(background=theme.PLOT_BACKGROUND)
        item = self.plot.getPlotItem()
        style_plot(item, title)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.hideAxis("bottom")
        item.hideAxis("left")
        # the left axis carries the row labels (class names) when there are any: laid out
        # beside the picture, it never covers an image and widens to fit the longest name
        left = item.getAxis("left")
        style_axis(left)
        left.setPen(pg.mkPen(None))
        left.__dict__[theme.NO_AXIS_LINE] = True  # labels only, whatever the theme or zoom
        left.setStyle(tickLength=0, tickTextOffset=4, autoExpandTextSpace=True)
        self.viewbox = item.getViewBox()
        self.viewbox.setAspectLocked(True)
        self.viewbox.invertY(True)
        self.viewbox.setMouseEnabled(x=False, y=False)
        self.viewbox.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.plot.setToolTip(tooltip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    @property
    def row_labels(self) -> list[str]:
        """The row labels shown (empty when unconditional)."""
        return list(self._labels)

    def show_images(self, images: np.ndarray, cols: int,
                    row_labels: list[str] | None = None, pad: int = 1) -> None:
        """Tile and show ``(n, C, H, W)`` images in [-1, 1], ``cols`` per row; with
        ``row_labels`` each row is labelled on the left (one label per row)."""
        if images is None or len(images) == 0:
            return
        picture = mosaic(images, cols, pad=pad)
        self.image.setImage(picture, autoLevels=False, levels=(0.0, 1.0))
        if picture.shape != self._shape:
            self._shape = picture.shape
            self.viewbox.setRange(xRange=(0, picture.shape[1]), yRange=(0, picture.shape[0]),
                                  padding=0.01)
        labels = list(row_labels or [])
        rows = math.ceil(len(images) / max(1, cols))
        if labels != self._labels or rows != self._rows:
            self._labels, self._rows = labels, rows
            self._set_row_labels(labels, images.shape[2], pad)

    def _set_row_labels(self, labels: list[str], height: int, pad: int) -> None:
        item = self.plot.getPlotItem()
        if not labels:
            item.hideAxis("left")
            return
        ticks = [(i * (height + pad) + height / 2, text) for i, text in enumerate(labels)]
        item.getAxis("left").setTicks([ticks, []])
        item.showAxis("left")


class DHistogram(QWidget):
    """Histograms of D's output on a fixed batch of real images and one of generated images,
    with their means: two well separated humps mean D tells them apart easily."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._edges: np.ndarray | None = None
        self._is_probability: bool | None = None
        self.plot = pg.PlotWidget(background=theme.PLOT_BACKGROUND)
        item = self.plot.getPlotItem()
        style_plot(item, "D's output on real vs generated images")
        item.setLabel("left", "share of batch", color=theme.AXIS)
        item.setLabel("bottom", "D(x) (probability)", color=theme.AXIS)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.getAxis("left").setWidth(44)
        self.viewbox = item.getViewBox()
        self.viewbox.setMouseEnabled(x=False, y=False)
        self.viewbox.disableAutoRange()
        self.viewbox.setXRange(0.0, 1.0, padding=0.02)
        self._y_top = 0.0
        self.viewbox.setYRange(0.0, 1.0, padding=0)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.means: dict[str, pg.InfiniteLine] = {}
        legend = item.addLegend(offset=(-8, 6), labelTextColor=LABEL_COLOR,
                                labelTextSize="8pt", brush=pg.mkBrush(23, 24, 28, 200))
        legend.setColumnCount(2)  # one short row: it sits in the headroom above the bars
        for key, name, color in (("real", "real", theme.REAL), ("fake", "generated", theme.FAKE)):
            fill = pg.mkColor(color)
            fill.setAlpha(70)
            # stepMode goes with each setData: an empty step curve is refused at creation
            curve = pg.PlotCurveItem(fillLevel=0, brush=pg.mkBrush(fill),
                                     pen=pg.mkPen(color, width=1.5))
            item.addItem(curve)
            legend.addItem(curve, name)
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
            line.hide()
            item.addItem(line)
            self.curves[key], self.means[key] = curve, line
        self.plot.setToolTip(
            "How D scores a fixed batch of real images (green) and of generated ones (violet);"
            " dashed lines are the means. Apart: D tells them apart. Overlapping: D cannot"
            " (a balanced game, or a D that has stopped learning).")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def bins(self, d_real: np.ndarray, d_fake: np.ndarray, is_probability: bool) -> np.ndarray:
        """Bin edges: fixed on [0, 1] for probabilities; for raw scores the joint 1..99th
        percentiles, widened a little, kept while the data stay inside and fill half of it
        (a range that follows every frame would make the plot jitter)."""
        if is_probability:
            return np.linspace(0.0, 1.0, PROBABILITY_BINS + 1)
        both = np.concatenate([d_real, d_fake])
        lo, hi = (float(v) for v in np.percentile(both, [1, 99]))
        span = hi - lo
        if span <= 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        else:
            lo, hi = lo - 0.05 * span, hi + 0.05 * span
        old = self._edges
        if (old is not None and self._is_probability is False
                and old[0] <= lo and hi <= old[-1] and hi - lo >= 0.5 * (old[-1] - old[0])):
            return old
        return np.linspace(lo, hi, SCORE_BINS + 1)

    def show_outputs(self, d_real: np.ndarray | None, d_fake: np.ndarray | None,
                     is_probability: bool) -> None:
        """Draw both histograms; missing or empty input leaves the plot as it is."""
        if d_real is None or d_fake is None:
            return
        d_real = np.asarray(d_real, dtype=np.float64).reshape(-1)
        d_fake = np.asarray(d_fake, dtype=np.float64).reshape(-1)
        d_real, d_fake = d_real[np.isfinite(d_real)], d_fake[np.isfinite(d_fake)]
        if not len(d_real) or not len(d_fake):
            return
        edges = self.bins(d_real, d_fake, is_probability)
        peak = 0.0
        for key, values in (("real", d_real), ("fake", d_fake)):
            counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
            share = counts / len(values)
            peak = max(peak, float(share.max()))
            self.curves[key].setData(edges, share, stepMode="center")
            self.means[key].setValue(float(values.mean()))
            self.means[key].show()
        # y range by hand, with headroom for the legend, changed only when the bars reach
        # into the headroom or shrink well below it (a still axis is a cached picture)
        if peak > 0.8 * self._y_top or peak < 0.35 * self._y_top:
            self._y_top = peak * 1.4 if peak > 0 else 1.0
            self.viewbox.setYRange(-0.04 * self._y_top, self._y_top, padding=0)
        if is_probability != self._is_probability:
            self.plot.getPlotItem().setLabel(
                "bottom", "D(x) (probability)" if is_probability else "D(x) (score)",
                color=theme.AXIS)
        if self._edges is None or not np.array_equal(edges, self._edges):
            self.viewbox.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
        self._edges, self._is_probability = edges, is_probability


class ImageView(QWidget):
    """The left-hand view for image data: generated grid (top left), real grid (top right),
    D's output histograms (below, full width), under a one-line caption. For a conditional
    G the "Show" picker asks for one class only (``class_chosen``: -1 is every class)."""

    class_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames = 0
        self._last: Snapshot | None = None
        self._real_shown: tuple[np.ndarray | None, np.ndarray | None] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.caption = QLabel("")
        self.caption.setObjectName("image_caption")
        self.caption.setStyleSheet(f"color: {theme.AXIS};")
        self.caption.setContentsMargins(4, 2, 0, 0)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 4, 0)
        top.addWidget(self.caption, 1)
        # a button with a menu that opens below it: the click that opens it never picks a
        # class (a combo box opened with the current item under the cursor, so it could)
        self.class_picker = QToolButton()
        self.class_picker.setObjectName("image_class_picker")
        self.class_picker.setToolTip("Conditional G: every class (a row each), or a grid of one "
                                     "class only: ask G for a 7 and watch the sevens (the real "
                                     "grid shows the same class)")
        self.class_picker.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.class_menu = QMenu(self.class_picker)
        self.class_picker.setMenu(self.class_menu)
        self._class_actions = QActionGroup(self)
        self._class_actions.setExclusive(True)
        self._class_actions.triggered.connect(lambda a: self.choose_class(int(a.data())))
        self._chosen = -1
        top.addWidget(self.class_picker)
        self._picker_names: tuple[str, ...] | None = None
        self._show_picker(())
        layout.addLayout(top)

        self.fake_grid = ImageGrid(
            "Generated",
            "What G makes from a fixed batch of noise: the same z every frame, so what changes"
            " is G itself. Conditional: one row per class, labelled on the left.")
        self.fake_grid.setObjectName("image_fake_grid")
        self.real_grid = ImageGrid(
            "Real",
            "A fixed batch of training images, for comparison with the generated ones."
            " Conditional: one row per class, as in the generated grid.")
        self.real_grid.setObjectName("image_real_grid")
        self.histogram = DHistogram()
        self.histogram.setObjectName("d_histogram")

        grids = QSplitter(Qt.Orientation.Horizontal)
        grids.setChildrenCollapsible(False)
        grids.addWidget(self.fake_grid)
        grids.addWidget(self.real_grid)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("image_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(grids)
        self.splitter.addWidget(self.histogram)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)

    def _show_picker(self, names: tuple[str, ...]) -> None:
        """The class picker lists the classes of a conditional G; hidden otherwise."""
        if names != self._picker_names:
            self.class_menu.clear()
            for action in self._class_actions.actions():
                self._class_actions.removeAction(action)
            titles = [(-1, "every class (a row each)"), *enumerate(names)]
            if not any(k == self._chosen for k, _ in titles):
                self._chosen = -1
            for k, title in titles:
                action = self.class_menu.addAction(title)
                action.setData(k)
                action.setCheckable(True)
                action.setChecked(k == self._chosen)
                self._class_actions.addAction(action)
            self._picker_names = names
            self._label_picker()
        self.class_picker.setVisible(bool(names))

    def _label_picker(self) -> None:
        names = self._picker_names or ()
        k = self._chosen
        self.class_picker.setText(f"Show: {names[k] if 0 <= k < len(names) else 'every class'}")

    def choose_class(self, k: int) -> None:
        """Show class ``k`` only (-1: every class), as picking it in the menu does."""
        for action in self._class_actions.actions():
            action.setChecked(int(action.data()) == k)
        if k == self._chosen:
            return
        self._chosen = k
        self._label_picker()
        self.class_chosen.emit(k)

    @property
    def chosen_class(self) -> int:
        return self._chosen

    @staticmethod
    def _classes(snap: Snapshot, labels: np.ndarray | None) -> int:
        if labels is None or not len(labels):
            return 0
        return max(len(snap.class_names), int(np.max(labels)) + 1)

    @staticmethod
    def _names(snap: Snapshot, classes: int) -> list[str]:
        names = list(snap.class_names)
        return [names[k] if k < len(names) else str(k) for k in range(classes)]

    def _layout(self, snap: Snapshot, images: np.ndarray, labels: np.ndarray | None
                ) -> tuple[np.ndarray, int, list[str] | None]:
        """Images, columns and row labels for one grid: rows by class when labelled."""
        classes = self._classes(snap, labels)
        if classes and len(np.unique(labels)) > 1:
            return (rows_by_class(images, labels, classes, PER_CLASS), PER_CLASS,
                    self._names(snap, classes))
        return images, max(1, math.ceil(math.sqrt(len(images)))), None

    def _same_as_shown(self, snap: Snapshot) -> bool:
        """A paused engine keeps publishing the same frame: do not redraw it."""
        last = self._last
        return (last is not None and last.step == snap.step
                and _same(last.images_fake, snap.images_fake)
                and _same(last.d_real, snap.d_real) and _same(last.d_fake, snap.d_fake))

    def show_snapshot(self, snap: Snapshot) -> None:
        """Draw one frame (GUI thread); a snapshot without images is ignored."""
        if snap.images_fake is None or len(snap.images_fake) == 0 or self._same_as_shown(snap):
            return
        self._last = snap
        self.frames += 1
        # rows by class only for a conditional G (labelled fakes); the real batch of an
        # unconditional run may carry labels too, but is then shown as a plain grid
        conditional = snap.labels_fake is not None
        self._show_picker(tuple(snap.class_names) if conditional else ())
        one = conditional and len(np.unique(snap.labels_fake)) == 1 and len(snap.labels_fake) > 1
        names = self._names(snap, self._classes(snap, snap.labels_fake)) if conditional else []
        self.caption.setText(f"step {snap.step:,} · fixed noise" + (
            f" · class {names[int(snap.labels_fake[0])]} only" if one
            else " · one row per class" if conditional else ""))
        self.fake_grid.show_images(*self._layout(snap, snap.images_fake, snap.labels_fake))
        labels_real = snap.labels_real if conditional else None
        real = (snap.images_real, labels_real)
        if one and labels_real is not None and snap.images_real is not None:
            # one class asked of G: the real grid shows the same class (a plain grid)
            keep = np.asarray(labels_real).reshape(-1) == int(snap.labels_fake[0])
            real = (snap.images_real[keep], None)
        shown = self._real_shown
        if real[0] is not None and len(real[0]) and (
                shown is None or not (_same(shown[0], real[0]) and _same(shown[1], real[1]))):
            self.real_grid.show_images(*self._layout(snap, real[0], real[1]))
            self._real_shown = real
        self.histogram.show_outputs(snap.d_real, snap.d_fake, snap.heatmap_is_probability)

    def reset_cache(self) -> None:
        """Forget what was drawn (everything is redrawn on the next frame)."""
        self._last = None
        self._real_shown = None

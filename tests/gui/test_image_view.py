"""The image-data view: mosaics, grids, D histograms, and frames from synthetic snapshots
(plain numpy Snapshots: no engine, no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.snapshot import Snapshot
from gui.views.images import (
    HISTOGRAM_BATCH,
    IMAGE_GRID,
    PER_CLASS,
    REAL_GRID,
    DHistogram,
    ImageGrid,
    ImageView,
    image_view_request,
    mosaic,
    rows_by_class,
)

NAMES = tuple(f"class {k}" for k in range(10))


def snapshot(step: int = 1, conditional: bool = False, colour: bool = False,
             probability: bool = True, seed: int = 0, **changes: Any) -> Snapshot:
    rng = np.random.default_rng(seed)
    c = 3 if colour else 1
    n_fake = 10 * PER_CLASS if conditional else IMAGE_GRID
    fields: dict[str, Any] = dict(
        step=step, fake=np.empty((0, 2)), real=np.empty((0, 2)), heatmap=None,
        box=(0.0, 1.0, 0.0, 1.0), heatmap_is_probability=probability, loss_name="bce", dim=0,
        images_fake=rng.uniform(-1, 1, (n_fake, c, 8, 8)).astype(np.float32),
        images_real=np.random.default_rng(99).uniform(-1, 1, (REAL_GRID, c, 8, 8)),
        labels_fake=np.repeat(np.arange(10), PER_CLASS) if conditional else None,
        labels_real=np.repeat(np.arange(10), REAL_GRID // 10) if conditional else None,
        class_names=NAMES if conditional else (),
        d_real=rng.beta(5, 2, HISTOGRAM_BATCH) if probability else rng.normal(3, 1, 256),
        d_fake=rng.beta(2, 5, HISTOGRAM_BATCH) if probability else rng.normal(-2, 1, 256),
    )
    fields.update(changes)
    return Snapshot(**fields)


def distinct_colours(widget: Any, step: int = 5) -> int:
    image = widget.grab().toImage()
    assert not image.isNull() and image.width() > 50 and image.height() > 50
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


# ---------------------------------------------------------------------- requests
def test_image_view_request_asks_for_grids_and_histograms_not_points():
    req = image_view_request({"conditional": False})
    assert (req.images, req.real_images, req.d_histogram) == (IMAGE_GRID, REAL_GRID,
                                                             HISTOGRAM_BATCH)
    assert (req.n_fake, req.n_real, req.heatmap) == (0, 0, False)
    assert req.per_class == PER_CLASS  # the engine makes a row per class when conditional


# ---------------------------------------------------------------------- mosaic
def test_mosaic_grey_shape_order_and_values():
    images = np.full((4, 1, 3, 2), -1.0)
    for k in range(4):
        images[k, 0, 0, 0] = k / 3 * 2 - 1  # image k's top-left pixel: k / 3 once mapped
    images[0, 0, 2, 1] = 1.0                # image 0's bottom-right pixel: 1
    out = mosaic(images, cols=2, pad=1)
    assert out.shape == (2 * 3 + 1, 2 * 2 + 1)  # (rows, cols): row-major, 2 x 2 tiles
    assert out.min() >= 0.0 and out.max() <= 1.0
    # left to right, then top to bottom; row 0 at the top
    assert out[0, 0] == pytest.approx(0.0)       # image 0
    assert out[0, 3] == pytest.approx(1 / 3)     # image 1: right of 0
    assert out[4, 0] == pytest.approx(2 / 3)     # image 2: below 0
    assert out[4, 3] == pytest.approx(1.0)       # image 3
    assert out[2, 1] == pytest.approx(1.0)       # bottom-right of image 0: not mirrored
    assert np.all(out[3, :] == 0.0) and np.all(out[:, 2] == 0.0)  # padding (-1 -> 0)


def test_mosaic_maps_and_clips_values():
    images = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 7.0, np.nan]).reshape(1, 1, 1, 7)
    out = mosaic(images, cols=1)
    assert np.allclose(out[0], [0.0, 0.0, 0.5, 0.75, 1.0, 1.0, 0.5])


def test_mosaic_colour_keeps_channels_and_pads_the_last_row():
    images = -np.ones((5, 3, 2, 2))
    images[:, 0, 0, 0] = 1.0  # red top-left pixel
    images[:, 2, 1, 1] = 1.0  # blue bottom-right pixel
    out = mosaic(images, cols=3, pad=1, pad_value=0.0)
    assert out.shape == (2 * 2 + 1, 3 * 2 + 2, 3)
    assert np.allclose(out[0, 0], [1, 0, 0]) and np.allclose(out[1, 1], [0, 0, 1])
    assert np.allclose(out[3, 3], [1, 0, 0])  # image 4: second row, second column
    # the sixth cell is missing: filled with the pad value (0 -> 0.5)
    assert np.allclose(out[3:, 6:], 0.5)


def test_mosaic_rejects_bad_shapes():
    with pytest.raises(ValueError):
        mosaic(np.zeros((2, 2, 4, 4)), cols=2)
    with pytest.raises(ValueError):
        mosaic(np.zeros((0, 1, 4, 4)), cols=2)


def test_rows_by_class_puts_each_class_on_its_row():
    images = np.arange(7, dtype=float).reshape(7, 1, 1, 1)
    labels = np.array([2, 0, 2, 0, 0, 2, 2])
    out = rows_by_class(images, labels, classes=3, per_row=3)
    assert out[:, 0, 0, 0].tolist() == [1, 3, 4, -1, -1, -1, 0, 2, 5]


# ---------------------------------------------------------------------- on screen
def _image_rect_on_widget(grid: ImageGrid) -> tuple[int, int, int, int]:
    scene = grid.image.mapRectToScene(grid.image.boundingRect())
    rect = grid.plot.mapFromScene(scene).boundingRect()
    return rect.left(), rect.top(), rect.right(), rect.bottom()


def test_grid_draws_upright_not_mirrored(qtbot):
    grid = ImageGrid("test", "tip")
    qtbot.addWidget(grid)
    grid.resize(300, 300)
    grid.show()
    image = -np.ones((1, 3, 6, 6))
    image[0, 0, 0, 0] = 1.0    # red: top-left
    image[0, 2, 5, 5] = 1.0    # blue: bottom-right
    image[0, 1, 0, 5] = 1.0    # green: top-right (a transposed picture moves it)
    grid.show_images(image, cols=1)
    qtbot.wait(10)
    shot = grid.plot.grab().toImage()
    left, top, right, bottom = _image_rect_on_widget(grid)
    assert right - left > 60 and bottom - top > 60

    def where(test):
        pts = [(x, y) for x in range(left, right) for y in range(top, bottom)
               if 0 <= x < shot.width() and 0 <= y < shot.height() and test(shot.pixelColor(x, y))]
        assert pts
        return np.mean(pts, axis=0)

    rx, ry = where(lambda c: c.red() > 200 and c.green() < 60 and c.blue() < 60)
    bx, by = where(lambda c: c.blue() > 200 and c.red() < 60 and c.green() < 60)
    gx, gy = where(lambda c: c.green() > 200 and c.red() < 60 and c.blue() < 60)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    assert rx < cx and ry < cy, "the top-left pixel is not drawn top-left"
    assert gx > cx and gy < cy, "the top-right pixel is not drawn top-right"
    assert bx > cx and by > cy, "the bottom-right pixel is not drawn bottom-right"


def test_unconditional_snapshot_paints(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(700, 800)
    view.show()
    assert view.frames == 0
    view.show_snapshot(snapshot(step=5))
    assert view.frames == 1
    assert view.fake_grid.image.image.shape == (10 * 9 - 1, 10 * 9 - 1)
    assert view.real_grid.image.image.shape == (10 * 9 - 1, 10 * 9 - 1)
    assert view.fake_grid.row_labels == [] and view.real_grid.row_labels == []
    assert not view.fake_grid.plot.getPlotItem().getAxis("left").isVisible()
    assert view.caption.text() == "step 5 · fixed noise"
    assert distinct_colours(view) > 20
    view.show_snapshot(snapshot(step=6, seed=1))
    assert view.frames == 2
    for name in ("image_fake_grid", "image_real_grid", "d_histogram"):
        assert view.findChild(type(view.histogram) if name == "d_histogram" else ImageGrid,
                              name) is not None


def test_conditional_snapshot_labels_rows_with_class_names(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(700, 800)
    view.show()
    view.show_snapshot(snapshot(step=1234, conditional=True, colour=True))
    assert view.frames == 1
    assert view.caption.text() == "step 1,234 · fixed noise · one row per class"
    assert view.fake_grid.row_labels == list(NAMES)
    assert view.real_grid.row_labels == list(NAMES)
    assert view.fake_grid.image.image.shape == (10 * 9 - 1, PER_CLASS * 9 - 1, 3)
    axis = view.fake_grid.plot.getPlotItem().getAxis("left")
    assert axis.isVisible()
    assert [text for _, text in axis._tickLevels[0]] == list(NAMES)
    assert distinct_colours(view) > 20


def test_conditional_rows_follow_labels_and_missing_classes_stay_empty(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    real = np.full((6, 1, 4, 4), 0.0)
    real[:3] = 1.0  # class 0: white
    snap = snapshot(conditional=True, images_real=real,
                    labels_real=np.array([0, 0, 0, 1, 1, 1]))
    view.show_snapshot(snap)
    shown = view.real_grid.image.image
    assert shown.shape == (10 * 5 - 1, PER_CLASS * 5 - 1)
    cells = [slice(5 * k, 5 * k + 4) for k in range(PER_CLASS)]
    assert all(np.all(shown[:4, c] == 1.0) for c in cells[:3])    # class 0: three white
    assert all(np.all(shown[5:9, c] == 0.5) for c in cells[:3])   # class 1: three grey
    assert np.all(shown[:9, 15:] == 0.0)     # the rest of both rows is empty
    assert np.all(shown[10:, :] == 0.0)      # classes 2..9: none in the batch


def test_unconditional_real_images_with_labels_are_a_plain_grid(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.show_snapshot(snapshot(labels_real=np.repeat(np.arange(10), 10)))
    assert view.real_grid.row_labels == []


def test_real_grid_is_redrawn_only_when_the_batch_changes(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    calls = []
    original = view.real_grid.show_images
    view.real_grid.show_images = lambda *a, **k: (calls.append(1), original(*a, **k))
    first = snapshot(step=1)
    view.show_snapshot(first)
    view.show_snapshot(snapshot(step=2, seed=1, images_real=first.images_real.copy()))
    assert view.frames == 2 and len(calls) == 1
    view.show_snapshot(snapshot(step=3, seed=2, images_real=first.images_real + 0.1))
    assert view.frames == 3 and len(calls) == 2


def test_snapshot_without_images_leaves_the_view_unchanged(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.show_snapshot(snapshot(step=3))
    before = view.fake_grid.image.image.copy()
    x, _ = view.histogram.curves["real"].getData()
    view.show_snapshot(snapshot(step=4, images_fake=None, d_real=None, d_fake=None))
    view.show_snapshot(snapshot(step=5, images_fake=np.empty((0, 1, 8, 8))))
    assert view.frames == 1
    assert view.caption.text() == "step 3 · fixed noise"
    assert np.array_equal(view.fake_grid.image.image, before)
    assert np.array_equal(view.histogram.curves["real"].getData()[0], x)


def test_a_repeated_frame_is_not_redrawn(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    snap = snapshot(step=7)
    view.show_snapshot(snap)
    view.show_snapshot(snapshot(step=7))  # same content, new arrays (a paused engine)
    assert view.frames == 1


# ---------------------------------------------------------------------- histogram
def test_histogram_of_probabilities_is_binned_on_0_1(qtbot):
    hist = DHistogram()
    qtbot.addWidget(hist)
    rng = np.random.default_rng(0)
    d_real, d_fake = rng.beta(5, 2, 256), rng.beta(2, 5, 256)
    hist.show_outputs(d_real, d_fake, is_probability=True)
    x, y = hist.curves["real"].getData()
    assert x[0] == 0.0 and x[-1] == 1.0 and len(x) == len(y) + 1 == 41
    assert y.sum() == pytest.approx(1.0)
    assert hist.curves["fake"].getData()[1].sum() == pytest.approx(1.0)
    lo, hi = hist.viewbox.viewRange()[0]
    assert -0.05 < lo < 0.0 and 1.0 < hi < 1.05
    assert hist.means["real"].value() == pytest.approx(d_real.mean())
    assert hist.means["fake"].value() == pytest.approx(d_fake.mean())
    assert hist.means["real"].value() > hist.means["fake"].value()
    label = hist.plot.getPlotItem().getAxis("bottom").labelText
    assert label == "D(x) (probability)"
    ymax = hist.viewbox.viewRange()[1][1]
    assert ymax > max(y.max(), hist.curves["fake"].getData()[1].max())  # headroom
    assert distinct_colours(hist) > 10


def test_histogram_of_scores_spans_both_robustly(qtbot):
    hist = DHistogram()
    qtbot.addWidget(hist)
    rng = np.random.default_rng(1)
    d_real, d_fake = rng.normal(3, 1, 256), rng.normal(-2, 1, 256)
    d_real[0] = 1e6  # one wild score must not squash the rest into one bin
    hist.show_outputs(d_real, d_fake, is_probability=False)
    x, y = hist.curves["real"].getData()
    assert -6 < x[0] < -2 and 4 < x[-1] < 8
    assert y.sum() == pytest.approx(1.0)  # outliers land in the end bins
    lo, hi = hist.viewbox.viewRange()[0]
    assert lo <= x[0] and hi >= x[-1] and hi - lo < 20
    assert hist.plot.getPlotItem().getAxis("bottom").labelText == "D(x) (score)"
    # a slightly narrower batch keeps the bins (no jitter); a far wider one changes them
    hist.show_outputs(d_real * 0.9, d_fake * 0.9, is_probability=False)
    assert np.array_equal(hist.curves["real"].getData()[0], x)
    hist.show_outputs(d_real * 10, d_fake * 10, is_probability=False)
    assert hist.curves["real"].getData()[0][-1] > 40
    # back to probabilities: fixed bins again
    hist.show_outputs(rng.uniform(size=256), rng.uniform(size=256), is_probability=True)
    assert hist.plot.getPlotItem().getAxis("bottom").labelText == "D(x) (probability)"
    assert hist.curves["real"].getData()[0][-1] == 1.0


def test_histogram_ignores_missing_or_empty_input(qtbot):
    hist = DHistogram()
    qtbot.addWidget(hist)
    hist.show_outputs(np.array([0.2, 0.4]), np.array([0.6]), is_probability=True)
    x, y = hist.curves["real"].getData()
    hist.show_outputs(None, np.array([0.5]), is_probability=True)
    hist.show_outputs(np.array([]), np.array([0.5]), is_probability=False)
    hist.show_outputs(np.array([np.nan]), np.array([0.5]), is_probability=False)
    assert np.array_equal(hist.curves["real"].getData()[0], x)
    assert np.array_equal(hist.curves["real"].getData()[1], y)
    assert hist.plot.getPlotItem().getAxis("bottom").labelText == "D(x) (probability)"


def test_class_picker_appears_for_a_conditional_grid_and_asks_for_one_class(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.show_snapshot(snapshot(step=1))
    assert not view.class_picker.isVisibleTo(view)  # unconditional: nothing to pick
    view.show_snapshot(snapshot(step=2, conditional=True))
    assert view.class_picker.isVisibleTo(view)
    assert len(view.class_menu.actions()) == 11 and view.chosen_class == -1
    with qtbot.waitSignal(view.class_chosen) as got:
        view.class_menu.actions()[8].trigger()
    assert got.args == [7] and view.chosen_class == 7
    assert view.class_picker.text() == "Show: class 7"
    assert image_view_request({}, 7).only_class == 7
    # the engine's answer: every fake of class 7, shown as one square grid, not one row
    n = IMAGE_GRID
    snap = snapshot(step=3, conditional=True)
    one = Snapshot(**{**snap.__dict__, "images_fake": snap.images_fake[:1].repeat(n, 0),
                      "labels_fake": np.full(n, 7)})
    view.show_snapshot(one)
    assert "only" in view.caption.text() and view.chosen_class == 7
    assert view.fake_grid.row_labels == []


def test_show_one_class_filters_the_real_grid_too_and_the_opening_click_picks_nothing(qtbot):
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMenu

    view = ImageView()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(snapshot(step=1, conditional=True))
    assert view.real_grid.row_labels == [f"class {k}" for k in range(10)]
    # the click that opens the picker opens a menu below it and picks nothing
    picked: list[int] = []
    view.class_chosen.connect(picked.append)
    seen: dict[str, object] = {}

    def look_and_close() -> None:
        menu = QApplication.activePopupWidget()
        seen["menu"] = isinstance(menu, QMenu)
        seen["below"] = menu is not None and menu.geometry().top() >= \
            view.class_picker.mapToGlobal(view.class_picker.rect().bottomLeft()).y() - 1
        if menu is not None:
            menu.close()

    QTimer.singleShot(200, look_and_close)
    qtbot.mouseClick(view.class_picker, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "menu" in seen)
    assert seen == {"menu": True, "below": True} and picked == [] and view.chosen_class == -1
    view.class_menu.actions()[8].trigger()  # "7"
    assert picked == [7]
    # the engine's answer: a grid of sevens; the real grid shows the real sevens
    snap = snapshot(step=2, conditional=True)
    n = IMAGE_GRID
    one = Snapshot(**{**snap.__dict__, "images_fake": snap.images_fake[:1].repeat(n, 0),
                      "labels_fake": np.full(n, 7)})
    view.show_snapshot(one)
    sevens = snap.images_real[snap.labels_real == 7]
    assert len(sevens) == REAL_GRID // 10
    expected = mosaic(sevens, int(np.ceil(np.sqrt(len(sevens)))))
    assert np.array_equal(view.real_grid.image.image, expected)
    assert view.real_grid.row_labels == []  # one class: a plain grid, no rows to name
    # every class again: rows by class on both grids
    view.choose_class(-1)
    view.show_snapshot(snapshot(step=3, conditional=True))
    assert view.real_grid.row_labels == [f"class {k}" for k in range(10)]


@pytest.mark.parametrize("theme_name", ["light", "dark"])
def test_row_labels_keep_no_axis_line_through_a_theme_and_zoom_change(qtbot, theme_name):
    """The class names beside the grid are labels only: a theme or zoom change (which
    restyles every axis) must not draw the axis line down the side of the picture."""
    from PySide6.QtCore import Qt

    from gui.appearance import appearance
    from gui.views.images import ImageGrid

    grid = ImageGrid("Generated", "")
    qtbot.addWidget(grid)
    grid.show()
    look = appearance()
    old_theme, old_zoom = look.theme, look.zoom
    try:
        look.set_theme(theme_name)
        look.set_zoom(1.25)
        look.apply(grid)
        axis = grid.plot.getPlotItem().getAxis("left")
        assert axis.pen().style() == Qt.PenStyle.NoPen
        assert axis.textPen().style() != Qt.PenStyle.NoPen
    finally:
        look.set_theme(old_theme)
        look.set_zoom(old_zoom)

"""Tick labels on the app's plots never touch, however small the plot and whatever the
range: Compare's and the Divergences tab's plots at 1280x720 are about 130 px wide and
70 px tall, where pyqtgraph's own spacing ran ``2000 4000 6000`` into one another."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtGui import QImage, QPainter

from gui.insight.style import style_plot_item
from gui.views.axes import plot_axes

MIN_GAP_PX = {"bottom": 5.0, "left": 2.5}  # between two labels' boxes: side by side, stacked
# (pyqtgraph's own spacing left 3.8, 2.9 and -3.8 px between x labels at 130 px)


@pytest.fixture(scope="module")
def plot(qapp):
    """One plot, resized per example (building one per example would dominate the time)."""
    w = pg.GraphicsLayoutWidget()
    item = w.addPlot(axisItems=plot_axes(log_y=False))
    style_plot_item(item, "D loss", x_label="steps since the start", y_label="loss")
    w.show()
    yield w, item
    w.close()


def _labels(qapp, widget, item, side, size, lo, hi, log=False):
    """The labels the axis draws (text boxes along the axis, and the texts), after a layout
    at ``size`` px of widget width (x) or height (y)."""
    if side == "bottom":
        widget.resize(size, 220)
        item.setXRange(lo, hi)  # pyqtgraph's padding, as an auto-range has
    else:
        widget.resize(320, size)
        item.setYRange(lo, hi)
    qapp.processEvents()
    qapp.processEvents()
    axis = item.getAxis(side)
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    along = (lambda r: (r.left(), r.right())) if side == "bottom" else (lambda r: (r.top(), r.bottom()))
    boxes = sorted((*along(rect), text) for rect, _, text in texts if text)
    length = axis.geometry().width() if side == "bottom" else axis.geometry().height()
    return boxes, length


def _gaps(boxes):
    return [b[0] - a[1] for a, b in zip(boxes, boxes[1:])]


@given(size=st.integers(170, 900), lo=st.floats(-1e5, 1e5),
       span=st.floats(1e-3, 1e6), side=st.sampled_from(["bottom", "left"]))
def test_linear_tick_labels_keep_a_gap_at_any_size_and_range(qapp, plot, size, lo, span, side):
    widget, item = plot
    boxes, length = _labels(qapp, widget, item, side, size, lo, lo + span)
    assert all(g >= MIN_GAP_PX[side] for g in _gaps(boxes)), (length, boxes)
    if side == "bottom":  # roomy, not empty (a y label wider than the fixed 50 px y axis,
        assert boxes, (length, lo, span)  # 1000.025, is hidden by pyqtgraph, as before)


@pytest.mark.parametrize("hi", [900, 1800, 9000, 150000])
def test_a_130_px_axis_shows_two_labels_a_gap_apart(qapp, plot, hi):
    """The Compare plot at 1280x720: pyqtgraph drew 0 2000 4000 6000 8000 overlapping."""
    widget, item = plot
    for size in range(190, 230, 5):  # find the widget width that gives a ~130 px axis
        boxes, length = _labels(qapp, widget, item, "bottom", size, 0, hi)
        if 125 <= length <= 140:
            break
    assert 125 <= length <= 140
    assert len(boxes) >= 2, boxes
    assert min(_gaps(boxes)) >= MIN_GAP_PX["bottom"], boxes


@pytest.fixture(scope="module")
def log_plot(qapp):
    w = pg.GraphicsLayoutWidget()
    item = w.addPlot(axisItems=plot_axes(log_y=True))
    style_plot_item(item, "G gradient norm", y_label="norm (log)")
    item.setLogMode(y=True)
    w.show()
    yield w, item
    w.close()


@given(size=st.integers(110, 500), lo=st.floats(-8, 3), span=st.floats(0.05, 10))
def test_log_tick_labels_keep_a_gap_and_are_never_drawn_twice(qapp, log_plot, size, lo, span):
    widget, item = log_plot
    boxes, length = _labels(qapp, widget, item, "left", size, lo, lo + span)
    assert all(g >= MIN_GAP_PX["left"] for g in _gaps(boxes)), (length, boxes)
    texts = [t for *_, t in boxes]
    assert len(texts) == len(set(texts)), texts


def test_a_tall_log_axis_still_labels_each_decade(qapp, log_plot):
    widget, item = log_plot
    boxes, _ = _labels(qapp, widget, item, "left", 500, -3.0, 1.0)
    texts = [t for *_, t in boxes]
    for decade in ("10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹"):
        assert decade in texts, texts
    assert len(texts) == len(set(texts))


def test_a_short_axis_whose_ticks_are_closer_than_a_label_still_labels_every_other(qapp, plot):
    """Compare's JS plot under Xvfb: 51 px for 0..0.846, ticks every 0.2 (12 px) under
    labels 14 px tall. Every other tick has room; it showed no number at all."""
    widget, item = plot
    for size in range(110, 140, 2):  # find the widget height that gives a ~51 px axis
        boxes, length = _labels(qapp, widget, item, "left", size, 0.0, 0.846)
        if 48 <= length <= 56:
            break
    assert 48 <= length <= 56
    assert boxes, length
    assert all(g >= MIN_GAP_PX["left"] for g in _gaps(boxes)), boxes

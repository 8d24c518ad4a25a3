"""The divergences lab: what it draws is what ``engine.divlab`` computes, and dragging never
queues more work than the throttle's timer allows."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication, QGroupBox

from engine.divlab import DIVERGENCES, Mixture2, default_axes, fit, landscape
from gui.labs.common import Throttle
from gui.labs.divergence_lab import gaussian

MIX = Mixture2(-2.0, 2.0, 0.6, 0.8, 0.6)  # the labs here have 24×24 landscapes (conftest)
TIMEOUT = 10_000


def settle(lab, qtbot) -> None:
    """Wait until the throttle has run the last request and its interval has passed."""
    qtbot.waitUntil(lambda: not lab.throttle.timer.isActive() and not lab.throttle.pending,
                    timeout=TIMEOUT)


def assert_fits_are_divlabs(lab) -> None:
    mix, h = lab.mixture, lab.bandwidth
    assert lab.computed_for.mixture == mix
    for name in DIVERGENCES:
        expected = fit(name, mix, bandwidth=h)
        assert lab.fits[name] == expected
        x, y = lab.fit_curves[name].xData, lab.fit_curves[name].yData
        np.testing.assert_allclose(y, gaussian(x, expected.mu, expected.sigma), rtol=1e-12)
        assert lab.cells[name][1].text() == f"{expected.mu:+.2f}"


def test_editing_a_mean_updates_all_five_fits(divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    assert_fits_are_divlabs(lab)
    lab.spins["m1"].setValue(-3.0)  # typing a mean
    settle(lab, qtbot)
    assert lab.mixture.m1 == -3.0
    assert_fits_are_divlabs(lab)
    x, y = lab.pi_curve.xData, lab.pi_curve.yData
    np.testing.assert_allclose(y, lab.mixture.pdf(x))
    # the weight slider and the bandwidth too
    lab.weight_slider.setValue(30)
    assert lab.spins["w"].value() == pytest.approx(0.3)
    lab.bandwidth_auto.setChecked(False)
    lab.bandwidth_spin.setValue(0.5)
    settle(lab, qtbot)
    assert lab.bandwidth == 0.5 and lab.mixture.w == pytest.approx(0.3)
    assert_fits_are_divlabs(lab)


def drag(qtbot, widget, start: QPointF, end: QPointF, steps: int = 4) -> None:
    """A left-button drag on a graphics view's viewport, with the button held throughout
    (pyqtgraph drops mouse moves closer together than a screen refresh, hence the waits)."""
    vp = widget.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind, pos, button, buttons):
        ev = QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, mods)
        QApplication.sendEvent(vp, ev)

    send(QEvent.Type.MouseMove, start, none, none)
    qtbot.wait(25)
    send(QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        qtbot.wait(25)
        send(QEvent.Type.MouseMove, p, none, left)
    qtbot.wait(25)
    send(QEvent.Type.MouseButtonRelease, end, left, none)


def pixel(lab, x: float, y: float) -> QPointF:
    vb = lab.density.getPlotItem().vb
    return QPointF(lab.density.mapFromScene(vb.mapViewToScene(QPointF(x, y))))


def test_dragging_a_peak_moves_the_component(divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    grids = []
    work = lab.throttle.work
    lab.throttle.work = lambda req: (grids.append(req.grid), work(req))
    handle = lab.handles["m1"]
    start = pixel(lab, handle.pos().x(), handle.pos().y())
    end = pixel(lab, -1.0, handle.pos().y())
    drag(qtbot, lab.density, start, end)
    assert lab.mixture.m1 == pytest.approx(-1.0, abs=0.05)
    assert lab.mixture.m2 == MIX.m2 and lab.mixture.s1 == MIX.s1
    assert lab.spins["m1"].value() == pytest.approx(lab.mixture.m1, abs=0.005)
    assert handle.pos().x() == pytest.approx(lab.mixture.m1, abs=1e-12)
    # the width handle: one std out from the mean
    width = lab.handles["s2"]
    assert width.pos().x() == pytest.approx(MIX.m2 + MIX.s2)
    drag(qtbot, lab.density, pixel(lab, width.pos().x(), width.pos().y()),
         pixel(lab, MIX.m2 + 1.5, width.pos().y()))
    assert lab.mixture.s2 == pytest.approx(1.5, abs=0.05)
    settle(lab, qtbot)
    assert_fits_are_divlabs(lab)
    # forward KL's optimum is moment matching: it followed π's mean and std
    assert lab.fits["kl_forward"].mu == pytest.approx(lab.mixture.mean, abs=1e-3)
    assert lab.fits["kl_forward"].sigma == pytest.approx(lab.mixture.std, abs=1e-3)
    # coarse landscapes while the hand is down, the full grid once it is let go
    assert 12 in grids and grids[-1] == lab.grid == 24 and lab.computed_for.grid == 24
    assert not lab.dragging


def test_heatmap_markers_sit_at_each_landscapes_minimum(divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    mus, sigmas = default_axes(MIX, lab.grid)
    for name in DIVERGENCES:
        land = landscape(name, MIX, mus, sigmas)
        marker = lab.markers[name]
        assert (marker.xData[0], marker.yData[0]) == (land.mu_best, land.sigma_best)
        np.testing.assert_array_equal(lab.landscapes[name].values, land.values)
        rect = lab.images[name].mapRectToParent(lab.images[name].boundingRect())
        assert rect.left() < land.mu_best < rect.right()
        assert rect.top() < land.sigma_best < rect.bottom()


def test_the_throttle_runs_no_more_than_its_timer_allows_and_ends_on_the_last(
        divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    calls = []
    work = lab.throttle.work
    lab.throttle.work = lambda req: (calls.append(req), work(req))
    runs0, timeouts0 = lab.throttle.runs, lab.throttle.timeouts
    # a burst of drag positions with no chance for the event loop in between
    for i in range(30):
        lab.change(m1=-2.0 + 0.02 * i)
    assert len(calls) == 1  # the first ran at once; the rest wait for the timer
    # a drag that lets the event loop run between positions
    for i in range(8):
        lab.change(m2=2.0 + 0.02 * i)
        qtbot.wait(5)
    settle(lab, qtbot)
    timeouts = lab.throttle.timeouts - timeouts0
    assert len(calls) == lab.throttle.runs - runs0
    assert len(calls) <= 1 + timeouts
    assert len(calls) < 30 + 8
    assert calls[-1].mixture == lab.mixture
    assert lab.mixture.m1 == pytest.approx(-2.0 + 0.02 * 29)
    assert lab.mixture.m2 == pytest.approx(2.0 + 0.02 * 7)
    assert_fits_are_divlabs(lab)


def test_throttle_alone(qtbot):
    seen = []
    t = Throttle(seen.append, interval_ms=30)
    for v in range(100):
        t.request(v)
    assert seen == [0] and t.pending
    qtbot.waitUntil(lambda: not t.timer.isActive() and not t.pending, timeout=TIMEOUT)
    assert seen == [0, 99]
    assert t.runs <= 1 + t.timeouts


def _frame(lab) -> set[str]:
    """The colours down the left edge of the lab's first group box, as drawn."""
    image = lab.findChild(QGroupBox).grab().toImage()
    return {QColor(image.pixel(x, y)).name() for x in range(2) for y in range(20, 40)}


def test_examples_and_themes(divergence_lab, qtbot):
    from gui.appearance import appearance

    lab = divergence_lab()
    lab.load_example("Far apart")
    settle(lab, qtbot)
    assert_fits_are_divlabs(lab)
    # far apart: reverse KL and JS sit on one mode, forward KL in the middle
    assert abs(lab.fits["kl_reverse"].mu) == pytest.approx(4.0, abs=0.05)
    assert abs(lab.fits["kl_forward"].mu) < 0.05
    look = appearance()
    before = look.theme
    assert look.effective == "dark" and "#3a3e46" in _frame(lab)  # framed as it opens
    try:
        look.theme = "light"
        look.apply()
        assert "#db2777" in lab.teach.text()
        assert "#c7ccd4" in _frame(lab) and "#3a3e46" not in _frame(lab)  # its group boxes
        look.theme = "dark"
        look.apply()
        assert "#f472b6" in lab.teach.text()
        assert "#3a3e46" in _frame(lab)
    finally:
        look.theme = before
        look.apply()


def test_typing_into_the_boxes_refits_and_nonsense_changes_nothing(divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    edit = lab.spins["s1"].lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "1.25")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    settle(lab, qtbot)
    assert lab.mixture == Mixture2(-2.0, 2.0, 1.25, 0.8, 0.6)
    assert_fits_are_divlabs(lab)
    np.testing.assert_allclose(lab.pi_curve.yData, lab.mixture.pdf(lab.pi_curve.xData))
    # letters, and a std of 0, are not taken: π, the fits and the boxes stay as they were
    for key, text in (("m2", "abc"), ("s2", "0"), ("w", "1.5x")):
        edit = lab.spins[key].lineEdit()
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        lab.spins[key].clearFocus()
    settle(lab, qtbot)
    assert lab.mixture.m2 == 2.0 and lab.mixture.s2 >= 0.05 and lab.mixture.w > 0
    assert lab.mixture == lab.computed_for.mixture
    assert_fits_are_divlabs(lab)
    assert (lab.spins["m2"].value(), lab.spins["w"].value()) == (lab.mixture.m2, lab.mixture.w)


def test_panning_the_density_plot_redraws_the_curves_to_its_edges(divergence_lab, qtbot):
    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    runs = lab.throttle.runs
    vb = lab.density.getPlotItem().vb
    vb.setXRange(-9.0, 1.0, padding=0)
    (lo, hi), _ = vb.viewRange()
    for curve in (lab.pi_curve, *lab.fit_curves.values()):
        assert curve.xData[0] <= lo and curve.xData[-1] >= hi
    np.testing.assert_allclose(lab.pi_curve.yData, lab.mixture.pdf(lab.pi_curve.xData))
    f = lab.fits["js"]
    x = lab.fit_curves["js"].xData
    np.testing.assert_allclose(lab.fit_curves["js"].yData, gaussian(x, f.mu, f.sigma))
    assert lab.throttle.runs == runs  # no refit for a pan


def test_a_change_paints_each_view_once(divergence_lab, qtbot):
    """A drag step redraws six plots; pyqtgraph's lazy auto-range and transform, left to the
    paint, changed the picture mid-paint and painted every plot twice."""
    from collections import Counter

    from PySide6.QtCore import QObject

    lab = divergence_lab(mixture=MIX)
    settle(lab, qtbot)
    paints: Counter[str] = Counter()

    class Count(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802
            if ev.type() == QEvent.Type.Paint:
                paints[obj.parent().objectName()] += 1
            return False

    counter = Count()
    views = [lab.density, *lab.heatmaps.values()]
    for w in views:
        w.viewport().installEventFilter(counter)
    for i in range(3):
        qtbot.wait(1)
        paints.clear()
        assert lab.change(m1=-1.8 + 0.1 * i, s2=0.7 + 0.05 * i)
        assert lab.computed_for.mixture == lab.mixture  # ran at once: the timer was idle
        QApplication.processEvents()
        assert set(paints) == {w.objectName() for w in views}
        assert max(paints.values()) == 1, dict(paints)
        settle(lab, qtbot)
    for w in views:
        w.viewport().removeEventFilter(counter)

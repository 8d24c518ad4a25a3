"""The curves and the status bar as a lecture shows them: a speed that is never negative,
D and G update counters, legends off the data, log axes in one style, the window title,
splitter sizes per data kind, and a labelled marker at every change applied mid-run (kept
in saved sessions, cleared by a reset, dropped by a rollback)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QStatusBar

from engine.metrics import COLUMNS
from engine.protocol import Diverged, Status

TIMEOUT = 10_000


def choose(window: Any, key: str, value: str) -> None:
    """Pick ``value`` in the combo box of config ``key`` as a user would (emits activated)."""
    combo = window.panel.fields[key].widget
    i = combo.findData(value)
    assert i >= 0, f"{value!r} is not offered for {key}"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def rows(steps: Any) -> np.ndarray:
    out = np.full((len(steps), len(COLUMNS)), np.nan)
    out[:, 0] = steps
    out[:, COLUMNS.index("d_loss")] = 1.0
    out[:, COLUMNS.index("g_loss")] = 0.5
    return out


# ---------------------------------------------------------------------------- status bar
@pytest.mark.parametrize("rate, running, text", [
    (-1063.0, True, "– it/s"),          # the figure after a reset
    (float("nan"), True, "– it/s"),
    (float("inf"), True, "– it/s"),
    (3e12, True, "– it/s"),
    (1063.4, True, "1,063 it/s"),
    (2.5, True, "2.5 it/s"),            # slow motion
    (-5.0, False, "paused"),
])
def test_the_speed_read_out_is_never_negative_or_absurd(qtbot, rate, running, text):
    from gui.status_bar import StatusReadout

    bar = QStatusBar()
    qtbot.addWidget(bar)
    readout = StatusReadout(bar)
    readout.show_status(Status(10, rate, running, "cpu", "", 10, 10))
    assert readout.labels["rate"].text() == text


def test_d_and_g_steps_move_their_own_counters(qtbot, make_window):
    window = make_window(**{"train.d_steps": 2})
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    window.setFocus()
    updates = window.readout.labels["updates"]
    qtbot.waitUntil(lambda: updates.text() == "D 0 · G 0 updates", timeout=TIMEOUT)
    assert updates.isVisible()
    for key, text in ((Qt.Key.Key_D, "D 1 · G 0 updates"), (Qt.Key.Key_D, "D 2 · G 0 updates"),
                      (Qt.Key.Key_G, "D 2 · G 1 updates"), (Qt.Key.Key_S, "D 4 · G 2 updates")):
        qtbot.keyClick(window, key)
        qtbot.waitUntil(lambda text=text: updates.text() == text, timeout=TIMEOUT)
    assert window.readout.labels["step"].text() == "step 1"  # only the full iteration counts


def test_the_window_title_names_the_app_once(qtbot, make_window):
    app = QApplication.instance()
    old = app.applicationDisplayName()
    app.setApplicationDisplayName("GAN Playground")  # as gui.app does
    try:
        window = make_window(name="ring8")
        title = window.windowTitle().replace("[*]", "")
        # Qt appends the display name to a title that does not end with it (X11, Windows)
        assert title == "ring8 — GAN Playground"
    finally:
        app.setApplicationDisplayName(old)


# ---------------------------------------------------------------------------- the plots
def test_legends_sit_in_the_titles_not_on_the_data(qtbot):
    from gui.views.curves import PLOTS, CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    for spec in PLOTS:
        item = view.plots[spec.key].getPlotItem()
        assert item.legend is None, f"{spec.key}: a legend box sits on the data"
        title = item.titleLabel.text
        for curve in spec.curves:
            assert curve.name in title and curve.color in title, (spec.key, curve.name)


def _labels(lo: float, hi: float) -> list[str]:
    """The labels a log axis shows over 10^lo .. 10^hi, every tick level together."""
    from gui.views.axes import LogAxis

    axis = LogAxis("left")
    axis.setLogMode(y=True)
    axis.setRange(lo, hi)
    out = []
    for spacing, values in axis.tickValues(lo, hi, 300):
        out += [s for s in axis.tickStrings(values, 1.0, spacing) if s]
    return out


@pytest.mark.parametrize("lo, hi", [(-2.2, 1.3), (0.1, 2.6), (-0.5, 0.4)])
def test_a_log_axis_in_a_moderate_range_reads_as_plain_numbers(qapp, lo, hi):
    labels = _labels(lo, hi)
    assert len(labels) >= 2
    for text in labels:
        assert "·" not in text and not any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"), labels
        value = float(text)
        mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
        assert round(mantissa, 6) in (1, 2, 5), labels  # 0.3, 0.4 ... crowd a short plot


@pytest.mark.parametrize("lo, hi", [(-7.2, 0.5), (-1.0, 5.5), (-12.0, 1.0)])
def test_a_log_axis_over_many_decades_reads_as_powers_of_ten_throughout(qapp, lo, hi):
    labels = _labels(lo, hi)
    assert len(labels) >= 2
    for text in labels:
        assert "10" in text and any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹"), labels  # 10⁰, not 1


def test_a_narrow_log_range_still_gets_labels(qapp):
    labels = _labels(math.log10(1.1), math.log10(1.8))  # no 1, 2 or 5 inside
    assert len(labels) >= 2 and all("·" not in t for t in labels), labels


def test_each_data_kind_keeps_its_own_curve_sizes(qtbot):
    """Images: the FID/IS plot gets a real share (it started as a 40 px strip); back on
    points it is hidden and the gradient norms are not squashed by the images' sizes."""
    from gui.views.curves import QUALITY_PLOT, CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(500, 800)
    view.show()
    qtbot.waitExposed(view)
    plots = [view.plots[k] for k in ("loss", "outputs", "grads", QUALITY_PLOT)]
    view.set_quality_visible(True)
    qtbot.waitUntil(lambda: plots[3].height() > 0.6 * plots[0].height(), timeout=TIMEOUT)
    view.splitter.setSizes([200, 200, 200, 200])
    view.splitter.setSizes([100, 100, 100, 500])  # the user favours FID/IS on images
    images = view.splitter.sizes()
    view.set_quality_visible(False)
    qtbot.waitUntil(lambda: not plots[3].isVisible(), timeout=TIMEOUT)
    heights = [p.height() for p in plots[:3]]
    assert min(heights) > 0.6 * max(heights), heights  # the images' sizes did not carry over
    view.splitter.setSizes([400, 200, 200, 0])    # and on points, the losses
    points = view.splitter.sizes()
    view.set_quality_visible(True)
    assert view.splitter.sizes() == images
    # both kinds' sizes are remembered with the window's settings
    state = view.splitter.saveState()
    again = CurvesView()
    qtbot.addWidget(again)
    again.resize(500, 800)
    again.show()
    qtbot.waitExposed(again)
    assert again.splitter.restoreState(state)
    assert again.splitter.sizes() == points
    again.set_quality_visible(True)
    assert again.splitter.sizes() == images


def test_an_image_window_gives_the_quality_plot_a_real_share(qtbot, tmp_path):
    """The window remembers its splitters; a point-data session's sizes must not squash
    the FID/IS plot when an image preset opens next (no engine needed: layout only)."""
    from engine.presets import load_preset
    from gui.main_window import MainWindow

    from .conftest import small_config

    settings = QSettings(str(tmp_path / "remember.ini"), QSettings.Format.IniFormat)
    for config, name in ((small_config(), "ring8"), (load_preset("dcgan_digits"), "digits")):
        window = MainWindow(config, name, settings=settings, start=False)
        qtbot.addWidget(window)
        window.resize(900, 700)
        window.show()
        qtbot.waitExposed(window)
        plots = window.curves.plots
        if name == "ring8":
            assert not plots["quality"].isVisible()
            window.close()
    qtbot.waitUntil(lambda: plots["quality"].isVisible(), timeout=TIMEOUT)
    assert plots["quality"].height() > 0.6 * plots["loss"].height()
    window.close()


def test_a_rollback_drops_the_rows_after_it_from_the_curves(qtbot, make_window):
    window = make_window()
    curves = window.curves
    curves.add_rows(rows(np.arange(1, 61)))
    curves.refresh(force=True)
    window.link.diverged.emit(Diverged(60, "training diverged at step 60", 40))
    assert curves.series.column("step")[-1] == 40
    assert curves.curves["d_loss"].getData()[0].max() == 40
    curves.add_rows(rows(np.arange(41, 45)))      # training goes on from the point
    curves.refresh(force=True)
    assert np.all(np.diff(curves.series.column("step")) > 0)
    window.link.diverged.emit(Diverged(12, "an older engine says no more"))  # -1: keep all
    assert curves.series.column("step")[-1] == 44


# ---------------------------------------------------------------------------- swap markers
def marker_steps(window: Any) -> dict[str, list[float]]:
    """Where the markers are, per plot: every curve plot and every divergence plot."""
    out = {key: window.curves.markers.positions(i)
           for i, key in enumerate(window.curves.plots)}
    div = window.insight.divergences
    out.update({f"div:{key}": div.markers.positions(i) for i, key in enumerate(div.plots)})
    return out


def test_a_swap_mid_run_marks_every_curve_plot_at_its_step(qtbot, make_window):
    window = make_window()
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step >= 5, timeout=TIMEOUT)
    with qtbot.waitSignal(window.link.swaps_changed, timeout=TIMEOUT):
        choose(window, "loss.name", "hinge")
    ((step, text),) = window.link.state.swaps
    assert step >= 5 and text == "loss → hinge"
    for key, steps in marker_steps(window).items():
        assert steps == [step], key
    markers = window.curves.markers
    qtbot.waitUntil(lambda: markers.label(0, 0) is not None, timeout=TIMEOUT)
    assert "loss → hinge" in markers.label(0, 0).toPlainText()
    assert "loss → hinge" in markers.tooltip(0, 0)
    # a refused change draws nothing
    with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT):
        window.apply_changes({"train.batch_size": -1})
    assert all(len(s) == 1 for s in marker_steps(window).values())
    with qtbot.waitSignal(window.link.swaps_changed, timeout=TIMEOUT):
        choose(window, "data.name", "moons")
    assert [t for _, t in window.link.state.swaps] == ["loss → hinge", "data → moons"]
    assert all(len(s) == 2 for s in marker_steps(window).values())
    # the label sits at the top of the plot, shown
    qtbot.waitUntil(lambda: markers.label(0, 1) is not None and markers.label(0, 1).isVisible(),
                    timeout=TIMEOUT)


def test_markers_come_back_with_a_saved_session_and_go_with_a_reset(qtbot, make_window,
                                                                    tmp_path):
    window = make_window()
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT,
                          check_params_cb=lambda s: s.step >= 3):
        for _ in range(3):
            window.transport.actions["step"].trigger()
    with qtbot.waitSignal(window.link.swaps_changed, timeout=TIMEOUT):
        window.apply_changes({"optim.d.lr": 1e-3})
    assert window.link.state.swaps == ((3, "lr D 2e-4 → 1e-3"),)
    path = tmp_path / "run.safetensors"
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        window.files.save_session(str(path))
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.transport.actions["reset"].trigger()
    assert window.link.state.swaps == ()
    assert all(s == [] for s in marker_steps(window).values())
    with qtbot.waitSignal(window.link.swaps_changed, timeout=TIMEOUT):
        assert window.files.open_session(str(path))
    assert window.link.state.swaps == ((3, "lr D 2e-4 → 1e-3"),)
    assert all(s == [3] for s in marker_steps(window).values())


def _shown_plot(qtbot, width: int):
    """A bare plot on screen, ``width`` x 300 px, for the swap markers' layout."""
    import pyqtgraph as pg

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(width, 300)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_labels_of_close_markers_stack_instead_of_overlapping(qtbot):
    import pyqtgraph as pg

    from gui.views.markers import SwapMarkers

    w = _shown_plot(qtbot, 500)
    w.plot(np.arange(1000.0), np.sin(np.arange(1000.0) / 50))
    markers = SwapMarkers([w])
    entries = [(100, "loss → wgan-gp"), (110, "lr D 2e-4 → 1e-3"), (120, "data → moons"),
               (980, "{value} is no format"), (40, "before the origin")]
    markers.set_entries(entries, shift=50)           # x counts from step 50 (a comparison)
    assert markers.positions() == [50, 60, 70, 930]  # step 40 is before the origin
    labels = lambda: [markers.label(0, j) for j in range(4)]  # noqa: E731
    qtbot.waitUntil(lambda: all(lb is not None and lb.isVisible() for lb in labels()),
                    timeout=TIMEOUT)
    assert markers.label(0, 3).toPlainText() == "{value} is no format"
    w.grab()  # a text item sizes itself to the screen when painted
    markers.layout()
    rects = [lb.sceneBoundingRect() for lb in labels()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b), (a, b)
    view = w.getViewBox().sceneBoundingRect()
    assert all(view.contains(r) for r in rects)  # the last one reads leftwards of its line
    markers.clear()
    assert markers.positions() == [] and markers.label(0, 0) is None
    assert not [i for i in w.getPlotItem().items if isinstance(i, pg.TextItem) and i.isVisible()]


def test_a_long_swap_log_keeps_every_line_and_a_bounded_number_of_items(qtbot):
    """Hundreds of changes (a lecture of slider drags): every line is drawn and named in
    its tooltip, but a plot holds one line item and only the labels that find a row (a
    pyqtgraph line per change cost ~0.4 ms a frame each and froze the window); a rollback
    or reset shortens the log, and a new origin moves every line."""

    from gui.views.markers import MAX_PER_ROW, MAX_ROWS, SwapMarkers

    w = _shown_plot(qtbot, 500)
    w.plot(np.arange(3100.0), np.zeros(3100))
    markers = SwapMarkers([w])
    log = [(10 * i, f"radius {i} → {i + 1}") for i in range(1, 301)]
    markers.set_entries(log)
    assert markers.positions() == [10.0 * i for i in range(1, 301)]
    assert markers.tooltip(0, 299) == "step 3,000: radius 300 → 301"
    qtbot.waitUntil(lambda: markers.label(0, 299) is not None, timeout=TIMEOUT)  # the newest
    items = w.getPlotItem().items
    # the curve, the lines, the labels' room, the labels
    assert len(items) <= 1 + 1 + 1 + MAX_ROWS * MAX_PER_ROW
    shown = [markers.label(0, j) for j in range(300) if markers.label(0, j) is not None]
    assert 0 < len(shown) <= MAX_ROWS * MAX_PER_ROW
    markers.set_entries([*log[:50], (505, "loss → hinge")])  # rolled back, then a new swap
    assert markers.positions()[-1] == 505 and len(markers.positions()) == 51
    assert markers.tooltip(0, 50) == "step 505: loss → hinge"
    markers.set_entries(log[:3], shift=15)
    assert markers.positions() == [5, 15]
    assert markers.tooltip(0, 0) == "step 20: radius 2 → 3"


def test_a_stretch_where_a_network_did_not_step_is_a_gap_in_its_curves(qtbot):
    """D frozen (or not trained, under MMD) for rows 10-19: its curves break there instead
    of drawing a straight line across; a lone missing row (one G step alone) is joined."""
    from gui.views.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    rows = np.full((30, len(COLUMNS)), np.nan)
    rows[:, 0] = np.arange(30)
    d = COLUMNS.index("d_loss")
    rows[:, d] = 1.0 + np.arange(30) / 30
    rows[10:20, d] = np.nan
    rows[25, d] = np.nan
    rows[:, COLUMNS.index("g_loss")] = 2.0
    view.add_rows(rows)
    view.refresh(force=True)
    curve = view.curves["d_loss"]
    xs, ys = curve.xData, curve.yData
    drawn = np.isfinite(xs) & np.isfinite(ys)
    assert list(xs[drawn]) == [x for x in range(30) if not (10 <= x < 20 or x == 25)]
    # a line segment joins two neighbours only when both are finite (connect="finite")
    segments = {(int(a), int(b)) for a, b, ok in zip(xs[:-1], xs[1:], drawn[:-1] & drawn[1:])
                if ok}
    assert (9, 20) not in segments  # no line across the stretch
    assert (24, 26) in segments and (8, 9) in segments  # across the lone row; as ever
    assert curve.opts["connect"] == "finite"
    assert list(view.curves["g_loss"].xData) == list(range(30))  # whole: one line


@pytest.mark.parametrize("log_y", [False, True])
def test_the_labels_get_room_above_the_curves_instead_of_covering_their_tops(qtbot, log_y):
    """D(x) on real near 1 sat under the labels at the top of the plot. While labels are
    shown, the auto-ranged view leaves room above the data for their rows (on a log
    scale too); with none, the data fills the plot as before."""
    import pyqtgraph as pg
    from PySide6.QtCore import QPointF

    from gui.views.markers import SwapMarkers

    w = _shown_plot(qtbot, 500)
    w.getPlotItem().setLogMode(y=log_y)
    xs = np.arange(1, 1001.0)
    ys = 1.0 + 0.5 * np.sin(xs / 40)  # peaks all along, up to the top of the range
    w.plot(xs, ys)
    ignored = pg.PlotDataItem(xs, 100 * ys)  # kept out of the range: it must not count
    w.getPlotItem().addItem(ignored, ignoreBounds=True)
    vb = w.getViewBox()

    def top_of_data_px() -> float:  # the highest point, in pixels from the view's top
        y = np.log10(ys.max()) if log_y else ys.max()
        return vb.mapViewToScene(QPointF(0.0, y)).y() - vb.sceneBoundingRect().top()

    qtbot.waitUntil(lambda: top_of_data_px() < 20, timeout=TIMEOUT)  # filled, no labels
    markers = SwapMarkers([w])
    markers.set_entries([(200, "loss → hinge"), (220, "lr D 2e-4 → 1e-3")])  # two rows
    qtbot.waitUntil(lambda: markers.label(0, 1) is not None and markers.label(0, 1).isVisible(),
                    timeout=TIMEOUT)
    w.grab()
    markers.layout()

    def lowest_label_px() -> float:
        bottom = max(markers.label(0, j).sceneBoundingRect().bottom() for j in (0, 1))
        return bottom - vb.sceneBoundingRect().top()

    assert lowest_label_px() > 25  # two rows
    qtbot.waitUntil(lambda: top_of_data_px() > lowest_label_px(), timeout=TIMEOUT)
    assert top_of_data_px() < lowest_label_px() + 25  # room, not a squashed plot
    markers.clear()
    qtbot.waitUntil(lambda: top_of_data_px() < 20, timeout=TIMEOUT)


def test_a_label_that_fits_on_neither_side_of_its_line_starts_at_the_left_edge(qtbot):
    """In a narrow plot a label longer than the room on either side of its line was put
    left of it and lost its start ("moons" for "data → moons"); it now reads whole from
    the plot's left edge."""

    from gui.views.markers import SwapMarkers

    w = _shown_plot(qtbot, 260)
    w.plot(np.arange(100.0), np.zeros(100))
    w.setXRange(0, 100, padding=0)
    markers = SwapMarkers([w])
    markers.set_entries([(55, "data → moons, lr D 2e-4 → 1e-3")])
    qtbot.waitUntil(lambda: markers.label(0, 0) is not None and markers.label(0, 0).isVisible(),
                    timeout=TIMEOUT)
    w.grab()
    markers.layout()
    label = markers.label(0, 0).sceneBoundingRect()
    view = w.getViewBox().sceneBoundingRect()
    assert label.width() > view.width() / 2  # the case in question: too wide for either side
    assert label.left() >= view.left() - 1, (label, view)


def _status_bar_in_a_window(qtbot, width: int, shown: bool = True):
    """A window ``width`` px wide with the app's status bar and read-outs (on screen
    unless ``shown`` is False)."""
    from PySide6.QtWidgets import QMainWindow

    from gui.status_bar import StatusBar, StatusReadout

    window = QMainWindow()
    qtbot.addWidget(window)
    bar = StatusBar(window)
    window.setStatusBar(bar)
    readout = StatusReadout(bar)
    readout.show_status(Status(1234, 300.0, True, "cpu", "", 10, 10))
    window.resize(width, 200)
    if shown:
        window.show()
        qtbot.waitExposed(window)
    return window, bar, readout


def _message_ends_before_the_read_outs(bar, readout) -> bool:
    from PySide6.QtGui import QFontMetrics

    first = min(w.geometry().left() for w in readout.labels.values() if w.isVisible())
    return QFontMetrics(bar.font()).horizontalAdvance(QStatusBar.currentMessage(bar)) < first


def test_a_long_status_message_is_elided_before_the_read_outs_and_whole_in_its_tooltip(qtbot):
    """A passing message longer than the room left of the read-outs ends in the middle
    with an ellipsis (both a saved file's folder and name show; Qt's own cut it off
    mid-word under the step count), says all of it in the tooltip, fits again when the bar
    widens, and still goes when its time is up."""
    window, bar, readout = _status_bar_in_a_window(qtbot, 700)
    whole = "Saved the generator: /home/lecturer/teaching/gans/week-7/ring8-step-5000.safetensors"
    bar.showMessage(whole, 1500)
    shown = QStatusBar.currentMessage(bar)  # what Qt paints
    assert "…" in shown and shown.startswith("Saved the") and shown.endswith(".safetensors")
    assert _message_ends_before_the_read_outs(bar, readout)
    assert bar.currentMessage() == whole and bar.toolTip() == whole
    window.resize(1600, 200)
    qtbot.waitUntil(lambda: QStatusBar.currentMessage(bar) == whole, timeout=2000)
    assert bar.toolTip() == ""
    qtbot.waitUntil(lambda: bar.currentMessage() == "", timeout=3000)  # its 1.5 s are up
    assert QStatusBar.currentMessage(bar) == "" and bar.toolTip() == ""
    bar.showMessage("Engine ready")  # a short one is left whole
    assert QStatusBar.currentMessage(bar) == "Engine ready" and bar.toolTip() == ""


def test_the_message_is_fitted_again_when_a_read_out_moves_and_a_menu_tip_replaces_it(qtbot):
    """A read-out that moves after a message is shown (the summary of a change just
    applied: the read-outs move when the event loop next runs; run B's speed appearing)
    left the message, fitted to where they were, running under it. A menu item's status
    tip (shown by Qt itself) is the message while it shows: a resize does not bring the
    old one back over it."""
    from PySide6.QtGui import QStatusTipEvent
    from PySide6.QtWidgets import QApplication

    window, bar, readout = _status_bar_in_a_window(qtbot, 1280)
    summary = readout.labels["summary"]

    config = {"loss": {"name": "wgan_gp"}, "generator": {"norm": "spectral_norm"},
              "discriminator": {"norm": "spectral_norm"}}
    whole = "Applied loss.name = wgan_gp, generator.norm = spectral_norm, and 1 more change"
    bar.showMessage(whole, 10_000)
    qtbot.wait(50)
    assert QStatusBar.currentMessage(bar) == whole  # room enough, as yet
    readout.show_setup(config)  # wider: the read-outs move left, under the message
    readout.show_rate_b("B 305 it/s")  # and one more appears
    qtbot.wait(100)
    assert window.width() == 1280 and summary.geometry().left() < 500
    assert _message_ends_before_the_read_outs(bar, readout)
    assert "…" in QStatusBar.currentMessage(bar) and bar.currentMessage() == whole
    QApplication.sendEvent(window, QStatusTipEvent("Reset the run (Ctrl+R)"))
    assert bar.currentMessage() == "Reset the run (Ctrl+R)" and bar.toolTip() == ""
    window.resize(1200, 200)
    qtbot.wait(50)
    assert QStatusBar.currentMessage(bar) == "Reset the run (Ctrl+R)"
    QApplication.sendEvent(window, QStatusTipEvent(""))
    assert bar.currentMessage() == ""


def test_a_message_shown_before_the_window_is_fitted_once_it_shows(qtbot):
    """"Starting the engine…" and its like are shown while the window is being built:
    with no room known yet the message is kept whole, and fitted when the window shows."""
    window, bar, readout = _status_bar_in_a_window(qtbot, 700, shown=False)
    whole = "Opening the session /home/lecturer/teaching/gans/week-7/ring8-step-5000.safetensors…"
    bar.showMessage(whole, 10_000)
    qtbot.wait(50)  # the window takes its time
    assert QStatusBar.currentMessage(bar) == whole  # nowhere to fit it yet
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: "…" in QStatusBar.currentMessage(bar)[:-1], timeout=2000)
    assert _message_ends_before_the_read_outs(bar, readout)
    assert bar.currentMessage() == whole and bar.toolTip() == whole

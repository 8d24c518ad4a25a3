"""The curves and the status bar as a lecture shows them: a speed that is never negative,
D and G update counters, legends off the data, log axes in one style, the window title,
splitter sizes per data kind, and a labelled marker at every change applied mid-run (kept
in saved sessions, cleared by a reset, dropped by a rollback)."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStatusBar

from engine.protocol import Status

TIMEOUT = 10_000


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
    from gui.views.curves import LogAxis

    axis = LogAxis("left")
    axis.setLogMode(y=True)
    axis.setRange(lo, hi)
    out = []
    for spacing, values in axis.tickValues(lo, hi, 300):
        out += [s for s in axis.tickStrings(values, 1.0, spacing) if s]
    return out


@pytest.mark.parametrize("lo, hi", [(-2.2, 1.3), (0.1, 2.6), (-0.5, 0.4)])
def test_a_log_axis_in_a_moderate_range_reads_as_plain_numbers(lo, hi):
    labels = _labels(lo, hi)
    assert len(labels) >= 2
    for text in labels:
        assert "·" not in text and not any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"), labels
        value = float(text)
        mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
        assert round(mantissa, 6) in (1, 2, 5), labels  # 0.3, 0.4 ... crowd a short plot


@pytest.mark.parametrize("lo, hi", [(-7.2, 0.5), (-1.0, 5.5), (-12.0, 1.0)])
def test_a_log_axis_over_many_decades_reads_as_powers_of_ten_throughout(lo, hi):
    labels = _labels(lo, hi)
    assert len(labels) >= 2
    for text in labels:
        assert "10" in text and any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹"), labels  # 10⁰, not 1


def test_a_narrow_log_range_still_gets_labels():
    labels = _labels(math.log10(1.1), math.log10(1.8))  # no 1, 2 or 5 inside
    assert len(labels) >= 2 and all("·" not in t for t in labels), labels

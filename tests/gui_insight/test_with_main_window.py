"""The panel beside the real main window: the window's own view requests (its data plane
sets the link's view on every applied change) never wipe the panel's extras for long."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from engine.protocol import Apply

from .conftest import START_TIMEOUT, TIMEOUT, small_config


def test_panel_keeps_its_extras_when_the_window_sets_the_view(qtbot, no_thread_leak, tmp_path):
    main_window = pytest.importorskip("gui.main_window")
    from gui.insight import InsightPanel

    settings = QSettings(str(tmp_path / "win.ini"), QSettings.Format.IniFormat)
    window = main_window.MainWindow(small_config(), "test", settings=settings)
    qtbot.addWidget(window)
    panel = InsightPanel(window.link, torch_threads=1)
    qtbot.addWidget(panel)
    try:
        window.show()
        panel.show_tab("D vs D*")
        panel.show()
        qtbot.waitUntil(lambda: window.link.state.ready, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: window.link.view.dstar and window.link.view.heatmap,
                        timeout=TIMEOUT)
        with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                              check_params_cb=lambda ev: "optim.d.lr" in ev.changes):
            window.link.send(Apply({"optim.d.lr": 2e-3}))
        # the window re-sent its plane request; the panel merged D* back in
        qtbot.waitUntil(lambda: window.link.view.dstar, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: panel.dstar.gap_value is not None, timeout=TIMEOUT)
        panel.hide()
        assert not window.link.view.dstar
    finally:
        panel.shutdown()
        window.close()
    assert not window.link.alive


def test_compare_in_the_window_rate_in_status_bar_and_a_preset_load_clears_it(
        qtbot, no_thread_leak, tmp_path):
    """B's speed sits in the status bar beside A's; loading a preset (keeping the trained
    networks: no reset reaches the comparison) stops B, clears both runs' curves and
    planes, and the status bar says so."""
    main_window = pytest.importorskip("gui.main_window")

    settings = QSettings(str(tmp_path / "win.ini"), QSettings.Format.IniFormat)
    window = main_window.MainWindow(small_config(), "test", settings=settings)
    qtbot.addWidget(window)
    compare = window.insight.compare
    try:
        window.show()
        window.right_tabs.setCurrentWidget(window.insight)
        window.insight.show_tab("Compare")
        qtbot.waitUntil(lambda: window.link.state.ready, timeout=TIMEOUT)
        compare.start("loss.name", "least-squares", restart_a=False)
        b = compare.link_b
        qtbot.waitUntil(lambda: b.state.ready, timeout=START_TIMEOUT)
        rate_b = window.readout.labels["rate_b"]
        qtbot.waitUntil(lambda: rate_b.isVisible() and "it/s" in rate_b.text(), timeout=TIMEOUT)
        assert rate_b.text().startswith("B ")
        qtbot.waitUntil(lambda: compare.point_count("B") >= 2
                        and compare.planes.point_count("B") > 0, timeout=TIMEOUT)
        assert window.files.open_preset("ring8", keep=True)
        assert compare.link_b is None and not b.alive
        for run in ("A", "B"):
            assert compare.point_count(run) == 0
            assert compare.planes.point_count(run) == 0
        # one line where B's speed was says why it stopped, and stays after the load
        assert rate_b.isVisible() and rate_b.text() == "Compare ended: B stopped (ring8 loaded)"
        qtbot.waitUntil(lambda: not window.files.loading and window.preset_name == "ring8",
                        timeout=TIMEOUT)
        assert "Compare ended" in rate_b.text()
    finally:
        window.close()
    assert not window.link.alive

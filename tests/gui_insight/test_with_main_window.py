"""The panel beside the real main window: the window's own view requests (its data plane
sets the link's view on every applied change) never wipe the panel's extras for long."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from engine.protocol import Apply

from .conftest import TIMEOUT, small_config


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

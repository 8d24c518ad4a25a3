"""Issue #12, the Insight tab: views that never mislead, at the sizes a lecture hall gets.

Engine-free tests feed frames through a link that never starts (its ``snapshot_ready``
signal is what a started one emits); the data-set change and the scrub hook run against
the real engine process.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QStyle

from engine.metrics import COLUMNS
from engine.protocol import Applied, Apply, Pause, Play
from engine.snapshot import Snapshot

from .conftest import TIMEOUT, small_config

BOX = (-3.0, 3.0, -3.0, 3.0)


def frame(step: int, *, dstar: bool = False, dim: int = 2, n: int = 64) -> Snapshot:
    """A made-up 2-D (or 1-D) frame whose contents depend on ``step``."""
    rng = np.random.default_rng(step)
    if dim == 1:
        grid = 40
        z = np.linspace(-3.1, 3.1, n)[:, None]
        x = np.linspace(-4.0, 6.0, grid)
        p = np.exp(-0.5 * (x - 1.0) ** 2)
        return Snapshot(step=step, fake=z * 0.5 + 1.0, real=rng.normal(1.0, 1.0, (n, 1)),
                        heatmap=np.full(grid, 0.5), box=(-4.0, 6.0, 0.0, 1.0),
                        heatmap_is_probability=True, dim=1, view_z=z, dstar=np.full(grid, 0.5),
                        p_data=p, p_g=p * 0.8, dstar_gap=0.1, loss_name="non-saturating")
    heat = np.full((16, 16), (step % 100) / 100.0)
    extras: dict[str, Any] = {}
    if dstar:
        extras = {"dstar": np.full((16, 16), 0.25), "dstar_gap": 0.1 + step / 1e4,
                  "p_data": np.ones((16, 16)), "p_g": np.ones((16, 16))}
    return Snapshot(step=step, fake=rng.uniform(-2, 2, (n, 2)), real=rng.uniform(-2, 2, (n, 2)),
                    heatmap=heat, box=BOX, heatmap_is_probability=True,
                    loss_name="non-saturating", d_updates=step, g_updates=step, **extras)


@pytest.fixture
def idle_panel(qtbot: Any) -> Any:
    """A panel on a link that is never started (no engine, no thread), shown offscreen."""
    from gui.engine_link import EngineLink
    from gui.insight import InsightPanel

    link = EngineLink(small_config())
    panel = InsightPanel(link, config=small_config())
    panel.timeline.ring.min_interval = 0.0
    qtbot.addWidget(panel)
    panel.resize(420, 600)  # the panel's width beside the plane at 1280x720
    panel.show()
    qtbot.waitExposed(panel)
    yield panel, link
    panel.shutdown()
    assert not panel.timeline.replay_timer.isActive()


@pytest.fixture
def window(qtbot: Any, tmp_path: Any) -> Any:
    """The real main window, its engine not started (layout only)."""
    from engine.presets import load_preset
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "win.ini"), QSettings.Format.IniFormat)
    w = MainWindow(load_preset("ring8"), "ring8", settings=settings, start=False)
    qtbot.addWidget(w)
    yield w
    w.insight.shutdown()
    w.close()


def settle(qtbot: Any) -> None:
    """Let posted layout requests run (a label's new size reaches the window this way)."""
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
        qtbot.wait(10)


def show_insight(qtbot: Any, w: Any, size: tuple[int, int]) -> None:
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.right_tabs.setCurrentWidget(w.insight)
    settle(qtbot)


def rows(step: int, **values: float) -> np.ndarray:
    r = np.full((1, len(COLUMNS)), np.nan)
    r[0, COLUMNS.index("step")] = step
    for k, v in values.items():
        r[0, COLUMNS.index(k)] = v
    return r


def click_tab(qtbot: Any, panel: Any, name: str) -> None:
    bar = panel.tabs.tabBar()
    index = list(panel.views).index(name)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert panel.current_name() == name


# --------------------------------------------------------------------------- item 3


def test_a_new_data_set_restarts_the_divergences_and_drops_the_modes(qtbot, make_panel):
    """ring8 -> Two moons: the header and the mode plots held ring8's modes ("modes 6 ·
    HQ 12%") under moons, which has none. Now the curves restart at the change, the mode
    plots leave the grid and the header shows only what moons has."""
    panel, link = make_panel(tab="Divergences")
    view = panel.divergences
    link.send(Play())
    qtbot.waitUntil(lambda: "modes" in view.readout.text() and "HQ" in view.readout.text(),
                    timeout=TIMEOUT)
    assert view.mode_plots_shown
    link.send(Pause())
    last_ring8 = view.rows.last("step")
    with qtbot.waitSignal(link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "data.name" in ev.changes):
        link.send(Apply({"data.name": "moons"}))
    found = re.search(r"Restarted at step (\d+): the data set changed to Two moons",
                      view.note.text())
    assert found, view.note.text()
    changed_at = int(found.group(1))
    assert changed_at >= last_ring8
    assert view.point_count == 0  # ring8's estimates are gone
    assert "modes" not in view.readout.text() and "HQ" not in view.readout.text()
    assert "Two moons" in view.readout.text()
    assert not view.mode_plots_shown and not view.total_line.isVisible()
    for column in ("js", "w1", "modes", "high_quality"):
        assert view.curves[column].xData is None or len(view.curves[column].xData) == 0
    link.send(Play())
    qtbot.waitUntil(lambda: view.point_count >= 1 and "JS" in view.readout.text(),
                    timeout=TIMEOUT)
    link.send(Pause())
    x, _ = view.rows.xy("js")
    assert len(x) and x.min() > changed_at  # only the new data set's estimates
    assert "modes" not in view.readout.text() and "HQ" not in view.readout.text()
    # and back to a set with modes: the mode plots return, with an empty history
    with qtbot.waitSignal(link.applied, timeout=TIMEOUT):
        link.send(Apply({"data.name": "grid25"}))
    assert view.mode_plots_shown and view.point_count == 0


def test_a_change_of_the_same_set_s_parameter_restarts_too_and_others_do_not(qtbot,
                                                                             idle_panel):
    panel, link = idle_panel
    view = panel.divergences
    view.add_rows(rows(100, js=0.5, w1=1.0, modes=6, high_quality=0.12))
    view.refresh()
    assert "modes 6/8" in view.readout.text()
    config = small_config(**{"optim.d.lr": 1e-3})
    link.applied.emit(Applied({"optim.d.lr": 1e-3}, config))  # not a data change: kept
    assert view.point_count == 1
    config = small_config(**{"data.std": 0.05})
    link.applied.emit(Applied({"data.std": 0.05}, config))
    assert view.point_count == 0 and view.mode_plots_shown  # ring8 still has its modes


# --------------------------------------------------------------------------- items 6 and 7


@pytest.mark.parametrize("size", [(1280, 720), (1400, 900)])
def test_every_tab_and_the_divergence_grid_fit_beside_the_plane(qtbot, window, size):
    """At 1280x720 and at the default 1400x900 the 1-D, Timeline and Compare tabs hid
    behind scroll arrows, and the Divergences grid cut off its right column with no scroll
    bar. Now every tab title shows in full, and the grid fits (or scrolls)."""
    show_insight(qtbot, window, size)
    panel = window.insight
    bar = panel.tabs.tabBar()
    assert not bar.usesScrollButtons()
    needed = sum(bar.tabSizeHint(i).width() for i in range(bar.count()))
    assert needed <= bar.width(), (needed, bar.width())
    room = bar.style().pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace, None, bar)
    for i in range(bar.count()):  # each title painted whole, each tab inside the bar
        text = bar.fontMetrics().horizontalAdvance(bar.tabText(i))
        assert bar.tabRect(i).width() >= text + room, bar.tabText(i)
        assert bar.tabRect(i).right() <= bar.width()
    panel.show_tab("Divergences")
    settle(qtbot)
    view = panel.divergences
    needs = view.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize)
    viewport = view.scroll.viewport()
    fits = needs.width() <= viewport.width() + 1
    assert fits or view.scroll.horizontalScrollBar().isVisible()
    # every plot lies inside the graphics view (nothing laid out past its right edge)
    right = view.graphics.mapFromScene(view.graphics.ci.sceneBoundingRect().topRight())
    assert right.x() <= view.graphics.width() + 1
    assert fits, "the two columns should fit without scrolling at this size"


def test_a_growing_header_never_widens_the_panel(qtbot, window):
    """The Divergences header was one unbreakable line: as its numbers grew it raised the
    panel's minimum width, and the splitter gave the panel the plane's room."""
    show_insight(qtbot, window, (1280, 720))
    panel = window.insight
    panel.show_tab("Divergences")
    settle(qtbot)
    before = (panel.width(), window.plane.width(), panel.minimumSizeHint().width())
    view = panel.divergences
    view.add_rows(rows(123_456_789, js=0.693147, kl=123.456789, w1=12.345678, mmd=1.234567,
                       modes=23, high_quality=0.999, mode_kl=1.0))
    view.refresh(force=True)
    panel.gen_loss.readout.setText("mean D(G(z)) = 0.123  ·  mean L_G = 12345.678  ·  "
                                   "mean |∂L_G/∂D| = 1.23e+04")
    panel.compare.title.setText("A: this session  ·  B: optim.d.betas = [0.123456, 0.999999]")
    settle(qtbot)
    assert "MMD²" in view.readout.text() and "modes 23/8" in view.readout.text()
    after = (panel.width(), window.plane.width(), panel.minimumSizeHint().width())
    assert after == before
    assert view.readout.height() <= 3 * view.readout.fontMetrics().lineSpacing() + 8


# --------------------------------------------------------------------------- item 17


def test_the_noise_axis_keeps_its_minus_sign(qtbot):
    """The z axis's end labels were centred on its ends: half of each fell outside the
    plot, and the left one lost its minus sign ("3.1 … 0 … 3.1")."""
    from gui.insight.one_d_view import OneDView

    view = OneDView()
    qtbot.addWidget(view)
    view.resize(420, 500)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(frame(1, dim=1))
    settle(qtbot)
    left, middle, right = view.z_ticks
    assert (left.toPlainText(), middle.toPlainText(), right.toPlainText()) == \
        ("−3.1", "0", "3.1")
    plot_area = view.item.getViewBox().sceneBoundingRect()
    for tick in view.z_ticks:
        r = tick.sceneBoundingRect()
        assert plot_area.left() <= r.left() and r.right() <= plot_area.right(), \
            (tick.toPlainText(), r, plot_area)

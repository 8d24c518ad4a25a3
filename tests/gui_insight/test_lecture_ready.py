"""Issue #12, the Insight tab: views that never mislead, at the sizes a lecture hall gets.

Engine-free tests feed frames through a link that never starts (its ``snapshot_ready``
signal is what a started one emits); the data-set change and the scrub hook run against
the real engine process.
"""

from __future__ import annotations

import dataclasses
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


def test_a_restart_empties_the_divergence_curves_at_once(qtbot, make_panel):
    """The old set's curves go with the restart itself, not at the view's next refresh: a
    frame painted in between would show ring8's estimates under the new set's title."""
    panel, link = make_panel(tab="Divergences")
    view = panel.divergences
    view.add_rows(np.vstack([rows(10, js=0.3, w1=0.5), rows(20, js=0.2, w1=0.4)]))
    view.refresh()
    assert len(view.curves["js"].xData) == 2
    view.restart({**link.config, "data": {"name": "moons"}}, 20)  # no event loop between
    for column in ("js", "w1"):
        assert view.curves[column].xData is None or len(view.curves[column].xData) == 0


def test_the_divergence_plots_share_one_step_range(qtbot, make_panel):
    """A column that starts later (KL is undefined until G covers the data) ranged over
    its own steps, got other ticks than its neighbours, and they ran together
    ("100015002000"); every plot now spans every estimate's steps."""
    panel, link = make_panel(tab="Divergences")
    view = panel.divergences
    view.add_rows(np.vstack([rows(s, js=0.3, w1=0.5, modes=3, high_quality=0.5)
                             for s in range(0, 500, 100)]
                            + [rows(s, js=0.2, w1=0.4, kl=2.0, modes=4, high_quality=0.6)
                               for s in range(500, 2600, 100)]))
    view.refresh(force=True)
    qtbot.wait(50)
    ranges = {c: item.getViewBox().viewRange()[0] for c, item in view.plots.items()
              if item.scene() is not None}
    assert "kl" in ranges and len(ranges) >= 5
    lo, hi = ranges["js"]
    assert lo <= 0 and hi >= 2500
    near = 0.01 * (hi - lo)  # auto-range pads by a share of each plot's own pixels
    for column, (a, b) in ranges.items():
        assert abs(a - lo) < near and abs(b - hi) < near, (column, (a, b), (lo, hi))


def test_the_data_change_marker_stays_in_view_as_the_new_estimates_come(qtbot, make_panel):
    """The restart's step stays inside the plots' x range: the new set's estimates start
    after it, and auto-ranging over them alone pushed the change's marker off the left."""
    panel, link = make_panel(tab="Divergences")
    view = panel.divergences
    view.add_rows(np.vstack([rows(10, js=0.3, w1=0.5), rows(20, js=0.2, w1=0.4)]))
    view.refresh()
    view.restart({**link.config, "data": {"name": "moons"}}, 25)
    # a sparse cadence: the first estimate comes long after the change (more than the
    # auto-range's padding of a few percent)
    view.add_rows(np.vstack([rows(s, js=0.1, w1=0.3) for s in range(500, 2001, 500)]))
    view.refresh()
    for column in ("js", "w1"):
        vb = view.plots[column].getViewBox()
        qtbot.waitUntil(lambda vb=vb: vb.viewRange()[0][1] >= 2000, timeout=5000)
        x0, x1 = vb.viewRange()[0]
        assert x0 <= 25 < 500 <= x1, (column, x0, x1)
        assert x0 > 25 - 200  # the change and after, not the old set's steps
    view.clear()  # a new run: no anchor left over from the old one
    view.add_rows(np.vstack([rows(s, js=0.1) for s in range(500, 2001, 500)]))
    view.refresh()
    vb = view.plots["js"].getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][0] > 300, timeout=5000)


def test_the_log_2_label_and_the_data_change_marker_s_label_do_not_overlap(qtbot, make_panel):
    """After a data change its marker stands at the plots' left edge, labelled at the top:
    the JS plot's "log 2" hangs below its line at the right, never under that label."""
    panel, link = make_panel(tab="Divergences")
    view = panel.divergences
    view.restart({**link.config, "data": {"name": "moons"}}, 25)
    view.set_swaps([(25, "data → Two moons")])
    view.add_rows(np.vstack([rows(s, js=0.3, w1=0.3) for s in range(500, 2001, 500)]))
    view.refresh()
    index = list(view.plots).index("js")
    qtbot.waitUntil(lambda: view.markers.label(index, 0) is not None, timeout=5000)
    qtbot.wait(50)
    marker = view.markers.label(index, 0).sceneBoundingRect()
    log2 = view.log2_line.label.sceneBoundingRect()
    assert view.markers.label(index, 0).isVisible() and view.log2_line.label.isVisible()
    assert not marker.intersects(log2), (marker, log2)


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
    link.metrics_received.emit(np.vstack([  # the metric rows, as the engine sends them
        rows(step, js=0.5, w1=40.0 + step / 100, modes=6, high_quality=0.12)
        for step in range(100, 3001, 100)]))
    view.refresh()
    assert "modes\u00a06/8" in view.readout.text()  # a wrap never parts name and value
    config = small_config(**{"optim.d.lr": 1e-3})
    link.applied.emit(Applied({"optim.d.lr": 1e-3}, config))  # not a data change: kept
    assert view.point_count == 30
    config = small_config(**{"data.std": 0.05})
    link.applied.emit(Applied({"data.std": 0.05}, config))
    assert view.point_count == 0 and view.mode_plots_shown  # ring8 still has its modes
    assert "since step 3000" in view.readout.text()
    # the empty plots start at the change: not on the old steps and values
    for column, item in view.plots.items():
        (x0, _), (_, y1) = item.getViewBox().viewRange()
        assert x0 >= 3000, column
        assert y1 < 40, column


# --------------------------------------------------------------------------- item 5


def test_timeline_status_never_squeezes_the_slider(qtbot, idle_panel):
    """The status line grew while scrubbing ("step 639 (live 748) · frame 68/78 ·
    scrubbed") until the slider beside it was a 20 px stub at 1280x720. It now has a line
    of its own, elided: the slider's width never changes."""
    panel, link = idle_panel
    click_tab(qtbot, panel, "Timeline")
    timeline = panel.timeline
    link.snapshot_ready.emit(frame(1))
    settle(qtbot)
    width = timeline.slider.width()
    panel_min = panel.minimumSizeHint().width()
    for step in range(2, 120):
        link.snapshot_ready.emit(frame(step * 1_000_003))  # steps with many digits
    qtbot.keyClick(timeline.slider, Qt.Key.Key_Home)  # scrub to the first frame
    assert not timeline.live and "scrubbed" in timeline.step_label.text()
    assert "live at step" in timeline.step_label.text()
    settle(qtbot)
    assert timeline.slider.width() == width >= 120
    assert panel.minimumSizeHint().width() == panel_min
    label = timeline.step_label
    assert label.fontMetrics().horizontalAdvance(label.shown_text()) <= label.width()


def test_timeline_draws_the_first_recorded_frame(qtbot, idle_panel):
    """The first frame recorded (before any scrubbing, whether the tab was open or not)
    is drawn, and scrubbing to it draws it again."""
    panel, link = idle_panel
    timeline = panel.timeline
    first = frame(7)
    link.snapshot_ready.emit(first)  # recorded while the Divergences tab is on screen
    click_tab(qtbot, panel, "Timeline")
    canvas = timeline.canvas
    assert timeline.shown_step == 7 and len(canvas.fake.data) == len(first.fake)
    np.testing.assert_allclose(canvas.image.image, first.heatmap)
    (x0, x1), (y0, y1) = canvas.viewbox.viewRange()
    assert x0 <= BOX[0] and x1 >= BOX[1] and y0 <= BOX[2] and y1 >= BOX[3]
    for step in (8, 9, 10):
        link.snapshot_ready.emit(frame(step))
    assert timeline.shown_step == 10  # live: the newest
    qtbot.keyClick(timeline.slider, Qt.Key.Key_Home)
    assert timeline.shown_step == 7
    np.testing.assert_allclose(canvas.image.image, first.heatmap)
    # a fresh recording (a reset) whose tab is already open draws its first frame too
    timeline.clear()
    link.snapshot_ready.emit(frame(1))
    assert timeline.shown_step == 1 and np.allclose(canvas.image.image, 0.01)


# --------------------------------------------------------------------------- the scrub hook


def test_scrubbing_replays_into_the_frame_views_and_tells_the_window(qtbot, idle_panel):
    """The timeline's controls sit under every tab that draws frames; scrubbing replays the
    recorded frame in the view on screen and emits ``frame_scrubbed(snapshot)`` for the
    window's plane and image views; Live (or leaving the frame tabs) emits
    ``returned_to_live()``."""
    panel, link = idle_panel
    click_tab(qtbot, panel, "D vs D*")
    assert panel.timeline.controls.isVisible()
    frames = [frame(s, dstar=True) for s in (10, 20, 30, 40)]
    for f in frames:
        link.snapshot_ready.emit(f)
    assert panel.dstar.gap_label.text() == f"gap {frames[-1].dstar_gap:.3f}"
    seen: list[Snapshot] = []
    panel.frame_scrubbed.connect(seen.append)
    with qtbot.waitSignal(panel.frame_scrubbed, timeout=1000):
        qtbot.keyClick(panel.timeline.slider, Qt.Key.Key_Home)
    assert seen[-1] is frames[0] and panel.scrubbing and panel.frame is frames[0]
    np.testing.assert_allclose(panel.dstar.d_image.image, frames[0].heatmap)
    assert panel.dstar.gap_label.text() == f"gap {frames[0].dstar_gap:.3f}"
    assert panel.dstar.cursor.isVisible() and panel.dstar.cursor.value() == 10
    assert len(panel.dstar.history) == 4  # a replayed frame never adds to the history
    link.snapshot_ready.emit(frame(50, dstar=True))  # live frames keep being recorded...
    np.testing.assert_allclose(panel.dstar.d_image.image, frames[0].heatmap)  # ...not drawn
    # the other frame views replay the same frame
    click_tab(qtbot, panel, "Generator loss")
    assert panel.scrubbing and "without D's output" in panel.gen_loss.readout.text()
    click_tab(qtbot, panel, "Arrows & manifold")
    assert panel.field.missing_note.isVisible() and "G's push" in panel.field.missing_note.text()
    assert len(panel.field.canvas.fake.data) == len(frames[0].fake)
    with qtbot.waitSignal(panel.returned_to_live, timeout=1000):
        qtbot.mouseClick(panel.timeline.live_button, Qt.MouseButton.LeftButton)
    assert not panel.scrubbing and panel.frame.step == 50
    assert not panel.field.missing_note.isVisible()
    # leaving the frame tabs while scrubbed goes live: no frozen view without its slider
    qtbot.keyClick(panel.timeline.slider, Qt.Key.Key_Home)
    assert panel.scrubbing
    with qtbot.waitSignal(panel.returned_to_live, timeout=1000):
        click_tab(qtbot, panel, "Divergences")
    assert not panel.timeline.controls.isVisible() and not panel.scrubbing


def test_image_frames_are_recorded_and_scrub_the_window(qtbot, idle_panel):
    panel, link = idle_panel
    config = small_config(**{"data.name": "digits"})
    link.applied.emit(Applied({"data.name": "digits"}, config))
    assert panel.current_name() == "Timeline"
    enabled = [panel.tabs.isTabEnabled(i) for i in range(panel.tabs.count())]
    assert enabled == [name in ("Timeline", "Compare") for name in panel.views]
    images = [Snapshot(step=s, fake=np.empty((0, 2)), real=np.empty((0, 2)), heatmap=None,
                       box=(-1.0, 1.0, -1.0, 1.0), heatmap_is_probability=True, dim=0,
                       images_fake=np.full((4, 1, 8, 8), s / 10.0)) for s in (1, 2, 3)]
    for f in images:
        link.snapshot_ready.emit(f)
    assert len(panel.timeline.ring) == 3 and panel.timeline.stack.currentIndex() == 2
    with qtbot.waitSignal(panel.frame_scrubbed, timeout=1000) as got:
        qtbot.keyClick(panel.timeline.slider, Qt.Key.Key_Home)
    assert got.args[0] is images[0]


def test_scrubbing_a_live_engine_replays_dstar(qtbot, make_panel):
    """The same hook on a real engine: frames recorded while the D vs D* tab was shown
    carry D*, and scrubbing back redraws them."""
    panel, link = make_panel(tab="D vs D*")
    panel.timeline.ring.min_interval = 0.0
    link.send(Play())
    ring = panel.timeline.ring
    qtbot.waitUntil(lambda: sum(ring[i].dstar is not None for i in range(len(ring))) >= 3,
                    timeout=TIMEOUT)
    link.send(Pause())
    index = next(i for i in range(len(ring)) if ring[i].dstar is not None)
    with qtbot.waitSignal(panel.frame_scrubbed, timeout=TIMEOUT) as got:
        panel.timeline.scrub_to(index)
    snap = got.args[0]
    assert snap.step == ring[index].step and snap.dstar is not None
    np.testing.assert_allclose(panel.dstar.dstar_image.image, snap.dstar)
    with qtbot.waitSignal(panel.returned_to_live, timeout=TIMEOUT):
        panel.timeline.go_live()


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
    # the JS plot's "log 2" label lies whole inside the plot, however short the plot is
    js_area = view.plots["js"].getViewBox().sceneBoundingRect()
    label = view.log2_line.label.sceneBoundingRect()
    assert view.log2_line.label.isVisible() and js_area.contains(label), (label, js_area)


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
    fakes = dataclasses.replace(frame(5), d_fake=np.full(64, 0.4))
    panel.show_tab("Generator loss")
    panel.gen_loss.show_snapshot(fakes)
    panel.show_tab("Divergences")
    panel.compare.title.setText("A: this session  ·  B: optim.d.betas = [0.123456, 0.999999]")
    settle(qtbot)
    assert "MMD²\u00a01.235" in view.readout.text() and "modes\u00a023/8" in view.readout.text()
    after = (panel.width(), window.plane.width(), panel.minimumSizeHint().width())
    assert after == before
    assert view.readout.height() <= 3 * view.readout.fontMetrics().lineSpacing() + 8
    # the G-loss readout wraps between its "name = value" parts, never inside one
    readout = panel.gen_loss.readout
    lines = wrapped_lines(readout.text(), readout.font(), readout.contentsRect().width())
    assert len(lines) >= 2, lines  # it does wrap beside the plane at 1280x720
    for line in lines:
        assert re.fullmatch(r"(mean \S+ = [\d.e+-]+ *·? *)+", line), lines


def wrapped_lines(text: str, font: Any, width: int) -> list[str]:
    """The lines a word-wrapped label of ``width`` px shows ``text`` on (word joiners
    dropped, no-break spaces as spaces)."""
    from PySide6.QtGui import QTextLayout, QTextOption

    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    lines = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        part = text[line.textStart():line.textStart() + line.textLength()]
        lines.append(part.replace("\u2060", "").replace("\u00a0", " ").strip())
    layout.endLayout()
    return lines


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


# --------------------------------------------------------------------------- the window follows


def test_the_data_plane_follows_the_timeline_and_returns_to_live(qtbot, window):
    """Scrubbing back shows the recorded frame in the data plane too (one moment of the run
    on screen, not two), live frames wait meanwhile, and Live draws the newest one."""
    w = window
    panel = w.insight
    panel.timeline.ring.min_interval = 0.0
    w.right_tabs.setCurrentWidget(panel)
    click_tab(qtbot, panel, "D vs D*")
    frames = [frame(s, dstar=True) for s in (10, 20, 30)]
    for f in frames:
        w.link.snapshot_ready.emit(f)
    assert w.plane._last_snap is frames[-1]
    qtbot.keyClick(panel.timeline.slider, Qt.Key.Key_Home)
    assert panel.scrubbing
    assert w.plane._last_snap is frames[0]
    assert "step 10" in w.statusBar().currentMessage()
    live = frame(40, dstar=True)
    w.link.snapshot_ready.emit(live)  # training goes on: recorded, not drawn
    assert w.plane._last_snap is frames[0]
    qtbot.mouseClick(panel.timeline.live_button, Qt.MouseButton.LeftButton)
    assert not panel.scrubbing
    assert w.plane._last_snap is live
    assert w.statusBar().currentMessage() == ""


def test_switching_to_1d_data_leaves_nothing_of_the_2d_set_on_the_plane(qtbot, window):
    """Item 4: after "Switch to 1-D data" the plane showed ring8's points and heatmap under
    its "not 2-D" note."""
    w = window
    w.link.snapshot_ready.emit(frame(10))
    assert w.plane.fake.count > 0 and w.plane.image.image is not None
    w.link.snapshot_ready.emit(frame(20, dim=1))
    assert "not 2-D" in w.plane.note.toPlainText()
    assert w.plane.fake.count == 0 and w.plane.real.count == 0
    assert w.plane.image.image is None
    w.link.snapshot_ready.emit(frame(30))  # back to 2-D: drawn again
    assert w.plane.fake.count > 0 and w.plane.image.image is not None


def test_views_that_read_d_say_d_is_not_trained_under_moment_matching(qtbot, make_panel):
    """``loss.name = mmd`` trains no D: D vs D*, the generator loss and the arrows say so
    instead of drawing an untrained D as if it meant something."""

    panel, link = make_panel(tab="D vs D*", **{"loss.name": "mmd"})
    link.send(Play())
    dstar = panel.dstar
    qtbot.waitUntil(lambda: dstar.stack.currentIndex() == 2, timeout=TIMEOUT)
    assert "trains no discriminator" in dstar.explanation.text()
    panel.show_tab("Generator loss")
    qtbot.waitUntil(lambda: "not trained" in panel.gen_loss.explain.text(), timeout=TIMEOUT)
    assert "MMD" in panel.gen_loss.formula.text()
    panel.show_tab("Arrows & manifold")
    note = panel.field.missing_note
    qtbot.waitUntil(lambda: note.isVisible() and "not trained" in note.text(),
                    timeout=TIMEOUT)
    # a loss that trains D again: the notes go
    link.send(Apply({"loss.name": "hinge"}))
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=TIMEOUT)
    panel.show_tab("Generator loss")
    qtbot.waitUntil(lambda: "not trained" not in panel.gen_loss.explain.text(),
                    timeout=TIMEOUT)


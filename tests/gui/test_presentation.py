"""A window made to be projected: zoom, themes, full screen, the lecture layout, a heatmap
that covers what is on screen, and nothing that needs more than 1280 pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QGroupBox

from engine.metrics import COLUMNS
from engine.protocol import Step
from gui import appearance as A

TIMEOUT = 20_000


@pytest.fixture
def look(tmp_path, monkeypatch):
    """A fresh Appearance with its own settings (the app's one is replaced for the test)."""
    settings = QSettings(str(tmp_path / "look.ini"), QSettings.Format.IniFormat)
    fresh = A.Appearance(settings)
    monkeypatch.setattr(A, "_INSTANCE", fresh)
    app = QApplication.instance()
    font, palette = app.font(), app.palette()
    yield fresh
    fresh.theme, fresh.zoom = "dark", 1.0
    app.setFont(font)
    app.setPalette(palette)


def _tick_pt(view: pg.PlotWidget) -> float:
    return view.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF()


def test_zoom_scales_text_lines_and_markers_together_and_is_remembered(qtbot, make_window, look):
    window = make_window()
    base_font = QApplication.instance().font().pointSizeF()
    base_tick = _tick_pt(window.curves.plots["loss"])
    dot = window.plane.fake._dot.width()
    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert look.zoom > 1.0
    assert QApplication.instance().font().pointSizeF() == pytest.approx(base_font * look.zoom)
    assert _tick_pt(window.curves.plots["loss"]) == pytest.approx(base_tick * look.zoom, rel=0.05)
    assert window.plane.fake._dot.width() > dot
    pen = window.curves.curves["d_loss"].opts["pen"]
    assert pg.mkPen(pen).widthF() == pytest.approx(look.zoom, rel=0.05)
    assert float(look.settings.value("appearance/zoom")) == look.zoom
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert look.zoom == 1.0
    assert _tick_pt(window.curves.plots["loss"]) == pytest.approx(base_tick, rel=0.05)
    assert window.plane.fake._dot.width() == dot


def test_the_light_theme_restyles_every_view_and_back(qtbot, make_window, look):
    window = make_window()
    plane_bg = lambda: window.plane.plot.backgroundBrush().color().name()  # noqa: E731
    assert plane_bg() == A.DARK.plot_background
    look.set_theme("light")
    assert plane_bg() == A.LIGHT.plot_background
    assert window.curves.plots["loss"].backgroundBrush().color().name() == A.LIGHT.plot_background
    axis = window.curves.plots["loss"].getPlotItem().getAxis("left")
    assert axis.pen().color().name() == A.LIGHT.axis
    assert QApplication.instance().palette().window().color() == QColor(A.LIGHT.window)
    # an explanatory line written in the dark theme's light grey is readable on white now
    assert "#d8dbe0" not in window.plane.note.color.name()
    assert look.settings.value("appearance/theme") == "light"
    look.set_theme("dark")
    assert plane_bg() == A.DARK.plot_background
    assert axis.pen().color().name() == A.DARK.axis


def test_a_window_built_under_the_current_look_repolishes_nothing(qtbot, make_window, look,
                                                                 monkeypatch):
    """Setting the application's palette, style sheet or font re-polishes every widget of
    the application (thousands per window), so applying an unchanged look sets none of
    them; a change of theme or zoom still does (the tests above)."""
    make_window()
    app = QApplication.instance()
    calls: list[str] = []
    for name in ("setPalette", "setStyleSheet", "setFont"):
        monkeypatch.setattr(app, name, lambda *a, name=name: calls.append(name))
    make_window()
    look.apply()
    assert calls == []


def test_a_refusal_and_the_swap_labels_stay_readable_across_a_theme_switch(qtbot, make_window,
                                                                           look):
    """A warning shown in the dark theme, then the light one: its bar turns light with its
    text (only the text was swapped: dark amber on the dark bar); a swap marker's label box
    turns light with its text too; a warning shown now wears the light theme at once."""
    window = make_window()
    window.message.show_message("Not applied: optim.d.lr: 5 is out of range", "warning")
    window.right_tabs.setCurrentWidget(window.insight)
    window.insight.show_tab("Divergences")
    view = window.insight.divergences
    estimates = np.full((2, len(COLUMNS)), np.nan)
    estimates[:, COLUMNS.index("step")] = (100, 200)
    estimates[:, COLUMNS.index("js")] = (0.3, 0.2)
    view.add_rows(estimates)
    view.refresh()
    view.set_swaps([(150, "loss → hinge")])
    markers = view.markers
    qtbot.waitUntil(lambda: markers.label(0, 0) is not None, timeout=5000)
    look.set_theme("light")
    light_bg, light_fg = "#fef3c7", "#5b4506"  # the light theme's warning bar (theme.py)
    assert light_bg in window.message.styleSheet() and light_fg in window.message.styleSheet()
    label = markers.label(0, 0)
    assert label.fill.color().lightness() > 200 and label.color.lightness() < 128
    window.message.show_message("Not applied: again", "warning")
    assert light_bg in window.message.styleSheet()
    made = markers._new_label(view.plots["js"])  # a label made in the light theme wears it
    assert made.fill.color().lightness() > 200 and made.color.lightness() < 128
    look.set_theme("dark")
    assert "#4a3b12" in window.message.styleSheet()  # and back
    assert label.fill.color().lightness() < 60


def test_following_the_system_uses_its_scheme(look, monkeypatch):
    class Hints:
        def colorScheme(self):  # noqa: N802
            return Qt.ColorScheme.Light

    monkeypatch.setattr(A.QGuiApplication, "styleHints", staticmethod(lambda: Hints()))
    look.theme = "system"
    assert look.effective == "light"
    look.theme = "dark"
    assert look.effective == "dark"


def test_f11_toggles_full_screen(qtbot, make_window):
    window = make_window()
    window.toggle_full_screen()
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    assert window.full_screen_action.isChecked()
    window.toggle_full_screen()
    assert not window.windowState() & Qt.WindowState.WindowFullScreen


def test_the_lecture_layout_shows_the_plane_beside_one_plot_and_restores(qtbot, make_window):
    window = make_window()
    window.resize(1280, 720)
    assert window.scroll.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.lecture.active and not window.scroll.isVisible()
    shown = [k for k, p in window.curves.plots.items() if p.isVisibleTo(window.curves)]
    assert shown == ["loss"]
    window.lecture.chooser.setCurrentIndex(window.lecture.chooser.findText("Gradient norms"))
    shown = [k for k, p in window.curves.plots.items() if p.isVisibleTo(window.curves)]
    assert shown == ["grads"]
    window.lecture.chooser.setCurrentIndex(window.lecture.chooser.findText("Insight: D vs D*"))
    assert window.right_tabs.currentWidget() is window.insight
    assert window.insight.current_name() == "D vs D*"
    window.lecture.toggle()
    assert window.scroll.isVisible() and window.right_tabs.tabBar().isVisible()
    shown = [k for k, p in window.curves.plots.items() if p.isVisibleTo(window.curves)]
    assert shown == ["loss", "outputs", "grads"]


def test_the_heatmap_covers_what_the_plane_shows(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.link.snapshot_ready, timeout=TIMEOUT):
        window.link.send(Step())
    box = window.plane._box
    window.plane.viewbox.setRange(xRange=(box[0] - 6, box[1] + 6),
                                  yRange=(box[2] - 6, box[3] + 6), padding=0)
    qtbot.waitUntil(lambda: window.link.view is not None and window.link.view.heat_box is not None
                    and window.link.view.heat_box[0] <= box[0] - 6, timeout=TIMEOUT)

    def covers(snap: Any) -> bool:
        return snap.heat_box is not None and snap.heat_box[0] <= box[0] - 6

    with qtbot.waitSignal(window.link.snapshot_ready, timeout=TIMEOUT, check_params_cb=covers):
        window.link.send(Step())
    rect = window.plane.image.mapRectToParent(window.plane.image.boundingRect())
    assert rect.left() <= box[0] - 6 + 1e-6 and rect.right() >= box[1] + 6 - 1e-6


def test_draw_mode_shows_it_is_on_and_never_widens_the_window(qtbot, make_window):
    window = make_window()
    before = window.minimumSizeHint().width()
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert window.plane.draw_button.isChecked() and "Drawing" in window.plane.draw_button.text()
    assert window.minimumSizeHint().width() <= max(before, 1280)


def test_the_window_fits_a_1280_by_720_screen(qtbot, make_window):
    window = make_window()
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720


def test_a_batch_norm_generator_turns_the_batch_mates_overlay_on(qtbot, make_window):
    window = make_window(**{"generator.norm": "batch"})
    assert window.plane.layer_visible("mates") and window.link.view.batch_mates > 0
    window.link.send(Step())
    qtbot.waitUntil(lambda: window.plane.mates_spread is not None
                    and window.plane.mates_spread > 0, timeout=TIMEOUT)
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        window.apply_changes({"generator.norm": "reference"})
    window.link.send(Step())
    qtbot.waitUntil(lambda: window.plane.mates_spread == 0.0, timeout=TIMEOUT)


def test_minibatch_features_say_what_the_heatmap_shows(qtbot, make_window):
    window = make_window()
    assert "minibatch" not in window.plane.plot.toolTip()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        window.apply_changes({"discriminator.minibatch": "discrimination"})
    assert "batch of the current fakes" in window.plane.plot.toolTip()


def test_the_app_logs_to_tensorboard_while_asked(qtbot, make_window, tmp_path):
    from engine.tensorboard import read_events

    window = make_window()
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT) as saved:
        window.toggle_tensorboard(str(tmp_path / "tb"))
    assert saved.args[0].what == "tensorboard" and saved.args[0].path.startswith(
        str(tmp_path / "tb"))
    assert "tensorboard --logdir" in window.message.text()
    for _ in range(3):
        window.link.send(Step())
    qtbot.waitUntil(lambda: window.link.state.step >= 3, timeout=TIMEOUT)
    window.toggle_tensorboard()  # off: the log is closed and flushed
    assert not window.tensorboard_action.isChecked()
    qtbot.waitUntil(lambda: any(v.tag == "loss/d" for ev in read_events(tmp_path / "tb")
                                for v in ev.summary.value), timeout=TIMEOUT)


def test_restyling_skips_a_window_already_destroyed(qtbot):
    """A window closed and destroyed while its Python wrapper lingers (a test's, a dialog's)
    made View > Zoom raise 'Internal C++ object already deleted' halfway through the walk,
    leaving the rest of the app unzoomed."""
    import shiboken6
    from PySide6.QtWidgets import QLabel, QWidget

    gone, alive = QWidget(), QWidget()
    QLabel("x", alive)
    shiboken6.delete(gone)
    assert [type(w).__name__ for w in A._live_widgets([gone, alive])] == ["QWidget", "QLabel"]
    alive.deleteLater()


def _left_edge(box: Any) -> set[str]:
    """The colours down a group box's left edge, as drawn."""
    image = box.grab().toImage()
    return {QColor(image.pixel(x, y)).name()
            for x in range(2) for y in range(20, max(21, image.height() - 10))}


def test_a_theme_switch_reframes_the_group_boxes_without_repolishing_the_application(
        qtbot, make_window, look, monkeypatch):
    """The group boxes' frames follow the theme, set on the window: a style sheet set on
    the application re-polishes every widget of it (pyqtgraph's hundreds of hidden context
    menus too) and froze the window for a second at each switch."""
    window = make_window()
    box = window.findChild(QGroupBox)
    assert box is not None and box.isVisible()
    dark_frame, light_frame = "#3a3e46", "#c7ccd4"
    assert dark_frame in _left_edge(box)
    app = QApplication.instance()
    repolished: list[str] = []
    monkeypatch.setattr(app, "setStyleSheet", lambda *a: repolished.append("setStyleSheet"))
    look.set_theme("light")
    assert repolished == []
    edge = _left_edge(box)
    assert light_frame in edge and dark_frame not in edge
    look.set_theme("dark")
    assert dark_frame in _left_edge(box)


def test_a_view_in_a_hidden_tab_wears_the_new_theme_when_its_tab_is_shown(qtbot, make_window,
                                                                          look):
    """A theme switch restyles the views on screen at once and each hidden one as its tab
    is shown (all of them at once took ~0.1 s more per switch, for views no one sees):
    none is ever seen in the old theme, however many switches come in between."""
    window = make_window()
    window.right_tabs.setCurrentWidget(window.curves)
    js = window.insight.divergences.plots["js"]
    div = js.getViewWidget()
    background = lambda: div.backgroundBrush().color().name()  # noqa: E731
    assert not div.isVisible() and background() == "#17181c"  # the dark theme's plots
    look.set_theme("light")
    look.set_zoom(1.5)
    look.set_theme("dark")
    look.set_theme("light")
    assert window.curves.plots["loss"].backgroundBrush().color().name() == "#ffffff"
    assert background() == "#17181c"  # the cost: nothing done yet for what no one sees
    window.right_tabs.setCurrentWidget(window.insight)
    window.insight.show_tab("Divergences")
    assert div.isVisible()
    assert background() == "#ffffff"
    axis = js.getAxis("bottom")
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(
        window.curves.plots["loss"].getPlotItem().getAxis("bottom").style["tickFont"]
        .pointSizeF(), rel=0.01)  # the zoom, too
    look.set_zoom(1.0)

"""The games lab: what it draws is what ``engine.games`` computes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from engine.games import (
    GamePlayer,
    GameSettings,
    jacobian_eigenvalues,
    predicted_distance,
    run,
)
from gui.labs.common import run_colour

QUADRATIC = {"game": "quadratic", "update": "simultaneous", "lr": 0.1, "start": (1.0, 0.5)}


def xy(item) -> tuple[np.ndarray, np.ndarray]:
    """What a curve draws (empty arrays for an empty curve)."""
    x, y = item.xData, item.yData
    return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None
                                                          else np.asarray(y))


def test_stepping_draws_the_engine_trajectory(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.advance(30)
    for _ in range(5):
        lab.actions["step"].trigger()  # S
    expected = run(35, **QUADRATIC)
    x, y = xy(lab.traj["A"])
    np.testing.assert_array_equal(np.column_stack([x, y]), expected)
    hx, hy = xy(lab.head["A"])
    assert (hx[0], hy[0]) == tuple(expected[-1])
    assert "step 35" in lab.steps_label.text()


def test_play_steps_on_the_timer_and_pause_stops(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.actions["play"].trigger()  # Space
    assert lab.playing and lab.timer.isActive()
    qtbot.waitUntil(lambda: lab.player.steps_done >= 3, timeout=5000)
    lab.actions["play"].trigger()
    assert not lab.playing and not lab.timer.isActive()
    n = lab.player.steps_done
    np.testing.assert_array_equal(np.column_stack(xy(lab.traj["A"])), run(n, **QUADRATIC))
    lab.actions["reset"].trigger()  # Ctrl+R
    assert lab.player.steps_done == 0
    assert xy(lab.traj["A"])[0].size == 1


def test_speed_keys_change_the_speed(games_lab):
    lab = games_lab(**QUADRATIC)
    before = lab.speed_index
    lab.actions["faster"].trigger()
    assert lab.speed_index == before + 1
    lab.actions["slower"].trigger()
    lab.actions["slower"].trigger()
    assert lab.speed_index == before - 1
    assert lab.speed_label.text().endswith("steps/s")


def test_clicking_the_plane_restarts_from_there(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.advance(10)
    vb = lab.plane.getPlotItem().vb
    target = QPointF(0.6, -0.4)
    scene = vb.mapViewToScene(target)
    pixel = lab.plane.mapFromScene(scene)
    qtbot.mouseClick(lab.plane.viewport(), Qt.MouseButton.LeftButton, pos=pixel)
    x0, y0 = lab.player.settings.start
    assert lab.player.steps_done == 0
    # one pixel of the plane is well under 0.02 here
    assert abs(x0 - 0.6) < 0.02 and abs(y0 + 0.4) < 0.02
    assert (lab.controls.start_x.value(), lab.controls.start_y.value()) == \
        pytest.approx((x0, y0), abs=0.006)
    lab.advance(5)
    expected = run(5, **{**QUADRATIC, "start": (x0, y0)})
    np.testing.assert_array_equal(np.column_stack(xy(lab.traj["A"])), expected)


def test_the_prediction_line_is_predicted_distance(games_lab):
    lab = games_lab(**QUADRATIC)
    lab.advance(40)
    px, py = xy(lab.pred["A"])
    expected = predicted_distance(GameSettings(**QUADRATIC), 40)
    np.testing.assert_array_equal(px, np.arange(41))
    np.testing.assert_array_equal(py, expected)
    dx, dy = xy(lab.dist["A"])
    np.testing.assert_allclose(dy, np.hypot(*run(40, **QUADRATIC).T), rtol=0, atol=0)
    # no closed form (Adam): no line
    lab.request_change({"optim": "adam"})
    assert xy(lab.pred["A"])[0].size == 0
    assert "no closed form" in lab.distance_caption.text()


def test_a_changed_setting_restarts_the_prediction_there(games_lab):
    lab = games_lab(**QUADRATIC)
    lab.advance(10)
    assert lab.request_change({"lr": 0.2})
    lab.advance(10)
    px, py = xy(lab.pred["A"])
    s = GameSettings(**{**QUADRATIC, "lr": 0.2, "start": tuple(lab.player.trajectory[10])})
    np.testing.assert_array_equal(px, np.arange(10, 21))
    np.testing.assert_array_equal(py, predicted_distance(s, 10))


def test_the_eigenvalues_drawn_are_the_jacobians(games_lab):
    lab = games_lab(game="dirac", reg="r1", gamma=0.3)
    ex, ey = xy(lab.eig["A"])
    expected = jacobian_eigenvalues(GameSettings(game="dirac", reg="r1", gamma=0.3))
    np.testing.assert_array_equal(ex, expected.real)
    np.testing.assert_array_equal(ey, expected.imag)
    assert lab.unit_circle.isVisible() and not lab.imag_axis.isVisible()
    assert "inside: converges; outside: diverges; on it: cycles" in lab.eigen_caption.text()
    # the flow: the imaginary axis instead of the circle
    assert lab.request_change({"update": "flow"})
    expected = jacobian_eigenvalues(lab.player.settings)
    np.testing.assert_array_equal(xy(lab.eig["A"])[0], expected.real)
    assert lab.imag_axis.isVisible() and not lab.unit_circle.isVisible()
    assert "imaginary axis" in lab.eigen_caption.text()
    assert "converges" in lab.eigen_readout.text()


def test_an_invalid_combination_is_refused_and_the_control_springs_back(games_lab):
    lab = games_lab(**QUADRATIC)
    combo = lab.controls.reg
    combo.setCurrentIndex(combo.findData("r1"))
    combo.activated.emit(combo.currentIndex())  # as a user's pick does
    assert lab.player.settings.reg == "none"
    assert combo.currentData() == "none"
    assert lab.message.isVisible()
    assert "needs the dirac game" in lab.message.text()
    assert "\n" not in lab.message.text() and "<br" not in lab.message.text()
    # the flow takes plain sgd only
    optim = lab.controls.optim
    optim.setCurrentIndex(optim.findData("adam"))
    optim.activated.emit(optim.currentIndex())
    assert lab.player.settings.optim == "adam"
    upd = lab.controls.update_rule
    upd.setCurrentIndex(upd.findData("flow"))
    upd.activated.emit(upd.currentIndex())
    assert lab.player.settings.update == "simultaneous"
    assert upd.currentData() == "simultaneous"
    assert "optim:" in lab.message.text()
    # a valid change clears the message
    lab.controls.lr.setValue(0.05)
    assert lab.player.settings.lr == 0.05 and not lab.message.isVisible()


def test_compare_run_b_draws_in_its_own_colour(games_lab):
    lab = games_lab(game="bilinear", lr=0.1)
    assert lab.set_compare("update", "alternating")
    lab.advance(50)
    b = lab.player_b
    assert b is not None and b.settings.update == "alternating"
    expected_b = run(50, game="bilinear", lr=0.1, update="alternating")
    np.testing.assert_array_equal(np.column_stack(xy(lab.traj["B"])), expected_b)
    np.testing.assert_array_equal(xy(lab.dist["B"])[1], np.hypot(*expected_b.T))
    colour_a = lab.traj["A"].opts["pen"].color()
    colour_b = lab.traj["B"].opts["pen"].color()
    assert colour_b == QColor(run_colour("B")) and colour_a == QColor(run_colour("A"))
    assert colour_a != colour_b
    assert lab.dist["B"].opts["pen"].color() == QColor(run_colour("B"))
    # B follows A's other changes, keeps its own
    assert lab.request_change({"lr": 0.05})
    assert b.settings.lr == 0.05 and b.settings.update == "alternating"
    # a change B cannot take is refused for both
    lab.set_compare("update", "flow")
    assert not lab.request_change({"optim": "adam"})
    assert "run B" in lab.message.text() and lab.player.settings.optim == "sgd"
    lab.set_compare(None)
    assert lab.player_b is None and xy(lab.traj["B"])[0].size == 0


def test_diverging_stops_play_with_a_message(games_lab, qtbot):
    lab = games_lab(game="quadratic", lr=10.0)  # |1 − η| = 9 per step
    lab.speed_slider.setValue(lab.speed_slider.maximum())  # full speed
    lab.actions["play"].trigger()
    qtbot.waitUntil(lambda: not lab.playing, timeout=10_000)
    assert not lab.timer.isActive()
    assert not lab.actions["play"].isChecked()
    assert "diverged" in lab.message.text() and lab.message.isVisible()
    rows = lab.player.trajectory
    np.testing.assert_array_equal(rows, run(rows.shape[0] - 1, game="quadratic", lr=10.0))
    lab.actions["play"].trigger()  # refused: it stays stopped
    assert not lab.playing
    lab.actions["reset"].trigger()
    assert lab.player.steps_done == 0 and not lab.run_a.stopped


def test_the_flow_stalling_stops_play_too(games_lab, monkeypatch):
    from engine.games import FlowStalled

    lab = games_lab(game="dirac", update="flow")

    def stall(n: int = 1):
        raise FlowStalled(step=3, rows=3)

    monkeypatch.setattr(lab.player, "step", stall)
    lab.play()
    lab.advance(1)
    assert not lab.playing
    assert "stalled" in lab.message.text()


def test_presets_load_with_their_description(games_lab):
    lab = games_lab()
    names = [lab.preset_combo.itemData(i) for i in range(lab.preset_combo.count())]
    for name in ("game_quadratic", "game_bilinear_simultaneous", "game_bilinear_alternating",
                 "dirac_unregularized", "dirac_r1", "dirac_instance_noise"):
        assert name in names
    lab.load_preset("dirac_r1")
    s = lab.player.settings
    assert (s.game, s.reg, s.gamma) == ("dirac", "r1", 0.3)
    assert "R1" in lab.preset_caption.text()
    assert lab.controls.reg.currentData() == "r1"
    assert lab.stop_at == 500
    lab.play()
    lab.advance(600)
    assert lab.player.steps_done == 500 and not lab.playing
    ref = GamePlayer(s)
    ref.step(500)
    np.testing.assert_array_equal(lab.player.trajectory, ref.trajectory)


def test_both_themes_and_zoom(games_lab):
    from gui.appearance import appearance

    lab = games_lab(**QUADRATIC)
    look = appearance()
    before = look.theme, look.zoom
    try:
        look.theme, look.zoom = "light", 1.5
        look.apply()
        assert lab.traj["A"].opts["pen"].color() == QColor(run_colour("A"))
        assert run_colour("A") == "#1d4ed8"
        assert lab.traj["A"].opts["pen"].widthF() == pytest.approx(1.5 * 1.5)
        look.theme = "dark"
        look.apply()
    finally:
        look.theme, look.zoom = before
        look.apply()
    assert lab.traj["A"].opts["pen"].color() == QColor(run_colour("A"))


def test_keys_drive_the_transport(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.activateWindow()
    lab.plane.setFocus()
    qtbot.waitUntil(lambda: lab.plane.hasFocus(), timeout=5000)
    qtbot.keyClick(lab.plane, Qt.Key.Key_S)
    qtbot.keyClick(lab.plane, Qt.Key.Key_S)
    assert lab.player.steps_done == 2
    speed = lab.speed_index
    qtbot.keyClick(lab.plane, Qt.Key.Key_BracketRight)
    assert lab.speed_index == speed + 1
    qtbot.keyClick(lab.plane, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert lab.player.steps_done == 0
    qtbot.keyClick(lab.plane, Qt.Key.Key_Space)
    assert lab.playing
    qtbot.keyClick(lab.plane, Qt.Key.Key_Space)
    assert not lab.playing


def test_open_games_lab_is_a_window_of_its_own(qtbot):
    from PySide6.QtWidgets import QWidget

    from gui.labs import GamesLab, open_divergence_lab, open_games_lab

    owner = QWidget()
    qtbot.addWidget(owner)
    lab = open_games_lab(owner)
    assert isinstance(lab, GamesLab) and lab.isWindow() and lab.isVisible()
    assert lab.parent() is owner and not lab.isModal()
    # never wider or taller than the screen leaves room for (the offscreen one: 800×800)
    avail = owner.screen().availableGeometry()
    assert avail.width() < 1280
    assert lab.width() <= avail.width() - 16 and lab.height() <= avail.height() - 48
    lab.close()
    div = open_divergence_lab(owner)
    assert div.isWindow() and div.isVisible() and not div.isModal()
    div.close()


def test_zoom_to_the_eigenvalues(games_lab):
    lab = games_lab(game="dirac", reg="r1", gamma=0.3)
    vb = lab.eigen.getPlotItem().vb
    (x_lo, x_hi), _ = vb.viewRange()
    assert x_lo <= -1 and x_hi >= 1  # the whole unit circle
    lab.eigen_zoom.setChecked(True)
    (x_lo, x_hi), (y_lo, y_hi) = vb.viewRange()
    eigs = jacobian_eigenvalues(lab.player.settings)
    assert x_lo > 0.5 and (x_lo < eigs.real).all() and (eigs.real < x_hi).all()
    assert (y_lo < eigs.imag).all() and (eigs.imag < y_hi).all()


def test_keys_reach_the_lab_in_a_tab_beside_the_trainers_own(qtbot):
    """In a tab of a window with its own Space, S, [ ] and Ctrl+R, the lab's keys are not
    ambiguous: with the focus in the lab, the lab gets them."""
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QMainWindow, QTabWidget

    from gui.labs import GamesLab

    window = QMainWindow()
    qtbot.addWidget(window)
    main_hits = []
    for key in ("Space", "S", "[", "]", "Ctrl+R"):
        action = QAction(key, window)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False, k=key: main_hits.append(k))
        window.addAction(action)
    tabs = QTabWidget()
    lab = GamesLab(settings=GameSettings(**QUADRATIC))
    tabs.addTab(lab, "Games lab")
    window.setCentralWidget(tabs)
    window.resize(1100, 650)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    for target in (lab.plane, lab.controls.update_rule):
        target.setFocus()
        qtbot.waitUntil(target.hasFocus, timeout=5000)
        qtbot.keyClick(target, Qt.Key.Key_S)
    assert lab.player.steps_done == 2
    qtbot.keyClick(lab.plane, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(lab.plane, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert lab.player.steps_done == 0
    qtbot.keyClick(lab.controls.update_rule, Qt.Key.Key_Space)
    assert lab.playing
    lab.pause()
    assert main_hits == []
    # a spin box keeps what is typed into it
    lab.controls.lr.lineEdit().setFocus()
    qtbot.keyClick(lab.controls.lr.lineEdit(), Qt.Key.Key_S)
    assert lab.player.steps_done == 0


def test_the_distance_axis_labels_a_short_range(qtbot):
    """A run whose distance stays between 1.2 and 2.8 (no 1, 2, 5 · 10ⁿ pair in view) still
    gets numbers: round values, evenly spaced, inside the range."""
    import math

    from gui.labs.games_lab import DistanceAxis

    axis = DistanceAxis("left")
    axis.setLogMode(False, True)
    axis.setRange(math.log10(1.2), math.log10(2.8))
    labels = []
    for spacing, values in axis.tickValues(math.log10(1.2), math.log10(2.8), 300):
        labels += [t for t in axis.logTickStrings(values, 1.0, spacing) if t]
    numbers = [float(t) for t in labels]
    assert len(numbers) >= 2
    assert all(1.2 <= v <= 2.8 for v in numbers)
    gaps = np.diff(numbers)
    np.testing.assert_allclose(gaps, gaps[0])
    assert all(len(t.replace(".", "")) <= 2 for t in labels)  # round: 1.5, 2, 2.5
    # a range over decades keeps the log axis's own 1, 2, 5 labels
    axis.setRange(-3.0, 1.0)
    labels = []
    for spacing, values in axis.tickValues(-3.0, 1.0, 300):
        labels += [t for t in axis.logTickStrings(values, 1.0, spacing) if t]
    assert labels and all(t.lstrip("0.").rstrip("0").rstrip(".")[:1] in "125" for t in labels)


@pytest.mark.parametrize(("settings", "verdict", "radius"), [
    ({"game": "quadratic", "lr": 0.1}, "converges", 0.9),  # |1 − η|
    ({"game": "bilinear", "lr": 0.1}, "diverges", np.sqrt(1.01)),  # √(1 + η²)
    ({"game": "bilinear", "lr": 0.1, "update": "alternating"}, "cycles", 1.0),
    ({"game": "bilinear", "lr": 0.1, "update": "extragradient"}, "converges", None),
    ({"game": "dirac", "lr": 0.1, "start": (0.1, 0.1)}, "diverges", None),  # near (0, 0)
    ({"game": "dirac", "lr": 0.1, "reg": "r1", "gamma": 1.0, "start": (0.1, 0.1)}, "converges",
     None),
])
def test_eigenvalues_sit_inside_or_outside_the_unit_circle_per_game(
        games_lab, settings, verdict, radius):
    lab = games_lab(**settings)
    ex, ey = xy(lab.eig["A"])
    moduli = np.hypot(ex, ey)
    if radius is not None:
        np.testing.assert_allclose(moduli, radius, rtol=1e-9)
    top = moduli.max()
    if verdict == "converges":
        assert top < 1
    elif verdict == "diverges":
        assert top > 1
    else:
        assert top == pytest.approx(1.0, abs=1e-9)
    assert lab.unit_circle.isVisible()
    assert f"→ {verdict}" in lab.eigen_readout.text()
    # and the run does what its eigenvalues say
    lab.advance(200)
    d = np.hypot(*lab.player.trajectory.T)
    if verdict == "converges":
        assert d[-1] < d[0]
    elif verdict == "diverges":
        assert d[-1] > d[0]


def test_typing_a_start_point_restarts_the_run_there(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.advance(10)
    edit = lab.controls.start_x.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "0.3")
    assert lab.player.steps_done == 10  # nothing happens until typing is done
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert lab.player.settings.start == (0.3, 0.5)
    assert lab.player.steps_done == 0
    lab.advance(7)
    np.testing.assert_array_equal(np.column_stack(xy(lab.traj["A"])),
                                  run(7, **{**QUADRATIC, "start": (0.3, 0.5)}))


def test_typed_nonsense_changes_nothing(games_lab, qtbot):
    lab = games_lab(**QUADRATIC)
    lab.advance(4)
    before = lab.player.settings
    rows = lab.player.trajectory.copy()
    for spin in (lab.controls.lr, lab.controls.start_y):
        edit = spin.lineEdit()
        edit.selectAll()
        qtbot.keyClicks(edit, "abc")
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert lab.player.settings == before
    np.testing.assert_array_equal(lab.player.trajectory, rows)
    assert lab.controls.lr.value() == before.lr
    assert lab.controls.start_y.value() == before.start[1]


def test_the_distance_plot_counts_steps_from_zero_before_the_first_step(games_lab):
    """A fresh run is one point at step 0: the step axis reads 0..10, never negative
    steps; after a long run it follows the run, and a zoom of the user's own stays."""
    lab = games_lab(**QUADRATIC)
    vb = lab.distance.getPlotItem().vb
    (x0, x1), _ = vb.viewRange()
    assert x0 >= 0 and x1 >= 10
    lab.advance(200)
    vb.updateAutoRange()  # pyqtgraph applies it at the next paint
    (x0, x1), _ = vb.viewRange()
    assert x1 >= 200
    vb.setXRange(50, 80, padding=0)  # the user zooms in
    lab.advance(5)
    (x0, x1), _ = vb.viewRange()
    assert (x0, x1) == (50, 80)

"""The window drives the real engine: play, pause, steps, swaps while training, rejections,
drawing, importing, closing, and painting the real plots."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.protocol import Diverged, Failed

TIMEOUT = 10_000


def choose(window: Any, key: str, value: str) -> None:
    """Pick ``value`` in the combo box of config ``key`` as a user would (emits activated)."""
    combo = window.panel.fields[key].widget
    i = combo.findData(value)
    assert i >= 0, f"{value!r} is not offered for {key}"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def type_text(qtbot: Any, window: Any, key: str, text: str) -> None:
    """Replace the text of a line-edit field by typing, then press Enter."""
    edit = window.panel.fields[key].widget
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def applied_with(key: str) -> Any:
    """A ``check_params_cb`` for ``waitSignal(link.applied)``: an Applied that changed key."""
    return lambda ev: key in ev.changes


def session_config(window: Any) -> dict[str, Any]:
    """The engine's effective config (read after an Applied event, as the tests do)."""
    return window.link.state.config


def wait_steps(qtbot, window, more: int = 5) -> int:
    start = window.link.state.step
    qtbot.waitUntil(lambda: window.link.state.step >= start + more, timeout=TIMEOUT)
    return window.link.state.step


def play(qtbot, window) -> None:
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.transport.actions["play"].isChecked(), timeout=TIMEOUT)
    wait_steps(qtbot, window)


def pause(qtbot, window) -> None:
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT,
                          check_params_cb=lambda s: not s.running):
        window.transport.actions["play"].trigger()


def test_play_then_pause_stops_training(qtbot, make_window):
    window = make_window()
    assert window.windowTitle().endswith("GAN Playground")
    assert not window.transport.actions["play"].isChecked()
    play(qtbot, window)
    assert window.transport.actions["play"].text() == "Pause"
    pause(qtbot, window)
    assert not window.transport.actions["play"].isChecked()
    frozen = window.link.state.step
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT):
        pass  # one more status round trip: still paused, still the same step
    assert window.link.state.step == frozen
    assert "paused" in window.readout.labels["rate"].text()


def test_step_buttons_update_d_and_g_as_asked(qtbot, make_window):
    window = make_window(**{"train.d_steps": 3})
    s = window.link.state
    actions = window.transport.actions
    cases = [("step", 3, 1), ("step_d", 1, 0), ("step_g", 0, 1)]
    for name, d_more, g_more in cases:
        d0, g0 = s.d_updates, s.g_updates
        with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT,
                              check_params_cb=lambda st, d0=d0, g0=g0:
                              (st.d_updates, st.g_updates) != (d0, g0)):
            actions[name].trigger()
        assert (s.d_updates - d0, s.g_updates - g0) == (d_more, g_more), name
    assert not actions["play"].isChecked()


def test_swaps_apply_while_training(qtbot, make_window):
    window = make_window()
    play(qtbot, window)

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("loss.name")):
        choose(window, "loss.name", "wgan-gp")
    assert session_config(window)["loss"]["name"] == "wgan-gp"
    # only the penalty applies to WGAN-GP: label smoothing hides, lambda shows
    assert window.panel.fields["loss.gp_weight"].widget.isVisibleTo(window)
    assert not window.panel.fields["loss.real_label"].widget.isVisibleTo(window)
    assert "WGAN-GP" in window.readout.labels["summary"].text()
    # a critic's raw scores get symmetric colour levels around 0
    qtbot.waitUntil(lambda: window.plane._is_probability is False, timeout=TIMEOUT)
    low, high = window.plane.colorbar.levels()
    assert low == -high and high > 0

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("discriminator.norm")):
        choose(window, "discriminator.norm", "layer")
    assert session_config(window)["discriminator"]["norm"] == "layer"

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("generator.hidden")):
        type_text(qtbot, window, "generator.hidden", "32, 8")
    assert session_config(window)["generator"]["hidden"] == [32, 8]
    assert window.panel.fields["generator.hidden"].widget.text() == "32, 8"

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("optim.d.lr")):
        spin = window.panel.fields["optim.d.lr"].widget
        spin.setValue(5e-4)  # keyboard tracking is off: this is a finished edit
    assert session_config(window)["optim"]["d"]["lr"] == 5e-4

    # still training after all the swaps
    assert window.transport.actions["play"].isChecked()
    wait_steps(qtbot, window)


def test_bad_value_is_refused_explained_and_undone(qtbot, make_window):
    window = make_window()
    play(qtbot, window)
    with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT) as blocker:
        type_text(qtbot, window, "generator.hidden", "0,abc")
    assert "generator.hidden" in blocker.args[0].message
    assert window.panel.fields["generator.hidden"].widget.text() == "16"
    assert "generator.hidden" in window.message.text()
    assert window.message.isVisibleTo(window)
    assert "generator.hidden" in window.statusBar().currentMessage()
    assert session_config(window)["generator"]["hidden"] == [16]
    wait_steps(qtbot, window)  # the refusal did not stop training


def test_controls_show_engine_state_without_echo(qtbot, make_window):
    window = make_window()
    sent = []
    window.panel.changes_requested.connect(sent.append)
    cfg = session_config(window)
    cfg["loss"]["name"] = "hinge"
    cfg["optim"]["g"]["name"] = "sgd"
    window.panel.show_config(cfg)
    assert sent == []
    assert window.panel.fields["loss.name"].value() == "hinge"
    assert not window.panel.fields["loss.clip"].widget.isVisibleTo(window)
    assert window.panel.fields["optim.g.momentum"].widget.isVisibleTo(window)
    assert not window.panel.fields["optim.g.betas"].widget.isVisibleTo(window)


def _drag(widget, points) -> None:
    """Press, move through ``points`` and release with the left button (real mouse events)."""
    def send(kind, pos, buttons):
        p = QPointF(*pos)
        ev = QMouseEvent(kind, p, widget.mapToGlobal(p), Qt.MouseButton.LeftButton, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, points[0], left)
    for pos in points[1:]:
        send(QEvent.Type.MouseMove, pos, left)
    send(QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)


def test_drawing_on_the_plane_sets_real_points(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: window.plane.frames > 0, timeout=TIMEOUT)
    window.plane.draw_button.click()
    assert window.plane.viewbox.draw_mode and window.plane.draw_tools.isVisibleTo(window)
    viewport = window.plane.plot.viewport()
    c = viewport.rect().center()
    stroke = [(c.x() + dx, c.y() + dx // 2) for dx in range(-60, 61, 6)]
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.points")):
        _drag(viewport, stroke)
    cfg = session_config(window)
    assert cfg["data"]["name"] == "points"
    first = len(cfg["data"]["points"])
    assert first >= 10
    # a second stroke adds to the set; after Clear the next stroke starts a new one
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.points")):
        _drag(viewport, stroke[:5])
    assert len(session_config(window)["data"]["points"]) > first
    window.plane.clear_button.click()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.points")):
        _drag(viewport, stroke[:5])
    assert len(session_config(window)["data"]["points"]) < first
    assert "point" in window.panel.fields["data.points"].widget.text()


def test_import_points_csv_good_and_bad(qtbot, make_window, tmp_path):
    window = make_window()
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nthree,4\n")
    assert not window.files.import_points_csv(str(bad))
    assert "line 3" in window.message.text()
    good = tmp_path / "good.csv"
    good.write_text("x,y\n" + "".join(f"{np.cos(a):.3f},{np.sin(a):.3f}\n"
                                       for a in np.linspace(0, 6, 30)))
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.points")):
        assert window.files.import_points_csv(str(good))
    assert len(session_config(window)["data"]["points"]) == 30


def test_failure_and_divergence_are_shown_and_pause(qtbot, make_window):
    window = make_window()
    play(qtbot, window)
    window.link.diverged.emit(Diverged(12, "training diverged at step 12: D loss became NaN"))
    assert "diverged at step 12" in window.message.text()
    assert window.message.level == "error"
    assert not window.transport.actions["play"].isChecked()
    window.link.failed.emit(Failed("RuntimeError: boom", "Traceback ..."))
    assert "boom" in window.message.text()


def test_a_divergence_message_goes_when_training_resumes(qtbot, make_window):
    """"Training is paused at the last good state" stayed in red while the run trained
    again after Play; another message shown meanwhile is left alone."""
    window = make_window()
    window.link.diverged.emit(Diverged(12, "training diverged at step 12: D loss became NaN"))
    assert "paused at the last good state" in window.message.text()
    play(qtbot, window)
    qtbot.waitUntil(lambda: window.message.text() == "", timeout=TIMEOUT)
    pause(qtbot, window)
    window.link.diverged.emit(Diverged(30, "training diverged at step 30: D loss became NaN"))
    window.message.show_message("Saved the session to x", "info")
    play(qtbot, window)
    qtbot.wait(500)
    assert window.message.text() == "Saved the session to x"


def test_save_generator_and_session(qtbot, make_window, tmp_path):
    window = make_window()
    files = window.files
    for what, save in (("generator", files.save_generator), ("session", files.save_session)):
        path = tmp_path / f"{what}.safetensors"
        with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
            save(str(path))
        assert path.exists() and path.stat().st_size > 0
        assert str(path) in window.message.text()


def test_preset_round_trip_replaces_the_session(qtbot, make_window, tmp_path):
    window = make_window(**{"loss.name": "hinge"})
    path = tmp_path / "mine.json"
    assert window.files.save_preset(str(path))
    assert path.exists()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        choose(window, "loss.name", "least-squares")
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        assert window.files.open_preset(str(path))
    qtbot.waitUntil(lambda: session_config(window)["loss"]["name"] == "hinge", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.panel.fields["loss.name"].value() == "hinge", timeout=TIMEOUT)
    assert window.settings.value("preset/last") == str(path)
    assert not window.files.open_preset(str(tmp_path / "missing.json"))
    assert "missing.json" in window.message.text()


def test_close_while_training_at_full_speed(qtbot, make_window):
    window = make_window(**{"generator.hidden": [64, 64], "discriminator.hidden": [64, 64]})
    play(qtbot, window)
    t0 = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    assert not window.link.alive
    assert not window.link.timer.isActive()


def test_window_paints_the_real_plots(qtbot, make_window):
    window = make_window()
    play(qtbot, window)
    qtbot.waitUntil(lambda: window.plane.frames >= 5 and len(window.curves.series) > 20,
                    timeout=TIMEOUT)
    image = window.grab().toImage()
    assert image.width() > 800 and image.height() > 500
    plane = window.plane.plot.grab().toImage()
    colours = {plane.pixel(x, y) for x in range(0, plane.width(), 7)
               for y in range(0, plane.height(), 7)}
    assert len(colours) > 20, "the plane drew a flat image"
    curves = window.curves.plots["loss"].grab().toImage()
    colours = {curves.pixel(x, y) for x in range(0, curves.width(), 3)
               for y in range(0, curves.height(), 3)}
    assert len(colours) > 5
    assert window.plane.image.image is not None
    assert window.plane.fake.count == 512


def test_speed_control_slows_training(qtbot, make_window):
    window = make_window()
    slider = window.transport.speed_slider
    slider.setValue(1)  # 2 it/s (not dragging: applies at once)
    assert window.transport.speed_label.text() == "2 it/s"
    play(qtbot, window)  # waits for 5 steps
    s = window.link.state
    before, t0 = s.step, time.perf_counter()
    qtbot.waitUntil(lambda: time.perf_counter() - t0 > 1.0, timeout=TIMEOUT)
    assert s.step - before <= 4
    window.transport.nudge_speed(+100)
    assert window.transport.speed is None
    wait_steps(qtbot, window, 20)


def test_keyboard_shortcuts_reach_the_actions_but_not_while_typing(qtbot, make_window):
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    window.setFocus()
    heat = window.plane.layer_boxes["heatmap"]
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert not heat.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert heat.isChecked()
    # typing a digit into a field edits the field, it does not toggle a layer
    spin = window.panel.fields["train.batch_size"].widget
    spin.setFocus()
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_1)
    assert heat.isChecked()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.transport.actions["play"].isChecked(), timeout=TIMEOUT)
    wait_steps(qtbot, window)

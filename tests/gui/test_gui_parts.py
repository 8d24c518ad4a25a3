"""Pieces of the GUI that need no engine thread: buffers, fields, settings, help."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings

from engine.config import SCHEMA, default_config, with_changes
from engine.metrics import COLUMNS
from gui.fields import make_field
from gui.views.series import BoundedSeries


def test_series_stays_bounded_and_keeps_the_newest_rows_exact():
    s = BoundedSeries(COLUMNS, capacity=100)
    for start in range(0, 10_000, 37):
        rows = np.zeros((37, len(COLUMNS)))
        rows[:, 0] = np.arange(start, start + 37)
        s.extend(rows)
        assert len(s) <= 100
    last = start + 36
    steps = s.column("step")
    assert steps[0] == 0 and steps[-1] == last
    assert np.all(np.diff(steps) > 0)
    assert np.array_equal(steps[-20:], np.arange(last - 19, last + 1))


def test_series_last_valid_skips_nan():
    s = BoundedSeries(("step", "modes"), capacity=10)
    s.extend(np.array([[1, 3.0], [2, np.nan]]))
    assert s.last_valid("modes") == 3.0
    s.clear()
    assert s.last_valid("modes") is None


def test_fields_commit_only_finished_changes(qtbot):
    field = make_field("generator.hidden", SCHEMA["generator.hidden"])
    qtbot.addWidget(field.widget)
    got = []
    field.committed.connect(lambda k, v: got.append((k, v)))
    field.show_value([16, 16])
    assert field.widget.text() == "16, 16" and got == []
    field.widget.setText("16,16")
    field.widget.editingFinished.emit()
    assert got == []  # same value, no change sent
    field.widget.setText("8")
    field.widget.editingFinished.emit()
    assert got == [("generator.hidden", "8")]
    assert "widths of the hidden layers" in field.widget.toolTip().lower()


def test_float_field_steps_learning_rate_by_factors(qtbot):
    field = make_field("optim.g.lr", SCHEMA["optim.g.lr"])
    qtbot.addWidget(field.widget)
    field.show_value(1e-3)
    assert field.widget.text() == "0.001"
    field.widget.stepBy(1)
    assert abs(field.widget.value() - 2e-3) < 1e-12


def test_window_remembers_size_and_splitters(qtbot, make_window, tmp_path):
    path = str(tmp_path / "remember.ini")
    window = make_window(settings=QSettings(path, QSettings.Format.IniFormat))
    window.resize(window.width(), 650)  # the offscreen screen is 800x800: stay inside it
    window.views_splitter.setSizes([300, 500])
    window.curves.splitter.setSizes([100, 150, 250])
    curves = window.curves.splitter.sizes()
    window.close()
    again = make_window(settings=QSettings(path, QSettings.Format.IniFormat))
    assert again.height() == 650
    assert again.curves.splitter.sizes() == curves
    # (the offscreen screen clamps the width, so the horizontal splits cannot be compared)
    assert QSettings(path, QSettings.Format.IniFormat).value("preset/last") == "test"


def test_every_control_has_a_tooltip_and_shortcuts_are_listed(qtbot, make_window):
    window = make_window()
    for key, field in window.panel.fields.items():
        assert field.widget.toolTip(), key
    for name, action in window.transport.actions.items():
        assert not action.shortcut().isEmpty(), name
    from gui.help import shortcuts_html

    html = shortcuts_html(window)
    for text in ("Space", "Ctrl+Q", "Play", "Import points CSV"):
        assert text in html


def test_data_params_follow_the_data_set(qtbot, make_window):
    window = make_window()
    cfg = with_changes(default_config(), {"data.name": "moons"})
    window.panel.show_config(cfg)
    assert "data.scale" in window.panel.fields and "data.radius" not in window.panel.fields
    cfg = with_changes(default_config(), {"data.name": "grid25"})
    window.panel.show_config(cfg)
    assert "data.spacing" in window.panel.fields and "data.scale" not in window.panel.fields


def test_stroke_is_continuous_and_stays_in_the_brush():
    from gui.views.drawing import POINTS_PER_STAMP, Stroke

    s = Stroke(seed=1)
    s.add(0.0, 0.0, 0.2)
    s.add(2.0, 0.0, 0.2)  # one fast move: stamps fill the gap every 0.1
    pts = s.as_array()
    assert len(pts) == POINTS_PER_STAMP * 21
    assert np.all(np.abs(pts[:, 1]) <= 0.2 + 1e-9)
    assert pts[:, 0].min() >= -0.2 - 1e-9 and pts[:, 0].max() <= 2.2 + 1e-9
    taken = s.take()
    assert len(taken) == len(pts) and s.points == []
    s.add(5.0, 5.0, 0.0)  # a zero brush gives exactly the cursor position
    assert s.take() == [[5.0, 5.0]]


def test_run_app_opens_the_window_and_returns_when_it_closes(qapp, no_thread_leak):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.app import run_app
    from gui.main_window import MainWindow

    seen = []

    def close_when_ready():
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].link.state.ready:
            seen.append(windows[0].windowTitle())
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    config = with_changes(default_config(), {"generator.hidden": [8], "discriminator.hidden": [8]})
    assert run_app(config, "test") == 0
    assert seen and seen[0].endswith("GAN Playground")


def test_a_long_heatmap_note_wraps_and_never_widens_the_plane(qtbot):
    """Under MMD (or minibatch features) a line says what the heatmap shows; it wraps in a
    narrow plane. In the plot's title it widened the plot to 705 px inside 462, the colour
    bar off the edge, and the plot kept that width after the note went."""
    from gui.views.plane import PlaneView, heatmap_note

    plane = PlaneView()
    qtbot.addWidget(plane)
    plane.resize(460, 600)
    plane.show()
    qtbot.wait(50)

    def fits() -> bool:
        item = plane.plot.getPlotItem()
        bar = plane.colorbar.mapRectToScene(plane.colorbar.boundingRect())
        return (item.geometry().width() <= plane.plot.width() + 1
                and bar.right() <= plane.plot.width() + 1)

    assert fits()
    for changes in ({"loss.name": "mmd"}, {"discriminator.minibatch": "stddev"}, {}):
        note = heatmap_note(with_changes(default_config(), changes))
        plane.set_title_note(note)
        qtbot.wait(50)
        assert plane.heat_note.isVisible() == bool(note) and plane.heat_note.text() == note
        assert fits(), changes


def test_an_action_that_shows_the_next_message_takes_its_buttons_away_at_once(qtbot):
    """"Restart fresh" says "Started afresh ..." from its own click: the old message's
    buttons (deleted later, when the event loop next turns) showed again beside the new
    text until then (seen in a screenshot driven without an event loop)."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from gui.views.message_line import MessageLine

    host = QWidget()
    QVBoxLayout(host).addWidget(line := MessageLine())
    qtbot.addWidget(host)
    host.show()
    line.show_message("The engine stopped", "error", actions=[
        ("Restart from the autosave", lambda: None),
        ("Restart fresh", lambda: line.show_message("Started afresh", "info"))])
    old = line.action_buttons()
    old[1].click()
    assert line.text() == "Started afresh" and line.action_buttons() == []
    assert all(b.isHidden() for b in old)

"""File handling through the window: presets (open, save, save as, modified mark, recent list,
library, keep-the-networks or start fresh), checkpoints (open session / generator), exports,
and never losing a run (close question, autosave, crash restore). Every bad file must give
one clear message and change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QTextBrowser

from engine.config import default_config, diff, with_changes
from engine.presets import PRESET_DIR, builtin_presets, load_preset, save_preset
from gui.autosave import AUTOSAVE_NAME, MARKER_NAME, header_step

TIMEOUT = 10_000
SMALL = {"generator.hidden": [16], "discriminator.hidden": [16], "train.batch_size": 64,
         "train.metrics_every": 20, "train.metrics_samples": 200, "device": "cpu"}


# ---------------------------------------------------------------------------- helpers
def session_config(window: Any) -> dict[str, Any]:
    return window.link.state.config


def synced(window: Any) -> bool:
    """The window has seen the engine's current step (status after the last update)."""
    return window.keeper.step == window.link.state.step


def pause(qtbot: Any, window: Any) -> int:
    """Pause (from playing) and wait until the window knows the final step."""
    play = window.transport.actions["play"]
    assert play.isChecked()
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT,
                          check_params_cb=lambda s: not s.running):
        play.trigger()
    qtbot.waitUntil(lambda: synced(window) and window.keeper.trained, timeout=TIMEOUT)
    return window.link.state.step


def train(qtbot: Any, window: Any, steps: int = 5) -> int:
    """Play for ``steps`` or more, pause, and wait until the window knows the final step."""
    start = window.link.state.step
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step >= start + steps, timeout=TIMEOUT)
    return pause(qtbot, window)


def state(window: Any) -> tuple[Any, ...]:
    """What a failed open must leave exactly as it was."""
    return (json.dumps(session_config(window), sort_keys=True), window.link.state.step,
            json.dumps(window.config, sort_keys=True), window.windowTitle(),
            window.isWindowModified(), window.document.preset_file, window.files.recent.paths(),
            window.settings.value("preset/last"))


def action(window: Any, text: str) -> Any:
    from PySide6.QtGui import QAction

    found = [a for a in window.findChildren(QAction) if a.text() == text]
    assert found, f"no action {text!r}"
    return found[0]


def write_preset(path: Path, **changes: Any) -> Path:
    save_preset(with_changes(default_config(), {**SMALL, **changes}), str(path))
    return path


def changed(key: str) -> Any:
    """A ``check_params_cb`` for ``link.applied``: the Applied that changed ``key``."""
    return lambda ev: key in ev.changes


def choose(window: Any, key: str, value: str) -> None:
    """Pick ``value`` in the combo box of config ``key`` as a user would (emits activated)."""
    combo = window.panel.fields[key].widget
    i = combo.findData(value)
    assert i >= 0, f"{value!r} is not offered for {key}"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


# ---------------------------------------------------------------------------- bad files
BAD_PRESETS = {
    "not_json.json": ('{"loss": {"name": "hinge",}', "not valid JSON"),
    "wrong_type.json": ('{"train": {"batch_size": "big"}}', "train.batch_size"),
    "section_type.json": ('{"generator": 5}', "generator: must be an object"),
    "unknown_key.json": ('{"loss": {"nmae": "hinge"}}', "loss.nmae"),
    "out_of_range.json": ('{"optim": {"g": {"lr": 5.0}}}', "optim.g.lr"),
    "newer.json": ('{"format": 99}', "version 99 is newer"),
    "empty.json": ("", "empty"),
    "a_list.json": ("[1, 2]", "JSON object"),
}


def test_every_bad_preset_gets_one_message_and_changes_nothing(qtbot, make_window, tmp_path,
                                                               answers):
    window = make_window()
    train(qtbot, window)  # mid-session: a good preset would ask keep/fresh; a bad one must not
    before = state(window)
    cases = dict(BAD_PRESETS)
    for name, (text, _) in cases.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "folder.json").mkdir()
    binary = tmp_path / "binary.json"
    binary.write_bytes(bytes(range(256)) * 4)
    cases.update({"folder.json": ("", "is a folder"), "binary.json": ("", "cannot read"),
                  "missing.json": ("", "no such preset file")})
    for name, (_, expected) in cases.items():
        window.message.dismiss()
        assert not window.files.open_preset(str(tmp_path / name)), name
        text = window.message.text()
        assert text.startswith("Could not open the preset:"), (name, text)
        assert expected in text and name in text, (name, text)
        assert window.message.level == "error"
    assert answers.asked == []
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT):
        pass  # one more round trip: nothing was sent to the engine
    assert state(window) == before


def test_every_bad_checkpoint_gets_one_message_and_changes_nothing(qtbot, make_window,
                                                                   tmp_path):
    window = make_window()
    train(qtbot, window)
    session, generator = tmp_path / "s.safetensors", tmp_path / "g.safetensors"
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        window.files.save_session(str(session))
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        window.files.save_generator(str(generator))
    data = session.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.safetensors").write_bytes(np.random.default_rng(0).bytes(4000))
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    write_preset(tmp_path / "preset.json")
    before = state(window)
    cases = [
        ("session", "truncated.safetensors", "truncated"),
        ("generator", "truncated.safetensors", "truncated"),
        ("session", "random.safetensors", "not a GAN Playground checkpoint"),
        ("generator", "random.safetensors", "not a GAN Playground checkpoint"),
        ("session", "empty.safetensors", "empty"),
        ("generator", "empty.safetensors", "empty"),
        ("session", "folder", "is a folder"),
        ("generator", "folder", "is a folder"),
        ("generator", "s.safetensors", "expected a generator checkpoint"),
        ("session", "g.safetensors", "expected a session checkpoint"),
        ("session", "preset.json", "not a GAN Playground checkpoint"),
        ("generator", "missing.safetensors", "no such file"),
    ]
    for what, name, expected in cases:
        window.message.dismiss()
        open_ = window.files.open_session if what == "session" else window.files.open_generator
        with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT):
            assert open_(str(tmp_path / name))
        text = window.message.text()
        assert text.startswith(f"Could not open the {what}:"), (what, name, text)
        assert expected in text and name in text, (what, name, text)
        assert window.message.level == "error"
    assert state(window) == before
    assert window.keeper.unsaved_steps == 0  # still the state saved above


# ---------------------------------------------------------------------------- checkpoints
def test_open_session_resumes_exactly_and_generator_continues(qtbot, make_window, tmp_path):
    window = make_window()
    step = train(qtbot, window, 8)
    session, generator = tmp_path / "run.safetensors", tmp_path / "gen.safetensors"
    for save, path in ((window.files.save_session, session),
                       (window.files.save_generator, generator)):
        with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
            save(str(path))
    history = window.link.state.rows
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.transport.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step == 0 and synced(window), timeout=TIMEOUT)

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        assert window.files.open_session(str(session))
    assert window.link.state.step == step
    assert window.link.state.rows == history
    assert "Opened the session" in window.message.text()
    assert window.keeper.saved_step == step and window.keeper.unsaved_steps == 0
    assert window.document.preset_file is None and not window.isWindowModified()
    qtbot.waitUntil(lambda: len(window.curves.series) > 0, timeout=TIMEOUT)  # curves came back

    frames = window.plane.frames
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        assert window.files.open_generator(str(generator))
    assert window.link.state.step == step
    assert "Opened the generator" in window.message.text()
    qtbot.waitUntil(lambda: window.plane.frames > frames, timeout=TIMEOUT)  # its samples show
    train(qtbot, window, 3)  # and training goes on from there
    assert window.link.state.step >= step + 3


# ---------------------------------------------------------------------------- presets
def test_save_preset_marks_modified_and_round_trips(qtbot, make_window, tmp_path, monkeypatch,
                                                    answers):
    window = make_window()
    assert "[*]" in window.windowTitle() and not window.isWindowModified()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=changed("loss.name")):
        choose(window, "loss.name", "hinge")
    assert window.isWindowModified()

    path = tmp_path / "mine.json"
    asked = []
    monkeypatch.setattr(window.files, "_save_path",
                        lambda *args: asked.append(args) or str(path))
    # Ctrl+S with no preset file of its own acts as Save as (a file dialog)
    assert QKeySequence("Ctrl+S") == action(window, "Save preset").shortcut()
    action(window, "Save preset").trigger()
    assert len(asked) == 1 and path.exists()
    # saved under a new name, the preset takes the file's name (the engine is told)
    qtbot.waitUntil(lambda: session_config(window)["name"] == "mine", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=TIMEOUT)
    assert "mine" in window.windowTitle()
    assert diff(load_preset(str(path)), session_config(window)) == {}
    assert window.files.recent.paths()[0] == str(path)
    assert window.settings.value("preset/last") == str(path)

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=changed("loss.name")):
        choose(window, "loss.name", "least-squares")
    assert window.isWindowModified()
    action(window, "Save preset").trigger()  # now to the same file, no dialog
    assert len(asked) == 1 and not window.isWindowModified()
    saved = json.loads(path.read_text())
    assert saved["loss"]["name"] == "least-squares" and saved["format"] == 1

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=changed("loss.name")):
        choose(window, "loss.name", "wgan-gp")
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):  # no training: fresh
        assert window.files.open_preset(str(path))
    qtbot.waitUntil(lambda: session_config(window)["loss"]["name"] == "least-squares",
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=TIMEOUT)
    assert diff(load_preset(str(path)), session_config(window)) == {}


def test_recent_presets_update_prune_and_stay_short(qtbot, make_window, tmp_path):
    window = make_window()
    files = window.files
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert files.save_preset_as(str(a)) and files.save_preset_as(str(b))
    assert files.recent.paths() == [str(b), str(a)]
    entries = [x.text() for x in files.recent_menu.actions() if x.text()]
    assert entries[:2] == ["&1 b.json", "&2 a.json"]
    a.unlink()
    files.recent_menu.aboutToShow.emit()  # opening the menu prunes missing files
    assert files.recent.paths() == [str(b)]
    assert "a.json" in window.message.text() and "recent" in window.message.text()
    b.unlink()
    assert not files.open_preset(str(b))  # picked after it vanished: explained and dropped
    assert "removed from the recent presets" in window.message.text()
    assert files.recent.paths() == []
    for i in range(10):
        files.recent.add(str(write_preset(tmp_path / f"p{i}.json")))
    assert len(files.recent.paths()) == 8 and files.recent.paths()[0].endswith("p9.json")


def test_keep_networks_or_start_fresh(qtbot, make_window, tmp_path, answers):
    window = make_window()
    step = train(qtbot, window)
    moons = write_preset(tmp_path / "moons.json", **{"data.name": "moons", "data.noise": 0.1,
                                                       "loss.name": "hinge", "seed": 7})
    answers.keep = None  # cancel: nothing happens
    assert not window.files.open_preset(str(moons))
    assert answers.asked[-1][0] == "keep"

    answers.keep = "keep"
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "loss.name" in ev.changes):
        assert window.files.open_preset(str(moons))
    cfg = session_config(window)
    assert window.link.state.step == step  # the networks and the step are kept
    assert cfg["loss"]["name"] == "hinge" and cfg["data"]["name"] == "moons"
    assert cfg["data"]["noise"] == 0.1 and cfg["seed"] == 0  # the seed is never swapped
    assert diff(cfg, load_preset(str(moons))) == {"seed": 7}
    assert window.document.preset_file == str(moons)
    assert window.isWindowModified()  # honest: the live seed differs from the file's
    qtbot.waitUntil(lambda: "keeping the trained networks" in window.message.text(),
                    timeout=TIMEOUT)

    answers.keep = "fresh"
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        assert window.files.open_preset(str(moons))
    qtbot.waitUntil(lambda: session_config(window)["seed"] == 7, timeout=TIMEOUT)
    # the message line tells of this load, not still of the one before
    assert window.message.text().startswith("Loaded the preset")
    assert "keeping" not in window.message.text()
    assert window.link.state.step == 0
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=TIMEOUT)
    assert [q for q, _ in answers.asked] == ["keep", "keep", "keep"]


def test_library_lists_every_builtin_preset_and_loads_one(qtbot, make_window):
    window = make_window()
    dialog = window.files.show_library()
    qtbot.waitExposed(dialog)
    stems = builtin_presets()
    games = [i.stem for i in dialog.presets if i.lab == "games"]  # after the trainer's
    assert stems and sorted(dialog.entries()) == sorted(stems + games)
    assert dialog.entries()[-len(games):] == games
    assert action(window, "Preset library…").shortcut() == QKeySequence("Ctrl+L")
    for stem in stems:
        dialog.select(stem)
        raw = json.loads((PRESET_DIR / f"{stem}.json").read_text())
        assert dialog.title.text() == raw.get("name", stem)
        assert raw.get("description", "")[:40] in dialog.text.toPlainText()
    stem = dialog.entries()[0]
    dialog.select(stem)
    expected = load_preset(stem)
    with qtbot.waitSignals([dialog.load_requested, window.link.applied], timeout=TIMEOUT,
                           check_params_cbs=[None, lambda ev: diff(ev.config, expected) == {}]):
        dialog.tree.itemDoubleClicked.emit(dialog.tree.currentItem(), 0)
    assert not dialog.isVisible()
    assert diff(session_config(window), load_preset(stem)) == {}
    assert session_config(window)["generator"]["hidden"] != [16]
    assert window.settings.value("preset/last") == stem and not window.isWindowModified()
    # Load button, once more
    dialog = window.files.show_library()
    dialog.select(stem)
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        dialog.load_button.click()


# ---------------------------------------------------------------------------- exports
def test_exports_png_samples_and_metrics(qtbot, make_window, tmp_path):
    window = make_window()
    train(qtbot, window, 25)
    png = tmp_path / "view.png"
    assert window.files.export_view_png(str(png))
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 200 and image.height() > 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view.png"]  # no temp file left

    def saved(what):
        return lambda ev: ev.what == what

    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT, check_params_cb=saved("samples")):
        assert window.files.export_samples(str(tmp_path / "s.npy"))
    assert np.load(tmp_path / "s.npy").shape == (2000, 2)
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT, check_params_cb=saved("samples")):
        assert window.files.export_samples(str(tmp_path / "s.csv"), n=50)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "x,y" and len(lines) == 51
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT, check_params_cb=saved("metrics")):
        assert window.files.export_metrics(str(tmp_path / "m"))  # .csv is added
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) > 1

    assert not window.files.export_samples(str(tmp_path / "s.txt"))
    assert ".npy, .csv or .png" in window.message.text()
    # a failed export is explained and does not pause training
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.transport.actions["play"].isChecked(), timeout=TIMEOUT)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with qtbot.waitSignal(window.link.failed, timeout=TIMEOUT):
        window.files.export_metrics(str(blocker / "m.csv"))
    assert window.message.text().startswith("Could not save the metrics")
    assert window.transport.actions["play"].isChecked()


# ---------------------------------------------------------------------------- never lose a run
def test_autosave_after_the_interval_only_when_training_moved(qtbot, make_window, tmp_path,
                                                             answers):
    folder = tmp_path / "data"
    window = make_window()
    assert window.keeper.arm(folder, interval_ms=150)
    assert (folder / MARKER_NAME).exists()
    assert answers.asked == []  # no marker before: nothing to restore
    autosave = folder / AUTOSAVE_NAME
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: autosave.exists() and (window.keeper.autosaved_step or 0) > 0,
                    timeout=TIMEOUT)
    step = pause(qtbot, window)
    qtbot.waitUntil(lambda: window.keeper.autosaved_step == step, timeout=TIMEOUT)
    assert header_step(autosave) == step
    assert not window.keeper.autosave()  # nothing moved since: no save
    assert str(autosave) not in window.message.text()  # autosaves are quiet
    assert window.keeper.unsaved_steps == step  # and do not count as saved
    answers.close = "discard"
    window.close()
    assert not (folder / MARKER_NAME).exists() and autosave.exists()


def test_crash_restore_is_offered_and_restores_the_step(qtbot, make_window, tmp_path, answers):
    folder = tmp_path / "data"
    first = make_window()
    first.keeper.arm(folder, interval_ms=60_000)
    step = train(qtbot, first)
    with qtbot.waitSignal(first.link.saved, timeout=TIMEOUT):
        assert first.keeper.autosave()
    answers.close = "discard"
    first.close()

    clean = make_window()  # after a clean close: no question
    clean.keeper.arm(folder, interval_ms=60_000)
    assert answers.asked == [("close", (step,))]
    clean.close()

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    marker = {"pid": int(dead.stdout), "started": "2999-01-01T00:00:00+00:00"}
    (folder / MARKER_NAME).write_text(json.dumps(marker))
    again = make_window()  # a crashed run that started after the autosave: not its autosave
    again.keeper.arm(folder, interval_ms=60_000)
    assert [q for q, _ in answers.asked] == ["close"]
    again.close()

    marker["started"] = "2000-01-01T00:00:00+00:00"
    (folder / MARKER_NAME).write_text(json.dumps(marker))  # a crash during the autosaved run
    answers.restore = True
    window = make_window()
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.keeper.arm(folder, interval_ms=60_000)
    question, (asked_step, when) = answers.asked[-1]
    assert question == "restore" and asked_step == str(step) and when
    qtbot.waitUntil(lambda: window.link.state.step == step, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "autosaved session" in window.message.text(), timeout=TIMEOUT)
    from gui.dialogs import restore_text

    assert restore_text(step, when).startswith("GAN Playground did not close cleanly last time."
                                               f" Restore the autosaved session (step {step}")


def test_close_asks_with_unsaved_training(qtbot, make_window, tmp_path, answers, monkeypatch):
    window = make_window()
    window.keeper.arm(tmp_path / "data", interval_ms=60_000)
    window.close()  # nothing trained: no question
    assert answers.asked == [] and not window.isVisible()

    window = make_window()
    window.keeper.arm(tmp_path / "data", interval_ms=60_000)
    step = train(qtbot, window)
    answers.close = "cancel"
    assert not window.close()
    assert window.isVisible() and window.link.alive and answers.asked == [("close", (step,))]

    path = tmp_path / "kept.safetensors"
    monkeypatch.setattr(window.files, "choose_session_path", lambda: str(path))
    answers.close = "save"
    window.transport.actions["play"].trigger()  # saving pauses first
    qtbot.waitUntil(lambda: window.keeper.unsaved_steps > step, timeout=TIMEOUT)
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    assert not window.link.alive
    assert header_step(path) == window.link.state.step


def test_shortcuts_for_presets_and_sessions_are_distinct(qtbot, make_window):
    from gui.help import shortcuts_html

    window = make_window()
    expected = {"Open preset…": "Ctrl+O", "Save preset": "Ctrl+S",
                "Save preset as…": "Ctrl+Shift+S", "Save session…": "Ctrl+Alt+S",
                "Open session…": "Ctrl+Alt+O", "Open generator…": "Ctrl+Shift+G",
                "Preset library…": "Ctrl+L"}
    for text, key in expected.items():
        assert action(window, text).shortcut() == QKeySequence(key), text
    html = shortcuts_html(window)
    for text in ("Save preset", "Save session", "Open generator", "Preset library"):
        assert text in html
    dialog = window.show_shortcuts()  # F1: a scrolling page, not a screen-high message box
    page = dialog.findChild(QTextBrowser).toPlainText()
    assert "Ctrl+Alt+S" in page and "Save session" in page
    assert dialog.height() <= dialog.screen().availableGeometry().height()
    dialog.close()
    keys = [a.shortcut().toString() for a in window.findChildren(type(action(window, "Quit")))
            if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), sorted(keys)


@pytest.mark.parametrize("name", ["keep", "close", "restore", "reset"])
def test_question_boxes_read_well(qtbot, name):
    from gui import dialogs

    if name == "keep":
        box, answers = dialogs.keep_networks_box(None, "ring8", 1234)
        assert set(answers.values()) == {"keep", "fresh", "cancel"}
    elif name == "close":
        box, answers = dialogs.save_before_close_box(None, 5000)
        assert "5,000 training steps" in box.text()
    elif name == "reset":
        box, answers = dialogs.reset_box(None, 1234)
        assert "1,234 training steps" in box.text() and "Undo reset" in box.informativeText()
        assert answers[box.defaultButton()] is False  # Enter keeps the run
    else:
        box = dialogs.restore_box(None, 42, "2025-01-02 03:04")
        assert box.text() == dialogs.restore_text(42, "2025-01-02 03:04")
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    shot = os.environ.get("GAN_SHOTS")
    if shot:
        box.grab().save(str(Path(shot) / f"box_{name}.png"))
    box.close()


@pytest.mark.parametrize(("ask", "button", "expected"), [
    ("ask_keep_networks", "Start fresh", "fresh"),
    ("ask_keep_networks", "Keep networks", "keep"),
    ("ask_keep_networks", "Cancel", None),
    ("ask_save_before_close", "Discard", "discard"),
    ("ask_save_before_close", "Save session…", "save"),
    ("ask_restore", "&Yes", True),
    ("ask_restore", "&No", False),
    ("ask_reset", "Reset", True),
    ("ask_reset", "Cancel", False),
])
def test_real_questions_return_the_clicked_answer(qtbot, ask, button, expected):
    """The real modal boxes (clicked by a timer): each button maps to its answer."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from gui import dialogs

    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        found = [b for b in box.buttons() if b.text() == button]
        assert found, [b.text() for b in box.buttons()]
        found[0].click()

    QTimer.singleShot(10, click)
    args = {"ask_keep_networks": ("ring8", 10), "ask_save_before_close": (10,),
            "ask_restore": (10, "now"), "ask_reset": (400,)}[ask]
    assert getattr(dialogs, ask)(None, *args) == expected


def test_a_session_whose_data_set_changed_opens_with_only_the_new_sets_measures(
        qtbot, make_window, tmp_path):
    """ring8, then moons mid-run, saved and opened again: the status bar shows no modes
    (moons has none; it showed ring8's last count) and Divergences holds only the
    estimates since the change, as when the change happened live (it joined ring8's and
    moons' in one curve)."""
    window = make_window()
    assert window.config["data"]["name"] == "ring8"
    train(qtbot, window, 45)  # estimates at 20 and 40
    assert window.readout.labels["modes"].isVisibleTo(window)
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        window.apply_changes({"data.name": "moons"})
    change = window.link.state.step
    train(qtbot, window, 45)
    path = tmp_path / "run.safetensors"
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        window.files.save_session(str(path))
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.transport.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step == 0, timeout=TIMEOUT)
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        assert window.files.open_session(str(path))
    qtbot.wait(200)
    divergences = window.insight.divergences
    steps = divergences.rows.column("step")
    assert len(steps) and steps.min() > change, (change, steps)
    assert not window.readout.labels["modes"].isVisibleTo(window)
    assert window.curves.series.column("step").min() < change  # the curves keep it all

"""The main window's Labs menu and the preset library open the labs."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtGui import QKeySequence

from engine.config import default_config
from engine.games import builtin_game_presets, load_game_preset


@pytest.fixture
def window(qtbot: Any, tmp_path: Any) -> Any:
    """A main window without its engine process: the labs need none."""
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "win.ini"), QSettings.Format.IniFormat)
    w = MainWindow(default_config(), "test", settings=settings, start=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def menu_action(window: Any, menu_title: str, text: str) -> Any:
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu_title:
            for action in top.menu().actions():
                if action.text() == text:
                    return action
    raise LookupError(f"{menu_title} > {text}")


def deleted() -> None:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


LABS = (("Games lab…", "games", "GamesLab", "Ctrl+Alt+G"),
        ("Divergences lab…", "divergences", "DivergenceLab", "Ctrl+Alt+D"))


def test_the_labs_menu_opens_each_lab_once(window, qtbot):
    for text, key, kind, shortcut in LABS:
        action = menu_action(window, "Labs", text)
        assert action.shortcut() == QKeySequence(shortcut)
        assert action.statusTip()
        action.trigger()
        lab = window.labs[key]
        assert type(lab).__name__ == kind
        assert lab.isWindow() and lab.isVisible() and lab.parent() is window
        qtbot.waitExposed(lab)
        action.trigger()  # a second time: the same window, raised
        assert window.labs[key] is lab
        assert [w for w in window.findChildren(type(lab)) if w.isVisible()] == [lab]
        lab.close()
        deleted()
        assert key not in window.labs
        action.trigger()  # closed: a fresh one
        assert window.labs[key] is not lab and window.labs[key].isVisible()
        window.labs[key].close()
        deleted()
    # the shortcut, pressed in the main window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, "G", QKeySequence("Ctrl+Alt+G")[0].keyboardModifiers())
    assert window.labs["games"].isVisible()
    window.labs["games"].close()
    deleted()


def test_the_preset_library_opens_a_game_preset_in_the_games_lab(window, qtbot):
    dialog = window.files.show_library()
    stems = builtin_game_presets()
    assert set(stems) >= {"game_quadratic", "game_bilinear_simultaneous",
                          "game_bilinear_alternating", "dirac_unregularized", "dirac_r1",
                          "dirac_instance_noise"}
    listed = {i.stem for i in dialog.presets if i.lab == "games"}
    assert listed == set(stems)
    dialog.select("dirac_r1")
    preset = load_game_preset("dirac_r1")
    assert preset.description[:40] in dialog.text.toPlainText()
    assert "presets/games/dirac_r1.json" in dialog.text.toPlainText()
    loaded = []
    dialog.load_requested.connect(loaded.append)  # the trainer's own loading is not asked
    dialog.load_button.click()
    assert not dialog.isVisible() and loaded == []
    lab = window.labs["games"]
    assert lab.isVisible() and lab.player.settings == preset.settings
    assert lab.preset_combo.currentData() == "dirac_r1"
    # another game preset goes to the same lab window
    dialog = window.files.show_library()
    dialog.select("game_bilinear_alternating")
    dialog.tree.itemDoubleClicked.emit(dialog.tree.currentItem(), 0)
    assert window.labs["games"] is lab
    assert lab.player.settings == load_game_preset("game_bilinear_alternating").settings
    lab.close()
    deleted()

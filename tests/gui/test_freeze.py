"""Training > Freeze G / Freeze D: the notes' "train D with G fixed", one click each way."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence

TIMEOUT = 30_000


def training_action(window: Any, text: str) -> Any:
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == "Training":
            for action in top.menu().actions():
                if action.text() == text:
                    return action
    raise LookupError(text)


def test_freeze_g_stops_its_updates_and_unfreezing_restores_its_learning_rate(
        qtbot: Any, make_window: Any) -> None:
    window = make_window(**{"optim.g.lr": 3e-4})
    freeze_g = training_action(window, "Freeze G")
    assert freeze_g.isCheckable() and not freeze_g.isChecked()
    assert freeze_g.shortcut() == QKeySequence("Shift+G")
    freeze_g.trigger()
    qtbot.waitUntil(lambda: window.config["optim"]["g"]["lr"] == 0.0, timeout=TIMEOUT)
    assert freeze_g.isChecked() and not training_action(window, "Freeze D").isChecked()
    before = window.link.state.g_updates, window.link.state.d_updates
    window.transport.actions["step"].trigger()  # a full iteration: D moves, G does not
    qtbot.waitUntil(lambda: window.link.state.d_updates > before[1], timeout=TIMEOUT)
    assert window.link.state.g_updates == before[0]
    freeze_g.trigger()
    qtbot.waitUntil(lambda: window.config["optim"]["g"]["lr"] == 3e-4, timeout=TIMEOUT)
    assert not freeze_g.isChecked()


def test_a_learning_rate_of_zero_typed_or_loaded_shows_as_frozen(
        qtbot: Any, make_window: Any) -> None:
    window = make_window()
    freeze_d = training_action(window, "Freeze D")
    window.apply_changes({"optim.d.lr": 0.0})
    qtbot.waitUntil(freeze_d.isChecked, timeout=TIMEOUT)
    freeze_d.trigger()  # never had another: unfreezing gives a working default, not 0
    qtbot.waitUntil(lambda: window.config["optim"]["d"]["lr"] > 0, timeout=TIMEOUT)
    assert not freeze_d.isChecked()

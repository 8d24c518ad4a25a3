"""Long runs are not lost by accident: the close question pauses training while it is open
(and Cancel resumes it); Reset asks first when many steps are unsaved and can be undone."""

from __future__ import annotations

from typing import Any

TIMEOUT = 10_000


def play_until(qtbot: Any, window: Any, steps: int) -> None:
    """Press Play and wait until the engine has trained ``steps`` more (still playing)."""
    start = window.link.state.step
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step >= start + steps, timeout=TIMEOUT)


def test_the_close_question_pauses_training_and_cancel_resumes_it(qtbot, make_window,
                                                                  tmp_path, monkeypatch):
    from gui import dialogs

    window = make_window()
    window.keeper.arm(tmp_path / "data", interval_ms=60_000)
    play_until(qtbot, window, 5)
    seen: dict[str, Any] = {}

    def ask(parent: Any, steps: int) -> str:
        # a modal box runs the event loop while it is open: so does this answer
        qtbot.waitUntil(lambda: not window.link.state.running, timeout=TIMEOUT)
        seen["paused"] = not window.transport.actions["play"].isChecked()
        seen["steps"] = steps
        return dialogs.CANCEL

    monkeypatch.setattr(dialogs, "ask_save_before_close", ask)
    assert not window.close()
    assert seen["paused"] and seen["steps"] > 0
    qtbot.waitUntil(lambda: window.link.state.running, timeout=TIMEOUT)  # Cancel: resumed
    assert window.transport.actions["play"].isChecked()
    play_from = window.link.state.step
    qtbot.waitUntil(lambda: window.link.state.step > play_from + 3, timeout=TIMEOUT)

    monkeypatch.setattr(dialogs, "ask_save_before_close", lambda *a: dialogs.DISCARD)
    window.close()
    assert not window.isVisible()

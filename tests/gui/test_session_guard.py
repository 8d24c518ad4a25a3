"""Long runs are not lost by accident: the close question pauses training while it is open
(and Cancel resumes it); Reset asks first when many steps are unsaved and can be undone."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

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


def pause(qtbot: Any, window: Any) -> int:
    """Pause (from playing) and wait until the window knows the final step."""
    with qtbot.waitSignal(window.link.status_changed, timeout=TIMEOUT,
                          check_params_cb=lambda s: not s.running):
        window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.keeper.step == window.link.state.step, timeout=TIMEOUT)
    return window.link.state.step


def test_reset_asks_after_a_long_unsaved_run_and_can_be_undone(qtbot, make_window, answers,
                                                              monkeypatch):
    from gui import autosave, dialogs

    monkeypatch.setattr(autosave, "RESET_ASK_STEPS", 20)  # "a few hundred", made quick
    window = make_window()
    reset = window.transport.actions["reset"]
    play_until(qtbot, window, 25)

    # asked while playing: training waits for the answer, and Cancel carries on
    asked: list[int] = []

    def ask(parent: Any, steps: int) -> bool:
        qtbot.waitUntil(lambda: not window.link.state.running, timeout=TIMEOUT)
        asked.append(steps)
        return False

    monkeypatch.setattr(dialogs, "ask_reset", ask)
    reset.trigger()
    assert asked and asked[0] > 20
    qtbot.waitUntil(lambda: window.link.state.running, timeout=TIMEOUT)
    step = pause(qtbot, window)
    assert step >= asked[0]  # nothing was reset

    # confirmed: reset, with the run kept for Undo
    monkeypatch.setattr(dialogs, "ask_reset", lambda *args: answers._answer("reset", True,
                                                                           *args))
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        reset.trigger()
    assert answers.asked == [("reset", (step,))]
    qtbot.waitUntil(lambda: window.link.state.step == 0, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "Undo reset" in [b.text() for b in window.message.action_buttons()],
                    timeout=TIMEOUT)
    assert f"step {step:,}" in window.message.text()
    assert window.keeper.unsaved_steps == 0
    button = [b for b in window.message.action_buttons() if b.text() == "Undo reset"][0]
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    # the link knows the step from Applied; the keeper counts from the engine's status
    qtbot.waitUntil(lambda: window.link.state.step == step == window.keeper.step,
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "Undid the reset" in window.message.text(), timeout=TIMEOUT)
    assert window.keeper.unsaved_steps == step  # still unsaved: Undo is not a save
    assert not window.isWindowModified() and window.document.preset_file is None
    assert window.document.preset_saved is not None  # still the same preset, not a checkpoint
    # a short run resets without a question (Ctrl+R), and a fresh session has nothing to undo
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.keeper.rebase(window.link.state.step)  # as if just saved
        reset.trigger()
    assert len(answers.asked) == 1
    kept = window.keeper._undo.path
    window.close()
    assert not kept.exists()  # the kept run goes with the window

"""The controls explain themselves: a number the engine cannot take is refused with the same
one-line message as a bad text value, lists accept spaces, the message line says what
changed in words and wraps beside its buttons, and the device list offers only what the
engine has."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

TIMEOUT = 10_000


def type_into(qtbot: Any, window: Any, key: str, text: str) -> None:
    """Type ``text`` over a field's contents as a user would, then press Enter."""
    widget = window.panel.fields[key].widget
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_numbers_out_of_range_are_refused_with_a_message_like_text(qtbot, make_window):
    window = make_window()
    for key, text, shown, allowed in (
            ("optim.g.lr", "0", "0.0002", "[1e-07, 1]"),
            ("noise.dim", "0", "2", "[1, 128]"),
            ("train.batch_size", "0", "64", "[1, 65536]"),
            ("train.batch_size", "100000", "64", "[1, 65536]"),  # Qt dropped the last 0 silently
            ("train.d_steps", "2.5", "1", "an integer in [1, 100]")):
        with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT) as blocker:
            type_into(qtbot, window, key, text)
        message = window.message.text()
        assert blocker.args[0].message.startswith(key), blocker.args[0].message
        assert key in message and allowed in message, message
        assert window.message.isVisibleTo(window) and window.message.level == "warning"
        assert window.panel.fields[key].widget.text() == shown  # sprang back, explained
    # the same words as a refused text value
    with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT):
        type_into(qtbot, window, "generator.hidden", "0")
    assert window.message.text().startswith("Not applied: generator.hidden: ")


def test_a_number_in_range_still_applies_and_1e3_is_a_thousand(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "train.batch_size" in ev.changes):
        type_into(qtbot, window, "train.batch_size", "1e3")
    assert window.link.state.config["train"]["batch_size"] == 1000
    assert window.panel.fields["train.batch_size"].widget.text() == "1000"


def test_hidden_widths_typed_with_spaces_apply(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "generator.hidden" in ev.changes):
        type_into(qtbot, window, "generator.hidden", "24 24 24")
    assert window.link.state.config["generator"]["hidden"] == [24, 24, 24]
    assert window.panel.fields["generator.hidden"].widget.text() == "24, 24, 24"
    sent: list[dict[str, Any]] = []
    window.panel.changes_requested.connect(sent.append)
    type_into(qtbot, window, "generator.hidden", "24 24  24")  # the same widths: no change
    assert sent == []

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
            ("optim.g.lr", "2", "0.0002", "[0, 1]"),  # 0 is allowed: it freezes G
            ("noise.dim", "0", "2", "[1, 128]"),
            ("train.batch_size", "0", "64", "[1, 65536]"),
            ("train.batch_size", "100000", "64", "[1, 65536]"),  # Qt dropped the last 0 silently
            ("train.d_steps", "2.5", "1", "an integer in [0, 100]")):
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


def test_drawn_points_are_described_in_words_not_dumped(qtbot, make_window):
    window = make_window()
    points = [[-2.0597629 + 0.01 * i, 0.5] for i in range(412)]
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "data.points" in ev.changes):
        window.apply_changes({"data.name": "points", "data.points": points[:40]})
    assert window.statusBar().currentMessage() == "Applied data.name = points (40 points)"
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "data.points" in ev.changes):
        window.apply_changes({"data.points": points})  # more strokes on drawn data
    assert window.statusBar().currentMessage() == "Applied data.points (412 points)"
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT):
        window.apply_changes({"generator.hidden": [8, 8], "optim.g.lr": 0.001})
    assert window.statusBar().currentMessage() == (
        "Applied generator.hidden = [8, 8], optim.g.lr = 0.001")


def test_a_long_message_wraps_beside_its_buttons_and_never_widens_the_window(qtbot,
                                                                            make_window):
    window = make_window()
    width = window.width()
    path = "/tmp/" + "a" * 300 + ".safetensors"  # a word too long for any line
    window.message.show_message(f"Could not save the session to {path}: disk full", "error",
                                actions=[("Restart fresh", lambda: None)])
    qtbot.waitUntil(lambda: window.message.isVisible())
    qtbot.wait(50)  # a layout pass
    line = window.message
    assert window.width() == width, "the message widened the window"
    text, button, dismiss = line.label, line.action_buttons()[0], line.close_button
    assert text.geometry().right() < button.geometry().left()
    assert button.geometry().right() < dismiss.geometry().left()
    assert line.geometry().right() <= line.parentWidget().width()
    right = dismiss.mapTo(window, dismiss.rect().topRight()).x()
    assert right <= window.width(), "the dismiss button is out of sight"
    lines = text.document().size().height() / text.fontMetrics().lineSpacing()
    assert lines > 3 and text.height() >= text.document().size().height() - 1  # all of it
    assert line.text().endswith("disk full")


def test_the_panel_never_grows_wider_than_its_scroll_area(qtbot, make_window):
    """A long field (the drawn points' hint) once widened the panel past its scroll area,
    clipping every control's right edge (horizontal scrolling is off)."""
    window = make_window()
    points = [[0.1 * i, 0.0] for i in range(1200)]
    for changes in ({"data.name": "points", "data.points": points}, {"data.name": "spiral"},
                    {"data.name": "lines"}, {"data.name": "mixture1d"}):
        with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                              check_params_cb=lambda ev: "data.name" in ev.changes):
            window.apply_changes(changes)
        qtbot.wait(20)  # a layout pass
        viewport = window.scroll.viewport().width()
        assert window.panel.width() <= viewport, (changes["data.name"], window.panel.width(),
                                                  viewport)

"""Presets as a lecturer meets them: the library grouped by lecture topic in teaching order,
each entry naming its lecture; Save preset as… asking for a name and a description that is
true of the settings saved; the description editable in the window."""

from __future__ import annotations

from typing import Any

from engine.games import builtin_game_presets
from engine.presets import LECTURES, TOPICS, builtin_presets, load_preset


def test_library_groups_presets_by_topic_in_teaching_order_with_their_lectures(qtbot):
    from gui.preset_library import PresetLibrary

    dialog = PresetLibrary()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.headers() == [f"{i} · {t}" for i, t in enumerate(TOPICS, start=1)] + [
        "Games lab: gradient play on two-parameter games"]  # the lab's own presets last
    games = builtin_game_presets()
    assert sorted(dialog.entries()) == sorted(builtin_presets() + games)
    assert dialog.entries()[-len(games):] == games
    order = dialog.entries()
    assert order[0] == "ring8"  # the default opens the first lecture
    for before, after in (("minimax_vanishing", "non_saturating_strong_d"),
                          ("lines_js", "lines_wgan"), ("mode_collapse", "minibatch_rescue"),
                          ("batchnorm_generator", "reference_norm_generator"),
                          ("too_many_d_steps", "too_few_d_steps"),
                          ("wgan_gp", "label_smoothing_one_sided"),  # divergences, then D*
                          ("virtual_norm_generator", "dcgan_digits")):  # images last
        assert order.index(before) < order.index(after), (before, after)
    tree = dialog.tree
    for i, topic in enumerate(TOPICS):
        header = tree.topLevelItem(i)
        assert not header.flags() & header.flags().ItemIsSelectable  # a header, not a preset
        for j in range(header.childCount()):
            item = header.child(j)
            stem = item.data(0, 256)  # Qt.UserRole
            cfg = load_preset(stem)
            assert cfg["topic"] == topic
            assert item.text(1) == cfg["lecture"] and item.text(1) in LECTURES
    dialog.select("lines_js")
    assert "Isachenko" in dialog.source.text() and "Divergences" in dialog.source.text()
    # the arrow keys walk the presets and skip the headers
    from PySide6.QtCore import Qt

    dialog.select("non_saturating_strong_d")  # the last of topic 1
    tree.setFocus()
    qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert dialog.selected() is not None and dialog.selected().stem == "lines_js"
    qtbot.keyClick(tree, Qt.Key.Key_Up)
    assert dialog.selected().stem == "non_saturating_strong_d"
    dialog.select("ring8")
    qtbot.keyClick(tree, Qt.Key.Key_Up)  # nothing above the first preset
    assert dialog.selected().stem == "ring8"
    header = tree.topLevelItem(3)  # a click on a header picks its first preset
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(header).center())
    assert dialog.selected().stem == "mode_collapse"


def test_library_summary_of_a_dcgan_names_its_channels_not_unused_widths(qtbot):
    from gui.preset_library import summarize

    text = summarize(load_preset("dcgan_digits"))
    assert "DCGAN 32 channels" in text and "128×128" not in text
    assert "128×128" in summarize(load_preset("ring8"))


TIMEOUT = 10_000
RING = "The default: a non-saturating GAN learning a ring of 8 Gaussians (std 0.02)."


def save_as_action(window: Any) -> Any:
    from PySide6.QtGui import QAction

    return [a for a in window.findChildren(QAction) if a.text() == "Save preset as…"][0]


def test_save_as_asks_for_a_name_and_a_true_description(qtbot, make_window, answers,
                                                        tmp_path, monkeypatch):
    window = make_window(description=RING, topic=TOPICS[0], lecture=LECTURES[2])
    # a drawn data set: the ring8 text is no longer true of these settings
    points = [[0.1 * i, 0.05 * i] for i in range(30)]
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "data.points" in ev.changes):
        window.apply_changes({"data.name": "points", "data.points": points})
    path = tmp_path / "drawn.json"
    monkeypatch.setattr(window.files, "_save_path", lambda *args: str(path))
    answers.details = ("my drawing", "Thirty points drawn in class: watch G find the line.")
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "description" in ev.changes):
        save_as_action(window).trigger()
    question, (name, description, *_rest) = answers.asked[-1]
    assert question == "details" and name == "drawn"  # the file's name, to edit
    assert "ring of 8" not in description and "30 points" in description
    assert description.startswith("Made from the preset ring8")  # the config's name
    saved = load_preset(str(path))
    assert saved["name"] == "my drawing"
    assert saved["description"] == "Thirty points drawn in class: watch G find the line."
    assert window.link.state.config["description"] == saved["description"]
    qtbot.waitUntil(lambda: not window.isWindowModified(), timeout=TIMEOUT)
    assert "my drawing" in window.windowTitle()
    assert window.panel.preset.name.text() == "my drawing"
    assert window.panel.preset.headline.text().startswith("Thirty points drawn in class:")

    answers.details = None  # cancelled: nothing written
    other = tmp_path / "other.json"
    monkeypatch.setattr(window.files, "_save_path", lambda *args: str(other))
    save_as_action(window).trigger()
    assert not other.exists()


def test_unchanged_settings_keep_their_description_when_saved_as(qtbot, make_window, answers,
                                                                tmp_path, monkeypatch):
    window = make_window(description=RING)
    monkeypatch.setattr(window.files, "_save_path", lambda *args: str(tmp_path / "copy.json"))
    save_as_action(window).trigger()  # accepted as prefilled
    assert answers.asked[-1][1][:2] == ("copy", RING)
    assert load_preset(str(tmp_path / "copy.json"))["description"] == RING


def test_the_description_is_editable_in_the_window_and_saved(qtbot, make_window, answers,
                                                           tmp_path):
    from PySide6.QtCore import Qt

    window = make_window(description=RING, lecture=LECTURES[2])
    section = window.panel.preset
    assert section.isVisibleTo(window) and section.name.text() == "ring8"
    assert section.headline.text() == RING and LECTURES[2] in section.lecture.text()
    answers.details = ("ring8", "Watch the fakes spread onto the ring.")
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "description" in ev.changes):
        qtbot.mouseClick(section.edit_button, Qt.MouseButton.LeftButton)
    assert answers.asked[-1] == ("details", ("ring8", RING))
    assert window.link.state.config["description"] == "Watch the fakes spread onto the ring."
    assert section.headline.text() == "Watch the fakes spread onto the ring."
    assert window.isWindowModified()  # a change to save, like any other
    path = tmp_path / "edited.json"
    assert window.files.save_preset(str(path))
    assert load_preset(str(path))["description"] == "Watch the fakes spread onto the ring."


def test_the_details_dialog_returns_what_was_typed_and_needs_a_name(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from gui import dialogs

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, dialogs.PresetDetailsDialog):
            QTimer.singleShot(10, answer)
            return
        assert box.name_edit.text() == "ring8"
        assert box.description_edit.toPlainText() == RING
        ok = box.buttons.button(QDialogButtonBox.StandardButton.Ok)
        box.name_edit.clear()
        assert not ok.isEnabled()  # a preset needs a name
        box.name_edit.setText("  mine ")
        box.description_edit.setPlainText("What to watch for.\n")
        ok.click()

    QTimer.singleShot(10, answer)
    assert dialogs.ask_preset_details(None, "ring8", RING) == ("mine", "What to watch for.")

"""Presets as a lecturer meets them: the library grouped by lecture topic in teaching order,
each entry naming its lecture; Save preset as… asking for a name and a description that is
true of the settings saved; the description editable in the window."""

from __future__ import annotations

from typing import Any

from engine.presets import LECTURES, TOPICS, builtin_presets, load_preset


def test_library_groups_presets_by_topic_in_teaching_order_with_their_lectures(qtbot):
    from gui.preset_library import PresetLibrary

    dialog = PresetLibrary()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.headers() == [f"{i} · {t}" for i, t in enumerate(TOPICS, start=1)]
    assert sorted(dialog.entries()) == sorted(builtin_presets())
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


def _unused(*_: Any) -> None:
    raise AssertionError("not expected")

"""The questions the file handling asks, each a message box built by a ``*_box`` function
(tests grab and read those) and asked by an ``ask_*`` function.

Callers go through this module (``dialogs.ask_restore(...)``), so a test answers a question
by replacing the ``ask_*`` function with ``monkeypatch.setattr``; no modal box ever blocks
a test run.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

KEEP, FRESH = "keep", "fresh"
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def keep_networks_box(parent: QWidget | None, name: str, step: int
                      ) -> tuple[QMessageBox, dict[QPushButton, str]]:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Load preset")
    box.setText(f"Load the preset “{name}” and keep the trained networks?")
    box.setInformativeText(
        f"Keep networks applies the preset's settings as a live swap: training goes on from "
        f"step {step:,} with the current weights (layers whose shapes still fit are kept; "
        f"the seed stays as it is).\n\n"
        f"Start fresh builds new networks from the preset's seed, at step 0.")
    keep = box.addButton("Keep networks", QMessageBox.ButtonRole.AcceptRole)
    fresh = box.addButton("Start fresh", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.setEscapeButton(cancel)
    return box, {keep: KEEP, fresh: FRESH, cancel: CANCEL}


def ask_keep_networks(parent: QWidget | None, name: str, step: int) -> str | None:
    """``KEEP``, ``FRESH``, or None when the user cancels."""
    box, answers = keep_networks_box(parent, name, step)
    box.exec()
    answer = answers.get(box.clickedButton(), CANCEL)  # type: ignore[call-overload]
    return None if answer == CANCEL else answer


def save_before_close_box(parent: QWidget | None, steps: int
                          ) -> tuple[QMessageBox, dict[QPushButton, str]]:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved training")
    plural = "s" if steps != 1 else ""
    box.setText(f"Save the session before closing? {steps:,} training step{plural} "
                f"since the last save are not saved.")
    box.setInformativeText("A saved session resumes exactly: both networks, their "
                           "optimizers, the step and the curves.")
    save = box.addButton("Save session…", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(QMessageBox.StandardButton.Discard)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.setEscapeButton(cancel)
    return box, {save: SAVE, discard: DISCARD, cancel: CANCEL}


def ask_save_before_close(parent: QWidget | None, steps: int) -> str:
    """``SAVE``, ``DISCARD`` or ``CANCEL``."""
    box, answers = save_before_close_box(parent, steps)
    box.exec()
    return answers.get(box.clickedButton(), CANCEL)  # type: ignore[call-overload]


def reset_box(parent: QWidget | None, steps: int
              ) -> tuple[QMessageBox, dict[QPushButton, bool]]:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Reset training")
    plural = "s" if steps != 1 else ""
    box.setText(f"Reset both networks? {steps:,} training step{plural} since the last save "
                "start again from the seed.")
    box.setInformativeText("The run is kept until the window closes: Undo reset, in the "
                           "message above the plots, brings it back.")
    reset = box.addButton("Reset", QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box, {reset: True, cancel: False}


def ask_reset(parent: QWidget | None, steps: int) -> bool:
    """True when the user confirms the reset."""
    box, answers = reset_box(parent, steps)
    box.exec()
    return answers.get(box.clickedButton(), False)  # type: ignore[call-overload]


def restore_text(step: str | int, when: str) -> str:
    return ("GAN Playground did not close cleanly last time. Restore the autosaved session "
            f"(step {step}, saved at {when})?")


def restore_box(parent: QWidget | None, step: str | int, when: str) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Restore session")
    box.setText(restore_text(step, when))
    box.setInformativeText("No starts as usual; the autosave file stays until the next "
                           "autosave replaces it.")
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    return box


def ask_restore(parent: QWidget | None, step: str | int, when: str) -> bool:
    box = restore_box(parent, step, when)
    box.exec()
    return box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes


class PresetDetailsDialog(QDialog):
    """A preset's name and its description ("what to watch for"), to edit before saving."""

    def __init__(self, parent: QWidget | None, name: str, description: str,
                 title: str = "Preset name and description", note: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("preset_details")
        self.setWindowTitle(title)
        self.name_edit = QLineEdit(name)
        self.name_edit.setObjectName("preset_details_name")
        self.description_edit = QPlainTextEdit(description)
        self.description_edit.setObjectName("preset_details_description")
        self.description_edit.setPlaceholderText(
            "What this preset shows and what to watch for (the preset library shows it)")
        self.description_edit.setTabChangesFocus(True)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description_edit)
        layout = QVBoxLayout(self)
        if note:
            hint = QLabel(note)
            hint.setObjectName("preset_details_note")
            hint.setWordWrap(True)
            layout.addWidget(hint)
        layout.addLayout(form, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(
            lambda t: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
                bool(t.strip())))
        layout.addWidget(self.buttons)
        width, height = 620, 360
        screen = (parent.screen() if parent is not None else None) or self.screen()
        if screen is not None:
            room = screen.availableGeometry()
            width, height = min(width, room.width() - 40), min(height, room.height() - 80)
        self.resize(width, height)

    def values(self) -> tuple[str, str]:
        return self.name_edit.text().strip(), self.description_edit.toPlainText().strip()


def ask_preset_details(parent: QWidget | None, name: str, description: str,
                       title: str = "Preset name and description", note: str = ""
                       ) -> tuple[str, str] | None:
    """(name, description) as edited, or None when the user cancels."""
    dialog = PresetDetailsDialog(parent, name, description, title, note)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.values()


def text_dialog(parent: QWidget | None, title: str, html: str,
                size: tuple[int, int] = (680, 640)) -> QDialog:
    """A resizable, scrolling page of rich text with a Close button (e.g. the keyboard
    shortcuts, a table that outgrew a message box), fitted to the screen."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    text = QTextBrowser()
    text.setObjectName("text_dialog_body")
    text.setOpenExternalLinks(True)
    text.setHtml(html)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text, 1)
    layout.addWidget(buttons)
    width, height = size
    screen = (parent.screen() if parent is not None else None) or dialog.screen()
    if screen is not None:
        room = screen.availableGeometry()
        width, height = min(width, room.width() - 40), min(height, room.height() - 80)
    dialog.resize(width, height)
    return dialog


def ask_leave_engine(parent: QWidget | None, steps: int) -> bool:
    """Attaching to another engine ends this window's own: True to go on."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Attach to engine")
    box.setText(f"Attach to the other engine? This window's own engine ends, with "
                f"{steps:,} training steps that are not saved.")
    box.setInformativeText("Cancel and save the session first (Ctrl+Alt+S) to keep them.")
    attach = box.addButton("Attach", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is attach

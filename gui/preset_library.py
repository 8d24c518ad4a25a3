"""File ▸ Preset library…: every built-in preset (``presets/*.json``, read when the dialog
opens), its one-paragraph description when selected, and Load (or double-click)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import LOSS_INFO
from engine.presets import builtin_presets, load_preset


@dataclass(frozen=True)
class PresetInfo:
    stem: str           # what ``load_preset`` takes
    name: str
    description: str
    summary: str        # the main settings, one line
    error: str = ""     # a built-in file that does not load (listed, not loadable)


def _net(cfg: dict[str, Any]) -> str:
    widths = "×".join(str(w) for w in cfg["hidden"])
    norm = "" if cfg["norm"] == "none" else f", {cfg['norm']} norm"
    return f"{widths} {cfg['activation']}{norm}"


def summarize(cfg: dict[str, Any]) -> str:
    loss = cfg["loss"]["name"]
    title = LOSS_INFO[loss].title if loss in LOSS_INFO else loss
    og, od = cfg["optim"]["g"], cfg["optim"]["d"]
    return (f"data {cfg['data']['name']} · {title} · G {_net(cfg['generator'])} · "
            f"D {_net(cfg['discriminator'])} · {og['name']} {og['lr']:g} / {od['name']} "
            f"{od['lr']:g} · batch {cfg['train']['batch_size']} · "
            f"k = {cfg['train']['d_steps']} · seed {cfg['seed']}")


def read_library() -> list[PresetInfo]:
    """The built-in presets as they are on disk now."""
    out = []
    for stem in builtin_presets():
        try:
            cfg = load_preset(stem)
        except ValueError as e:
            out.append(PresetInfo(stem, stem, "", "", error=str(e)))
            continue
        out.append(PresetInfo(stem, str(cfg.get("name") or stem),
                              str(cfg.get("description") or ""), summarize(cfg)))
    return out


class PresetLibrary(QDialog):
    """``load_requested(stem)`` when the user loads a preset (the dialog then closes)."""

    load_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None,
                 presets: list[PresetInfo] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preset_library")
        self.setWindowTitle("Preset library")
        self.presets = read_library() if presets is None else presets

        self.list = QListWidget()
        self.list.setObjectName("preset_list")
        for info in self.presets:
            item = QListWidgetItem(info.name if not info.error else f"{info.name} (broken)")
            item.setData(Qt.ItemDataRole.UserRole, info.stem)
            item.setToolTip(info.stem)
            self.list.addItem(item)
        self.list.setMinimumWidth(max(200, self.list.sizeHintForColumn(0) + 30))

        self.title = QLabel()
        self.title.setObjectName("preset_title")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setObjectName("preset_description")
        self.text.setOpenLinks(False)

        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.text, 1)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addLayout(right, 1)

        self.buttons = QDialogButtonBox()
        self.load_button: QPushButton = self.buttons.addButton(
            "Load", QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setToolTip("Load the selected preset (double-click does the same)")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.load_selected)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        hint = QLabel(f"{len(self.presets)} built-in presets. Loading one mid-session asks "
                      "whether to keep the trained networks.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        self.resize(760, 440)

        self.list.currentRowChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda _item: self.load_selected())
        if self.presets:
            self.list.setCurrentRow(0)
        else:
            self._show(-1)

    def selected(self) -> PresetInfo | None:
        row = self.list.currentRow()
        return self.presets[row] if 0 <= row < len(self.presets) else None

    def select(self, stem: str) -> None:
        for row, info in enumerate(self.presets):
            if info.stem == stem:
                self.list.setCurrentRow(row)
                return
        raise KeyError(stem)

    def _show(self, row: int) -> None:
        info = self.presets[row] if 0 <= row < len(self.presets) else None
        if info is None:
            self.title.setText("No built-in presets found")
            self.text.setHtml("")
            self.load_button.setEnabled(False)
            return
        self.title.setText(info.name)
        if info.error:
            html = f"<p>This preset file does not load:</p><p>{escape(info.error)}</p>"
        else:
            desc = escape(info.description) or "<i>No description.</i>"
            html = (f"<p>{desc}</p><p style='color:#aab0ba'>{escape(info.summary)}</p>"
                    f"<p style='color:#aab0ba'>File: presets/{escape(info.stem)}.json</p>")
        self.text.setHtml(html)
        self.load_button.setEnabled(not info.error)

    def load_selected(self) -> None:
        info = self.selected()
        if info is None or info.error:
            return
        self.accept()
        self.load_requested.emit(info.stem)

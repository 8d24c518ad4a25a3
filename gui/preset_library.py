"""File ▸ Preset library…: every built-in preset (``presets/*.json``, read when the dialog
opens), grouped by lecture topic in teaching order (the loss and its gradients first, images
last), each with the lecture note it comes from; its description when selected, and Load
(or double-click). The games lab's presets (``presets/games/*.json``) follow as their own
group and open in the Games lab."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import LOSS_INFO
from engine.presets import OTHER_TOPIC, TOPICS, builtin_presets, load_preset, teaching_key, topic_of

HEADER_COLOUR = "#e8c872"
DIM = "#aab0ba"
GAMES_TOPIC = "Games lab: gradient play on two-parameter games"


@dataclass(frozen=True)
class PresetInfo:
    stem: str           # what ``load_preset`` takes
    name: str
    description: str
    summary: str        # the main settings, one line
    error: str = ""     # a built-in file that does not load (listed, not loadable)
    topic: str = OTHER_TOPIC
    lecture: str = ""
    lab: str = ""       # "games": a presets/games file, opened in the Games lab


def _net(cfg: dict[str, Any]) -> str:
    norm = "" if cfg["norm"] == "none" else f", {cfg['norm']} norm"
    if cfg.get("arch") == "dcgan":  # its hidden widths are unused: say what it is built of
        return f"DCGAN {cfg['width']} channels {cfg['activation']}{norm}"
    widths = "×".join(str(w) for w in cfg["hidden"])
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
    """The built-in presets as they are on disk now, in teaching order: by topic
    (``engine.presets.TOPICS``), then ``TEACHING_ORDER``; broken files last."""
    out = []
    keys = {}
    for stem in builtin_presets():
        try:
            cfg = load_preset(stem)
        except ValueError as e:
            out.append(PresetInfo(stem, stem, "", "", error=str(e)))
            keys[stem] = teaching_key(stem, {})
            continue
        out.append(PresetInfo(stem, str(cfg.get("name") or stem),
                              str(cfg.get("description") or ""), summarize(cfg),
                              topic=topic_of(cfg), lecture=str(cfg.get("lecture") or "")))
        keys[stem] = teaching_key(stem, cfg)
    out = sorted(out, key=lambda info: keys[info.stem])
    # here, not at the top: the games bring scipy, and the window's start need not wait
    # for it (it cost a third of the GUI's import time before the first paint)
    from engine.games import builtin_game_presets, load_game_preset

    for stem in builtin_game_presets():
        try:
            game = load_game_preset(stem)
        except ValueError as e:
            out.append(PresetInfo(stem, stem, "", "", error=str(e), topic=GAMES_TOPIC,
                                  lab="games"))
            continue
        g = game.settings
        summary = (f"Games lab · game {g.game} · update {g.update} · {g.optim} lr {g.lr:g} · "
                   f"reg {g.reg} · start {g.start[0]:g}, {g.start[1]:g}"
                   + (f" · {game.steps} steps" if game.steps else ""))
        out.append(PresetInfo(stem, game.name, game.description, summary, topic=GAMES_TOPIC,
                              lab="games"))
    return out


def topic_title(topic: str) -> str:
    """A group header: numbered in teaching order ("1 · The loss and its gradients")."""
    return f"{TOPICS.index(topic) + 1} · {topic}" if topic in TOPICS else topic


class PresetLibrary(QDialog):
    """``load_requested(stem)`` when the user loads a trainer preset, ``lab_requested(lab,
    stem)`` for a lab's preset (the dialog then closes).

    The list is a tree: one header per topic, in the order the lectures teach them, and
    under it each preset with the lecture it comes from; the games lab's presets last."""

    load_requested = Signal(str)
    lab_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None,
                 presets: list[PresetInfo] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preset_library")
        self.setWindowTitle("Preset library")
        self.presets = read_library() if presets is None else presets

        self.tree = QTreeWidget()
        self.tree.setObjectName("preset_list")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Preset", "From the lecture"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(14)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.tree.expandAll()
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

        self.title = QLabel()
        self.title.setObjectName("preset_title")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.source = QLabel()
        self.source.setObjectName("preset_source")
        self.source.setWordWrap(True)
        self.source.setStyleSheet(f"color: {DIM};")
        self.text = QTextBrowser()
        self.text.setObjectName("preset_description")
        self.text.setOpenLinks(False)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.source)
        right_layout.addWidget(self.text, 1)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(self.tree)
        body.addWidget(right)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        body.setSizes([600, 440])  # the list wide enough for its lectures; scaled to fit

        self.buttons = QDialogButtonBox()
        self.load_button: QPushButton = self.buttons.addButton(
            "Load", QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setToolTip("Load the selected preset (double-click does the same)")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.load_selected)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        games = sum(1 for p in self.presets if p.lab)
        hint = QLabel(f"{len(self.presets) - games} built-in presets, grouped by topic in the "
                      "order the lectures teach them. Loading one mid-session asks whether to "
                      "keep the trained networks."
                      + (f" The last {games} open in the Games lab." if games else ""))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(body, 1)
        layout.addWidget(self.buttons)
        self._fit_to_screen(1040, 620)

        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.load_selected())
        self.tree.itemClicked.connect(lambda item, _col: self._header_clicked(item))
        first = next(iter(self.items.values()), None)
        if first is not None:
            self.tree.setCurrentItem(first)
        else:
            self._show(None)

    def _fill(self) -> None:
        """A header per topic (not selectable; the arrow keys step over it), its presets."""
        headers: dict[str, QTreeWidgetItem] = {}
        for info in self.presets:
            topic = info.topic if not info.error or info.lab else OTHER_TOPIC
            header = headers.get(topic)
            if header is None:
                header = QTreeWidgetItem(self.tree, [topic_title(topic)])
                header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # disabled would disable its presets
                font = header.font(0)
                font.setBold(True)
                header.setFont(0, font)
                header.setForeground(0, QBrush(QColor(HEADER_COLOUR)))
                header.setFirstColumnSpanned(True)
                headers[topic] = header
            label = info.name if not info.error else f"{info.name} (broken)"
            item = QTreeWidgetItem(header, [label, info.lecture])
            item.setData(0, Qt.ItemDataRole.UserRole, info.stem)
            item.setToolTip(0, f"presets/{'games/' if info.lab else ''}{info.stem}.json")
            item.setToolTip(1, info.lecture)
            self.items[info.stem] = item

    def _fit_to_screen(self, width: int, height: int) -> None:
        screen = (self.parent().screen() if isinstance(self.parent(), QWidget) else None) \
            or self.screen()
        if screen is not None:
            room = screen.availableGeometry()
            width, height = min(width, room.width() - 40), min(height, room.height() - 60)
        self.resize(width, height)

    def _current_changed(self, item: QTreeWidgetItem | None,
                         old: QTreeWidgetItem | None) -> None:
        """A header became current (the arrow keys): go on to the nearest preset in the
        direction of travel, so the current item is always a preset."""
        if item is not None and item.parent() is None:
            rect = self.tree.visualItemRect
            down = old is None or rect(old).top() < rect(item).top()
            target = (self.tree.itemBelow if down else self.tree.itemAbove)(item)
            target = target or self.tree.itemBelow(item)  # the first header, going up
            if target is not None:
                self.tree.setCurrentItem(target)
            return
        self._show(self._info(item))

    def _header_clicked(self, item: QTreeWidgetItem) -> None:
        """A click on a header picks its first preset."""
        if item.parent() is None and item.childCount():
            self.tree.setCurrentItem(item.child(0))

    def _info(self, item: QTreeWidgetItem | None) -> PresetInfo | None:
        stem = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return next((p for p in self.presets if p.stem == stem), None) if stem else None

    def entries(self) -> list[str]:
        """The stems as listed, top to bottom."""
        return list(self.items)

    def headers(self) -> list[str]:
        """The group headers as listed, top to bottom."""
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def selected(self) -> PresetInfo | None:
        return self._info(self.tree.currentItem())

    def select(self, stem: str) -> None:
        if stem not in self.items:
            raise KeyError(stem)
        self.tree.setCurrentItem(self.items[stem])

    def _show(self, info: PresetInfo | None) -> None:
        if info is None:
            self.title.setText("No built-in presets found" if not self.presets else "")
            self.source.setText("")
            self.text.setHtml("")
            self.load_button.setEnabled(False)
            return
        self.title.setText(info.name)
        where = [f"From the lecture: {info.lecture}"] if info.lecture else []
        if info.topic != OTHER_TOPIC:
            where.append(f"Topic: {info.topic}")
        self.source.setText(" · ".join(where))
        self.source.setVisible(bool(where))
        if info.error:
            html = f"<p>This preset file does not load:</p><p>{escape(info.error)}</p>"
        else:
            desc = escape(info.description) or "<i>No description.</i>"
            html = (f"<p>{desc}</p><p style='color:{DIM}'>{escape(info.summary)}</p>"
                    f"<p style='color:{DIM}'>File: presets/"
                    f"{'games/' if info.lab else ''}{escape(info.stem)}.json</p>")
        self.text.setHtml(html)
        self.load_button.setEnabled(not info.error)

    def load_selected(self) -> None:
        info = self.selected()
        if info is None or info.error:
            return
        self.accept()
        if info.lab:
            self.lab_requested.emit(info.lab, info.stem)
        else:
            self.load_requested.emit(info.stem)

"""A visible, dismissable message line above the plots.

Status-bar messages vanish and are easy to miss; a rejected value, a divergence or a failed
save needs to stay on screen until the user has read it (info messages fade on their own,
unless they carry an action such as Undo, or are asked to stay).

The text wraps at word boundaries, and anywhere inside a word too long for the line (a long
file path), so a message never widens the window or pushes its buttons and the dismiss
button out of sight; it is as tall as its lines, up to ``MAX_LINES``, then scrolls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QWidget,
)

from ..appearance import appearance
from ..theme import MESSAGE_COLOURS

INFO_MS = 8000
ACTION_INFO_MS = 30_000  # an info message with a button (Undo) stays long enough to use it
MAX_LINES = 5


class MessageText(QTextEdit):
    """Read-only, selectable message text that wraps anywhere it must and is exactly as
    tall as its wrapped lines (at most ``MAX_LINES``; beyond that it scrolls)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_text")
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.document().setDocumentMargin(0)
        self.viewport().setAutoFillBackground(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the shortcuts stay the window's
        # any width will do: the text wraps to it, the buttons keep theirs
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(60)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_: Any) -> None:
        line = self.fontMetrics().lineSpacing()
        height = max(line, min(int(self.document().size().height() + 0.999), MAX_LINES * line))
        if height != self.height():
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(60, self.fontMetrics().lineSpacing())


class MessageLine(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_line")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 5, 6, 5)
        self.label = MessageText()
        layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        self._layout = layout
        self.close_button = QToolButton()
        self.close_button.setObjectName("message_dismiss")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss this message (Esc)")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.level = ""
        self._text = ""
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self.dismiss)
        self.hide()

    def show_message(self, text: str, level: str = "info", details: str = "",
                     actions: Sequence[tuple[str, Callable[[], None]]] = (),
                     stay: bool = False) -> None:
        """Show ``text``; errors and warnings stay until dismissed, info fades (after longer
        when it has ``actions``; never with ``stay``). ``actions`` are buttons (label,
        callback) beside it; pressing one also dismisses the message."""
        self._drop_buttons()
        for i, (label, callback) in enumerate(actions):
            button = QPushButton(label)
            button.setObjectName(f"message_action_{i}")
            button.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self._layout.insertWidget(1 + i, button, 0, Qt.AlignmentFlag.AlignTop)
            self._buttons.append(button)
        name = appearance().effective  # the bar wears the theme of the moment
        colours = MESSAGE_COLOURS[name]
        bg, fg = colours.get(level, colours["info"])
        self.setStyleSheet(f"#message_line {{ background: {bg}; border-radius: 4px; }}"
                           f"#message_text {{ color: {fg}; background: transparent; }}")
        self.setProperty("gp_theme", name)
        self.level = level
        self._text = text
        self.label.setPlainText(text)
        self.label.setToolTip(details)
        self.show()
        if level == "info" and not stay:
            self._fade.start(ACTION_INFO_MS if actions else INFO_MS)
        else:
            self._fade.stop()

    def text(self) -> str:
        return "" if self.isHidden() else self._text

    def dismiss(self) -> None:
        self._fade.stop()
        self._text = ""
        self.label.clear()
        self._drop_buttons()
        self.hide()

    def _drop_buttons(self) -> None:
        for b in self._buttons:
            b.hide()  # at once: deleteLater waits for the event loop's own turn
            b.deleteLater()
        self._buttons = []

    def action_buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def stop(self) -> None:
        """Stop the fade timer (window closing)."""
        self._fade.stop()

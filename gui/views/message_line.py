"""A visible, dismissable message line above the plots.

Status-bar messages vanish and are easy to miss; a rejected value, a divergence or a failed
save needs to stay on screen until the user has read it (info messages fade on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from ..theme import MESSAGE_STYLES

INFO_MS = 8000


class MessageLine(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_line")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 5, 6, 5)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        self._layout = layout
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message (Esc)")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self.level = ""
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self.dismiss)
        self.hide()

    def show_message(self, text: str, level: str = "info", details: str = "",
                     actions: Sequence[tuple[str, Callable[[], None]]] = ()) -> None:
        """Show ``text``; errors and warnings stay until dismissed, info fades. ``actions``
        are buttons (label, callback) beside it; pressing one also dismisses the message."""
        for b in self._buttons:
            b.deleteLater()
        self._buttons = []
        for i, (label, callback) in enumerate(actions):
            button = QPushButton(label)
            button.setObjectName(f"message_action_{i}")
            button.clicked.connect(lambda _=False, cb=callback: (self.dismiss(), cb()))
            self._layout.insertWidget(1 + i, button)
            self._buttons.append(button)
        bg, fg = MESSAGE_STYLES.get(level, MESSAGE_STYLES["info"])
        self.setStyleSheet(f"#message_line {{ background: {bg}; border-radius: 4px; }}"
                           f"#message_line QLabel {{ color: {fg}; }}")
        self.level = level
        self.label.setText(text)
        self.label.setToolTip(details)
        self.show()
        if level == "info":
            self._fade.start(INFO_MS)
        else:
            self._fade.stop()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def dismiss(self) -> None:
        self._fade.stop()
        self.label.clear()
        for b in self._buttons:
            b.deleteLater()
        self._buttons = []
        self.hide()

    def action_buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def stop(self) -> None:
        """Stop the fade timer (window closing)."""
        self._fade.stop()

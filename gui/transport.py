"""Play / pause / step / reset and the speed control: toolbar actions that emit engine commands.

Each action is declared once (text, shortcut, tooltip, icon) in ``TRANSPORT``; the toolbar,
the Training menu and the keyboard-shortcut help are all built from that table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QStyle, QToolBar, QWidget

from engine.protocol import Pause, Play, Reset, SetSpeed, Step

# Iterations per second from slow motion to full speed (None: as fast as the engine can).
SPEEDS: tuple[float | None, ...] = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, None)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcut: str
    tip: str
    icon: QStyle.StandardPixmap | None = None
    checkable: bool = False


TRANSPORT: tuple[ActionSpec, ...] = (
    ActionSpec("play", "Play", "Space", "Start or pause training",
               QStyle.StandardPixmap.SP_MediaPlay, checkable=True),
    ActionSpec("step", "Step", "S", "One full iteration: k discriminator steps, then one "
               "generator step (pauses first)", QStyle.StandardPixmap.SP_MediaSkipForward),
    ActionSpec("step_d", "D step", "D", "One discriminator update only (pauses first)"),
    ActionSpec("step_g", "G step", "G", "One generator update only (pauses first)"),
    ActionSpec("reset", "Reset", "Ctrl+R", "Re-initialise both networks from the seed; "
               "the curves restart (asks first after a long unsaved run; Undo brings it back)",
               QStyle.StandardPixmap.SP_BrowserReload),
    ActionSpec("slower", "Slower", "[", "Slow down (down to slow motion)"),
    ActionSpec("faster", "Faster", "]", "Speed up (up to full speed)"),
)

# Which command each action sends (play is special: it toggles).
_COMMANDS: dict[str, Any] = {
    "step": Step("iteration"),
    "step_d": Step("d"),
    "step_g": Step("g"),
    "reset": Reset(),
}


def speed_text(speed: float | None) -> str:
    return "full speed" if speed is None else f"{speed:g} it/s"


class Transport(QObject):
    """The actions and the speed slider; ``command_requested`` carries engine commands."""

    command_requested = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        style = parent.style()
        self.actions: dict[str, QAction] = {}
        for spec in TRANSPORT:
            action = QAction(spec.text, parent)
            if spec.icon is not None:
                action.setIcon(style.standardIcon(spec.icon))
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{spec.tip} ({spec.shortcut})")
            action.setStatusTip(spec.tip)
            action.setCheckable(spec.checkable)
            action.setObjectName(f"action_{spec.name}")
            self.actions[spec.name] = action
        self.actions["play"].toggled.connect(self._on_play_toggled)
        # who decides about a reset (asks first, keeps the run for Undo): the window's
        # SessionKeeper; None sends it at once
        self.reset_handler: Callable[[], None] | None = None
        for name, cmd in _COMMANDS.items():
            if name == "reset":
                self.actions[name].triggered.connect(self._on_reset)
                continue
            self.actions[name].triggered.connect(lambda _=False, c=cmd: self._send_step(c))
        self.actions["slower"].triggered.connect(lambda: self.nudge_speed(-1))
        self.actions["faster"].triggered.connect(lambda: self.nudge_speed(+1))

        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setObjectName("speed")
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(len(SPEEDS) - 1)
        self.speed_slider.setPageStep(1)
        self.speed_slider.setFixedWidth(150)
        self.speed_slider.setToolTip("Training speed, from slow motion (1 iteration per second) "
                                     "to full speed ([ and ] change it)")
        self.speed_label = QLabel(speed_text(None))
        self.speed_label.setMinimumWidth(self.speed_label.fontMetrics().horizontalAdvance(
            "full speed  "))
        self.speed_slider.valueChanged.connect(self._on_slider_moved)
        self.speed_slider.sliderReleased.connect(self._apply_speed)

    # -- building
    def fill_toolbar(self, bar: QToolBar) -> None:
        for name in ("play", "step", "step_d", "step_g", "reset"):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        speed = QLabel("  Speed ")
        speed.setToolTip(self.speed_slider.toolTip())
        bar.addWidget(speed)
        bar.addWidget(self.speed_slider)
        bar.addWidget(self.speed_label)

    # -- state in
    def show_running(self, running: bool) -> None:
        """Reflect the engine's state on the play button without sending anything."""
        play = self.actions["play"]
        with QSignalBlocker(play):
            play.setChecked(running)
        self._label_play(running)

    def request_running(self, running: bool) -> None:
        """Play or pause as if the play button had been pressed (the button follows)."""
        play = self.actions["play"]
        if play.isChecked() != running:
            play.setChecked(running)  # toggled: labels the button and sends the command
        else:
            self.command_requested.emit(Play() if running else Pause())

    @property
    def speed(self) -> float | None:
        return SPEEDS[self.speed_slider.value()]

    # -- user input
    def _label_play(self, running: bool) -> None:
        play = self.actions["play"]
        play.setText("Pause" if running else "Play")
        play.setIcon(self.parent().style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay))

    def _on_play_toggled(self, running: bool) -> None:
        self._label_play(running)
        self.command_requested.emit(Play() if running else Pause())

    def _on_reset(self) -> None:
        if self.reset_handler is not None:
            self.reset_handler()
        else:
            self.send_reset()

    def send_reset(self) -> None:
        """Re-initialise both networks now (no question)."""
        self._send_step(Reset())

    def _send_step(self, command: Any) -> None:
        self.show_running(False)  # a step pauses the engine first
        self.command_requested.emit(command)

    def _on_slider_moved(self, _: int) -> None:
        self.speed_label.setText(speed_text(self.speed))
        if not self.speed_slider.isSliderDown():  # keys and page clicks: apply at once
            self._apply_speed()

    def _apply_speed(self) -> None:
        self.command_requested.emit(SetSpeed(self.speed))

    def nudge_speed(self, delta: int) -> None:
        self.speed_slider.setValue(max(0, min(len(SPEEDS) - 1, self.speed_slider.value() + delta)))

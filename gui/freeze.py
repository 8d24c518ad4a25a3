"""Training > Freeze G / Freeze D: hold one network still while the other trains.

The notes' demonstration "train D to the optimum with G fixed" needs G frozen: the engine
takes ``optim.g.lr = 0`` to mean that network's step is skipped entirely (bit-identical
weights, and D-only training runs faster). A toggle sets the learning rate to 0 and
remembers the one it replaced, so unfreezing brings back exactly what was there; the check
marks follow the engine's config, so a preset or a typed learning rate of 0 shows as frozen
too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

if TYPE_CHECKING:
    from .main_window import MainWindow

FALLBACK_LR = 2e-4  # unfreezing a network whose learning rate was 0 from the start
NETWORKS = (("g", "G", "Shift+G", "the generator"), ("d", "D", "Shift+D", "the discriminator"))


class FreezeActions(QObject):
    """The two checkable actions and the learning rates they put aside."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.actions: dict[str, QAction] = {}
        self._kept: dict[str, float] = {}
        for net, letter, key, name in NETWORKS:
            action = QAction(f"Freeze {letter}", window)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"Hold {name} still: its learning rate goes to 0 and its step is "
                              f"skipped (unfreeze to restore the learning rate it had)")
            action.setStatusTip(action.toolTip())
            action.triggered.connect(lambda on, n=net: self.set_frozen(n, on))
            window.addAction(action)
            self.actions[net] = action

    def set_frozen(self, net: str, on: bool) -> None:
        """Ask the engine to freeze or unfreeze ``net`` ("g" or "d")."""
        lr = float(self.window.config["optim"][net]["lr"])
        if on:
            if lr > 0:
                self._kept[net] = lr
            changes: dict[str, Any] = {f"optim.{net}.lr": 0.0}
        else:
            changes = {f"optim.{net}.lr": self._kept.pop(net, lr if lr > 0 else FALLBACK_LR)}
        self.window.apply_changes(changes)  # the check marks follow the engine's answer

    def show_config(self, config: dict[str, Any]) -> None:
        """Check marks as the engine's config says (lr 0 is frozen, however it got there)."""
        for net, action in self.actions.items():
            action.setChecked(float(config["optim"][net]["lr"]) == 0.0)

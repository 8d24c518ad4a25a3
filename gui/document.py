"""What the window edits, and where it came from: a small document model.

The window, its file actions and its autosave all ask the same questions (which settings
run now? which preset did they come from, and from which file? do they differ from it?).
They ask this object instead of each other's private members, and follow its ``changed``
signal (the title's ``*`` mark, for one).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from engine.config import diff


def plain(config: dict[str, Any]) -> dict[str, Any]:
    """The config as JSON would give it back (tuples become lists), for comparisons."""
    return json.loads(json.dumps(config))


class Document(QObject):
    """``config``: the engine's effective settings (its last ``Applied``/``Rejected``);
    ``preset_name``: what was opened (a built-in name or a path), reopened next launch;
    ``preset_file``: the user's file Save writes (None: a built-in, a checkpoint, none);
    ``preset_saved``: the preset as last loaded or saved (None after a checkpoint)."""

    changed = Signal()

    def __init__(self, config: dict[str, Any], preset_name: str | None,
                 settings: QSettings, preset_file: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.config = config
        self.preset_name = preset_name
        self.preset_file = preset_file
        self.preset_saved: dict[str, Any] | None = plain(config)

    @property
    def modified(self) -> bool:
        """Whether the live settings differ from the preset as last loaded or saved."""
        return self.preset_saved is not None and bool(diff(plain(self.config), self.preset_saved))

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.preset_name or "untitled")

    def set_config(self, config: dict[str, Any]) -> None:
        self.config = config
        self.changed.emit()

    def commit_preset(self, name_or_path: str, file: str | None,
                      config: dict[str, Any]) -> None:
        """A preset was loaded or saved: the live settings are that preset now."""
        self.preset_file = file
        self.preset_saved = plain(config)
        self.remember(name_or_path)

    def forget_preset(self) -> None:
        """A checkpoint was opened: it carries its own config, no preset file."""
        self.preset_file = None
        self.preset_saved = None
        self.changed.emit()

    def remember(self, name_or_path: str) -> None:
        """The preset to reopen next launch (``run_app`` with no preset named)."""
        self.preset_name = name_or_path
        self.settings.setValue("preset/last", name_or_path)
        self.changed.emit()

"""File menu work: presets, checkpoints and point imports.

Each action takes an optional path so tests and scripts can skip the dialog. Nothing here
raises at the user: a bad file becomes a message in the window. Checkpoints are written by
the engine's worker (``SaveGenerator``/``SaveSession``: it owns the torch state); presets and
CSV points are plain data and are handled here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from engine.datasets import load_points_csv
from engine.presets import load_preset, save_preset
from engine.runner import LoadConfig, SaveGenerator, SaveSession

if TYPE_CHECKING:
    from .main_window import MainWindow

CHECKPOINT_FILTER = "Checkpoints (*.safetensors);;All files (*)"
PRESET_FILTER = "Presets (*.json);;All files (*)"
CSV_FILTER = "CSV files (*.csv);;All files (*)"
MAX_POINTS = 5000  # real points kept from a drawing or an import (the newest)


class FileActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def _save_path(self, title: str, suggested: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, filters)
        return path or None

    def _open_path(self, title: str, filters: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, title, "", filters)
        return path or None

    def import_points_csv(self, path: str | None = None) -> bool:
        """Use a CSV of x,y rows as the real data; a bad file is explained, not raised."""
        path = path or self._open_path("Import points", CSV_FILTER)
        if not path:
            return False
        try:
            points = load_points_csv(path)
        except ValueError as e:
            self.window.message.show_message(f"Could not import points: {e}", "error")
            return False
        self.window.apply_changes({"data.name": "points", "data.points": points[-MAX_POINTS:]})
        self.window.statusBar().showMessage(f"Imported {len(points)} points from {path}", 5000)
        return True

    def save_generator(self, path: str | None = None) -> None:
        path = path or self._save_path("Save generator", "generator.safetensors",
                                       CHECKPOINT_FILTER)
        if path:
            self.window.link.send(SaveGenerator(path))

    def save_session(self, path: str | None = None) -> None:
        path = path or self._save_path("Save session", "session.safetensors", CHECKPOINT_FILTER)
        if path:
            self.window.link.send(SaveSession(path))

    def save_preset(self, path: str | None = None) -> bool:
        config = self.window.config
        path = path or self._save_path("Save preset", f"{config.get('name') or 'preset'}.json",
                                       PRESET_FILTER)
        if not path:
            return False
        try:
            save_preset(config, path)
        except (OSError, ValueError) as e:
            self.window.message.show_message(f"Could not save the preset: {e}", "error")
            return False
        self.window.message.show_message(f"Saved the preset to {path}", "info")
        return True

    def open_preset(self, name_or_path: str | None = None) -> bool:
        """Replace the session by a preset (a built-in name or a JSON path)."""
        name_or_path = name_or_path or self._open_path("Open preset", PRESET_FILTER)
        if not name_or_path:
            return False
        try:
            config = load_preset(name_or_path)
        except ValueError as e:
            self.window.message.show_message(f"Could not load the preset: {e}", "error")
            return False
        self.window.remember_preset(name_or_path)
        self.window.link.send(LoadConfig(config))
        return True

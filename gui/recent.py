"""The recent presets list (File ▸ Recent presets), newest first, kept in ``QSettings``.

Stored as one JSON string: an INI ``QSettings`` hands a one-element list back as a plain
string, which a JSON value avoids.
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QSettings

KEY = "preset/recent"
MAX_RECENT = 8


class RecentPresets:
    def __init__(self, settings: QSettings, limit: int = MAX_RECENT) -> None:
        self.settings = settings
        self.limit = limit

    def paths(self) -> list[str]:
        raw = self.settings.value(KEY, "[]")
        try:
            items = json.loads(raw) if isinstance(raw, str) else []
        except ValueError:
            items = []
        return [p for p in items if isinstance(p, str) and p][: self.limit]

    def _store(self, paths: list[str]) -> None:
        self.settings.setValue(KEY, json.dumps(paths[: self.limit]))

    def add(self, path: str) -> None:
        path = os.path.abspath(path)
        self._store([path] + [p for p in self.paths() if p != path])

    def remove(self, path: str) -> None:
        path = os.path.abspath(path)
        self._store([p for p in self.paths() if p != path])

    def prune(self) -> list[str]:
        """Drop the files that are gone; returns the dropped paths."""
        paths = self.paths()
        gone = [p for p in paths if not os.path.isfile(p)]
        if gone:
            self._store([p for p in paths if p not in gone])
        return gone

    def clear(self) -> None:
        self._store([])

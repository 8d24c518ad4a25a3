"""Where the window remembers its size, splitters and last preset.

Keys: ``window/geometry``, ``splitters/*``, ``preset/last`` (reopened at launch),
``preset/recent`` (File ▸ Recent presets, a JSON list: ``gui.recent``) and
``autosave/minutes`` (the autosave interval, default 3: ``gui.autosave``). Autosaves
themselves go to the data folder (``gui.autosave.data_dir``), not here.

One place builds the ``QSettings`` object so tests can redirect it with
``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_dir)`` and never write to
the user's real configuration.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from engine.userdirs import APP_AUTHOR, APP_NAME

ORGANIZATION = APP_AUTHOR  # one name and organisation everywhere (engine.userdirs)
APPLICATION = APP_NAME


def app_settings() -> QSettings:
    """The user-scope INI settings (INI on every platform, so ``setPath`` redirects it)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     ORGANIZATION, APPLICATION)

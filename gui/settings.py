"""Where the window remembers its size, splitters and last preset.

One place builds the ``QSettings`` object so tests can redirect it with
``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_dir)`` and never write to
the user's real configuration.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "GAN Playground"
APPLICATION = "gan-playground"


def app_settings() -> QSettings:
    """The user-scope INI settings (INI on every platform, so ``setPath`` redirects it)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     ORGANIZATION, APPLICATION)

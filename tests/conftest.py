"""Fixtures shared by every test folder (the Qt ones import Qt lazily)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    """Fail when a test leaves a thread running."""
    baseline = threading.active_count()
    yield
    deadline = time.monotonic() + 3.0
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    leaked = [t.name for t in threading.enumerate()]
    assert threading.active_count() <= baseline, f"threads left running: {leaked}"


@pytest.fixture(scope="session")
def private_qt_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Window settings go to a temporary folder, never to the user's configuration."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("settings")))

"""GUI test fixtures: offscreen Qt, private settings, small fast models, no leaked threads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from engine.config import default_config, with_changes  # noqa: E402

# Small networks and batches keep every GUI test in the seconds.
SMALL: dict[str, Any] = {
    "generator.hidden": [16],
    "discriminator.hidden": [16],
    "train.batch_size": 64,
    "train.metrics_every": 20,
    "train.metrics_samples": 200,
    "device": "cpu",
}


def small_config(**changes: Any) -> dict[str, Any]:
    return with_changes(default_config(), {**SMALL, **changes})


@pytest.fixture(scope="session", autouse=True)
def _private_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Window settings go to a temporary folder, never to the user's configuration."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("settings")))


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


@pytest.fixture
def make_window(qtbot: Any, no_thread_leak: None, tmp_path: Any
                ) -> Iterator[Callable[..., Any]]:
    """Build a shown MainWindow on a small config, ready (engine started); closed and
    checked (worker dead, frame timer stopped) at teardown."""
    from gui.main_window import MainWindow

    windows: list[Any] = []

    def make(settings: QSettings | None = None, **changes: Any) -> Any:
        settings = settings or QSettings(str(tmp_path / f"win{len(windows)}.ini"),
                                         QSettings.Format.IniFormat)
        window = MainWindow(small_config(**changes), "test", settings=settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(window.runner.ready.is_set, timeout=10_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert not window.runner.alive, "the engine thread outlived its window"
        assert not window.link.timer.isActive(), "the frame timer outlived its window"

"""GUI test fixtures: offscreen Qt, private settings, small fast models, no leaked threads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
def _private_settings(private_qt_settings: None) -> None:
    """Every Qt test writes its window settings to a temporary folder (tests/conftest.py)."""


@pytest.fixture
def make_window(qtbot: Any, no_thread_leak: None, tmp_path: Any
                ) -> Iterator[Callable[..., Any]]:
    """Build a shown MainWindow on a small config, ready (engine started); closed and
    checked (worker dead, frame timer stopped) at teardown."""
    from gui.main_window import MainWindow

    windows: list[Any] = []

    def make(settings: QSettings | None = None, config: dict[str, Any] | None = None,
             name: str = "test", **changes: Any) -> Any:
        """``config`` replaces the small default one (``changes`` then do not apply)."""
        settings = settings or QSettings(str(tmp_path / f"win{len(windows)}.ini"),
                                         QSettings.Format.IniFormat)
        window = MainWindow(config or small_config(**changes), name, settings=settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.link.state.ready, timeout=30_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert not window.link.alive, "the engine outlived its window"
        assert window.link.process is None or window.link.process.proc.poll() is not None, \
            "the engine process outlived its window"
        assert not window.link.timer.isActive(), "the frame timer outlived its window"


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Autosaves and crash markers (``gui.autosave``) never go to the user's data folder."""
    from gui.autosave import DATA_DIR_ENV

    old = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(tmp_path_factory.mktemp("data"))
    yield
    if old is None:
        os.environ.pop(DATA_DIR_ENV, None)
    else:
        os.environ[DATA_DIR_ENV] = old


UNSET = object()


class Answers:
    """Scripted answers to the questions in ``gui.dialogs``; ``asked`` records each one as
    (question, args). A keep/restore/reset question with no answer set fails the test instead
    of blocking it; an unanswered close question discards (pytest-qt closes the test's windows
    before any fixture teardown, so a failed test must still be able to close) and unanswered
    preset details are accepted as prefilled."""

    def __init__(self) -> None:
        self.keep: Any = UNSET     # "keep", "fresh" or None (cancel)
        self.close: Any = UNSET    # "save", "discard" or "cancel"
        self.restore: Any = UNSET  # True / False
        self.reset: Any = UNSET    # True (reset) / False (cancel)
        self.details: Any = UNSET  # (name, description), None (cancel); unset: as prefilled
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def _answer(self, question: str, value: Any, *args: Any) -> Any:
        self.asked.append((question, args[1:]))  # args[0] is the parent window
        if value is UNSET:
            if question == "close":
                return "discard"
            if question == "details":  # accepted as prefilled
                return args[1], args[2]
            raise AssertionError(f"unexpected question: {question} {args[1:]}")
        return value


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """Answer ``gui.dialogs`` questions from the test; no modal box is ever shown."""
    from gui import dialogs

    a = Answers()
    monkeypatch.setattr(dialogs, "ask_keep_networks",
                        lambda *args: a._answer("keep", a.keep, *args))
    monkeypatch.setattr(dialogs, "ask_save_before_close",
                        lambda *args: a._answer("close", a.close, *args))
    monkeypatch.setattr(dialogs, "ask_restore",
                        lambda *args: a._answer("restore", a.restore, *args))
    monkeypatch.setattr(dialogs, "ask_reset",
                        lambda *args: a._answer("reset", a.reset, *args))
    monkeypatch.setattr(dialogs, "ask_preset_details",
                        lambda *args: a._answer("details", a.details, *args))
    return a

"""Lab test fixtures: offscreen Qt, private settings, no timers left running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _private_settings(private_qt_settings: None) -> None:
    """Theme and zoom are read from a temporary folder (tests/conftest.py)."""


@pytest.fixture
def games_lab(qtbot: Any) -> Iterator[Callable[..., Any]]:
    """A ``GamesLab`` shown offscreen at 1280×720; paused and checked at teardown."""
    from gui.labs import GamesLab

    made: list[Any] = []

    def make(**settings: Any) -> Any:
        from engine.games import GameSettings

        lab = GamesLab(settings=GameSettings(**settings))
        qtbot.addWidget(lab)
        lab.resize(1280, 720)
        lab.show()
        qtbot.waitExposed(lab)
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.pause()
        assert not lab.timer.isActive(), "the play timer outlived the test"


@pytest.fixture
def divergence_lab(qtbot: Any) -> Iterator[Callable[..., Any]]:
    from gui.labs import DivergenceLab

    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        lab = DivergenceLab(**{"grid": 24, "drag_grid": 12, **kwargs})
        qtbot.addWidget(lab)
        lab.resize(1280, 720)
        lab.show()
        qtbot.waitExposed(lab)
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.close()
        assert not lab.throttle.timer.isActive(), "the throttle's timer outlived the lab"

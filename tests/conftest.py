"""Fixtures shared by every test folder (the Qt ones import Qt lazily)."""

from __future__ import annotations

import faulthandler
import gc
import os
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles for every property test in the project (README, "Test"): "ci" is the
# default, bounded and derandomized so CI is fast and reproducible; "long" is for local bug
# hunts (HYPOTHESIS_PROFILE=long python -m pytest tests/engine/test_properties.py). Tests that
# pass their own max_examples keep it; the rest take the profile's.
settings.register_profile(
    "ci", max_examples=60, stateful_step_count=8, deadline=None, derandomize=True,
    database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long", max_examples=2000, stateful_step_count=12, deadline=None, derandomize=False,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# a bug hunt's property runs for many minutes: the hang limits below would end it
LONG_HUNT = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if LONG_HUNT:
        for item in items:
            item.add_marker(pytest.mark.timeout(0))  # pytest-timeout's 300 s: off

# Engines started by the tests draw their frames on their own thread: a frame process per
# engine would import torch once more for each of the suite's hundreds of engines. The
# frame process has tests of its own (tests/engine/test_drawer.py: its frames equal the
# thread's, array for array; test_frame_process.py and tests/gui/test_engine_process.py:
# end to end, and its failures).
os.environ.setdefault("GAN_PLAYGROUND_FRAME_PROCESS", "0")


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


@pytest.fixture(scope="session", autouse=True)
def private_classifier_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The FID/IS classifier is cached in a temporary folder, never in the user's cache
    (tests that check the cache set their own folder on top of this one)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("classifier-cache")))
    yield
    mp.undo()


HANG_LIMIT_S = 420  # beyond pytest-timeout's 300 s (pyproject.toml), which fails politely


@pytest.fixture(autouse=True)
def no_hang_past_the_limit() -> Iterator[None]:
    """A deadlock with the interpreter lock held (the main thread blocked inside Qt) stops
    pytest-timeout too, whose alarm needs that lock; faulthandler's watchdog is a C thread:
    it prints every thread's stack and ends the process, and xdist reports the test that
    crashed its worker instead of CI running into its limit."""
    if LONG_HUNT:
        yield
        return
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def qt_garbage_collected_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a Qt test, its Qt garbage (widgets in reference cycles with their Python
    wrappers) is collected here, on the main thread. Left to the cyclic collector, it was
    once collected on a later test's engine thread (an in-process ``Runner``): the
    QObject's destructor there waited for the interpreter lock while the main thread,
    holding it, waited for the QObject's mutex to delete a menu, and CI hung."""
    yield
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()


MODAL_LIMIT_S = 15.0  # no test keeps a box open this long on purpose


@pytest.fixture(autouse=True)
def no_unanswered_modal(request: pytest.FixtureRequest) -> Iterator[None]:
    """A modal box that no test answers would hang the suite until CI kills it (it once
    waited on "Attach to the other engine?"): such a box is closed after MODAL_LIMIT_S and
    the test fails, naming it."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("qapp")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    first_seen: dict[int, float] = {}
    left_open: list[str] = []

    def check() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            first_seen.clear()
            return
        since = first_seen.setdefault(id(box), time.monotonic())
        if time.monotonic() - since > MODAL_LIMIT_S:
            text = box.text() if hasattr(box, "text") else ""
            left_open.append(f"{type(box).__name__} {box.windowTitle()!r} {text!r}")
            box.reject()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(500)
    yield
    timer.stop()
    assert not left_open, f"a modal box nobody answered was left open: {left_open}"

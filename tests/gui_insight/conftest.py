"""Insight-panel test fixtures: offscreen Qt, tiny fast models, no leaked threads or timers."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from engine.config import default_config, with_changes  # noqa: E402

TIMEOUT = 20_000  # ms; generous for two busy cores, every wait is on a condition
# A second engine process's start (a torch import) beside a training engine and another
# test worker on two cores took over 20 s once in CI: its own, longer wait.
START_TIMEOUT = 60_000

# Small networks and batches keep every test in the seconds.
SMALL: dict[str, Any] = {
    "generator.hidden": [16],
    "discriminator.hidden": [16],
    "train.batch_size": 64,
    "train.metrics_every": 20,
    "train.metrics_samples": 300,
    "device": "cpu",
}


def engine_state(link: Any) -> str:
    """What an engine link and its process did (the log, alive or not): for a failure."""
    from pathlib import Path

    proc = link.process
    if proc is None:
        return "no process"
    ended = proc.exited()
    try:
        log = Path(proc._log.name).read_text(encoding="utf-8", errors="replace")[-1500:]
    except OSError as e:
        log = f"(no log: {e})"
    return (f"pid {proc.pid}, {'ended: ' + ended.describe() if ended else 'running'}; "
            f"heard: {link.state.rows} rows, step {link.state.step}, ready "
            f"{link.state.ready}; timer {link.timer.isActive()}, ticking {link._ticking}, "
            f"exit {link.exit}; log: {log!r}")


def wait_ready(qtbot: Any, link: Any, died: list[Any] | None = None) -> None:
    """Wait for a second engine's first answer (a torch start on two busy cores), saying
    what its process did when it does not come."""
    try:
        qtbot.waitUntil(lambda: link.state.ready or bool(died), timeout=START_TIMEOUT)
    except Exception:
        raise AssertionError(f"the engine was not ready in {START_TIMEOUT / 1000:.0f} s: "
                             f"{engine_state(link)}") from None


def small_config(**changes: Any) -> dict[str, Any]:
    return with_changes(default_config(), {**SMALL, **changes})


@pytest.fixture(scope="session", autouse=True)
def _private_settings(private_qt_settings: None) -> None:
    """Every Qt test writes its window settings to a temporary folder (tests/conftest.py)."""


@pytest.fixture
def make_panel(qtbot: Any, no_thread_leak: None) -> Iterator[Callable[..., Any]]:
    """An ``InsightPanel`` on a started ``EngineLink`` (small config, one torch thread),
    shown offscreen; shut down and checked at teardown (workers joined, timers stopped)."""
    from gui.engine_link import EngineLink
    from gui.insight import InsightPanel

    made: list[tuple[Any, Any]] = []

    def make(*, tab: str | None = None, **changes: Any) -> tuple[Any, Any]:
        link = EngineLink(small_config(**changes), torch_threads=1)
        panel = InsightPanel(link, torch_threads=1)
        qtbot.addWidget(panel)
        panel.resize(900, 650)
        if tab is not None:
            panel.show_tab(tab)
        panel.show()
        link.start()
        qtbot.waitUntil(lambda: link.state.ready, timeout=TIMEOUT)
        made.append((panel, link))
        return panel, link

    yield make
    for panel, link in made:
        link_b = panel.compare.link_b
        panel.shutdown()
        assert link.stop(timeout=1.0), "the engine process did not stop"
        assert not link.timer.isActive(), "the frame timer outlived the test"
        assert not panel.timeline.replay_timer.isActive(), "the replay timer outlived the test"
        assert panel.compare.link_b is None, "the comparison run outlived shutdown()"
        if link_b is not None:
            assert not link_b.alive, "the comparison run's engine outlived shutdown()"
            assert link_b.process.proc.poll() is not None, "B's process outlived shutdown()"

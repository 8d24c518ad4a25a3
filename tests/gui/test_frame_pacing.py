"""Live frames pace the curves: rows and status that arrive between frames do not repaint
the curve plots (each repaint landed just as the next frame arrived and held it back,
the frame interval's 95th percentile was 41-43 ms against 33 ms frames), the next frame
brings them; with no frames coming (paused, stepping by hand) rows show at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.metrics import COLUMNS
from engine.protocol import Status


class Clock:
    """Stands in for the ``time`` module of ``gui.views.curves``."""

    def __init__(self) -> None:
        self.t = 5000.0

    def monotonic(self) -> float:
        return self.t

    def perf_counter(self) -> float:
        return self.t


def rows(*steps: int) -> np.ndarray:
    out = np.full((len(steps), len(COLUMNS)), np.nan)
    out[:, 0] = steps
    out[:, COLUMNS.index("d_loss")] = 1.0
    out[:, COLUMNS.index("g_loss")] = 0.5
    return out


def shown_to(window: Any) -> float | None:
    """The last step the D-loss curve holds (its data as set, not as displayed: the
    displayed data may be downsampled)."""
    x = window.curves.curves["d_loss"].xData
    return None if x is None or not len(x) else float(x[-1])


def test_frames_pace_the_curves_and_rows_alone_show_when_no_frame_comes(qtbot, make_window,
                                                                         monkeypatch):
    import gui.views.curves as curves_module
    import gui.views.pacing as pacing

    window = make_window()
    qtbot.waitUntil(lambda: window._live_frame is not None, timeout=30_000)
    frame, link = window._live_frame, window.link
    clock = Clock()
    monkeypatch.setattr(curves_module, "time", clock)  # the curves' 15-a-second limit
    monkeypatch.setattr(pacing, "time", clock)

    link.snapshot_ready.emit(frame)
    clock.t += 0.08  # past the curves' own 15-a-second limit, before the next frame
    link.metrics_received.emit(rows(1001, 1002))
    assert shown_to(window) != 1002, "rows between frames repainted the curves"
    link.status_changed.emit(Status(1002, 30.0, True, "cpu", "", 1002, 1002))
    assert shown_to(window) != 1002, "a status between frames repainted the curves"
    clock.t += 0.02
    link.snapshot_ready.emit(frame)
    assert shown_to(window) == 1002, "the next frame did not bring the rows"

    clock.t += 0.5  # frames stopped (paused): rows show as they come
    link.metrics_received.emit(rows(1003))
    assert shown_to(window) == 1003
    clock.t += 0.5
    window.curves.add_rows(rows(1004))  # held back, then a status comes with no frame
    link.status_changed.emit(Status(1004, 0.0, False, "cpu", "", 1004, 1004))
    assert shown_to(window) == 1004


def test_frames_pace_the_divergences_tab_too(qtbot, make_window, monkeypatch):
    import gui.views.pacing as pacing

    window = make_window()
    panel, link = window.insight, window.link
    window.right_tabs.setCurrentWidget(panel)
    panel.show_tab("Divergences")
    qtbot.waitUntil(lambda: panel.latest is not None and panel.isVisible(), timeout=30_000)
    frame = panel.latest
    clock = Clock()
    monkeypatch.setattr(pacing, "time", clock)

    def drawn() -> list[float]:
        x = panel.divergences.curves["js"].xData
        return [] if x is None else list(x)

    def js_rows(*steps: int) -> np.ndarray:
        out = rows(*steps)
        out[:, COLUMNS.index("js")] = 0.3
        return out

    link.snapshot_ready.emit(frame)
    clock.t += 0.05
    link.metrics_received.emit(js_rows(20_000))
    link.status_changed.emit(Status(20_000, 30.0, True, "cpu", "", 1, 1))
    assert 20_000 not in drawn(), "rows between frames redrew the Divergences tab"
    link.snapshot_ready.emit(frame)
    assert 20_000 in drawn(), "the next frame did not bring the rows"
    clock.t += 0.5  # no frames: rows show as they come
    link.metrics_received.emit(js_rows(20_500))
    assert 20_500 in drawn()


def test_rows_put_off_for_a_frame_that_never_comes_are_drawn_shortly_after(qtbot):
    """The engine died (or frames stopped) right after sending rows: nothing else arrives,
    and the put-off redraw still happens."""
    from gui.views.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    view.frame_shown()
    view.add_rows(rows(10, 11))
    view.refresh_unpaced()  # a frame is expected: put off
    assert view.curves["d_loss"].xData is None or 11 not in view.curves["d_loss"].xData
    qtbot.waitUntil(lambda: view.curves["d_loss"].xData is not None
                    and view.curves["d_loss"].xData[-1] == 11, timeout=2000)


def test_rows_held_back_by_the_curves_rate_limit_are_drawn_shortly_after(qtbot):
    from gui.views.curves import CurvesView

    view = CurvesView()
    qtbot.addWidget(view)
    view.add_rows(rows(10))
    view.refresh()                     # drawn
    view.add_rows(rows(11))
    view.refresh()                     # within the limit: held back
    assert view.curves["d_loss"].xData[-1] == 10
    qtbot.waitUntil(lambda: view.curves["d_loss"].xData[-1] == 11, timeout=2000)


def test_the_divergences_tab_draws_rows_that_came_just_before_the_engine_died(qtbot,
                                                                             make_window):
    import os
    import signal

    window = make_window()
    panel, link = window.insight, window.link
    window.right_tabs.setCurrentWidget(panel)
    panel.show_tab("Divergences")
    qtbot.waitUntil(lambda: panel.latest is not None and panel.isVisible(), timeout=30_000)
    out = rows(30_000)
    out[:, COLUMNS.index("js")] = 0.25
    link.snapshot_ready.emit(panel.latest)
    link.metrics_received.emit(out)       # a frame was due: put off
    os.kill(link.pid, signal.SIGKILL)     # ...and none comes, nor any status
    qtbot.waitUntil(lambda: panel.divergences.curves["js"].xData is not None
                    and 30_000 in panel.divergences.curves["js"].xData, timeout=3000)


def test_a_status_held_for_its_round_goes_out_before_the_event_that_followed_it(qtbot):
    """The link hands on only the newest status and frame of a round, at its end; a status
    from before a reset that arrived in the same round as the reset was handed on after it
    (the autosave keeper then counted 80 unsaved steps in the fresh run)."""
    import numpy as np

    from engine import protocol as P
    from engine.config import default_config
    from gui.engine_link import EngineLink

    cfg = default_config()
    link = EngineLink(cfg)
    order: list = []
    link.status_changed.connect(lambda s: order.append(("status", s.step)))
    link.reset_done.connect(lambda ev: order.append(("reset", 0)))
    link.applied.connect(lambda ev: order.append(("applied", ev.step)))

    class Conn:
        def receive(self) -> list:
            return [P.Status(80, 1.0, False, "cpu", "", 80, 80), P.ResetDone(cfg),
                    P.MetricsChunk(np.zeros((0, 3))), P.Applied({}, cfg, 0),
                    P.Status(0, 0.0, False, "cpu", "", 0, 0)]

        def pending(self) -> bool:
            return False

        def send(self, msg) -> None:
            pass

    link._tick(Conn())  # type: ignore[arg-type]
    assert order == [("status", 80), ("reset", 0), ("applied", 0), ("status", 0)], order

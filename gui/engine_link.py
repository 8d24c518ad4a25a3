"""The one bridge between the Qt event loop and the engine's worker thread.

A GUI-thread ``QTimer`` drains the runner's event queue and its latest-snapshot mailbox and
re-emits both as Qt signals. Widgets never poll the runner themselves, so the drawing rate
never depends on the training rate, and a fast engine never floods the event loop (stale
snapshots are simply dropped by the mailbox).

Pacing. The runner trains in chunks and publishes a snapshot after the first chunk that
ends ``SNAPSHOT_EVERY`` after the previous one; with its defaults (20 ms chunks, 1/30 s)
that is every other chunk, ~40 ms apart (25 fps). The link gives its runner 25 ms chunks and
22 ms between snapshots: one snapshot after each chunk, ~30 ms apart, with fewer chunk-end
flushes than the default (each flush copies the training state to roll back to), so it
trains as fast as the defaults (``python -m gui.bench``). The GUI timer checks the mailbox
every ``POLL_MS`` rather than every 33 ms, because a 33 ms timer beats against a ~30 ms
source and leaves a 66 ms gap every few frames; checking three times per frame draws each
snapshot within 10 ms of its arrival. Metric rows and status are batched and handed over
at most once per frame. An idle check costs a few microseconds.

At start the link also freezes the objects alive so far out of the garbage collector
(``gc.freeze``): a full collection walks ~360,000 objects (torch, Qt, pyqtgraph) and held
the GIL for ~200 ms, a visible freeze of the window and a stall of training.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.runner import (
    Applied,
    Diverged,
    Failed,
    MetricsChunk,
    Progress,
    Rejected,
    ResetDone,
    Runner,
    Saved,
    SetView,
    Status,
)
from engine.snapshot import ViewRequest

POLL_MS = 10
FRAME_S = 1 / 30
ENGINE_CHUNK_S = 0.025     # Runner.CHUNK_SECONDS for the app (engine default 0.02)
ENGINE_SNAPSHOT_S = 0.022  # Runner.SNAPSHOT_EVERY for the app (engine default 1/30)


class EngineLink(QObject):
    """Owns the ``Runner`` and the frame timer; turns engine events into signals."""

    snapshot_ready = Signal(object)   # engine.snapshot.Snapshot
    applied = Signal(object)          # Applied
    rejected = Signal(object)         # Rejected
    diverged = Signal(object)         # Diverged
    failed = Signal(object)           # Failed
    metrics_received = Signal(object)  # np.ndarray of rows (engine.metrics.COLUMNS), merged per frame
    reset_done = Signal(object)       # ResetDone
    saved = Signal(object)            # Saved
    progress_reported = Signal(object)  # Progress: slow one-off work (image files, classifier)
    status_changed = Signal(object)   # Status (the latest of the frame only)
    frame_done = Signal(float)        # perf_counter() after a frame that drew something

    def __init__(self, config: dict[str, Any], *, view: ViewRequest | None = None,
                 torch_threads: int | None = None, autoplay: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view or ViewRequest()
        self.runner = Runner(config, autoplay=autoplay, view=self.view,
                             torch_threads=torch_threads)
        # Per-instance pacing (see the module docstring); the runner reads these each loop.
        self.runner.CHUNK_SECONDS = ENGINE_CHUNK_S
        self.runner.SNAPSHOT_EVERY = ENGINE_SNAPSHOT_S
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.tick)
        self._rows: list[np.ndarray] = []
        self._status: Status | None = None
        self._last_frame = 0.0
        # A registry, not an if-chain: one signal per event type (MetricsChunk and Status
        # are merged per frame below, so they are absent here).
        self._routes: dict[type, Callable[[Any], None]] = {
            Applied: self.applied.emit,
            Rejected: self.rejected.emit,
            Diverged: self.diverged.emit,
            Failed: self.failed.emit,
            ResetDone: self.reset_done.emit,
            Saved: self.saved.emit,
            Progress: self.progress_reported.emit,
        }

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        gc.freeze()  # see the module docstring: no 200 ms full collections mid-training
        self.runner.start()
        self.timer.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the frame timer and the worker; True when the worker thread has ended."""
        self.timer.stop()
        return self.runner.stop(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self.runner.alive

    # ------------------------------------------------------------------ commands
    def send(self, command: Any) -> None:
        self.runner.send(command)

    def set_view(self, view: ViewRequest) -> None:
        """Ask for a different snapshot content (e.g. no heatmap while it is hidden)."""
        if view != self.view:
            self.view = view
            self.runner.send(SetView(view))

    # ------------------------------------------------------------------ the frame
    def tick(self) -> None:
        """Route events (in order); draw a frame when a snapshot has arrived or a frame's
        time has passed with new rows or status waiting."""
        for event in self.runner.poll():
            if isinstance(event, MetricsChunk):
                self._rows.append(event.rows)
                continue
            if isinstance(event, Status):
                self._status = event
                continue
            if isinstance(event, ResetDone):
                self._rows.clear()  # rows from before the reset mean nothing to the new run
            route = self._routes.get(type(event))
            if route is not None:
                route(event)
        snap = self.runner.take_snapshot()
        now = time.perf_counter()
        if snap is None and not (now - self._last_frame >= FRAME_S
                                 and (self._rows or self._status is not None)):
            return
        self._last_frame = now
        if self._rows:
            rows = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
            self._rows = []
            self.metrics_received.emit(rows)
        if self._status is not None:
            status, self._status = self._status, None
            self.status_changed.emit(status)
        if snap is not None:
            self.snapshot_ready.emit(snap)
            self.frame_done.emit(time.perf_counter())

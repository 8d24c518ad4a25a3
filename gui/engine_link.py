"""The one bridge between the Qt event loop and an engine in another process.

An ``EngineLink`` starts the engine (``gui.engine_client.EngineProcess``) or attaches to one,
and a GUI-thread ``QTimer`` (every ``POLL_MS``) drains its socket and re-emits what arrived
as Qt signals, in the order the engine sent it: a ``ResetDone`` is never overtaken by rows
of the run it ended, and metric rows always come before the ``Applied`` that follows them.
Adjacent metric rows are merged into one signal; of several statuses or frames that arrive
together only the newest is handed on.

Frames are pulled, not pushed: the link grants the engine credit for a frame
(``FrameWanted``) after the views have drawn the previous one, so a slow screen gets fresh
frames and never a queue, and the engine draws no frame nobody will see.

Views say what they need with ``set_view_need(owner, request)``; the link merges every
owner's need (flags or-ed, sizes max-ed) into the one ``ViewRequest`` the engine computes.

If the engine process dies (kill -9, a crash, out of memory), ``engine_died`` says how
within one poll; ``restart()`` starts a fresh engine.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from engine import protocol as P
from engine.snapshot import ViewRequest

from .engine_client import EngineConnection, EngineExit, EngineProcess

POLL_MS = 10
STATUS_EVERY_S = 1 / 30
PING_EVERY_S = 2.0
LOST_AFTER_S = 10.0  # silence from a remote engine (it sends its status 4 times a second)
FRAME_CREDIT = 2     # frames in flight: one being drawn here, one being made there
EMPTY_VIEW = ViewRequest(n_fake=0, n_real=0, heatmap=False, grid=0)


def merge_requests(requests: list[ViewRequest]) -> ViewRequest | None:
    """One request serving them all: booleans or-ed, sizes max-ed, anything else (the
    heatmap's region) from the first owner that sets it; None for none."""
    if not requests:
        return None
    out = requests[0]
    for other in requests[1:]:
        changes = {}
        for f in dataclasses.fields(ViewRequest):
            a, b = getattr(out, f.name), getattr(other, f.name)
            if isinstance(a, bool):
                merged = a or b
            elif isinstance(a, int) and isinstance(b, int):
                merged = max(a, b)
            else:
                merged = a if a is not None else b
            if merged != a:
                changes[f.name] = merged
        if changes:
            out = dataclasses.replace(out, **changes)
    return out


@dataclass
class EngineState:
    """What the window knows of the engine, from its events (tests read it too)."""

    ready: bool = False          # the first Applied has arrived
    step: int = 0
    d_updates: int = 0
    g_updates: int = 0
    running: bool = False
    steps_per_second: float = 0.0
    config: dict[str, Any] | None = None
    rows: int = 0                # history rows received since the last ResetDone
    pid: int = 0
    swaps: tuple[tuple[int, str], ...] = ()  # the session's swap log: (step, text)
    devices: tuple[str, ...] = ()  # where the engine can train (its Welcome; empty: unknown)


class EngineLink(QObject):
    """Owns the engine process and the frame timer; turns engine messages into signals."""

    snapshot_ready = Signal(object)   # engine.snapshot.Snapshot
    applied = Signal(object)          # Applied
    rejected = Signal(object)         # Rejected
    diverged = Signal(object)         # Diverged
    failed = Signal(object)           # Failed
    metrics_received = Signal(object)  # np.ndarray of rows (engine.catalogue.COLUMNS)
    reset_done = Signal(object)       # ResetDone
    saved = Signal(object)            # Saved
    progress_reported = Signal(object)  # Progress: slow one-off work (image files, classifier)
    swaps_changed = Signal(object)    # tuple of (step, text): the swap log, whole (() on reset)
    status_changed = Signal(object)   # Status (the newest of a poll only)
    frame_done = Signal(float)        # perf_counter() after the views drew a frame
    engine_died = Signal(object)      # EngineExit: the process ended without being asked
    engine_started = Signal()         # a (re)started engine answered
    attach_refused = Signal(str)      # a remote engine said no (another window is attached)

    def __init__(self, config: dict[str, Any], *, view: ViewRequest | None = None,
                 torch_threads: int | None = None, autoplay: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.torch_threads = torch_threads
        self.autoplay = autoplay
        self.state = EngineState()
        self.remote: str | None = None   # the address of an attached remote engine
        self._last_heard = 0.0
        self.process: EngineProcess | None = None
        self.conn: EngineConnection | None = None
        self.exit: EngineExit | None = None
        self._bye = ""  # why the engine said it ends (its Bye), for the death's message
        # the window's own need; a bare link (a script, a test) draws the default frame
        self._needs: dict[str, ViewRequest] = {"window": view or ViewRequest()}
        self.view: ViewRequest | None = merge_requests(list(self._needs.values()))
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.tick)
        self._stopping = False
        self._ticking = False  # a slot may run a nested event loop (a dialog): no re-entry
        self._notifier: QSocketNotifier | None = None
        self._last_ping = 0.0
        self._routes: dict[type, Callable[[Any], None]] = {
            P.Applied: self._on_applied,
            P.Rejected: self._on_rejected,
            P.Diverged: self.diverged.emit,
            P.Failed: self.failed.emit,
            P.ResetDone: self._on_reset_done,
            P.Saved: self.saved.emit,
            P.Progress: self.progress_reported.emit,
            P.Welcome: self._on_welcome,
            P.SwapLog: self._on_swap_log,
            P.Refused: lambda ev: self.failed.emit(P.Failed(ev.message)),
            P.Bye: self._on_bye,
            P.FileData: self._on_file_data,
        }

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Start the engine process and the poll timer (the window paints meanwhile)."""
        self.process = EngineProcess(self.config, threads=self.torch_threads,
                                     autoplay=self.autoplay)
        self.remote = None
        self._connect(self.process.address, self.process.key)

    def attach(self, address: str, key: bytes) -> None:
        """Steer the engine at ``address`` (a ``main.py serve``) instead of a child: the
        local engine ends; the remote one replays its whole state."""
        self._close()
        self.process = None
        self.remote = address
        self._connect(address, key)

    def detach(self) -> None:
        """Leave an attached engine training on its own and start a local one again."""
        if self.remote is None:
            return
        self._post(P.Detach())
        self._close()
        self.start()

    def _connect(self, address: str, key: bytes) -> None:
        self._stopping = False
        self.exit = None
        had_swaps = bool(self.state.swaps)
        self.state = EngineState(config=self.state.config)
        if had_swaps:  # the old engine's change markers go with it (a restart, a new attach)
            self.swaps_changed.emit(())
        self._last_heard = time.monotonic()
        self._bye = ""
        self.conn = EngineConnection(address, key)
        # wake as soon as something arrives (the timer stays, for what an edge-triggered
        # notifier can miss and for noticing a dead engine)
        self._notifier = QSocketNotifier(self.conn.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self.tick)
        self.conn.send(P.Hello())
        if self.view is not None:
            self.conn.send(P.SetView(self.view))
        self.conn.send(P.FrameWanted(FRAME_CREDIT))
        self.timer.start()

    def restart(self, config: dict[str, Any] | None = None) -> None:
        """A fresh engine (after a death): ``config`` or the last one applied."""
        self._close()
        self.config = config or self.state.config or self.config
        self.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the engine to end, then end it (within ``timeout`` seconds). True when the
        process is gone."""
        self._stopping = True
        self.timer.stop()
        return self._close(timeout)

    def _close(self, timeout: float = 1.0) -> bool:
        proc, conn = self.process, self.conn
        if conn is not None:
            try:  # a child ends; a remote engine is only left (it trains on)
                conn.send(P.Shutdown() if self.remote is None else P.Detach())
            except Exception:  # noqa: BLE001 (a socket already gone)
                pass
        ended = True
        if proc is not None:
            proc.end(grace=max(0.0, timeout - 0.3))
            ended = proc.proc.poll() is not None
        notifier = getattr(self, "_notifier", None)
        if notifier is not None:
            notifier.setEnabled(False)
            notifier.deleteLater()
            self._notifier = None
        if conn is not None:
            conn.close()
        self.conn = None
        return ended

    @property
    def alive(self) -> bool:
        if self._stopping or self.conn is None:
            return False
        if self.remote is not None:
            return self.exit is None
        return self.process is not None and self.process.exited() is None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    # ------------------------------------------------------------------ commands
    def send(self, command: Any) -> None:
        """A command for the engine (dropped while no engine runs: it died, or stopped).
        Attached to a remote engine, files the window names are on the window's machine:
        saves come back as bytes to write here, opened files go over as bytes."""
        if self.remote is not None:
            command = self._remote_files(command)
            if command is None:
                return
        self._post(command)

    _SAVES = {P.SaveSession: "session", P.SaveGenerator: "generator",
              P.ExportSamples: "samples", P.ExportMetrics: "metrics"}

    def _remote_files(self, command: Any) -> Any:
        what = self._SAVES.get(type(command))
        if what is not None:
            suffix = os.path.splitext(command.path)[1]
            return P.FetchFile(what, tag=command.path, suffix=suffix,
                               n=getattr(command, "n", 2000))
        if isinstance(command, P.LoadSession | P.LoadGenerator):
            from engine.safeio import read_capped

            what = "session" if isinstance(command, P.LoadSession) else "generator"
            try:
                data = read_capped(command.path, P.MAX_MESSAGE - (1 << 20),
                                   f"a {what} checkpoint")
            except ValueError as e:
                self.rejected.emit(P.Rejected({}, str(e), self.state.config or self.config))
                return None
            return P.LoadData(what, command.path, np.frombuffer(data, dtype=np.uint8))
        return command

    def _on_file_data(self, ev: P.FileData) -> None:
        """A fetched file: written here, atomically, then reported like a local save."""
        from engine.atomic import atomic_write_bytes

        what = {"samples": "samples", "metrics": "metrics"}.get(ev.what, ev.what)
        try:
            atomic_write_bytes(ev.tag, np.asarray(ev.data, dtype=np.uint8).tobytes())
        except OSError as e:
            self.failed.emit(P.Failed(f"could not save the {what} to {ev.tag}: "
                                      f"{e.strerror or e}"))
            return
        self.saved.emit(P.Saved(ev.tag, what))

    def _post(self, message: Any) -> None:
        """Any message, the link's own bookkeeping (frame credit, pings) included."""
        if self.conn is not None and self.exit is None:
            self.conn.send(message)

    def set_view(self, view: ViewRequest | None) -> None:
        """The window's own need (the data plane or the image grids)."""
        self.set_view_need("window", view)

    def set_view_need(self, owner: str, request: ViewRequest | None) -> None:
        """What ``owner`` needs now (None: nothing); the engine computes their union."""
        if request is None:
            self._needs.pop(owner, None)
        else:
            self._needs[owner] = request
        merged = merge_requests(list(self._needs.values()))
        if merged != self.view:
            self.view = merged
            self._post(P.SetView(merged))

    # ------------------------------------------------------------------ the poll
    def tick(self, *_: Any) -> None:
        """Route what arrived, in order; draw the newest frame; notice a dead engine."""
        conn = self.conn
        if conn is None or self._ticking:
            return
        self._ticking = True
        try:
            self._tick(conn)
        finally:
            self._ticking = False

    def _tick(self, conn: EngineConnection) -> None:
        messages = conn.receive()
        if messages:
            self._last_heard = time.monotonic()
        rows: list[np.ndarray] = []
        status: P.Status | None = None
        frame: P.Frame | None = None
        for msg in messages:
            if isinstance(msg, P.MetricsChunk):
                rows.append(msg.rows)
                continue
            if rows:
                self._emit_rows(rows)
                rows = []
            if isinstance(msg, P.Status):
                status = msg
                self._on_status(msg)
            elif isinstance(msg, P.Frame):
                frame = msg
            else:
                # a status or frame held back for this round goes out before the event that
                # followed it: a status from before a reset, handed on after it, told the
                # autosave keeper of 80 unsaved steps in a fresh run
                self._emit_latest(status, frame)
                status = frame = None
                route = self._routes.get(type(msg))
                if route is not None:
                    route(msg)
        if rows:
            self._emit_rows(rows)
        self._emit_latest(status, frame)
        now = time.monotonic()
        if now - self._last_ping > PING_EVERY_S:
            self._last_ping = now
            self._post(P.Ping())
        self._check_alive()
        if self.conn is conn and conn.pending():
            QTimer.singleShot(0, self.tick)  # arrived during this round: not at the next timer

    def _emit_latest(self, status: P.Status | None, frame: P.Frame | None) -> None:
        """Hand on the newest status and frame of a run of them (only the newest counts)."""
        if status is not None:
            self.status_changed.emit(status)
        if frame is not None:
            self.snapshot_ready.emit(frame.snapshot)
            self.frame_done.emit(time.perf_counter())
            self._post(P.FrameWanted(1))

    def _on_bye(self, ev: P.Bye) -> None:
        """The engine is ending and says why (Ctrl+C or SIGTERM where it runs, the training
        thread gone): kept for the death's message. A served engine is gone at once, not
        after ``LOST_AFTER_S`` of silence as if it had been killed."""
        self._bye = ev.reason or "it was asked to stop"
        if self.remote is not None and not self._stopping and self.exit is None:
            self._died(EngineExit(None, message=f"the engine at {self.remote} ended "
                                  f"({self._bye})"))

    def _died(self, ended: EngineExit) -> None:
        self.exit = ended
        self.state.running = False
        self.engine_died.emit(ended)

    def _check_alive(self) -> None:
        if self._stopping or self.exit is not None:
            return
        if self.remote is not None:
            if time.monotonic() - self._last_heard > LOST_AFTER_S:
                self._died(EngineExit(None, message=f"the engine at {self.remote} stopped "
                                      f"answering for {LOST_AFTER_S:.0f} s"))
            return
        proc = self.process
        if proc is None:
            return
        ended = proc.exited()
        if ended is not None:
            if self._bye and not ended.message and not ended.signal_name:
                ended = dataclasses.replace(ended, message=f"{ended.describe()} ({self._bye})")
            self._died(ended)

    def _emit_rows(self, rows: list[np.ndarray]) -> None:
        block = np.concatenate(rows) if len(rows) > 1 else rows[0]
        self.state.rows += len(block)
        self.metrics_received.emit(block)

    # ------------------------------------------------------------------ state
    def _on_status(self, ev: P.Status) -> None:
        s = self.state
        s.step, s.d_updates, s.g_updates = ev.step, ev.d_updates, ev.g_updates
        s.running, s.steps_per_second = ev.running, ev.steps_per_second

    def _on_applied(self, ev: P.Applied) -> None:
        self.state.config = ev.config
        if ev.step >= 0:  # a reset or a new session shows step 0 now, not at the next status
            self.state.step = ev.step
        if not self.state.ready:
            self.state.ready = True
            self.engine_started.emit()
        self.applied.emit(ev)

    def _on_rejected(self, ev: P.Rejected) -> None:
        self.state.config = ev.config
        self.rejected.emit(ev)

    def _on_reset_done(self, ev: P.ResetDone) -> None:
        self.state.config = ev.config
        self.state.rows = 0
        self.reset_done.emit(ev)
        if self.state.swaps:
            self.state.swaps = ()
            self.swaps_changed.emit(())

    def _on_swap_log(self, ev: P.SwapLog) -> None:
        self.state.swaps = tuple(ev.entries)
        self.swaps_changed.emit(self.state.swaps)

    def _on_welcome(self, ev: P.Welcome) -> None:
        if ev.accepted:
            self.state.pid = ev.pid
            self.state.devices = tuple(ev.devices)
        else:
            self.attach_refused.emit(ev.message)

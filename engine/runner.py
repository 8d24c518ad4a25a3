"""A session on a worker thread: commands in, snapshots and events out.

The engine process (``engine.server``) runs one of these behind its socket; a notebook or a
test can run one in-process. Either way the front end speaks plain data only (the messages
of ``engine.protocol``):

* ``send(command)`` puts a frozen command on a queue; the worker applies it between steps;
* ``take_snapshot()`` returns the latest view frame from a one-slot mailbox (stale frames are
  dropped, so a fast engine never floods a slow screen); with a ``mirror`` the worker only
  publishes weight copies and another thread draws the frames (see ``engine.mirror``);
* ``poll()`` returns the events since the last call (applied config, rejections, divergence,
  new metric rows, status), none of which are ever dropped, in the order they happened.

Stopping is cooperative: ``stop()`` sets an event the worker checks between steps, then joins.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .mirror import Mirror
from .protocol import (  # noqa: F401 (the messages are part of the runner's API)
    Applied,
    Apply,
    Diverged,
    ExportMetrics,
    ExportSamples,
    Failed,
    FetchFile,
    FileData,
    LoadConfig,
    LoadData,
    LoadGenerator,
    LoadSession,
    MetricsChunk,
    Pause,
    Play,
    Progress,
    Rejected,
    Reset,
    ResetDone,
    Saved,
    SaveGenerator,
    SaveSession,
    SetSpeed,
    SetTensorBoard,
    SetView,
    Status,
    Step,
    SwapLog,
)
from .session import Session, TrainingDiverged
from .snapshot import Snapshot, ViewRequest

# --------------------------------------------------------------------------- the runner


class Pump(Protocol):
    """What the training thread tends besides training (the engine process's socket:
    ``engine.server``): ``pump(timeout)`` between iterations, waiting up to ``timeout``
    seconds for a message when paused; ``pump_due()`` after each iteration. Commands still
    reach the runner through ``send``, from inside ``pump``."""

    def pump(self, timeout: float) -> None: ...

    def pump_due(self) -> bool: ...



@dataclass(frozen=True)
class Replay:
    """Emit the whole state so far, in order (a window attached): ResetDone, every history
    row, the swap log, Applied and a Status. Internal to the engine process, not a wire
    message."""


class RateMeter:
    """Training speed in iterations per second, for the status bar.

    It counts the iterations it is told were trained (``count``), never differences of the
    step: a reset, a new session or a rollback moves the step back (or a loaded session
    forward) without any training, and a rate made from those differences goes negative
    (-1,063 it/s after a reset) or absurd. ``restart()`` drops the measurement under way,
    so the next figure describes the new session alone.
    """

    WINDOW = 0.5     # seconds per measurement
    SMOOTHING = 0.5  # weight of the newest measurement once one exists

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self.clock = clock
        self.rate = 0.0
        self.restart()

    def restart(self) -> None:
        self._count, self._since = 0, self.clock()
        self._fresh = True

    def count(self, iterations: int) -> None:
        self._count += max(0, int(iterations))

    def update(self, running: bool) -> float:
        """Close a measurement when ``WINDOW`` has passed; returns the rate (>= 0)."""
        now = self.clock()
        elapsed = now - self._since
        if elapsed >= self.WINDOW:
            inst = self._count / elapsed
            smooth = running and not self._fresh
            self.rate = self.SMOOTHING * inst + (1 - self.SMOOTHING) * self.rate if smooth \
                else inst
            self._count, self._since, self._fresh = 0, now, False
        return self.rate



@dataclass
class _Mailbox:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Snapshot | None = None


class Runner:
    """Owns a Session on its own thread. Only the worker thread touches torch objects."""

    CHUNK_SECONDS = 0.02   # work between command checks at full speed
    SNAPSHOT_EVERY = 1 / 30
    STATUS_EVERY = 0.25

    def __init__(self, config: dict[str, Any] | None = None, *, autoplay: bool = False,
                 view: ViewRequest | None = None, torch_threads: int | None = None,
                 chunk_seconds: float | None = None, snapshot_every: float | None = None,
                 mirror: Mirror | None = None, notify: Callable[[], None] | None = None,
                 pump: Pump | None = None) -> None:
        """``notify()`` is called on the training thread after each event the front end
        waits for and each weight copy published; with ``pump`` (see ``Pump``) the training
        thread also tends the front end's socket, so no other thread needs to wake up."""
        if chunk_seconds is not None:
            self.CHUNK_SECONDS = chunk_seconds
        if snapshot_every is not None:
            self.SNAPSHOT_EVERY = snapshot_every
        self._config = config
        self._commands: queue.Queue[Any] = queue.Queue()
        # appended by the worker, taken by the front end (a deque: a poll that finds it
        # empty costs no exception, and the engine process polls it ~100 times a second)
        self._events: collections.deque[Any] = collections.deque()
        self._mailbox = _Mailbox()
        self._stop = threading.Event()
        self._running = autoplay
        self._speed: float | None = None
        self._view = view
        self._torch_threads = torch_threads
        self._thread: threading.Thread | None = None
        self.meter = RateMeter()
        self._sent_swaps: tuple[tuple[int, str], ...] = ()  # the log the front end has
        self._chunk = 1  # iterations per chunk, adapted to take CHUNK_SECONDS
        self._mirror = mirror
        self._notify = notify or (lambda: None)
        self._pump = pump
        self._mirrored: tuple[Any, ...] = ()
        self._config_events = 0  # Applied/ResetDone emitted: a copy says which it follows
        self.ready = threading.Event()

    # -- front-end side
    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="gan-engine", daemon=True)
        self._thread.start()

    def send(self, command: Any) -> None:
        self._commands.put(command)

    def take_snapshot(self) -> Snapshot | None:
        with self._mailbox.lock:
            snap, self._mailbox.value = self._mailbox.value, None
        return snap

    def poll(self) -> list[Any]:
        out = []
        events = self._events
        while events:
            out.append(events.popleft())
        return out

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the worker to stop and wait for it; True when it has ended."""
        self._stop.set()
        self._commands.put(None)  # wake a paused worker
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- worker side
    def _emit(self, event: Any) -> None:
        if isinstance(event, Applied | ResetDone):
            self._config_events += 1  # the frame side waits for a copy taken after this
        self._events.append(event)
        if not isinstance(event, MetricsChunk | Status):
            # rows and the status go out with the next pump (within 25 ms), not one each
            self._notify()

    def _main(self) -> None:
        if self._torch_threads:
            import torch

            torch.set_num_threads(self._torch_threads)
        try:
            self.session = Session(self._config, progress=self._progress)
        except Exception as e:  # a bad config: start from the defaults, say why
            self._emit(Failed(f"could not start from the given config: {e}"))
            self.session = Session(progress=self._progress)
        self.session.add_listener(self._on_rows)
        self._emit(Applied({}, self.session.config, self.session.step))
        self.ready.set()
        self._last_snap = self._last_status = 0.0
        self._last_state: tuple[int, int, int] = (-1, -1, -1)  # unchanged: nothing new to draw
        self.meter.restart()
        self._next_due = time.perf_counter()
        while not self._stop.is_set():
            try:
                self._loop_once()
            except Exception as e:  # never a dead worker: pause and say what happened
                self._running = False
                self._emit(Failed(f"{type(e).__name__}: {str(e)[:300]}", traceback.format_exc()))
                self._emit_status()
        self.session.remove_listener(self._on_rows)

    def _loop_once(self) -> None:
        forced = self._drain_commands(block=not self._running)
        if self._stop.is_set():
            return
        if self._running:
            if self._speed is None:
                self._train_for(self.CHUNK_SECONDS)
            else:
                now = time.perf_counter()
                if now >= self._next_due:
                    self._trained(lambda: self._guarded(self.session.iteration))
                    self._next_due = max(self._next_due + 1.0 / self._speed, now)
                    forced = True
                else:
                    self._wait_command(self._next_due - now)
        now = time.perf_counter()
        self.meter.update(self._running)
        self._sync_swaps()
        s = self.session
        if self._mirror is not None:
            self._refresh_mirror()
        else:
            state = (s.step, s.d_updates, s.g_updates)
            stale = state != self._last_state
            if self._view is not None and (forced or (stale and now - self._last_snap
                                                      >= self.SNAPSHOT_EVERY)):
                self._guarded(self._publish_snapshot)
                self._last_snap = now
                self._last_state = (s.step, s.d_updates, s.g_updates)
        if forced or now - self._last_status >= self.STATUS_EVERY:
            self._emit_status()
            self._last_status = now

    def _train_for(self, seconds: float) -> None:
        """Train in a chunk sized to take about ``seconds``, so commands are checked often."""
        t0 = time.perf_counter()
        n = self._chunk
        before = self.session.step
        until = self._chunk_ends if self._mirror is not None else None
        self._trained(lambda: self._guarded(lambda: self.session.train(
            n, deadline=t0 + 2 * seconds, check=self._mirror is None, until=until)))
        dt = time.perf_counter() - t0
        done = self.session.step - before
        if dt > 0 and done > 0 and (until is None or not until()):  # a full chunk: adapt
            self._chunk = max(1, min(4096, int(done * seconds / dt)))

    def _chunk_ends(self) -> bool:
        """A chunk ends early for a frame's weight copy or a command (a control's change
        waits one iteration, not the rest of the chunk), or to pump."""
        if self._pump is not None:
            return self._mirror.is_wanted() or self._pump.pump_due()
        return self._mirror.is_wanted() or not self._commands.empty()

    def _trained(self, work: Any) -> None:
        """Run training ``work`` and count its iterations for the speed read-out (none when
        a rollback took the step back)."""
        s, before = self.session, self.session.step
        work()
        if self.session is s:
            self.meter.count(s.step - before)

    def _guarded(self, fn: Any) -> None:
        try:
            fn()
        except TrainingDiverged as e:
            self._diverged(e)
        except Exception as e:
            self._running = False
            self._emit(Failed(f"{type(e).__name__}: {e}", traceback.format_exc()))
            self._emit_status()

    def _wait_command(self, timeout: float) -> None:
        if self._mirror is not None:
            timeout = min(timeout, 0.01)  # a wanted frame is never kept waiting long
        if self._pump is not None:
            self._pumped(max(0.0, timeout))
            return
        try:
            cmd = self._commands.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        self._handle(cmd)

    def _drain_commands(self, block: bool) -> bool:
        """Handle queued commands; when paused, wait briefly for one. True if a view refresh
        is due because something changed."""
        changed = False
        if self._pump is not None:
            return self._pumped(0.01 if block else 0.0)
        if block:
            try:
                cmd = self._commands.get(timeout=0.01 if self._mirror is not None else 0.1)
            except queue.Empty:
                return False
            changed |= self._handle(cmd)
        return self._handle_queued() or changed

    def _pumped(self, timeout: float) -> bool:
        """Pump (commands come in through ``send``), handle what it brought, and pump
        again so their answers leave now, not after the next iteration."""
        self._pump.pump(timeout)  # type: ignore[union-attr]
        if self._commands.empty():
            return False
        changed = self._handle_queued()
        self._pump.pump(0.0)  # type: ignore[union-attr]
        return changed

    def _handle_queued(self) -> bool:
        changed = False
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return changed
            changed |= self._handle(cmd)

    def _diverged(self, e: TrainingDiverged) -> None:
        self._running = False
        self._emit(Diverged(e.step, str(e), e.rolled_back_to))
        self._emit_status()

    def _handle(self, cmd: Any) -> bool:
        """Handle one command; whatever goes wrong becomes a ``Failed`` event (training
        paused, the session kept), never a dead worker.

        A command that reads the state (a save, an export, a change) first checks the
        iterations trained since the last health check; when those diverged, that is said
        as training says it (``Diverged``: the views are cut back to the rollback point),
        and the command then runs on the rolled-back state. It used to become a generic
        ``Failed``, with neither ``Saved`` nor a save's failure for the window to wait on."""
        try:
            try:
                return self._dispatch(cmd)
            except TrainingDiverged as e:
                self._diverged(e)
                self._dispatch(cmd)  # the state is checked now: no second divergence
                return True
        except TrainingDiverged as e:  # only if the rolled-back state diverged again
            self._diverged(e)
            return True
        except Exception as e:  # MemoryError, RecursionError, a bug: the worker lives on
            self._running = False
            self._emit(Failed(f"{type(e).__name__}: {str(e)[:300]}", traceback.format_exc()))
            self._emit_status()
            return True

    def _dispatch(self, cmd: Any) -> bool:
        s = self.session
        if cmd is None:
            return False
        if isinstance(cmd, Apply | Reset | LoadConfig | LoadSession | LoadGenerator):
            self._chunk = 1  # the next step may cost very differently: measure it afresh
        if isinstance(cmd, Play):
            if not self._running:  # a pause's zero must not halve the first figure
                self.meter.restart()
            self._running = True
        elif isinstance(cmd, Pause):
            self._running = False
            self._guarded(s._checked)
        elif isinstance(cmd, Step):
            fn = {"iteration": s.iteration, "d": s.d_step, "g": s.g_step}.get(cmd.kind)
            if fn is None:
                self._emit(Failed(f"step: unknown kind {cmd.kind!r}; allowed: iteration, d, g"))
                return False
            self._running = False
            self._guarded(fn)
        elif isinstance(cmd, Replay):
            self._reset_done(s.config, replay=True)
            if len(s.history):
                self._emit(MetricsChunk(s.history.rows))
            self._sync_swaps()
            self._emit(Applied({}, s.config, s.step))
            self._emit_status()
        elif isinstance(cmd, SetSpeed):
            sps = cmd.steps_per_second
            self._speed = None if sps is None or sps <= 0 else float(sps)
        elif isinstance(cmd, SetView):
            self._view = cmd.request
        elif isinstance(cmd, Apply):
            try:
                self._guarded(s.flush)
                changed = s.apply(cmd.changes)
            except (ValueError, TypeError) as e:
                self._emit(Rejected(_plain(cmd.changes), str(e), s.config))
                return True
            except (MemoryError, RuntimeError) as e:  # e.g. an allocation the estimate missed
                self._emit(Rejected(_plain(cmd.changes), f"could not apply that change: "
                                    f"{type(e).__name__}: {str(e)[:200]}", s.config))
                return True
            self._emit(Applied(changed, s.config, s.step))
            if "seed" in changed:
                self._reset_done(s.config)
            self._sync_swaps()
        elif isinstance(cmd, Reset):
            s.reset()
            self._reset_done(s.config)
            self._emit(Applied({}, s.config, s.step))
        elif isinstance(cmd, LoadConfig | LoadSession | LoadGenerator):
            build = {LoadConfig: lambda c: Session(c.config, progress=self._progress),
                     LoadSession: lambda c: Session.load(c.path),
                     LoadGenerator: lambda c: Session.from_generator(c.path)}[type(cmd)]
            try:
                new = build(cmd)
            except ValueError as e:
                self._emit(Rejected({}, str(e), s.config))
                return True
            except Exception as e:  # e.g. out of memory for absurd widths: keep the session
                self._emit(Rejected({}, f"could not build that session: {type(e).__name__}: {e}",
                                    s.config))
                return True
            self._replace_session(new)
        elif isinstance(cmd, SaveGenerator | SaveSession | ExportSamples | ExportMetrics):
            self._save(cmd)
        elif isinstance(cmd, FetchFile):
            self._fetch(cmd)
        elif isinstance(cmd, LoadData):
            self._load_data(cmd)
        elif isinstance(cmd, SetTensorBoard):
            self._board_folder = cmd.folder
            self._open_board()
        else:
            self._emit(Failed(f"unknown command {cmd!r}"))
            return False
        return True

    def _progress(self, fraction: float, text: str) -> None:
        self._emit(Progress(float(fraction), text))

    def _replace_session(self, new: Session) -> None:
        if getattr(self, "_board", None) is not None:
            self.session.remove_listener(self._board)
            self._board.close(self.session.history.last())
            self._board = None
        self.session.remove_listener(self._on_rows)
        new.on_progress = self._progress
        self.session = new
        new.add_listener(self._on_rows)
        self._reset_done(new.config)
        if len(new.history):
            self._emit(MetricsChunk(new.history.rows))
        self._sync_swaps()
        self._emit(Applied({}, new.config, new.step))
        self._open_board()

    def _reset_done(self, config: dict[str, Any], replay: bool = False) -> None:
        """A new run (reset, new seed, new session, a window attached): the front end
        clears its curves and markers, and the speed is measured afresh."""
        self._emit(ResetDone(config, replay=replay))
        self._sent_swaps = ()
        self.meter.restart()

    def _sync_swaps(self) -> None:
        """Send the swap log when it differs from what the front end has (a change
        applied, a rollback, a loaded session); small, so it travels whole."""
        log = tuple(self.session.swaps)
        if log != self._sent_swaps:
            self._sent_swaps = log
            self._emit(SwapLog(log))

    def _save(self, cmd: Any) -> None:
        from .exports import write_metrics_csv, write_samples

        s = self.session
        what, fn = {
            SaveGenerator: ("generator", lambda: s.save_generator(cmd.path)),
            SaveSession: ("session", lambda: s.save(cmd.path)),
            ExportSamples: ("samples", lambda: write_samples(s.sample(cmd.n), cmd.path)),
            ExportMetrics: ("metrics", lambda: write_metrics_csv(s.history, cmd.path)),
        }[type(cmd)]
        try:
            s.flush()
            fn()
        except ValueError as e:  # its message names the file already
            self._emit(Failed(f"could not save the {what}: {e}"))
        except OSError as e:
            self._emit(Failed(f"could not save the {what} to {cmd.path}: {e.strerror or e}"))
        else:
            self._emit(Saved(cmd.path, what))

    def _open_board(self) -> None:
        """A TensorBoard log for the current session (a subfolder per session), or none."""
        board, self._board = getattr(self, "_board", None), None
        if board is not None:
            self.session.remove_listener(board)
            board.close(self.session.history.last())
        folder = getattr(self, "_board_folder", None)
        if folder is None:
            return
        import datetime
        import os

        from .tensorboard import TensorBoardLog

        name = f"{self.session.config.get('name') or 'run'}-" \
               f"{datetime.datetime.now():%Y%m%d-%H%M%S}"
        try:
            self._board = TensorBoardLog(self.session, os.path.join(folder, name))
        except ValueError as e:
            self._board_folder = None
            self._emit(Failed(f"could not save the TensorBoard log: {e}"))
            return
        self.session.add_listener(self._board)
        self._emit(Saved(self._board.logdir, "tensorboard"))

    def _fetch(self, cmd: FetchFile) -> None:
        """A file's bytes for the window to write on its own machine."""
        from .checkpoints import generator_bytes, session_bytes
        from .exports import metrics_csv_text, samples_bytes

        s = self.session
        makers = {
            "session": lambda: session_bytes(s),
            "generator": lambda: generator_bytes(s),
            "samples": lambda: samples_bytes(s.sample(cmd.n), cmd.suffix),
            "metrics": lambda: metrics_csv_text(s.history).encode("utf-8"),
        }
        make = makers.get(cmd.what)
        if make is None:
            self._emit(Failed(f"could not save: unknown file kind {cmd.what!r}"))
            return
        try:
            s._checked()
            data = make()
        except ValueError as e:
            self._emit(Failed(f"could not save the {cmd.what}: {e}"))
            return
        self._emit(FileData(cmd.what, cmd.tag, np.frombuffer(data, dtype=np.uint8).copy()))

    def _load_data(self, cmd: LoadData) -> None:
        """A checkpoint sent as bytes: through a private temp file, the same loaders."""
        import os
        import tempfile

        if cmd.what not in ("session", "generator"):
            self._emit(Rejected({}, f"cannot open a {cmd.what!r} sent as data", self.session.config))
            return
        fd, path = tempfile.mkstemp(prefix="gan-load-", suffix=".safetensors")
        emit = self._emit

        def named(ev: Any) -> None:  # messages name the user's file, not the temp file
            if isinstance(ev, Rejected) and path in ev.message:
                ev = Rejected(ev.changes, ev.message.replace(path, cmd.name), ev.config)
            emit(ev)

        self._emit = named  # type: ignore[method-assign]
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(np.asarray(cmd.data, dtype=np.uint8).tobytes())
            load = LoadSession(path) if cmd.what == "session" else LoadGenerator(path)
            self._dispatch(load)
        finally:
            self._emit = emit  # type: ignore[method-assign]
            try:
                os.unlink(path)
            except OSError:
                pass

    def _on_rows(self, rows: np.ndarray) -> None:
        self._emit(MetricsChunk(rows.copy()))

    def _refresh_mirror(self) -> None:
        """Publish a weight copy when the frame side wants one and something changed. The
        copy of iterations no health check has seen yet is checked itself (cheap): a NaN
        there runs the session's check at once, so no frame ever shows NaN weights."""
        s = self.session
        state = (id(s), s.step, s.d_updates, s.g_updates, id(s._cfg), id(s._nets.generator),
                 id(s._nets.discriminator), self._config_events)
        if self._mirror.is_wanted() and state != self._mirrored:
            def publish() -> None:
                if not self._mirror.refresh(s, self._config_events):
                    s._checked()  # raises TrainingDiverged (then rolled back)
            self._guarded(publish)
            self._mirrored = state
            self._notify()

    def _publish_snapshot(self) -> None:
        snap = self.session.snapshot(self._view)
        with self._mailbox.lock:
            self._mailbox.value = snap

    def _emit_status(self) -> None:
        s = self.session
        self._emit(Status(s.step, self.meter.rate if self._running else 0.0, self._running,
                          s.device.type, s.summary(), s.d_updates, s.g_updates))


def _plain(changes: Any) -> dict[str, Any]:
    """The refused changes as they go back to the front end: a dict, whatever was sent."""
    return dict(changes) if isinstance(changes, dict) else {"changes": repr(changes)[:100]}

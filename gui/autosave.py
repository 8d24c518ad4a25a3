"""Never lose a long run: unsaved-training tracking, the close guard, autosave, crash restore.

``SessionKeeper`` follows the engine's status and saves:

* **unsaved training**: steps trained since the last session save or load
  (``unsaved_steps``); closing the window with some asks Save session / Discard / Cancel,
  with training paused while the question is open (and resumed on Cancel);
* **autosave**: every minute (``autosave/minutes`` in the settings, default 1) the
  session is saved to the user's data folder with ``SaveSession``, only when training has
  moved since the last autosave; an autosave is a safety net and does not count as saved;
* **crash restore**: ``arm()`` writes a "running" marker; a clean close removes it (the
  autosave file stays). When ``arm()`` finds a marker left behind and an autosave, it offers
  to restore that session (``LoadSession``);
* **reset**: Reset (Ctrl+R, the toolbar) asks first when more than ``RESET_ASK_STEPS``
  steps are unsaved (training paused meanwhile), and before a trained session is reset the
  engine saves it to a temporary file: "Undo reset" in the message line loads it back,
  the unsaved-step count as it was (the file goes when the window closes).

A window built directly (tests, scripts) starts unarmed: it tracks steps but writes no
marker, runs no timer and never asks before closing. ``run_app`` arms it. Tests arm it with
their own folder and a short interval, and answer the questions by replacing the functions
in ``gui.dialogs`` (or setting ``confirm_close = False``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer

from engine.atomic import atomic_write_text
from engine.protocol import Failed, ResetDone, Saved, SaveSession, Status
from engine.stfile import read_metadata

from . import dialogs

if TYPE_CHECKING:
    from .main_window import MainWindow

DATA_DIR_ENV = "GAN_PLAYGROUND_DATA_DIR"  # overrides the data folder (tests, portable use)
AUTOSAVE_NAME = "autosave-session.safetensors"
KEPT_PREFIX = "autosave-before-restart-"  # a crashed run's autosave, set aside by Restart fresh
MARKER_NAME = "running.json"
DEFAULT_AUTOSAVE_MINUTES = 1.0
RESET_ASK_STEPS = 300  # Reset asks first when more steps than this are unsaved
PAUSE_WAIT_S = 0.5     # how long a question waits for the engine to report it paused
UNDO_NAME = "before-reset.safetensors"
UNDO_WHAT = "run from before the reset"  # how a load of it is named in messages


def data_dir() -> Path:
    """Where autosaves live: ``$GAN_PLAYGROUND_DATA_DIR``, else the platform's user data
    folder (``engine.userdirs``: the same one the engine and ``serve`` use)."""
    from engine.userdirs import data_dir as user_data_dir

    return user_data_dir()


def checkpoint_header(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata of a safetensors checkpoint (kind, step, date, ...), read from its header
    only (``engine.stfile``: no tensors, no torch); empty when it is not a readable one."""
    try:
        return read_metadata(str(path))
    except ValueError:
        return {}


def header_step(path: str | os.PathLike[str]) -> int | None:
    try:
        return int(checkpoint_header(path)["step"])
    except (KeyError, ValueError):
        return None


def local_time(iso: str) -> str:
    """``2025-01-02T03:04:05+00:00`` as local time, e.g. ``2025-01-02 04:04``."""
    try:
        return _dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return iso or "an unknown time"


def _pid_alive(pid: Any) -> bool:
    """Whether another process with this id runs (POSIX only; False where unknown)."""
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def _stored_state(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """(step, D updates, G updates) stored in a session checkpoint; (-1, -1, -1) unknown."""
    meta = checkpoint_header(path)
    try:
        d, g = json.loads(meta.get("updates", "[0, 0]"))
        return int(meta["step"]), int(d), int(g)
    except (KeyError, ValueError, TypeError):
        return (-1, -1, -1)


def _older(date: str, than: str) -> bool:
    """Whether ISO time ``date`` is before ``than`` (False when either is unknown)."""
    try:
        return _dt.datetime.fromisoformat(date) < _dt.datetime.fromisoformat(than)
    except (ValueError, TypeError):
        return False


@dataclass
class _Undo:
    """The session as it was before a reset, saved for Undo."""

    path: Path
    step: int
    saved_step: int      # the last real save's step then: undo restores the unsaved count
    written: bool = False
    announced: bool = False  # the reset it belongs to is done and Undo was offered


class SessionKeeper(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.link = window.link
        self.step = 0              # the engine's step, from its status
        self.trained = False       # any update since the session was built
        self.saved_step = 0        # step of the last session save or load (0 after a reset)
        self.confirm_close = False  # ask before closing with unsaved training (armed)
        self.folder: Path | None = None  # autosave folder; None while unarmed
        self.autosaved_step: int | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.autosave)
        self._state = (0, 0, 0)         # (step, D updates, G updates) from the status
        self._autosaved = (0, 0, 0)     # the same, as stored in the last autosave
        self._autosave_pending = False
        self._close_after: str | None = None  # the session path whose save closes the window
        self._close_now = False
        self._undo: _Undo | None = None
        self._undo_dir: str | None = None
        self.link.status_changed.connect(self._on_status)
        self.link.saved.connect(self._on_saved)
        self.link.reset_done.connect(self._on_reset_done)  # after FileActions' (rebase)
        self.link.engine_died.connect(self._on_engine_died)
        window.transport.reset_handler = self.reset

    # ------------------------------------------------------------------ state
    @property
    def unsaved_steps(self) -> int:
        return max(0, self.step - self.saved_step)

    @property
    def autosave_path(self) -> Path | None:
        return self.folder / AUTOSAVE_NAME if self.folder is not None else None

    @property
    def marker_path(self) -> Path | None:
        return self.folder / MARKER_NAME if self.folder is not None else None

    def is_autosave(self, path: str) -> bool:
        """Whether ``path`` is a save the keeper made on its own (the autosave, or the copy
        kept to undo a reset), not one the user asked for."""
        if self._undo is not None and Path(path) == self._undo.path:
            return True
        return self.autosave_path is not None and Path(path) == self.autosave_path

    def rebase(self, step: int) -> None:
        """A new session (load, reset, fresh preset): nothing trained since ``step``."""
        self.saved_step = self.step = step

    def _on_status(self, ev: Status) -> None:
        self._state = (ev.step, ev.d_updates, ev.g_updates)
        self.step = ev.step
        self.trained = any(self._state)

    def _on_saved(self, ev: Saved) -> None:
        if ev.what != "session":
            return
        if self._undo is not None and Path(ev.path) == self._undo.path:
            self._undo.written = True
            return
        step = header_step(ev.path)
        if self.is_autosave(ev.path):
            self._autosave_pending = False
            self.autosaved_step = step
            self._autosaved = _stored_state(ev.path)
            return
        self.saved_step = step if step is not None else self.step
        if self._close_after is not None and Path(ev.path) == Path(self._close_after):
            self._close_after = None
            self._close_now = True
            QTimer.singleShot(0, self.window.close)

    def _on_engine_died(self, ended: Any) -> None:
        """Saves in flight died with the engine: none of them will be answered. Autosave
        waited for ever on its own (``autosave`` skips while one is pending), and a "save,
        then close" kept the window open."""
        self._autosave_pending = False
        self._close_after = None
        if self._undo is not None and not self._undo.written:
            self._undo = None

    def engine_restarted(self, from_autosave: bool) -> str:
        """After a new engine started in place of one that died. Fresh: the crashed run's
        autosave is set aside (``KEPT_PREFIX`` and the time) instead of being overwritten by the new run's
        first autosave, and nothing is unsaved; from the autosave, that file stands as
        saved until training moves. Returns where the crashed run was kept, or ''."""
        path = self.autosave_path
        self._state = (0, 0, 0)
        if from_autosave:
            if path is not None and path.is_file():
                self._autosaved = _stored_state(path)
            return ""
        self.rebase(0)
        self._autosaved = (0, 0, 0)
        self.autosaved_step = None
        if path is None or not path.is_file():
            return ""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = path.with_name(f"{KEPT_PREFIX}{stamp}.safetensors")
        n = 1
        while kept.exists():  # each restart's run is kept: none written over another
            n += 1
            kept = path.with_name(f"{KEPT_PREFIX}{stamp}-{n}.safetensors")
        try:
            os.replace(path, kept)
        except OSError:
            return ""
        return str(kept)

    def handle_failed_save(self, ev: Failed) -> str:
        """A save that failed: '' when it was the user's own, else what it was for."""
        undo = self._undo
        if undo is not None and not undo.written and str(undo.path) in ev.message:
            self._undo = None
            return "undo"
        if self._autosave_pending and (str(self.autosave_path) in ev.message
                                       or ev.message.startswith("could not save the session")):
            self._autosave_pending = False
            return "autosave"
        if self._close_after is not None and ev.message.startswith("could not save the session"):
            self._close_after = None
            return "close"
        return ""

    # ------------------------------------------------------------------ arming
    def arm(self, folder: str | os.PathLike[str] | None = None,
            interval_ms: int | None = None, *, offer_restore: bool = True) -> bool:
        """Write the running marker, start autosaving, ask before closing; offer to restore
        the autosave when the last run left its marker behind. False when the folder cannot
        be used (autosave stays off; the close question still guards the run)."""
        self.confirm_close = True
        target = Path(folder) if folder is not None else data_dir()
        try:
            target.mkdir(parents=True, exist_ok=True)
            marker = target / MARKER_NAME
            previous = self._read_marker(marker)
            atomic_write_text(str(marker), json.dumps({
                "pid": os.getpid(),
                "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }) + "\n")
        except OSError as e:
            self.window.message.show_message(
                f"Autosave is off: cannot use the folder {target} ({e.strerror or e})",
                "warning")
            return False
        self.folder = target
        self._autosaved = self._state  # nothing to save until training moves
        if interval_ms is None:
            minutes = self.window.settings.value("autosave/minutes", DEFAULT_AUTOSAVE_MINUTES)
            try:
                interval_ms = int(float(minutes) * 60_000)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                interval_ms = int(DEFAULT_AUTOSAVE_MINUTES * 60_000)
        self.timer.start(max(50, interval_ms))
        crashed = previous is not None and not _pid_alive(previous.get("pid"))
        if offer_restore and crashed:
            self.offer_restore(since=str(previous.get("started") or ""))  # type: ignore[union-attr]
        return True

    def disarm(self) -> None:
        """A clean close: stop autosaving and remove the marker (the autosave stays) and
        the run kept for undoing a reset."""
        self.timer.stop()
        self.confirm_close = False
        self._undo = None
        if self._undo_dir is not None:
            shutil.rmtree(self._undo_dir, ignore_errors=True)
            self._undo_dir = None
        marker = self.marker_path
        if marker is not None:
            try:
                marker.unlink(missing_ok=True)
            except OSError:
                pass

    @staticmethod
    def _read_marker(marker: Path) -> dict[str, Any] | None:
        if not marker.exists():
            return None
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ work
    def autosave(self) -> bool:
        """Save the session to the autosave file if training moved since the last one."""
        path = self.autosave_path
        if (path is None or self._state == self._autosaved or self._autosave_pending
                or not self.link.alive or self.window.files.loading):
            return False  # a load on its way: the engine's state is about to be replaced
        self._autosave_pending = True
        self.link.send(SaveSession(str(path)))
        return True

    def offer_restore(self, since: str = "") -> bool:
        """Ask to restore the autosave after an unclean exit; True when a restore was sent.
        An autosave older than ``since`` (when the crashed run started) is from an earlier,
        cleanly closed run: not offered."""
        path = self.autosave_path
        if path is None or not path.is_file():
            return False
        meta = checkpoint_header(path)
        if _older(meta.get("date", ""), since):
            return False
        step = meta.get("step", "?")
        when = local_time(meta.get("date", ""))
        if not dialogs.ask_restore(self.window, step, when):
            return False
        return self.window.files.open_session(str(path), what="autosaved session")

    def may_close(self) -> bool:
        """Whether the window may close now; asks first when training is unsaved. "Save"
        pauses, saves (the window closes when the engine reports the file written)."""
        if self._close_now:
            self._close_now = False
            return True
        unsaved = self.unsaved_steps
        if not self.confirm_close or unsaved <= 0 or not self.link.alive:
            return True
        if self.link.remote is not None:
            return True  # an attached engine trains on when the window closes
        # training waits while the question is open: the count it asks about stays true,
        # and nothing trains on unseen behind the box
        was_running = self.pause_for_question()
        answer = dialogs.ask_save_before_close(self.window, self.unsaved_steps)
        if answer == dialogs.DISCARD:
            return True
        if answer == dialogs.SAVE:
            path = self.window.files.choose_session_path()
            if path:
                self.link.send(SaveSession(path))
                self._close_after = path
                self.window.statusBar().showMessage("Saving the session, then closing…", 10_000)
                return False
        if was_running:  # cancelled: carry on as before
            self.window.transport.request_running(True)
        return False

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        """Reset (the transport's handler): ask first when many steps are unsaved, keep a
        trained session for Undo (the engine saves it before it resets), then reset."""
        was_running = False
        if self.link.alive and self.unsaved_steps > RESET_ASK_STEPS:
            was_running = self.pause_for_question()
            if not dialogs.ask_reset(self.window, self.unsaved_steps):
                if was_running:
                    self.window.transport.request_running(True)
                return
        if self.link.alive and self.trained:
            if self._undo_dir is None:
                self._undo_dir = tempfile.mkdtemp(prefix="gan-playground-undo-")
            self._undo = _Undo(Path(self._undo_dir) / UNDO_NAME, self.step, self.saved_step)
            self.link.send(SaveSession(str(self._undo.path)))  # the engine saves, then resets
        self.window.transport.send_reset()
        if was_running:
            self.window.transport.request_running(True)

    def _on_reset_done(self, ev: ResetDone) -> None:
        """The reset is done: offer Undo (once per reset; loads answer ResetDone too)."""
        undo = self._undo
        if undo is None or undo.announced or not undo.written or self.window.files.loading:
            return
        undo.announced = True
        self.window.message.show_message(
            f"Reset: both networks start again from seed {ev.config.get('seed', 0)}. The run "
            f"you had (step {undo.step:,}) is kept until the window closes.", "info",
            actions=[("Undo reset", self.undo_reset)], stay=True)
        self.window.statusBar().showMessage("Reset (Undo reset brings the run back)", 5000)

    @property
    def can_undo_reset(self) -> bool:
        undo = self._undo
        return undo is not None and undo.written and undo.path.is_file()

    def undo_reset(self) -> bool:
        """Load the session kept before the last reset; True when the load was sent."""
        if not self.can_undo_reset:
            self.window.message.show_message("Nothing to undo: the run from before the reset "
                                             "is no longer kept.", "warning")
            return False
        assert self._undo is not None
        return self.window.files.open_session(str(self._undo.path), what=UNDO_WHAT)

    def reset_undone(self, step: int) -> None:
        """The kept run is back (FileActions, on its ResetDone): unsaved as it was."""
        undo = self._undo
        self.rebase(step)
        if undo is not None:
            self.saved_step = min(undo.saved_step, step)

    def pause_for_question(self) -> bool:
        """Pause training while a question is open; True when it was running (the caller
        resumes it if the user cancels)."""
        running = self.link.state.running or self.window.transport.actions["play"].isChecked()
        if running:
            self.window.transport.request_running(False)
            # let the engine's paused status arrive (half a second at most), so the question
            # counts the steps as they stay, not as they were a moment before the pause
            deadline = time.monotonic() + PAUSE_WAIT_S
            while self.link.state.running and self.link.alive and time.monotonic() < deadline:
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return running

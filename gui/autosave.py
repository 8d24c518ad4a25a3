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
  to restore that session (``LoadSession``).

A window built directly (tests, scripts) starts unarmed: it tracks steps but writes no
marker, runs no timer and never asks before closing. ``run_app`` arms it. Tests arm it with
their own folder and a short interval, and answer the questions by replacing the functions
in ``gui.dialogs`` (or setting ``confirm_close = False``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from engine.atomic import atomic_write_text
from engine.protocol import Failed, Saved, SaveSession, Status
from engine.stfile import read_metadata

from . import dialogs

if TYPE_CHECKING:
    from .main_window import MainWindow

DATA_DIR_ENV = "GAN_PLAYGROUND_DATA_DIR"  # overrides the data folder (tests, portable use)
AUTOSAVE_NAME = "autosave-session.safetensors"
MARKER_NAME = "running.json"
DEFAULT_AUTOSAVE_MINUTES = 1.0


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
        self.link.status_changed.connect(self._on_status)
        self.link.saved.connect(self._on_saved)

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

    def handle_failed_save(self, ev: Failed) -> str:
        """A save that failed: '' when it was the user's own, else what it was for."""
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
        """A clean close: stop autosaving and remove the marker (the autosave stays)."""
        self.timer.stop()
        self.confirm_close = False
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
                or not self.link.alive):
            return False
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

    def pause_for_question(self) -> bool:
        """Pause training while a question is open; True when it was running (the caller
        resumes it if the user cancels)."""
        running = self.link.state.running or self.window.transport.actions["play"].isChecked()
        if running:
            self.window.transport.request_running(False)
        return running

"""File menu work: presets, checkpoints, exports and point imports.

Each action takes an optional path so tests and scripts can skip the dialog. Nothing here
raises at the user: a bad file becomes one message in the window and changes nothing.

* Presets are plain data, read and validated here (``load_preset``) before anything is sent,
  so a bad preset never reaches the engine. Loading one after training asks whether to keep
  the trained networks (``Apply`` of the differing keys, the seed excepted: a live swap) or
  to start fresh (``LoadConfig``).
* Checkpoints and exports are read and written by the engine's worker (it owns the torch
  state): ``LoadSession``/``LoadGenerator`` answer ``ResetDone`` (then ``Applied``) or a
  ``Rejected`` with no changes; the pending loads are matched to those answers in order.
* The window title shows the preset's name and Qt's ``[*]`` mark while the live settings
  (the last ``Applied`` config) differ from the preset as last loaded or saved.
"""

from __future__ import annotations

import copy
import json
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from engine.atomic import atomic_write_bytes
from engine.config import diff, flatten
from engine.exports import SAMPLE_FORMATS
from engine.pointfiles import load_points_csv
from engine.presets import (
    PRESET_DIR,
    builtin_presets,
    load_preset,
    preset_path,
    preset_text,
    save_preset,
)
from engine.protocol import (
    Applied,
    Apply,
    ExportMetrics,
    ExportSamples,
    Failed,
    LoadConfig,
    LoadGenerator,
    LoadSession,
    Rejected,
    ResetDone,
    SaveGenerator,
    SaveSession,
)

from . import dialogs
from .autosave import UNDO_WHAT, header_step
from .document import plain
from .fields import describe_changes
from .preset_library import PresetLibrary
from .recent import RecentPresets
from .sweep_view import SweepView

if TYPE_CHECKING:
    from .main_window import MainWindow

CHECKPOINT_FILTER = "Checkpoints (*.safetensors);;All files (*)"
PRESET_FILTER = "Presets (*.json);;All files (*)"
CSV_FILTER = "CSV files (*.csv);;All files (*)"
SAMPLES_FILTER = "NumPy arrays (*.npy);;CSV files (*.csv);;PNG image grid, for image data (*.png)"
PNG_FILTER = "PNG images (*.png)"
MAX_POINTS = 5000  # real points kept from a drawing or an import (the newest)
EXPORT_SAMPLES = 2000


def preset_changes(config: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    """Dotted changes that turn the live ``config`` into ``preset`` as a swap: every key that
    differs except the seed (which would re-initialise); with a new data set, all of its
    parameters (the engine starts a new set from its defaults)."""
    new = flatten(plain(preset))
    changes = {k: new[k] for k in diff(plain(config), plain(preset)) if k in new and k != "seed"}
    if config["data"]["name"] != preset["data"]["name"]:
        changes.update({k: v for k, v in new.items() if k.startswith("data.")})
    return changes


def user_preset_file(name_or_path: str | None) -> str | None:
    """The file a preset was read from, when Save may write it: None for a built-in (or a
    file in the built-in folder), an unknown name or no preset."""
    if not name_or_path:
        return None
    try:
        path = preset_path(name_or_path)
    except ValueError:
        return None
    if not path.is_file():
        return None
    path = path.resolve()
    return None if path.parent == PRESET_DIR.resolve() else str(path)


@dataclass
class _Preset:
    """A preset as read: what it was called, its file (None: built-in) and its config."""

    name_or_path: str
    file: str | None
    config: dict[str, Any]


@dataclass
class _Load:
    what: str                     # "preset", "session", "generator", "autosaved session"
    path: str
    step: int = 0                 # the step the new session starts at
    preset: _Preset | None = None


@dataclass
class _Swap:
    changes: dict[str, Any]
    preset: _Preset


class FileActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recent = RecentPresets(window.settings)
        self.doc = window.document
        self.library: PresetLibrary | None = None
        self.sweep_view: SweepView | None = None
        self.recent_menu: QMenu | None = None
        self.builtin_menu: QMenu | None = None
        self._loads: deque[_Load] = deque()
        self._swap: _Swap | None = None
        # connected before the window's own slots: a load is committed before the window
        # redraws its title from the Applied that follows
        window.link.reset_done.connect(self._on_reset_done)
        window.link.applied.connect(self._on_applied)
        window.link.engine_died.connect(self._on_engine_died)

    # ------------------------------------------------------------------ dialogs
    # Every file dialog starts in the folder last used for its kind of file (presets,
    # sessions, generators, point files, exports), remembered in the settings across
    # launches; the first time, the current preset's folder (presets) or the home folder,
    # never wherever the app happened to be started from.
    def start_folder(self, kind: str) -> str:
        remembered = str(self.window.settings.value(f"folders/{kind}", "") or "")
        if remembered and os.path.isdir(remembered):
            return remembered
        if kind == "preset":
            recent = self.recent.paths()
            last = self.doc.preset_file or (recent[0] if recent else "")
            if last and os.path.isdir(os.path.dirname(last)):
                return os.path.dirname(last)
        return str(Path.home())

    def remember_folder(self, kind: str, path: str) -> None:
        self.window.settings.setValue(f"folders/{kind}",
                                      os.path.dirname(os.path.abspath(path)))

    def _save_path(self, title: str, suggested: str, filters: str,
                   kind: str = "export") -> str | None:
        start = os.path.join(self.start_folder(kind), os.path.basename(suggested))
        path, _ = QFileDialog.getSaveFileName(self.window, title, start, filters)
        if path:
            self.remember_folder(kind, path)
        return path or None

    def _open_path(self, title: str, filters: str, kind: str = "export") -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, title, self.start_folder(kind),
                                              filters)
        if path:
            self.remember_folder(kind, path)
        return path or None

    def _error(self, text: str) -> None:
        self.window.message.show_message(text, "error")
        self.window.statusBar().showMessage(text.split(":")[0], 8000)

    def _info(self, text: str) -> None:
        self.window.message.show_message(text, "info")

    # ------------------------------------------------------------------ presets
    def open_preset(self, name_or_path: str | None = None, *, keep: bool | None = None) -> bool:
        """Load a preset (a built-in name or a JSON path). After training, ask whether to
        keep the trained networks (``keep`` answers for tests and scripts). True when sent."""
        if self.window.engine_stopped("Open preset"):
            return False
        name_or_path = name_or_path or self._open_path("Open preset", PRESET_FILTER, "preset")
        if not name_or_path:
            return False
        try:
            config = load_preset(name_or_path)
        except ValueError as e:
            note = ""
            gone = not os.path.exists(name_or_path)
            if gone and os.path.abspath(name_or_path) in self.recent.paths():
                self.recent.remove(name_or_path)
                self.populate_recent()
                note = " (removed from the recent presets)"
            self._error(f"Could not open the preset: {e}{note}")
            return False
        preset = _Preset(name_or_path, user_preset_file(name_or_path), config)
        name = str(config.get("name") or Path(name_or_path).stem)
        if keep is None and self.window.keeper.trained:
            answer = dialogs.ask_keep_networks(self.window, name, self.window.keeper.step)
            if answer is None:
                return False
            keep = answer == dialogs.KEEP
        # run B compared itself with the old settings: it ends, and its curves go
        self.window.insight.compare.end(f"Comparison ended: the preset {name} was loaded, "
                                        "so run B was stopped and the curves cleared",
                                        f"Compare ended: B stopped ({name} loaded)")
        if keep:
            changes = preset_changes(self.window.config, config)
            self._swap = _Swap(changes, preset)
            self.window.link.send(Apply(changes))
            self.window.statusBar().showMessage(
                f"Loading the preset {name}, keeping the trained networks…", 5000)
        else:
            self._loads.append(_Load("preset", name_or_path, 0, preset))
            self.window.link.send(LoadConfig(config))
            self.window.statusBar().showMessage(f"Loading the preset {name}…", 5000)
        return True

    def _commit_preset(self, preset: _Preset) -> None:
        if preset.file:
            self.recent.add(preset.file)
            self.populate_recent()
        self.doc.commit_preset(preset.name_or_path, preset.file, preset.config)

    def save_preset(self, path: str | None = None) -> bool:
        """Save the live settings: to ``path``, else to the current preset file; with no
        file of its own (a built-in or none) this is Save preset as…"""
        if path:
            return self._write_preset(path)
        if self.doc.preset_file:
            return self._write_preset(self.doc.preset_file)
        return self.save_preset_as()

    def save_preset_as(self, path: str | None = None, *, name: str | None = None,
                       description: str | None = None) -> bool:
        """Save the live settings as a new preset file. Picked in the file dialog, the file
        is followed by a question for the preset's name (the file's, by default) and its
        description, prefilled with one that is true of these settings
        (``suggested_description``); given a ``path``, those two are ``name`` and
        ``description`` or the same defaults, unasked."""
        asked = path is None
        path = path or self._save_path("Save preset as", f"{self.doc.name}.json",
                                       PRESET_FILTER, "preset")
        if not path:
            return False
        stem = Path(path).stem or "preset"
        name = name or stem
        description = self.suggested_description() if description is None else description
        if asked:
            answer = dialogs.ask_preset_details(
                self.window, name, description, "Save preset as",
                f"Saving to {Path(path).name}. The description is what the preset library "
                "shows: say what these settings show and what to watch for.")
            if answer is None:
                return False
            name, description = answer
        return self._write_preset(path, name=name, description=description)

    def suggested_description(self) -> str:
        """The description to offer when saving the live settings as a new preset: the
        current one while the settings are still the preset's; once they differ (a drawn
        data set, another loss), a line saying what they are made of, never the old
        preset's text about a run these settings are not."""
        config = plain(self.window.config)
        current = str(config.get("description") or "")
        saved = self.doc.preset_saved
        if saved is None:  # a checkpoint's own settings
            return current
        meta = ("name", "description", "topic", "lecture")
        changes = {k: v for k, v in diff(saved, config).items() if k not in meta}
        if not changes:
            return current
        base = saved.get("name") or self.doc.preset_name or "a preset"
        return f"Made from the preset {base}, with {describe_changes(changes, limit=8)}."

    def _write_preset(self, path: str, *, name: str | None = None,
                      description: str | None = None) -> bool:
        """Write the live settings. Saved under a new file name, the preset takes the file's
        name unless ``name`` says otherwise; a new name or ``description`` goes to the
        engine too, so the title and the saved file agree."""
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(".json")
        config = copy.deepcopy(self.window.config)
        if name is None:
            rename = self.doc.preset_file is None or Path(self.doc.preset_file) != p.resolve()
            name = p.stem if rename else config.get("name")
        updates = {k: v for k, v in (("name", name), ("description", description))
                   if v is not None and v != config.get(k)}
        config.update(updates)
        try:
            save_preset(config, str(p))
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or e
            self._error(f"Could not save the preset to {p}: {reason}")
            return False
        if updates:
            self.window.link.send(Apply(updates))
        saved = _Preset(str(p), user_preset_file(str(p)), json.loads(preset_text(config)))
        self._commit_preset(saved)
        self._info(f"Saved the preset to {p}")
        return True

    # ------------------------------------------------------------------ library / menus
    def show_library(self) -> PresetLibrary:
        """Open the preset library (re-read from disk), non-modal; returned for tests."""
        if self.library is not None:
            self.library.close()
            self.library.deleteLater()
        self.library = PresetLibrary(self.window)
        self.library.load_requested.connect(self.open_preset)
        self.library.lab_requested.connect(
            lambda _lab, stem: self.window.open_games_lab(preset=stem))
        self.library.show()
        self.library.raise_()
        self.library.activateWindow()
        return self.library

    def open_sweep(self, folder: str | None = None) -> SweepView | None:
        """File ▸ Open sweep…: a sweep folder's runs (``main.py sweep --out``), non-modal;
        opening a run resumes its session here. Returned for tests."""
        folder = folder or QFileDialog.getExistingDirectory(self.window, "Open sweep")
        if not folder:
            return None
        if self.sweep_view is not None:
            self.sweep_view.close()
            self.sweep_view.deleteLater()
        self.sweep_view = SweepView(folder, self.window)
        self.sweep_view.run_opened.connect(
            lambda path: self.open_session(path, what="sweep run"))
        self.sweep_view.show()
        self.sweep_view.raise_()
        return self.sweep_view

    def populate_builtin(self) -> None:
        """File ▸ Built-in presets, as the folder is now."""
        menu = self.builtin_menu
        if menu is None:
            return
        menu.clear()
        for name in builtin_presets():
            action = menu.addAction(name)
            action.setStatusTip(f"Load the built-in preset '{name}'")
            action.triggered.connect(lambda _=False, n=name: self.open_preset(n))
        if not menu.actions():
            menu.addAction("(none found)").setEnabled(False)

    def populate_recent(self, prune: bool = False) -> None:
        """File ▸ Recent presets; with ``prune`` (the menu is opening) files that are gone
        are dropped from the list, with a message naming them."""
        menu = self.recent_menu
        if prune:
            gone = self.recent.prune()
            if gone:
                names = ", ".join(Path(p).name for p in gone)
                self.window.message.show_message(
                    f"Removed from the recent presets (no longer there): {names}", "warning")
        if menu is None:
            return
        menu.clear()
        paths = self.recent.paths()
        for i, path in enumerate(paths, start=1):
            action = menu.addAction(f"&{i} {Path(path).name}")
            action.setStatusTip(path)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_preset(p))
        if not paths:
            menu.addAction("(none yet)").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear list")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(lambda _=False: (self.recent.clear(), self.populate_recent()))

    # ------------------------------------------------------------------ checkpoints
    def choose_session_path(self) -> str | None:
        return self._save_path("Save session", "session.safetensors", CHECKPOINT_FILTER,
                               "session")

    def save_generator(self, path: str | None = None) -> None:
        if self.window.engine_stopped("Save generator"):
            return
        path = path or self._save_path("Save generator", "generator.safetensors",
                                       CHECKPOINT_FILTER, "generator")
        if path:
            self.window.link.send(SaveGenerator(path))

    def save_session(self, path: str | None = None) -> None:
        if self.window.engine_stopped("Save session"):
            return
        path = path or self.choose_session_path()
        if path:
            self.window.link.send(SaveSession(path))

    def open_session(self, path: str | None = None, *, what: str = "session") -> bool:
        """Resume a session checkpoint exactly (replaces the current session)."""
        if self.window.engine_stopped("Open session"):
            return False
        path = path or self._open_path("Open session", CHECKPOINT_FILTER, "session")
        if not path:
            return False
        self._loads.append(_Load(what, path, header_step(path) or 0))
        self.window.link.send(LoadSession(path))
        where = "" if what == UNDO_WHAT else f" {path}"  # the kept run's file is the app's own
        self.window.statusBar().showMessage(f"Opening the {what}{where}…", 5000)
        return True

    def open_generator(self, path: str | None = None) -> bool:
        """Continue from a generator checkpoint: its samples show at once, training goes
        on against a fresh discriminator."""
        if self.window.engine_stopped("Open generator"):
            return False
        path = path or self._open_path("Open generator", CHECKPOINT_FILTER, "generator")
        if not path:
            return False
        self._loads.append(_Load("generator", path, header_step(path) or 0))
        self.window.link.send(LoadGenerator(path))
        self.window.statusBar().showMessage(f"Opening the generator {path}…", 5000)
        return True

    # ------------------------------------------------------------------ engine answers
    def _on_engine_died(self, ended: Any) -> None:
        """Loads on their way died with the engine: the next engine's start (its replay)
        must not be taken for their answer ("Loaded the preset ..." for a preset it never
        ran)."""
        self._loads.clear()
        self._swap = None

    def _on_reset_done(self, ev: ResetDone) -> None:
        """A new session: the oldest pending load succeeded (or a reset / new seed). A
        replay (a new engine, or a window attaching) answers no load."""
        if ev.replay:
            self.window.keeper.rebase(0)
            return
        load = self._loads.popleft() if self._loads else None
        self.window.keeper.rebase(load.step if load else 0)
        if load is None:
            return
        if load.what == UNDO_WHAT:  # the run before a reset: same settings, same preset
            self.window.keeper.reset_undone(load.step)
            self._info(f"Undid the reset: back at step {load.step:,}")
            return
        if load.preset is not None:
            self._commit_preset(load.preset)
            name = load.preset.config.get("name") or load.path
            self.window.statusBar().showMessage(f"Loaded the preset {name}", 5000)
            # the message line says so too: it may still tell of the load before this one
            self._info(f"Loaded the preset {name}")
            return
        # a checkpoint carries its own config: no preset file to save to or compare with
        self.doc.forget_preset()
        self._info(f"Opened the {load.what} {load.path} (step {load.step:,})")

    @property
    def loading(self) -> bool:
        """Whether a load (preset, session, generator) is on its way to the engine."""
        return bool(self._loads)

    def _on_applied(self, ev: Applied) -> None:
        """A kept-networks load is done when the engine runs the preset's settings."""
        swap = self._swap
        if swap is not None and not preset_changes(ev.config, swap.preset.config):
            self._swap = None
            self._commit_preset(swap.preset)
            name = swap.preset.config.get("name") or swap.preset.name_or_path
            self._info(f"Loaded the preset {name}, keeping the trained networks")

    def explain_rejection(self, ev: Rejected) -> tuple[str, str]:
        """The message (and level) for a refusal: a load that failed is named as such."""
        if not ev.changes and self._loads:
            load = self._loads.popleft()
            return f"Could not open the {load.what}: {ev.message}", "error"
        swap = self._swap
        if swap is not None and ev.changes == swap.changes:
            self._swap = None
            name = swap.preset.config.get("name") or swap.preset.name_or_path
            return f"Could not load the preset {name}: {ev.message}", "error"
        return f"Not applied: {ev.message}", "warning"

    def handle_failed_save(self, ev: Failed) -> bool:
        """A failed save or export (the engine does not pause for it): True when handled."""
        if not ev.message.startswith("could not save"):
            return False
        purpose = self.window.keeper.handle_failed_save(ev)
        text = ev.message[:1].upper() + ev.message[1:]
        if purpose == "autosave":
            self.window.message.show_message(f"Autosave failed: {ev.message}", "warning")
        elif purpose == "undo":
            self.window.message.show_message(
                f"Reset without Undo: the run could not be kept ({ev.message})", "warning")
        elif purpose == "close":
            self._error(f"{text}. The window stays open.")
        else:
            self._error(text)
        return True

    # ------------------------------------------------------------------ exports
    def export_view_png(self, path: str | None = None, widget: QWidget | None = None) -> bool:
        """The plots (or ``widget``) as a PNG, written atomically."""
        path = path or self._save_path("Export view as PNG", "gan-playground.png", PNG_FILTER)
        if not path:
            return False
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(".png")
        target = widget or getattr(self.window, "views_splitter", None) or self.window
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        ok = target.grab().save(buffer, "PNG")
        buffer.close()
        if not ok:
            self._error(f"Could not export the view to {p}: the image could not be encoded")
            return False
        try:
            atomic_write_bytes(str(p), bytes(data.data()))
        except OSError as e:
            self._error(f"Could not export the view to {p}: {e.strerror or e}")
            return False
        self._info(f"Saved the view to {p}")
        return True

    def export_samples(self, path: str | None = None, n: int = EXPORT_SAMPLES) -> bool:
        """``n`` generated samples as .npy, .csv or (images) a .png grid (written by the
        engine, which refuses a .png of points with a message)."""
        chosen = ""
        if self.window.engine_stopped("Export samples"):
            return False
        if not path:
            start = os.path.join(self.start_folder("export"), "samples.npy")
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export samples", start,
                                                       SAMPLES_FILTER)
            if path:
                self.remember_folder("export", path)
        if not path:
            return False
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(".csv" if "csv" in chosen.lower()
                              else ".png" if "png" in chosen.lower() else ".npy")
        if p.suffix.lower() not in SAMPLE_FORMATS:
            self._error(f"Could not export samples to {p}: use a .npy, .csv or .png file name")
            return False
        self.window.link.send(ExportSamples(str(p), n))
        return True

    def export_metrics(self, path: str | None = None) -> bool:
        """The logged metrics as CSV (written by the engine)."""
        if self.window.engine_stopped("Export metrics"):
            return False
        path = path or self._save_path("Export metrics", "metrics.csv", CSV_FILTER)
        if not path:
            return False
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(".csv")
        self.window.link.send(ExportMetrics(str(p)))
        return True

    # ------------------------------------------------------------------ points
    def import_points_csv(self, path: str | None = None) -> bool:
        """Use a CSV of x,y rows as the real data; a bad file is explained, not raised."""
        path = path or self._open_path("Import points", CSV_FILTER, "points")
        if not path:
            return False
        try:
            points = load_points_csv(path)
        except ValueError as e:
            self.window.message.show_message(f"Could not import points: {e}", "error")
            return False
        self.window.apply_changes({"data.name": "points", "data.points": points[-MAX_POINTS:]})
        self.window.statusBar().showMessage(f"Imported {len(points)} points from {path}", 5000)
        return True

"""The main window: controls on the left, live views on the right, engine behind a link.

Data flow (DESIGN.md): a finished edit becomes ``Apply({key: value})`` sent to the engine
process; the engine answers ``Applied``/``Rejected`` with its effective config and every
control is redrawn from that (signals blocked), so the window always shows what the engine
really runs. The poll timer in ``EngineLink`` hands snapshots and metric rows to the views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.config import flatten
from engine.dataspecs import DATA_SPECS
from engine.metrics import COLUMNS
from engine.protocol import (
    Applied,
    Apply,
    Diverged,
    Failed,
    Pause,
    Play,
    Progress,
    Rejected,
    ResetDone,
    Saved,
    SetTensorBoard,
    Status,
    Step,
)

from . import dialogs
from . import help as help_text
from .appearance import appearance
from .autosave import SessionKeeper, header_step
from .controls import ControlPanel
from .dialogs import text_dialog
from .document import Document
from .engine_client import parse_connection
from .engine_link import EngineLink
from .fields import describe_changes
from .file_actions import MAX_POINTS, FileActions, user_preset_file
from .freeze import FreezeActions
from .insight import InsightPanel
from .lecture import LectureLayout
from .menus import build_menus
from .settings import app_settings
from .status_bar import StatusBar, StatusReadout
from .transport import Transport
from .views.curves import CurvesView
from .views.images import ImageView, image_view_request
from .views.markers import last_data_change
from .views.message_line import MessageLine
from .views.plane import PlaneView, heatmap_note, plane_view_request

# Measured with ``python -m gui.bench`` on a 2-core CPU: one intra-op thread for the worker
# leaves a core to the GUI thread (see the bench's report); None keeps torch's default.
DEFAULT_TORCH_THREADS: int | None = 1
DEFAULT_SIZE = (1400, 900)
SCREEN_MARGIN = (0, 40)  # room left for a window manager's title bar and a panel


def default_size() -> tuple[int, int]:
    """The first-run window size: ``DEFAULT_SIZE``, but never larger than the screen's free
    area (a 1280x720 projector must show the whole window, not a window cut at its right)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    room = screen.availableGeometry()
    return (min(DEFAULT_SIZE[0], room.width() - SCREEN_MARGIN[0]),
            min(DEFAULT_SIZE[1], room.height() - SCREEN_MARGIN[1]))
BATCH_NORMS = ("batch", "reference", "virtual")  # norms whose batch (in)dependence to show
INSIGHT_TIP = ("Divergences, D vs the optimal D*, gradient arrows, the generator loss, the 1-D "
               "picture, a timeline and side-by-side runs")
IMAGE_INSIGHT_TIP = ("Image data: the Timeline (scrub the image grid back through the run) and "
                     "Compare (run B's images beside A's). D*, divergences and arrows need "
                     "densities an image set does not have")


def _last_valid(rows: np.ndarray, column: str) -> float | None:
    """The latest non-NaN value of ``column`` in metric rows (``engine.metrics.COLUMNS``)."""
    col = np.asarray(rows, dtype=np.float64).reshape(-1, len(COLUMNS))[:, COLUMNS.index(column)]
    ok = np.flatnonzero(~np.isnan(col))
    return float(col[ok[-1]]) if len(ok) else None


class MainWindow(QMainWindow):
    """GAN Playground's window. ``link.state`` tells tests and scripts what the engine last
    reported (step, config, running)."""

    def __init__(self, config: dict[str, Any], preset_name: str | None = None, *,
                 settings: QSettings | None = None,
                 torch_threads: int | None = DEFAULT_TORCH_THREADS,
                 autoplay: bool = False, start: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else app_settings()
        self.tensorboard_folder: str | None = None
        self.document = Document(config, preset_name, self.settings,
                                 preset_file=user_preset_file(preset_name))
        self._fresh_points = False
        self._pending_running: bool | None = True if autoplay else None
        self._pause_message = ""  # an error saying training is paused, while it is shown
        self.setObjectName("main_window")
        self.resize(*default_size())

        ds = DATA_SPECS.get(config["data"]["name"])
        first_view = (image_view_request(config) if ds is not None and ds.is_image
                      else plane_view_request(config, True))
        self.link = EngineLink(config, view=first_view,
                               torch_threads=torch_threads, autoplay=autoplay, parent=self)
        self.transport = Transport(self)
        self.panel = ControlPanel(config)
        self.plane = PlaneView()
        self.images = ImageView()
        self.curves = CurvesView()
        self._live_frame: Any = None  # the newest engine frame (drawn unless scrubbing)
        self.insight = InsightPanel(self.link, config=config, torch_threads=torch_threads)
        self.message = MessageLine()
        self._build_layout()
        self._show_data_kind()
        self.setStatusBar(StatusBar(self))
        self.readout = StatusReadout(self.statusBar())
        self.progress = QProgressBar()
        self.progress.setObjectName("work_progress")
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p%")  # the words go beside the bar, never over it
        self.progress.hide()
        self.progress_label = QLabel()
        self.progress_label.setObjectName("work_progress_text")
        self.progress_label.hide()
        self.statusBar().addWidget(self.progress_label)
        self.statusBar().addWidget(self.progress)
        self.readout.show_setup(config)
        self.appearance = appearance()
        self.lecture = LectureLayout(self, self.toolbar)
        self.files = FileActions(self)
        self.labs: dict[str, QWidget] = {}  # open lab windows (Labs menu)
        self.document.changed.connect(self._update_title)
        self.keeper = SessionKeeper(self)  # unsaved training, autosave, crash restore
        self.freeze = FreezeActions(self)  # Training > Freeze G / Freeze D
        build_menus(self)
        self._connect()
        self.transport.show_running(autoplay)
        self._update_title()
        self.restore_settings()
        self.appearance.apply(self)  # the theme and zoom for the views just built
        if start:
            self.start()

    @property
    def config(self) -> dict[str, Any]:
        """The engine's effective settings (the document's)."""
        return self.document.config

    @property
    def preset_name(self) -> str | None:
        return self.document.preset_name

    def start(self) -> None:
        """Start the engine process; the window paints and answers meanwhile."""
        self.link.start()
        self.statusBar().showMessage("Starting the engine…", 30_000)

    # ------------------------------------------------------------------ building
    def _build_layout(self) -> None:
        toolbar = QToolBar("Training")
        self.toolbar = toolbar
        toolbar.setObjectName("transport_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.transport.fill_toolbar(toolbar)
        self.addToolBar(toolbar)

        self.scroll = QScrollArea()
        self.scroll.setObjectName("controls_scroll")
        self.scroll.setWidget(self.panel)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # as narrow as the controls can go (not their comfortable width): at 1280x720 the
        # plane and the plots need the room
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setMinimumWidth(self.panel.minimumSizeHint().width() + bar + 4)

        self.views_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.views_splitter.setObjectName("views_splitter")
        # the data view: the plane for points, image grids and D histograms for images
        self.data_view = QStackedWidget()
        self.data_view.setObjectName("data_view")
        self.data_view.addWidget(self.plane)
        self.data_view.addWidget(self.images)
        self.views_splitter.addWidget(self.data_view)
        self.right_tabs = QTabWidget()
        self.right_tabs.setObjectName("right_tabs")
        self.right_tabs.addTab(self.curves, "Curves")
        self.right_tabs.addTab(self.insight, "Insight")
        self.right_tabs.setTabToolTip(0, "Losses, D outputs and gradient norms over training")
        self.right_tabs.setTabToolTip(1, INSIGHT_TIP)
        self.right_tabs.currentChanged.connect(lambda _: self._update_view_request())
        self.views_splitter.addWidget(self.right_tabs)
        self.views_splitter.setStretchFactor(0, 1)
        self.views_splitter.setStretchFactor(1, 1)
        self.views_splitter.setChildrenCollapsible(False)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 6, 4)
        right_layout.setSpacing(4)
        right_layout.addWidget(self.message)
        right_layout.addWidget(self.views_splitter, 1)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("main_splitter")
        self.main_splitter.addWidget(self.scroll)
        self.main_splitter.addWidget(right)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_splitter)
        self._sized = False

    def _connect(self) -> None:
        self.panel.changes_requested.connect(self.apply_changes)
        self.transport.command_requested.connect(self._send_transport)
        self.plane.points_drawn.connect(self._on_points_drawn)
        self.plane.drawing_cleared.connect(self._on_drawing_cleared)
        self.plane.view_changed.connect(self._update_view_request)
        self.images.class_chosen.connect(lambda _: self._update_view_request())
        link = self.link
        link.applied.connect(self._on_applied)
        link.rejected.connect(self._on_rejected)
        link.diverged.connect(self._on_diverged)
        link.failed.connect(self._on_failed)
        link.reset_done.connect(self._on_reset_done)
        link.saved.connect(self._on_saved)
        link.status_changed.connect(self._on_status)
        link.metrics_received.connect(self._on_metrics)
        link.snapshot_ready.connect(self._on_snapshot)
        self.insight.frame_scrubbed.connect(self._on_scrubbed)  # the plane follows the Timeline
        self.insight.returned_to_live.connect(self._on_returned_to_live)
        link.progress_reported.connect(self._on_progress)
        link.engine_died.connect(self._on_engine_died)
        link.engine_started.connect(self._on_engine_started)
        link.attach_refused.connect(self._on_attach_refused)
        self.panel.path_needed.connect(self.choose_data_path)
        # curves throttle themselves, and live frames pace them (``CurvesView.frame_shown``);
        # later frames flush rows a throttled refresh held back
        link.snapshot_ready.connect(lambda _: self.curves.frame_shown())
        link.status_changed.connect(lambda _: self.curves.refresh_unpaced())
        link.swaps_changed.connect(self.curves.set_swaps)  # a marker per mid-run change
        link.swaps_changed.connect(self.insight.divergences.set_swaps)
        link.swaps_changed.connect(self._on_swaps)
        link.diverged.connect(lambda ev: self.curves.drop_after(ev.rolled_back_to))
        compare = self.insight.compare
        compare.rates_changed.connect(self.readout.show_rate_b)
        compare.ended.connect(self.readout.show_compare_note)  # "Compare ended: …"

    # ------------------------------------------------------------------ commands out
    def apply_changes(self, changes: dict[str, Any]) -> None:
        """Send a change set to the engine; the controls follow its answer."""
        if self.engine_stopped("The change"):
            # no answer will come: the controls go back to what the (stopped) run had
            self.panel.show_config(self.config, force_keys=flatten(changes).keys())
            self.freeze.show_config(self.config)
            return
        self.link.send(Apply(dict(changes)))
        self.statusBar().showMessage(f"Applying {describe_changes(changes)}…", 10_000)

    def engine_stopped(self, what: str = "That") -> bool:
        """True (and said) when the engine has ended and not been restarted: a command now
        would be lost, and Play would show a run that is not. ``what`` was asked for: the
        message line says it was not done, above the restart offer again (the status bar
        alone, beside the read-outs at 1280 px, showed "Not d…above")."""
        ended = self.link.exit
        if ended is None:
            return False
        self._offer_restart(ended, f"{what} was not done: there is no engine. ")
        self.statusBar().showMessage("Not done: the engine is not running; restart it from "
                                     "the message above", 8000)
        return True

    def _send_transport(self, command: Any) -> None:
        if self.engine_stopped(type(command).__name__):
            self.transport.show_running(False)
            return
        if isinstance(command, Play | Pause):
            self._pending_running = isinstance(command, Play)
        elif isinstance(command, Step):
            self._pending_running = False
        self.link.send(command)

    def _update_view_request(self) -> None:
        """Tell the engine what the data view needs now (the link adds what other views,
        such as the insight tabs, asked for themselves)."""
        if self.showing_images:
            self.link.set_view(image_view_request(self.config, self.images.chosen_class
                                                  if self.config["conditional"] else -1))
            return
        self.link.set_view(plane_view_request(self.config, self.plane.layer_visible("heatmap"),
                                              self.plane.heat_box(),
                                              self.plane.layer_visible("mates")))

    @property
    def showing_images(self) -> bool:
        """Whether the current data set is images (grids and histograms instead of a plane)."""
        ds = DATA_SPECS.get(self.config["data"]["name"])
        return bool(ds is not None and ds.is_image)

    def _show_data_kind(self) -> None:
        """Plane or image view; the insight tab and FID/IS plot follow the data's kind."""
        images = self.showing_images
        self.data_view.setCurrentWidget(self.images if images else self.plane)
        self.curves.set_quality_visible(images)
        index = self.right_tabs.indexOf(self.insight)
        # image data: the Timeline (it scrubs the image grid) and Compare (B's grid beside
        # A's) apply; the density views say why they are off (see InsightPanel)
        self.right_tabs.setTabToolTip(index, IMAGE_INSIGHT_TIP if images else INSIGHT_TIP)

    # ------------------------------------------------------------------ events in
    def _on_applied(self, ev: Applied) -> None:
        self.document.set_config(ev.config)
        if ev.config["generator"]["norm"] in BATCH_NORMS and (
                not ev.changes or "generator.norm" in ev.changes):
            # the batch-norm lesson needs the overlay: on when such a G arrives
            self.plane.layer_boxes["mates"].setChecked(True)
        self._show_data_kind()
        self.plane.set_title_note(heatmap_note(ev.config))
        self.panel.show_config(ev.config)
        self.freeze.show_config(ev.config)
        self.readout.show_setup(ev.config)
        self._update_view_request()
        if any(k.startswith("data.") for k in ev.changes):
            self.readout.show_modes(None, None, None)  # the old data's modes or FID
        if ev.changes:
            self.statusBar().showMessage(f"Applied {describe_changes(ev.changes)}", 4000)
            if self.message.level == "warning":
                self.message.dismiss()

    def _on_rejected(self, ev: Rejected) -> None:
        self.document.set_config(ev.config)
        self.panel.show_config(ev.config, force_keys=flatten(ev.changes).keys())
        self.freeze.show_config(ev.config)
        text, level = self.files.explain_rejection(ev)  # a failed file load says so
        self.message.show_message(text, level)
        self.statusBar().showMessage(text, 8000)

    def _on_diverged(self, ev: Diverged) -> None:
        self._show_paused()
        msg = ev.message[:1].upper() + ev.message[1:]
        self.message.show_message(f"{msg}. Training is paused at the last good state.", "error")
        self._pause_message = self.message.text()
        self.statusBar().showMessage(f"Diverged at step {ev.step}", 8000)

    def _on_failed(self, ev: Failed) -> None:
        if self.files.handle_failed_save(ev):
            return  # a failed save or export: shown, and training was not paused
        if ev.message.startswith("could not draw a frame"):
            self.message.show_message(f"The views could not be updated: {ev.message}",
                                      "warning", details=ev.details)
            return  # training goes on
        self._show_paused()
        self.message.show_message(f"Training paused after an error: {ev.message}", "error",
                                  details=ev.details)
        self._pause_message = self.message.text()
        self.statusBar().showMessage("Training paused after an error", 8000)

    def _on_engine_started(self) -> None:
        self.panel.set_devices(self.link.state.devices)  # offer only what the engine has
        if self.statusBar().currentMessage().startswith("Starting the engine"):
            self.statusBar().showMessage("Engine ready", 3000)

    def _on_engine_died(self, ended: Any) -> None:
        """The engine process ended on its own: say how, keep what the views show, offer
        a restart (from the last autosave when there is one)."""
        self._show_paused()
        self.readout.show_stopped()
        self._offer_restart(ended)
        self.statusBar().showMessage("The engine stopped", 8000)

    def _offer_restart(self, ended: Any, lead: str = "") -> None:
        """The message line: how the engine ended (after ``lead``), with the restart offer
        (from the autosave when there is one, at its step now)."""
        actions = []
        path = self.keeper.autosave_path
        if path is not None and path.is_file():
            step = header_step(path)
            label = f"Restart from the autosave (step {step:,})" if step is not None \
                else "Restart from the autosave"
            actions.append((label, lambda: self.restart_engine(from_autosave=True)))
        actions.append(("Restart fresh", lambda: self.restart_engine(from_autosave=False)))
        self.message.show_message(
            f"{lead}The engine stopped: {ended.describe()}. The plots keep what they showed; "
            "restart it to train again.", "error", details=ended.log_tail, actions=actions)

    def restart_engine(self, from_autosave: bool = False) -> None:
        """A fresh engine process on the current settings, then (``from_autosave``) the
        last autosaved session loaded into it."""
        self._pending_running = None  # the new engine's own status says whether it runs
        path = self.keeper.autosave_path
        from_autosave = from_autosave and path is not None and path.is_file()
        self.link.restart(self.config)
        kept = self.keeper.engine_restarted(from_autosave)
        self.statusBar().showMessage("Starting the engine…", 30_000)
        if from_autosave:
            self.files.open_session(str(path), what="autosaved session")
        elif kept:
            self.message.show_message(f"Started afresh. The stopped run's autosave is kept as "
                                      f"{kept} (File › Open session…)", "info")

    def toggle_tensorboard(self, folder: str | None = None) -> None:
        """File > Log to TensorBoard…: start (asking for a folder) or stop the log."""
        action = getattr(self, "tensorboard_action", None)
        if self.tensorboard_folder is not None:
            self.tensorboard_folder = None
            self.link.send(SetTensorBoard(None))
            self.statusBar().showMessage("TensorBoard log stopped", 4000)
        else:
            start = str(self.settings.value("tensorboard/folder", "") or "")
            folder = folder or QFileDialog.getExistingDirectory(
                self, "Write TensorBoard event files into a folder", start)
            if folder:
                self.settings.setValue("tensorboard/folder", folder)
                self.tensorboard_folder = folder
                self.link.send(SetTensorBoard(folder))
        if action is not None:
            action.setChecked(self.tensorboard_folder is not None)

    # ------------------------------------------------------------------ remote engines
    def attach_engine(self, text: str | None = None) -> bool:
        """File > Attach to engine…: steer a ``main.py serve`` engine (maybe through an ssh
        tunnel) instead of this window's own. True when the attach was sent."""
        if text is None:
            text, ok = QInputDialog.getText(
                self, "Attach to engine",
                "Paste what “python main.py serve” printed (gan+tcp://HOST:PORT?key=…),\n"
                "or the path of the connection file it wrote:")
            if not ok or not text.strip():
                return False
        try:
            address, key = parse_connection(text)
        except ValueError as e:
            self.message.show_message(f"Could not attach: {e}", "error")
            return False
        steps = self.keeper.unsaved_steps
        if self.link.remote is None and steps > 0 and not dialogs.ask_leave_engine(self, steps):
            return False
        self.link.attach(address, key)
        self.keeper.rebase(0)
        self._update_title()
        self.statusBar().showMessage(f"Attaching to the engine at {address}…", 10_000)
        return True

    def detach_engine(self) -> None:
        """Leave the remote engine training on its own; this window starts its own again."""
        if self.link.remote is None:
            self.statusBar().showMessage("Not attached to a remote engine", 4000)
            return
        address = self.link.remote
        self.link.detach()
        self.keeper.rebase(0)  # the steps trained there stay there: this window's own is new
        self._update_title()
        self.message.show_message(f"Detached: the engine at {address} trains on; this "
                                  "window has its own engine again", "info")

    def _on_attach_refused(self, why: str) -> None:
        address = self.link.remote
        self.link.restart(self.config)  # a window is never left without an engine
        self._update_title()
        self.message.show_message(f"The engine at {address} refused this window: {why}. "
                                  "This window has its own engine again.", "error")

    def toggle_full_screen(self) -> None:
        """F11: the whole screen for the window, and back."""
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        action = getattr(self, "full_screen_action", None)
        if action is not None:
            action.setChecked(self.isFullScreen())

    def _show_paused(self) -> None:
        self._pending_running = None
        self.transport.show_running(False)

    def _on_reset_done(self, ev: ResetDone) -> None:
        self.curves.clear()
        self.readout.show_modes(None, None, None)
        self.plane.reset_points_cache()
        self.images.reset_cache()

    def _on_snapshot(self, snap: Any) -> None:
        self._live_frame = snap
        if self.insight.scrubbing:
            return  # the Timeline shows a recorded frame; live ones wait until it returns
        self._draw_frame(snap)

    def _draw_frame(self, snap: Any) -> None:
        if snap.images_fake is not None:
            self.images.show_snapshot(snap)
        elif snap.dim:
            self.plane.show_snapshot(snap)

    def _on_scrubbed(self, snap: Any) -> None:
        """The Timeline went back in time: the data plane (or the image grids) shows the same
        recorded frame as the Insight tab, and says so, so that nothing on screen mixes two
        moments of the run."""
        self._draw_frame(snap)
        self.statusBar().showMessage(
            f"Timeline: the data view shows step {snap.step:,}, not the live run "
            "(Live on the Timeline returns)")

    def _on_returned_to_live(self) -> None:
        self.statusBar().clearMessage()
        if self._live_frame is not None:
            self._draw_frame(self._live_frame)

    def _on_progress(self, ev: Progress) -> None:
        """Slow one-off work in the engine (reading an image folder, training the quality
        classifier): a bar in the status bar while it lasts."""
        if ev.fraction >= 1.0:
            self.progress.hide()
            self.progress_label.hide()
            self.statusBar().showMessage(f"{ev.text.split(' (')[0]}: done", 4000)
            return
        self.progress.setValue(int(100 * ev.fraction))
        self.progress_label.setText(ev.text)
        self.progress.setToolTip(ev.text)
        self.progress_label.show()
        self.progress.show()

    def _on_saved(self, ev: Saved) -> None:
        if ev.what == "tensorboard":
            where = f" on the engine's machine ({self.link.remote})" if self.link.remote else ""
            self.message.show_message(f"Writing TensorBoard event files to {ev.path}{where}; "
                                      f"watch with: tensorboard --logdir "
                                      f"{self.tensorboard_folder}", "info")
            return
        if self.keeper.is_autosave(ev.path):
            self.statusBar().showMessage("Autosaved the session (for crash recovery)", 4000)
            return
        self.message.show_message(f"Saved the {ev.what} to {ev.path}", "info")
        self.statusBar().showMessage(f"Saved {ev.what}: {ev.path}", 5000)

    def _on_status(self, ev: Status) -> None:
        self.readout.show_status(ev)
        if self._pending_running is not None:
            if ev.running != self._pending_running:
                return  # an older status, from before the user's play/pause reached the engine
            self._pending_running = None
        self.transport.show_running(ev.running)
        if ev.running and self._pause_message:
            # "Training is paused ..." is no longer true once it trains again
            if self.message.text() == self._pause_message:
                self.message.dismiss()
            self._pause_message = ""

    def _on_metrics(self, rows: Any) -> None:
        self.curves.add_rows(rows)
        self.curves.refresh_unpaced()
        # the read-out shows what these rows measured (the link delivers rows in order with
        # the events, so rows after a data swap's Applied are the new set's)
        self._show_measures(rows)

    def _show_measures(self, rows: Any, whole: bool = False) -> None:
        """Modes (or FID/IS) in the status bar from ``rows``; ``whole``: ``rows`` is the
        whole history, so nothing found means nothing to show."""
        captured = _last_valid(rows, "modes")
        if self.showing_images:
            fid = _last_valid(rows, "fid")
            if fid is not None:
                self.readout.show_quality(fid, _last_valid(rows, "inception_score"), captured)
            elif whole:
                self.readout.show_quality(None, None, None)
            return
        data = self.config["data"]
        ds = DATA_SPECS.get(data["name"])
        modes = ds.modes(data) if ds is not None else None
        if captured is not None and modes is not None:
            self.readout.show_modes(captured, len(modes.centers),
                                    _last_valid(rows, "high_quality"))
        elif whole or modes is None:
            self.readout.show_modes(None, None, None)

    def _on_swaps(self, entries: Any) -> None:
        """A swap log that crosses a change of data set (a loaded session's replay: its
        rows came before its log): the read-out shows only what was measured since."""
        step = last_data_change(entries)
        if step is None:
            return
        rows = self.curves.series.rows()
        # a change applied at a step comes after that step's row: the row is the old set's
        self._show_measures(rows[rows[:, 0] > step], whole=True)

    # ------------------------------------------------------------------ drawing / files
    def _on_points_drawn(self, stroke: list[list[float]]) -> None:
        data = self.config["data"]
        base = [] if self._fresh_points or data["name"] != "points" else list(data["points"])
        self._fresh_points = False
        points = (base + stroke)[-MAX_POINTS:]
        self.apply_changes({"data.name": "points", "data.points": points})

    def _on_drawing_cleared(self) -> None:
        self._fresh_points = True
        self.statusBar().showMessage("Drawn points cleared: your next stroke starts a new set",
                                     5000)

    def choose_data_path(self, data_name: str, key: str = "data.path") -> bool:
        """Ask for the files a data set reads (MNIST's IDX files or .npz, a folder of
        images), remembered per set, then apply the set with them. False on cancel."""
        ds = DATA_SPECS[data_name]
        remembered = str(self.settings.value(f"data_paths/{data_name}", "") or "")
        current = self.config["data"].get("path", "") if self.config["data"]["name"] == data_name else ""
        start = current or remembered
        if data_name == "folder":
            path = QFileDialog.getExistingDirectory(
                self, "Choose a folder of images (one subfolder per class gives labels)", start)
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, f"Choose {ds.title.split(' (')[0]}: train-images-idx3-ubyte.gz "
                      "(its labels file beside it) or a .npz", start,
                "MNIST-style files (*.gz *-ubyte *.idx3-ubyte *.npz);;All files (*)")
        if not path:
            self.panel.show_config(self.config)  # the combo goes back to the running set
            return False
        self.settings.setValue(f"data_paths/{data_name}", path)
        changes: dict[str, Any] = {"data.path": path}
        if self.config["data"]["name"] != data_name:
            changes = {"data.name": data_name, **changes}
        self.apply_changes(changes)
        return True

    # ------------------------------------------------------------------ labs
    def open_games_lab(self, preset: str | None = None) -> QWidget:
        """Labs > Games lab…: the lab's window (one; raised if open), with ``preset`` loaded
        (a name from presets/games) when given. Imported here: the labs load on demand."""
        from .labs import open_games_lab

        lab = self.labs.get("games")
        if lab is None:
            lab = open_games_lab(self)
            lab.destroyed.connect(lambda _=None: self.labs.pop("games", None))
            self.labs["games"] = lab
        else:
            lab.showNormal()
            lab.raise_()
            lab.activateWindow()
        if preset:
            lab.load_preset(preset)
        return lab

    def open_divergence_lab(self) -> QWidget:
        """Labs > Divergences lab…: the lab's window (one; raised if open)."""
        from .labs import open_divergence_lab

        lab = self.labs.get("divergences")
        if lab is None:
            lab = open_divergence_lab(self)
            lab.destroyed.connect(lambda _=None: self.labs.pop("divergences", None))
            self.labs["divergences"] = lab
        else:
            lab.showNormal()
            lab.raise_()
            lab.activateWindow()
        return lab

    # ------------------------------------------------------------------ help
    def show_shortcuts(self) -> QDialog:
        """The table, in a scrolling dialog (it outgrew a message box's height)."""
        dialog = text_dialog(self, "Keyboard shortcuts", help_text.shortcuts_html(self))
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, "About GAN Playground", help_text.ABOUT)

    # ------------------------------------------------------------------ window state
    def _update_title(self) -> None:
        where = f" — attached to {self.link.remote.removeprefix('tcp://')}" \
            if self.link.remote else ""
        # ends with the app's name: Qt appends the display name to a title that does not
        self.setWindowTitle(f"{self.document.name}[*]{where} — GAN Playground")
        self.setWindowModified(self.document.modified)

    def restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        for key, splitter in (("splitters/main", self.main_splitter),
                              ("splitters/views", self.views_splitter),
                              ("splitters/curves", self.curves.splitter)):
            state = s.value(key)
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("splitters/main", self.main_splitter.saveState())
        s.setValue("splitters/views", self.views_splitter.saveState())
        s.setValue("splitters/curves", self.curves.splitter.saveState())
        if self.preset_name:
            s.setValue("preset/last", self.preset_name)
        s.sync()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        """First show without remembered splitters: plane and curves share the width."""
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            if not self.settings.contains("splitters/views"):
                # proportions: the splitter scales them to its width once laid out
                self.views_splitter.setSizes([500, 500])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Ask first when training is unsaved (armed windows); stop the frame timer and the
        worker (joined, 2 s at most), remove the crash marker, then close."""
        if not self.keeper.may_close():
            event.ignore()
            return
        self.save_settings()
        self.message.stop()
        self.insight.shutdown()
        self.link.stop(timeout=0.8)
        self.keeper.disarm()
        super().closeEvent(event)

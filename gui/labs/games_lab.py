"""The Games lab (issue #13): two-parameter games that show why GAN training cycles, spirals
out or converges, played live (GAN_REFERENCE.md "Games and the regularizers…", seed 004).

Three views of one run: the players' plane with the vector field and the trajectory (click
to restart from a point), the distance to the equilibrium on a log axis beside its closed
form, and the eigenvalues of the update's Jacobian at the equilibrium against the unit circle
(or, for the flow, the imaginary axis). A second run B, the same settings with one change,
draws in its own colour on the same plane and distance plot.

Everything is computed by ``engine.games`` in this process (numpy only, no torch).
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.games import (
    LOSSES,
    NOISE_MODES,
    OPTIMIZERS,
    REGULARIZERS,
    UPDATES,
    GamePlayer,
    GameSettings,
    SettingError,
    builtin_game_presets,
    jacobian_eigenvalues,
    load_game_preset,
    predicted_eigenvalues,
    vector_field,
)

from .. import theme
from ..views.axes import LogAxis
from .common import (
    DEFAULT_SPEED,
    GAMES_TRANSPORT,
    SPEEDS,
    KeyRouter,
    LabLook,
    adopt_appearance,
    caption,
    fit_side,
    make_actions,
    message_label,
    open_window,
    palette,
    plot_widget,
    restyle_message,
    run_colour,
    set_pen,
    show_message,
    speed_text,
    style_plot,
    with_alpha,
)
from .games_controls import START_LIMIT, GameControls
from .games_model import Run, describe, round_up, stability
from .quiver import Quiver

TICK_MS = 33  # the play timer: ~30 frames per second
FULL_SPEED_BUDGET_S = 0.012  # time per frame spent stepping at full speed
PLAY_LIMIT = 200_000  # steps: a longer run pauses (memory and drawing stay bounded)
MIN_STEPS_SHOWN = 10  # the distance plot's step axis shows at least 0..10
FOLLOW_LIMIT = 1e6  # the plane follows a run out to this far, not to where it diverges
GRID = 19  # arrows along the longer side of the plane

# What run B can differ in: (setting, menu title, values)
COMPARE_CHOICES: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
    ("update", "Update rule", tuple(UPDATES)),
    ("reg", "Regularizer", tuple(REGULARIZERS)),
    ("optim", "Optimizer", tuple(OPTIMIZERS)),
    ("loss", "Loss (Dirac-GAN)", tuple(LOSSES)),
    ("noise_mode", "Noise mode", tuple(NOISE_MODES)),
    ("d_steps", "D steps k (alternating)", (1, 2, 5)),
    ("lr", "Learning rate", (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)),
    ("gamma", "γ / λ (r1, r2, gp)", (0.1, 0.3, 1.0, 3.0)),
)


class DistanceAxis(LogAxis):
    """The project's log axis: a run that stays between 1.2 and 2.8 (no 1, 2, 5 · 10ⁿ pair
    in view) still gets round, evenly spaced numbers (``gui.views.axes.LogAxis``)."""


class GamesLab(QWidget):
    """The games lab: put it in a tab, or open it as a window with ``open_games_lab``."""

    def __init__(self, parent: QWidget | None = None,
                 settings: GameSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("games_lab")
        self.run_a = Run(settings if settings is not None else GameSettings())
        self.run_b: Run | None = None
        self.compare: tuple[str, Any] | None = None
        self.playing = False
        self.speed_index = DEFAULT_SPEED
        self.stop_at: int | None = None
        self.description = ""
        self._carry = 0.0
        self._last_tick = 0.0
        self._eigen_cache: dict[GameSettings, tuple[np.ndarray | None, str]] = {}

        self.actions = make_actions(self, GAMES_TRANSPORT)
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._field_timer = QTimer(self)
        self._field_timer.setSingleShot(True)
        self._field_timer.setInterval(0)
        self._field_timer.timeout.connect(self.draw_field)
        vb = self.plane.getPlotItem().vb
        vb.sigRangeChanged.connect(lambda *_: self._field_timer.start())
        vb.sigResized.connect(lambda *_: self._field_timer.start())

        self.actions["play"].toggled.connect(self._on_play_toggled)
        self.actions["step"].triggered.connect(self.step_once)
        self.actions["reset"].triggered.connect(self.reset)
        self.actions["slower"].triggered.connect(lambda: self.nudge_speed(-1))
        self.actions["faster"].triggered.connect(lambda: self.nudge_speed(+1))

        self.keys = KeyRouter(self, self.actions)
        self.look = LabLook(self)
        self.look.changed.connect(self._restyle)
        adopt_appearance(self)
        self._restyle()
        self._settings_changed()
        self.fit_view()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 6)
        outer.setSpacing(4)
        outer.addWidget(self._build_toolbar())
        self.message = message_label("games_message")
        outer.addWidget(self.message)

        self.controls = GameControls()
        self.controls.change_requested.connect(self.request_change)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.controls)
        self.preset_caption = caption(name="games_preset_description")
        side_layout.addWidget(self.preset_caption)
        side_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("games_controls_scroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side, self.side_scroll = side, scroll
        fit_side(side, scroll)

        self.plane = plot_widget("games_plane")
        plane_box = QWidget()
        plane_layout = QVBoxLayout(plane_box)
        plane_layout.setContentsMargins(0, 0, 0, 0)
        plane_layout.setSpacing(2)
        plane_layout.addWidget(self.plane, 1)
        self.plane_caption = caption(name="games_plane_caption")
        plane_layout.addWidget(self.plane_caption)
        self._build_plane()

        self.distance = plot_widget("games_distance", axisItems={"left": DistanceAxis("left")})
        self.eigen = plot_widget("games_eigen")
        self.distance_caption = caption(name="games_distance_caption")
        self.eigen_caption = caption(name="games_eigen_caption")
        self.eigen_readout = QLabel()
        self.eigen_readout.setObjectName("games_eigen_readout")
        self.eigen_readout.setWordWrap(True)
        self.eigen_zoom = QToolButton()
        self.eigen_zoom.setObjectName("games_eigen_zoom")
        self.eigen_zoom.setText("Zoom to λ")
        self.eigen_zoom.setCheckable(True)
        self.eigen_zoom.setToolTip("Close in on the eigenvalues, to see which side of the "
                                   "circle (or axis) they are on; again for the whole circle")
        self.eigen_zoom.toggled.connect(lambda _on: self._draw_eigen())
        readout_row = QWidget()
        row = QHBoxLayout(readout_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.eigen_readout, 1)
        row.addWidget(self.eigen_zoom, 0, Qt.AlignmentFlag.AlignTop)
        self._build_distance()
        self._build_eigen()
        self.distance_caption.setToolTip(
            "The closed forms (SGD only): quadratic game (1 − η)ⁿ·‖(x₀, y₀)‖ (simultaneous; "
            "alternating with (1 − η_D)^{kn} for y; extragradient (1 − η + η²)ⁿ; the flow "
            "e^{−nη}); bilinear game with equal learning rates √(1 + η²)ⁿ (simultaneous), "
            "√(1 − η² + η⁴)ⁿ (extragradient), constant (the flow). After a setting changes, "
            "the closed form restarts from that step and point.")
        self.eigen_caption.setToolTip(
            "The Jacobian of one step of the update rule at the equilibrium (0, 0), over the "
            "rule's whole state (with momentum or optimistic steps it is 4×4). A discrete "
            "rule converges near (0, 0) when every |λ| < 1; the flow when every Re λ < 0. "
            "Closed forms: the flow's eigenvalues (Mescheder et al. 2018) and 1 + ηλ for "
            "simultaneous SGD.")
        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("games_right_split")
        right.setChildrenCollapsible(False)
        for plot, notes in ((self.distance, (self.distance_caption,)),
                            (self.eigen, (readout_row, self.eigen_caption))):
            pane = QWidget()
            pane_layout = QVBoxLayout(pane)
            pane_layout.setContentsMargins(0, 0, 0, 0)
            pane_layout.setSpacing(2)
            pane_layout.addWidget(plot, 1)
            for note in notes:
                pane_layout.addWidget(note)
            right.addWidget(pane)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("games_split")
        split.addWidget(scroll)
        split.addWidget(plane_box)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([scroll.minimumWidth(), 560, 420])
        outer.addWidget(split, 1)

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setObjectName("games_toolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for name in ("play", "step", "reset"):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        bar.addWidget(QLabel(" Speed "))
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setObjectName("games_speed")
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(self.speed_index)
        self.speed_slider.setPageStep(1)
        self.speed_slider.setFixedWidth(100)
        self.speed_slider.setToolTip("Steps per second ([ and ] change it)")
        self.speed_slider.valueChanged.connect(self._on_speed)
        bar.addWidget(self.speed_slider)
        self.speed_label = QLabel(speed_text(SPEEDS[self.speed_index]))
        self.speed_label.setMinimumWidth(
            self.speed_label.fontMetrics().horizontalAdvance("2000 steps/s  "))
        bar.addWidget(self.speed_label)
        bar.addSeparator()
        bar.addWidget(QLabel(" Preset "))
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("games_preset")
        self.preset_combo.addItem("choose…", "")
        for name in builtin_game_presets():
            try:
                preset = load_game_preset(name)
            except ValueError:
                continue
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1,
                                          preset.description, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(14)
        self.preset_combo.setToolTip("A ready-made experiment; its description appears under "
                                     "the controls")
        self.preset_combo.activated.connect(
            lambda i: self.load_preset(self.preset_combo.itemData(i)))
        bar.addWidget(self.preset_combo)
        bar.addSeparator()
        self.compare_button = QToolButton()
        self.compare_button.setObjectName("games_compare")
        self.compare_button.setText("Compare with…")
        self.compare_button.setToolTip("Run B: the same settings with one change, drawn in a "
                                       "second colour on the same plane and distance plot")
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.compare_menu = QMenu(self.compare_button)
        self.compare_menu.aboutToShow.connect(self._fill_compare_menu)
        self.compare_button.setMenu(self.compare_menu)
        bar.addWidget(self.compare_button)
        self.steps_label = QLabel()
        self.steps_label.setObjectName("games_steps")
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addWidget(self.steps_label)
        return bar

    def _build_plane(self) -> None:
        item = self.plane.getPlotItem()
        style_plot(item, "The players' plane", x_label="x = θ (G minimises)",
                   y_label="y = ψ (D maximises)")
        item.setAspectLocked(True)
        item.setMenuEnabled(False)
        self.quiver = Quiver(item, theme.PLOT_TEXT)
        self.equilibrium = pg.PlotDataItem([0.0], [0.0], pen=None, symbol="+", symbolSize=16)
        self.equilibrium.setZValue(5)
        item.addItem(self.equilibrium)
        self.legend = item.addLegend(offset=(8, 8), labelTextSize="8pt",
                                     brush=pg.mkBrush(with_alpha(theme.PLOT_BACKGROUND, 235)))
        self.legend.setZValue(30)
        self.traj: dict[str, pg.PlotDataItem] = {}
        self.head: dict[str, pg.PlotDataItem] = {}
        self.start_mark: dict[str, pg.PlotDataItem] = {}
        for run in ("A", "B"):
            self.traj[run] = pg.PlotDataItem([], [], name=f"run {run}")
            self.traj[run].setZValue(10 if run == "A" else 9)
            self.start_mark[run] = pg.PlotDataItem([], [], pen=None, symbol="o",
                                                   symbolSize=9)
            self.head[run] = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=8)
            self.head[run].setZValue(12)
            for it in (self.traj[run], self.start_mark[run], self.head[run]):
                item.addItem(it)
        self.plane.scene().sigMouseClicked.connect(self._on_plane_clicked)

    def _build_distance(self) -> None:
        item = self.distance.getPlotItem()
        style_plot(item, "Distance to the equilibrium", x_label="step",
                   y_label="‖(x, y)‖")
        item.setLogMode(y=True)
        item.setMenuEnabled(False)
        self.dist: dict[str, pg.PlotDataItem] = {}
        self.pred: dict[str, pg.PlotDataItem] = {}
        for run in ("A", "B"):
            self.pred[run] = pg.PlotDataItem([], [])
            self.dist[run] = pg.PlotDataItem([], [])
            for it in (self.pred[run], self.dist[run]):
                it.setDownsampling(auto=True, method="peak")
                it.setClipToView(True)
                item.addItem(it)

    def _build_eigen(self) -> None:
        item = self.eigen.getPlotItem()
        style_plot(item, "Jacobian eigenvalues at (0, 0)", x_label="Re λ",
                   y_label="Im λ")
        item.setAspectLocked(True)
        item.setMenuEnabled(False)
        t = np.linspace(0.0, 2.0 * math.pi, 241)
        self.unit_circle = pg.PlotDataItem(np.cos(t), np.sin(t))
        self.imag_axis = pg.PlotDataItem([0.0, 0.0], [-1.0, 1.0])
        self.real_axis = pg.PlotDataItem([-1.0, 1.0], [0.0, 0.0])
        for it in (self.real_axis, self.unit_circle, self.imag_axis):
            item.addItem(it)
        self.eig_pred = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=15,
                                        name="closed form")
        item.addItem(self.eig_pred)
        self.eig: dict[str, pg.PlotDataItem] = {}
        for run, symbol in (("A", "o"), ("B", "t")):
            self.eig[run] = pg.PlotDataItem([], [], pen=None, symbol=symbol, symbolSize=9,
                                            name=f"run {run}")
            self.eig[run].setZValue(5)
            item.addItem(self.eig[run])

    # ------------------------------------------------------------------ look
    def _restyle(self) -> None:
        """Colours the theme walk does not know about, for the current theme."""
        pal = palette()
        self.quiver.set_colour(pal.plot_text)
        self.equilibrium.setSymbolPen(pg.mkPen(pal.plot_text, width=2))
        set_pen(self.unit_circle, pal.axis, 1.5)
        set_pen(self.imag_axis, pal.axis, 1.5)
        set_pen(self.real_axis, with_alpha(pal.axis, 110), 1.0)
        self.eig_pred.setSymbolPen(pg.mkPen(pal.plot_text, width=1.5))
        self.eig_pred.setSymbolBrush(None)
        for run in ("A", "B"):
            c = run_colour(run)
            set_pen(self.traj[run], c, 1.5)
            set_pen(self.dist[run], c, 1.5)
            set_pen(self.pred[run], with_alpha(c, 90), 6.0)
            for it in (self.head[run], self.eig[run]):
                it.setSymbolBrush(pg.mkBrush(c))
                it.setSymbolPen(pg.mkPen(pal.plot_background, width=1))
            self.start_mark[run].setSymbolBrush(None)
            self.start_mark[run].setSymbolPen(pg.mkPen(c, width=2))
        restyle_message(self.message)
        fit_side(self.side, self.side_scroll)
        self._draw_eigen()

    # ------------------------------------------------------------------ settings
    @property
    def player(self) -> GamePlayer:
        return self.run_a.player

    @property
    def player_b(self) -> GamePlayer | None:
        return None if self.run_b is None else self.run_b.player

    def request_change(self, changes: dict[str, Any]) -> bool:
        """Apply ``changes`` to run A (and B, except B's own difference) at once, or refuse
        them with the engine's message; the controls then show what the runs have."""
        ok = self._apply(changes)
        self.controls.show_settings(self.run_a.settings)
        return ok

    def _apply(self, changes: dict[str, Any]) -> bool:
        try:
            self.run_a.settings.with_changes(**changes)
        except SettingError as e:
            self.show_message(f"Refused: {e}", "error")
            return False
        b_changes = {k: v for k, v in changes.items()
                     if self.compare is None or k != self.compare[0]}
        if self.run_b is not None and b_changes:
            try:
                self.run_b.settings.with_changes(**b_changes)
            except SettingError as e:
                self.show_message(f"Refused for run B ({describe(*self.compare)}): {e}",
                                  "error")
                return False
        restart = "start" in changes
        self.run_a.set(**changes)
        if self.run_b is not None and b_changes:
            self.run_b.set(**b_changes)
        self.hide_message()
        if restart:
            self.reset()
        self._settings_changed()
        return True

    def _settings_changed(self) -> None:
        self.controls.show_settings(self.run_a.settings)
        self._relabel()
        self.draw_field()
        self.redraw()
        self._draw_eigen()

    def load_preset(self, name: str) -> None:
        if not name:
            return
        try:
            preset = load_game_preset(name)
        except ValueError as e:
            self.show_message(str(e), "error")
            return
        self.pause()
        self.run_a = Run(preset.settings)
        self.description = preset.description
        self.preset_caption.setText(
            f"<b>{html.escape(preset.name)}</b>: {html.escape(preset.description)}")
        self.stop_at = preset.steps
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(name)))
        self.hide_message()
        if self.compare is not None and not self.set_compare(*self.compare):
            self.set_compare(None)
        self._settings_changed()
        self.reset()
        self.fit_view()

    # ------------------------------------------------------------------ compare
    def _fill_compare_menu(self) -> None:
        menu = self.compare_menu
        menu.clear()
        current = self.run_a.settings
        for key, title, values in COMPARE_CHOICES:
            sub = menu.addMenu(title)
            for value in values:
                text = f"{value:g}" if isinstance(value, float) else str(value)
                same = getattr(current, key) == value
                action = QAction(text + ("   (= A)" if same else ""), sub)
                action.setCheckable(True)
                action.setChecked(self.compare == (key, value))
                action.triggered.connect(lambda _=False, k=key, v=value: self.set_compare(k, v))
                sub.addAction(action)
        menu.addSeparator()
        stop = menu.addAction("Stop comparing")
        stop.setEnabled(self.compare is not None)
        stop.triggered.connect(lambda: self.set_compare(None))

    def set_compare(self, key: str | None, value: Any = None) -> bool:
        """Run B = run A's settings with ``key`` set to ``value`` (None: no run B). Both
        runs restart from the start point."""
        if key is None:
            self.compare = None
            self.run_b = None
            self.compare_button.setText("Compare with…")
        else:
            try:
                b = self.run_a.settings.with_changes(**{key: value})
            except SettingError as e:
                self.show_message(f"Run B refused: {e}", "error")
                return False
            self.compare = (key, value)
            self.run_b = Run(b)
            self.compare_button.setText(f"B: {describe(key, value)}")
            self.hide_message()
            self.run_a.reset()
        self._relabel()
        self.redraw()
        self._draw_eigen()
        return True

    def _relabel(self) -> None:
        self.legend.clear()
        self.legend.setVisible(self.run_b is not None)
        if self.run_b is not None and self.compare is not None:
            key = self.compare[0]
            self.legend.addItem(self.traj["A"],
                                f"A: {describe(key, getattr(self.run_a.settings, key))}")
            self.legend.addItem(self.traj["B"], f"B: {describe(*self.compare)}")

    # ------------------------------------------------------------------ transport
    def _on_play_toggled(self, on: bool) -> None:
        if on:
            self.play()
        else:
            self.pause()

    def play(self) -> None:
        if self.run_a.stopped:
            self._show_stopped()
            self._show_playing(False)
            return
        self.playing = True
        self._carry = 0.0
        self._last_tick = time.perf_counter()
        self.timer.start()
        self._show_playing(True)

    def pause(self) -> None:
        self.playing = False
        self.timer.stop()
        self._show_playing(False)

    def _show_playing(self, on: bool) -> None:
        play = self.actions["play"]
        with QSignalBlocker(play):
            play.setChecked(on)
        play.setText("Pause" if on else "Play")
        play.setIcon(self.style().standardIcon(
            self.style().StandardPixmap.SP_MediaPause if on
            else self.style().StandardPixmap.SP_MediaPlay))

    def step_once(self) -> None:
        self.pause()
        self.advance(1)

    def reset(self) -> None:
        self.run_a.reset()
        if self.run_b is not None:
            self.run_b.reset()
        if self.message.property("level") == "error" and "stopped" in self.message.text():
            self.hide_message()
        self.redraw()

    def restart_from(self, x: float, y: float) -> bool:
        """A new start point for both runs, which restart from it (within the start boxes'
        range, ±``START_LIMIT``)."""
        cx, cy = (float(np.clip(v, -START_LIMIT, START_LIMIT)) for v in (x, y))
        ok = self.request_change({"start": (cx, cy)})
        if ok and (cx, cy) != (x, y):
            self.show_message(f"The start point is kept within ±{START_LIMIT:g}: "
                              f"({cx:g}, {cy:g}).", "info")
        return ok

    def nudge_speed(self, delta: int) -> None:
        self.speed_slider.setValue(max(0, min(len(SPEEDS) - 1, self.speed_index + delta)))

    def _on_speed(self, index: int) -> None:
        self.speed_index = index
        self.speed_label.setText(speed_text(SPEEDS[index]))

    def _tick(self) -> None:
        now = time.perf_counter()
        dt, self._last_tick = now - self._last_tick, now
        speed = SPEEDS[self.speed_index]
        if speed is None:
            n = self._steps_within(FULL_SPEED_BUDGET_S)
        else:
            self._carry += speed * min(dt, 0.25)
            n = int(self._carry)
            self._carry -= n
            self.advance(n)
        if n or self.run_a.stopped:
            self._check_stops()

    def _steps_within(self, budget_s: float) -> int:
        t0, done, chunk = time.perf_counter(), 0, 8
        while time.perf_counter() - t0 < budget_s and not self.run_a.stopped:
            chunk = self._limit(chunk)
            if chunk <= 0:
                break
            self.advance(chunk, draw=False)
            done += chunk
            chunk = min(chunk * 2, 512)
        self.redraw()
        return done

    def _limit(self, n: int) -> int:
        done = self.run_a.player.steps_done
        if self.stop_at is not None:
            n = min(n, self.stop_at - done)
        return max(0, min(n, PLAY_LIMIT - done))

    def advance(self, n: int, draw: bool = True) -> None:
        """``n`` steps of both runs (fewer at a preset's end or the play limit)."""
        n = self._limit(n) if self.playing else n
        if n > 0:
            self.run_a.step(n)
            if self.run_b is not None:
                self.run_b.step(self.run_a.player.steps_done - self.run_b.player.steps_done)
        if draw:
            self.redraw()
        self._check_stops()

    def _check_stops(self) -> None:
        if self.run_a.stopped:
            self.pause()
            self._show_stopped()
            return
        if self.run_b is not None and self.run_b.stopped and \
                self.message.property("run_b_stopped") != self.run_b.stopped:
            self.message.setProperty("run_b_stopped", self.run_b.stopped)
            self.show_message(f"Run B ({describe(*self.compare)}) stopped: "
                              f"{self.run_b.stopped}. Run A plays on.", "warning")
        if not self.playing:
            return
        done = self.run_a.player.steps_done
        if self.stop_at is not None and done >= self.stop_at:
            self.pause()
            self.show_message(f"Step {done}: the preset's experiment is complete. Space "
                              "plays on.", "info")
            self.stop_at = None
        elif done >= PLAY_LIMIT:
            self.pause()
            self.show_message(f"Paused at {PLAY_LIMIT} steps, the most one run plays; "
                              "Reset (Ctrl+R) to start again.", "info")

    def _show_stopped(self) -> None:
        self.show_message(f"The run stopped: {self.run_a.stopped}. Reset (Ctrl+R) or click "
                          "a new start point; a smaller learning rate may help.", "error")

    # ------------------------------------------------------------------ messages
    def show_message(self, text: str, level: str = "info") -> None:
        show_message(self.message, text, level)

    def hide_message(self) -> None:
        self.message.hide()
        self.message.setText("")
        self.message.setProperty("level", "")

    # ------------------------------------------------------------------ drawing
    def fit_view(self) -> None:
        """The plane's view: the start point and the equilibrium, with room around them."""
        x0, y0 = self.run_a.settings.start
        half = max(1.5, 1.35 * max(abs(x0), abs(y0)))
        half = float(round_up(half))
        self.plane.getPlotItem().vb.setRange(xRange=(-half, half), yRange=(-half, half),
                                             padding=0)

    def _follow(self) -> None:
        """Widen the plane's view when a run leaves it, out to ``FOLLOW_LIMIT`` (a run that
        jumps past the limit in one frame is followed to its last point within it)."""
        vb = self.plane.getPlotItem().vb
        (x_lo, x_hi), (y_lo, y_hi) = vb.viewRange()
        far = 0.0
        for run in self._runs():
            x, y = run.player.position
            if x_lo <= x <= x_hi and y_lo <= y <= y_hi:
                continue
            size = np.max(np.abs(run.player.trajectory), axis=1)
            inside = size[size <= FOLLOW_LIMIT]
            if inside.size:
                far = max(far, float(inside.max()))
        if far > max(x_hi, -x_lo, y_hi, -y_lo):
            half = float(round_up(1.3 * far))
            vb.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)

    def _runs(self) -> list[Run]:
        return [self.run_a] if self.run_b is None else [self.run_a, self.run_b]

    def draw_field(self) -> None:
        """The arrows over the plane's visible part, for run A's settings."""
        vb = self.plane.getPlotItem().vb
        (x_lo, x_hi), (y_lo, y_hi) = vb.viewRange()
        w, h = x_hi - x_lo, y_hi - y_lo
        if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
            return
        spacing = max(w, h) / GRID
        nx, ny = max(2, int(w / spacing)), max(2, int(h / spacing))
        xs = x_lo + (np.arange(nx) + 0.5) * w / nx
        ys = y_lo + (np.arange(ny) + 0.5) * h / ny
        gx, gy = np.meshgrid(xs, ys)
        s = self.run_a.settings
        u, v = vector_field(s, gx, gy)
        rho = s.eta_d / s.lr
        self.quiver.set_field(gx, gy, u, rho * v, 0.72 * min(w / nx, h / ny))
        scaled = "" if rho == 1 else f" (D's part × lr D/lr G = {rho:g})"
        self.plane_caption.setText(
            f"Arrows: where the players move from each point{scaled}, all one length, shaded "
            f"by speed: faint is slow, brightest |v| = {self.quiver.speed_max:.3g}. "
            "<b>Click</b> the plane to restart from there.")

    def redraw(self) -> None:
        """Trajectories, heads and distances of both runs."""
        have = []
        for name in ("A", "B"):
            run = self.run_a if name == "A" else self.run_b
            items = (self.traj[name], self.head[name], self.start_mark[name], self.dist[name],
                     self.pred[name])
            if run is None:
                for it in items:
                    it.setData([], [])
                continue
            rows = run.player.trajectory
            self.traj[name].setData(rows[:, 0], rows[:, 1])
            self.head[name].setData(rows[-1:, 0], rows[-1:, 1])
            self.start_mark[name].setData(rows[:1, 0], rows[:1, 1])
            dist = np.hypot(rows[:, 0], rows[:, 1])
            steps = np.arange(rows.shape[0], dtype=float)
            keep = dist > 0
            self.dist[name].setData(steps[keep], dist[keep])
            pred = run.prediction()
            if pred is None:
                self.pred[name].setData([], [])
            else:
                keep = pred[1] > 0
                self.pred[name].setData(pred[0][keep], pred[1][keep])
                have.append(name)
        self._caption_distance(have)
        self._steps_axis()
        done = self.run_a.player.steps_done
        b = "" if self.run_b is None else f"   B: {self.run_b.player.steps_done}"
        self.steps_label.setText(f"step {done}{b}  ")
        self._follow()

    def _steps_axis(self) -> None:
        """Steps count from 0: before a run has a few steps the axis shows 0..MIN_STEPS
        (autorange around one point read -0.4..0.4, negative steps), then follows."""
        rows = max(len(run.player.trajectory) for run in self._runs())
        vb = self.distance.getPlotItem().vb
        if rows - 1 < MIN_STEPS_SHOWN:
            vb.disableAutoRange(pg.ViewBox.XAxis)
            vb.setXRange(0, MIN_STEPS_SHOWN, padding=0)
            self._steps_pinned = True
        elif getattr(self, "_steps_pinned", False):  # ours to undo; a user's zoom stays
            self._steps_pinned = False
            vb.enableAutoRange(pg.ViewBox.XAxis)

    def _caption_distance(self, have: list[str]) -> None:
        if have:
            shown = f"pale band: the closed form ({', '.join(have)})"
        else:
            shown = "no closed form for these settings"
        self.distance_caption.setText(f"Solid: measured ‖(x_n, y_n)‖; {shown}.")

    def _eigen_of(self, s: GameSettings) -> tuple[np.ndarray | None, str]:
        if s not in self._eigen_cache:
            if len(self._eigen_cache) > 64:
                self._eigen_cache.clear()
            try:
                self._eigen_cache[s] = (jacobian_eigenvalues(s), "")
            except SettingError as e:
                self._eigen_cache[s] = (None, str(e).split(": ", 1)[-1])
        return self._eigen_cache[s]

    def eigenvalues(self, run: str = "A") -> np.ndarray | None:
        """What the eigenvalue plot shows for ``run`` (None: no Jacobian there)."""
        r = self.run_a if run == "A" else self.run_b
        return None if r is None else self._eigen_of(r.settings)[0]

    def _draw_eigen(self) -> None:
        lines, any_flow, any_discrete = [], False, False
        shown: list[np.ndarray] = []
        extent = 1.0
        predicted = []
        for name, run in (("A", self.run_a), ("B", self.run_b)):
            if run is None:
                self.eig[name].setData([], [])
                continue
            s = run.settings
            flow = s.update == "flow"
            any_flow |= flow
            any_discrete |= not flow
            eigs, why = self._eigen_of(s)
            colour = run_colour(name)
            if eigs is None:
                self.eig[name].setData([], [])
                lines.append(f"<span style='color:{colour}'><b>{name}</b></span>: no Jacobian "
                             f"at the equilibrium ({html.escape(why)})")
                continue
            self.eig[name].setData(eigs.real, eigs.imag)
            shown.append(eigs)
            extent = max(extent, float(np.max(np.abs(eigs))))
            top, verdict = stability(eigs, flow)
            what = "max Re λ" if flow else "max |λ|"
            lines.append(f"<span style='color:{colour}'><b>{name}</b></span>: {what} = "
                         f"{top:.4g} → {verdict}")
            p = predicted_eigenvalues(s)
            if p is not None:
                predicted.append(p)
        if predicted:
            p = np.concatenate(predicted)
            self.eig_pred.setData(p.real, p.imag)
        else:
            self.eig_pred.setData([], [])
        self.eigen_readout.setText("<br>".join(lines))
        self.unit_circle.setVisible(any_discrete)
        r = 1.2 * extent
        self.imag_axis.setData([0.0, 0.0], [-r, r])
        self.imag_axis.setVisible(any_flow)
        self.real_axis.setData([-r, r], [0.0, 0.0])
        x_range, y_range = (-r, r), (-r, r)
        if self.eigen_zoom.isChecked() and shown:
            pts = np.concatenate(shown)
            half = max(0.05, 0.65 * max(np.ptp(pts.real), np.ptp(pts.imag)))
            cx, cy = float(np.mean(pts.real)), float(np.mean(pts.imag))
            x_range, y_range = (cx - half, cx + half), (cy - half, cy + half)
        self.eigen.getPlotItem().vb.setRange(xRange=x_range, yRange=y_range, padding=0)
        rules = []
        if any_discrete:
            rules.append("<b>unit circle</b> (discrete steps): inside: converges; outside: "
                         "diverges; on it: cycles")
        if any_flow:
            rules.append("<b>imaginary axis</b> (the flow): left of it: converges; right: "
                         "diverges; on it: cycles")
        self.eigen_caption.setText("Dots: λ measured; rings: closed form. "
                                   + "; ".join(rules) + ".")

    def _on_plane_clicked(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.plane.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        ev.accept()
        self.restart_from(float(p.x()), float(p.y()))

    # ------------------------------------------------------------------ lifetime
    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.pause()
        super().closeEvent(event)


def open_games_lab(parent: QWidget | None = None, settings: GameSettings | None = None
                   ) -> GamesLab:
    """The games lab as a non-modal window of its own (owned by ``parent``)."""
    lab = GamesLab(settings=settings)
    return open_window(lab, parent, "Games lab — GAN Playground", (1280, 720))


__all__ = ["GamesLab", "open_games_lab"]

"""Side-by-side runs: this session (A) and a copy with one setting changed (B).

"Compare…" copies the session's effective config (same seed) into a second ``EngineLink``
with one key changed, and draws both runs' D loss, G loss, G's gradient norm and JS on
shared axes (A blue, B orange), and each run's newest samples side by side above them
(``ComparePlanes``: two small planes on the same axes, or two image grids). The two runs
start together (A is restarted from its seed
unless the user says otherwise) and play and pause together: B follows A's play/pause and
waits whenever it gets more than ``LEAD_STEPS`` ahead, so the curves grow side by side.
Later changes to A can be mirrored to B so the one difference stays the only one. The
second link is stopped (its worker joined) by ``stop()`` / ``shutdown()``.

"Stop B" ends only B: A's curves and plane go on growing beside B's last ones. When A starts
afresh (Reset, a new seed, a loaded session or a fresh preset: its ``ResetDone``), or the
window loads a preset over it (``end``), the comparison no longer compares anything: B is
stopped, both runs' curves and planes are cleared and one line says so (``ended``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.config import flatten, with_changes
from engine.dataspecs import DATA_SPECS
from engine.metrics import CADENCE_COLUMNS
from engine.protocol import Apply, Pause, Play, Reset
from engine.snapshot import ViewRequest

from .. import theme
from ..engine_link import EngineLink
from ..status_bar import format_rate
from ..views.axes import plot_axes
from ..views.markers import SwapMarkers
from ..views.styling import legend_title
from .buffers import RowBuffer
from .compare_dialog import CompareDialog, format_value
from .compare_planes import ComparePlanes, run_view_request
from .style import (
    REFERENCE_COLOR,
    RUN_COLORS,
    TEXT_COLOR,
    caption,
    style_plot_item,
)

LEAD_STEPS = 100          # B pauses when this far ahead of A, resumes at half of it
REFRESH_S = 0.1
JS_TOP = math.log(2) * 1.22  # the JS plot's fixed top: room for the log 2 label
# B's frames carry only what its side of ``ComparePlanes`` draws (no heatmap); this one is
# for 2-D data (``run_view_request`` picks per data set)
B_VIEW: ViewRequest = run_view_request(2)


NEEDS_A = "Compare needs run A's engine: restart it first (the message line above offers it)"


@dataclass(frozen=True)
class ComparePlot:
    key: str
    column: str
    title: str
    y_label: str
    log_y: bool = False


PLOTS: tuple[ComparePlot, ...] = (
    ComparePlot("d_loss", "d_loss", "D loss", "loss"),
    ComparePlot("g_loss", "g_loss", "G loss", "loss"),
    ComparePlot("g_grad", "g_grad_norm", "G gradient norm", "norm (log)", log_y=True),
    ComparePlot("js", "js", "Jensen–Shannon", "nats"),
)


# --------------------------------------------------------------------------- the view


class CompareView(QWidget):
    """Two runs' curves on shared axes, and the second run's lifetime."""

    message = Signal(str)
    ended = Signal(str)        # the comparison was ended: a short line saying why
    rates_changed = Signal(str)  # "B 305 it/s" while B runs, "" otherwise (the status bar)

    def __init__(self, link: EngineLink, parent: QWidget | None = None, *,
                 torch_threads: int | None = 1) -> None:
        super().__init__(parent)
        self.setObjectName("insight_compare")
        self.link_a = link
        self.link_b: EngineLink | None = None
        self.last_link_b: EngineLink | None = None
        self.torch_threads = torch_threads
        self.config: dict[str, Any] | None = None
        self.change: tuple[str, Any] | None = None
        self.mirror = True
        self.series = {"A": RowBuffer(capacity=20_000), "B": RowBuffer(capacity=20_000)}
        self._origin_a = 0
        self._await_a_reset = False
        self._a_step = self._b_step = 0
        self._a_running = False
        self._b_running = False
        self._a_rate = self._b_rate = 0.0
        self._b_want = False
        self._hold_a = False  # A's Play waits for B's engine to answer (both start together)
        self.comparing = False  # a comparison is on screen (B running or stopped)
        self._stopped_text = "B stopped"
        self._dirty = False
        self._last_refresh = 0.0
        self._build()
        self.message.connect(self._show_message)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setObjectName("compare_start")
        self.compare_button.setToolTip("Start run B: a copy of this session (same seed) with "
                                       "one setting changed, training side by side with A")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.open_dialog)
        row.addWidget(self.compare_button)
        self.play_button = QPushButton("Play both")
        self.play_button.setToolTip("Start (or resume) training in both runs")
        self.play_button.clicked.connect(self.play_both)
        self.pause_button = QPushButton("Pause both")
        self.pause_button.setToolTip("Pause training in both runs")
        self.pause_button.clicked.connect(self.pause_both)
        self.stop_button = QPushButton("Stop B")
        self.stop_button.setObjectName("compare_stop")
        self.stop_button.setToolTip("End the comparison: stop run B's engine (A goes on)")
        self.stop_button.clicked.connect(self.stop)
        for b in (self.play_button, self.pause_button, self.stop_button):
            b.setEnabled(False)
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()  # what differs, and the steps
        row.setSpacing(8)
        self.title = QLabel("")
        self.title.setObjectName("compare_title")
        self.title.setStyleSheet(f"color: {TEXT_COLOR}; font-weight: 600;")
        self.title.setToolTip("What differs between the two runs")
        self.title.setWordWrap(True)  # a long value wraps; it never widens the panel
        row.addWidget(self.title, 1)
        self.steps = QLabel("")
        self.steps.setObjectName("compare_steps")
        self.steps.setStyleSheet("color: #8a8f98;")
        self.steps.setToolTip("Steps since the comparison started, per run")
        self.steps.setWordWrap(True)
        row.addWidget(self.steps)
        self.title_row = QWidget()
        self.title_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.title_row.hide()
        layout.addWidget(self.title_row)
        self.hint = caption("Press <b>Compare…</b> to start run B: a copy of this session with "
                            "the same seed and one setting changed. Both runs then train side "
                            "by side, and their curves share the axes below.")
        layout.addWidget(self.hint)
        self.note = caption("", color="#fca5a5")
        self.note.setObjectName("compare_note")
        self.note.hide()
        layout.addWidget(self.note)

        self.planes = ComparePlanes()
        self.planes.hide()  # shown with a comparison
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.PLOT_BACKGROUND)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("compare_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.planes)
        self.splitter.addWidget(self.graphics)
        self.splitter.setStretchFactor(0, 1)  # the samples as tall as the four plots
        self.splitter.setStretchFactor(1, 1)
        layout.addWidget(self.splitter, 1)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for i, spec in enumerate(PLOTS):
            item = self.graphics.addPlot(row=i // 2, col=i % 2, axisItems=plot_axes(spec.log_y))
            # the first plot's title names both runs in their colours, for all four (a
            # legend box there sat on the curves; on the JS plot it covered "log 2")
            title = legend_title(spec.title, list(RUN_COLORS.items())) if i == 0 \
                else spec.title
            style_plot_item(item, title, y_label=spec.y_label,
                            x_label="steps since the start" if i >= 2 else None)
            if spec.log_y:
                item.setLogMode(y=True)
            sparse = spec.column in CADENCE_COLUMNS  # a point every metrics_every steps
            for run, color in RUN_COLORS.items():
                marks = dict(symbol="o", symbolSize=4, symbolPen=None, symbolBrush=color) \
                    if sparse else {}
                curve = item.plot([], [], pen=pg.mkPen(color, width=1), name=run, **marks)
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self.curves[(spec.key, run)] = curve
            if i:
                item.setXLink(self.plots[PLOTS[0].key])
            self.plots[spec.key] = item
        js = self.plots["js"]
        js.setYRange(0, JS_TOP, padding=0)
        js.enableAutoRange(y=False)
        self.log2_line = pg.InfiniteLine(
            math.log(2), angle=0, label="log 2",
            # under the line: above it the label needs more room than a short plot has
            labelOpts={"position": 0.06, "color": REFERENCE_COLOR, "anchors": [(0, 0), (0, 0)]},
            pen=pg.mkPen(REFERENCE_COLOR, width=1, style=Qt.PenStyle.DashLine))
        js.addItem(self.log2_line)
        for spec in PLOTS:
            self.curves[(spec.key, "B")].setZValue(1)

        # A's changes applied mid-run, at A's steps since the comparison started
        self.markers = SwapMarkers(self.plots.values())
        link = self.link_a
        link.swaps_changed.connect(self._show_swaps)
        link.metrics_received.connect(self._on_rows_a)
        link.status_changed.connect(self._on_status_a)
        link.reset_done.connect(self._on_reset_a)
        link.applied.connect(self._on_applied_a)
        link.snapshot_ready.connect(self._on_snapshot_a)
        link.diverged.connect(self._on_diverged_a)
        link.engine_died.connect(self._on_a_died)

    # ------------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        """Whether run B is running (its engine started and not stopped)."""
        return self.link_b is not None

    def set_config(self, config: dict[str, Any]) -> None:
        self.config = config
        self.compare_button.setEnabled(True)

    def open_dialog(self) -> None:
        if self.config is None:
            return
        if self.link_a.exit is not None:
            self.message.emit(NEEDS_A)
            return
        dialog = CompareDialog(self.config, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            key, value = dialog.choice()
            self.start(key, value, restart_a=dialog.restart_box.isChecked(),
                       mirror=dialog.mirror_box.isChecked())

    def start(self, key: str, value: Any, *, restart_a: bool = True, mirror: bool = True,
              play: bool = True) -> None:
        """Start run B = this config with ``key`` = ``value`` (raises ValueError if invalid)."""
        if self.config is None:
            raise ValueError("the session's settings are not known yet")
        if self.link_a.exit is not None:  # its Reset would be lost: B would wait for ever
            raise ValueError("run A's engine is not running: restart it first")
        config_b = with_changes(self.config, {key: value})
        self._hold_a = False  # a B still starting is replaced, and A waits for the new one
        self.stop()
        self.change = (key, flatten(config_b).get(key, value))
        self.mirror = mirror
        for s in self.series.values():
            s.clear()
        self.planes.clear()
        self._b_step = 0
        self._b_rate = 0.0
        self._b_running = False
        self._b_want = False
        view = run_view_request(_data_dim(config_b))
        b = EngineLink(config_b, view=view, torch_threads=self.torch_threads, parent=self)
        b.metrics_received.connect(self._on_rows_b)
        b.status_changed.connect(self._on_status_b)
        b.snapshot_ready.connect(self._on_snapshot_b)
        b.failed.connect(lambda ev: self.message.emit(f"Run B: {ev.message}"))
        b.diverged.connect(self._on_diverged_b)
        b.rejected.connect(lambda ev: self.message.emit(f"Run B refused a change: {ev.message}"))
        b.applied.connect(self._on_applied_b)
        b.engine_died.connect(self._on_b_died)
        self.link_b = b
        self.comparing = True
        self.message.emit("")
        b.start()
        if restart_a:
            self._await_a_reset = True
            self._origin_a = 0
            self.link_a.send(Reset())
        else:
            self._await_a_reset = False
            self._origin_a = self._a_step
        self._show_swaps(())  # the comparison's x starts here: A's changes from now on
        if play:
            self.play_both()
        shown = format_value(self.change[1])
        self.title.setText(f"<span style='color:{RUN_COLORS['A']}'>A</span>: this session"
                           "&nbsp;&nbsp;·&nbsp;&nbsp;"
                           f"<span style='color:{RUN_COLORS['B']}'>B</span>: "
                           f"{key} = {shown}")
        self.planes.set_titles("this session", f"{key} = {shown}")
        self.hint.hide()
        self.title_row.show()
        if not self.planes.isVisibleTo(self):
            self.planes.show()
            half = max(self.splitter.height() // 2, 1)  # the samples as tall as the plots
            self.splitter.setSizes([half, half])
        for button in (self.play_button, self.pause_button, self.stop_button):
            button.setEnabled(True)
        self._dirty = True
        self.refresh(force=True)

    def stop(self) -> bool:
        """Stop run B only (its frame timer and worker, joined): A's curves and plane go on
        beside B's last ones. True when B's process ended (or none ran)."""
        b, self.link_b = self.link_b, None
        if b is None:
            return True
        ended = b.stop(timeout=1.0)
        for signal in (b.metrics_received, b.status_changed, b.snapshot_ready, b.failed,
                       b.diverged, b.rejected, b.applied, b.engine_died):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass
        b.setParent(None)
        b.deleteLater()
        self.last_link_b = b  # kept so callers can check that its process ended
        self._release_a()  # A was waiting to play beside B: it plays alone
        self._b_running = False
        self._b_want = False
        for button in (self.play_button, self.pause_button, self.stop_button):
            button.setEnabled(False)
        self._stopped_text = "B stopped" if ended else "B did not stop in time"
        self._show_steps(0)
        self.rates_changed.emit("")
        return ended

    def _on_b_died(self, ended: Any) -> None:
        """B's engine ended on its own: B stops (A plays on, alone) and both say so; B's
        curves stay as they were. Its steps line went on reading "B 217 · 132 it/s"."""
        self.stop()
        self._stopped_text = "B's engine stopped"  # stop() wrote "B stopped"
        self._show_steps(0)
        self.message.emit(f"Run B's engine stopped: {ended.describe()}. A goes on; "
                          "Compare… starts B again")

    def _on_a_died(self, ended: Any) -> None:
        """A's engine ended: the comparison ends, its curves kept as they were (a restarted
        A is a new run: its steps would run on from 1 beside the old ones)."""
        self.end("Comparison ended: run A's engine stopped, so run B was stopped too; the "
                 "curves show the comparison as it was", "Compare ended: A's engine stopped",
                 clear=False)

    def end(self, reason: str, short: str = "", *, clear: bool = True) -> None:
        """The comparison no longer compares anything (A started afresh, a new preset): stop
        B, clear both runs' curves and planes (unless not ``clear``: they stay, frozen),
        say ``reason`` in the tab and ``short`` (for the status bar) through ``ended``.
        Nothing happens when no comparison is on screen."""
        if not self.comparing:
            return
        self.stop()
        self.comparing = False
        self.change = None
        self._await_a_reset = False
        if clear:
            for s in self.series.values():
                s.clear()
            self.planes.clear()
            self.planes.hide()
            self.markers.clear()
            self._origin_a = self._a_step = self._b_step = 0
            self.title.setText("")
            self.steps.setText("")
            self.title_row.hide()
            self.hint.show()
            self._dirty = True
            self.refresh(force=True)
        self.message.emit(reason)
        self.ended.emit(short or reason)

    def shutdown(self) -> None:
        self.stop()

    def _show_swaps(self, entries: Any) -> None:
        """A's swap markers while a comparison is on screen, at A's step minus its origin."""
        if not self.comparing:
            self.markers.clear()
            return
        self.markers.set_entries(entries, shift=self._origin_a)

    def _show_message(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    # ------------------------------------------------------------------ transport
    def play_both(self) -> None:
        """Play A and B. While B's engine is still starting (a second torch import, seconds
        on a busy machine) A waits for it: the two runs start together, and B's start does
        not compete with A's training for the cores."""
        b = self.link_b
        if b is not None and not b.state.ready:
            self._hold_a = True
            self._show_steps(0)
            return
        self._hold_a = False
        self.link_a.send(Play())
        self._a_running = True
        self._sync()

    def pause_both(self) -> None:
        self._hold_a = False
        self.link_a.send(Pause())
        self._a_running = False
        self._sync()

    def _release_a(self, *_: Any) -> None:
        """B answered, or will not: A no longer waits for it."""
        if self._hold_a:
            self.play_both()

    def _sync(self) -> None:
        """B follows A's play/pause and never runs more than LEAD_STEPS ahead of it."""
        b = self.link_b
        ahead = self._b_step - (self._a_step - self._origin_a)
        if b is None:
            self._show_steps(ahead)
            return
        limit = LEAD_STEPS if self._b_want else LEAD_STEPS // 2
        want = self._a_running and ahead <= limit
        if want != self._b_want:
            self._b_want = want
            b.send(Play() if want else Pause())
        self._show_steps(ahead)

    def _show_steps(self, ahead: int) -> None:
        """Steps and speed of each run: "A 1,200 · 310 it/s   B 1,180 · 305 it/s"."""
        if not self.comparing:
            return
        a = max(self._a_step - self._origin_a, 0)
        a_text = f"A {a:,} · {format_rate(self._a_rate, self._a_running)}"
        if self.link_b is None:
            b_text = f"B {self._b_step:,} · {self._stopped_text}"
        elif self._hold_a:
            a_text = f"A {a:,} · waits for B"
            b_text = "B starting…"
        else:
            waiting = self._a_running and not self._b_want and ahead > 0
            rate = "waits for A" if waiting else format_rate(self._b_rate, self._b_running)
            b_text = f"B {self._b_step:,} · {rate}"
            self.rates_changed.emit(f"B {format_rate(self._b_rate, self._b_running)}")
        a_text, b_text = (t.replace(" ", "&nbsp;") for t in (a_text, b_text))
        # each run's figures stay together; a narrow panel wraps between A and B only
        self.steps.setText(f"<span style='color:{RUN_COLORS['A']}'>{a_text}</span>&nbsp; "
                           f"<span style='color:{RUN_COLORS['B']}'>{b_text}</span>")

    # ------------------------------------------------------------------ events from A
    def _on_status_a(self, ev: Any) -> None:
        if self._await_a_reset:
            return  # A's step still counts the old run
        self._a_step = ev.step
        self._a_running = ev.running
        self._a_rate = ev.steps_per_second
        self._sync()

    def _on_reset_a(self, ev: Any) -> None:
        if self.note.text() == NEEDS_A:  # A's engine is back (its first answer is a replay)
            self.message.emit("")
        if ev.replay:
            # A's state replayed to this window (it attached): the same run goes on. Never
            # the answer to the comparison's own Reset: a replay still on its way when
            # Compare starts (right after the engine's first answer) must not be taken
            # for it, or that answer would end the comparison it belongs to
            return
        if self._await_a_reset:
            self._await_a_reset = False
            self._a_step = 0
            self.series["A"].clear()
            self.planes.latest["A"] = None
            return
        self._a_step = 0
        self.end("Comparison ended: run A started afresh (reset, new seed or a load), "
                 "so run B was stopped and the curves cleared",
                 "Compare ended: B stopped (A started afresh)")

    def _on_applied_a(self, ev: Any) -> None:
        self.set_config(ev.config)
        if self.link_b is None or not self.mirror or not ev.changes or self.change is None:
            return
        # a key A's change removed (a new data set's other parameters) is None: B's own
        # change of the same key removes it there, and B refuses it as a parameter
        changes = {k: v for k, v in ev.changes.items()
                   if k != self.change[0] and v is not None}
        if changes:
            self.link_b.send(Apply(changes))

    def _on_rows_a(self, rows: np.ndarray) -> None:
        if not self.comparing or self._await_a_reset:
            return
        rows = np.array(rows, dtype=np.float64)
        rows[:, 0] -= self._origin_a
        rows = rows[rows[:, 0] >= 0]
        if len(rows):
            self.series["A"].extend(rows)
            self._dirty = True

    def _on_diverged_a(self, ev: Any) -> None:
        """A's rollback: its rows after the step it went back to are gone from its
        history, so they go from the comparison too (its curve stepped back otherwise)."""
        if self.comparing and not self._await_a_reset and ev.rolled_back_to >= 0:
            self._drop_after("A", ev.rolled_back_to - self._origin_a)

    def _drop_after(self, run: str, step: int) -> None:
        if self.series[run].truncate_after(step):
            self._dirty = True
            if self.isVisible():
                self.refresh()

    def _on_snapshot_a(self, snap: Any) -> None:
        if self.comparing and not self._await_a_reset:
            self.planes.put("A", snap)
            self._dirty = True

    # ------------------------------------------------------------------ events from B
    def _on_applied_b(self, ev: Any) -> None:
        self._release_a()  # B's first Applied: its engine is ready

    def _on_status_b(self, ev: Any) -> None:
        self._b_step = ev.step
        self._b_running = ev.running
        self._b_rate = ev.steps_per_second
        self._sync()

    def _on_diverged_b(self, ev: Any) -> None:
        self.message.emit(f"Run B diverged: {ev.message}")
        if ev.rolled_back_to >= 0:
            self._drop_after("B", ev.rolled_back_to)

    def _on_rows_b(self, rows: np.ndarray) -> None:
        if len(rows):
            self.series["B"].extend(rows)
            self._dirty = True

    def _on_snapshot_b(self, snap: Any) -> None:
        self.planes.put("B", snap)
        self._dirty = True
        if self.isVisible():
            self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self, force: bool = False) -> None:
        if not self._dirty:
            return
        now = time.perf_counter()
        if not force and now - self._last_refresh < REFRESH_S:
            return
        self._last_refresh = now
        self._dirty = False
        self.planes.refresh()
        for spec in PLOTS:
            for run, series in self.series.items():
                x, y = series.xy(spec.column, positive=spec.log_y)
                self.curves[(spec.key, run)].setData(x, y)
        js = np.concatenate([s.xy("js")[1] for s in self.series.values()])
        top = max(JS_TOP, float(js.max()) * 1.05) if len(js) else JS_TOP
        self.plots["js"].setYRange(0, top, padding=0)

    def point_count(self, run: str, column: str = "g_loss") -> int:
        return len(self.series[run].xy(column)[0])


def _data_dim(config: dict[str, Any]) -> int:
    """1 or 2 for points, 0 for images (2 when the data set is unknown here)."""
    ds = DATA_SPECS.get(config.get("data", {}).get("name", ""))
    return ds.dim if ds is not None else 2

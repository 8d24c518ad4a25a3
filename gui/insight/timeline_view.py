"""A timeline of recent frames: scrub back, replay, and return to live.

Every snapshot the link delivers is offered to a bounded ``SnapshotRing`` (at most ~15 a
second, at most 300 frames and 64 MB; when full, the older half is thinned, so the start
of the run stays reachable). The slider picks a frame, shown with its step; "Replay" plays
the frames from the slider's position (from the start when at the end) up to the newest
frame at the time it was pressed, then goes live; with the slider at the end the view is
live.

The scrub controls (``controls``: Replay, the slider, Live and a one-line status) are a
widget of their own, so that the insight panel can show them under every view that draws
frames: scrubbing replays the frame in whichever of them is on screen, not only in this
tab's own plane. Two signals tell the rest of the window:

* ``frame_scrubbed(snapshot)``: a recorded frame is now shown instead of the live one
  (each slider move and each replay tick; the ``Snapshot`` as the engine sent it);
* ``returned_to_live()``: the timeline follows training again (the slider reached the end,
  Live was pressed, a replay finished, the recording was cleared).
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.snapshot import Snapshot

from .buffers import SnapshotRing
from .one_d_view import OneDView
from .plane_canvas import PlaneCanvas
from .style import MUTED, TEXT_COLOR, ElidedLabel

REPLAY_FPS = 25
IMAGE_NOTE = ("Image data: the recorded frames replay in the image view beside this panel. "
              "Scrub with the slider below.")


class TimelineView(QWidget):
    frame_scrubbed = Signal(object)  # engine.snapshot.Snapshot: a recorded frame is shown
    returned_to_live = Signal()      # the views follow training again

    def __init__(self, parent: QWidget | None = None, capacity: int = 300,
                 max_bytes: int = 64 << 20) -> None:
        super().__init__(parent)
        self.setObjectName("insight_timeline")
        self.ring = SnapshotRing(capacity=capacity, max_bytes=max_bytes)
        self.live = True
        self.shown_step: int | None = None
        self.latest_step: int | None = None
        self._index = -1
        self._active = False  # drawing its own canvas only while on screen (recording always)
        self._replay_end = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.stack = QStackedWidget()
        self.canvas = PlaneCanvas("Recorded frame")
        self.one_d = OneDView(controls=False)
        image_page = QWidget()
        v = QVBoxLayout(image_page)
        self.image_note = QLabel(IMAGE_NOTE)
        self.image_note.setObjectName("timeline_image_note")
        self.image_note.setWordWrap(True)
        self.image_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_note.setStyleSheet(f"color: {MUTED}; font-size: 11pt;")
        v.addStretch(1)
        v.addWidget(self.image_note)
        v.addStretch(1)
        self.stack.addWidget(self.canvas)
        self.stack.addWidget(self.one_d)
        self.stack.addWidget(image_page)
        layout.addWidget(self.stack, 1)
        self._build_controls()
        layout.addWidget(self.controls)  # the insight panel moves them under its tabs

        self.replay_timer = QTimer(self)
        self.replay_timer.setInterval(int(1000 / REPLAY_FPS))
        self.replay_timer.timeout.connect(self._replay_tick)

    def _build_controls(self) -> None:
        self.controls = QWidget()
        self.controls.setObjectName("timeline_controls")
        box = QVBoxLayout(self.controls)
        box.setContentsMargins(6, 2, 6, 2)
        box.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.replay_button = QToolButton()
        self.replay_button.setObjectName("timeline_replay")
        self.replay_button.setText("▶ Replay")
        self.replay_button.setCheckable(True)
        self.replay_button.setToolTip("Play the recorded frames from the slider's position "
                                      "(from the oldest when the slider is at the end); stops "
                                      "at the newest frame and goes live. Press again to "
                                      "stop")
        self.replay_button.toggled.connect(self._on_replay_toggled)
        row.addWidget(self.replay_button)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeline_slider")
        self.slider.setRange(0, 0)
        self.slider.setMinimumWidth(120)
        self.slider.setToolTip("Drag back through the recorded frames: every view that draws "
                               "frames shows the one picked; at the right end they follow "
                               "training live")
        self.slider.valueChanged.connect(self._on_slider)
        row.addWidget(self.slider, 1)
        self.live_button = QToolButton()
        self.live_button.setObjectName("timeline_live")
        self.live_button.setText("Live")
        self.live_button.setToolTip("Jump to the newest frame and follow training")
        self.live_button.clicked.connect(self.go_live)
        row.addWidget(self.live_button)
        box.addLayout(row)
        # its own line, elided: however long it gets, the slider keeps its width
        self.step_label = ElidedLabel("no frames yet")
        self.step_label.setObjectName("timeline_step")
        self.step_label.setStyleSheet(f"color: {TEXT_COLOR};")
        self.step_label.setToolTip("The step of the frame shown, its place among the recorded "
                                   "frames, and whether the views are live")
        box.addWidget(self.step_label)

    # ------------------------------------------------------------------ recording
    def record(self, snap: Snapshot) -> None:
        """Offer a live frame (every frame the link delivers)."""
        self.latest_step = snap.step
        kept = self.ring.add(snap)
        if not kept:
            return
        n = len(self.ring)
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(n - 1, 0))
            if self.live:
                self._index = n - 1
            elif self.shown_step is not None:
                # frames may have been thinned: find the one shown by its step
                self._index = self.ring.index_of_step(self.shown_step)
            self.slider.setValue(self._index)
        if self.live:
            self.shown_step = snap.step
            if self._active:
                self._draw(snap)
        self._update_label()

    def clear(self) -> None:
        self.stop_replay()
        self.ring.clear()
        self.shown_step = self.latest_step = None
        self._index = -1
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, 0)
        self._set_live(True)
        self.step_label.setText("no frames yet")

    def set_active(self, on: bool) -> None:
        """Draw this tab's own canvas only while it is on screen."""
        self._active = on
        if on and len(self.ring):
            index = self._index if self._index >= 0 else len(self.ring) - 1
            self._draw(self.ring[max(0, min(index, len(self.ring) - 1))])

    @property
    def shown(self) -> Snapshot | None:
        """The recorded frame the views show while scrubbed (None while live)."""
        if self.live or not len(self.ring) or self._index < 0:
            return None
        return self.ring[min(self._index, len(self.ring) - 1)]

    # ------------------------------------------------------------------ scrubbing
    def scrub_to(self, index: int) -> None:
        """Show recorded frame ``index`` (the last one means live)."""
        if not len(self.ring):
            return
        index = max(0, min(index, len(self.ring) - 1))
        if index == self.slider.value():
            self._on_slider(index)  # no valueChanged for the value it has
        else:
            self.slider.setValue(index)

    def _on_slider(self, value: int) -> None:
        if not len(self.ring):
            return
        self._set_live(value >= len(self.ring) - 1 and not self.replay_timer.isActive())
        self._show(value)

    def go_live(self) -> None:
        self.stop_replay()
        if len(self.ring):
            with QSignalBlocker(self.slider):
                self.slider.setValue(len(self.ring) - 1)
            self._index = len(self.ring) - 1
            self.shown_step = self.ring[self._index].step
            if self._active:
                self._draw(self.ring[self._index])
        self._set_live(True)
        self._update_label()

    def _set_live(self, on: bool) -> None:
        was = self.live
        self.live = on
        if on and not was:
            self.returned_to_live.emit()

    def _show(self, index: int) -> None:
        if not len(self.ring):
            return
        index = max(0, min(index, len(self.ring) - 1))
        self._index = index
        snap = self.ring[index]
        self.shown_step = snap.step
        if self._active:
            self._draw(snap)
        self._update_label()
        if not self.live:
            self.frame_scrubbed.emit(snap)

    def _draw(self, snap: Snapshot) -> None:
        if snap.dim == 0:
            self.stack.setCurrentIndex(2)
        elif snap.dim == 1:
            self.stack.setCurrentIndex(1)
            self.one_d.show_snapshot(snap)
        else:
            self.stack.setCurrentIndex(0)
            self.canvas.show_snapshot(snap)

    def _update_label(self) -> None:
        n = len(self.ring)
        if not n or self.shown_step is None:
            self.step_label.setText("no frames yet" if not n else f"{n} frames recorded")
            return
        state = "● live" if self.live else (
            "▶ replay" if self.replay_timer.isActive() else "scrubbed")
        latest = "" if self.live or self.latest_step is None else \
            f"  ·  live at step {self.latest_step}"
        self.step_label.setText(f"{state}  ·  step {self.shown_step}  ·  frame "
                                f"{self._index + 1}/{n}{latest}")

    # ------------------------------------------------------------------ replay
    def _on_replay_toggled(self, on: bool) -> None:
        if not on:
            self.replay_timer.stop()
            self.replay_button.setText("▶ Replay")
            self._update_label()
            return
        if not len(self.ring):
            with QSignalBlocker(self.replay_button):
                self.replay_button.setChecked(False)
            return
        start = 0 if self._index >= len(self.ring) - 1 else self._index
        # play up to the newest frame of now; frames recorded meanwhile are the live ones
        self._replay_end = self.ring[len(self.ring) - 1].step
        self.replay_timer.start()
        self.replay_button.setText("■ Stop")
        self._set_live(False)
        self.scrub_to(start)

    def _replay_tick(self) -> None:
        nxt = self._index + 1
        if nxt >= len(self.ring) or self.ring[self._index].step >= self._replay_end:
            self.go_live()
            return
        self.scrub_to(nxt)

    def stop_replay(self) -> None:
        self.replay_timer.stop()
        if self.replay_button.isChecked():
            with QSignalBlocker(self.replay_button):
                self.replay_button.setChecked(False)
        self.replay_button.setText("▶ Replay")

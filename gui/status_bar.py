"""The status bar's permanent read-outs: step, D and G updates, speed, device, the active
setup and modes."""

from __future__ import annotations

import math
import time
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from engine.catalogue import LOSS_INFO
from engine.protocol import Status

NOTE_MS = 10_000  # how long "Compare ended: …" stays in the status bar
MAX_RATE = 1e7  # iterations per second no run reaches: a figure above it is a bad estimate


def format_rate(steps_per_second: float, running: bool) -> str:
    """The speed read-out: ``1,063 it/s`` (``2.5 it/s`` in slow motion), ``paused``, and
    ``– it/s`` for a figure that cannot be right (negative, not a number, absurdly large)
    rather than showing it."""
    if not running:
        return "paused"
    v = steps_per_second
    if not isinstance(v, int | float) or not math.isfinite(v) or v < 0 or v > MAX_RATE:
        return "– it/s"
    return f"{v:.1f} it/s" if v < 10 else f"{v:,.0f} it/s"


class StatusBar(QStatusBar):
    """A status bar whose passing message is elided to the room the read-outs leave it
    (middle: a saved file's name and folder both show), the whole of it in the tooltip;
    Qt's own cut the message off mid-word under the first read-out. ``currentMessage``
    is the whole message.

    The room changes after the message is shown as often as before: a slot sets a read-out
    and then shows a message (the read-outs move when the event loop next runs), run B's
    speed appears, the window is first shown. So the message is fitted again, once the
    layout has settled, whenever a read-out moves, resizes, shows or hides, and for what is
    left of its time. A menu's status tip is shown by Qt itself (``showMessage`` is not
    virtual): it is taken as the message."""

    MARGIN = 12  # px between the message's end and the first read-out
    _MOVES = (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._whole = ""
        self._fitted = ""  # what was last handed to Qt to show
        self._until: float | None = None  # when the message's time ends (None: it stays)
        self._permanent: list[QWidget] = []  # the read-outs (what a message must end before)
        self._refit_soon = QTimer(self)
        self._refit_soon.setSingleShot(True)
        self._refit_soon.setInterval(0)
        self._refit_soon.timeout.connect(self._refit)
        self.messageChanged.connect(self._on_changed)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt name)
        self._whole = text
        self._until = time.monotonic() + timeout / 1000 if timeout > 0 else None
        self._show(self._fit(text), timeout)
        self._refit_soon.start()  # where the read-outs will be once laid out

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        widget.installEventFilter(self)
        super().addPermanentWidget(widget, stretch)

    def currentMessage(self) -> str:  # noqa: N802 (Qt name)
        return self._whole if super().currentMessage() else ""

    def room(self) -> int | None:
        """Pixels left of the leftmost read-out shown (None before the bar is laid out)."""
        lefts = [w.geometry().left() for w in self._permanent
                 if shiboken6.isValid(w) and w.isVisible()]
        left = min(lefts) if lefts else self.width()
        return left - self.MARGIN if self.isVisible() and left > self.MARGIN else None

    def _fit(self, text: str) -> str:
        room = self.room()
        return (text if room is None else
                QFontMetrics(self.font()).elidedText(text, Qt.TextElideMode.ElideMiddle, room))

    def _show(self, fitted: str, timeout: int) -> None:
        self._fitted = fitted
        super().showMessage(fitted, timeout)
        self.setToolTip(self._whole if fitted != self._whole else "")

    def _refit(self) -> None:
        if not (self._whole and super().currentMessage()):
            return
        fitted = self._fit(self._whole)
        if fitted == super().currentMessage():
            return
        if self._until is None:
            self._show(fitted, 0)
        elif (left := self._until - time.monotonic()) > 0:  # what is left of its time
            self._show(fitted, max(1, round(1000 * left)))

    def _on_changed(self, text: str) -> None:
        if not text:  # its time ended, or cleared
            self._whole = self._fitted = ""
            self._until = None
            self.setToolTip("")
        elif text != self._fitted:  # shown by Qt itself: a menu item's status tip
            self._whole = self._fitted = text
            self._until = None
            self.setToolTip("")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in self._MOVES and self._whole:
            self._refit_soon.start()
        return False

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._refit_soon.start()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._refit()


class StatusReadout:
    """Permanent labels on a ``QStatusBar``; transient messages keep the bar's left side."""

    def __init__(self, bar: QStatusBar) -> None:
        self.labels: dict[str, QLabel] = {}
        for key, tip, width in (
            ("summary", "The active loss and normalizations", 0),
            ("modes", "Modes captured and % high-quality samples (mode data sets only)", 0),
            ("step", "Generator iterations so far", 100),
            ("updates", "Discriminator and generator updates so far: an iteration makes k D "
                        "updates and one G update; the D step and G step buttons make one "
                        "of either", 150),
            ("rate", "Training speed, iterations per second", 90),
            ("rate_b", "Run B's training speed (Insight › Compare), iterations per second",
             0),
            ("device", "Where training runs", 70),
        ):
            label = QLabel()
            label.setToolTip(tip)
            if width:
                label.setMinimumWidth(width)
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
            self.labels[key] = label
        self.show_modes(None, None, None)
        # a line saying a comparison ended stays a while (transient messages replace one
        # another within milliseconds when a load or reset answers)
        self._note_timer = QTimer(self.labels["rate_b"])
        self._note_timer.setSingleShot(True)
        self._note_timer.setInterval(NOTE_MS)
        self._note_timer.timeout.connect(lambda: self.show_rate_b(""))
        self.show_rate_b("")

    def show_status(self, s: Status) -> None:
        self.labels["step"].setText(f"step {s.step:,}")
        self.labels["updates"].setText(f"D {s.d_updates:,} · G {s.g_updates:,} updates")
        self.labels["rate"].setText(format_rate(s.steps_per_second, s.running))
        self.labels["device"].setText(s.device)
        self.labels["summary"].setToolTip(s.summary)

    def show_stopped(self) -> None:
        """The engine ended: no speed (its last figure would read as a run going on)."""
        self.labels["rate"].setText("stopped")

    def show_rate_b(self, text: str) -> None:
        """Run B's speed beside A's while a comparison runs (``"B 305 it/s"``); hidden
        with ``""``."""
        label = self.labels["rate_b"]
        if self._note_timer.isActive():
            if not text:
                return  # the note stays its time
            self._note_timer.stop()
            label.setStyleSheet("")
        if text != label.text():
            label.setText(text)
        label.setVisible(bool(text))

    def show_compare_note(self, text: str) -> None:
        """One line where B's speed was, for ``NOTE_MS``: the comparison ended, and why."""
        label = self.labels["rate_b"]
        label.setText(text)
        label.setStyleSheet("color: #facc15;")
        label.setVisible(bool(text))
        self._note_timer.start()

    def show_setup(self, config: dict[str, Any]) -> None:
        """The active loss and each network's normalization, from the applied config."""
        loss = config["loss"]["name"]
        title = LOSS_INFO[loss].title if loss in LOSS_INFO else loss
        g_norm, d_norm = config["generator"]["norm"], config["discriminator"]["norm"]
        self.labels["summary"].setText(f"{title} · G norm: {g_norm} · D norm: {d_norm}")

    def show_modes(self, captured: float | None, total: int | None, hq: float | None) -> None:
        label = self.labels["modes"]
        if captured is None or math.isnan(captured):
            label.setText("")
            label.hide()
            return
        of = f"/{total}" if total else ""
        hq_text = f" · {100 * hq:.0f}% high quality" if hq is not None else ""
        label.setText(f"modes {captured:.0f}{of}{hq_text}")
        label.show()

    def show_quality(self, fid: float | None, inception: float | None,
                     classes_seen: float | None) -> None:
        """Image data: the latest classifier-based FID and IS (and classes seen) in the
        place of the modes read-out."""
        label = self.labels["modes"]
        if fid is None or math.isnan(fid):
            label.hide()
            return
        seen = f" · {classes_seen:.0f} classes" if classes_seen is not None and not math.isnan(classes_seen) else ""
        is_text = f" · IS {inception:.2f}" if inception is not None else ""
        label.setText(f"FID {fid:.1f}{is_text}{seen}")
        label.setToolTip("Classifier-based FID (lower is better) and Inception-style score "
                         "(higher is better), and the classes the classifier sees among the "
                         "generated images")
        label.show()

    def widget(self, key: str) -> QWidget:
        return self.labels[key]


def describe_changes(changes: dict[str, Any], limit: int = 3) -> str:
    """``key = value`` for the keys that now have a value (a data set swap also drops the
    old set's keys, reported as None), the first few only: a status-bar line, not a log."""
    items = [(k, v) for k, v in changes.items() if v is not None]
    if any(k == "data.name" for k, _ in items):  # its parameters reset with it: say so once
        items = [(k, v) for k, v in items if k == "data.name" or not k.startswith("data.")]
    text = ", ".join(f"{k} = {_short(v)}" for k, v in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "…"

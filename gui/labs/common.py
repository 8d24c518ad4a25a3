"""What both labs share: their look in either theme and at any zoom, captions, the
transport actions, a window to open a lab in, and the throttle that keeps dragging smooth.

The labs are built after ``gui.appearance`` has styled the application, so unlike the main
window's views they cannot wait for its next ``apply``: ``adopt_appearance`` gives a freshly
built lab the current theme and zoom, and ``LabLook`` tells its owner when either changes so
that colours the theme walk does not know about (arrow shades, heatmap colours, handles) are
set again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QGraphicsItem, QLabel, QLineEdit, QStyle, QWidget

from .. import appearance as look_module
from .. import theme
from ..transport import ActionSpec

# Run colours (A: the run the controls drive, B: the copy with one change), per theme: the
# light theme's are darker so that they read on white.
RUN_COLOURS = {
    "dark": {"A": "#60a5fa", "B": "#fb923c"},
    "light": {"A": "#1d4ed8", "B": "#c2410c"},
}


def effective_theme() -> str:
    """'dark' or 'light': what the application wears now."""
    return look_module.appearance().effective


def run_colour(run: str) -> str:
    return RUN_COLOURS[effective_theme()][run]


def palette() -> look_module.Palette:
    return look_module.appearance().palette


def zoom() -> float:
    return look_module.appearance().zoom


def with_alpha(colour: str, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def set_pen(item: pg.PlotDataItem, colour: Any, width: float = 1.0,
            style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> None:
    """A new pen colour that keeps the zoom: the width is ``width`` times the zoom, and the
    base width the theme walk scales from is remembered as ``width``."""
    look_module.set_unzoomed(item, "pen_width", width)
    pen = pg.mkPen(colour, width=width * zoom(), style=style)
    pen.setCosmetic(True)
    item.setPen(pen)


def caption(text: str = "", *, name: str = "") -> QLabel:
    """A small explanatory paragraph in the theme's muted colour (restyled on change)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet(f"color: {theme.MUTED};")
    label.setProperty("gp_theme", effective_theme())
    if name:
        label.setObjectName(name)
    return label


def style_plot(item: pg.PlotItem, title: str, *, x_label: str = "", y_label: str = "") -> None:
    """Title, axes and grid in the current theme's colours (the walk restyles them)."""
    item.setTitle(title, color=theme.TITLE, size="10pt")
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(theme.AXIS)
        axis.setTextPen(theme.AXIS)
        axis.enableAutoSIPrefix(False)
        # an axis whose range did not change is blitted, not re-rendered (gui.views.styling)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if x_label:
        item.setLabel("bottom", x_label, color=theme.AXIS)
    if y_label:
        item.setLabel("left", y_label, color=theme.AXIS)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.hideButtons()


def plot_widget(name: str, **kwargs: Any) -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.PLOT_BACKGROUND, **kwargs)
    w.setObjectName(name)
    return w


def adopt_appearance(root: QWidget) -> None:
    """Give a freshly built lab the application's current theme and zoom, as
    ``Appearance.apply`` does for the widgets that exist when it runs."""
    # its group boxes' frames: a lab owned by the main window inherits that window's
    # sheet, one on its own (or in a tab) wears it too, and the theme walk keeps it current
    look_module.appearance().style_tree([root], now=True)


class LabLook(QObject):
    """Emits ``changed`` after the application's theme or zoom changed (and the theme walk
    has restyled what it knows)."""

    changed = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        look_module.appearance().changed.connect(self.changed)


# ----------------------------------------------------------------------------- transport

# Steps per second, from slow motion to as fast as the window can draw (None).
SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, None)
DEFAULT_SPEED = 5  # index: 50 steps/s


def speed_text(speed: float | None) -> str:
    return "full speed" if speed is None else f"{speed:g} steps/s"


LabAction = ActionSpec  # the trainer's transport actions, same fields


GAMES_TRANSPORT: tuple[LabAction, ...] = (
    LabAction("play", "Play", "Space", "Play or pause the game",
              QStyle.StandardPixmap.SP_MediaPlay, checkable=True),
    LabAction("step", "Step", "S", "One step of the update rule (pauses first)",
              QStyle.StandardPixmap.SP_MediaSkipForward),
    LabAction("reset", "Reset", "Ctrl+R", "Back to the start point; the settings stay",
              QStyle.StandardPixmap.SP_BrowserReload),
    LabAction("slower", "Slower", "[", "Fewer steps per second"),
    LabAction("faster", "Faster", "]", "More steps per second"),
)


def make_actions(owner: QWidget, specs: tuple[LabAction, ...]) -> dict[str, QAction]:
    """Actions with their shortcuts, live while the focus is anywhere inside ``owner``: the
    same whether the lab is a window of its own or a tab of the main window."""
    style = owner.style()
    actions: dict[str, QAction] = {}
    for spec in specs:
        action = QAction(spec.text, owner)
        if spec.icon is not None:
            action.setIcon(style.standardIcon(spec.icon))
        action.setShortcut(QKeySequence(spec.shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{spec.tip} ({spec.shortcut})")
        action.setCheckable(spec.checkable)
        action.setObjectName(f"lab_action_{spec.name}")
        owner.addAction(action)
        actions[spec.name] = action
    return actions


class KeyRouter(QObject):
    """Delivers the lab's shortcut keys to its actions before Qt's shortcut map sees them.

    A lab in a tab of the main window shares the window with the trainer's own Space, S,
    [ ] and Ctrl+R: two actions on one key are ambiguous to Qt, and neither fires. Claiming
    the key at the focused widget (accepting its ShortcutOverride) keeps it out of the
    shortcut map; the key press that follows triggers the lab's action. Text fields keep
    the keys they type (as they do against any shortcut).
    """

    def __init__(self, owner: QWidget, actions: dict[str, QAction]) -> None:
        super().__init__(owner)
        self.owner = owner
        self.keys: dict[int, QAction] = {}
        for action in actions.values():
            seq = action.shortcut()
            if not seq.isEmpty():
                self.keys[seq[0].toCombined()] = action
        self.install(owner)

    def install(self, root: QWidget) -> None:
        for w in [root, *root.findChildren(QWidget)]:
            w.installEventFilter(self)

    def _action(self, event: Any) -> QAction | None:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        action = self.keys.get(QKeySequence(event.key() | mods.value)[0].toCombined())
        return action if action is not None and action.isEnabled() else None

    def eventFilter(self, obj: QObject, event: Any) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if isinstance(obj, QLineEdit) and event.text().strip() and not (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            return False  # typing
        if isinstance(obj, QLineEdit) and event.key() == Qt.Key.Key_Space:
            return False
        action = self._action(event)
        if action is None:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # not a shortcut: deliver it as a key press, to us
            return True
        if not event.isAutoRepeat() or not action.isCheckable():
            action.trigger()
        return True


# ----------------------------------------------------------------------------- throttle


class Throttle(QObject):
    """Runs ``work(value)`` for the latest requested value, at most once per interval.

    The first request runs at once; requests that arrive while the interval after a run has
    not passed only replace the pending value (intermediate drag positions are dropped), and
    when it passes the last one runs. So the window never queues computations, and what is
    on screen always ends on the last value. The interval grows with the work's measured
    duration (``factor`` times it), so a slow machine still gets time to paint.
    """

    ran = Signal()

    _NOTHING = object()

    def __init__(self, work: Callable[[Any], None], *, interval_ms: int = 40,
                 factor: float = 1.5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.work = work
        self.base_interval_ms = interval_ms
        self.factor = factor
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._on_timeout)
        self._pending: Any = self._NOTHING
        self.runs = 0
        self.timeouts = 0
        self.durations_ms: list[float] = []

    @property
    def pending(self) -> bool:
        return self._pending is not self._NOTHING

    def request(self, value: Any) -> None:
        if self.timer.isActive():
            self._pending = value
            return
        self._run(value)

    def flush(self) -> None:
        """Run the pending value now, if any (a test, or the window closing)."""
        if self.pending:
            self.timer.stop()
            self._on_timeout()

    def _on_timeout(self) -> None:
        self.timeouts += 1
        if self.pending:
            value, self._pending = self._pending, self._NOTHING
            self._run(value)

    def _run(self, value: Any) -> None:
        t0 = time.perf_counter()
        try:
            self.work(value)
        finally:
            ms = 1000.0 * (time.perf_counter() - t0)
            self.runs += 1
            self.durations_ms.append(ms)
            del self.durations_ms[:-200]
            self.timer.start(max(self.base_interval_ms, int(self.factor * ms)))
            self.ran.emit()


def fit_side(side: QWidget, scroll: QWidget, extra: int = 80) -> None:
    """A side panel in a scroll area: as wide as its controls need at the current font (so
    nothing is clipped at any zoom), and a little wider at most."""
    side.setMinimumWidth(0)
    need = side.minimumSizeHint().width()
    side.setMinimumWidth(need)
    bar = scroll.verticalScrollBar().sizeHint().width()  # type: ignore[attr-defined]
    scroll.setMinimumWidth(need + bar)
    scroll.setMaximumWidth(need + bar + extra)


FRAME_ALLOWANCE = (16, 48)  # a window manager's borders and title bar, before they exist


def fit_screen(size: tuple[int, int], near: QWidget | None = None) -> tuple[int, int]:
    """``size``, shrunk to fit the available area of ``near``'s screen (the primary one
    without it) with its frame: a 1280×720 lab on a 1280×720 screen must not lose its
    bottom row of captions under the taskbar."""
    screen = near.screen() if near is not None else QGuiApplication.primaryScreen()
    if screen is None:
        return size
    avail = screen.availableGeometry()
    return (min(size[0], avail.width() - FRAME_ALLOWANCE[0]),
            min(size[1], avail.height() - FRAME_ALLOWANCE[1]))


def open_window(widget: QWidget, parent: QWidget | None, title: str,
                size: tuple[int, int]) -> QWidget:
    """Show ``widget`` as a non-modal top-level window owned by ``parent`` (closed with it,
    deleted when closed)."""
    if parent is not None:
        widget.setParent(parent, Qt.WindowType.Window)
    widget.setWindowFlag(Qt.WindowType.Window, True)
    widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    widget.setWindowTitle(title)
    widget.resize(*fit_screen(size, parent))
    widget.show()
    widget.raise_()
    widget.activateWindow()
    return widget


def message_label(name: str) -> QLabel:
    """A line for refusals and stops, coloured by level (``show_message``)."""
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)  # engine messages may hold "<" and "&"
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_message(label: QLabel, text: str, level: str = "info") -> None:
    name = effective_theme()
    colours = theme.MESSAGE_COLOURS[name]
    bg, fg = colours.get(level, colours["info"])
    label.setStyleSheet(f"background: {bg}; color: {fg}; border-radius: 4px; padding: 4px 8px;")
    label.setProperty("gp_theme", name)
    label.setProperty("level", level)
    label.setText(text)
    label.show()


def restyle_message(label: QLabel) -> None:
    """The message's colours for the current theme (after a theme change)."""
    if label.isVisibleTo(label.parentWidget()) and label.text():
        show_message(label, label.text(), str(label.property("level") or "info"))


def elapsed_ms(t0: float) -> float:
    return 1000.0 * (time.perf_counter() - t0)

"""How the window looks on a projector: light, dark or the system's theme, and one zoom
for every view (fonts, line widths, markers, axes) together.

A lecturer projecting the window needs bigger type and thicker lines than a researcher at a
desk, and often a light background. Both change live: ``Appearance.apply`` restyles the
palette and the application's font, then walks every pyqtgraph view (backgrounds, axes,
titles, legends, text, curve pens and markers, our point clouds) so nothing keeps the old
look; a widget's style sheet colours are mapped between the two themes' palettes, so the
explanatory captions stay readable on either. Both settings are remembered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from . import theme

ZOOM_STEPS = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)
THEMES = ("system", "dark", "light")


@dataclass(frozen=True)
class Palette:
    window: str
    base: str
    button: str
    text: str
    disabled: str
    tooltip: str
    group_border: str
    plot_background: str
    axis: str
    title: str
    plot_text: str
    muted: str
    heatmap_middle: tuple[int, int, int]
    heatmap_inner: tuple[tuple[int, int, int], tuple[int, int, int]]


DARK = Palette(window="#2a2d33", base="#1f2126", button="#33363d", text="#e6e8eb",
               disabled="#7a7f88", tooltip="#33363d", group_border="#3a3e46",
               plot_background="#17181c", axis="#9aa0aa", title="#cfd3da",
               plot_text="#d8dbe0", muted="#8a8f98", heatmap_middle=(26, 27, 32),
               heatmap_inner=((52, 34, 74), (26, 70, 48)))
LIGHT = Palette(window="#eef0f3", base="#ffffff", button="#e2e5ea", text="#111827",
                disabled="#9ca3af", tooltip="#ffffff", group_border="#c7ccd4",
                plot_background="#ffffff", axis="#4b5563", title="#1f2937",
                plot_text="#111827", muted="#4b5563", heatmap_middle=(244, 244, 246),
                heatmap_inner=((205, 185, 232), (180, 226, 196)))

# colours written into style sheets and plot items by the views, and their light twins
_COLOUR_PAIRS = (
    ("#17181c", "#ffffff"), ("#9aa0aa", "#4b5563"), ("#cfd3da", "#1f2937"),
    ("#d8dbe0", "#111827"), ("#8a8f98", "#4b5563"), ("#9ca3af", "#6b7280"),
    ("#fca5a5", "#b91c1c"), ("#facc15", "#a16207"), ("#e6e8eb", "#111827"),
    ("#cfe3ff", "#1e3a5f"), ("#ffe7a3", "#5b4506"), ("#ffd0d0", "#6b1d1d"),
    # message bars' backgrounds (theme.MESSAGE_COLOURS): only their text was swapped, and a
    # warning shown before a switch to the light theme turned dark on its dark bar
    ("#1e3a5f", "#dbeafe"), ("#4a3b12", "#fef3c7"), ("#5a1d1d", "#fee2e2"),
)
_TO_LIGHT = {a: b for a, b in _COLOUR_PAIRS}
_TO_DARK = {b: a for a, b in _COLOUR_PAIRS}
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


NO_LINE = theme.NO_AXIS_LINE
# set on a window ``apply(root)`` styled: it wears ``window_sheet``
THEMED_WINDOW = "gp_window"
APP_SHEET = theme.APP_SHEET
# a hidden view's restyle waits for it to be shown (set in its __dict__ while it waits);
# the second marks a view the Appearance already watches for that
RESTYLE_DUE = "_appearance_restyle_due"
RESTYLE_WATCHED = "_appearance_watched"

def _table(worn: str, wanted: str) -> dict[str, str] | None:
    """The colour map from the theme something wears to the one wanted (None: same)."""
    if worn == wanted:
        return None
    return _TO_LIGHT if wanted == "light" else _TO_DARK


def _swap_colours(text: str, table: dict[str, str]) -> str:
    return _HEX.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text)


def themed(colour: str) -> str:
    """``colour`` (one the views are written in: the dark theme's) as the theme of the
    moment wears it, for what a view makes after it was styled (a new swap label)."""
    table = _table("dark", appearance().effective)
    return colour if table is None else _swap_colours(colour, table)


def _swap_fill(item: pg.TextItem, table: dict[str, str]) -> None:
    """A text's filled box follows its text (a swap marker's label: dark box, light text;
    with the text swapped alone, dark amber on the dark box could not be read)."""
    fill = getattr(item, "fill", None)
    if fill is None or fill.style() == Qt.BrushStyle.NoBrush:
        return
    colour = fill.color()
    swapped = QColor(_swap_colours(colour.name(), table))
    if swapped != QColor(colour.name()):
        swapped.setAlpha(colour.alpha())
        item.fill = pg.mkBrush(swapped)
        item.update()


_INSTANCE: Appearance | None = None


def appearance(settings: QSettings | None = None) -> Appearance:
    """The application's one ``Appearance`` (made on first use, with ``settings`` or the
    app's own)."""
    global _INSTANCE
    if _INSTANCE is None:
        from .settings import app_settings

        _INSTANCE = Appearance(settings if settings is not None else app_settings())
    return _INSTANCE


class Appearance(QObject):
    """The application's theme and zoom (one per application)."""

    changed = Signal()

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.theme = str(settings.value("appearance/theme", "system"))
        if self.theme not in THEMES:
            self.theme = "system"
        try:
            self.zoom = float(settings.value("appearance/zoom", 1.0))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.zoom = 1.0
        self.zoom = min(max(self.zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        self._base_font: QFont | None = None
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda *_: self._follow_system())

    # ------------------------------------------------------------------ state
    @property
    def effective(self) -> str:
        """'dark' or 'light': the system's scheme when following it (dark when unknown)."""
        if self.theme != "system":
            return self.theme
        hints = QGuiApplication.styleHints()
        scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else None
        return "light" if scheme == Qt.ColorScheme.Light else "dark"

    @property
    def palette(self) -> Palette:
        return LIGHT if self.effective == "light" else DARK

    def set_theme(self, name: str) -> None:
        if name not in THEMES:
            raise ValueError(f"theme: {name!r}; allowed: {', '.join(THEMES)}")
        self.theme = name
        self.settings.setValue("appearance/theme", name)
        self.apply()

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self.zoom + 1e-6), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.zoom - 1e-6),
                           ZOOM_STEPS[0]))

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(max(float(zoom), ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        self.settings.setValue("appearance/zoom", self.zoom)
        self.apply()

    def _follow_system(self) -> None:
        if self.theme == "system":
            self.apply()

    # ------------------------------------------------------------------ applying
    def apply(self, root: QWidget | None = None) -> None:
        """Palette, font and every plot, for the current theme and zoom: those under
        ``root`` (a window just built), or under every top-level window, a plot hidden in
        a tab when it is next shown (a switch then costs what is on screen, ~0.1 s).

        The walk goes down from live windows rather than through ``allWidgets()``: that
        list hands out Qt's internal widgets (popups, delegates) whose Python wrappers can
        outlive them, and touching one of those crashed the interpreter."""
        app = QApplication.instance()
        if app is None:
            return
        pal = self.palette
        theme.set_colours(pal.plot_background, pal.axis, pal.title, pal.plot_text, pal.muted,
                          pal.heatmap_middle, pal.heatmap_inner)
        # each of these re-polishes every widget of the application (thousands: pyqtgraph
        # builds a menu tree per plot), so they are only set when they change; a window
        # built under the current ones has them already
        palette = _qpalette(pal)
        if app.palette() != palette:
            app.setPalette(palette)
        if app.styleSheet() != APP_SHEET:
            app.setStyleSheet(APP_SHEET)
        if self._base_font is None:
            self._base_font = QFont(app.font())
        font = QFont(self._base_font)
        size = self._base_font.pointSizeF()
        if size > 0:
            font.setPointSizeF(size * self.zoom)
        if app.font() != font:
            app.setFont(font)
        roots = [root] if root is not None else list(app.topLevelWidgets())
        self.style_tree(roots, now=root is not None)
        self.changed.emit()

    def style_tree(self, roots: list[QWidget], *, now: bool) -> None:
        """Each root marked as a window the app built (it wears ``window_sheet``) when
        ``now`` (it was just built), then the current theme and zoom under each root:
        style-sheet colours swapped, every view restyled; a hidden view when it is next
        shown unless ``now``."""
        name, pal = self.effective, self.palette
        sheet = window_sheet(pal)
        if now:
            for root in roots:
                root.setProperty(THEMED_WINDOW, True)
        for w in _live_widgets(roots):
            if w.property(THEMED_WINDOW):
                if w.styleSheet() != sheet:
                    w.setStyleSheet(sheet)
                continue
            # views are built with the dark colours; each remembers which it wears now
            table = _table(str(w.property("gp_theme") or "dark"), name)
            if table is not None and w.styleSheet():
                w.setStyleSheet(_swap_colours(w.styleSheet(), table))
            w.setProperty("gp_theme", name)
            if isinstance(w, pg.GraphicsView):
                if now or w.isVisible():
                    restyle_view(w, pal, self.zoom, name)
                    w.__dict__.pop(RESTYLE_DUE, None)
                else:  # restyled when shown (a hidden tab's views cost a switch ~0.1 s)
                    self._restyle_when_shown(w)

    def _restyle_when_shown(self, view: pg.GraphicsView) -> None:
        view.__dict__[RESTYLE_DUE] = True
        if not view.__dict__.get(RESTYLE_WATCHED):
            view.__dict__[RESTYLE_WATCHED] = True
            view.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if (event.type() == QEvent.Type.Show and isinstance(obj, pg.GraphicsView)
                and obj.__dict__.pop(RESTYLE_DUE, False)):
            restyle_view(obj, self.palette, self.zoom, self.effective)
        return False


def window_sheet(pal: Palette) -> str:
    """The style sheet of a window the app builds (``apply(root)``): its group boxes'
    frames. It is set on the window, not on the application: a sheet of the application's
    re-polishes every widget, pyqtgraph's hundreds of hidden context menus included, and
    froze the window for about a second at each theme switch."""
    return (f"QGroupBox {{ font-weight: 600; border: 1px solid {pal.group_border};"
            " border-radius: 6px; margin-top: 12px; padding: 6px 4px 4px 4px; }"
            "QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }")


def _live_widgets(roots: list[QWidget]) -> Iterator[QWidget]:
    """Each root still alive and its widgets. A window whose C++ side was deleted (closed
    and destroyed, its Python wrapper still about) is skipped instead of raising; so are
    context menus (pyqtgraph keeps a tree of them per plot, hidden, nothing of ours)."""
    for root in roots:
        try:
            if not shiboken6.isValid(root) or isinstance(root, QMenu):
                continue
            children = root.findChildren(QWidget)
        except RuntimeError:
            continue
        yield root
        yield from (w for w in children if shiboken6.isValid(w))


def _qpalette(pal: Palette) -> QPalette:
    p = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, pal.window), (QPalette.ColorRole.WindowText, pal.text),
        (QPalette.ColorRole.Base, pal.base), (QPalette.ColorRole.AlternateBase, pal.window),
        (QPalette.ColorRole.ToolTipBase, pal.tooltip), (QPalette.ColorRole.ToolTipText, pal.text),
        (QPalette.ColorRole.Text, pal.text), (QPalette.ColorRole.Button, pal.button),
        (QPalette.ColorRole.ButtonText, pal.text), (QPalette.ColorRole.BrightText, "#dc2626"),
        (QPalette.ColorRole.Highlight, "#3b82f6"), (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.Link, "#2563eb"), (QPalette.ColorRole.PlaceholderText, pal.disabled),
    ):
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(pal.disabled))
    return p


def set_unzoomed(obj: Any, key: str, value: Any) -> None:
    """Tell the zoom what ``obj``'s ``key`` is at zoom 1 (an item made or set at another
    zoom: ``restyle_view`` scales from this, never from what it finds)."""
    obj.__dict__.setdefault("_appearance_base", {})[key] = value


def _base(obj: Any, key: str, value: Any) -> Any:
    """The value an item had before any zoom (remembered on the item the first time)."""
    store = obj.__dict__.setdefault("_appearance_base", {})
    return store.setdefault(key, value)


def restyle_view(view: pg.GraphicsView, pal: Palette, zoom: float, name: str) -> None:
    """One pyqtgraph view: background, axes, titles, legends, texts, pens and markers.

    A view whose ``gp_paper`` property is set keeps its own colours in every theme (the
    1-D view's picture of the GAN paper, drawn dark on white): only the zoom applies."""
    paper = bool(view.property("gp_paper"))
    if not paper:
        view.setBackground(pal.plot_background)
    scene = view.scene()
    if scene is None:
        return
    for item in scene.items():
        table = _table(item.__dict__.get("_appearance_theme", "dark"), name)
        item.__dict__["_appearance_theme"] = name
        if paper:
            table = None
        if isinstance(item, pg.AxisItem):
            if not paper:
                # an axis drawn as labels only (the image grids' row names) keeps no line
                item.setPen(pg.mkPen(None) if item.__dict__.get(NO_LINE) else pal.axis)
                item.setTextPen(pal.axis)
            font = QFont(_base(item, "font", QFont(item.style.get("tickFont") or QFont())))
            base_pt = font.pointSizeF() if font.pointSizeF() > 0 else 8.0
            font.setPointSizeF(base_pt * zoom)
            item.setStyle(tickFont=font)
            if item.label is not None and item.labelText:
                item.labelStyle = {**item.labelStyle, "font-size": f"{9 * zoom:.0f}pt",
                                   **({} if paper else {"color": pal.axis})}
                item._updateLabel()
        elif isinstance(item, pg.LabelItem):
            text = item.text
            if text:
                size = _base(item, "size", item.opts.get("size") or "10pt")
                try:
                    pts = float(str(size).removesuffix("pt"))
                except ValueError:
                    pts = 10.0
                color = item.opts.get("color")
                if isinstance(color, str):
                    color = _swap_colours(color, table) if table is not None else color
                elif not paper:
                    color = pal.title
                item.setText(text, color=color, size=f"{pts * zoom:.1f}pt")
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextSize(f"{8 * zoom:.1f}pt")
            if not paper:
                item.setLabelTextColor(pal.plot_text)
                brush = QColor(pal.plot_background)
                brush.setAlpha(210)
                item.setBrush(pg.mkBrush(brush))
        elif isinstance(item, pg.TextItem):
            if table is not None:
                c = item.color.name() if hasattr(item, "color") else None
                if c is not None:
                    item.setColor(_swap_colours(c, table))
                _swap_fill(item, table)
        elif isinstance(item, pg.ColorBarItem):
            item.setColorMap(theme.heatmap_colormap())  # the app's colour bars are all D's
        elif isinstance(item, pg.PlotDataItem):
            _zoom_plot_data(item, zoom)
        elif hasattr(item, "set_zoom"):
            item.set_zoom(zoom)


def _zoom_plot_data(item: pg.PlotDataItem, zoom: float) -> None:
    pen = item.opts.get("pen")
    if pen is not None:
        qpen = pg.mkPen(pen)
        width = _base(item, "pen_width", qpen.widthF() or 1.0)
        qpen.setWidthF(width * zoom)
        qpen.setCosmetic(True)
        item.setPen(qpen)
    size = item.opts.get("symbolSize")
    if item.opts.get("symbol") is not None and size:
        item.setSymbolSize(_base(item, "symbol_size", size) * zoom)

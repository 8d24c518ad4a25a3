"""Colours and the application palette, in one place so views and the screenshot agree.

A dark Fusion palette keeps the plots (dark backgrounds, bright samples) and the controls
visually one tool, and Fusion renders the same under X11, Wayland and the offscreen platform
used by the tests.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

PLOT_BACKGROUND = "#17181c"
AXIS = "#9aa0aa"
REAL = "#4ade80"        # real samples: green, as in GAN Lab
FAKE = "#c084fc"        # generated samples: violet
DRAWN = "#facc15"       # points being drawn, before they are sent
D_LOSS = "#60a5fa"
G_LOSS = "#f472b6"
D_REAL = REAL
D_FAKE = FAKE
D_GRAD = D_LOSS
G_GRAD = G_LOSS

# (background, text) of a message bar per level, in each theme (the main window's message
# line and the labs' alike; appearance swaps one set for the other on a theme change)
MESSAGE_COLOURS = {
    "dark": {"info": ("#1e3a5f", "#cfe3ff"), "warning": ("#4a3b12", "#ffe7a3"),
             "error": ("#5a1d1d", "#ffd0d0")},
    "light": {"info": ("#dbeafe", "#1e3a5f"), "warning": ("#fef3c7", "#5b4506"),
              "error": ("#fee2e2", "#6b1d1d")},
}


TITLE = "#cfd3da"
PLOT_TEXT = "#d8dbe0"
MUTED = "#8a8f98"
_HEAT_MIDDLE: tuple[int, int, int] = (26, 27, 32)
_HEAT_INNER: tuple[tuple[int, int, int], tuple[int, int, int]] = ((52, 34, 74), (26, 70, 48))


def set_colours(plot_background: str, axis: str, title: str, plot_text: str, muted: str,
                heat_middle: tuple[int, int, int],
                heat_inner: tuple[tuple[int, int, int], tuple[int, int, int]]) -> None:
    """The current theme's plot colours (``gui.appearance`` sets them); views built after
    this read them, views already built are restyled by ``gui.appearance``."""
    global PLOT_BACKGROUND, AXIS, TITLE, PLOT_TEXT, MUTED, _HEAT_MIDDLE, _HEAT_INNER
    PLOT_BACKGROUND, AXIS, TITLE, PLOT_TEXT, MUTED = plot_background, axis, title, plot_text, muted
    _HEAT_MIDDLE, _HEAT_INNER = heat_middle, heat_inner


def heatmap_colormap() -> pg.ColorMap:
    """D's output: violet where D says "fake" (0), neutral at 0.5 (dark, or light in the
    light theme), green where it says "real" (1).

    The neutral middle keeps the samples readable on top, and the two ends match the sample
    colours, so "D thinks this region is real" reads at a glance.
    """
    return pg.ColorMap(
        [0.0, 0.25, 0.5, 0.75, 1.0],
        [(92, 52, 132), _HEAT_INNER[0], _HEAT_MIDDLE, _HEAT_INNER[1], (38, 140, 84)],
    )


# the application's own style sheet, the same in both themes: a tooltip has no window to
# inherit a sheet from, and this grey frames it on either background (the group boxes'
# frames are the windows' own: ``gui.appearance.window_sheet``)
APP_SHEET = "QToolTip { border: 1px solid #6b7280; padding: 4px; }"


def apply_theme(app: QApplication) -> None:
    """Fusion with a dark palette; idempotent."""
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor("#1f2126"), QColor("#2a2d33"), QColor("#e6e8eb")
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#33363d"))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#33363d"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#3b82f6"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Link, QColor("#60a5fa"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8a8f98"))
    disabled = QColor("#7a7f88")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(p)
    app.setStyleSheet(APP_SHEET)

# set (True) in an AxisItem's __dict__ when it shows labels only: a theme or zoom change
# (gui.appearance) keeps its line hidden
NO_AXIS_LINE = "_appearance_no_line"

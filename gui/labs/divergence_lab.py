"""The Divergences lab (issue #14): fit one Gaussian p = N(μ, σ²) to a two-Gaussian mixture π
by five divergences and see where each puts it (seed 003, "Jensen-Shannon vs Kullback-Leibler").

The user edits π by dragging handles on the density plot (a component's peak moves its mean,
the handle one standard deviation out sets its width) or by typing; each divergence's optimum
is drawn over π, and its landscape over (μ, σ) is a small heatmap with the grid's minimum
marked. The fits and landscapes (``engine.divlab``, exact quadrature, no sampling) take tens
of milliseconds, so they go through a ``Throttle``: a drag redraws π at once and the fits at
most once per interval, always ending on the last position.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.divlab import (
    DIVERGENCES,
    Fit,
    Landscape,
    Mixture2,
    default_axes,
    default_bandwidth,
    fit,
    landscape,
)

from ..views.axes import round_up
from .common import (
    LabLook,
    Throttle,
    adopt_appearance,
    caption,
    effective_theme,
    fit_side,
    open_window,
    palette,
    plot_widget,
    set_pen,
    style_plot,
    with_alpha,
    zoom,
)

GRID = 48  # landscape cells per side
DRAG_GRID = 32  # ... while a handle or the weight slider is held (less than half the work)
CURVE_POINTS = 500
NAMES = tuple(DIVERGENCES)
SHORT = {"kl_forward": "KL(π‖p)", "kl_reverse": "KL(p‖π)", "js": "JS(π, p)", "w1": "W₁(π, p)",
         "mmd": "MMD²(π, p)"}
COLOURS = {
    "dark": {"kl_forward": "#f472b6", "kl_reverse": "#a78bfa", "js": "#34d399",
             "w1": "#fbbf24", "mmd": "#38bdf8"},
    "light": {"kl_forward": "#db2777", "kl_reverse": "#7c3aed", "js": "#059669",
              "w1": "#b45309", "mmd": "#0284c7"},
}
# coincident optima (JS on KL(p‖π)'s mode, say) stay visible: each curve has its own dashes
STYLES = {"kl_forward": Qt.PenStyle.SolidLine, "kl_reverse": Qt.PenStyle.DashLine,
          "js": Qt.PenStyle.DashDotLine, "w1": Qt.PenStyle.SolidLine,
          "mmd": Qt.PenStyle.DashDotDotLine}
COMPONENT_COLOURS = {"dark": ("#e5e7eb", "#9ca3af"), "light": ("#111827", "#4b5563")}
S_MIN, S_MAX = 0.05, 5.0
M_LIM = 10.0

EXAMPLES: dict[str, Mixture2] = {
    "Two modes, unequal weights": Mixture2(-2.0, 2.0, 0.6, 0.8, 0.6),
    "Two equal modes": Mixture2(-2.0, 2.0, 0.6, 0.6, 0.5),
    "Far apart": Mixture2(-4.0, 4.0, 0.5, 0.5, 0.5),
    "Overlapping": Mixture2(-0.8, 0.8, 0.8, 0.8, 0.5),
    "Narrow and wide": Mixture2(-1.5, 1.5, 0.3, 1.2, 0.4),
}


def colour(name: str) -> str:
    return COLOURS[effective_theme()][name]


def gaussian(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))


def settle(vb: pg.ViewBox) -> None:
    """Do a view box's pending auto-range and transform now rather than when it is next
    painted: done while painting, they change what is being painted and the view is painted
    a second time (half the cost of a drag step in this lab)."""
    vb.prepareForPaint()


def nice_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Two to four round, labelled ticks between lo and hi (about three on a small
    heatmap's axis at any zoom)."""
    step = round_up((hi - lo) / 4.0)
    first = math.ceil(lo / step) * step
    values = np.arange(first, hi + 1e-9 * step, step)
    return [(float(v), f"{v + 0.0:g}") for v in np.round(values / step) * step]


def heat_shade(values: np.ndarray) -> np.ndarray:
    """What a heatmap shows: log10 of the value above the grid's minimum (plus a little,
    so the minimum is finite): a valley's floor and its walls both stay readable."""
    lo, hi = float(np.min(values)), float(np.max(values))
    floor = 1e-3 * (hi - lo) + 1e-12
    return np.log10(values - lo + floor)


@dataclass(frozen=True)
class Request:
    """One computation: π and MMD's bandwidth (None: π's std, the default)."""

    mixture: Mixture2
    bandwidth: float | None
    grid: int = 48


class Handle(pg.TargetItem):
    """A marker the user drags sideways; it emits ``dragged(x)`` and lets the lab move it
    (the lab's mixture stays the one source of truth)."""

    dragged = Signal(float)
    released = Signal()

    def __init__(self, symbol: str, size: float, tip: str) -> None:
        super().__init__(pos=(0.0, 0.0), size=size, symbol=symbol, movable=True)
        self._base_size = size
        self.setToolTip(tip)
        self._offset = 0.0
        self.setZValue(20)

    def set_colour(self, colour: str, background: str) -> None:
        self.setPen(pg.mkPen(background, width=1.5))
        self.setBrush(pg.mkBrush(colour))
        self.setHoverPen(pg.mkPen(colour, width=2))
        self.setHoverBrush(pg.mkBrush(with_alpha(colour, 160)))
        self.currentPen, self.currentBrush = self.pen, self.brush
        self.update()

    def set_zoom(self, zoom: float) -> None:
        self.scale = self._base_size * zoom
        self._shape = None
        self.prepareGeometryChange()
        self.update()

    def mouseDragEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        if ev.isStart():
            self._offset = self.pos().x() - self.mapToView(ev.buttonDownPos()).x()
            self.moving = True
        if not self.moving:
            return
        self.dragged.emit(float(self._offset + self.mapToView(ev.pos()).x()))
        if ev.isFinish():
            self.moving = False
            self.released.emit()


class DivergenceLab(QWidget):
    """The divergences lab: put it in a tab, or open it with ``open_divergence_lab``."""

    computed = Signal()

    def __init__(self, parent: QWidget | None = None, mixture: Mixture2 | None = None, *,
                 grid: int = GRID, drag_grid: int = DRAG_GRID) -> None:
        super().__init__(parent)
        self.setObjectName("divergence_lab")
        self.grid, self.drag_grid = grid, drag_grid
        self.mixture = mixture if mixture is not None else next(iter(EXAMPLES.values()))
        self.bandwidth: float | None = None  # None: default_bandwidth(π)
        self.fits: dict[str, Fit] = {}
        self.landscapes: dict[str, Landscape] = {}
        self.computed_for: Request | None = None
        self.dragging = False
        self.throttle = Throttle(self._compute, interval_ms=40, parent=self)
        self._build()
        self.throttle.ran.connect(self._show_timing)
        self.look = LabLook(self)
        self.look.changed.connect(self._restyle)
        adopt_appearance(self)
        self._restyle()
        self._show_mixture()
        self.fit_view()
        self.density.getPlotItem().vb.sigXRangeChanged.connect(self._on_panned)
        self.throttle.request(self.request())

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("divergence_split")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(split)
        split.addWidget(self._build_side())
        split.addWidget(self._build_plots())
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([290, 990])

    def _spin(self, name: str, lo: float, hi: float, step: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(lo, hi)
        spin.setDecimals(2)
        spin.setSingleStep(step)
        spin.setToolTip(tip)
        # apply when typing is done (Enter, focus out, arrows): π's echo into the boxes
        # rewrites their text, which at every keystroke would cut "1.25" short at "1"
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(self._on_spin)
        return spin

    def _build_side(self) -> QWidget:
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)
        self.example = QComboBox()
        self.example.setObjectName("divergence_example")
        self.example.addItem("Examples…", "")
        for name in EXAMPLES:
            self.example.addItem(name, name)
        self.example.setToolTip("A ready-made π")
        self.example.activated.connect(lambda i: self.load_example(self.example.itemData(i)))
        layout.addWidget(self.example)

        box = QGroupBox("π = w·N(μ₁, σ₁²) + (1 − w)·N(μ₂, σ₂²)")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        self.spins = {
            "m1": self._spin("m1", -M_LIM, M_LIM, 0.1, "μ₁: the first component's mean "
                             "(or drag its peak)"),
            "s1": self._spin("s1", S_MIN, S_MAX, 0.05, "σ₁: the first component's std (or "
                             "drag the diamond one std out)"),
            "m2": self._spin("m2", -M_LIM, M_LIM, 0.1, "μ₂: the second component's mean"),
            "s2": self._spin("s2", S_MIN, S_MAX, 0.05, "σ₂: the second component's std"),
        }
        grid.addWidget(QLabel(""), 0, 0)
        grid.addWidget(QLabel("μ"), 0, 1, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(QLabel("σ"), 0, 2, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(QLabel("1"), 1, 0)
        grid.addWidget(self.spins["m1"], 1, 1)
        grid.addWidget(self.spins["s1"], 1, 2)
        grid.addWidget(QLabel("2"), 2, 0)
        grid.addWidget(self.spins["m2"], 2, 1)
        grid.addWidget(self.spins["s2"], 2, 2)
        self.weight_slider = QSlider(Qt.Orientation.Horizontal)
        self.weight_slider.setObjectName("weight_slider")
        self.weight_slider.setRange(1, 99)
        self.weight_slider.setToolTip("w: the first component's weight")
        self.weight_slider.valueChanged.connect(self._on_weight_slider)
        self.weight_slider.sliderReleased.connect(self._on_released)
        self.spins["w"] = self._spin("w", 0.01, 0.99, 0.01, "w: the first component's weight")
        grid.addWidget(QLabel("w"), 3, 0)
        grid.addWidget(self.weight_slider, 3, 1)
        grid.addWidget(self.spins["w"], 3, 2)
        layout.addWidget(box)

        bw = QGroupBox("MMD's RBF kernel")
        row = QHBoxLayout(bw)
        row.addWidget(QLabel("h"))
        self.bandwidth_spin = QDoubleSpinBox()
        self.bandwidth_spin.setObjectName("bandwidth")
        self.bandwidth_spin.setRange(0.01, 100.0)
        self.bandwidth_spin.setDecimals(2)
        self.bandwidth_spin.setSingleStep(0.1)
        self.bandwidth_spin.setKeyboardTracking(False)
        self.bandwidth_spin.setToolTip("The kernel bandwidth h of k(x, y) = exp(−(x − y)²/2h²)")
        self.bandwidth_spin.valueChanged.connect(self._on_bandwidth)
        self.bandwidth_auto = QCheckBox("= std of π")
        self.bandwidth_auto.setObjectName("bandwidth_auto")
        self.bandwidth_auto.setChecked(True)
        self.bandwidth_auto.setToolTip("The default bandwidth: π's standard deviation "
                                       "(divlab.default_bandwidth); it follows π")
        self.bandwidth_auto.toggled.connect(self._on_bandwidth_auto)
        row.addWidget(self.bandwidth_spin, 1)
        row.addWidget(self.bandwidth_auto)
        layout.addWidget(bw)

        table = QGroupBox("The best p = N(μ*, σ*²)")
        self.table = QGridLayout(table)
        self.table.setHorizontalSpacing(8)
        self.table.setVerticalSpacing(2)
        for col, text in enumerate(("", "μ*", "σ*", "value")):
            head = QLabel(f"<b>{text}</b>")
            head.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.table.addWidget(head, 0, col)
        self.cells: dict[str, list[QLabel]] = {}
        for row_i, name in enumerate(NAMES, start=1):
            cells = [QLabel() for _ in range(4)]
            cells[0].setToolTip(DIVERGENCES[name].blurb)
            for c in cells[1:]:
                c.setAlignment(Qt.AlignmentFlag.AlignRight)
            for col, c in enumerate(cells):
                self.table.addWidget(c, row_i, col)
            self.cells[name] = cells
        self.moments = QLabel()
        self.moments.setObjectName("divergence_moments")
        self.table.addWidget(self.moments, len(NAMES) + 1, 0, 1, 4)
        layout.addWidget(table)
        self.timing = caption(name="divergence_timing")
        layout.addWidget(self.timing)
        layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setObjectName("divergence_side_scroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side, self.side_scroll = side, scroll
        fit_side(side, scroll)
        return scroll

    def _build_plots(self) -> QWidget:
        plots = QWidget()
        layout = QVBoxLayout(plots)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.density = plot_widget("divergence_density")
        item = self.density.getPlotItem()
        style_plot(item, "π and the Gaussian each divergence fits to it", x_label="x")
        item.setMenuEnabled(False)
        item.getViewBox().setMouseEnabled(x=True, y=False)
        item.enableAutoRange(y=True)
        item.setAutoVisible(y=True)
        self.legend = item.addLegend(offset=(-8, 6), labelTextSize="8pt")
        self.pi_curve = pg.PlotDataItem([], [], name="π (the data)")
        self.pi_curve.setFillLevel(0.0)
        self.component_curves = [pg.PlotDataItem([], []) for _ in range(2)]
        for c in (*self.component_curves, self.pi_curve):
            item.addItem(c)
        self.fit_curves: dict[str, pg.PlotDataItem] = {}
        for name in NAMES:
            curve = pg.PlotDataItem([], [], name=DIVERGENCES[name].title)
            curve.setZValue(5)
            item.addItem(curve)
            self.fit_curves[name] = curve
        self.handles: dict[str, Handle] = {}
        self.std_bars = [pg.PlotDataItem([], []) for _ in range(2)]
        for bar in self.std_bars:
            bar.setZValue(15)
            item.addItem(bar)
        for i in (1, 2):
            mean = Handle("o", 13, f"Drag sideways: μ{'₁₂'[i - 1]}, component {i}'s mean")
            width = Handle("d", 14, f"Drag sideways: σ{'₁₂'[i - 1]}, component {i}'s width "
                           "(this handle sits one std from the mean)")
            mean.dragged.connect(lambda x, k=f"m{i}": self._on_drag(k, x))
            width.dragged.connect(lambda x, k=f"s{i}": self._on_drag(k, x))
            mean.released.connect(self._on_released)
            width.released.connect(self._on_released)
            self.handles[f"m{i}"], self.handles[f"s{i}"] = mean, width
            item.addItem(mean)
            item.addItem(width)
        layout.addWidget(self.density, 5)
        self.teach = caption(name="divergence_caption")
        layout.addWidget(self.teach)

        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.setSpacing(2)
        self.heatmaps: dict[str, pg.PlotWidget] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.markers: dict[str, pg.PlotDataItem] = {}
        self.fit_marks: dict[str, pg.PlotDataItem] = {}
        for i, name in enumerate(NAMES):
            w = plot_widget(f"landscape_{name}")
            w.setMinimumWidth(120)
            p = w.getPlotItem()
            style_plot(p, SHORT[name], x_label="μ", y_label="σ" if i == 0 else "")
            p.showGrid(x=False, y=False)
            p.setMenuEnabled(False)
            p.setMouseEnabled(x=False, y=False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(pg.colormap.get("viridis"))
            p.addItem(image)
            marker = pg.PlotDataItem([], [], pen=None, symbol="x", symbolSize=13)
            marker.setZValue(10)
            p.addItem(marker)
            ring = pg.PlotDataItem([], [], pen=None, symbol="o", symbolSize=17)
            ring.setZValue(11)
            p.addItem(ring)
            self.fit_marks[name] = ring
            w.setToolTip(f"{DIVERGENCES[name].title}: {DIVERGENCES[name].blurb}")
            self.heatmaps[name], self.images[name], self.markers[name] = w, image, marker
            row_layout.addWidget(w, 1)
        layout.addWidget(row, 3)
        self.heat_caption = caption(
            "Each divergence over (μ, σ): colour is log₁₀ of its value above the grid's "
            "minimum (dark: small); <b>×</b>: the grid's minimum, <b>○</b>: the fitted optimum. "
            "Two valleys (KL(p‖π), JS when the modes are apart): the fit takes the deeper one.",
            name="divergence_heat_caption")
        layout.addWidget(self.heat_caption)
        return plots

    # ------------------------------------------------------------------ look
    def _restyle(self) -> None:
        pal = palette()
        set_pen(self.pi_curve, pal.plot_text, 2.5)
        self.pi_curve.setBrush(pg.mkBrush(with_alpha(pal.plot_text, 40)))
        comp = COMPONENT_COLOURS[effective_theme()]
        for c in self.component_curves:
            set_pen(c, with_alpha(comp[1], 200), 1.0, Qt.PenStyle.DotLine)
        for name in NAMES:
            set_pen(self.fit_curves[name], colour(name), 2.0, STYLES[name])
            ring = self.fit_marks[name]
            ring.setSymbolBrush(None)
            ring.setSymbolPen(pg.mkPen(colour(name), width=2.5))
            m = self.markers[name]
            m.setSymbolBrush(pg.mkBrush("#ffffff"))
            m.setSymbolPen(pg.mkPen("#111827", width=1.5))
            swatch = self.cells[name][0]
            swatch.setText(f"<span style='color:{colour(name)}'>■</span> {SHORT[name]}")
        for h in self.handles.values():
            h.set_colour(comp[0], pal.plot_background)
            h.set_zoom(zoom())
        for bar in self.std_bars:
            set_pen(bar, with_alpha(comp[0], 190), 1.5, Qt.PenStyle.DashLine)
        fit_side(self.side, self.side_scroll)
        # a fixed axis width: tick labels changing with π's height must not shift the
        # plot sideways under a dragging hand
        self.density.getPlotItem().getAxis("left").setWidth(int(44 * zoom()))
        names = {n: f"<b style='color:{colour(n)}'>{SHORT[n]}</b>" for n in NAMES}
        self.teach.setText(
            f"{names['kl_forward']} covers both modes: its optimum matches π's mean and "
            f"variance (moment matching). {names['kl_reverse']} seeks one mode: p hides "
            f"inside one component when they are apart. {names['js']} usually lies between, "
            f"and is mode-seeking too when the modes are far apart. {names['w1']} tracks the "
            "distance the mass must move, so its p stays near π's middle and widens with "
            f"the gap. {names['mmd']} depends on the kernel bandwidth h: a wide kernel "
            "compares overall spread (like moment matching), a narrow one the modes. "
            "Drag a ● to move a mode, a ◆ to widen it.")

    # ------------------------------------------------------------------ state
    def request(self) -> Request:
        """What to compute now: a coarser landscape while the user is dragging, the full one
        once the handle is let go."""
        return Request(self.mixture, self.bandwidth,
                       self.drag_grid if self.dragging else self.grid)

    def _on_released(self) -> None:
        self.dragging = False
        self.throttle.request(self.request())

    @property
    def effective_bandwidth(self) -> float:
        return default_bandwidth(self.mixture) if self.bandwidth is None else self.bandwidth

    def set_mixture(self, mixture: Mixture2, *, refit_view: bool = False) -> None:
        """A new π: drawn at once, fits and landscapes through the throttle."""
        self.mixture = mixture
        self._show_mixture()
        if refit_view:
            self.fit_view()
        self.throttle.request(self.request())

    def change(self, **values: float) -> bool:
        """Change some of m1, m2, s1, s2, w; False (and nothing changed) if π would be
        invalid."""
        current = {k: getattr(self.mixture, k) for k in ("m1", "m2", "s1", "s2", "w")}
        current.update(values)
        try:
            mixture = Mixture2(**current)
        except ValueError:
            return False
        self.set_mixture(mixture)
        return True

    def load_example(self, name: str) -> None:
        if name in EXAMPLES:
            self.set_mixture(EXAMPLES[name], refit_view=True)

    def _on_spin(self, _value: float) -> None:
        values = {k: s.value() for k, s in self.spins.items()}
        if self.change(**values):
            self.fit_view_if_needed()

    def _on_weight_slider(self, value: int) -> None:
        self.dragging = self.weight_slider.isSliderDown()
        self.change(w=value / 100.0)

    def _on_drag(self, key: str, x: float) -> None:
        self.dragging = True
        if key[0] == "m":
            self.change(**{key: float(np.clip(x, -M_LIM, M_LIM))})
        else:
            mean = self.mixture.m1 if key == "s1" else self.mixture.m2
            self.change(**{key: float(np.clip(abs(x - mean), S_MIN, S_MAX))})

    def _on_bandwidth(self, value: float) -> None:
        if not self.bandwidth_auto.isChecked():
            self.bandwidth = float(value)
            self.throttle.request(self.request())

    def _on_bandwidth_auto(self, auto: bool) -> None:
        self.bandwidth = None if auto else float(self.bandwidth_spin.value())
        self.bandwidth_spin.setEnabled(not auto)
        self._show_mixture()
        self.throttle.request(self.request())

    # ------------------------------------------------------------------ drawing
    def fit_view(self) -> None:
        """The density plot's x range: both components out to four stds."""
        m = self.mixture
        lo = min(m.m1 - 4 * m.s1, m.m2 - 4 * m.s2)
        hi = max(m.m1 + 4 * m.s1, m.m2 + 4 * m.s2)
        self.density.getPlotItem().vb.setXRange(lo, hi, padding=0.02)

    def fit_view_if_needed(self) -> None:
        """Refit when a typed value put a component's peak out of view."""
        (lo, hi), _ = self.density.getPlotItem().vb.viewRange()
        m = self.mixture
        if not (lo < m.m1 < hi and lo < m.m2 < hi):
            self.fit_view()

    def _on_panned(self, *_args: Any) -> None:
        """Panning or zooming the density plot: the curves are redrawn over the new range
        (cheap; no refit), so they never stop short of the view's edge."""
        self._show_curves()
        if self.fits:
            x = self._x_grid()
            for name, f in self.fits.items():
                self.fit_curves[name].setData(x, gaussian(x, f.mu, f.sigma))

    def _x_grid(self) -> np.ndarray:
        (lo, hi), _ = self.density.getPlotItem().vb.viewRange()
        m = self.mixture
        lo = min(lo, m.m1 - 6 * m.s1, m.m2 - 6 * m.s2)
        hi = max(hi, m.m1 + 6 * m.s1, m.m2 + 6 * m.s2)
        return np.linspace(lo, hi, CURVE_POINTS)

    def _show_mixture(self) -> None:
        """π, its components, the handles and the controls (cheap: every drag event)."""
        m = self.mixture
        widgets = [*self.spins.values(), self.weight_slider, self.bandwidth_spin]
        blockers = [QSignalBlocker(w) for w in widgets]
        for key, spin in self.spins.items():
            spin.setValue(getattr(m, key))
        self.weight_slider.setValue(int(round(100 * m.w)))
        if self.bandwidth is None:
            self.bandwidth_spin.setValue(default_bandwidth(m))
        del blockers
        self._show_curves()
        self.moments.setText(f"π itself: mean {m.mean:.2f}, std {m.std:.2f}")

    def _show_curves(self) -> None:
        """π, its components and the handles over the density plot's x range."""
        m = self.mixture
        x = self._x_grid()
        self.pi_curve.setData(x, m.pdf(x))
        for i, (mu, s, w) in enumerate(((m.m1, m.s1, m.w), (m.m2, m.s2, 1.0 - m.w))):
            self.component_curves[i].setData(x, w * gaussian(x, mu, s))
            peak = w / (s * math.sqrt(2.0 * math.pi))
            self.handles[f"m{i + 1}"].setPos(mu, peak)
            self.handles[f"s{i + 1}"].setPos(mu + s, peak * math.exp(-0.5))
            self.std_bars[i].setData([mu, mu + s], [peak * math.exp(-0.5)] * 2)
        settle(self.density.getPlotItem().vb)

    def _compute(self, req: Request) -> None:
        """Five fits and five landscapes for ``req``, then draw them (the throttle's work)."""
        mix, h = req.mixture, req.bandwidth
        mus, sigmas = default_axes(mix, req.grid)
        self.fits = {name: fit(name, mix, bandwidth=h) for name in NAMES}
        self.landscapes = {name: landscape(name, mix, mus, sigmas, bandwidth=h)
                           for name in NAMES}
        self.computed_for = req
        self._draw_results()
        self.computed.emit()

    def _draw_results(self) -> None:
        x = self._x_grid()
        for name in NAMES:
            f = self.fits[name]
            self.fit_curves[name].setData(x, gaussian(x, f.mu, f.sigma))
            cells = self.cells[name]
            cells[1].setText(f"{f.mu:+.2f}")
            cells[2].setText(f"{f.sigma:.2f}")
            cells[3].setText(f"{f.value:.3g}")
            land = self.landscapes[name]
            mus, sigmas = land.mus, land.sigmas
            dx = (mus[-1] - mus[0]) / max(1, mus.size - 1)
            dy = (sigmas[-1] - sigmas[0]) / max(1, sigmas.size - 1)
            shade = heat_shade(land.values)
            image = self.images[name]
            image.setImage(shade, autoLevels=False,
                           levels=(float(shade.min()), float(shade.max()) + 1e-12))
            image.setRect(QRectF(mus[0] - dx / 2, sigmas[0] - dy / 2,
                                 mus[-1] - mus[0] + dx, sigmas[-1] - sigmas[0] + dy))
            self.markers[name].setData([land.mu_best], [land.sigma_best])
            self.fit_marks[name].setData([f.mu], [f.sigma])
            plot = self.heatmaps[name].getPlotItem()
            for side, axis_values in (("bottom", mus), ("left", sigmas)):
                plot.getAxis(side).setTicks([nice_ticks(axis_values[0], axis_values[-1]), []])
            vb = plot.vb
            vb.setRange(xRange=(mus[0] - dx / 2, mus[-1] + dx / 2),
                        yRange=(sigmas[0] - dy / 2, sigmas[-1] + dy / 2), padding=0)
            settle(vb)
        settle(self.density.getPlotItem().vb)

    def _show_timing(self) -> None:
        durations = self.throttle.durations_ms
        last = durations[-1] if durations else float("nan")
        ms = statistics.median(durations[-20:]) if durations else float("nan")
        h = self.effective_bandwidth
        n, d = self.grid, self.drag_grid
        self.timing.setText(
            f"MMD bandwidth h = {h:.2f}. Five fits and five landscapes ({n}×{n}; "
            f"{d}×{d} while dragging): {ms:.0f} ms per change (median of the "
            f"last {min(20, len(durations))}; last {last:.0f} ms).")

    # ------------------------------------------------------------------ lifetime
    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.throttle.timer.stop()
        super().closeEvent(event)


def open_divergence_lab(parent: QWidget | None = None,
                        mixture: Mixture2 | None = None) -> DivergenceLab:
    """The divergences lab as a non-modal window of its own (owned by ``parent``)."""
    lab = DivergenceLab(mixture=mixture)
    return open_window(lab, parent, "Divergences lab — GAN Playground", (1280, 720))


__all__ = ["DivergenceLab", "open_divergence_lab", "EXAMPLES"]

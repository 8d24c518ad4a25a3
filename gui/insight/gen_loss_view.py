"""The generator's loss as a function of D(G(z)), with the current batch marked on it.

``engine.losses.generator_loss_curve`` gives L_G per sample for the active loss: over
(0, 1) when D's output is a probability (the BCE losses), over a range of raw scores
otherwise. The batch's D(G(z)) values (``Snapshot.d_fake``) are drawn on the curve, so one
sees the minimax loss sitting on its flat part (tiny gradient) when D rejects the fakes,
where the non-saturating loss is steepest.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.catalogue import LOSS_INFO, generator_loss_curve, no_d_note
from engine.snapshot import Snapshot

from .. import theme
from .style import TEXT_COLOR, add_curve, add_legend, caption, make_plot, unbreakable

PROB_RANGE = (1e-3, 1 - 1e-3)
CURVE_POINTS = 400
SLOPE_H = 1e-4

FORMULAS = {
    "minimax": "L_G = log(1 − D(G(z)))",
    "non-saturating": "L_G = −log D(G(z))",
    "least-squares": "L_G = ½ (D(G(z)) − 1)²",
    "wgan": "L_G = −D(G(z))",
    "wgan-gp": "L_G = −D(G(z))",
    "hinge": "L_G = −D(G(z))",
    "mmd": "L_G = MMD²(fakes, reals), no D",
}
# the other member of each family, drawn faintly for contrast
CONTRAST = {"minimax": "non-saturating", "non-saturating": "minimax",
            "least-squares": "wgan", "wgan": "least-squares", "wgan-gp": "least-squares",
            "hinge": "least-squares"}


def loss_slope(name: str, d: np.ndarray) -> np.ndarray:
    """dL_G/dD at each value (central differences of the curve)."""
    d = np.asarray(d, dtype=np.float64)
    return (generator_loss_curve(name, d + SLOPE_H) - generator_loss_curve(name, d - SLOPE_H)) \
        / (2 * SLOPE_H)


def score_range(d: np.ndarray, current: tuple[float, float] | None) -> tuple[float, float]:
    """An x range for raw scores that holds the batch, changed only when it must be."""
    finite = d[np.isfinite(d)]
    lo = float(finite.min()) if finite.size else -1.0
    hi = float(finite.max()) if finite.size else 1.0
    if current is not None:
        c0, c1 = current
        width = c1 - c0
        inside = lo >= c0 and hi <= c1
        not_too_wide = (hi - lo) > width / 4
        if inside and not_too_wide:
            return current
    pad = max(0.5, 0.25 * (hi - lo))
    lo, hi = min(lo - pad, -1.5), max(hi + pad, 1.5)
    step = 0.5 if hi - lo < 10 else 10 ** np.floor(np.log10(hi - lo)) / 2
    return float(np.floor(lo / step) * step), float(np.ceil(hi / step) * step)


class GenLossView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insight_gen_loss")
        self.loss_name = ""
        self._range: tuple[float, float] | None = None
        self._prob: bool | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.formula = QLabel("")
        self.formula.setObjectName("gen_loss_formula")
        self.formula.setStyleSheet(f"color: {TEXT_COLOR}; font-size: 11pt; font-weight: 600;")
        self.formula.setToolTip("The generator's loss per sample, as the active loss defines it")
        self.formula.setWordWrap(True)  # never wider than the panel
        layout.addWidget(self.formula)
        self.readout = QLabel("Waiting for D's output on the fakes…")
        self.readout.setObjectName("gen_loss_readout")
        self.readout.setStyleSheet(f"color: {TEXT_COLOR};")
        self.readout.setToolTip("Batch means over the 512 generated samples of the view")
        self.readout.setWordWrap(True)
        layout.addWidget(self.readout)

        self.plot = make_plot("Generator loss vs D(G(z))", x_label="D(G(z))",
                              y_label="L_G per sample", name="gen_loss_plot")
        self.plot.setToolTip("The curve: L_G as a function of D's output on a fake. Dots: "
                             "this frame's generated samples. Where the dots sit on a flat "
                             "part, G gets almost no gradient.")
        item = self.plot.getPlotItem()
        self.legend = add_legend(item, offset=(-8, 6))
        self.contrast_curve = add_curve(item, "#6b7280", "", Qt.PenStyle.DashLine)
        self.curve = add_curve(item, theme.G_LOSS, "")
        self.dots = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#17181c", width=0.5),
                                       brush=pg.mkBrush(theme.FAKE))
        self.dots.setZValue(5)
        item.addItem(self.dots)
        self.legend.addItem(self.dots, "D(G(z)) of this batch")
        self.mean_line = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(
            theme.FAKE, width=1, style=Qt.PenStyle.DotLine))
        self.mean_line.hide()
        item.addItem(self.mean_line)
        layout.addWidget(self.plot, 1)
        self.explain = caption("")
        self.explain.setObjectName("gen_loss_explain")
        layout.addWidget(self.explain)

    def extras(self) -> dict[str, bool]:
        return {"d_on_fake": True}

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, live: bool = True) -> None:
        """Draw a frame (``live=False``: a recorded one, which may lack D on the fakes)."""
        name = snap.loss_name or "non-saturating"
        prob = bool(snap.heatmap_is_probability)
        d = np.asarray(snap.d_fake, dtype=np.float64).reshape(-1) \
            if snap.d_fake is not None else np.empty(0)
        rng = PROB_RANGE if prob else score_range(d, self._range if self._prob is False
                                                  and name == self.loss_name else None)
        if name != self.loss_name or rng != self._range or prob != self._prob:
            self._draw_curves(name, prob, rng)
        if not d.size:
            self.dots.setData([], [])
            self.mean_line.hide()
            self.readout.setText("Waiting for D's output on the fakes…" if live else
                                 "This frame was recorded without D's output on the fakes: "
                                 "frames carry it while this tab is on screen.")
            return
        d = d[np.isfinite(d)]
        shown = np.clip(d, *rng)
        self.dots.setData(shown, generator_loss_curve(name, shown))
        mean = float(d.mean()) if d.size else float("nan")
        slope = np.abs(loss_slope(name, np.clip(d, *PROB_RANGE) if prob else d))
        loss = generator_loss_curve(name, d)
        self.mean_line.setValue(float(np.clip(mean, *rng)))
        self.mean_line.show()
        parts = (f"mean D(G(z)) = {mean:.3f}", f"mean L_G = {loss.mean():.3f}",
                 f"mean |∂L_G/∂D| = {slope.mean():.3g}")
        # each "name = value" stays whole: a wrapped line breaks only between them
        self.readout.setText("  ·  ".join(unbreakable(p) for p in parts))
        self._explain(name, prob, mean)

    def _draw_curves(self, name: str, prob: bool, rng: tuple[float, float]) -> None:
        self.loss_name, self._prob, self._range = name, prob, rng
        x = np.linspace(rng[0], rng[1], CURVE_POINTS)
        self.curve.setData(x, generator_loss_curve(name, x))
        other = CONTRAST.get(name)
        if other is not None and LOSS_INFO[other].probability == prob:
            self.contrast_curve.setData(x, generator_loss_curve(other, x))
        else:
            other = None
            self.contrast_curve.setData([], [])
        title = LOSS_INFO[name].title if name in LOSS_INFO else name
        self.legend.clear()
        self.legend.addItem(self.curve, title)
        if other is not None:
            self.legend.addItem(self.contrast_curve, f"{LOSS_INFO[other].title} (for contrast)")
        self.legend.addItem(self.dots, "D(G(z)) of this batch")
        # wrapped, it breaks between the three pieces, not inside the formula or the remark
        self.formula.setText(f"{title}:  {unbreakable(FORMULAS.get(name, 'L_G'))}   "
                             f"{unbreakable('(G minimises it)')}")
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "D(G(z)), a probability" if prob else "D(G(z)), a raw score",
                      color=theme.AXIS)
        item.setXRange(*rng, padding=0.02)
        y = generator_loss_curve(name, x)
        if other is not None:
            y = np.concatenate([y, generator_loss_curve(other, x)])
        item.setYRange(float(y.min()), float(y.max()), padding=0.05)

    def _explain(self, name: str, prob: bool, mean: float) -> None:
        note = no_d_note(name)
        if note:  # moment matching: G's loss does not read D (the curve is flat zero)
            text = (f"<span style='color:#facc15'>{note}. G's loss does not depend on "
                    "D(G(z)): the curve is flat and G's gradient comes from the kernel.</span>")
        elif name == "minimax" and mean < 0.2:
            text = ("<span style='color:#facc15'>D rejects the fakes, and the minimax loss is "
                    "flat there: G's gradient vanishes (the saturating loss of the original "
                    "paper). The non-saturating loss is steep in the same place.</span>")
        elif name == "minimax":
            text = "The minimax loss only gets steep once D(G(z)) is large."
        elif name == "non-saturating":
            text = ("−log D(G(z)) is steepest where D rejects the fakes: G gets a strong "
                    "gradient early in training.")
        elif prob:
            text = ""
        else:
            text = ("A critic's raw score: the loss is linear (or quadratic for least squares), "
                    "so the gradient never saturates.")
        self.explain.setText(text)

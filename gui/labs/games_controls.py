"""The games lab's settings panel: one control per ``GameSettings`` field that matters.

Every control asks for its change at once (``change_requested``, a dict of settings); the lab
applies it to the run(s) or refuses it, and then calls ``show_settings`` with what the run now
has, so a refused change springs back. ``show_settings`` never emits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from engine.games import GAMES, LOSSES, NOISE_MODES, OPTIMIZERS, REGULARIZERS, UPDATES
from engine.games.settings import MAX_LR, GameSettings

START_LIMIT = 1000.0  # the start spin boxes' range (the plane can be clicked anywhere)

# the regularizer's one strength: which setting it is, its label and tooltip
REG_PARAMETER: dict[str, tuple[str, str, str]] = {
    "r1": ("gamma", "γ", "R1: (γ/2)·E‖∇ₓD(x)‖² on real data; on the Dirac-GAN that is γψ²/2"),
    "r2": ("gamma", "γ", "R2: (γ/2)·E‖∇ₓD(x)‖² on generated samples (the same as R1 here)"),
    "gp": ("gamma", "λ", "Gradient penalty λ·(‖∇ₓD‖ − 1)² = λ(|ψ| − 1)²"),
    "clip": ("clip", "c", "Weight clipping: ψ is kept in [−c, c] after every D step"),
    "noise": ("noise_std", "σ", "Instance noise: N(0, σ²) added to every input D sees"),
}

GAME_TEXT = {
    "quadratic": "quadratic ½(x² − y²)",
    "bilinear": "bilinear xy",
    "dirac": "Dirac-GAN",
}
UPDATE_TIPS = {
    "simultaneous": "Both players step from the same point",
    "alternating": "D steps k times, then G steps against the new D (the engine's loop)",
    "extragradient": "A look-ahead step, then the real step with the gradient found there",
    "optimistic": "Each player steps along 2g_t − g_{t−1}",
    "flow": "The continuous gradient flow the discrete rules approximate (η = time per row)",
}


def _spin(lo: float, hi: float, step: float, decimals: int, name: str, tip: str
          ) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setKeyboardTracking(False)  # apply when typing is done, not at every digit
    spin.setObjectName(name)
    spin.setToolTip(tip)
    return spin


def _combo(name: str, items: list[tuple[str, str]], tip: str,
           tips: dict[str, str] | None = None) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for key, text in items:
        combo.addItem(text, key)
        if tips and key in tips:
            combo.setItemData(combo.count() - 1, tips[key], Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip(tip)
    return combo


def _select(combo: QComboBox, key: str) -> None:
    i = combo.findData(key)
    if i >= 0:
        combo.setCurrentIndex(i)


class GameControls(QWidget):
    """Game, loss, regularizer, update rule, optimizer, learning rates and start point."""

    change_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("games_controls")
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(5)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = form

        self.game = _combo("game", [(k, GAME_TEXT.get(k, k)) for k in GAMES],
                           "The game: x is G's parameter θ (it minimises V), y is D's ψ "
                           "(it maximises V)", {k: g.formula for k, g in GAMES.items()})
        self.loss = _combo("loss", [(k, k) for k in LOSSES],
                           "The Dirac-GAN's loss (the quadratic and bilinear games have a "
                           "fixed V and ignore it)")
        self.gp_weight = _spin(0.0, 1000.0, 0.1, 3, "gp_weight",
                               "λ of the wgan-gp loss's own gradient penalty")
        self.reg = _combo("reg", [(k, k) for k in REGULARIZERS],
                          "A regularizer on D (only the Dirac-GAN has D inputs to regularize)",
                          {k: v[2] for k, v in REG_PARAMETER.items()})
        self.reg_value = _spin(0.0, 1000.0, 0.05, 3, "reg_value", "")
        self.reg_label = QLabel("γ")
        self.noise_mode = _combo("noise_mode", [(k, k) for k in NOISE_MODES],
                                 "exact: each step uses the noise's expectation (quadrature); "
                                 "sampled: one random draw per step")
        self.update_rule = _combo("update", [(k, k) for k in UPDATES],
                                  "How the two players move each step", UPDATE_TIPS)
        self.d_steps = QSpinBox()
        self.d_steps.setObjectName("d_steps")
        self.d_steps.setRange(1, 100)
        self.d_steps.setKeyboardTracking(False)
        self.d_steps.setToolTip("k: D steps per G step (the alternating rule only)")
        self.optim = _combo("optim", [(k, k) for k in OPTIMIZERS],
                            "How each player turns its gradient into a step")
        self.lr = _spin(0.001, MAX_LR, 0.01, 3, "lr", "η of G (x): the step size")
        self.lr_d = _spin(0.001, MAX_LR, 0.01, 3, "lr_d", "η of D (y)")
        self.lr_same = QCheckBox("= G")
        self.lr_same.setObjectName("lr_same")
        self.lr_same.setToolTip("D uses G's learning rate (and follows it when it changes)")
        lr_d_row = QWidget()
        row = QHBoxLayout(lr_d_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.lr_d, 1)
        row.addWidget(self.lr_same)
        self.start_x = _spin(-START_LIMIT, START_LIMIT, 0.1, 2, "start_x", "x₀: where G starts")
        self.start_y = _spin(-START_LIMIT, START_LIMIT, 0.1, 2, "start_y", "y₀: where D starts")
        start_row = QWidget()
        row = QHBoxLayout(start_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start_x, 1)
        row.addWidget(self.start_y, 1)
        start_row.setToolTip("The start point (x₀, y₀); clicking the plane sets it too")

        form.addRow("Game", self.game)
        form.addRow("Loss", self.loss)
        form.addRow("GP λ", self.gp_weight)
        form.addRow("Regularizer", self.reg)
        form.addRow(self.reg_label, self.reg_value)
        form.addRow("Noise", self.noise_mode)
        form.addRow("Update", self.update_rule)
        form.addRow("D steps k", self.d_steps)
        form.addRow("Optimizer", self.optim)
        form.addRow("lr G", self.lr)
        form.addRow("lr D", lr_d_row)
        form.addRow("Start", start_row)

        for key, combo in (("game", self.game), ("loss", self.loss), ("reg", self.reg),
                           ("noise_mode", self.noise_mode), ("update", self.update_rule),
                           ("optim", self.optim)):
            combo.activated.connect(lambda _i, k=key, c=combo: self._ask(k, c.currentData()))
        self.gp_weight.valueChanged.connect(lambda v: self._ask("gp_weight", v))
        self.reg_value.valueChanged.connect(self._on_reg_value)
        self.d_steps.valueChanged.connect(lambda v: self._ask("d_steps", v))
        self.lr.valueChanged.connect(lambda v: self._ask("lr", v))
        self.lr_d.valueChanged.connect(lambda v: self._ask("lr_d", v))
        self.lr_same.toggled.connect(
            lambda same: self._ask("lr_d", None if same else self.lr_d.value()))
        self.start_x.valueChanged.connect(self._on_start)
        self.start_y.valueChanged.connect(self._on_start)
        self._reg_key = ""

    # ------------------------------------------------------------------ out
    def _ask(self, key: str, value: Any) -> None:
        self.change_requested.emit({key: value})

    def _on_reg_value(self, value: float) -> None:
        if self._reg_key:
            self._ask(self._reg_key, value)

    def _on_start(self, _value: float) -> None:
        self._ask("start", (self.start_x.value(), self.start_y.value()))

    # ------------------------------------------------------------------ in
    def show_settings(self, s: GameSettings) -> None:
        """Every control from ``s``, without emitting; rows that mean nothing for ``s`` are
        hidden or disabled."""
        widgets = (self.game, self.loss, self.gp_weight, self.reg, self.reg_value,
                   self.noise_mode, self.update_rule, self.d_steps, self.optim, self.lr,
                   self.lr_d, self.lr_same, self.start_x, self.start_y)
        blockers = [QSignalBlocker(w) for w in widgets]
        _select(self.game, s.game)
        _select(self.loss, s.loss)
        _select(self.reg, s.reg)
        _select(self.noise_mode, s.noise_mode)
        _select(self.update_rule, s.update)
        _select(self.optim, s.optim)
        self.gp_weight.setValue(s.gp_weight)
        self.d_steps.setValue(s.d_steps)
        self.lr.setValue(s.lr)
        self.lr_d.setValue(s.eta_d)
        self.lr_same.setChecked(s.lr_d is None)
        self.lr_d.setEnabled(s.lr_d is not None)
        self.start_x.setValue(s.start[0])
        self.start_y.setValue(s.start[1])
        param = REG_PARAMETER.get(s.reg)
        self._reg_key = param[0] if param else ""
        if param:
            key, symbol, tip = param
            self.reg_label.setText(symbol)
            self.reg_value.setToolTip(tip)
            self.reg_value.setMinimum(0.0 if key == "gamma" else 0.001)
            self.reg_value.setValue(float(getattr(s, key)))
        dirac = GAMES[s.game].uses_loss
        self.loss.setEnabled(dirac)
        self.form.setRowVisible(self.gp_weight, dirac and LOSSES[s.loss].gradient_penalty)
        self.form.setRowVisible(self.reg_value, param is not None)
        self.form.setRowVisible(self.noise_mode, REGULARIZERS[s.reg].noisy)
        self.d_steps.setEnabled(s.update == "alternating" or s.d_steps != 1)
        del blockers

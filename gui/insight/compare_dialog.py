"""The "Compare…" dialog: pick one setting and its value for run B.

The value editor follows the key's schema (a list for choices, a spin box for integers and
fractions, a text field for learning rates), and the choice is validated by the engine's
own ``with_changes`` before the dialog closes, so a bad value is explained in place.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.config import SCHEMA, flatten, with_changes

COMPARE_KEYS: tuple[tuple[str, str], ...] = (
    ("loss.name", "Loss"),
    ("generator.norm", "Generator normalization"),
    ("discriminator.norm", "Discriminator normalization"),
    ("discriminator.minibatch", "Minibatch features"),
    ("optim.d.lr", "D learning rate"),
    ("optim.g.lr", "G learning rate"),
    ("optim.d.name", "D optimizer"),
    ("optim.g.name", "G optimizer"),
    ("train.d_steps", "D steps per G step (k)"),
    ("train.batch_size", "Batch size"),
    ("loss.real_label", "Real label (1 − α)"),
    ("seed", "Seed"),
)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class CompareDialog(QDialog):
    """Pick one key and its value for run B; validated against the engine's schema."""

    def __init__(self, config: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare with a changed copy")
        self.setObjectName("compare_dialog")
        self.config = config
        self._flat = flatten(config)
        self.editors: dict[str, QWidget] = {}
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        intro = QLabel("Run <b>B</b> starts from a copy of this session's settings, with the "
                       "same seed, and one change. Both runs train side by side.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        self.key_combo = QComboBox()
        self.key_combo.setObjectName("compare_key")
        self.key_combo.setToolTip("The one setting that differs in run B")
        self.values = QStackedWidget()
        self.values.setToolTip("Its value in run B (run A keeps the current one)")
        for key, label in COMPARE_KEYS:
            self.key_combo.addItem(label, key)
            editor = self._editor(key)
            self.editors[key] = editor
            self.values.addWidget(editor)
        self.values.setMaximumHeight(max(self.key_combo.sizeHint().height(),
                                         max(e.sizeHint().height() for e in self.editors.values())))
        form.addRow("Setting", self.key_combo)
        form.addRow("Value in B", self.values)
        self.current = QLabel("")
        self.current.setStyleSheet("color: #8a8f98;")
        form.addRow("Value in A", self.current)
        layout.addLayout(form)
        self.restart_box = QCheckBox("Restart run A from its seed too (both start at step 0)")
        self.restart_box.setChecked(True)
        self.restart_box.setToolTip("Re-initialise this session's networks from the seed so "
                                    "A and B start from identical weights; unchecked, A goes "
                                    "on and the curves are aligned on steps since the start")
        layout.addWidget(self.restart_box)
        self.mirror_box = QCheckBox("Mirror later changes of A to B")
        self.mirror_box.setChecked(True)
        self.mirror_box.setToolTip("Settings changed in the main window afterwards are applied "
                                   "to B as well (except the compared one)")
        layout.addWidget(self.mirror_box)
        self.error = QLabel("")
        self.error.setObjectName("compare_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #fca5a5;")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start both")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip(
            "Start run B and (re)start run A; both train together")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Do not compare")
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.key_combo.currentIndexChanged.connect(self._on_key)
        self._on_key()

    def _editor(self, key: str) -> QWidget:
        spec = SCHEMA[key]
        current = self._flat.get(key, spec.default)
        tip = f"{key}: {spec.help} ({spec.allowed()})"
        if spec.kind == "choice":
            w: QWidget = QComboBox()
            choices = [c for c in (spec.choices or ()) if c != current] + [current]
            for c in choices:
                w.addItem(str(c), c)
        elif spec.kind == "int":
            w = QSpinBox()
            w.setRange(int(spec.lo or 0), int(min(spec.hi or 2**31 - 1, 2**31 - 1)))
            w.setValue(int(current) + (1 if key != "train.batch_size" else 0))
            if key == "train.batch_size":
                w.setValue(max(int(current) // 2, 1))
        elif spec.kind == "float" and key.endswith(".lr"):
            w = QLineEdit(format_value(float(current) * 0.1))
        elif spec.kind == "float":
            w = QDoubleSpinBox()
            w.setDecimals(3)
            w.setRange(float(spec.lo or 0.0), float(spec.hi or 1.0))
            w.setSingleStep(0.05)
            w.setValue(0.9 if key == "loss.real_label" and current == 1.0 else float(current))
        else:
            w = QLineEdit(format_value(current))
        w.setToolTip(tip)
        return w

    def _on_key(self) -> None:
        key = self.key_combo.currentData()
        self.values.setCurrentWidget(self.editors[key])
        self.current.setText(format_value(self._flat.get(key, "")))
        self.error.hide()

    def value(self) -> Any:
        w = self.editors[self.key_combo.currentData()]
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QSpinBox | QDoubleSpinBox):
            return w.value()
        return w.text().strip()

    def choice(self) -> tuple[str, Any]:
        return self.key_combo.currentData(), self.value()

    def _try_accept(self) -> None:
        key, value = self.choice()
        try:
            with_changes(self.config, {key: value})
        except ValueError as e:
            self.error.setText(str(e))
            self.error.show()
            self.adjustSize()
            return
        self.accept()

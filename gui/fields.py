"""One editor widget per config parameter, built from the engine's ``Param`` spec.

Every field sends ``committed(key, value)`` only when the user has finished an edit (Enter,
focus out, an arrow click, a combo pick), never per keystroke, and shows engine values with
its signals blocked, so showing the applied config never echoes back as a new change.
Which widget a parameter gets is a registry keyed by ``Param.kind``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from engine.catalogue import LOSS_INFO, NORM_INFO
from engine.dataspecs import DATA_SPECS
from engine.params import Param

INT_LIMIT = 2**31 - 1

# Human titles for choice values, looked up by the key's last part (``*.norm``) or the key.
_TITLES: dict[str, Callable[[str], str]] = {
    "loss.name": lambda v: LOSS_INFO[v].title if v in LOSS_INFO else v,
    "data.name": lambda v: DATA_SPECS[v].title if v in DATA_SPECS else v,
    "norm": lambda v: NORM_INFO[v].title if v in NORM_INFO else v,
    "activation": lambda v: v.replace("_", " "),
    "minibatch": lambda v: {"none": "None", "discrimination": "Minibatch discrimination",
                            "stddev": "Minibatch std-dev"}.get(v, v),
    "name": lambda v: {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}.get(v, v),
    "arch": lambda v: {"mlp": "MLP", "dcgan": "DCGAN (convolutions)"}.get(v, v),
    "train.precision": lambda v: {"fp32": "float32", "bf16": "bfloat16 (mixed)"}.get(v, v),
}

# Parameters whose arrows should multiply rather than add (they span decades).
LOG_SCALE_SUFFIXES = (".lr",)


def choice_title(key: str, value: str) -> str:
    """The label shown for a choice value (the value itself when nothing better is known)."""
    fn = _TITLES.get(key) or _TITLES.get(key.rsplit(".", 1)[-1])
    return fn(value) if fn else value


def tooltip_for(key: str, param: Param) -> str:
    """Tooltip text: the engine's help line, then the key and what it accepts."""
    text = param.help[:1].upper() + param.help[1:] if param.help else key
    return f"<b>{text}</b><br><tt>{key}</tt>: {param.allowed()}"


def format_float(v: float) -> str:
    return f"{v:.6g}"


def format_list(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(format_float(v) if isinstance(v, float) else str(v) for v in value)
    return str(value)


def _number_state(text: str, lo: float, hi: float, integer: bool) -> QValidator.State:
    """How a number box takes ``text``: Acceptable only for a number it can hold; anything
    that looks like a number, or like one being typed, is Intermediate, so the box lets it
    be typed and the field can explain the refusal (Qt would silently drop the keystroke);
    only text that can never become a number is Invalid."""
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        partial = s in ("", "-", "+", ".", "-.", "+.") or s.lower().endswith(("e", "e-", "e+"))
        return QValidator.State.Intermediate if partial else QValidator.State.Invalid
    if not math.isfinite(v):
        return QValidator.State.Intermediate
    if integer:
        try:
            int(s)
        except ValueError:  # "2.5", "1e3": a number, but not as an integer box writes it
            return QValidator.State.Intermediate
    return QValidator.State.Acceptable if lo <= v <= hi else QValidator.State.Intermediate


class _TypedNumber:
    """What the two number boxes share: when typing ends (Enter, focus out) on text the box
    cannot hold (out of range, not a whole number), ``on_refused(text)`` hears it before Qt
    puts the old value back, so the refusal can be explained instead of springing back in
    silence."""

    on_refused: Callable[[str], None] | None = None

    def _check_typed(self) -> None:
        text = self.lineEdit().text().strip()  # type: ignore[attr-defined]
        if not text or self.on_refused is None:
            return
        state, _, _ = self.validate(text, 0)  # type: ignore[attr-defined]
        if state != QValidator.State.Acceptable:
            self.on_refused(text)


class IntSpinBox(_TypedNumber, QSpinBox):
    def validate(self, text: str, pos: int) -> object:
        return _number_state(text, self.minimum(), self.maximum(), True), text, pos

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._check_typed()
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        self._check_typed()
        super().focusOutEvent(event)


class ScientificSpinBox(_TypedNumber, QDoubleSpinBox):
    """A float spin box that shows ``%g`` text and steps by a factor on log-scale params
    (a learning rate of 1e-4 and one of 0.1 both deserve a useful arrow step)."""

    def __init__(self, log_scale: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_scale = log_scale
        self.setDecimals(12)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return format_float(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        return _number_state(text, self.minimum(), self.maximum(), False), text, pos

    def fixup(self, text: str) -> str:
        return format_float(self.value())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._check_typed()
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        self._check_typed()
        super().focusOutEvent(event)

    def stepBy(self, steps: int) -> None:  # noqa: N802
        if not self.log_scale or self.value() <= 0:
            super().stepBy(steps)
            return
        v = self.value() * (2.0 ** steps)
        self.setValue(min(max(v, self.minimum()), self.maximum()))


def typed_number(text: str) -> Any:
    """What a number box sends for text it refused: the number when it is one (the engine
    names it in its refusal, or takes "1e3" as the integer 1000), else the text itself."""
    s = text.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


class Field(QObject):
    """A config key bound to one editor widget."""

    committed = Signal(str, object)

    def __init__(self, key: str, param: Param, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.param = param
        self._shown: Any = param.default
        self.widget = self._build()
        self.widget.setToolTip(tooltip_for(key, param))
        self.widget.setObjectName(key)
        self.show_value(param.default)

    # -- subclass hooks
    def _build(self) -> QWidget:
        raise NotImplementedError

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        """What the widget holds now (possibly not yet valid: the engine decides)."""
        raise NotImplementedError

    def _same(self, a: Any, b: Any) -> bool:
        return a == b

    # -- shared behaviour
    @property
    def shown(self) -> Any:
        """The last value the engine reported for this key."""
        return self._shown

    def show_value(self, value: Any, force: bool = False) -> None:
        """Show an engine value without emitting anything. An edit in progress (focus and
        unsaved text) is left alone unless ``force`` (a rejection must undo it)."""
        self._shown = value
        if not force and self._editing():
            return
        with QSignalBlocker(self.widget):
            self._show(value)

    def _editing(self) -> bool:
        return False

    def _commit(self, *_: Any) -> None:
        v = self.value()
        if not self._same(v, self._shown):
            self.committed.emit(self.key, v)


class ChoiceField(Field):
    def _build(self) -> QWidget:
        w = QComboBox()
        # long titles ("WGAN-GP (gradient penalty)") must not widen the whole panel
        w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        w.setMinimumContentsLength(10)
        for c in self.param.choices or ():
            w.addItem(choice_title(self.key, c), c)
        w.activated.connect(self._commit)
        return w

    def set_choices(self, choices: tuple[str, ...], titles: dict[str, str] | None = None
                    ) -> None:
        """Offer only ``choices`` (a subset of the param's), titled by ``titles`` where
        given; the shown value stays shown even when it is not among them."""
        w: QComboBox = self.widget  # type: ignore[assignment]
        titles = titles or {}
        with QSignalBlocker(w):
            w.clear()
            for c in choices:
                w.addItem(titles.get(c) or choice_title(self.key, c), c)
            self._show(self._shown)

    def _show(self, value: Any) -> None:
        w: QComboBox = self.widget  # type: ignore[assignment]
        i = w.findData(value)
        if i < 0:
            w.addItem(choice_title(self.key, str(value)), value)
            i = w.count() - 1
        w.setCurrentIndex(i)

    def value(self) -> Any:
        return self.widget.currentData()  # type: ignore[attr-defined]


class IntField(Field):
    """An integer spin box. A typed value it cannot hold (batch size 0, "2.5") is sent as
    typed, so the engine refuses it with the same one-line message as a bad text value."""

    def _build(self) -> QWidget:
        w = IntSpinBox()
        w.on_refused = self._refused
        w.setRange(int(self.param.lo if self.param.lo is not None else -INT_LIMIT),
                   int(min(self.param.hi if self.param.hi is not None else INT_LIMIT, INT_LIMIT)))
        w.setKeyboardTracking(False)  # valueChanged on Enter / focus out / arrows only
        w.setAccelerated(True)
        w.valueChanged.connect(self._commit)
        return w

    def _show(self, value: Any) -> None:
        self.widget.setValue(int(value))  # type: ignore[attr-defined]

    def value(self) -> Any:
        return self.widget.value()  # type: ignore[attr-defined]

    def _refused(self, text: str) -> None:
        self.committed.emit(self.key, typed_number(text))


class FloatField(Field):
    """A float spin box (``%g`` text); a typed value out of its range (a learning rate of 0)
    is sent as typed, for the engine to refuse and explain, like ``IntField``."""

    def _build(self) -> QWidget:
        w = ScientificSpinBox(log_scale=self.key.endswith(LOG_SCALE_SUFFIXES))
        w.on_refused = self._refused
        lo = self.param.lo if self.param.lo is not None else -1e9
        hi = self.param.hi if self.param.hi is not None else 1e9
        w.setRange(lo, hi)
        span = hi - lo
        w.setSingleStep(10 ** math.floor(math.log10(span)) / 100 if span > 0 else 0.01)
        w.setKeyboardTracking(False)
        w.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        w.valueChanged.connect(self._commit)
        return w

    def _show(self, value: Any) -> None:
        self.widget.setValue(float(value))  # type: ignore[attr-defined]

    def value(self) -> Any:
        return self.widget.value()  # type: ignore[attr-defined]

    def _same(self, a: Any, b: Any) -> bool:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-15)

    def _refused(self, text: str) -> None:
        self.committed.emit(self.key, typed_number(text))


class TextField(Field):
    """Free text (lists such as hidden widths "128, 128" or "128 128", betas "0.5, 0.999"): the engine
    parses and validates it, and a refusal puts the applied value back."""

    def _build(self) -> QWidget:
        w = QLineEdit()
        w.editingFinished.connect(self._commit)
        return w

    def _show(self, value: Any) -> None:
        w: QLineEdit = self.widget  # type: ignore[assignment]
        w.setText(format_list(value))
        w.setModified(False)

    def value(self) -> Any:
        return self.widget.text()  # type: ignore[attr-defined]

    def _same(self, a: Any, b: Any) -> bool:
        """Whether typed text means the shown value ("16 16" is [16, 16])."""
        try:
            return self.param.coerce(self.key, a) == self.param.coerce(self.key, b)
        except ValueError:
            return False

    def _editing(self) -> bool:
        w: QLineEdit = self.widget  # type: ignore[assignment]
        return w.hasFocus() and w.isModified()

    def _commit(self, *_: Any) -> None:
        self.widget.setModified(False)  # type: ignore[attr-defined]
        super()._commit()


class BoolField(Field):
    def _build(self) -> QWidget:
        w = QCheckBox()
        w.toggled.connect(self._commit)
        return w

    def _show(self, value: Any) -> None:
        self.widget.setChecked(bool(value))  # type: ignore[attr-defined]

    def value(self) -> Any:
        return self.widget.isChecked()  # type: ignore[attr-defined]


class IntChoiceField(ChoiceField):
    """A few allowed integers (image sizes): a combo whose items carry the int."""

    def _build(self) -> QWidget:
        w = QComboBox()
        for c in self.param.choices or ():
            w.addItem(c, int(c))
        w.activated.connect(self._commit)
        return w


class PathField(Field):
    """A file or folder path: typed, pasted, or picked with the "…" button. Picking is the
    window's job (it knows what each data set needs): ``browse_requested(key)``."""

    browse_requested = Signal(str)

    def _build(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("not set: press …")
        self.edit.editingFinished.connect(self._commit)
        self.button = QToolButton()
        self.button.setText("…")
        self.button.setToolTip("Choose the file or folder")
        self.button.clicked.connect(lambda: self.browse_requested.emit(self.key))
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        return box

    def _show(self, value: Any) -> None:
        self.edit.setText(str(value))
        self.edit.setToolTip(str(value))
        self.edit.setModified(False)

    def show_value(self, value: Any, force: bool = False) -> None:
        self._shown = value
        if not force and self._editing():
            return
        with QSignalBlocker(self.edit):
            self._show(value)

    def value(self) -> Any:
        return self.edit.text().strip()

    def _editing(self) -> bool:
        return self.edit.hasFocus() and self.edit.isModified()

    def _commit(self, *_: Any) -> None:
        self.edit.setModified(False)
        super()._commit()


class PointsField(Field):
    """Drawn or imported points are edited on the data plane, not typed: show a count."""

    def _build(self) -> QWidget:
        label = QLabel()
        label.setWordWrap(True)  # the hint wraps: it never widens (and clips) the panel
        return label

    def _show(self, value: Any) -> None:
        n = len(value) if isinstance(value, list | tuple) else 0
        self.widget.setText(f"{n:,} point{'s' if n != 1 else ''} (draw on the plane "  # type: ignore[attr-defined]
                            "or File ▸ Import)")

    def value(self) -> Any:
        return self._shown


FIELD_KINDS: dict[str, type[Field]] = {
    "choice": ChoiceField,
    "int": IntField,
    "int_choice": IntChoiceField,
    "path": PathField,
    "float": FloatField,
    "int_list": TextField,
    "float_list": TextField,
    "float_pair": TextField,
    "str": TextField,
    "bool": BoolField,
    "points": PointsField,
}


def make_field(key: str, param: Param, parent: QObject | None = None) -> Field:
    """The editor for ``param`` (by its kind)."""
    return FIELD_KINDS[param.kind](key, param, parent)


# ---------------------------------------------------------------------------- words
def describe_value(key: str, value: Any) -> str:
    """A changed value as a message shows it: short, in words where data would be long
    (``data.points`` is "412 points", never the points themselves)."""
    if isinstance(value, list | tuple) and value and all(
            isinstance(p, list | tuple) for p in value):
        return f"{len(value):,} point{'s' if len(value) != 1 else ''}"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list | tuple):
        text = format_list(value)
        return f"[{text}]" if len(text) <= 40 else f"{len(value)} values"
    text = str(value)
    if key.endswith(".path") and ("/" in text or "\\" in text):
        text = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or text
    if len(text) > 40:
        return f"{len(text):,} characters"
    return text


def describe_change(key: str, value: Any) -> str:
    """``key = value``, or ``key (value)`` where the value is a count in words."""
    shown = describe_value(key, value)
    counted = shown.endswith((" points", " point", " characters", " values"))
    return f"{key} ({shown})" if counted else f"{key} = {shown}"


def describe_changes(changes: dict[str, Any], limit: int = 3) -> str:
    """The keys that now have a value, in words (a data set swap also drops the old set's
    keys, reported as None, and resets the rest of ``data.*``: said once, with the count of
    drawn points when there are some), the first ``limit`` only: a status line, not a log."""
    items = [(k, v) for k, v in changes.items() if v is not None]
    if any(k == "data.name" for k, _ in items):
        points = changes.get("data.points")
        items = [(k, v) for k, v in items if k == "data.name" or not k.startswith("data.")]
        if isinstance(points, list | tuple):
            items = [(k, f"{v} ({describe_value('data.points', points)})" if k == "data.name"
                      else v) for k, v in items]
    text = ", ".join(describe_change(k, v) for k, v in items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")

"""The left-hand control panel: one group box per part of the GAN, built from the schema.

Widgets never change training themselves: a finished edit becomes ``changes_requested
({dotted_key: value})``; the main window sends it as ``Apply`` and, when the engine answers
(``Applied`` or ``Rejected``), calls ``show_config`` so every control shows what the engine
really runs. Rows that do not apply to the current choice (label smoothing for WGAN, betas
for SGD ...) are hidden, from the engine's own flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import LOSS_INFO, NORM_INFO
from engine.config import SCHEMA, data_params, flatten
from engine.dataspecs import DATA_SPECS

from . import dialogs
from .fields import Field, PathField, make_field, tooltip_for

Flat = dict[str, Any]

LABELS: dict[str, str] = {
    "data.name": "Data set",
    "noise.dim": "Noise dim",
    "noise.dist": "Noise",
    "loss.name": "Loss",
    "loss.real_label": "Real label (1−α)",
    "loss.fake_label": "Fake label (β)",
    "loss.clip": "Weight clip c",
    "loss.gp_weight": "Penalty λ",
    "loss.r1": "R1 γ (real)",
    "loss.r2": "R2 γ (fake)",
    "data.instance_noise": "Instance noise σ",
    "data.instance_noise_steps": "Noise anneal steps",
    "loss.mmd_bandwidths": "MMD bandwidths",
    "loss.info_weight": "Info weight λ",
    "generator.codes": "InfoGAN codes K",
    "train.batch_size": "Batch size",
    "train.d_steps": "D steps per G (k)",
    "train.g_steps": "G steps per iteration",
    "train.metrics_every": "Mode metrics every",
    "seed": "Seed",
    "device": "Device",
    "conditional": "Conditional on class",
    "train.precision": "Precision",
    "arch": "Architecture",
    "width": "Channels",
    "depth": "Convs per scale",
    "path": "Files",
    "size": "Image size",
    "colour": "Colour",
    "hidden": "Hidden widths",
    "activation": "Activation",
    "norm": "Normalization",
    "ref_size": "Reference batch",
    "minibatch": "Minibatch features",
    "mb_kernels": "Kernels B",
    "mb_dim": "Kernel dim C",
    "name": "Optimizer",
    "lr": "Learning rate",
    "betas": "Betas",
    "momentum": "Momentum",
    "std": "Std",
    "mean_x": "Mean x",
    "mean_y": "Mean y",
}


def label_for(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    last = key.rsplit(".", 1)[-1]
    return LABELS.get(last, last.replace("_", " ").capitalize())


def _loss_flag(flag: str) -> Callable[[Flat], bool]:
    return lambda f: bool(getattr(LOSS_INFO.get(f.get("loss.name", "")), flag, True))


def _needs_reference(net: str) -> Callable[[Flat], bool]:
    return lambda f: bool(getattr(NORM_INFO.get(f.get(f"{net}.norm", "")), "needs_reference", True))


def _optim_is(prefix: str, *names: str) -> Callable[[Flat], bool]:
    return lambda f: f.get(f"{prefix}.name") in names


def _images(f: Flat) -> bool:
    ds = DATA_SPECS.get(f.get("data.name", ""))
    return bool(ds is not None and ds.is_image)


def _arch_is(net: str, arch: str) -> Callable[[Flat], bool]:
    return lambda f: f.get(f"{net}.arch") == arch


# Rows shown only when they apply to the current config.
VISIBLE_WHEN: dict[str, Callable[[Flat], bool]] = {
    "loss.real_label": _loss_flag("uses_labels"),
    "loss.fake_label": _loss_flag("uses_labels"),
    "loss.clip": _loss_flag("clips"),
    "loss.gp_weight": _loss_flag("penalty"),
    # D's regularizers mean nothing where D is not trained (MMD); the MMD kernel only there
    "loss.r1": _loss_flag("trains_d"),
    "loss.r2": _loss_flag("trains_d"),
    "data.instance_noise": _loss_flag("trains_d"),
    "data.instance_noise_steps": lambda f: (_loss_flag("trains_d")(f)
                                            and float(f.get("data.instance_noise", 0)) > 0),
    "loss.mmd_bandwidths": _loss_flag("kernel"),
    "loss.info_weight": lambda f: int(f.get("generator.codes", 0) or 0) > 0,
    "generator.ref_size": _needs_reference("generator"),
    "discriminator.ref_size": _needs_reference("discriminator"),
    "discriminator.mb_kernels": lambda f: f.get("discriminator.minibatch") == "discrimination",
    "discriminator.mb_dim": lambda f: f.get("discriminator.minibatch") == "discrimination",
    "optim.g.betas": _optim_is("optim.g", "adam"),
    "optim.d.betas": _optim_is("optim.d", "adam"),
    "optim.g.momentum": _optim_is("optim.g", "sgd", "rmsprop"),
    "optim.d.momentum": _optim_is("optim.d", "sgd", "rmsprop"),
    # point data has MLPs only; image data picks MLP or DCGAN, and labels for conditioning
    "generator.arch": _images,
    "discriminator.arch": _images,
    "conditional": _images,
    "generator.hidden": _arch_is("generator", "mlp"),
    "discriminator.hidden": _arch_is("discriminator", "mlp"),
    "generator.width": _arch_is("generator", "dcgan"),
    "discriminator.width": _arch_is("discriminator", "dcgan"),
    "generator.depth": _arch_is("generator", "dcgan"),
    "discriminator.depth": _arch_is("discriminator", "dcgan"),
}

NETWORK_KEYS = ("arch", "hidden", "width", "depth", "activation", "norm", "ref_size")
OPTIM_KEYS = ("name", "lr", "betas", "momentum")


class FormSection(QGroupBox):
    """A titled form of fields; rows can be hidden by key."""

    def __init__(self, title: str, panel: ControlPanel) -> None:
        super().__init__(title)
        self.panel = panel
        self.form = QFormLayout(self)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setHorizontalSpacing(8)
        self.form.setVerticalSpacing(4)
        self.form.setContentsMargins(8, 6, 8, 6)
        self.rows: dict[str, Field] = {}

    def add(self, key: str, param: Any = None) -> Field:
        field = self.panel.register(key, param or SCHEMA[key])
        label = QLabel(label_for(key))
        label.setToolTip(field.widget.toolTip())
        label.setBuddy(field.widget)
        self.panel.labels.append(label)
        self.form.addRow(label, field.widget)
        self.rows[key] = field
        return field

    def remove(self, key: str) -> None:
        field = self.rows.pop(key)
        label = self.form.labelForField(field.widget)
        if label in self.panel.labels:
            self.panel.labels.remove(label)
        self.form.removeRow(field.widget)
        self.panel.unregister(key)

    def set_row_visible(self, key: str, visible: bool) -> None:
        if key in self.rows:
            self.form.setRowVisible(self.rows[key].widget, visible)


class DataSection(FormSection):
    """The data set picker plus that set's own parameters, rebuilt when the set changes."""

    def __init__(self, panel: ControlPanel) -> None:
        super().__init__("Data", panel)
        self.add("data.name")
        self.data_name: str | None = None

    def show_data(self, name: str) -> None:
        if name == self.data_name:
            return
        for key in [k for k in self.rows if k != "data.name"]:
            self.remove(key)
        for key, param in data_params(name).items():
            self.add(key, param)
        self.data_name = name
        self.panel.align_labels()


class NetworkSection(FormSection):
    """One network's architecture (the generator also owns the noise it reads)."""

    def __init__(self, title: str, prefix: str, panel: ControlPanel,
                 before: Iterable[str] = (), after: Iterable[str] = ()) -> None:
        super().__init__(title, panel)
        for key in before:
            self.add(key)
        for k in NETWORK_KEYS:
            self.add(f"{prefix}.{k}")
        for key in after:
            self.add(key)


class OptimizerSection(QGroupBox):
    """Both optimizers side by side, so G's and D's settings line up for comparison."""

    def __init__(self, panel: ControlPanel) -> None:
        super().__init__("Optimizers")
        self.panel = panel
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.setContentsMargins(8, 6, 8, 6)
        for col, title in ((1, "Generator"), (2, "Discriminator")):
            head = QLabel(title)
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            head.setStyleSheet("color: #aab0ba; font-weight: normal;")
            grid.addWidget(head, 0, col)
        self.cells: dict[str, Field] = {}
        self.row_labels: dict[str, QLabel] = {}
        for row, k in enumerate(OPTIM_KEYS, start=1):
            label = QLabel(label_for(k))
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, row, 0)
            self.row_labels[k] = label
            for col, net in ((1, "g"), (2, "d")):
                key = f"optim.{net}.{k}"
                field = panel.register(key, SCHEMA[key])
                field.widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                field.widget.setMinimumWidth(60)
                if hasattr(field.widget, "setMinimumContentsLength"):
                    field.widget.setMinimumContentsLength(6)
                grid.addWidget(field.widget, row, col)
                self.cells[key] = field
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)

    def set_row_visible(self, key: str, visible: bool) -> None:
        if key in self.cells:
            self.cells[key].widget.setVisible(visible)
            k = key.rsplit(".", 1)[-1]
            any_visible = any(self.cells[f"optim.{n}.{k}"].widget.isVisibleTo(self)
                              for n in ("g", "d"))
            self.row_labels[k].setVisible(any_visible)


def first_sentence(text: str, limit: int = 180) -> str:
    """The description's first sentence (its headline), cut at a word near ``limit``."""
    text = " ".join(text.split())
    for m in re.finditer(r"\. ", text[:limit]):
        head = text[:m.start()]
        if head.endswith(("et al", "e.g", "i.e", "vs", "cf")) or head.count("(") > head.count(")"):
            continue  # an abbreviation, or inside parentheses: not the sentence's end
        return head + "."
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


class PresetSection(QGroupBox):
    """What is loaded: the preset's name, the lecture it comes from and the headline of its
    description (all of it in the tooltip), with Edit… for the name and description, which
    Save then writes into the preset file."""

    def __init__(self, panel: ControlPanel) -> None:
        super().__init__("Preset")
        self.panel = panel
        self.setObjectName("preset_section")
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.name = QLabel()
        self.name.setObjectName("preset_name")
        self.name.setStyleSheet("font-weight: 600;")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("preset_edit")
        self.edit_button.setToolTip("Edit the preset's name and description (Save preset "
                                    "writes them into the preset file)")
        self.edit_button.clicked.connect(self.edit)
        self.lecture = QLabel()
        self.lecture.setObjectName("preset_lecture")
        self.lecture.setStyleSheet("color: #aab0ba; font-weight: normal;")
        self.lecture.setWordWrap(True)
        self.headline = QLabel()
        self.headline.setObjectName("preset_headline")
        self.headline.setStyleSheet("font-weight: normal;")
        self.headline.setWordWrap(True)
        self.headline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.edit_button, 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.lecture, 1, 0, 1, 2)
        grid.addWidget(self.headline, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.config: dict[str, Any] = {}

    def show_preset(self, config: dict[str, Any]) -> None:
        self.config = config
        name = str(config.get("name") or "untitled")
        description = str(config.get("description") or "")
        lecture = str(config.get("lecture") or "")
        self.name.setText(name)
        self.lecture.setText(f"From the lecture: {lecture}" if lecture else "")
        self.lecture.setVisible(bool(lecture))
        self.headline.setText(first_sentence(description) if description
                              else "No description yet: Edit… to write one.")
        tip = description or "No description"
        self.headline.setToolTip(tip)
        self.name.setToolTip(tip)

    def edit(self) -> None:
        """Ask for a new name and description; the changes go to the engine like any edit."""
        answer = dialogs.ask_preset_details(
            self.window(), str(self.config.get("name") or ""),
            str(self.config.get("description") or ""))
        if answer is None:
            return
        name, description = answer
        changes = {k: v for k, v in (("name", name), ("description", description))
                   if v != self.config.get(k)}
        if changes:
            self.panel.changes_requested.emit(changes)


class ControlPanel(QWidget):
    """All controls; ``changes_requested`` carries one dotted-key change set per user edit."""

    changes_requested = Signal(dict)
    path_needed = Signal(str, str)  # (data set, key): pick a file for it, then apply both

    def __init__(self, config: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, Field] = {}
        self.labels: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.setSpacing(2)
        self.preset = PresetSection(self)
        self.data = DataSection(self)
        self.generator = NetworkSection("Generator", "generator", self,
                                        before=("noise.dim", "noise.dist"),
                                        after=("generator.codes",))
        self.discriminator = NetworkSection(
            "Discriminator", "discriminator", self,
            after=("discriminator.minibatch", "discriminator.mb_kernels", "discriminator.mb_dim"))
        self.loss = FormSection("Loss", self)
        for key in ("loss.name", "loss.real_label", "loss.fake_label", "loss.clip",
                    "loss.gp_weight", "loss.r1", "loss.r2", "data.instance_noise",
                    "data.instance_noise_steps", "loss.mmd_bandwidths", "loss.info_weight"):
            self.loss.add(key)
        self.optim = OptimizerSection(self)
        self.training = FormSection("Training", self)
        for key in ("train.batch_size", "train.d_steps", "train.g_steps", "conditional", "seed",
                    "device", "train.precision", "train.metrics_every"):
            self.training.add(key)
        self.sections: list[Any] = [self.data, self.generator, self.discriminator, self.loss,
                                    self.optim, self.training]
        layout.addWidget(self.preset)
        for s in self.sections:
            layout.addWidget(s)
        layout.addStretch(1)
        self.config: dict[str, Any] = {}
        self.show_config(config)

    # -- fields
    def register(self, key: str, param: Any) -> Field:
        field = make_field(key, param, self)
        field.committed.connect(self._on_committed)
        if isinstance(field, PathField):
            field.browse_requested.connect(
                lambda k: self.path_needed.emit(self.config["data"]["name"], k))
        self.fields[key] = field
        return field

    def unregister(self, key: str) -> None:
        """Forget a field whose row its section has already removed (and deleted)."""
        self.fields.pop(key).deleteLater()

    def _on_committed(self, key: str, value: Any) -> None:
        if key == "data.name" and "path" in getattr(DATA_SPECS.get(value), "params", {}):
            self.path_needed.emit(value, "data.path")  # a set read from the user's files
            return
        self.changes_requested.emit({key: value})

    def set_devices(self, devices: tuple[str, ...]) -> None:
        """Offer only the devices the engine has (``auto`` says which it picks); an empty
        tuple (an engine that did not say) offers them all."""
        field = self.fields["device"]
        if not devices:
            field.set_choices(SCHEMA["device"].choices or ())  # type: ignore[attr-defined]
            return
        choices = tuple(c for c in SCHEMA["device"].choices or () if c == "auto" or c in devices)
        auto = "cuda" if "cuda" in devices else "cpu"
        field.set_choices(choices, {"auto": f"auto ({auto.upper()} here)"})  # type: ignore[attr-defined]
        missing = [c for c in SCHEMA["device"].choices or () if c not in choices]
        note = f"<br>This engine has no {', '.join(missing)}." if missing else ""
        field.widget.setToolTip(tooltip_for("device", SCHEMA["device"]) + note)

    def align_labels(self) -> None:
        """One label column width for every section, so all fields line up."""
        width = max((lab.sizeHint().width() for lab in self.labels), default=0)
        for lab in self.labels:
            lab.setMinimumWidth(width)

    # -- engine state in
    def show_config(self, config: dict[str, Any], force_keys: Iterable[str] = ()) -> None:
        """Show the engine's effective config everywhere (signals blocked: no echo)."""
        self.config = config
        flat = flatten(config)
        self.preset.show_preset(config)
        self.data.show_data(flat["data.name"])
        force = set(force_keys)
        for key, field in self.fields.items():
            if key in flat:
                field.show_value(flat[key], force=key in force)
        for key, rule in VISIBLE_WHEN.items():
            for s in self.sections:
                s.set_row_visible(key, rule(flat))
        self.align_labels()

"""Gradient arrows and the generator manifold on a data plane of this panel's own.

* Arrows at the fakes: ``-dL_G/dx``, the direction G's loss pushes each generated sample
  (``Snapshot.arrows``), scaled to a readable length.
* D's gradient field: ``dD/dx`` over a coarse grid of the box (``Snapshot.d_field``).
* The manifold: G applied to a grid of 2-D noise, drawn as polylines along the grid's rows
  and columns (``Snapshot.manifold``): how G folds and stretches the noise plane.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import no_d_note
from engine.snapshot import Snapshot

from .plane_canvas import PlaneCanvas
from .style import NOTE_COLOR, caption

FIELD_GRID = 17     # D's gradient: points per side of the coarse grid
MANIFOLD_LINES = 15  # noise grid lines per side
DEFAULT_ARROWS = 150  # as many as GAN Lab draws


class FieldView(QWidget):
    """Toolbar of layer toggles over a ``PlaneCanvas``."""

    extras_changed = Signal()  # what the engine must compute changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insight_field")
        self._last: Snapshot | None = None
        self._live = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)

        row = QHBoxLayout()
        row.setSpacing(10)
        self.arrows_box = QCheckBox("G's push")
        self.arrows_box.setChecked(True)
        self.arrows_box.setToolTip("Arrows at the generated samples: −∂L_G/∂x, the direction "
                                   "the generator's loss moves each one")
        row.addWidget(self.arrows_box)
        count_label = QLabel("on")
        row.addWidget(count_label)
        self.count = QSpinBox()
        self.count.setRange(10, 512)
        self.count.setSingleStep(10)
        self.count.setValue(DEFAULT_ARROWS)
        self.count.setSuffix(" fakes")
        self.count.setToolTip("How many generated samples get an arrow (of the 512 drawn)")
        count_label.setToolTip(self.count.toolTip())
        row.addWidget(self.count)
        self.mode = QComboBox()
        self.mode.addItem("length ∝ gradient", "relative")
        self.mode.addItem("direction only", "direction")
        self.mode.setToolTip("Relative: arrow length proportional to the gradient's norm (the "
                             "95th percentile drawn at a fixed size). Direction only: all "
                             "arrows the same length.")
        row.addWidget(self.mode)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()  # second row: the layers
        row.setSpacing(10)
        self.field_box = QCheckBox("D's gradient field")
        self.field_box.setToolTip(f"∇D(x) on a {FIELD_GRID}×{FIELD_GRID} grid over the plane: "
                                  "where D's output rises fastest (what G's samples climb)")
        row.addWidget(self.field_box)
        self.mesh_box = QCheckBox("Manifold")
        self.mesh_box.setChecked(True)
        self.mesh_box.setToolTip(f"G applied to a {MANIFOLD_LINES}×{MANIFOLD_LINES} grid of "
                                 "2-D noise (other noise coordinates 0), drawn as a mesh: how G "
                                 "warps the noise plane")
        row.addWidget(self.mesh_box)
        self.heat_box = QCheckBox("D heatmap")
        self.heat_box.setChecked(True)
        self.heat_box.setToolTip("D's output over the plane behind the samples")
        row.addWidget(self.heat_box)
        row.addStretch(1)
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Fit the view to the data box")
        row.addWidget(self.fit_button)
        layout.addLayout(row)

        self.canvas = PlaneCanvas("Gradient arrows and generator manifold")
        self.canvas.setToolTip("")
        layout.addWidget(self.canvas, 1)
        self.legend_text = caption(
            "<span style='color:#fbbf24'>amber</span>: where G's loss pushes each fake · "
            "<span style='color:#7dd3fc'>blue</span>: D's gradient · "
            "<span style='color:#e5e7eb'>white mesh</span>: G over a grid of noise "
            "(noise dimension ≥ 2: the first two coordinates)")
        layout.addWidget(self.legend_text)
        self.missing_note = caption("", color=NOTE_COLOR)
        self.missing_note.setObjectName("field_missing")
        self.missing_note.hide()
        layout.addWidget(self.missing_note)

        self.fit_button.clicked.connect(self.canvas.fit)
        for box in (self.arrows_box, self.field_box, self.mesh_box, self.heat_box):
            box.toggled.connect(self._on_toggled)
        self.count.valueChanged.connect(lambda _: self._redraw())
        self.mode.currentIndexChanged.connect(lambda _: self._redraw())

    # ------------------------------------------------------------------ requests
    def extras(self) -> dict[str, Any]:
        """What this view needs from the engine while it is on screen."""
        return {
            "arrows": self.arrows_box.isChecked(),
            "d_field": FIELD_GRID if self.field_box.isChecked() else 0,
            "manifold": MANIFOLD_LINES if self.mesh_box.isChecked() else 0,
            "heatmap": self.heat_box.isChecked(),
        }

    def _on_toggled(self) -> None:
        self.extras_changed.emit()
        self._redraw()

    # ------------------------------------------------------------------ frames
    def show_snapshot(self, snap: Snapshot, live: bool = True) -> None:
        """Draw a frame; a recorded one (``live=False``) may lack layers that were not
        asked for when it was recorded: the note under the plane says which."""
        self._last = snap
        self._live = live
        wanted = (("G's push", self.arrows_box, snap.arrows), ("D's gradient field",
                  self.field_box, snap.d_field), ("manifold", self.mesh_box, snap.manifold),
                  ("D heatmap", self.heat_box, snap.heatmap))
        missing = [name for name, box, data in wanted if box.isChecked() and data is None]
        notes = []
        if missing and not live:
            notes.append("This recorded frame has no " + ", ".join(missing) + ": frames "
                         "carry the layers asked for while they were recorded.")
        no_d = no_d_note(snap.loss_name)
        if no_d:  # every layer here reads D (G's push is the gradient of a loss of D)
            notes.append(f"{no_d}: G's push (a loss of D) is zero and the field and heatmap "
                         "are an untrained D's.")
        self.missing_note.setText(" ".join(notes))
        self.missing_note.setVisible(bool(notes))
        self.canvas.show_snapshot(
            snap, heatmap=self.heat_box.isChecked(), arrows=self.arrows_box.isChecked(),
            n_arrows=self.count.value(), arrow_mode=self.mode.currentData(),
            field=self.field_box.isChecked(), mesh=self.mesh_box.isChecked())

    def _redraw(self) -> None:
        if self._last is not None:
            self.show_snapshot(self._last, self._live)

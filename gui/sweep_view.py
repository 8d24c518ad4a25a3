"""File > Open sweep…: a sweep's runs as a sortable table and its curves by setting.

``SweepView(folder, parent)`` is a non-modal dialog over a folder written by ``main.py
sweep``: it reads ``sweep.csv`` (a row per run), ``sweep.json`` (the grid's keys) and each
run's ``metrics.csv`` with csv and numpy only (no torch, nothing trained here). The plot shows
any logged metric as the mean across seeds of each group of runs (a setting, or one grid key's
value pooling the others) with a band of ± one standard deviation. Opening a run (double-click
or the button) emits ``run_opened(path of its session.safetensors)``; the window loads it.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.catalogue import COLUMN_TITLES, COLUMNS

from . import theme

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ALL_KEYS = "\x00setting"  # the group-by entry that keeps every grid key apart
STATUS_COLOURS = {"diverged": "#fb923c", "failed": "#f87171"}
SESSION_FILE = "session.safetensors"
RUNS_DIR = "runs"


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_metrics(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A run's metrics.csv as column -> (steps, values), missing cells left out. A missing
    or unreadable file is an empty dict."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    if len(rows) < 2 or "step" not in rows[0]:
        return {}
    header = rows[0]
    width = len(header)
    table = np.full((len(rows) - 1, width), np.nan)
    for i, row in enumerate(rows[1:]):
        for j, cell in enumerate(row[:width]):
            if cell:
                v = _number(cell)
                if v is not None:
                    table[i, j] = v
    steps = table[:, header.index("step")]
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j, name in enumerate(header):
        if name == "step":
            continue
        ok = np.isfinite(table[:, j]) & np.isfinite(steps)
        out[name] = (steps[ok], table[ok, j])
    return out


def mean_and_spread(series: list[tuple[np.ndarray, np.ndarray]]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs' (steps, values) on the union of their steps: (steps, mean, std, count), each
    step averaged over the runs that logged it."""
    series = [(s, v) for s, v in series if len(s)]
    if not series:
        empty = np.empty(0)
        return empty, empty, empty, empty
    steps = np.unique(np.concatenate([s for s, _ in series]))
    total = np.zeros(len(steps))
    total_sq = np.zeros(len(steps))
    count = np.zeros(len(steps))
    for s, v in series:
        idx = np.searchsorted(steps, s)
        np.add.at(total, idx, v)
        np.add.at(total_sq, idx, v * v)
        np.add.at(count, idx, 1)
    mean = total / count
    var = np.maximum(total_sq / count - mean * mean, 0.0)
    return steps, mean, np.sqrt(var), count


class _SortProxy(QSortFilterProxyModel):
    """Numbers by value, text by text, empty cells last in either order."""

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (b is None and a is not None) == ascending
        if isinstance(a, float) != isinstance(b, float):
            return isinstance(a, float)
        return a < b


class SweepView(QDialog):
    """The runs of the sweep in ``folder``: a table and the curves of any metric."""

    run_opened = Signal(str)

    def __init__(self, folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setObjectName("sweep_view")
        self.setModal(False)
        self.setWindowTitle(f"Sweep: {self.folder.name or self.folder}")
        self.resize(980, 720)
        self.header: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.keys: list[str] = []
        self._metrics: dict[str, tuple[float, dict[str, Any]]] = {}
        # what the plot shows, for tests and the legend: label -> (steps, mean, std, runs)
        self.groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.FillBetweenItem]] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        self.summary = QLabel()
        self.summary.setObjectName("sweep_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)

        splitter = QSplitter(Qt.Orientation.Vertical)
        layout.addWidget(splitter, 1)
        self.model = QStandardItemModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("sweep_table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("A row per run; click a header to sort, double-click a run to "
                              "open its session in the main window")
        self.table.doubleClicked.connect(self._open_index)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        splitter.addWidget(self.table)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Metric"))
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("sweep_metric")
        self.metric_combo.setToolTip("The logged metric to plot (each run's metrics.csv)")
        controls.addWidget(self.metric_combo)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Group by"))
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("sweep_group")
        self.group_combo.setToolTip("A curve per setting (every grid key), or per value of "
                                    "one key, pooling the others; the band is ± 1 std across "
                                    "the runs of the group")
        controls.addWidget(self.group_combo)
        controls.addStretch(1)
        lower_layout.addLayout(controls)
        self.plot = pg.PlotWidget(background=theme.PLOT_BACKGROUND)
        self.plot.setObjectName("sweep_plot")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setLabel("bottom", "step")
        for name in ("left", "bottom"):
            item.getAxis(name).setPen(theme.AXIS)
            item.getAxis(name).setTextPen(theme.AXIS)
        self.legend = item.addLegend(offset=(10, 10))
        lower_layout.addWidget(self.plot, 1)
        splitter.addWidget(lower)
        splitter.setSizes([300, 400])

        buttons = QHBoxLayout()
        self.message = QLabel()
        self.message.setObjectName("sweep_message")
        buttons.addWidget(self.message, 1)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read sweep.csv and the runs' logs again (a sweep that "
                                      "is still running adds rows as runs finish)")
        self.reload_button.clicked.connect(self.reload)
        buttons.addWidget(self.reload_button)
        self.open_button = QPushButton("Open run")
        self.open_button.setObjectName("sweep_open")
        self.open_button.setToolTip("Load the selected run's session into the main window")
        self.open_button.clicked.connect(self.open_selected)
        buttons.addWidget(self.open_button)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout.addLayout(buttons)

        self.metric_combo.currentIndexChanged.connect(self.update_plot)
        self.group_combo.currentIndexChanged.connect(self.update_plot)
        self.reload()

    # ------------------------------------------------------------------ reading
    def reload(self) -> None:
        """Read the sweep again; the sort order, metric and grouping are kept."""
        sort_col = self.proxy.sortColumn()
        sort_order = self.proxy.sortOrder()
        sort_name = self.header[sort_col] if 0 <= sort_col < len(self.header) else None
        self._read()
        self._fill_table()
        if sort_name in self.header:
            self.table.sortByColumn(self.header.index(sort_name), sort_order)
        elif self.header:  # the sweep's own order: by run
            self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self._fill_combos()
        self.update_plot()
        self._update_buttons()

    def _read(self) -> None:
        self.header, self.rows, self.keys = [], [], []
        definition: dict[str, Any] = {}
        try:
            data = json.loads((self.folder / "sweep.json").read_text(encoding="utf-8"))
            if isinstance(data, dict):
                definition = data
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            pass
        path = self.folder / "sweep.csv"
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                self.header = next(reader, [])
                for row in reader:
                    if len(row) >= len(self.header) and row:
                        self.rows.append(dict(zip(self.header, row)))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            why = "no sweep.csv" if isinstance(e, FileNotFoundError) else f"cannot read {path}"
            self.summary.setText(f"<b>{self.folder}</b>: {why} (not a sweep, or none of its "
                                 "runs has finished yet)")
            return
        grid = definition.get("grid")
        if isinstance(grid, list):
            self.keys = [g.get("key") for g in grid if isinstance(g, dict)
                         and g.get("key") in self.header]
        if not self.keys and "run" in self.header and "seed" in self.header:
            self.keys = self.header[self.header.index("run") + 1: self.header.index("seed")]
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.get("status", "")] = counts.get(r.get("status", ""), 0) + 1
        total = ""
        seeds = definition.get("seeds")
        if isinstance(grid, list) and isinstance(seeds, list):
            n = len(seeds)
            for g in grid:
                n *= len(g.get("values", [])) if isinstance(g, dict) else 1
            total = f" of {n}"
        steps = definition.get("steps")
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k)
        self.summary.setText(
            f"<b>{definition.get('preset', self.folder.name)}</b>: {len(self.rows)}{total} runs"
            f"{f' of {steps:,} steps' if isinstance(steps, int) else ''}"
            f"{f' ({parts})' if parts else ''}; settings: {', '.join(self.keys) or '—'}")

    def _fill_table(self) -> None:
        self.model.clear()
        self.model.setHorizontalHeaderLabels(self.header)
        for r in self.rows:
            items = []
            for col in self.header:
                text = r.get(col, "")
                value: Any = text or None
                if col not in ("run", "status", "message") and _number(text) is not None:
                    value = _number(text)
                shown = text
                if isinstance(value, float) and col not in ("seed", "step", *self.keys):
                    shown = f"{value:.4g}"
                item = QStandardItem(shown)
                item.setData(value, SORT_ROLE)
                item.setData(r.get("run", ""), Qt.ItemDataRole.UserRole)
                if col == "message" and text:
                    item.setToolTip(text)
                status = r.get("status", "")
                if col == "status" and status in STATUS_COLOURS:
                    item.setForeground(QColor(STATUS_COLOURS[status]))
                items.append(item)
            self.model.appendRow(items)

    def _fill_combos(self) -> None:
        metric = self.metric_combo.currentData()
        group = self.group_combo.currentData()
        for combo in (self.metric_combo, self.group_combo):
            combo.blockSignals(True)
            combo.clear()
        names = [c for c in COLUMNS[1:]]
        for r in self.rows:  # columns a newer engine logs, too
            for c in self._run_metrics(r.get("run", "")):
                if c not in names:
                    names.append(c)
        for c in names:
            self.metric_combo.addItem(COLUMN_TITLES.get(c, c), c)
        if metric is None:
            metric = next((c for c in ("high_quality", "fid", "js", "g_loss")
                           if c in self.header and c in names), "g_loss")
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(metric)))
        self.group_combo.addItem("setting (every key)", ALL_KEYS)
        for k in self.keys:
            self.group_combo.addItem(k, k)
        self.group_combo.setCurrentIndex(max(0, self.group_combo.findData(group)))
        for combo in (self.metric_combo, self.group_combo):
            combo.blockSignals(False)

    def _run_metrics(self, name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """A run's metrics.csv, read once (again when the file changed)."""
        if not name:
            return {}
        path = self.folder / RUNS_DIR / name / "metrics.csv"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {}
        cached = self._metrics.get(name)
        if cached is None or cached[0] != mtime:
            cached = (mtime, read_metrics(path))
            self._metrics[name] = cached
        return cached[1]

    # ------------------------------------------------------------------ the plot
    def group_of(self, row: dict[str, str]) -> str:
        key = self.group_combo.currentData()
        if key in (None, ALL_KEYS):
            return " / ".join(f"{k}={row.get(k, '')}" for k in self.keys) or "all runs"
        return f"{key}={row.get(key, '')}"

    def update_plot(self) -> None:
        item = self.plot.getPlotItem()
        for mean_item, band in self.curves.values():
            item.removeItem(mean_item)
            item.removeItem(band)
        self.legend.clear()
        self.curves.clear()
        self.groups.clear()
        metric = self.metric_combo.currentData()
        if metric is None:
            return
        item.setLabel("left", COLUMN_TITLES.get(metric, metric))
        grouped: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for r in self.rows:
            series = self._run_metrics(r.get("run", "")).get(metric)
            label = self.group_of(r)
            grouped.setdefault(label, [])
            if series is not None and len(series[0]):
                grouped[label].append(series)
        n = max(1, len(grouped))
        for i, (label, series) in enumerate(grouped.items()):
            steps, mean, std, _ = mean_and_spread(series)
            if not len(steps):
                continue
            self.groups[label] = (steps, mean, std, len(series))
            colour = pg.intColor(i, hues=max(n, 3), values=1, maxValue=230, minValue=150)
            upper = pg.PlotDataItem(steps, mean + std)
            lower = pg.PlotDataItem(steps, mean - std)
            fill = QColor(colour)
            fill.setAlpha(55)
            band = pg.FillBetweenItem(upper, lower, brush=fill)
            curve = pg.PlotDataItem(steps, mean, pen=pg.mkPen(colour, width=1),
                                    name=f"{label} ({len(series)} runs)")
            if len(steps) < 30:  # sparse (the slow metrics): show the points too
                curve.setSymbol("o")
                curve.setSymbolSize(5)
                curve.setSymbolBrush(colour)
                curve.setSymbolPen(None)
            item.addItem(band)
            item.addItem(curve)
            self.curves[label] = (curve, band)
        item.setTitle(None if self.groups else f"no run of this sweep has logged {metric}",
                      color=theme.AXIS)

    # ------------------------------------------------------------------ opening a run
    def selected_run(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return rows[0].data(Qt.ItemDataRole.UserRole) or None

    def session_path(self, run: str) -> Path:
        return self.folder / RUNS_DIR / run / SESSION_FILE

    def open_run(self, run: str) -> bool:
        """Emit ``run_opened`` with the run's session, or say why it cannot be opened."""
        path = self.session_path(run)
        if not path.is_file():
            self.message.setText(f"cannot open {run}: no {SESSION_FILE} (the run failed or "
                                 "has not finished)")
            return False
        self.message.setText("")
        self.run_opened.emit(str(path))
        return True

    def open_selected(self) -> bool:
        run = self.selected_run()
        return False if run is None else self.open_run(run)

    def _open_index(self, index: QModelIndex) -> None:
        run = index.data(Qt.ItemDataRole.UserRole)
        if run:
            self.open_run(run)

    def _update_buttons(self, *args: Any) -> None:
        self.open_button.setEnabled(self.selected_run() is not None)


__all__ = ["SweepView", "read_metrics", "mean_and_spread"]

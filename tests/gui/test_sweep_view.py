"""The sweep viewer on a folder written here (no training): the table, its sorting, the
curves as mean and spread across seeds by group, and opening a run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.catalogue import COLUMNS
from gui.sweep_view import SweepView, mean_and_spread, read_metrics

LOSSES = ("minimax", "hinge")
NORMS = ("none", "batch")
SEEDS = (0, 1, 2)


def _name(i: int, loss: str, norm: str, seed: int) -> str:
    return f"{i:03d}-{loss}-{norm}-seed{seed}"


def g_loss(loss: str, norm: str, seed: int, step: np.ndarray) -> np.ndarray:
    """A known curve per run: the group means and spreads are easy to state."""
    base = {"minimax": 1.0, "hinge": 2.0}[loss] + {"none": 0.0, "batch": 10.0}[norm]
    return base + seed + 0.01 * step


@pytest.fixture
def sweep_folder(tmp_path: Path) -> Path:
    """12 runs: 2 losses x 2 norms x 3 seeds; hinge/batch seed 2 failed (no files), and
    minimax/none seed 1 diverged at step 30 (a shorter log)."""
    out = tmp_path / "sweep"
    (out / "runs").mkdir(parents=True)
    (out / "sweep.json").write_text(json.dumps({
        "format": 1, "kind": "gan-playground sweep", "preset": "ring8",
        "grid": [{"key": "loss.name", "values": list(LOSSES)},
                 {"key": "generator.norm", "values": list(NORMS)}],
        "seeds": list(SEEDS), "steps": 50, "samples": 100, "config": {}}))
    header = ["run", "loss.name", "generator.norm", "seed", "step", "modes", "high_quality",
              "w1", "wall_s", "status", "message"]
    table = []
    i = 0
    for loss in LOSSES:
        for norm in NORMS:
            for seed in SEEDS:
                name = _name(i, loss, norm, seed)
                i += 1
                failed = (loss, norm, seed) == ("hinge", "batch", 2)
                diverged = (loss, norm, seed) == ("minimax", "none", 1)
                last = 30 if diverged else 50
                status = "failed" if failed else "diverged" if diverged else "done"
                hq = "" if failed else f"{0.1 * i:.2f}"
                table.append([name, loss, norm, seed, "" if failed else last,
                              "" if failed else i % 9, hq, "" if failed else 2.0 - 0.1 * i,
                              1.5, status, "boom: no data" if failed else ""])
                if failed:
                    continue
                run = out / "runs" / name
                run.mkdir()
                (run / "session.safetensors").write_bytes(b"not really")
                steps = np.arange(1, last + 1)
                with (run / "metrics.csv").open("w", newline="") as f:
                    w = csv.writer(f)
                    w.writerow(COLUMNS)
                    for s, g in zip(steps, g_loss(loss, norm, seed, steps)):
                        row = [""] * len(COLUMNS)
                        row[0], row[COLUMNS.index("g_loss")] = str(s), repr(float(g))
                        if s % 10 == 0:
                            row[COLUMNS.index("high_quality")] = repr(seed * 0.1)
                        w.writerow(row)
    with (out / "sweep.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(table)
    return out


@pytest.fixture
def view(qtbot, sweep_folder) -> SweepView:
    v = SweepView(sweep_folder)
    qtbot.addWidget(v)
    v.show()
    return v


def _column(v: SweepView, name: str) -> list[str]:
    col = v.header.index(name)
    return [v.proxy.index(r, col).data() for r in range(v.proxy.rowCount())]


def test_the_table_has_a_row_per_run_in_the_sweeps_order(view):
    assert not view.isModal()
    assert view.proxy.rowCount() == 12
    assert view.header[:4] == ["run", "loss.name", "generator.norm", "seed"]
    assert _column(view, "run") == sorted(_column(view, "run"))
    assert "12 of 12 runs" in view.summary.text() and "1 failed" in view.summary.text()
    status = view.header.index("status")
    failed = next(r for r in range(12) if view.proxy.index(r, status).data() == "failed")
    assert view.proxy.index(failed, view.header.index("message")).data() == "boom: no data"


def test_sorting_is_numeric_with_empty_cells_last(view):
    col = view.header.index("high_quality")
    view.table.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    values = _column(view, "high_quality")
    assert values[-1] == ""  # the failed run has none, last either way
    numbers = [float(x) for x in values[:-1]]
    assert numbers == sorted(numbers, reverse=True)
    assert numbers[0] == pytest.approx(1.1)  # 1.1 > 0.9 numerically, not as text
    view.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    values = _column(view, "high_quality")
    assert values[-1] == "" and [float(x) for x in values[:-1]] == sorted(
        float(x) for x in values[:-1])
    view.table.sortByColumn(view.header.index("wall_s"), Qt.SortOrder.AscendingOrder)
    view.reload()  # the sort survives a reload
    assert view.proxy.sortColumn() == view.header.index("wall_s")


def test_curves_show_each_settings_mean_and_spread_across_seeds(view):
    view.metric_combo.setCurrentIndex(view.metric_combo.findData("g_loss"))
    assert set(view.groups) == {f"loss.name={loss} / generator.norm={norm}"
                                for loss in LOSSES for norm in NORMS}
    assert len(view.curves) == 4
    steps, mean, std, n = view.groups["loss.name=hinge / generator.norm=none"]
    assert n == 3
    np.testing.assert_allclose(steps, np.arange(1, 51))
    np.testing.assert_allclose(mean, 2.0 + 1.0 + 0.01 * steps)  # seeds 0, 1, 2: mean 1
    np.testing.assert_allclose(std, np.full(50, np.std([0, 1, 2])))
    curve, band = view.curves["loss.name=hinge / generator.norm=none"]
    x, y = curve.getData()
    np.testing.assert_allclose(y, mean)
    np.testing.assert_allclose(band.curves[0].getData()[1], mean + std)
    np.testing.assert_allclose(band.curves[1].getData()[1], mean - std)
    # the failed run is left out; the diverged one counts where it logged
    steps, mean, std, n = view.groups["loss.name=hinge / generator.norm=batch"]
    assert n == 2
    np.testing.assert_allclose(mean, 12.0 + 0.5 + 0.01 * steps)
    steps, mean, _, _ = view.groups["loss.name=minimax / generator.norm=none"]
    np.testing.assert_allclose(mean[:30], 1.0 + 1.0 + 0.01 * steps[:30])  # seeds 0, 1, 2
    np.testing.assert_allclose(mean[30:], 1.0 + 1.0 + 0.01 * steps[30:])  # seeds 0, 2


def test_grouping_by_one_key_pools_the_others(view):
    view.metric_combo.setCurrentIndex(view.metric_combo.findData("g_loss"))
    view.group_combo.setCurrentIndex(view.group_combo.findData("generator.norm"))
    assert set(view.groups) == {"generator.norm=none", "generator.norm=batch"}
    steps, mean, std, n = view.groups["generator.norm=none"]
    assert n == 6
    vals = [g_loss(loss, "none", s, np.array([1.0]))[0] for loss in LOSSES for s in SEEDS]
    assert mean[0] == pytest.approx(np.mean(vals))
    assert std[0] == pytest.approx(np.std(vals))


def test_a_sparse_metric_is_plotted_where_it_was_logged(view):
    view.metric_combo.setCurrentIndex(view.metric_combo.findData("high_quality"))
    steps, mean, _, _ = view.groups["loss.name=minimax / generator.norm=batch"]
    np.testing.assert_allclose(steps, [10, 20, 30, 40, 50])
    np.testing.assert_allclose(mean, 0.1)  # seeds 0, 1, 2 -> 0, 0.1, 0.2


def test_opening_a_run_emits_its_session(view, qtbot, sweep_folder):
    name = _name(4, "minimax", "batch", 1)
    row = _column(view, "run").index(name)
    index = view.proxy.index(row, 2)
    with qtbot.waitSignal(view.run_opened, timeout=2000) as blocker:
        view.table.doubleClicked.emit(index)
    assert blocker.args == [str(sweep_folder / "runs" / name / "session.safetensors")]

    assert not view.open_button.isEnabled()
    view.table.selectRow(row)
    assert view.open_button.isEnabled()
    with qtbot.waitSignal(view.run_opened, timeout=2000) as blocker:
        view.open_button.click()
    assert blocker.args[0].endswith(f"{name}/session.safetensors")


def test_a_failed_run_cannot_be_opened(view, qtbot):
    name = _name(11, "hinge", "batch", 2)
    row = _column(view, "run").index(name)
    view.table.selectRow(row)
    with qtbot.assertNotEmitted(view.run_opened):
        assert not view.open_selected()
    assert "cannot open" in view.message.text()


def test_a_folder_without_a_sweep_says_so(qtbot, tmp_path):
    v = SweepView(tmp_path)
    qtbot.addWidget(v)
    assert v.proxy.rowCount() == 0 and not v.groups
    assert "no sweep.csv" in v.summary.text()


def test_broken_logs_are_read_as_far_as_they_go(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,g_loss,d_loss\n1,0.5,\n2,oops,0.25\n3,nan,0.5\n4\n")
    got = read_metrics(path)
    np.testing.assert_allclose(got["g_loss"][0], [1])
    np.testing.assert_allclose(got["d_loss"][0], [2, 3])
    assert read_metrics(tmp_path / "missing.csv") == {}
    steps, mean, std, count = mean_and_spread([])
    assert len(steps) == 0


def test_file_open_sweep_opens_a_runs_session_in_the_window(qtbot, make_window, sweep_folder,
                                                            monkeypatch):
    """File ▸ Open sweep… on a folder, then opening a run resumes that run's session in the
    main window (its step comes back after a reset)."""
    from PySide6.QtWidgets import QFileDialog, QMenu

    window = make_window()
    play = window.transport.actions["play"]
    play.trigger()
    qtbot.waitUntil(lambda: window.link.state.step >= 3, timeout=10_000)
    with qtbot.waitSignal(window.link.status_changed, timeout=10_000,
                          check_params_cb=lambda s: not s.running):
        play.trigger()
    step = window.link.state.step
    name = _name(0, "minimax", "none", 0)
    session = sweep_folder / "runs" / name / "session.safetensors"
    with qtbot.waitSignal(window.link.saved, timeout=10_000):
        window.files.save_session(str(session))
    with qtbot.waitSignal(window.link.reset_done, timeout=10_000):
        window.transport.actions["reset"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step == 0, timeout=10_000)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(sweep_folder)))
    action = next(a for menu in window.menuBar().findChildren(QMenu)
                  for a in menu.actions() if a.text() == "Open sweep…")
    action.trigger()
    view = window.files.sweep_view
    assert view is not None and view.isVisible() and view.folder == sweep_folder
    assert view.proxy.rowCount() == len(LOSSES) * len(NORMS) * len(SEEDS)
    view.table.selectRow(next(r for r in range(view.proxy.rowCount())
                              if view.proxy.index(r, 0).data() == name))
    with qtbot.waitSignal(view.run_opened, timeout=1000) as opened, \
            qtbot.waitSignal(window.link.applied, timeout=10_000):
        assert view.open_selected()
    assert opened.args == [str(session)]
    qtbot.waitUntil(lambda: window.link.state.step == step, timeout=10_000)
    view.close()

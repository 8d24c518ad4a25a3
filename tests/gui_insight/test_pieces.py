"""Insight pieces that need no engine thread: buffers, request merging, geometry, formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.losses import generator_loss_curve
from engine.metrics import COLUMNS
from engine.snapshot import Snapshot, ViewRequest
from gui.insight.buffers import RowBuffer, SnapshotRing
from gui.insight.dstar_view import smoothed_dstar, weighted_gap
from gui.insight.gen_loss_view import loss_slope, score_range
from gui.insight.geometry import (
    arrow_segments,
    mapping_segments,
    mesh_polylines,
    spread_indices,
)
from gui.insight.requests import merge_view


def snap(step: int, n: int = 64) -> Snapshot:
    return Snapshot(step=step, fake=np.zeros((n, 2)), real=np.zeros((n, 2)), heatmap=None,
                    box=(-1.0, 1.0, -1.0, 1.0), heatmap_is_probability=True)


def test_snapshot_ring_is_bounded_and_keeps_the_start_and_the_newest():
    ring = SnapshotRing(capacity=20, min_interval=0.0)
    for step in range(1, 500):
        ring.add(snap(step), now=float(step))
        assert len(ring) <= 20
    steps = ring.steps()
    assert steps[0] == 1 and steps[-1] == 499
    assert steps == sorted(steps)
    assert ring.index_of_step(499) == len(ring) - 1


def test_snapshot_ring_skips_repeats_and_respects_a_byte_budget():
    one = SnapshotRing(capacity=100, min_interval=0.0)
    assert one.add(snap(1), now=0.0)
    assert not one.add(snap(1), now=1.0)  # a paused engine re-publishes the same frame
    size = one.nbytes
    ring = SnapshotRing(capacity=100, max_bytes=5 * size, min_interval=0.0)
    for step in range(50):
        ring.add(snap(step), now=float(step))
        assert ring.nbytes <= 5 * size
    paced = SnapshotRing(capacity=100, min_interval=0.5)
    kept = [paced.add(snap(i), now=i * 0.1) for i in range(10)]
    assert sum(kept) == 2


def test_row_buffer_thins_old_rows_and_skips_nan():
    buf = RowBuffer(capacity=64)
    rows = np.full((300, len(COLUMNS)), np.nan)
    rows[:, 0] = np.arange(300)
    rows[::10, COLUMNS.index("js")] = 0.5
    for chunk in np.array_split(rows, 30):
        buf.extend(chunk)
    assert len(buf) <= 64
    x, y = buf.xy("js")
    assert len(x) and np.all(y == 0.5)
    assert buf.last("step") == 299
    x, _ = buf.xy("step", positive=True)
    assert x.min() > 0


def test_merge_view_only_adds():
    base = ViewRequest(n_fake=512, heatmap=True, grid=32)
    merged = merge_view(base, {"dstar": True, "grid": 160, "manifold": 15, "heatmap": False})
    assert merged.dstar and merged.heatmap and merged.grid == 160 and merged.manifold == 15
    assert merge_view(merged, {"grid": 8}).grid == 160
    assert merge_view(base, {}) is base
    with pytest.raises(KeyError):
        merge_view(base, {"nope": 1})


def test_arrow_segments_scale_and_shape():
    origins = np.zeros((4, 2))
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [np.nan, 1.0]])
    x, y = arrow_segments(origins, vectors, length=1.0, mode="direction")
    assert len(x) == len(y) == 2 * 6  # zero and NaN vectors are skipped; 3 segments each
    assert math.isclose(x[1], 1.0) and math.isclose(y[1], 0.0)  # tip of the first arrow
    assert math.isclose(y[7], 1.0)  # unit length in direction mode
    x, y = arrow_segments(origins[:2], vectors[:2], length=1.0, mode="relative")
    assert np.hypot(x[7], y[7]) > np.hypot(x[1], y[1])  # the longer gradient, the longer arrow


def test_mesh_polylines_rows_and_columns():
    grid = np.stack(np.meshgrid(np.arange(3.0), np.arange(4.0), indexing="ij"), -1)  # (3,4,2)
    x, y = mesh_polylines(grid)
    assert np.isnan(x).sum() == 3 + 4  # one separator after each line
    assert np.isfinite(x).sum() == 3 * 4 * 2
    x, _ = mesh_polylines(grid[:1])  # 1-D noise: a single curve
    assert np.isnan(x).sum() == 1


def test_mapping_segments_and_spread():
    z = np.linspace(-2, 2, 101)
    idx = spread_indices(z, 11)
    assert len(idx) == 11 and z[idx][0] == -2 and z[idx][-1] == 2
    xs, ys = mapping_segments(z[idx], z[idx] * 0, (-2, 2), (0, 10), -0.7, -0.2)
    assert len(xs) == 22 and xs[0] == 0 and xs[-2] == 10 and set(ys) == {-0.7, -0.2}


def test_formulas_for_dstar_and_the_generator_loss():
    p_data, p_g = np.array([1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0])
    assert np.allclose(smoothed_dstar(p_data, p_g), [1.0, 0.5, 0.5])
    assert np.allclose(smoothed_dstar(p_data, p_g, 0.9, 0.0), [0.9, 0.45, 0.45])
    assert weighted_gap(np.array([1.0, 0.5, 0.0]), smoothed_dstar(p_data, p_g), p_data, p_g) == 0
    d = np.array([0.01, 0.5])
    # minimax saturates where D rejects the fakes; non-saturating is steep there
    assert abs(loss_slope("minimax", d)[0]) < 1.1
    assert abs(loss_slope("non-saturating", d)[0]) > 50
    assert np.allclose(loss_slope("wgan", d), -1)
    lo, hi = score_range(np.array([-0.2, 0.3]), None)
    assert lo <= -1.5 and hi >= 1.5
    assert score_range(np.array([-0.2, 0.3]), (lo, hi)) == (lo, hi)  # stable: no jitter
    assert score_range(np.array([40.0]), (lo, hi))[1] >= 40
    assert np.isfinite(generator_loss_curve("minimax", np.array([0.0, 1.0]))).all()


def test_every_control_has_a_tooltip(qtbot):
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSlider,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QScrollBar,
        QTabBar,
    )

    from gui.engine_link import EngineLink
    from gui.insight import InsightPanel

    from .conftest import small_config

    link = EngineLink(small_config())  # never started: no thread
    panel = InsightPanel(link, config=small_config())
    qtbot.addWidget(panel)
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider, QLineEdit)
    controls = [w for kind in kinds for w in panel.findChildren(kind)
                if not isinstance(w, QScrollBar)  # the plots' own scroll bars
                and not isinstance(w.parent(), QTabBar | QAbstractSpinBox)]  # Qt's own parts
    assert len(controls) >= 15
    missing = [f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()}"
               for w in controls if not w.toolTip()]
    assert not missing, missing
    assert panel.compare.compare_button.isEnabled()  # config given: Compare is ready
    panel.shutdown()

"""Snapshots: plain numpy copies for the views, computed without disturbing training."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Snapshot, ViewRequest

REQ = ViewRequest(n_fake=64, n_real=64, grid=16)


def test_snapshot_shapes_and_heatmap_range(make_session):
    s = make_session()
    s.train(3)
    snap = s.snapshot(REQ)
    assert isinstance(snap, Snapshot)
    assert snap.step == 3
    assert snap.fake.shape == (64, 2) and snap.real.shape == (64, 2)
    assert snap.heatmap.shape == (16, 16)
    assert snap.heatmap_is_probability
    assert np.isfinite(snap.heatmap).all()
    assert snap.heatmap.min() >= 0.0 and snap.heatmap.max() <= 1.0
    assert len(snap.box) == 4 and snap.box == s.box
    assert (snap.d_updates, snap.g_updates) == (3, 3)
    for arr in (snap.fake, snap.real, snap.heatmap):
        assert isinstance(arr, np.ndarray)


@pytest.mark.parametrize("loss", ["wgan", "least-squares", "hinge"])
def test_non_bce_heatmaps_are_raw_scores(make_session, loss):
    s = make_session({"loss.name": loss})
    s.train(2)
    snap = s.snapshot(REQ)
    assert not snap.heatmap_is_probability
    assert snap.heatmap.shape == (16, 16) and np.isfinite(snap.heatmap).all()


def test_heatmap_layout_is_x_by_y_over_the_box(make_session):
    s = make_session({"loss.name": "hinge"})
    s.train(2)
    snap = s.snapshot(REQ)
    xs = np.linspace(snap.box[0], snap.box[1], 16)
    ys = np.linspace(snap.box[2], snap.box[3], 16)
    for i, j in [(0, 0), (3, 11), (15, 2), (15, 15)]:
        want = s.discriminate(np.array([[xs[i], ys[j]]], np.float32))[0]
        assert snap.heatmap[i, j] == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_bce_heatmap_is_the_sigmoid_of_d(make_session):
    s = make_session()
    s.train(2)
    snap = s.snapshot(REQ)
    x, y = snap.box[0], snap.box[2]
    logit = s.discriminate(np.array([[x, y]], np.float32))[0]
    assert snap.heatmap[0, 0] == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-5)


def test_two_snapshots_without_training_are_identical(make_session):
    s = make_session()
    s.train(2)
    a = s.snapshot(REQ)
    b = s.snapshot(REQ)
    np.testing.assert_array_equal(a.fake, b.fake)
    np.testing.assert_array_equal(a.real, b.real)
    np.testing.assert_array_equal(a.heatmap, b.heatmap)


def test_fakes_come_from_fixed_noise_so_they_move_smoothly(make_session):
    s = make_session()
    a = s.snapshot(REQ)
    s.train(1)
    b = s.snapshot(REQ)
    # same z through a slightly updated G: points move a little, they are not redrawn
    moved = np.linalg.norm(a.fake - b.fake, axis=1)
    spread = np.linalg.norm(a.fake - a.fake.mean(0), axis=1).mean()
    assert moved.max() < 0.5 * spread
    np.testing.assert_array_equal(a.real, b.real)  # the real view batch is fixed too


def test_snapshots_do_not_change_training(make_session):
    looked = make_session({"generator.norm": "virtual", "discriminator.norm": "spectral"})
    plain = make_session({"generator.norm": "virtual", "discriminator.norm": "spectral"})
    for _ in range(3):
        looked.train(2)
        looked.snapshot(REQ)
        looked.snapshot(ViewRequest(n_fake=10, n_real=5, grid=4))
        looked.snapshot(ViewRequest(heatmap=False))
        plain.train(2)
    np.testing.assert_array_equal(looked.sample(64), plain.sample(64))
    np.testing.assert_array_equal(looked.history.rows, plain.history.rows)


def test_snapshots_hold_copies(make_session):
    s = make_session()
    snap = s.snapshot(REQ)
    fake, real, heat = snap.fake.copy(), snap.real.copy(), snap.heatmap.copy()
    s.train(3)
    np.testing.assert_array_equal(snap.fake, fake)
    np.testing.assert_array_equal(snap.real, real)
    np.testing.assert_array_equal(snap.heatmap, heat)
    snap.fake[:] = 99.0  # scribbling on a frame does not reach the engine
    snap.real[:] = 99.0
    again = s.snapshot(REQ)
    assert np.abs(again.fake).max() < 99 and np.abs(again.real).max() < 99


def test_a_snapshot_without_heatmap(make_session):
    snap = make_session().snapshot(ViewRequest(n_fake=8, n_real=8, heatmap=False))
    assert snap.heatmap is None and snap.fake.shape == (8, 2)

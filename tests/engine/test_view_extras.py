"""What the plane shows beyond samples and D: the heatmap's region, D with minibatch
features judged among the fakes, and the batch-mates overlay of the batch-norm lesson."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.snapshot import ViewRequest


def test_the_heatmap_covers_the_region_asked_for(make_session):
    s = make_session()
    box = s.box
    wide = (box[0] - 5, box[1] + 5, box[2] - 1, box[3] + 2)
    snap = s.snapshot(ViewRequest(n_fake=8, n_real=8, grid=8, heat_box=wide))
    assert snap.heat_box == wide and snap.box == box
    x = np.linspace(wide[0], wide[1], 8)
    y = np.linspace(wide[2], wide[3], 8)
    pts = np.stack(np.meshgrid(x, y, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    want = torch.sigmoid(torch.as_tensor(s.discriminate(pts))).numpy().reshape(8, 8)
    np.testing.assert_allclose(snap.heatmap, want, atol=1e-5)


@pytest.mark.parametrize("bad", [(0.0, 0.0, 1.0, 2.0), (1.0, 0.0, 0.0, 1.0),
                                 (float("nan"), 1.0, 0.0, 1.0), (-1e9, 1e9, -1e9, 1e9)])
def test_a_senseless_heat_box_falls_back_to_the_data_box(make_session, bad):
    s = make_session()
    snap = s.snapshot(ViewRequest(n_fake=4, n_real=4, grid=4, heat_box=bad))
    assert snap.heat_box is None and np.isfinite(snap.heatmap).all()


def test_with_minibatch_features_each_point_is_judged_among_the_fakes(make_session):
    """Batch 65, 64 fakes as context: a grid point's score is exactly D's output for it as
    the 65th member of that batch of fakes (computed here with D's plain forward)."""
    s = make_session({"discriminator.minibatch": "discrimination", "train.batch_size": 65,
                      "discriminator.mb_kernels": 6})
    s.train(3)
    snap = s.snapshot(ViewRequest(n_fake=64, n_real=8, grid=5))
    fakes = torch.as_tensor(snap.fake)
    x0, x1, y0, y1 = snap.box
    xs, ys = np.linspace(x0, x1, 5), np.linspace(y0, y1, 5)
    for i, j in [(0, 0), (2, 3), (4, 4)]:
        point = torch.tensor([[xs[i], ys[j]]], dtype=torch.float32)
        with torch.no_grad():
            s.discriminator.eval()
            logit = s.discriminator(torch.cat([fakes, point]))[-1, 0]
            s.discriminator.train()
        assert snap.heatmap[i, j] == pytest.approx(float(torch.sigmoid(logit)), abs=1e-5)
    assert snap.heatmap.std() > 1e-4  # not one flat colour


@pytest.mark.parametrize("norm, moves", [("batch", True), ("reference", False),
                                         ("virtual", False), ("none", False)])
def test_batch_mates_move_a_fake_only_under_batch_norm(make_session, norm, moves):
    s = make_session({"generator.norm": norm})
    s.train(5)
    pairs = s.snapshot(ViewRequest(n_fake=64, n_real=8, grid=4, batch_mates=16)).batch_mates
    assert pairs.shape == (16, 2, 2)
    spread = np.linalg.norm(pairs[:, 0] - pairs[:, 1], axis=1).mean()
    assert (spread > 1e-3) if moves else spread < 1e-5
    z = s.view_batches(64, 8)[0][:16].numpy()
    if norm != "batch":  # with no batch dependence a draw is just G(z)
        np.testing.assert_allclose(pairs[:, 0], s.generate(z), atol=1e-5)

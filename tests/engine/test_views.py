"""Insight views computed by the engine: D*, arrows, manifold, 1-D mode, slow metrics."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Session, ViewRequest
from engine.config import default_config, with_changes
from engine.losses import LOSSES, generator_loss_curve

TINY = {"device": "cpu", "generator.hidden": [32, 32], "discriminator.hidden": [32, 32],
        "train.batch_size": 64, "train.metrics_every": 0}


def tiny(changes=None):
    return with_changes(default_config(), {**TINY, **(changes or {})})


def test_learned_d_approaches_dstar_when_g_is_frozen():
    """G frozen (only D steps), D trained on ring8: the mean |D - D*| over the cells of a
    48x48 grid of the data box, weighted by their mass P_data + P_g, falls from ~0.5 at
    initialisation to under 0.02 (measured: 0.504 -> 0.006 after 100 D steps, 0.0003
    after 400)."""
    s = Session(tiny({"optim.d.lr": 3e-3, "train.batch_size": 256}))
    req = ViewRequest(n_fake=1000, n_real=500, grid=48, dstar=True)
    before = s.snapshot(req).dstar_gap
    g_before = [p.detach().clone() for p in s.generator.parameters()]
    for _ in range(400):
        s.d_step()
    s.flush()
    after = s.snapshot(req).dstar_gap
    assert all((a == p.detach()).all() for a, p in zip(g_before, s.generator.parameters()))
    assert before > 0.3
    assert after < 0.02


def test_snapshot_extras_have_the_documented_shapes():
    s = Session(tiny())
    s.train(5)
    snap = s.snapshot(ViewRequest(n_fake=50, n_real=40, grid=10, dstar=True, arrows=True,
                                  d_field=6, manifold=5, d_on_fake=True))
    assert snap.dim == 2 and snap.loss_name == "non-saturating"
    assert snap.dstar.shape == (10, 10) and 0 <= snap.dstar_gap <= 1
    assert snap.arrows.shape == (50, 2) and np.isfinite(snap.arrows).all()
    assert snap.d_field.shape == (6, 6, 2)
    assert snap.manifold.shape == (5, 5, 2)
    assert snap.d_fake.shape == (50,) and ((snap.d_fake > 0) & (snap.d_fake < 1)).all()
    assert snap.view_z.shape == (50, 2)
    plain = s.snapshot(ViewRequest(n_fake=50, n_real=40, grid=10))
    assert plain.dstar is None and plain.arrows is None and plain.manifold is None


def test_arrows_point_where_the_generator_loss_falls():
    """Moving each fake a little along its arrow lowers L_G on that batch."""
    s = Session(tiny())
    s.train(20)
    snap = s.snapshot(ViewRequest(n_fake=64, n_real=8, heatmap=False, arrows=True))
    import torch

    def lg(x):
        with torch.no_grad():
            return s.loss.g_loss(s.discriminator(torch.as_tensor(x, dtype=torch.float32))).item()

    step = 1e-3 / max(np.abs(snap.arrows).max(), 1e-12)
    assert lg(snap.fake + step * snap.arrows) < lg(snap.fake)


def test_dstar_is_only_drawn_for_probability_losses():
    s = Session(tiny({"loss.name": "wgan-gp"}))
    snap = s.snapshot(ViewRequest(grid=8, dstar=True))
    assert snap.dstar is None and snap.p_data is not None


def test_one_dimensional_mode_gives_curves_and_z_to_x_lines():
    s = Session(tiny({"data.name": "mixture1d", "noise.dim": 1}))
    s.train(10)
    snap = s.snapshot(ViewRequest(n_fake=30, n_real=30, grid=25, manifold=7))
    assert snap.dim == 1
    assert snap.fake.shape == (30, 1) and snap.real.shape == (30, 1) and snap.view_z.shape == (30, 1)
    assert snap.heatmap.shape == snap.p_data.shape == snap.p_g.shape == snap.dstar.shape == (25,)
    xs = np.linspace(snap.box[0], snap.box[1], 25)
    assert (snap.p_data * (xs[1] - xs[0])).sum() == pytest.approx(1.0, abs=0.05)
    assert snap.manifold.shape == (1, 7, 1)


@pytest.mark.parametrize("name", list(LOSSES))
def test_generator_loss_curve_matches_the_loss(name):
    import torch

    logits = torch.tensor([-3.0, -0.5, 0.0, 2.0])
    d = torch.sigmoid(logits).numpy() if LOSSES[name].probability else logits.numpy()
    per_sample = [LOSSES[name].g_loss(t[None]).item() for t in logits]
    np.testing.assert_allclose(generator_loss_curve(name, d), per_sample, rtol=1e-5, atol=1e-6)


def test_slow_metrics_land_in_the_history_every_n_steps():
    s = Session(tiny({"train.metrics_every": 5, "train.metrics_samples": 400}))
    s.train(10)
    h = s.history
    filled = ~np.isnan(h["js"])
    assert list(h["step"][filled]) == [5.0, 10.0]
    for col in ("modes", "high_quality", "js", "kl", "w1", "mmd"):
        assert np.isfinite(h[col][filled]).all(), col
    assert (h["js"][filled] <= np.log(2) + 1e-9).all()


def test_batch_norm_fakes_are_drawn_in_training_size_batches():
    """With batch norm in G a fake depends on its batch: the view draws them as training does."""
    s = Session(tiny({"generator.norm": "batch", "train.batch_size": 16}))
    s.train(3)
    snap = s.snapshot(ViewRequest(n_fake=64, n_real=8, heatmap=False))
    np.testing.assert_allclose(snap.fake[:16], s.generate(snap.view_z[:16]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(snap.fake[16:32], s.generate(snap.view_z[16:32]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(snap.fake[:16], s.generate(snap.view_z)[:16], atol=1e-4)


@pytest.mark.parametrize("data, n_fake, n_real", [("moons", 0, 8), ("moons", 8, 0),
                                                  ("mixture1d", 0, 0), ("ring8", 0, 4)])
def test_a_view_without_fakes_or_reals_still_draws_d_star(data, n_fake, n_real):
    """Found by tests/engine/test_properties.py: D* (and every 1-D view) took a KDE of the
    drawn batch and failed on an empty one. D* now takes P_g from its own fixed fakes,
    whatever the view shows, so it is the same with or without drawn points."""
    s = Session(tiny({"data.name": data}))
    snap = s.snapshot(ViewRequest(n_fake=n_fake, n_real=n_real, grid=6, dstar=True))
    assert snap.fake.shape[0] == n_fake and snap.real.shape[0] == n_real
    for a in (snap.heatmap, snap.dstar, snap.p_data, snap.p_g):
        assert a is not None and np.isfinite(a).all()
    full = s.snapshot(ViewRequest(n_fake=64, n_real=64, grid=6, dstar=True))
    np.testing.assert_array_equal(snap.p_g, full.p_g)  # not the drawn fakes' density
    np.testing.assert_array_equal(snap.dstar, full.dstar)
    assert snap.p_g.any()


def test_a_frame_leaves_each_network_in_the_mode_it_found_it():
    """Views look in eval mode (spectral norm's power iteration must not advance) and hand
    the live networks back in training mode; a frame's copy (``engine.mirror``) stays in
    eval mode, so drawing from it never walks its modules to switch them."""
    from engine.mirror import Mirror

    s = Session(tiny({"discriminator.norm": "spectral"}))
    s.train(3)
    req = ViewRequest(n_fake=32, n_real=32, grid=8, arrows=True, d_field=4)
    s.snapshot(req)
    assert s.generator.training and s.discriminator.training
    assert all(m.training for m in s.discriminator.modules())
    mirror = Mirror()
    mirror.wanted.set()
    assert mirror.refresh(s)
    src = mirror.acquire()
    from engine.views import build_snapshot

    snap = build_snapshot(src, req)
    mirror.release()
    assert not any(m.training for net in (src.generator, src.discriminator)
                   for m in net.modules())
    assert s.generator.training and s.discriminator.training
    live = s.snapshot(req)
    np.testing.assert_allclose(snap.heatmap, live.heatmap, rtol=1e-5, atol=1e-6)

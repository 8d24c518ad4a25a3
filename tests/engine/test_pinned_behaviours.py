"""Behaviours a mutation test showed no test pinned down. Each expected value is built here
independently of the module under test (literal constants, numpy re-derivations), so a
planted bug in the module cannot also move the expectation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import Session
from engine.dataspecs import DATA_SPECS
from engine.divergences import js_kl, mmd_rbf
from engine.norms import BatchNorm, ChannelLayerNorm
from engine.snapshot import ViewRequest

EPS = 1e-5  # GAN_REFERENCE / torch's default; deliberately not imported from engine.norms


# --------------------------------------------------------------------------- losses

def test_wgan_gp_lambda_scales_the_penalty_linearly(make_session):
    """Same seed, same batches and interpolation points: the D loss is W + λ·P, so equal
    steps in λ give equal steps in the loss (an ignored λ gives none)."""
    losses = []
    for lam in (1.0, 2.0, 3.0):
        s = make_session({"loss.name": "wgan-gp", "loss.gp_weight": lam})
        s.d_step()
        losses.append(s.history["d_loss"][-1])
    step1, step2 = losses[1] - losses[0], losses[2] - losses[1]
    assert step1 > 1e-4
    assert step2 == pytest.approx(step1, rel=1e-4)


# --------------------------------------------------------------------------- norms

def test_conv_layer_norm_normalises_each_example_over_channels_and_positions():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 5) * torch.tensor([1.0, 3.0, 0.003, 0.5]).view(1, 4, 1, 1) + 2.0
    x[:, 2] = x[:, 2] * 0.001  # a channel of tiny variance: per-channel norm would blow it up
    out = ChannelLayerNorm(4)(x).detach().numpy().astype(np.float64)
    X = x.numpy().astype(np.float64)
    mean = X.mean(axis=(1, 2, 3), keepdims=True)
    var = X.var(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (X - mean) / np.sqrt(var + EPS), rtol=1e-4, atol=1e-4)


def test_batch_norm_on_maps_takes_each_channels_statistics_over_batch_and_positions():
    torch.manual_seed(1)
    x = torch.randn(6, 3, 4, 4) * 0.004  # variance ~1.6e-5: comparable to EPS on purpose
    out = BatchNorm(3)(x).detach().numpy().astype(np.float64)
    X = x.numpy().astype(np.float64)
    mean = X.mean(axis=(0, 2, 3), keepdims=True)
    var = X.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (X - mean) / np.sqrt(var + EPS), rtol=1e-3, atol=1e-4)


def test_batch_norm_epsilon_is_the_documented_one():
    x = torch.tensor([[0.0], [0.002]])  # variance 1e-6, well below EPS
    out = BatchNorm(1)(x).detach().numpy()[:, 0]
    want = np.array([-0.001, 0.001]) / np.sqrt(1e-6 + 1e-5)
    np.testing.assert_allclose(out, want, rtol=1e-4)


# --------------------------------------------------------------------------- swaps

def test_a_learning_rate_change_keeps_both_optimizers_and_their_state(make_session, optims):
    s = make_session()
    s.train(4)
    opt_g, opt_d = optims(s)
    exp_avg = {id(p): st["exp_avg"].clone() for p, st in opt_g.state.items()}
    s.apply({"optim.g.lr": 3.3e-4, "optim.d.lr": 7.7e-4})  # neither is the default
    g2, d2 = optims(s)
    assert g2 is opt_g and d2 is opt_d
    assert g2.param_groups[0]["lr"] == 3.3e-4 and d2.param_groups[0]["lr"] == 7.7e-4
    for p, st in g2.state.items():
        assert torch.equal(st["exp_avg"], exp_avg[id(p)])


@pytest.mark.parametrize("kind", ["sgd", "rmsprop"])
def test_a_momentum_change_reaches_the_live_optimizer(make_session, optims, kind):
    s = make_session({"optim.g.name": kind, "optim.d.name": kind})
    s.train(3)
    s.apply({"optim.g.momentum": 0.7, "optim.d.momentum": 0.35})
    opt_g, opt_d = optims(s)
    assert opt_g.param_groups[0]["momentum"] == 0.7
    assert opt_d.param_groups[0]["momentum"] == 0.35
    s.train(3)
    assert all(st.get("momentum_buffer") is not None for st in opt_g.state.values())


def test_rmsprop_momentum_turned_on_mid_run_trains(make_session):
    s = make_session({"optim.g.name": "rmsprop", "optim.d.name": "rmsprop"})
    s.train(5)  # state created without momentum buffers
    s.apply({"optim.g.momentum": 0.9, "optim.d.momentum": 0.5})
    s.train(10)
    assert s.step == 15 and np.isfinite(s.history.rows[:, 1:7]).all()


def test_the_generator_reference_batch_is_redrawn_when_the_noise_changes(make_session):
    s = make_session({"generator.norm": "reference"})
    before = s.generator.reference.clone()
    s.apply({"noise.dist": "uniform"})
    after = s.generator.reference
    assert not torch.equal(before, after)
    assert float(after.abs().max()) <= 1.0  # uniform on [-1, 1] now
    assert float(before.abs().max()) > 1.0  # it was Gaussian


def test_wgan_gp_with_minibatch_discrimination_trains(make_session):
    s = make_session({"loss.name": "wgan-gp", "discriminator.minibatch": "discrimination",
                      "discriminator.mb_kernels": 4})
    s.train(5)
    assert np.isfinite(s.history.rows[:, 1:7]).all()


def test_the_twice_differentiable_minibatch_table_equals_cdists():
    from engine.networks import MinibatchDiscrimination, double_backward

    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, 4, 3)
    f = torch.randn(9, 6)
    plain = layer(f)

    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.minibatch = layer

    with double_backward(Holder()):
        twice = layer(f)
    torch.testing.assert_close(twice, plain, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- training step

def test_the_discriminator_step_runs_the_generator_without_gradients(make_session):
    s = make_session()
    for p in s.generator.parameters():
        p.grad = None
    s.d_step()
    assert all(p.grad is None for p in s.generator.parameters())


def test_the_generator_step_computes_no_gradient_for_d(make_session):
    s = make_session()
    for p in s.discriminator.parameters():
        p.grad = None
    s.g_step()
    assert all(p.grad is None for p in s.discriminator.parameters())
    assert all(p.grad is not None for p in s.generator.parameters())


# --------------------------------------------------------------------------- divergences

def test_kl_is_kl_of_data_from_generator_not_the_reverse():
    rng = np.random.default_rng(0)
    box = (-1.0, 1.0, -1.0, 1.0)
    real = rng.uniform(-0.2, 0.2, (4000, 2))   # concentrated
    fake = rng.uniform(-1.0, 1.0, (4000, 2))   # spread over the box
    _, kl = js_kl(real, fake, box, bins=10)

    def hist(x):
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=10, range=[[-1, 1], [-1, 1]])
        h = h + 1e-10
        return h / h.sum()

    p, q = hist(real), hist(fake)
    assert kl == pytest.approx(float((p * np.log(p / q)).sum()), rel=1e-9)
    assert kl < float((q * np.log(q / p)).sum())  # the reverse is much larger here


def test_mmd_is_the_unbiased_estimator_without_the_diagonal():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 2)), rng.normal(0.5, 1.0, size=(30, 2))
    h = 0.8
    k = lambda x, y: np.exp(-((x[:, None] - y[None]) ** 2).sum(-1) / (2 * h * h))  # noqa: E731
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    n, m = len(a), len(b)
    want = ((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
            - 2 * kab.mean())
    assert mmd_rbf(a, b, bandwidth=h) == pytest.approx(want, rel=1e-9)


# --------------------------------------------------------------------------- data

def test_ring8_uses_its_radius_and_spreads_any_number_of_modes_evenly():
    spec = DATA_SPECS["ring8"]
    p = {"modes": 5, "radius": 3.5, "std": 0.01}
    centers = spec.modes(p).centers
    angles = 2 * np.pi * np.arange(5) / 5
    np.testing.assert_allclose(centers, 3.5 * np.stack([np.cos(angles), np.sin(angles)], 1),
                               atol=1e-12)


def test_ring8_samples_sit_on_the_configured_circle(make_session):
    s = make_session({"data.modes": 3, "data.radius": 5.0, "data.std": 0.01})
    x = s.snapshot(ViewRequest(n_fake=0, n_real=300, heatmap=False)).real
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 5.0, atol=0.06)
    angles = np.sort(np.unique(np.round(np.degrees(np.arctan2(x[:, 1], x[:, 0]))) % 360 // 10 * 10))
    np.testing.assert_allclose(angles, [0.0, 120.0, 240.0])


# --------------------------------------------------------------------------- views

def test_snapshots_own_their_arrays(make_session):
    s = make_session()
    s.train(2)
    req = ViewRequest(n_fake=64, n_real=64, grid=8)
    a = s.snapshot(req)
    keep = a.fake.copy(), a.view_z.copy(), a.heatmap.copy()
    a.fake[:] = 99.0
    a.view_z[:] = 99.0
    a.heatmap[:] = 99.0
    b = s.snapshot(req)
    np.testing.assert_array_equal(b.fake, keep[0])
    np.testing.assert_array_equal(b.view_z, keep[1])
    np.testing.assert_array_equal(b.heatmap, keep[2])


def test_image_snapshots_own_their_arrays():
    from engine.config import default_config, with_changes

    s = Session(with_changes(default_config(), {
        "device": "cpu", "data.name": "digits", "data.size": 8, "generator.arch": "dcgan",
        "discriminator.arch": "dcgan", "generator.width": 4, "discriminator.width": 4,
        "train.batch_size": 16, "train.metrics_every": 0, "noise.dim": 4}))
    req = ViewRequest(n_fake=0, n_real=0, heatmap=False, images=8, real_images=8,
                      d_histogram=8)
    a = s.snapshot(req)
    keep = [x.copy() for x in (a.images_fake, a.images_real, a.d_fake, a.d_real)]
    for x in (a.images_fake, a.images_real, a.d_fake, a.d_real):
        x[...] = 7.0
    b = s.snapshot(req)
    for x, k in zip((b.images_fake, b.images_real, b.d_fake, b.d_real), keep):
        np.testing.assert_array_equal(x, k)

"""Losses, label smoothing, gradient penalty and weight clipping equal GAN_REFERENCE.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.losses import LOSSES, LossSettings, bce, clip_weights, gradient_penalty

L_REAL = np.array([-1.5, 0.0, 0.3, 2.0, 4.0])
L_FAKE = np.array([-0.7, 0.4, 1.2, -2.5, -6.0])


def sp(t):
    """softplus(t) = log(1 + e^t), written out by hand."""
    return np.log(1.0 + np.exp(t))


def relu(t):
    return np.maximum(t, 0.0)


# (L_D, L_G) from the table in GAN_REFERENCE.md, "Losses"
EXPECTED = {
    "minimax": (sp(-L_REAL).mean() + sp(L_FAKE).mean(), -sp(L_FAKE).mean()),
    "non-saturating": (sp(-L_REAL).mean() + sp(L_FAKE).mean(), sp(-L_FAKE).mean()),
    "wgan": (L_FAKE.mean() - L_REAL.mean(), -L_FAKE.mean()),
    # the penalty term is added by the training step (tested below); d_loss is the WGAN part
    "wgan-gp": (L_FAKE.mean() - L_REAL.mean(), -L_FAKE.mean()),
    "least-squares": (0.5 * ((L_REAL - 1) ** 2).mean() + 0.5 * (L_FAKE**2).mean(),
                      0.5 * ((L_FAKE - 1) ** 2).mean()),
    "hinge": (relu(1 - L_REAL).mean() + relu(1 + L_FAKE).mean(), -L_FAKE.mean()),
}


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_the_contract_loss_names_are_all_there():
    assert set(EXPECTED) <= set(LOSSES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_d_and_g_loss_match_the_reference_table(name):
    loss = LOSSES[name]
    want_d, want_g = EXPECTED[name]
    got_d = loss.d_loss(t(L_REAL), t(L_FAKE), LossSettings())
    got_g = loss.g_loss(t(L_FAKE))
    assert float(got_d) == pytest.approx(want_d, rel=1e-12, abs=1e-12)
    assert float(got_g) == pytest.approx(want_g, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_bce_losses_are_numerically_safe_for_extreme_logits(name):
    loss = LOSSES[name]
    big = t([80.0, -80.0, 200.0])
    d = loss.d_loss(big, -big, LossSettings())
    g = loss.g_loss(big)
    assert torch.isfinite(d) and torch.isfinite(g)
    # sp(-80) is ~1.8e-35, sp(80) = 80 to machine precision: computed in logits, never log(sigmoid)
    assert float(loss.g_loss(t([-80.0]))) == pytest.approx(-sp(-80.0) if name == "minimax" else 80.0,
                                                           rel=1e-9)


def _bce_by_hand(logits, target):
    s = 1.0 / (1.0 + np.exp(-logits))
    return float(-(target * np.log(s) + (1 - target) * np.log(1 - s)).mean())


@pytest.mark.parametrize("name", ["minimax", "non-saturating"])
def test_label_smoothing_changes_the_bce_targets(name):
    settings = LossSettings(real_label=0.9, fake_label=0.1)
    got = float(LOSSES[name].d_loss(t(L_REAL), t(L_FAKE), settings))
    want = _bce_by_hand(L_REAL, 0.9) + _bce_by_hand(L_FAKE, 0.1)
    assert got == pytest.approx(want, rel=1e-10)
    # the same as torch's own BCE with the smoothed targets
    F = torch.nn.functional
    ref = (F.binary_cross_entropy_with_logits(t(L_REAL), torch.full((5,), 0.9, dtype=torch.float64))
           + F.binary_cross_entropy_with_logits(t(L_FAKE), torch.full((5,), 0.1, dtype=torch.float64)))
    assert got == pytest.approx(float(ref), rel=1e-10)
    # one-sided smoothing: the fake target stays 0
    one_sided = float(LOSSES[name].d_loss(t(L_REAL), t(L_FAKE), LossSettings(0.9, 0.0)))
    assert one_sided == pytest.approx(_bce_by_hand(L_REAL, 0.9) + _bce_by_hand(L_FAKE, 0.0), rel=1e-10)


def test_bce_helper_is_t_sp_minus_l_plus_1_minus_t_sp_l():
    for target in (0.0, 0.1, 0.5, 0.9, 1.0):
        want = (target * sp(-L_REAL) + (1 - target) * sp(L_REAL)).mean()
        assert float(bce(t(L_REAL), target)) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", ["wgan", "wgan-gp", "least-squares", "hinge"])
def test_label_smoothing_only_applies_to_bce_losses(name):
    loss = LOSSES[name]
    plain = float(loss.d_loss(t(L_REAL), t(L_FAKE), LossSettings()))
    smoothed = float(loss.d_loss(t(L_REAL), t(L_FAKE), LossSettings(0.9, 0.1)))
    assert smoothed == plain


def _g_grad(name, logits):
    lf = t(logits).requires_grad_(True)
    LOSSES[name].g_loss(lf).backward()
    return lf.grad.numpy()


def test_minimax_generator_gradient_is_minus_sigmoid_and_vanishes_when_d_rejects_fakes():
    logits = np.array([-10.0, -3.0, 0.0, 2.0])
    n = len(logits)
    sig = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(_g_grad("minimax", logits), -sig / n, rtol=1e-10)
    # non-saturating: d/dl sp(-l) = -sigmoid(-l) = -(1 - sigmoid(l))
    np.testing.assert_allclose(_g_grad("non-saturating", logits), -(1 - sig) / n, rtol=1e-10)
    # D confidently rejects a fake (l = -10): minimax's gradient all but vanishes, NS's does not
    mm = abs(_g_grad("minimax", [-10.0])[0])
    ns = abs(_g_grad("non-saturating", [-10.0])[0])
    assert mm < 1e-4
    assert ns > 0.99
    assert mm < 1e-3 * ns


# --------------------------------------------------------------------------- gradient penalty

class Linear(torch.nn.Module):
    """l(x) = w . x (over all non-batch dims): its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    critic = Linear([3.0, 4.0])  # ||w|| = 5 -> penalty (5 - 1)^2 = 16 wherever x_hat lands
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(64, 2, generator=gen, dtype=torch.float64) + 3
    gp = gradient_penalty(critic, real, fake, gen)
    assert float(gp.detach()) == pytest.approx(16.0, rel=1e-12)
    # the penalty is differentiable w.r.t. the critic (create_graph):
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [3, 4] / 5
    gp.backward()
    np.testing.assert_allclose(critic.w.grad.numpy(), [4.8, 6.4], rtol=1e-12)


def test_gradient_penalty_detaches_real_and_fake():
    critic = Linear([1.0, 0.0])
    real = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    gradient_penalty(critic, real, fake).backward()
    assert real.grad is None and fake.grad is None


def test_gradient_penalty_norm_is_over_all_non_batch_dims():
    w = np.arange(1.0, 5.0)  # a critic on (n, 1, 2, 2) "images"
    critic = Linear(w.tolist())
    real = torch.randn(16, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(16, 1, 2, 2, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake)
    assert float(gp.detach()) == pytest.approx((np.linalg.norm(w) - 1) ** 2, rel=1e-12)


def quadratic(x):
    """l(x) = ||x||^2 / 2: its gradient at x is x, so the penalty is (||x_hat|| - 1)^2."""
    return 0.5 * (x.flatten(1) ** 2).sum(1)


def test_gradient_penalty_of_a_quadratic_critic_at_a_known_point():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.6, 0.8], [1.0, 1.0]], dtype=torch.float64)
    # real == fake pins x_hat = x whatever alpha is
    gp = gradient_penalty(quadratic, x, x.clone())
    norms = np.linalg.norm(x.numpy(), axis=1)
    assert float(gp.detach()) == pytest.approx(((norms - 1) ** 2).mean(), rel=1e-12)


def test_gradient_penalty_interpolates_with_one_alpha_per_sample():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(32, 2, generator=gen, dtype=torch.float64) * 3 + 1
    gp = gradient_penalty(quadratic, real, fake, torch.Generator().manual_seed(7))
    # the same alpha draw by hand: one U[0,1] per sample, x_hat = x_real + alpha (x_fake - x_real)
    alpha = torch.rand((32, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64).numpy()
    r, f = real.numpy(), fake.numpy()
    x_hat = r + alpha * (f - r)
    want = ((np.linalg.norm(x_hat, axis=1) - 1) ** 2).mean()
    assert float(gp.detach()) == pytest.approx(want, rel=1e-12)
    assert len(np.unique(alpha)) == 32


def test_wgan_gp_training_step_adds_the_weighted_penalty(make_session):
    without = make_session({"loss.name": "wgan-gp", "loss.gp_weight": 0.0})
    with_gp = make_session({"loss.name": "wgan-gp", "loss.gp_weight": 10.0})
    without.d_step()
    with_gp.d_step()
    d0 = without.history["d_loss"][-1]
    d1 = with_gp.history["d_loss"][-1]
    # same seed, same batches: the only difference is 10 * E[(||grad|| - 1)^2] > 0
    assert d1 > d0


# --------------------------------------------------------------------------- weight clipping

def test_clip_weights_clamps_every_parameter():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
        net[0].weight[0, 0] = 0.005  # already inside: untouched
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights(net, 0.01)
    for old, p in zip(before, net.parameters()):
        assert float(p.detach().abs().max()) <= 0.01
        np.testing.assert_array_equal(p.detach().numpy(), old.clamp(-0.01, 0.01).numpy())
    assert float(net[0].weight[0, 0].detach()) == pytest.approx(0.005)


@pytest.mark.parametrize("d_norm", ["none", "layer"])
def test_wgan_training_step_clips_the_critic(make_session, d_norm):
    s = make_session({"loss.name": "wgan", "loss.clip": 0.01, "train.d_steps": 2,
                      "discriminator.norm": d_norm})
    s.train(3)
    for name, p in s.discriminator.named_parameters():
        assert float(p.detach().abs().max()) <= 0.01 + 1e-12, name
    # only the critic is clipped
    assert max(float(p.detach().abs().max()) for p in s.generator.parameters()) > 0.01


def test_other_losses_do_not_clip(make_session):
    s = make_session({"loss.name": "hinge"})
    s.train(2)
    assert max(float(p.detach().abs().max()) for p in s.discriminator.parameters()) > 0.01


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_d_real_and_d_fake_are_probabilities_for_bce_and_raw_scores_otherwise(make_session, name):
    s = make_session({"loss.name": name})
    s.train(2)
    d_real = s.history["d_real"][-1]
    d_fake = s.history["d_fake"][-1]
    assert math.isfinite(d_real) and math.isfinite(d_fake)
    if name in ("minimax", "non-saturating"):
        assert 0.0 <= d_real <= 1.0 and 0.0 <= d_fake <= 1.0
        assert LOSSES[name].probability
    else:
        assert not LOSSES[name].probability

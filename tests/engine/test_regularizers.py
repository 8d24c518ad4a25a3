"""R1/R2 penalties, instance noise and freezing in the real trainer (issue 13, trainer part).

Expected values are computed here, by hand or by torch.autograd on the session's own D at
the very batch the step draws (the RNG is cloned to replay the step's draws), never by the
engine's penalty function.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.losses import input_gradient_sq, r_penalty
from engine.training import instance_noise_std


def _rng_copy(s) -> torch.Generator:
    g = torch.Generator(s.device)
    g.set_state(s._rng.get_state())
    return g


def _replay_d_batches(s) -> tuple[torch.Tensor, torch.Tensor]:
    """The real batch and G's fakes the next D step will draw (no codes, no labels)."""
    gen = _rng_copy(s)
    bs = s.config["train"]["batch_size"]
    real = s._steps.draw_real(bs, gen)[0]
    z = torch.randn(bs, s.config["noise"]["dim"], generator=gen, device=s.device)
    with torch.no_grad():
        fake = s.generator(z)
    return real, fake


def _grad_sq(d, x: torch.Tensor) -> float:
    """E ||grad_x d(x)||^2 by autograd, one sample at a time (no batch coupling)."""
    total = 0.0
    for row in x:
        xi = row[None].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(d(xi).sum(), xi)
        total += float(g.pow(2).sum())
    return total / len(x)


# --------------------------------------------------------------------------- formulas

def test_r_penalty_equals_the_closed_form_on_a_hand_written_d():
    """D(x) = tanh(w.x + b): grad_x D = (1 - tanh^2) w, so the penalty is known exactly."""
    x = torch.tensor([[0.5, -1.0], [2.0, 0.25], [-0.3, 0.7]], dtype=torch.float64)
    w = torch.tensor([1.5, -0.5], dtype=torch.float64)
    b = 0.2
    xr = x.clone().requires_grad_(True)
    out = torch.tanh(xr @ w + b)
    gamma = 3.0
    t = np.tanh(x.numpy() @ w.numpy() + b)
    expected = gamma / 2 * np.mean((1 - t**2) ** 2 * float(w @ w))
    assert float(r_penalty(gamma, out, xr).detach()) == pytest.approx(expected, rel=1e-12)
    assert float(input_gradient_sq(out, xr).detach()) == pytest.approx(2 * expected / gamma, rel=1e-12)


@pytest.mark.parametrize("which", ["r1", "r2"])
def test_r1_r2_set_mid_run_add_exactly_the_penalty_to_d_loss(make_session, which):
    """A twin trained identically without the penalty: the D loss of the next step differs
    by (gamma/2) E||grad_x D||^2 at that step's real (R1) or fake (R2) batch."""
    s, twin = make_session(), make_session()
    s.train(3)
    twin.train(3)
    gamma = 4.0
    s.apply({f"loss.{which}": gamma})
    real, fake = _replay_d_batches(s)
    sq = _grad_sq(s.discriminator, real if which == "r1" else fake)
    s.train(1)
    twin.train(1)
    diff = s.history["d_loss"][-1] - twin.history["d_loss"][-1]
    assert sq > 1e-6
    assert diff == pytest.approx(gamma / 2 * sq, rel=1e-4, abs=1e-7)


def test_r1_trains_with_every_loss_and_both_penalties(make_session, finite):
    for loss in ("non-saturating", "wgan-gp", "hinge", "least-squares"):
        s = make_session({"loss.name": loss, "loss.r1": 1.0, "loss.r2": 0.5,
                          "discriminator.minibatch": "discrimination"})
        s.train(3)
        assert finite(s)
        assert np.isfinite(s.history["d_loss"]).all()


# --------------------------------------------------------------------------- instance noise

def _record_inputs(s) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Hooks that keep every input D sees and every output G makes, in call order."""
    d_in: list[torch.Tensor] = []
    g_out: list[torch.Tensor] = []
    s.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0].detach().clone()))
    s.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach().clone()))
    return d_in, g_out


def test_instance_noise_reaches_d_on_real_and_fake_in_both_steps(make_session):
    sigma = 0.5
    big = {"train.batch_size": 512}  # 1024 noise draws per input: tight statistics
    s, twin = make_session(big), make_session(big)
    s.train(2)
    twin.train(2)
    s.apply({"data.instance_noise": sigma})  # mid-run: takes effect at the next step
    d_in, g_out = _record_inputs(s)
    twin_in, _ = _record_inputs(twin)
    s.train(1)
    twin.train(1)
    # D's step: D(real + e), D(G(z) + e); G's step: D(G(z) + e); then the health check's
    # probe runs both networks on its own fixed batch (noiseless: it is no training input)
    assert len(d_in) >= 3 and len(g_out) >= 2
    real_noise = d_in[0] - twin_in[0]           # the twin drew the same real batch, noiseless
    fake_noise_d = d_in[1] - g_out[0]
    fake_noise_g = d_in[2] - g_out[1]
    for e in (real_noise, fake_noise_d, fake_noise_g):
        assert abs(float(e.std()) - sigma) < 0.1 * sigma   # ~4.5 standard errors
        assert abs(float(e.mean())) < 0.1 * sigma          # ~3 standard errors


def test_no_instance_noise_means_d_sees_the_plain_inputs(make_session):
    s = make_session()
    d_in, g_out = _record_inputs(s)
    s.train(1)
    assert torch.equal(d_in[1], g_out[0]) and torch.equal(d_in[2], g_out[1])


def test_instance_noise_anneals_linearly_from_the_step_it_was_set(make_session):
    assert instance_noise_std(0.8, 0, 10**6) == 0.8
    assert instance_noise_std(0.8, 10, 5) == pytest.approx(0.4)
    assert instance_noise_std(0.8, 10, 15) == 0.0
    s = make_session()
    s.train(4)
    s.apply({"data.instance_noise": 0.8, "data.instance_noise_steps": 10})
    assert s.instance_noise == pytest.approx(0.8)
    s.train(5)
    assert s.instance_noise == pytest.approx(0.4)
    s.train(6)
    assert s.instance_noise == 0.0
    d_in, g_out = _record_inputs(s)
    s.train(1)
    assert torch.equal(d_in[1], g_out[0])  # annealed away: plain inputs again


def test_instance_noise_survives_a_change_of_data_set(make_session):
    s = make_session({"data.instance_noise": 0.3})
    s.apply({"data.name": "grid25"})
    assert s.config["data"]["instance_noise"] == 0.3
    assert s.instance_noise == pytest.approx(0.3)


# --------------------------------------------------------------------------- freezing

def _params(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.state_dict().values()]


def _identical(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("frozen,changes", [
    ("generator", {"optim.g.lr": 0.0}),
    ("discriminator", {"optim.d.lr": 0.0}),
    ("generator", {"train.g_steps": 0}),
])
def test_freezing_mid_run_leaves_that_network_bit_identical_for_100_steps(make_session, frozen,
                                                                         changes):
    s = make_session()
    s.train(3)
    s.apply(changes)
    other = "discriminator" if frozen == "generator" else "generator"
    before, other_before = _params(getattr(s, frozen)), _params(getattr(s, other))
    updates = (s.d_updates, s.g_updates)
    s.train(100)
    assert _identical(_params(getattr(s, frozen)), before)
    assert not _identical(_params(getattr(s, other)), other_before)
    d_new, g_new = s.d_updates - updates[0], s.g_updates - updates[1]
    assert (g_new, d_new) == ((0, 100) if frozen == "generator" else (100, 0))
    # the frozen network's figures are NaN, the other's finite
    cols = ("g_loss", "g_grad_norm") if frozen == "generator" else ("d_loss", "d_grad_norm")
    assert np.isnan(s.history[cols[0]][-100:]).all()
    assert np.isnan(s.history[cols[1]][-100:]).all()
    # thawing: it trains again, from its kept optimizer state
    s.apply({k: (2e-4 if "lr" in k else 1) for k in changes})
    s.train(2)
    assert not _identical(_params(getattr(s, frozen)), before)


def test_zero_d_steps_trains_g_alone_against_a_fixed_d(make_session):
    s = make_session({"train.d_steps": 0})
    d_before = _params(s.discriminator)
    s.train(5)
    assert _identical(_params(s.discriminator), d_before)
    assert s.d_updates == 0 and s.g_updates == 5
    assert math.isnan(s.history["d_loss"][-1])



def test_a_saved_session_resumes_the_anneal_where_it_was(make_session, tmp_path):
    from engine import Session

    s = make_session()
    s.train(3)
    s.apply({"data.instance_noise": 0.8, "data.instance_noise_steps": 10})
    s.train(2)
    path = str(tmp_path / "s.safetensors")
    s.save(path)
    s2 = Session.load(path)
    assert s2.instance_noise == pytest.approx(s.instance_noise) == pytest.approx(0.64)
    s.train(2)
    s2.train(2)
    np.testing.assert_array_equal(s2.history.rows, s.history.rows)

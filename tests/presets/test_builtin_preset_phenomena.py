"""Each built-in phenomenon preset shows its phenomenon, headless, on fixed seeds.

Runs are shortened (fewer steps than a user would watch) but every preset keeps its own
loss, optimizers and key knob; the figures each test asserts are quoted in the preset's
description. ``pytest -s`` prints the measured figures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine import Session
from engine.losses import LOSSES


def column(s: Session, name: str, start: int, stop: int | None = None) -> np.ndarray:
    """A history column over steps (start, stop]: logged every step in these presets."""
    h = s.history
    steps = h["step"]
    keep = (steps > start) & (steps <= (stop if stop is not None else np.inf))
    vals = h[name][keep]
    return vals[np.isfinite(vals)]


def report(text: str) -> None:
    """The measured figures behind a test, shown with ``pytest -s`` (and in failures)."""
    print(f"\n    {text}", end="")


def _g_grad_norm(s, loss_name: str, n: int = 1024) -> float:
    """Norm of G's parameter gradient of ``loss_name``'s L_G against the session's D."""
    g, d = s.generator, s.discriminator
    z = torch.randn(n, s.config["noise"]["dim"], generator=torch.Generator().manual_seed(1))
    g.zero_grad(set_to_none=True)
    LOSSES[loss_name].g_loss(d(g(z))).backward()
    norm = torch.linalg.vector_norm(
        torch.stack([p.grad.norm() for p in g.parameters() if p.grad is not None]))
    g.zero_grad(set_to_none=True)
    d.zero_grad(set_to_none=True)
    return float(norm)


# --------------------------------------------------------------- 2: vanishing gradients
def test_minimax_gradient_vanishes_where_non_saturating_does_not(session_of):
    steps = 200
    mm = session_of("minimax_vanishing")
    ns = session_of("non_saturating_strong_d")
    mm.train(steps)
    ns.train(steps)
    mm_g = float(np.median(column(mm, "g_grad_norm", 100)))
    ns_g = float(np.median(column(ns, "g_grad_norm", 100)))
    mm_fake = float(np.median(column(mm, "d_fake", 100)))
    # the same trained D and G, both generator losses: the saturation itself
    same_mm, same_ns = _g_grad_norm(mm, "minimax"), _g_grad_norm(mm, "non-saturating")
    report(f"median g_grad_norm over steps 101-{steps}: minimax {mm_g:.2e} vs "
           f"non-saturating {ns_g:.3g} (x{ns_g / mm_g:.0f}); minimax D(G(z)) {mm_fake:.1e}; "
           f"against the minimax run's D: minimax L_G grad {same_mm:.2e} vs "
           f"non-saturating L_G grad {same_ns:.3g}")
    assert mm_g * 10 <= ns_g
    assert mm_g < 1e-2 and ns_g > 0.5
    assert mm_fake < 1e-2, "D should reject the minimax run's fakes outright"
    assert same_mm * 100 <= same_ns
    # and the minimax fakes never leave the centre
    assert np.linalg.norm(mm.sample(1000), axis=1).mean() < 0.5


# --------------------------------------------------------------- 3-4: mode collapse
def test_mode_collapse_and_minibatch_rescue(session_of):
    steps = 1000
    collapsed = session_of("mode_collapse")
    rescued = session_of("minibatch_rescue")
    collapsed.train(steps)
    rescued.train(steps)
    a, b = collapsed.mode_stats(), rescued.mode_stats()
    logged = column(collapsed, "modes", 0)
    spread_a = collapsed.sample(2500).std(0).max()
    spread_b = rescued.sample(2500).std(0).max()
    report(f"after {steps} steps: mode_collapse {a.captured}/8 modes (logged every 100 steps: "
           f"{logged.astype(int).tolist()}), sample std {spread_a:.2f}; minibatch_rescue "
           f"{b.captured}/8 modes, sample std {spread_b:.2f}")
    assert a.captured <= 2
    assert logged.max() <= 2, "mode_collapse should never spread over the ring"
    assert b.captured >= 6
    assert b.captured >= a.captured + 4


# --------------------------------------------------------------- 5-6: WGAN
def test_wgan_clip_learns_within_clip_bounds(session_of):
    steps = 400
    s = session_of("wgan_clip")
    c = s.config["loss"]["clip"]
    w1_0 = s.divergences(1000).w1
    s.train(steps)
    w1 = s.divergences(1000).w1
    ms = s.mode_stats()
    params = torch.cat([p.detach().flatten() for p in s.discriminator.parameters()])
    at_bound = float((params.abs() >= c * (1 - 1e-6)).float().mean())
    scores = np.abs(column(s, "d_real", 0))
    report(f"W1 {w1_0:.2f} -> {w1:.2f} after {steps} steps, modes {ms.captured}/8; "
           f"critic |w| max {float(params.abs().max()):.4f} (c = {c}), {at_bound:.0%} at the bound; "
           f"|D(x)| max {scores.max():.3f}")
    assert float(params.abs().max()) <= c + 1e-7
    assert at_bound > 0.05, "clipping should be active"
    assert w1 <= 0.6 * w1_0
    assert ms.captured >= 4


def test_wgan_gp_learns(session_of):
    steps = 400
    s = session_of("wgan_gp")
    w1_0 = s.divergences(1000).w1
    modes_0 = s.mode_stats().captured
    s.train(steps)
    w1 = s.divergences(1000).w1
    ms = s.mode_stats()
    report(f"W1 {w1_0:.2f} -> {w1:.2f} after {steps} steps, modes {modes_0} -> {ms.captured}/8")
    assert w1 <= 0.6 * w1_0
    assert ms.captured >= 4


# --------------------------------------------------------------- 7: disjoint supports
def test_lines_wgan_crosses_the_gap_where_minimax_stalls(session_of):
    steps = 200
    js = session_of("lines_js")
    wg = session_of("lines_wgan")
    js.train(steps)
    wg.train(steps)
    x_js = js.sample(2000)[:, 0].mean()
    x_wg = wg.sample(2000)[:, 0].mean()
    centre = js.config["data"]["offset"]  # the segments sit at centre -+ gap/2
    g_js = float(np.median(column(js, "g_grad_norm", 100)))
    g_wg = float(np.median(column(wg, "g_grad_norm", 100)))
    d_js, d_wg = js.divergences(2000), wg.divergences(2000)
    report(f"after {steps} steps: mean x of fakes {x_js:.2f} (minimax) vs {x_wg:.2f} "
           f"(WGAN-GP), segments' centre x = {centre}; median G grad {g_js:.1e} vs "
           f"{g_wg:.2f}; JS {d_js.js:.3f} vs {d_wg.js:.3f} (log 2 = {math.log(2):.3f}); "
           f"W1 {d_js.w1:.2f} vs {d_wg.w1:.2f}")
    assert abs(x_wg - centre) < 0.5
    assert abs(x_js - centre) > 2.0
    assert g_js < 1e-2 and g_wg > 0.3
    assert d_js.js > 0.68  # stuck at ~log 2: the supports never meet
    assert d_wg.w1 < 0.5 * d_js.w1


# --------------------------------------------------------------- 8: label smoothing
def test_one_sided_label_smoothing_caps_d_on_real(session_of):
    steps = 300
    s = session_of("label_smoothing_one_sided")
    s.train(steps)
    cap = s.config["loss"]["real_label"]
    d_real = column(s, "d_real", 0)
    # control: the same run without smoothing, to show the cap is the smoothing's doing
    plain = session_of("label_smoothing_one_sided", {"loss.real_label": 1.0})
    plain.train(100)
    p_real = column(plain, "d_real", 0)
    report(f"one-sided (target {cap}): mean D(x) {d_real.mean():.3f} over {steps} steps, "
           f"highest batch {d_real.max():.3f}; unsmoothed control: mean {p_real.mean():.3f} "
           f"over 100 steps, highest batch {p_real.max():.3f}")
    assert d_real.mean() <= cap + 0.01
    assert d_real.max() <= cap + 0.05
    assert p_real.mean() >= cap + 0.02 and p_real.max() >= 0.99


def test_two_sided_label_smoothing_keeps_d_on_fakes_up(session_of):
    steps = 300
    two = session_of("label_smoothing_two_sided")
    one = session_of("label_smoothing_one_sided")
    two.train(steps)
    one.train(steps)
    lo, hi = two.config["loss"]["fake_label"], two.config["loss"]["real_label"]
    r2 = column(two, "d_real", 0)
    f2, f1 = column(two, "d_fake", 100), column(one, "d_fake", 100)
    report(f"two-sided ({lo}, {hi}): mean D(x) {r2.mean():.3f} (max batch {r2.max():.3f}), "
           f"mean D(G(z)) over steps 101-{steps} {f2.mean():.3f} vs one-sided {f1.mean():.3f}")
    assert r2.mean() <= hi + 0.01 and r2.max() <= hi + 0.05
    assert f2.mean() >= lo
    assert f2.mean() >= f1.mean() + 0.03


# --------------------------------------------------------------- 9: batch norm in G
@pytest.mark.parametrize("name, depends", [
    ("batchnorm_generator", True),
    ("reference_norm_generator", False),
    ("virtual_norm_generator", False),
])
def test_generator_norm_batch_dependence(session_of, name, depends):
    s = session_of(name)
    s.train(100)
    rng = np.random.default_rng(0)
    dim = s.config["noise"]["dim"]
    a = rng.standard_normal((256, dim)).astype(np.float32)
    b = rng.standard_normal((256, dim)).astype(np.float32)
    b[0] = a[0]  # the same z0, different batch-mates
    moved = float(np.linalg.norm(s.generate(a)[0] - s.generate(b)[0]))
    alone = float(np.linalg.norm(s.generate(a)[0] - s.generate(a[:8])[0]))
    report(f"{name}: G(z0) moves by {moved:.3g} when its 255 batch-mates change, "
           f"{alone:.3g} in a batch of 8")
    if depends:
        assert moved > 0.1 and alone > 0.1
    else:
        assert moved < 1e-5 and alone < 1e-5


# --------------------------------------------------------------- 10: k, both ways
def test_too_many_and_too_few_d_steps_fail_in_opposite_directions(session_of):
    many = session_of("too_many_d_steps")
    few = session_of("too_few_d_steps")
    many.train(200)
    few.train(300)
    gap_many = float(np.mean(column(many, "d_real", 100) - column(many, "d_fake", 100)))
    gap_few = float(np.mean(column(few, "d_real", 100) - column(few, "d_fake", 100)))
    g_many = float(np.median(column(many, "g_grad_norm", 100)))
    g_few = float(np.median(column(few, "g_grad_norm", 100)))
    report(f"D(x) - D(G(z)) after step 100: too_many {gap_many:.3f} vs too_few {gap_few:.3f}; "
           f"median G grad {g_many:.3g} vs {g_few:.3g}; modes {many.mode_stats().captured} vs "
           f"{few.mode_stats().captured}")
    assert gap_many >= 0.6
    assert abs(gap_few) <= 0.1
    assert g_many >= 10 and g_many >= 20 * g_few

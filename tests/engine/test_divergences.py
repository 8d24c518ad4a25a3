"""Estimators of the insight views against cases with known answers (GAN_REFERENCE.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.datasets import Modes
from engine.divergences import (
    js_kl,
    kde_density,
    mixture_density,
    mmd_rbf,
    optimal_discriminator,
    wasserstein1,
)

RNG = np.random.default_rng(0)


def test_js_of_identical_sets_is_zero_and_of_disjoint_sets_is_log2():
    a = RNG.standard_normal((4000, 2))
    js, kl = js_kl(a, a, (-4, 4, -4, 4))
    assert js == pytest.approx(0.0, abs=1e-9) and kl == pytest.approx(0.0, abs=1e-9)
    far = a * 0.3 + np.array([3.0, 3.0])
    js, _ = js_kl(a * 0.3 - 3.0, far, (-5, 5, -5, 5))
    assert js == pytest.approx(math.log(2), abs=1e-3)


def test_js_of_two_samples_of_one_distribution_is_small():
    a, b = RNG.standard_normal((5000, 2)), RNG.standard_normal((5000, 2))
    js, _ = js_kl(a, b, (-4, 4, -4, 4))
    assert js < 0.1 * math.log(2)


@pytest.mark.parametrize("shift", [(0.5, 0.0), (0.3, 0.4), (-2.0, 1.0)])
def test_w1_between_a_set_and_its_shift_is_the_shift_length(shift):
    a = RNG.standard_normal((400, 2)) * 0.1  # compact enough that moving everything is optimal
    t = np.asarray(shift)
    assert wasserstein1(a, a + t) == pytest.approx(np.linalg.norm(t), rel=1e-6)


def test_w1_refuses_sets_of_different_sizes():
    with pytest.raises(ValueError, match="equal-size"):
        wasserstein1(np.zeros((3, 2)), np.zeros((4, 2)))


def test_mmd_of_one_distribution_is_near_zero_and_grows_with_the_gap():
    a, b = RNG.standard_normal((600, 2)), RNG.standard_normal((600, 2))
    same = mmd_rbf(a, b)
    apart = mmd_rbf(a, b + 2.0)
    assert abs(same) < 0.01
    assert apart > 0.3


def test_dstar_on_two_known_gaussians_matches_the_closed_form():
    # p_data = N(-1, 1), p_g = N(1, 1) in 1-D: D*(x) = 1 / (1 + exp(2x))
    x = np.linspace(-3, 3, 61)[:, None]
    p_data = mixture_density(x, Modes(np.array([[-1.0]]), 1.0))
    p_g = mixture_density(x, Modes(np.array([[1.0]]), 1.0))
    np.testing.assert_allclose(optimal_discriminator(p_data, p_g), 1 / (1 + np.exp(2 * x[:, 0])),
                               rtol=1e-10)


def test_mixture_density_integrates_to_one_and_kde_approaches_it():
    modes = Modes(np.array([[-1.0, 0.0], [1.0, 0.0]]), 0.3)
    xs = np.linspace(-3, 3, 121)
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    dens = mixture_density(grid, modes)
    assert dens.sum() * (xs[1] - xs[0]) ** 2 == pytest.approx(1.0, rel=1e-3)
    samples = modes.centers[RNG.integers(0, 2, 4000)] + 0.3 * RNG.standard_normal((4000, 2))
    kde = kde_density(grid, samples)
    assert np.abs(kde - dens).sum() / dens.sum() < 0.2

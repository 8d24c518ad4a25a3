"""KID and FID against what they must be (GAN_REFERENCE.md, "Small images"): KID is the
unbiased polynomial-kernel MMD² (about 0 for two samples of one distribution, whatever the
sample size), FID of two Gaussians with equal covariances is the squared mean shift."""

from __future__ import annotations

import numpy as np
import pytest

from engine.quality import frechet_distance, kernel_inception_distance, trace_sqrt_product


def _kid_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    """One subset of all rows, written out with loops over pairs (independent of the code)."""
    d = x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1.0) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_is_the_unbiased_cubic_kernel_mmd():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.3, 1.0, size=(12, 5))
    got = kernel_inception_distance(x, y, subsets=1, subset_size=12)
    assert got == pytest.approx(_kid_by_hand(x, y), rel=1e-10)


def test_kid_of_two_samples_of_one_distribution_is_zero_in_expectation_at_any_size():
    rng = np.random.default_rng(1)
    for m in (50, 400):
        values = [kernel_inception_distance(rng.normal(size=(m, 8)), rng.normal(size=(m, 8)),
                                            subsets=1, subset_size=m) for _ in range(60)]
        spread = np.std(values) / np.sqrt(len(values))
        assert abs(np.mean(values)) < 3 * spread  # unbiased: no systematic offset
    shifted = kernel_inception_distance(rng.normal(size=(400, 8)),
                                        rng.normal(0.5, 1.0, size=(400, 8)))
    assert shifted > 0.05


def test_kid_of_a_set_with_itself_is_small_against_a_real_difference():
    """Two disjoint halves of one set score about 0; the whole set against itself is small
    next to a set that really differs (subsets of one pool share rows, which pulls the
    estimate slightly below 0)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1000, 16))
    halves = kernel_inception_distance(x[:500], x[500:], subsets=20, subset_size=200)
    itself = kernel_inception_distance(x, x, subsets=20, subset_size=200)
    different = kernel_inception_distance(x, rng.normal(0.5, 1.0, size=(1000, 16)))
    assert abs(halves) < 0.01 * different
    assert abs(itself) < 0.1 * different


def test_fid_of_shifted_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T + 0.5 * np.eye(6)
    mu = rng.normal(size=6)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 0.0, 3.0])
    assert frechet_distance(mu, cov, mu + shift, cov) == pytest.approx(float(shift @ shift),
                                                                       rel=1e-9, abs=1e-9)


def test_the_trace_square_root_comes_from_eigenvalues():
    """Tr((S1 S2)^½) for commuting (diagonal) covariances is Σ √(s1_i s2_i)."""
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 0.25])
    assert trace_sqrt_product(s1, s2) == pytest.approx(2.0 + 2.0 + 1.5, rel=1e-12)
    # a singular covariance: no complex fallback, no error
    sing = np.diag([1.0, 0.0, 2.0])
    assert np.isfinite(frechet_distance(np.zeros(3), sing, np.ones(3), sing))


def test_non_finite_statistics_give_nan_not_an_error():
    assert np.isnan(frechet_distance(np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), np.eye(2)))
    assert np.isnan(kernel_inception_distance(np.full((4, 2), np.inf), np.zeros((4, 2))))

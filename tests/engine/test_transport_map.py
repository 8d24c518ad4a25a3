"""The 1-D inverse-transform picture (seeds 001, 004): the ideal map T = F_data⁻¹∘F_z and the
density a sampled map defines, against references built here (bisection on scipy CDFs,
scipy densities, Monte Carlo)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from engine.transport_map import (
    NOISES,
    density_from_map,
    ideal_map,
    line_centers,
    map_gap,
)

CENTERS = line_centers(3, 4.0, 1.0)  # mixture1d: modes 3, spacing 4, offset 1 -> -3, 1, 5
STD = 0.5


def data_log_cdf(x, centers=CENTERS, std=STD):
    z = (np.asarray(x, dtype=float)[..., None] - centers) / std
    return special.logsumexp(special.log_ndtr(z), axis=-1) - math.log(len(centers))


def data_log_sf(x, centers=CENTERS, std=STD):
    z = (np.asarray(x, dtype=float)[..., None] - centers) / std
    return special.logsumexp(special.log_ndtr(-z), axis=-1) - math.log(len(centers))


def data_pdf(x, centers=CENTERS, std=STD):
    return np.mean([stats.norm.pdf(x, c, std) for c in centers], axis=0)


def noise_log_cdf(z, dist):
    if dist == "gaussian":
        return special.log_ndtr(z), special.log_ndtr(-z)
    u = (np.asarray(z) + 1) / 2
    return np.log(u), np.log1p(-u)


def bisect_quantile(log_u, log_1mu, centers=CENTERS, std=STD):
    """x with F(x) = u by 200 halvings, comparing in the smaller tail's logs (vectorised)."""
    log_u, log_1mu = np.asarray(log_u, dtype=float), np.asarray(log_1mu, dtype=float)
    lo = np.full(log_u.shape, -100.0 + min(centers))
    hi = np.full(log_u.shape, 100.0 + max(centers))
    left = log_u <= -math.log(2)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = np.where(left, data_log_cdf(mid, centers, std) < log_u,
                         data_log_sf(mid, centers, std) > log_1mu)
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def test_line_centers_match_the_data_set():
    from engine.datasets import DATASETS

    for modes, spacing, offset in [(2, 4.0, 1.0), (5, 1.5, -2.0), (1, 3.0, 0.5)]:
        p = {"modes": modes, "spacing": spacing, "offset": offset, "std": 0.5}
        want = (np.arange(modes) - (modes - 1) / 2) * spacing + offset
        np.testing.assert_allclose(line_centers(modes, spacing, offset), want)
        np.testing.assert_allclose(DATASETS["mixture1d"].modes(p).centers[:, 0], want)


@pytest.mark.parametrize("dist", ["gaussian", "uniform"])
def test_ideal_map_is_the_quantile_of_the_noise_cdf(dist):
    z = np.linspace(-7, 7, 57) if dist == "gaussian" else np.linspace(-0.999, 0.999, 57)
    got = ideal_map(z, dist, CENTERS, STD)
    log_u, log_1mu = noise_log_cdf(z, dist)
    want = bisect_quantile(log_u, log_1mu)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert (np.diff(got) > 0).all()


def test_ideal_map_pushes_the_noise_onto_the_data():
    """P(T(Z) <= x) = F_z(z*) with z* = sup{z : T(z) <= x}: found by bisection on T, it must
    equal the data CDF at x; and the empirical CDF of T(Z) agrees within 5 standard errors."""
    xs = np.array([-4.0, -3.0, -1.0, 0.2, 1.0, 3.0, 5.5, 7.0])
    for dist in ("gaussian", "uniform"):
        lo = np.full(xs.shape, -12.0 if dist == "gaussian" else -1.0)
        hi = -lo
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = ideal_map(mid, dist, CENTERS, STD) <= xs
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        u = np.exp(noise_log_cdf(lo, dist)[0])
        np.testing.assert_allclose(u, np.exp(data_log_cdf(xs)), rtol=0, atol=1e-12)
    rng = np.random.default_rng(0)
    n = 100_000
    for dist, z in (("gaussian", rng.standard_normal(n)), ("uniform", rng.uniform(-1, 1, n))):
        tz = ideal_map(z, dist, CENTERS, STD)
        for x in (-3.5, -1.0, 1.0, 2.5, 5.0):
            f = math.exp(data_log_cdf(x))
            assert abs(np.mean(tz <= x) - f) < 5 * math.sqrt(f * (1 - f) / n)


def test_uniform_noise_ends_map_to_infinity():
    t = ideal_map(np.array([-1.0, 1.0, -2.0, math.nan]), "uniform", CENTERS, STD)
    assert t[0] == -np.inf and t[1] == np.inf and t[2] == -np.inf and math.isnan(t[3])


def test_decreasing_ideal_map_is_the_mirror_image():
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ideal_map(z, "gaussian", CENTERS, STD, decreasing=True),
                               ideal_map(-z, "gaussian", CENTERS, STD), atol=1e-10)


@pytest.mark.parametrize("dist, z", [("gaussian", np.linspace(-6, 6, 24001)),
                                     ("uniform", np.linspace(-1, 1, 24001)[1:-1])])
def test_density_of_the_ideal_map_is_the_data_density(dist, z):
    d = density_from_map(z, ideal_map(z, dist, CENTERS, STD), dist)
    assert d.monotone
    assert (np.diff(d.x) >= 0).all()
    want = data_pdf(d.x)
    # Finite differences of T err by O(dz²)·T‴/T′, large where T is steep: in the valleys
    # between modes, and with Gaussian noise in the outer modes (fed by z's tails).
    for share, rtol in ((0.05, 3e-3), (0.2, 1e-4)):
        mass = want > share * want.max()
        np.testing.assert_allclose(d.p[mass], want[mass], rtol=rtol)


def test_density_of_a_decreasing_map():
    z = np.linspace(-5, 5, 2001)
    d = density_from_map(z, 2.0 - 3.0 * z, "gaussian")  # G(z) = 2 - 3z: N(2, 9)
    assert d.monotone
    np.testing.assert_allclose(d.p, stats.norm.pdf(d.x, 2.0, 3.0), rtol=1e-9)


def test_a_map_that_turns_back_is_flagged_and_its_branches_summed():
    z = np.linspace(-6, 6, 6001)
    d = density_from_map(z, z**2, "gaussian")  # Z² ~ χ²(1): both branches land on each x
    assert not d.monotone
    sel = (d.x > 0.2) & (d.x < 4.0)
    np.testing.assert_allclose(d.p[sel], stats.chi2.pdf(d.x[sel], 1), rtol=1e-5)
    assert not density_from_map(z, np.sin(3 * z), "gaussian").monotone
    flat = np.where(z < 0, z, 0.0)  # G = min(z, 0): half the mass on the atom x = 0
    d = density_from_map(z, flat, "gaussian")
    assert not d.monotone and np.isinf(d.p[d.x == 0.0]).all()


def test_map_gap_measures_distance_to_the_ideal_map():
    z = np.linspace(-6, 6, 4001)
    t = ideal_map(z, "gaussian", CENTERS, STD)
    assert map_gap(z, t, "gaussian", CENTERS, STD) < 1e-9
    assert map_gap(z, t + 0.3, "gaussian", CENTERS, STD) == pytest.approx(0.3, abs=1e-9)
    mirror = t[::-1]  # T(-z): the decreasing map, also a perfect generator
    assert map_gap(z, mirror, "gaussian", CENTERS, STD) < 1e-9
    assert map_gap(z, mirror, "gaussian", CENTERS, STD, orientation="increasing") > 1.0
    # weights are p_z: an error only where p_z is tiny barely counts
    far = t + np.where(np.abs(z) > 4, 10.0, 0.0)
    assert map_gap(z, far, "gaussian", CENTERS, STD) < 10 * 2 * stats.norm.sf(4) * 1.01
    zu = np.linspace(-1, 1, 2001)
    tu = ideal_map(zu, "uniform", CENTERS, STD)  # ±inf at the ends: dropped
    assert map_gap(zu, np.clip(tu, -50, 50), "uniform", CENTERS, STD) < 1e-9


def test_bad_arguments_are_refused():
    z = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match="unknown noise distribution 'cauchy'"):
        ideal_map(z, "cauchy", CENTERS, STD)
    with pytest.raises(ValueError, match="std"):
        ideal_map(z, "gaussian", CENTERS, 0.0)
    with pytest.raises(ValueError, match="centers"):
        ideal_map(z, "gaussian", [], STD)
    with pytest.raises(ValueError, match="strictly increasing"):
        density_from_map(z[::-1], z, "gaussian")
    with pytest.raises(ValueError, match="equal length"):
        density_from_map(z, z[:3], "gaussian")
    with pytest.raises(ValueError, match="orientation"):
        map_gap(z, z, "gaussian", CENTERS, STD, orientation="up")
    assert set(NOISES) == {"gaussian", "uniform"}


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 6), st.floats(0.0, 8.0), st.floats(-5.0, 5.0), st.floats(0.05, 3.0),
       st.sampled_from(["gaussian", "uniform"]))
def test_ideal_map_inverts_the_cdf_for_any_mixture1d(modes, spacing, offset, std, dist):
    centers = line_centers(modes, spacing, offset)
    z = np.linspace(-5, 5, 41) if dist == "gaussian" else np.linspace(-0.99, 0.99, 41)
    t = ideal_map(z, dist, centers, std)
    assert (np.diff(t) > 0).all()
    log_u, log_1mu = noise_log_cdf(z, dist)
    # F_data(T(z)) = F_z(z), compared in the smaller tail's logs (relative accuracy there)
    left = log_u <= -math.log(2)
    got = np.where(left, data_log_cdf(t, centers, std), data_log_sf(t, centers, std))
    np.testing.assert_allclose(got, np.where(left, log_u, log_1mu), rtol=1e-9, atol=1e-12)

"""The 1-D inverse-transform picture (seeds 001, 004): how a generator G turns noise into data.

"How computers mimic a random process": a uniform (or Gaussian) z pushed through the right
monotone function has any distribution we like. In 1-D that function is unique among the
increasing ones, T = F_data⁻¹ ∘ F_z, and a generator that learned the data has to be close
to it (or to its mirror image T(-z), the decreasing one). Conversely a learned G defines a
density by the change of variables p_G(x) = p_z(z) / |G'(z)| at x = G(z) (seed 004:
p_model(x) = p_code(G⁻¹(x)) / |det J_G|), which the GUI draws against the data density.

Data: the ``mixture1d`` set, equal-weight Gaussians N(c_i, std²). Noise (``noise.dist``):
"gaussian" is N(0, 1), "uniform" is uniform on [-1, 1].

numpy and scipy only: the GUI imports this module directly and must never load torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.special import log_ndtr

from .dataspecs import line_centers as _spec_centers
from .gauss1d import LOG_2PI, log_sum_exp, mixture_quantile

# --- noise distributions -------------------------------------------------------------------


@dataclass(frozen=True)
class Noise:
    """A 1-D noise distribution: density and both log tails (each tail kept accurate, so
    that T is accurate far out in both directions)."""

    name: str
    title: str
    pdf: Callable[[np.ndarray], np.ndarray]
    log_cdf: Callable[[np.ndarray], np.ndarray]
    log_sf: Callable[[np.ndarray], np.ndarray]


def _uniform_log_tail(z: np.ndarray) -> np.ndarray:
    """log P(Z <= z) for Z uniform on [-1, 1]."""
    with np.errstate(divide="ignore"):
        return np.log(np.clip((z + 1.0) / 2.0, 0.0, 1.0))


NOISES: dict[str, Noise] = {n.name: n for n in (
    Noise("gaussian", "N(0, 1)",
          lambda z: np.exp(-0.5 * z * z - 0.5 * LOG_2PI),
          log_ndtr, lambda z: log_ndtr(-z)),
    Noise("uniform", "uniform on [-1, 1]",
          lambda z: np.where(np.abs(z) <= 1.0, 0.5, 0.0),
          _uniform_log_tail, lambda z: _uniform_log_tail(-z)),
)}


def _noise(name: str) -> Noise:
    try:
        return NOISES[name]
    except KeyError:
        raise ValueError(f"unknown noise distribution {name!r}; one of {', '.join(NOISES)}") \
            from None


# --- the data distribution -----------------------------------------------------------------


def line_centers(modes: int, spacing: float, offset: float) -> np.ndarray:
    """The mixture1d set's centres (``engine.dataspecs``), as a flat array."""
    return _spec_centers({"modes": modes, "spacing": spacing, "offset": offset})[:, 0]


@dataclass(frozen=True, eq=False)
class LineMixture:
    """Equal-weight Gaussians N(c_i, std²) on the line."""

    centers: np.ndarray
    std: float

    @classmethod
    def of(cls, centers: Any, std: Any) -> LineMixture:
        c = np.asarray(centers, dtype=np.float64).ravel()
        if c.size == 0 or not np.isfinite(c).all():
            raise ValueError(f"centers must be a non-empty list of finite numbers, got {centers!r}")
        if isinstance(std, bool) or not isinstance(std, (int, float, np.number)) \
                or not math.isfinite(std) or std <= 0:
            raise ValueError(f"std must be a finite number > 0, got {std!r}")
        return cls(c, float(std))

    def _z(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64)[..., None] - self.centers) / self.std

    def pdf(self, x: Any) -> np.ndarray:
        z = self._z(x)
        return np.exp(-0.5 * z * z).mean(axis=-1) / (self.std * math.sqrt(2 * math.pi))

    def cdf(self, x: Any) -> np.ndarray:
        return np.exp(log_sum_exp(log_ndtr(self._z(x)), axis=-1) - math.log(self.centers.size))

    def quantile_log(self, log_u: np.ndarray, log_1mu: np.ndarray) -> np.ndarray:
        """F⁻¹(u) from log u and log(1 - u)."""
        k = self.centers.size
        return mixture_quantile(log_u, log_1mu, self.centers, np.full(k, self.std),
                                np.full(k, -math.log(k)))


# --- the ideal map and the density a map defines ---------------------------------------------


def ideal_map(z: Any, noise_dist: str, centers: Any, std: float, *,
              decreasing: bool = False) -> np.ndarray:
    """T(z) = F_data⁻¹(F_z(z)): the increasing map that pushes the noise onto the data
    (``decreasing``: its mirror F_data⁻¹(1 - F_z(z)), the other monotone one).

    Vectorised over z; accurate to ~1e-12 in x (a safeguarded Newton solve in log-CDF space,
    so the tails are as accurate as the middle). Uniform noise at z <= -1 or z >= 1 maps to
    -inf or +inf (the data has unbounded support); NaN z gives NaN.
    """
    noise = _noise(noise_dist)
    data = LineMixture.of(centers, std)
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u, log_1mu = noise.log_cdf(z), noise.log_sf(z)
    if decreasing:
        log_u, log_1mu = log_1mu, log_u
    out = np.full(z.shape, np.nan)
    ok = ~np.isnan(z)
    out[ok] = data.quantile_log(log_u[ok], log_1mu[ok])
    return out


class MapDensity(NamedTuple):
    """The density of G(z), z ~ p_z, at the points x (ascending). ``monotone`` is False
    when G turns back on the grid: then several z share an x and p sums their shares."""

    x: np.ndarray
    p: np.ndarray
    monotone: bool


def _grid(z_grid: Any, g_of_z: Any) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(z_grid, dtype=np.float64).ravel()
    g = np.asarray(g_of_z, dtype=np.float64).ravel()
    if z.size < 3 or z.shape != g.shape:
        raise ValueError(f"z_grid and g_of_z must be 1-D of equal length >= 3, got {z.size} "
                         f"and {g.size}")
    if not (np.isfinite(z).all() and np.isfinite(g).all()):
        raise ValueError("z_grid and g_of_z must be finite")
    if not (np.diff(z) > 0).all():
        raise ValueError("z_grid must be strictly increasing")
    return z, g


def density_from_map(z_grid: Any, g_of_z: Any, noise_dist: str) -> MapDensity:
    """p_G(x) = Σ p_z(z) / |G'(z)| over the z with G(z) = x, for G sampled on a grid.

    G' is taken by second-order finite differences (np.gradient). For a monotone G (either
    direction; strictly: no zero differences) there is one z per x and this is the
    change-of-variables formula at x = G(z). If G turns back, the flag is False and the
    grid is cut into monotone runs; the density at each node's x is the sum over every run
    whose range covers x (linear interpolation within a run), the correct density of G(z)
    away from the turning points, where it is infinite in theory and large on the grid.
    A flat stretch (G' = 0) puts mass on a single x: there p is +inf.
    """
    noise = _noise(noise_dist)
    z, g = _grid(z_grid, g_of_z)
    dg = np.gradient(g, z)
    with np.errstate(divide="ignore"):
        share = noise.pdf(z) / np.abs(dg)
    step = np.sign(np.diff(g))
    monotone = bool((step > 0).all() or (step < 0).all())
    order = np.argsort(g, kind="stable")
    if monotone:
        return MapDensity(g[order], share[order], True)
    # Runs: maximal stretches where consecutive differences keep one sign.
    breaks = np.flatnonzero(step[1:] != step[:-1]) + 1
    edges = np.concatenate([[0], breaks, [z.size - 1]])
    x = g[order]
    total = np.zeros_like(x)
    for a, b in zip(edges[:-1], edges[1:]):
        gx, px = g[a:b + 1], share[a:b + 1]
        if gx[0] == gx[-1]:  # a flat run: an atom
            total[x == gx[0]] = np.inf
            continue
        if gx[0] > gx[-1]:
            gx, px = gx[::-1], px[::-1]
        inside = (x >= gx[0]) & (x <= gx[-1])
        total[inside] += np.interp(x[inside], gx, px)
    return MapDensity(x, total, False)


def map_gap(z_grid: Any, g_of_z: Any, noise_dist: str, centers: Any, std: float, *,
            orientation: str = "auto") -> float:
    """Mean |G(z) - T(z)| over z ~ p_z (trapezoid rule on the grid, weights p_z, normalised
    over the grid): how far a learned map is from the ideal one, in units of x.

    ``orientation``: "increasing" compares with T, "decreasing" with its mirror, "auto"
    with whichever is closer (a GAN may learn either; both push p_z onto the data).
    Where T is infinite (uniform noise at ±1) the weight is zero by construction if the
    grid stays inside (-1, 1); nodes outside are dropped.
    """
    if orientation not in ("auto", "increasing", "decreasing"):
        raise ValueError(f"orientation must be auto, increasing or decreasing, got "
                         f"{orientation!r}")
    noise = _noise(noise_dist)
    z, g = _grid(z_grid, g_of_z)
    dz = np.diff(z)
    weight = np.zeros_like(z)
    weight[:-1] += 0.5 * dz
    weight[1:] += 0.5 * dz
    weight *= noise.pdf(z)  # trapezoid weights times p_z
    gaps = []
    for decreasing in (False, True):
        if orientation == ("decreasing" if not decreasing else "increasing"):
            continue
        t = ideal_map(z, noise_dist, centers, std, decreasing=decreasing)
        ok = np.isfinite(t) & (weight > 0)
        if not ok.any():
            raise ValueError("map_gap: no grid point where p_z > 0 and T is finite")
        gaps.append(float(np.sum(weight[ok] * np.abs(g[ok] - t[ok])) / np.sum(weight[ok])))
    return min(gaps)

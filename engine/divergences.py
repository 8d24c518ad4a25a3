"""Distances between the data and the generator on toy data (GAN_REFERENCE.md).

The lecture notes explain training through JS, KL and the Wasserstein distance, and through
the optimal discriminator D* = p_data / (p_data + p_g). On 2-D (and 1-D) toy data all of them
can be estimated from samples; these estimators are what the insight views plot.

D* on a grid is computed from the probability mass in each grid cell, not from densities at
the cell centres: a mode of std 0.02 falls between the points of a 64x64 grid over the ring's
box, where point densities read ~0 everywhere, while the mass in the cell that holds it is
exact (products of normal CDF differences for a Gaussian mixture).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.special import ndtr

from .datasets import Modes

EPS = 1e-10


def _hist(x: np.ndarray, box: tuple[float, ...], bins: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] == 1:
        h, _ = np.histogram(x[:, 0], bins=bins, range=(box[0], box[1]))
    else:
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[box[0], box[1]], [box[2], box[3]]])
    h = h.astype(np.float64) + EPS
    return h / h.sum()


def js_kl(real: np.ndarray, fake: np.ndarray, box: tuple[float, ...], bins: int = 30) -> tuple[float, float]:
    """JS(p_data || p_g) and KL(p_data || p_g) from histograms over ``box`` (nats).

    A small epsilon per cell keeps KL finite; JS of disjoint sets is then ~log 2.
    """
    p = _hist(real, box, bins)
    q = _hist(fake, box, bins)
    m = 0.5 * (p + q)
    kl_pm = float((p * np.log(p / m)).sum())
    kl_qm = float((q * np.log(q / m)).sum())
    kl = float((p * np.log(p / q)).sum())
    return 0.5 * (kl_pm + kl_qm), kl


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 between two equal-size sample sets: the optimal plan is a permutation."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if len(a) != len(b):
        raise ValueError(f"wasserstein1: needs equal-size sets, got {len(a)} and {len(b)}")
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def mmd_rbf(a: np.ndarray, b: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased squared MMD with an RBF kernel (bandwidth: median heuristic by default)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if bandwidth is None:
        both = np.concatenate([a, b])[:500]
        d = cdist(both, both)
        bandwidth = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
    g = 1.0 / (2 * bandwidth**2)
    kaa = np.exp(-g * cdist(a, a, "sqeuclidean"))
    kbb = np.exp(-g * cdist(b, b, "sqeuclidean"))
    kab = np.exp(-g * cdist(a, b, "sqeuclidean"))
    n, m = len(a), len(b)
    return float((kaa.sum() - n) / (n * (n - 1)) + (kbb.sum() - m) / (m * (m - 1)) - 2 * kab.mean())


def mixture_density(x: np.ndarray, modes: Modes) -> np.ndarray:
    """Closed-form density of an equal-weight isotropic Gaussian mixture at points x."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(modes.centers, dtype=np.float64)
    d = x.shape[1]
    s2 = modes.std**2
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * s2)).mean(1) / ((2 * math.pi * s2) ** (d / 2))


def kde_density(x: np.ndarray, samples: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian KDE of ``samples`` at points x.

    The default bandwidth is Silverman's robust rule (min of std and IQR/1.34 per axis), which
    oversmooths multi-modal toy data less than Scott's plain-std rule.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    s = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    n, d = s.shape
    if bandwidth is None:
        q75, q25 = np.percentile(s, [75, 25], axis=0)
        spread = np.minimum(s.std(0), (q75 - q25) / 1.34)
        bandwidth = max(0.9 * float(spread.mean()) * n ** (-1.0 / (d + 4)), 1e-3)
    h2 = bandwidth**2
    d2 = cdist(x, s, "sqeuclidean")
    return np.exp(-d2 / (2 * h2)).mean(1) / ((2 * math.pi * h2) ** (d / 2))


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g); 0.5 where both densities vanish."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    tot = p_data + p_g
    return np.where(tot > 1e-300, p_data / np.maximum(tot, 1e-300), 0.5)


def cell_edges(lo: float, hi: float, r: int) -> np.ndarray:
    """Edges of the ``r`` cells centred on ``linspace(lo, hi, r)``: each grid point owns the
    stretch half a spacing either side of it (r + 1 edges)."""
    r = max(int(r), 1)
    half = (hi - lo) / max(r - 1, 1) / 2 if r > 1 else max(abs(hi - lo), 1.0) / 2
    return np.linspace(lo - half, hi + half, r + 1)


def normal_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(a < Z < b) for a standard normal Z, elementwise (a <= b), accurate in both tails:
    above the mean it takes the difference of upper tails, where 1 - Φ does not cancel."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    upper = ndtr(-a) - ndtr(-b)
    lower = ndtr(b) - ndtr(a)
    return np.maximum(np.where(a > 0, upper, lower), 0.0)


def mixture_cell_mass(edges: list[np.ndarray], modes: Modes) -> np.ndarray:
    """The exact probability mass of an equal-weight isotropic Gaussian mixture in each cell
    of a grid given by its edges per axis (one array for 1-D, two for 2-D): per mode a
    product of normal CDF differences, averaged over the modes. Shape (r,) or (rx, ry)."""
    c = np.asarray(modes.centers, dtype=np.float64).reshape(len(modes.centers), -1)
    std = max(float(modes.std), 1e-12)
    per_axis = []
    for axis, e in enumerate(edges):
        t = (np.asarray(e, dtype=np.float64)[None, :] - c[:, axis, None]) / std  # (k, r + 1)
        per_axis.append(normal_interval(t[:, :-1], t[:, 1:]))                   # (k, r)
    if len(per_axis) == 1:
        return per_axis[0].mean(0)
    return np.einsum("ki,kj->ij", per_axis[0], per_axis[1]) / len(c)


def sample_cell_mass(samples: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """The share of ``samples`` in each cell (a histogram over the same cells, divided by
    the number of samples: what falls outside the grid counts in that number)."""
    x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    n = len(x)
    shape = tuple(len(e) - 1 for e in edges)
    if n == 0:
        return np.zeros(shape)
    x = x[np.isfinite(x).all(1)]
    if len(edges) == 1:
        h, _ = np.histogram(x[:, 0], bins=edges[0])
    else:
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges[0], edges[1]])
    return h.astype(np.float64) / n


@dataclass(frozen=True)
class CellDStar:
    """D* on grid cells, from the probability masses in them."""

    dstar: np.ndarray    # P_data / (P_data + P_g) per cell; 0.5 where neither has mass
    p_data: np.ndarray   # mass per cell (below ``floor``: 0)
    p_g: np.ndarray

    def gap(self, d: np.ndarray) -> float:
        """Mean |D - D*| over the cells, weighted by P_data + P_g."""
        w = self.p_data + self.p_g
        return float((np.abs(np.asarray(d, dtype=np.float64) - self.dstar) * w).sum()
                     / max(float(w.sum()), 1e-300))


def cell_dstar(p_data: np.ndarray, p_g: np.ndarray, floor: float = 0.0) -> CellDStar:
    """D*(cell) = P_data(cell) / (P_data(cell) + P_g(cell)) from masses per cell.

    ``floor``: data masses below it count as none. With P_g from n samples a cell's mass is
    0 or at least 1/n; a data mass far below that (the tails of a narrow mode, 1e-200 a few
    cells away) must not turn "no fake landed here" into "D* = 1". Where neither has mass,
    D* is undefined and drawn at 0.5."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    p_data = np.where(p_data < floor, 0.0, p_data)
    tot = p_data + p_g
    dstar = np.where(tot > 0, p_data / np.where(tot > 0, tot, 1.0), 0.5)
    return CellDStar(dstar, p_data, p_g)


@dataclass(frozen=True)
class Divergences:
    js: float
    kl: float
    w1: float
    mmd: float


def divergences(real: np.ndarray, fake: np.ndarray, box: tuple[float, ...], bins: int = 30,
                w1_points: int = 1000) -> Divergences:
    """All four estimates; W1 on the first ``w1_points`` of each set (its cost is cubic)."""
    js, kl = js_kl(real, fake, box, bins)
    k = min(len(real), len(fake), w1_points)
    w1 = wasserstein1(real[:k], fake[:k])
    mmd = mmd_rbf(real[:k], fake[:k])
    return Divergences(js, kl, w1, mmd)

"""Distances between the data and the generator on toy data (GAN_REFERENCE.md).

The lecture notes explain training through JS, KL and the Wasserstein distance, and through
the optimal discriminator D* = p_data / (p_data + p_g). On 2-D (and 1-D) toy data all of them
can be estimated from samples; these estimators are what the insight views plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

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

"""The Divergences lab: fit one Gaussian p = N(μ, σ²) to a two-Gaussian mixture π by each
divergence and see where each one puts it (seed 003, "Jensen-Shannon vs Kullback-Leibler").

KL(π‖p) covers both modes (its optimum is moment matching), KL(p‖π) seeks one mode, JS lies
in between when the modes overlap (and seeks a mode too when they are far apart), W₁ and MMD²
are the distances WGAN and GMMN train on. Every value here is exact up to quadrature error
(below 1e-9 against adaptive quadrature; no sampling), so the heatmaps are smooth and the
fitted optima do not jitter while the user drags a slider.

numpy and scipy only: the GUI imports this module directly and must never load torch.

How each is computed, and why that way:

* KL(π‖p) = -H(π) + ½ log(2πσ²) + (Var π + (E π - μ)²) / (2σ²): closed form in (μ, σ); the
  entropy H(π) is one quadrature per mixture.
* KL(p‖π) = E_p[log p - log π] by composite Gauss-Legendre in p's frame with breakpoints where
  log π turns from one component's parabola to the other's (a sharp valley when the components
  are far apart: uniform nodes would need thousands of points there).
* JS(π, p) = log 2 - ½ E_π[ψ(log π - log p)]: both halves of JS rewritten as integrals
  against π (see _js), by the trapezoid rule in each component's frame, in logs, so nothing
  breaks where the densities underflow and p's mass far from π costs no nodes.
* W₁(π, p) = ∫|F_π - F_p| dx exactly: find where the CDFs cross, then sum the closed-form
  integral of F_π - F_p over each piece between crossings.
* MMD²(π, p) with the RBF kernel k(x, y) = exp(-(x-y)²/(2h²)): closed form, because
  E k(X, Y) for X ~ N(a, s²), Y ~ N(b, t²) is h/√(h²+s²+t²) · exp(-(a-b)²/(2(h²+s²+t²))).

The fits minimise over (μ, log σ) by Newton's method from several starts (each component, the
moment-matched point); KL(π‖p) also has its closed-form optimum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri_exp

from .gauss1d import (
    LOG2,
    LOG_2PI,
    T_MAX,
    log_add,
    log_normal,
    log_sum_exp,
    piecewise_gauss_rule,
    quadratic_roots,
    trapezoid_rule,
)

# --- the mixture -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mixture2:
    """π = w N(m1, s1²) + (1 - w) N(m2, s2²), validated on construction so that every
    function below can trust it (and so that it can key a cache: it is frozen and hashable).
    """

    m1: float
    m2: float
    s1: float
    s2: float
    w: float

    def __post_init__(self) -> None:
        for name in ("m1", "m2", "s1", "s2", "w"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"Mixture2.{name} must be a finite number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"Mixture2.{name} must be a finite number, got {value!r}")
            if name in ("s1", "s2") and value <= 0.0:
                raise ValueError(f"Mixture2.{name} must be > 0 (a standard deviation), "
                                 f"got {value!r}")
            if name == "w" and not 0.0 < value < 1.0:
                raise ValueError(f"Mixture2.w must be in (0, 1) (the first component's "
                                 f"weight), got {value!r}")
            object.__setattr__(self, name, value)

    @property
    def weights(self) -> tuple[float, float]:
        return self.w, 1.0 - self.w

    @property
    def mean(self) -> float:
        return self.w * self.m1 + (1.0 - self.w) * self.m2

    @property
    def variance(self) -> float:
        """Within- plus between-component variance (no E[x²] - E[x]² cancellation)."""
        w = self.w
        return (w * self.s1**2 + (1.0 - w) * self.s2**2
                + w * (1.0 - w) * (self.m1 - self.m2) ** 2)

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    def logpdf(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return log_add(math.log(self.w) + log_normal(x, self.m1, self.s1),
                       math.log1p(-self.w) + log_normal(x, self.m2, self.s2))

    def pdf(self, x: np.ndarray | float) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.exp(log_add(math.log(self.w) + log_ndtr((x - self.m1) / self.s1),
                              math.log1p(-self.w) + log_ndtr((x - self.m2) / self.s2)))

    def sf(self, x: np.ndarray | float) -> np.ndarray:
        """1 - cdf, accurate in the right tail."""
        x = np.asarray(x, dtype=np.float64)
        return np.exp(log_add(math.log(self.w) + log_ndtr((self.m1 - x) / self.s1),
                              math.log1p(-self.w) + log_ndtr((self.m2 - x) / self.s2)))


def default_bandwidth(mixture: Mixture2) -> float:
    """The MMD kernel's default bandwidth: π's standard deviation. For one Gaussian that is
    close to the median heuristic (median |X - X'| = 0.95 σ); unlike the median of a
    two-mode mixture it moves smoothly when the user drags a slider, and it scales with π,
    so the picture is the same at any zoom."""
    return mixture.std


# --- per-mixture precomputation ------------------------------------------------------------

# log π switches from one component's parabola to the other's where q1 - q2 crosses 0, over
# a width 1/|d(q1 - q2)/dx|; beyond |q1 - q2| = 36 the smaller term is < e^-36 of the larger.
# Cutting at ±6 too keeps each piece's e^-|q1 - q2| tail easy for 16 Gauss-Legendre nodes:
# measured error < 1e-9 against adaptive quadrature (1e-7 without the ±6 cuts).
_VALLEY_LEVELS = (0.0, -6.0, 6.0, -36.0, 36.0)
# JS nodes per min(σ, s1, s2) in each component's frame: the integrand's sharpest features are
# p itself and the switch between "π ≫ p" and "p ≫ π", whose log-slope is at most ~7/s + 7/σ
# where either density matters. 4 measured < 1e-11 against adaptive quadrature.
_JS_RESOLUTION = 4.0
_MAX_NODES = 20000
# W1 nodes: step in each component's frame (they only bracket crossings of F_π and F_p)
_W1_STEP = 0.02
_BLOCK = 1 << 16  # elements per temporary array: keeps the working set in cache


@dataclass(frozen=True, eq=False)
class _Context:
    """What every divergence needs from π, computed once per (mixture, bandwidth)."""

    mixture: Mixture2
    bandwidth: float
    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray
    log_weights: np.ndarray
    valley: np.ndarray  # breakpoints of log π (finite roots only)
    neg_entropy: float  # E_π log π
    w1_x: np.ndarray  # ascending nodes that bracket the crossings of F_π and F_p
    w1_b: np.ndarray  # Φ⁻¹(F_π(x)) at w1_x
    mmd_self: float  # E k(X, X') for X, X' ~ π
    # a cache: (component, node count) -> JS's nodes x, their weights, log π(x)
    frames: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict)

    def log_pi(self, x: np.ndarray) -> np.ndarray:
        return _log_mixture(x, self.means, self.stds, self.log_weights)

    def frame(self, i: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trapezoid nodes in component i's frame, their weights and log π there."""
        key = (i, n)
        if key not in self.frames:
            if len(self.frames) > 64:
                self.frames.clear()
            t, w = trapezoid_rule(n)
            x = self.means[i] + self.stds[i] * t
            self.frames[key] = (x, w, self.log_pi(x))
        return self.frames[key]


def _log_mixture(x: np.ndarray, means: np.ndarray, stds: np.ndarray,
                 log_weights: np.ndarray) -> np.ndarray:
    """log π(x) for two components, with few temporaries: it runs on every quadrature node."""
    q1 = x - means[0]
    q1 *= 1.0 / stds[0]
    q1 *= q1
    q1 *= -0.5
    q1 += log_weights[0] - math.log(stds[0]) - 0.5 * LOG_2PI
    q2 = x - means[1]
    q2 *= 1.0 / stds[1]
    q2 *= q2
    q2 *= -0.5
    q2 += log_weights[1] - math.log(stds[1]) - 0.5 * LOG_2PI
    d = np.subtract(q1, q2)  # log π = max(q1, q2) + log(1 + e^-|q1 - q2|)
    np.abs(d, out=d)
    np.negative(d, out=d)
    np.exp(d, out=d)
    np.log1p(d, out=d)
    np.maximum(q1, q2, out=q1)
    q1 += d
    return q1


def _valley_breaks(mix: Mixture2) -> np.ndarray:
    """Roots of q1(x) - q2(x) = level, q_i = log(w_i N(x; m_i, s_i²)), for each level."""
    a = -0.5 / mix.s1**2 + 0.5 / mix.s2**2
    b = mix.m1 / mix.s1**2 - mix.m2 / mix.s2**2
    c = (math.log(mix.w) - math.log1p(-mix.w) - math.log(mix.s1) + math.log(mix.s2)
         - 0.5 * mix.m1**2 / mix.s1**2 + 0.5 * mix.m2**2 / mix.s2**2)
    roots = [r for level in _VALLEY_LEVELS for r in quadratic_roots(a, b, c - level)]
    return np.array([r for r in roots if math.isfinite(r)], dtype=np.float64)


def _rbf_mean(h: float, d: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    """E exp(-(X-Y)²/(2h²)) when X - Y ~ N(d, var)."""
    v = h * h + var
    return h / np.sqrt(v) * np.exp(-0.5 * d * d / v)


def _phi_inv_cdf(means: np.ndarray, stds: np.ndarray, log_weights: np.ndarray,
                 x: np.ndarray) -> np.ndarray:
    """b(x) = Φ⁻¹(F_π(x)), from whichever tail is smaller, so both ends keep full precision."""
    z = (x[..., None] - means) / stds
    log_cdf = log_sum_exp(log_weights + log_ndtr(z), axis=-1)
    log_sf = log_sum_exp(log_weights + log_ndtr(-z), axis=-1)
    return np.where(log_cdf <= -LOG2, ndtri_exp(np.minimum(log_cdf, -LOG2)),
                    -ndtri_exp(np.minimum(log_sf, -LOG2)))


@lru_cache(maxsize=16)
def _context(mix: Mixture2, bandwidth: float) -> _Context:
    means = np.array([mix.m1, mix.m2])
    stds = np.array([mix.s1, mix.s2])
    weights = np.array([mix.w, 1.0 - mix.w])
    log_weights = np.array([math.log(mix.w), math.log1p(-mix.w)])
    valley = _valley_breaks(mix)

    t, weight = piecewise_gauss_rule(means, stds, valley)
    x = means[:, None] + stds[:, None] * t
    neg_entropy = float(weights @ (weight * _log_mixture(x, means, stds, log_weights)).sum(1))

    # W1 nodes: each component's frame, finer in a wide component when the other is narrow.
    # They only bracket the crossings of F_π and F_p (roots of x - μ - σ b(x), which is
    # smooth on the scale of the narrower component); the roots are then solved exactly.
    xs = []
    for i in range(2):
        step = min(_W1_STEP, 0.3 * stds.min() / stds[i])
        t, _ = trapezoid_rule(min(_MAX_NODES, int(math.ceil(2 * T_MAX / step))))
        xs.append(means[i] + stds[i] * t)
    # ... and a uniform layer, so that no segment spans the valley between far-apart modes
    span = np.concatenate(xs)
    xs.append(np.linspace(span.min(), span.max(),
                          min(_MAX_NODES, int((span.max() - span.min()) / stds.min()) + 2)))
    w1_x = np.unique(np.concatenate(xs))
    w1_b = _phi_inv_cdf(means, stds, log_weights, w1_x)

    mmd_self = float(weights @ _rbf_mean(bandwidth, means[:, None] - means[None, :],
                                         stds[:, None] ** 2 + stds[None, :] ** 2) @ weights)
    return _Context(mix, bandwidth, means, stds, weights, log_weights, valley, neg_entropy,
                    w1_x, w1_b, mmd_self)


def _ctx(mixture: Mixture2, bandwidth: float | None) -> _Context:
    if not isinstance(mixture, Mixture2):
        raise TypeError(f"expected a Mixture2, got {type(mixture).__name__}")
    h = default_bandwidth(mixture) if bandwidth is None else bandwidth
    if isinstance(h, bool) or not isinstance(h, (int, float, np.number)) \
            or not math.isfinite(h) or h <= 0:
        raise ValueError(f"bandwidth must be a finite number > 0, got {bandwidth!r}")
    return _context(mixture, float(h))


# --- the divergences, vectorised over (μ, σ) -------------------------------------------------
# Each takes 1-D arrays mu, sigma of equal length and returns (value, d/dμ, d/dlog σ); the
# derivatives (used by the fits) are None unless ``grad``.

Values = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


def _kl_forward(c: _Context, mu: np.ndarray, sigma: np.ndarray, grad: bool = False) -> Values:
    mix = c.mixture
    spread = mix.variance + (mix.mean - mu) ** 2
    # KL >= 0: clip the rounding error left where p = π (it would upset a log colour scale)
    value = np.maximum(c.neg_entropy + 0.5 * LOG_2PI + np.log(sigma) + 0.5 * spread / sigma**2,
                       0.0)
    if not grad:
        return value, None, None
    return value, -(mix.mean - mu) / sigma**2, 1.0 - spread / sigma**2


def _kl_reverse(c: _Context, mu: np.ndarray, sigma: np.ndarray, grad: bool = False) -> Values:
    """E_p[log p - log π] by composite Gauss-Legendre in p's frame (breakpoints at log π's
    valley); d/dθ E_p[f_θ] = E_p[∂θ log p · (log p - log π)] (the score-function identity:
    E_p ∂θ log p = 0)."""
    out = np.empty((3 if grad else 1, mu.size))
    block = max(1, _BLOCK // (16 * (4 + c.valley.size)))
    for lo in range(0, mu.size, block):
        m, s = mu[lo:lo + block], sigma[lo:lo + block]
        t, weight = piecewise_gauss_rule(m, s, c.valley)
        x = t * s[:, None]
        x += m[:, None]
        log_ratio = c.log_pi(x)  # becomes log p - log π in place
        np.negative(log_ratio, out=log_ratio)
        log_ratio -= 0.5 * t * t
        log_ratio -= (np.log(s) + 0.5 * LOG_2PI)[:, None]
        log_ratio *= weight
        out[0, lo:lo + block] = log_ratio.sum(axis=1)
        if grad:
            out[1, lo:lo + block] = np.einsum("ij,ij->i", log_ratio, t) / s
            out[2, lo:lo + block] = np.einsum("ij,ij->i", log_ratio, t * t - 1.0)
    value = np.maximum(out[0], 0.0)  # KL >= 0; only rounding is clipped
    return (value, out[1], out[2]) if grad else (value, None, None)


def _js(c: _Context, mu: np.ndarray, sigma: np.ndarray, grad: bool = False) -> Values:
    """JS = log 2 - ½ Σᵢ wᵢ E_{N(mᵢ, sᵢ²)} ψ(log π - log p), ψ(u) = softplus(-u) + e^-u softplus(u).

    Both halves of JS live in π's frames: ∫ π log(2π/(π+p)) = ∫ π (log 2 - softplus(-u)),
    and ∫ p log(2p/(π+p)) = log 2 - ∫ π e^-u softplus(u), whose integrand is at most π. So
    p's mass far from π costs no nodes, and a wide p needs no more nodes than a narrow one.
    Gradient: dJS/dθ = ½ ∫ ∂θp log(2p/(π+p)) = -½ ∫ π ∂θ log p · e^-u softplus(u).
    """
    out = np.zeros((3 if grad else 1, mu.size))
    h = np.minimum(sigma, c.stds.min()) / _JS_RESOLUTION
    for i in range(2):
        n = np.minimum(_MAX_NODES, np.ceil(2 * T_MAX * c.stds[i] / h)).astype(np.int64)
        for count in np.unique(n):
            x, wts, log_pi = c.frame(i, int(count))
            idx = np.flatnonzero(n == count)
            block = max(1, _BLOCK // x.size)
            for lo in range(0, idx.size, block):
                sel = idx[lo:lo + block]
                m, s = mu[sel, None], sigma[sel, None]
                z = (x - m) / s
                # u = log π - log p, floored where p/π > e^700 (nothing changes but e^-u
                # stays finite)
                u = z * z
                u *= 0.5
                u += log_pi
                u += np.log(s) + 0.5 * LOG_2PI
                np.maximum(u, -700.0, out=u)
                sp = np.abs(u)  # becomes softplus(u)
                np.negative(sp, out=sp)
                np.exp(sp, out=sp)
                np.log1p(sp, out=sp)
                sp += np.maximum(u, 0.0)
                tail = np.exp(-u)  # becomes e^-u softplus(u) (at most 1: the p half)
                tail *= sp
                psi = sp + tail  # softplus(-u) + e^-u softplus(u) = softplus(u) - u + tail
                psi -= u
                wi = c.weights[i]
                out[0, sel] += wi * np.einsum("ij,j->i", psi, wts)  # no BLAS: no thread stalls
                if grad:
                    tail *= wts
                    out[1, sel] += wi * np.einsum("ij,ij->i", tail, z) / sigma[sel]
                    out[2, sel] += wi * np.einsum("ij,ij->i", tail, z * z - 1.0)
    value = np.clip(LOG2 - 0.5 * out[0], 0.0, LOG2)
    return (value, -0.5 * out[1], -0.5 * out[2]) if grad else (value, None, None)


def _w1(c: _Context, mu: np.ndarray, sigma: np.ndarray, grad: bool = False) -> Values:
    """W₁ = ∫|F_π - F_p| dx exactly: between consecutive crossings of F_π and F_p the sign is
    fixed, and Ψ(x) = ∫_{-∞}^x (F_π - F_p) has a closed form (∫Φ((x-m)/s) dx =
    (x - m)Φ(z) + s φ(z)), so W₁ = Σ |ΔΨ| over the pieces.

    F_π(x) = F_p(x) iff g(x) = x - μ - σ b(x) = 0 with b = Φ⁻¹∘F_π, which depends on π
    alone: on π's nodes, g's knots x - σ b(x) are computed once per σ (a landscape row),
    a crossing lies between neighbouring nodes whose knots straddle μ, and safeguarded
    Newton steps on g finish it. Two crossings closer than a node spacing (a tangency) are
    missed, at a cost below (node spacing)² · |π - p|.

    Gradient: d/dμ = Σ_j s_j ΔF_p over piece j, d/dσ = -Σ_j s_j Δφ(z) (s_j: the piece's sign),
    because moving a crossing changes nothing (the integrand is 0 there).
    """
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    x_nodes, n = c.w1_x, c.w1_x.size
    uniq, row = np.unique(sigma, return_inverse=True)
    # Points sorted by (row, μ), μ lifted by row so that one searchsorted serves all rows.
    lift = 4.0 * (np.abs(x_nodes).max() + np.abs(mu).max() + uniq.max() * np.abs(c.w1_b).max()
                  + 1.0)
    order = np.lexsort((mu, row))
    keys = (mu + lift * row)[order]
    knots = x_nodes - uniq[:, None] * c.w1_b  # (rows, n)
    lo = np.minimum(knots[:, :-1], knots[:, 1:]) + lift * np.arange(uniq.size)[:, None]
    hi = np.maximum(knots[:, :-1], knots[:, 1:]) + lift * np.arange(uniq.size)[:, None]
    first = np.searchsorted(keys, lo.ravel(), side="right")  # points with lo < μ <= hi
    count = np.searchsorted(keys, hi.ravel(), side="right") - first
    seg = np.repeat(np.arange(count.size), count)
    point = order[np.repeat(first, count) + np.arange(seg.size)
                  - np.repeat(np.cumsum(count) - count, count)]
    node = seg % (n - 1)
    m, s = mu[point], sigma[point]
    root = _w1_crossings(c, x_nodes[node].copy(), x_nodes[node + 1].copy(), m, s,
                         knots.ravel()[seg + seg // (n - 1)] - m,
                         knots.ravel()[seg + seg // (n - 1) + 1] - m)

    # Ψ at each crossing, crossings sorted within each point.
    srt = np.lexsort((root, point))
    point, root, m, s = point[srt], root[srt], m[srt], s[srt]
    zp = (root - m) / s
    zi = (root[:, None] - c.means) / c.stds
    psi = (c.weights * ((root[:, None] - c.means) * ndtr(zi) + c.stds * _std_pdf(zi))).sum(1) \
        - ((root - m) * ndtr(zp) + s * _std_pdf(zp))
    # Piece j of a point runs from its crossing j-1 (or -∞) to crossing j; one more piece
    # runs from its last crossing to +∞, where Ψ(+∞) = μ - E π.
    n_pts = mu.size
    first_of = np.ones(point.size, dtype=bool)
    first_of[1:] = point[1:] != point[:-1]
    last_of = np.ones(point.size, dtype=bool)
    last_of[:-1] = point[1:] != point[:-1]

    def previous(a: np.ndarray, start: float) -> np.ndarray:
        """a at the point's previous crossing, ``start`` (the value at -∞) for its first."""
        out = np.roll(a, 1)
        out[first_of] = start
        return out

    def at_last(a: np.ndarray, none: float) -> np.ndarray:
        """a at each point's last crossing, ``none`` for points without crossings."""
        out = np.full(n_pts, none)
        out[point[last_of]] = a[last_of]
        return out

    step = psi - previous(psi, 0.0)
    tail = (mu - c.mixture.mean) - at_last(psi, 0.0)
    value = np.bincount(point, np.abs(step), n_pts) + np.abs(tail)
    if not grad:
        return value, None, None
    sign, tail_sign = np.sign(step), np.sign(tail)
    fp, ph = ndtr(zp), _std_pdf(zp)
    d_mu = np.bincount(point, sign * (fp - previous(fp, 0.0)), n_pts) \
        + tail_sign * (1.0 - at_last(fp, 0.0))
    d_sigma = np.bincount(point, sign * (previous(ph, 0.0) - ph), n_pts) \
        + tail_sign * at_last(ph, 0.0)
    return value, d_mu, d_sigma * sigma


def _std_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _w1_crossings(c: _Context, lo: np.ndarray, hi: np.ndarray, mu: np.ndarray,
                  sigma: np.ndarray, g_lo: np.ndarray, g_hi: np.ndarray) -> np.ndarray:
    """Roots of g(x) = x - μ - σ b(x) bracketed by [lo, hi] (g_lo, g_hi: g at the ends, of
    opposite signs or zero): a secant guess, then Newton steps kept inside the bracket.
    W₁ is flat to first order in a crossing's position (the integrand is 0 there), so
    1e-10 relative is far more than enough."""
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(g_lo != g_hi, g_lo / (g_lo - g_hi), 0.5)
    x = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
    rising = g_hi > g_lo
    todo = np.flatnonzero(g_lo != g_hi)
    for _ in range(60):
        if todo.size == 0:
            break
        xa, sa = x[todo], sigma[todo]
        b = _phi_inv_cdf(c.means, c.stds, c.log_weights, xa)
        g = xa - mu[todo] - sa * b
        slope = 1.0 - sa * np.exp(c.log_pi(xa) + 0.5 * b * b + 0.5 * LOG_2PI)  # b' = π/φ(b)
        right = (g < 0) == rising[todo]  # the root is to the right of x
        lo[todo] = np.where(right, xa, lo[todo])
        hi[todo] = np.where(right, hi[todo], xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xa - g / slope
        ok = (newton > lo[todo]) & (newton < hi[todo])
        x_new = np.where(g == 0, xa, np.where(ok, newton, 0.5 * (lo[todo] + hi[todo])))
        x[todo] = x_new
        todo = todo[(np.abs(x_new - xa) > 1e-10 * (1.0 + np.abs(xa))) & (g != 0)]
    return x


def _mmd(c: _Context, mu: np.ndarray, sigma: np.ndarray, grad: bool = False) -> Values:
    h = c.bandwidth
    s2 = sigma * sigma
    value = c.mmd_self + _rbf_mean(h, 0.0, 2.0 * s2)
    d_mu = np.zeros_like(mu)
    d_log_sigma = -2.0 * s2 * h / (h * h + 2.0 * s2) ** 1.5
    for i in range(2):
        v = h * h + c.stds[i] ** 2 + s2
        d = c.means[i] - mu
        k = _rbf_mean(h, d, c.stds[i] ** 2 + s2)
        value = value - 2.0 * c.weights[i] * k
        d_mu = d_mu - 2.0 * c.weights[i] * k * d / v
        # dk/d(s2) = k (d²/(2v²) - 1/(2v)), and d(s2)/d(log σ) = 2 s2
        d_log_sigma = d_log_sigma - 4.0 * c.weights[i] * k * s2 * (d * d / (2 * v * v) - 0.5 / v)
    # Rounding can leave -1e-17 where the distributions coincide; MMD² is >= 0.
    value = np.maximum(value, 0.0)
    return (value, d_mu, d_log_sigma) if grad else (value, None, None)


# --- fitting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """The global minimiser of a divergence over p = N(μ, σ²) and the value there."""

    mu: float
    sigma: float
    value: float


def _starts(mix: Mixture2) -> np.ndarray:
    """Each component, and the moment-matched point: between them they sit in every basin
    the five divergences have for two components. Rows (μ, σ)."""
    return np.array([(mix.m1, mix.s1), (mix.m2, mix.s2), (mix.mean, mix.std)])


def _sigma_bounds(mix: Mixture2) -> tuple[float, float]:
    return 0.01 * min(mix.s1, mix.s2), 100.0 * mix.std


def _fit_newton(fn: Callable[..., Values], c: _Context, max_iter: int = 100
                ) -> tuple[float, float]:
    """Trust-region Newton from every start at once, in θ = ((μ - E π)/std π, log σ).

    All starts advance in lockstep, so each iteration is one vectorised call: the value and
    gradient at each iterate and at ±1e-5 along each axis (the Hessian by central differences
    of the exact gradient). No scipy optimiser: each call of theirs costs a BLAS round trip
    that stalls for milliseconds when the CPU is shared. The best end point wins."""
    mix = c.mixture
    scale, centre = mix.std, mix.mean
    lo_s, hi_s = _sigma_bounds(mix)
    lower = np.array([-10.0 - (centre - min(mix.m1, mix.m2)) / scale, math.log(lo_s)])
    upper = np.array([10.0 + (max(mix.m1, mix.m2) - centre) / scale, math.log(hi_s)])
    fd = 1e-5
    offsets = np.array([[0, 0], [fd, 0], [-fd, 0], [0, fd], [0, -fd]], dtype=np.float64)

    def evaluate(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pts = (theta[:, None, :] + offsets).reshape(-1, 2)
        v, d_mu, d_ls = fn(c, centre + scale * pts[:, 0], np.exp(pts[:, 1]), grad=True)
        g = np.stack([scale * d_mu, d_ls], axis=1).reshape(-1, 5, 2)
        hess = np.stack([(g[:, 1] - g[:, 2]), (g[:, 3] - g[:, 4])], axis=2) / (2 * fd)
        hess = 0.5 * (hess + hess.transpose(0, 2, 1))
        return v.reshape(-1, 5)[:, 0], g[:, 0], hess

    starts = _starts(mix)
    theta = np.stack([(starts[:, 0] - centre) / scale, np.log(starts[:, 1])], axis=1)
    theta = np.clip(theta, lower, upper)
    value, grad, hess = evaluate(theta)
    radius = np.ones(len(theta))
    active = np.ones(len(theta), dtype=bool)
    for _ in range(max_iter):
        a, b, d = hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]
        lam_min = 0.5 * (a + d - np.sqrt((a - d) ** 2 + 4 * b * b))
        # Levenberg shift where the Hessian is not safely positive definite.
        shift = np.where(lam_min > 1e-10, 0.0,
                         -lam_min + 1e-6 + np.linalg.norm(grad, axis=1))
        a, d = a + shift, d + shift
        det = a * d - b * b
        step = -np.stack([d * grad[:, 0] - b * grad[:, 1],
                          a * grad[:, 1] - b * grad[:, 0]], axis=1) / det[:, None]
        length = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, radius / np.maximum(length, 1e-300))[:, None]
        cand = np.clip(theta + step, lower, upper)
        moved = np.linalg.norm(cand - theta, axis=1)
        active &= (moved > 1e-10) & (radius > 1e-10)
        if not active.any():
            break
        v2, g2, h2 = evaluate(np.where(active[:, None], cand, theta))
        better = active & (v2 <= value)
        theta = np.where(better[:, None], cand, theta)
        value = np.where(better, v2, value)
        grad = np.where(better[:, None], g2, grad)
        hess = np.where(better[:, None, None], h2, hess)
        radius = np.where(better, np.maximum(radius, 2.0 * moved), 0.25 * moved)
    best = int(np.argmin(value))
    return centre + scale * float(theta[best, 0]), math.exp(float(theta[best, 1]))


def _fit_moments(c: _Context) -> tuple[float, float]:
    return c.mixture.mean, c.mixture.std


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """One entry of the lab: what the GUI shows and how to compute and minimise it."""

    name: str
    title: str
    blurb: str  # one sentence for a tooltip: why its optimum lands where it does
    values: Callable[..., Values]
    numeric_fit: Callable[[_Context], tuple[float, float]]
    closed_fit: Callable[[_Context], tuple[float, float]] | None = None


DIVERGENCES: dict[str, Divergence] = {d.name: d for d in (
    Divergence(
        "kl_forward", "KL(π‖p) — mode covering",
        "∫ π log(π/p): p is punished wherever π has mass and p has none, so it spreads over "
        "both modes; the optimum matches π's mean and variance.",
        _kl_forward, partial(_fit_newton, _kl_forward), _fit_moments),
    Divergence(
        "kl_reverse", "KL(p‖π) — mode seeking",
        "∫ p log(p/π): p is punished wherever it puts mass that π lacks, so it hides inside "
        "one mode when the modes are apart.",
        _kl_reverse, partial(_fit_newton, _kl_reverse)),
    Divergence(
        "js", "JS(π, p) — in between",
        "½KL(π‖m) + ½KL(p‖m) with m = (π+p)/2: bounded by log 2 and symmetric; the original "
        "GAN's generator minimises it against an optimal discriminator.",
        _js, partial(_fit_newton, _js)),
    Divergence(
        "w1", "W₁(π, p) — earth mover's",
        "∫|F_π - F_p| dx: the mass times the distance it must move; finite and smooth even "
        "when p and π do not overlap (the WGAN critic estimates it).",
        _w1, partial(_fit_newton, _w1)),
    Divergence(
        "mmd", "MMD²(π, p) — RBF kernel",
        "Distance between kernel mean embeddings (GMMN's loss); the bandwidth sets the scale "
        "at which π and p are compared.",
        _mmd, partial(_fit_newton, _mmd)),
)}


def _entry(name: str) -> Divergence:
    try:
        return DIVERGENCES[name]
    except KeyError:
        raise ValueError(f"unknown divergence {name!r}; one of {', '.join(DIVERGENCES)}") \
            from None


def _check_p(mu: Any, sigma: Any) -> tuple[float, float]:
    for label, v in (("mu", mu), ("sigma", sigma)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                or not math.isfinite(v):
            raise ValueError(f"{label} must be a finite number, got {v!r}")
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    return float(mu), float(sigma)


def _value(entry: Divergence, c: _Context, mu: float, sigma: float) -> float:
    return float(entry.values(c, np.array([mu]), np.array([sigma]))[0][0])


def divergence(name: str, mixture: Mixture2, mu: float, sigma: float, *,
               bandwidth: float | None = None) -> float:
    """The divergence ``name`` between π = ``mixture`` and p = N(mu, sigma²), in nats (W₁ in
    units of x). ``bandwidth`` is MMD's kernel bandwidth (default: π's std); the others
    ignore it."""
    entry = _entry(name)
    mu, sigma = _check_p(mu, sigma)
    return _value(entry, _ctx(mixture, bandwidth), mu, sigma)


def gradient(name: str, mixture: Mixture2, mu: float, sigma: float, *,
             bandwidth: float | None = None) -> tuple[float, float]:
    """(∂/∂μ, ∂/∂σ) of ``divergence(name, ...)``, exact (not finite differences): what the
    fits descend, and what a view can draw as arrows on a landscape."""
    entry = _entry(name)
    mu, sigma = _check_p(mu, sigma)
    _, d_mu, d_log_sigma = entry.values(_ctx(mixture, bandwidth), np.array([mu]),
                                        np.array([sigma]), grad=True)
    return float(d_mu[0]), float(d_log_sigma[0]) / sigma


def fit(name: str, mixture: Mixture2, *, bandwidth: float | None = None,
        numeric: bool = False) -> Fit:
    """The Gaussian closest to π in ``name``: the global minimiser over (μ, σ > 0).

    Uses the closed form where there is one (KL(π‖p): moment matching) unless ``numeric``;
    otherwise Newton's method in (μ, log σ) from each component and from the moment-matched
    point, keeping the best (W₁: an exact convex search instead). The result is never worse
    than any of those starting points."""
    entry = _entry(name)
    c = _ctx(mixture, bandwidth)
    solver = entry.closed_fit if entry.closed_fit is not None and not numeric \
        else entry.numeric_fit
    mu, sigma = solver(c)
    return Fit(mu, sigma, _value(entry, c, mu, sigma))


# --- landscapes --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Landscape:
    """A divergence over a (μ, σ) grid: ``values[i, j]`` is at (mus[j], sigmas[i]), so rows
    run along σ (the heatmap's y axis) and columns along μ. ``best`` is the (row, column) of
    the smallest value on the grid (the grid's minimum, not the fit's)."""

    name: str
    mus: np.ndarray
    sigmas: np.ndarray
    values: np.ndarray
    best: tuple[int, int]

    @property
    def mu_best(self) -> float:
        return float(self.mus[self.best[1]])

    @property
    def sigma_best(self) -> float:
        return float(self.sigmas[self.best[0]])

    @property
    def value_best(self) -> float:
        return float(self.values[self.best])


def default_axes(mixture: Mixture2, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A (μ, σ) grid that holds every divergence's optimum: μ across both components,
    σ from below the narrower component to past π's std."""
    s_max = max(mixture.s1, mixture.s2)
    lo = min(mixture.m1, mixture.m2) - 2 * s_max
    hi = max(mixture.m1, mixture.m2) + 2 * s_max
    sigmas = np.linspace(0.3 * min(mixture.s1, mixture.s2), 1.6 * mixture.std, n)
    return np.linspace(lo, hi, n), sigmas


def landscape(name: str, mixture: Mixture2, mus: Any, sigmas: Any, *,
              bandwidth: float | None = None) -> Landscape:
    """``name`` at every (μ, σ) of the grid ``mus`` × ``sigmas`` (1-D arrays; σ > 0)."""
    entry = _entry(name)
    mus = np.asarray(mus, dtype=np.float64).ravel()
    sigmas = np.asarray(sigmas, dtype=np.float64).ravel()
    if mus.size == 0 or sigmas.size == 0:
        raise ValueError("landscape: mus and sigmas must be non-empty")
    if not (np.isfinite(mus).all() and np.isfinite(sigmas).all()) or (sigmas <= 0).any():
        raise ValueError("landscape: mus must be finite and sigmas finite and > 0")
    grid_mu, grid_sigma = np.meshgrid(mus, sigmas)
    values = entry.values(_ctx(mixture, bandwidth), grid_mu.ravel(), grid_sigma.ravel())[0]
    values = values.reshape(grid_mu.shape)
    best = np.unravel_index(int(np.argmin(values)), values.shape)
    return Landscape(name, mus, sigmas, values, (int(best[0]), int(best[1])))

"""One-dimensional Gaussian numerics shared by the Divergences lab and the transport-map view.

numpy and scipy only: the GUI process imports these modules directly and must never load
torch. Everything here works on log-densities, because the integrands of KL and JS divide
densities that underflow to zero a few standard deviations from a narrow component.

Two quadrature rules are used, both for expectations under a Gaussian N(c, s²) written in its
standard coordinate t = (x - c) / s:

* a uniform trapezoid rule on [-T, T]: for integrands analytic in a strip around the real
  line (a Gaussian times a smooth function) its error falls exponentially with the number of
  nodes, far faster than Simpson's rule;
* composite Gauss-Legendre between breakpoints: used where the integrand has a sharp but
  known feature (the valley of a mixture's log-density, where log π switches from one
  component's parabola to the other's over a width s²/|m1 - m2|), so that a breakpoint sits
  on the feature instead of thousands of uniform nodes.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

LOG_2PI = math.log(2.0 * math.pi)
LOG2 = math.log(2.0)
# Standard-normal mass beyond |t| = 8.5 is 1e-17: truncating there costs nothing in float64
# even for integrands that grow like t² (log-densities).
T_MAX = 8.5


def log_normal(x: np.ndarray, mean: float | np.ndarray, std: float | np.ndarray) -> np.ndarray:
    """log N(x; mean, std²), vectorised."""
    t = (np.asarray(x, dtype=np.float64) - mean) / std
    return -0.5 * t * t - np.log(std) - 0.5 * LOG_2PI


def log_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(e^a + e^b) for finite a, b (np.logaddexp is ~5x slower here)."""
    return np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b)))


def log_sum_exp(a: np.ndarray, axis: int) -> np.ndarray:
    """log Σ e^a along ``axis`` for finite a."""
    m = a.max(axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.exp(a - m).sum(axis=axis))


@lru_cache(maxsize=64)
def trapezoid_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, w) with Σ w f(t) ≈ E f(Z), Z ~ N(0, 1): n + 1 uniform nodes on [-T, T]."""
    t = np.linspace(-T_MAX, T_MAX, n + 1)
    w = (t[1] - t[0]) * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    t.flags.writeable = False
    w.flags.writeable = False
    return t, w


@lru_cache(maxsize=8)
def legendre_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def piecewise_gauss_rule(center: np.ndarray, scale: np.ndarray, breaks: np.ndarray,
                         order: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Standard coordinates t and weights W with Σ W f(center + scale t) ≈ E f(X),
    X ~ N(center, scale²), one row per Gaussian.

    ``center`` and ``scale`` have shape (G,); ``breaks`` holds extra breakpoints in x, shape
    (B,). The standard coordinate is cut at -T, -3, 0, 3, T and at every breakpoint inside
    [-T, T]; each piece gets ``order`` Gauss-Legendre nodes. Between breakpoints the
    integrand must be smooth on the scale of the piece.
    """
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    g = center.shape[0]
    fixed = np.broadcast_to(np.array([-T_MAX, -3.0, 0.0, 3.0, T_MAX]), (g, 5))
    t_extra = (np.asarray(breaks, dtype=np.float64)[None, :] - center[:, None]) / scale[:, None]
    cuts = np.sort(np.concatenate([fixed, np.clip(t_extra, -T_MAX, T_MAX)], axis=1), axis=1)
    half = 0.5 * np.diff(cuts, axis=1)
    u, wu = legendre_rule(order)
    t = (cuts[:, :-1] + half)[:, :, None] + half[:, :, None] * u
    weight = np.exp(-0.5 * t * t)
    weight *= (half * (1.0 / math.sqrt(2.0 * math.pi)))[:, :, None] * wu
    return t.reshape(g, -1), weight.reshape(g, -1)


def quadratic_roots(a: float, b: float, c: float) -> tuple[float, float]:
    """Real roots of a x² + b x + c = 0 (NaN where there are none), without the cancellation
    of the school formula."""
    if a == 0.0:
        return (-c / b, math.nan) if b != 0.0 else (math.nan, math.nan)
    disc = b * b - 4.0 * a * c
    if disc < 0.0:
        return math.nan, math.nan
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    if q == 0.0:
        return 0.0, 0.0
    return q / a, c / q


def mixture_quantile(log_u: np.ndarray, log_1mu: np.ndarray, means: np.ndarray,
                     stds: np.ndarray, log_weights: np.ndarray, tol: float = 1e-13,
                     max_iter: int = 200) -> np.ndarray:
    """Quantiles of a Gaussian mixture at levels u given as log u and log(1 - u).

    Both logs are passed so that levels near 0 and near 1 keep full precision: below u = 1/2
    we solve log F(x) = log u, above it log S(x) = log(1 - u) with S = 1 - F. Safeguarded
    Newton: the root is bracketed by the components' own quantiles (the mixture CDF lies
    between them), a step leaving the bracket becomes a bisection, and the bracket shrinks
    on every evaluation, so it converges for any level.
    """
    log_u = np.asarray(log_u, dtype=np.float64)
    log_1mu = np.asarray(log_1mu, dtype=np.float64)
    shape = np.broadcast_shapes(log_u.shape, log_1mu.shape)
    log_u = np.broadcast_to(log_u, shape).ravel()
    log_1mu = np.broadcast_to(log_1mu, shape).ravel()
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    log_weights = np.asarray(log_weights, dtype=np.float64)
    left = log_u <= -LOG2
    out = np.where(log_u == -np.inf, -np.inf, np.where(log_1mu == -np.inf, np.inf, np.nan))
    todo = np.isnan(out)
    if not todo.any():
        return out.reshape(shape)
    left = left[todo]
    target = np.where(left, log_u[todo], log_1mu[todo])
    zq = np.where(left, ndtri_exp(target), -ndtri_exp(target))
    comp = means[:, None] + stds[:, None] * zq
    lo, hi = comp.min(axis=0), comp.max(axis=0)
    x = 0.5 * (lo + hi)
    sign = np.where(left, 1.0, -1.0)  # makes the residual increasing in x on both sides
    active = np.ones(x.shape, dtype=bool)
    for _ in range(max_iter):
        xa = x[active]
        za = (xa - means[:, None]) / stds[:, None]
        sa = sign[active]
        log_tail = log_sum_exp(log_weights[:, None] + log_ndtr(sa * za), axis=0)
        log_pdf = log_sum_exp(log_weights[:, None] - 0.5 * za * za
                              - np.log(stds)[:, None] - 0.5 * LOG_2PI, axis=0)
        resid = sa * (log_tail - target[active])
        slope = np.exp(log_pdf - log_tail)  # d/dx of sa * log_tail, always > 0
        lo_a = np.where(resid < 0, xa, lo[active])
        hi_a = np.where(resid > 0, xa, hi[active])
        step = resid / slope
        newton = xa - step
        inside = (newton > lo_a) & (newton < hi_a) & np.isfinite(newton)
        x_new = np.where(inside, newton, 0.5 * (lo_a + hi_a))
        done = (np.abs(x_new - xa) <= tol * (1.0 + np.abs(xa))) | (resid == 0) | (hi_a <= lo_a)
        lo[active], hi[active], x[active] = lo_a, hi_a, x_new
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    out[todo] = x
    return out.reshape(shape)

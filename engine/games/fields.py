"""The games' gradients: registries of games, Dirac-GAN losses and regularizers.

Every game is written as two players that each *descend their own loss*: G (x, θ) descends
``L_G`` and D (y, ψ) descends ``L_D``. For the zero-sum games ``L_G = V`` and ``L_D = -V``, so
D ascends V as the reference says. The velocity field is ``v = (-∂L_G/∂x, -∂L_D/∂y)``.

The Dirac-GAN losses are the engine's loss table (GAN_REFERENCE.md "Losses") applied to the
discriminator outputs ``l_real = ψ·x_real`` and ``l_fake = ψ·x_fake`` with ``x_real = 0`` and
``x_fake = θ`` (plus instance noise when asked). Each loss is stored as the derivatives of its
per-output terms, ``L_D = a(l_real) + b(l_fake)`` and ``L_G = c(l_fake)``, so one chain rule
serves every loss, with or without noise. The engine's sign convention (D scores real data
high) is the mirror image ψ → -ψ of Mescheder et al.'s (D scores fakes high); the field is the
reference's f-formulation after that substitution, and the eigenvalues are the same.

Everything here is numpy and scipy only and works on arrays of any shape, so the same code
steps one point and draws a whole grid of arrows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

if TYPE_CHECKING:
    from .settings import GameSettings

Array = np.ndarray
Deriv = Callable[[Array], Array]

# Gauss–Hermite nodes for the exact expectation over instance noise. The BCE and least-squares
# terms are smooth, so 48 nodes reach machine precision for any σ used here; the hinge
# loss's indicator is a step, which quadrature resolves to about 1e-3.
HERMITE_NODES = 48


@dataclass(frozen=True)
class Noise:
    """Samples of the noise added to D's real and fake inputs, with quadrature weights.

    No noise is one sample 0 of weight 1; the exact mode is Gauss–Hermite nodes scaled to
    N(0, σ²); the sampled mode is one random draw of weight 1 for each input.
    """

    real: Array
    w_real: Array
    fake: Array
    w_fake: Array


NO_NOISE = Noise(np.zeros(1), np.ones(1), np.zeros(1), np.ones(1))


def exact_noise(std: float) -> Noise:
    """N(0, std²) for both inputs as Gauss–Hermite quadrature: E h(ε) = Σ w_i h(ε_i)."""
    u, w = np.polynomial.hermite.hermgauss(HERMITE_NODES)
    eps = np.sqrt(2.0) * std * u
    w = w / np.sqrt(np.pi)
    return Noise(eps, w, eps, w)


def sampled_noise(std: float, rng: np.random.Generator) -> Noise:
    """One draw for the real input and one for the fake input (one gradient evaluation)."""
    e = rng.normal(0.0, std, size=2)
    return Noise(e[:1], np.ones(1), e[1:], np.ones(1))


# --- the games ---------------------------------------------------------------------------

GameGradient = Callable[["GameSettings", Array, Array, Noise], tuple[Array, Array]]


def _quadratic(s: GameSettings, x: Array, y: Array, noise: Noise) -> tuple[Array, Array]:
    # V = ½(x² − y²): ∂V/∂x = x; D's loss −V has ∂/∂y = y.
    return x + 0.0 * y, y + 0.0 * x


def _bilinear(s: GameSettings, x: Array, y: Array, noise: Noise) -> tuple[Array, Array]:
    # V = xy: ∂V/∂x = y; D's loss −V has ∂/∂y = −x.
    return y + 0.0 * x, -x + 0.0 * y


def _dirac(s: GameSettings, x: Array, y: Array, noise: Noise) -> tuple[Array, Array]:
    loss = LOSSES[s.loss]
    th = np.asarray(x, dtype=float)[..., None]
    psi = np.asarray(y, dtype=float)[..., None]
    x_real = noise.real  # data δ₀ plus noise
    x_fake = th + noise.fake  # generator δ_θ plus noise
    # dL_D/dψ = E a'(ψ x_r) x_r + E b'(ψ x_f) x_f ;  dL_G/dθ = E c'(ψ x_f) ψ
    gy = (np.sum(noise.w_real * loss.d_real(psi * x_real) * x_real, axis=-1)
          + np.sum(noise.w_fake * loss.d_fake(psi * x_fake) * x_fake, axis=-1))
    gx = np.sum(noise.w_fake * loss.g_fake(psi * x_fake) * psi, axis=-1)
    if loss.gradient_penalty:
        gy = gy + s.gp_weight * _gp_grad(psi[..., 0])
    gy = gy + REGULARIZERS[s.reg].penalty_grad(s, psi[..., 0])
    return gx, gy


@dataclass(frozen=True)
class Game:
    """One game: its gradients and whether the loss and regularizer settings mean anything."""

    gradient: GameGradient
    uses_loss: bool
    formula: str


GAMES: dict[str, Game] = {
    "quadratic": Game(_quadratic, False, "V(x, y) = ½(x² − y²)"),
    "bilinear": Game(_bilinear, False, "V(x, y) = xy"),
    "dirac": Game(_dirac, True, "data δ₀, generator δ_θ, D_ψ(x) = ψx"),
}


# --- Dirac-GAN losses: derivatives of the per-output terms ---------------------------------


@dataclass(frozen=True)
class DiracLoss:
    """``L_D = a(l_real) + b(l_fake)``, ``L_G = c(l_fake)``; fields are a', b', c'.

    ``f_prime0`` and ``f_second0`` are f'(0) and f''(0) of the reference's f-formulation
    ``L = f(ψθ) + f(0)`` where the loss has one near the equilibrium (None for least squares,
    whose D term is quadratic there): they give Mescheder et al.'s eigenvalues.
    """

    d_real: Deriv
    d_fake: Deriv
    g_fake: Deriv
    gradient_penalty: bool = False
    f_prime0: float | None = None
    f_second0: float = 0.0


def _const(c: float) -> Deriv:
    return lambda t: np.full_like(t, c)


_BCE_D = {
    "d_real": lambda t: -expit(-t),  # a = sp(−l)
    "d_fake": lambda t: expit(t),  # b = sp(l)
}
_WGAN_D = {"d_real": _const(-1.0), "d_fake": _const(1.0)}  # a = −l, b = l

LOSSES: dict[str, DiracLoss] = {
    # c = −sp(l): G minimises log(1 − D(G(z)))
    "minimax": DiracLoss(**_BCE_D, g_fake=lambda t: -expit(t), f_prime0=0.5,
                          f_second0=-0.25),
    # c = sp(−l): G maximises log D(G(z))
    "non-saturating": DiracLoss(**_BCE_D, g_fake=lambda t: -expit(-t), f_prime0=0.5,
                                 f_second0=-0.25),
    "wgan": DiracLoss(**_WGAN_D, g_fake=_const(-1.0), f_prime0=1.0),  # c = −l
    "wgan-gp": DiracLoss(**_WGAN_D, g_fake=_const(-1.0), gradient_penalty=True),
    # a = ½(l − 1)², b = ½l², c = ½(l − 1)²
    "least-squares": DiracLoss(d_real=lambda t: t - 1.0, d_fake=lambda t: t + 0.0,
                               g_fake=lambda t: t - 1.0),
    # a = relu(1 − l), b = relu(1 + l), c = −l; relu'(0) = 0 as in torch
    "hinge": DiracLoss(d_real=lambda t: -(t < 1.0).astype(float),
                       d_fake=lambda t: (t > -1.0).astype(float), g_fake=_const(-1.0),
                       f_prime0=1.0),
}


# --- regularizers -------------------------------------------------------------------------

PenaltyGrad = Callable[["GameSettings", Array], Array]


def _gp_grad(psi: Array) -> Array:
    """d/dψ (|ψ| − 1)²: the gradient penalty on the Dirac-GAN, where ‖∇ₓD(x̂)‖ = |ψ|."""
    return 2.0 * (np.abs(psi) - 1.0) * np.sign(psi)


def _no_penalty(s: GameSettings, psi: Array) -> Array:
    return np.zeros_like(psi)


def _r1_grad(s: GameSettings, psi: Array) -> Array:
    # γ/2 · E‖∇ₓD(x)‖² with ∇ₓD = ψ for every x, so R1 (real) and R2 (fake) coincide here.
    return s.gamma * psi


@dataclass(frozen=True)
class Regularizer:
    """What a regularizer does: a penalty on D's loss (its ψ-gradient), a projection of ψ
    after every D step (clipping), and/or instance noise on D's inputs."""

    penalty_grad: PenaltyGrad = _no_penalty
    clips: bool = False
    noisy: bool = False
    smooth_at_equilibrium: bool = True


REGULARIZERS: dict[str, Regularizer] = {
    "none": Regularizer(),
    "r1": Regularizer(penalty_grad=_r1_grad),
    "r2": Regularizer(penalty_grad=_r1_grad),
    "gp": Regularizer(penalty_grad=lambda s, psi: s.gamma * _gp_grad(psi),
                      smooth_at_equilibrium=False),
    "clip": Regularizer(clips=True),
    "noise": Regularizer(noisy=True),
}


def gradient(s: GameSettings, x: Array, y: Array, noise: Noise = NO_NOISE) -> tuple[Array, Array]:
    """(∂L_G/∂x, ∂L_D/∂y) of the chosen game at (x, y), arrays of any common shape."""
    return GAMES[s.game].gradient(s, np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                                  noise)


def expected_noise(s: GameSettings) -> Noise:
    """The deterministic noise for fields and flows: exact quadrature, or none."""
    return exact_noise(s.noise_std) if REGULARIZERS[s.reg].noisy else NO_NOISE

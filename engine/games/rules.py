"""Optimizers and update rules of the games lab, as registries (name → function).

An optimizer turns one player's gradient into the step it subtracts, keeping its own state in a
``Slot``. An update rule decides where the gradients are evaluated and in which order the two
players move: together (simultaneous), D ``d_steps`` times then G (alternating, as the engine's
training loop does), after a look-ahead (extragradient), with the optimistic correction
``2g_t − g_{t−1}``, or along the continuous flow the discrete rules approximate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.integrate import solve_ivp

if TYPE_CHECKING:
    from .settings import GameSettings

ADAM_EPS = 1e-8
# the flow's tolerances: far below the O(η) gap between GDA and the flow that it is shown against
FLOW_RTOL = 1e-10
FLOW_ATOL = 1e-12
# field evaluations allowed per row: a smooth row takes tens to hundreds; a trajectory pressed
# against a jump of the field (the hinge loss's kinks) would make the solver crawl for ever
FLOW_MAX_EVALS = 10_000


class SolverStalled(Exception):
    """The ODE solver could not integrate one row of the flow within its budget."""


@dataclass
class Slot:
    """One player's optimizer state: heavy-ball buffer, Adam moments and step count, and the
    previous gradient that optimistic GDA extrapolates from (None before the first step)."""

    buf: float = 0.0
    m: float = 0.0
    v: float = 0.0
    t: int = 0
    g_prev: float | None = None


Optimizer = Callable[[Slot, float, float, "GameSettings"], float]


def _sgd(slot: Slot, g: float, lr: float, s: GameSettings) -> float:
    return lr * g


def _momentum(slot: Slot, g: float, lr: float, s: GameSettings) -> float:
    # heavy ball as torch.optim.SGD(momentum=β) writes it: b ← βb + g, p ← p − ηb
    slot.buf = s.momentum * slot.buf + g
    return lr * slot.buf


def _adam(slot: Slot, g: float, lr: float, s: GameSettings) -> float:
    # Kingma & Ba with bias correction and ε = 1e-8, as torch.optim.Adam
    b1, b2 = s.betas
    slot.t += 1
    slot.m = b1 * slot.m + (1.0 - b1) * g
    slot.v = b2 * slot.v + (1.0 - b2) * g * g
    m_hat = slot.m / (1.0 - b1**slot.t)
    v_hat = slot.v / (1.0 - b2**slot.t)
    return lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)


OPTIMIZERS: dict[str, Optimizer] = {"sgd": _sgd, "momentum": _momentum, "adam": _adam}


@dataclass
class StepContext:
    """What an update rule needs: the settings, a gradient evaluation (which draws fresh
    instance noise in the sampled mode), the exact mean gradient (for the flow), both players'
    optimizer slots, and D's projection (clipping, or none)."""

    s: GameSettings
    grad: Callable[[float, float], tuple[float, float]]
    mean_grad: Callable[[float, float], tuple[float, float]]
    g: Slot
    d: Slot
    project: Callable[[float], float]

    def move_x(self, x: float, gx: float, peek: bool = False) -> float:
        slot = replace(self.g) if peek else self.g
        return x - OPTIMIZERS[self.s.optim](slot, gx, self.s.lr, self.s)

    def move_y(self, y: float, gy: float, peek: bool = False) -> float:
        slot = replace(self.d) if peek else self.d
        return self.project(y - OPTIMIZERS[self.s.optim](slot, gy, self.s.eta_d, self.s))


UpdateRule = Callable[[StepContext, float, float], tuple[float, float]]


def _simultaneous(c: StepContext, x: float, y: float) -> tuple[float, float]:
    gx, gy = c.grad(x, y)
    return c.move_x(x, gx), c.move_y(y, gy)


def _alternating(c: StepContext, x: float, y: float) -> tuple[float, float]:
    for _ in range(c.s.d_steps):  # D first, k times, as the engine's loop does
        _, gy = c.grad(x, y)
        y = c.move_y(y, gy)
    gx, _ = c.grad(x, y)  # then G against the updated D
    return c.move_x(x, gx), y


def _extragradient(c: StepContext, x: float, y: float) -> tuple[float, float]:
    # look ahead with a trial step (optimizer state not committed), then step from (x, y)
    # with the gradient found there (Korpelevich; Gidel et al. 2019 for GANs)
    gx, gy = c.grad(x, y)
    xh, yh = c.move_x(x, gx, peek=True), c.move_y(y, gy, peek=True)
    gx, gy = c.grad(xh, yh)
    return c.move_x(x, gx), c.move_y(y, gy)


def _optimistic(c: StepContext, x: float, y: float) -> tuple[float, float]:
    # the optimizer is fed 2g_t − g_{t−1}; the first step, with no g_{t−1}, is a plain one
    gx, gy = c.grad(x, y)
    hx = 2.0 * gx - (gx if c.g.g_prev is None else c.g.g_prev)
    hy = 2.0 * gy - (gy if c.d.g_prev is None else c.d.g_prev)
    c.g.g_prev, c.d.g_prev = gx, gy
    return c.move_x(x, hx), c.move_y(y, hy)


def _flow(c: StepContext, x: float, y: float) -> tuple[float, float]:
    # ẋ = −∂L_G/∂x, ẏ = −ρ ∂L_D/∂y with ρ = lr_d / lr, over one step of length η = lr, so GDA
    # with (lr, lr_d) is this flow's Euler method and row n sits at t_n = n·η. Each row is
    # integrated from the previous one, so stepping in any chunks gives the same numbers.
    rho = c.s.eta_d / c.s.lr
    evals = 0

    def field(t: float, z: np.ndarray) -> list[float]:
        nonlocal evals
        evals += 1
        if evals > FLOW_MAX_EVALS:
            raise SolverStalled
        gx, gy = c.mean_grad(z[0], z[1])
        return [-gx, -rho * gy]

    sol = solve_ivp(field, (0.0, c.s.lr), [x, y], method="DOP853", rtol=FLOW_RTOL,
                    atol=FLOW_ATOL)
    if not sol.success:
        raise SolverStalled
    return float(sol.y[0, -1]), float(sol.y[1, -1])


UPDATES: dict[str, UpdateRule] = {
    "simultaneous": _simultaneous,
    "alternating": _alternating,
    "extragradient": _extragradient,
    "optimistic": _optimistic,
    "flow": _flow,
}

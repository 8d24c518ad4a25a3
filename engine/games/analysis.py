"""What the games lab's views draw besides the trajectory: the vector field, the Jacobian's
eigenvalues at the equilibrium (0, 0), and the closed forms to lay over the measurements.

Everything uses the *mean* dynamics: with sampled instance noise, the field and the Jacobian
are those of the noise's exact expectation (the linearisation a random step fluctuates around).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .fields import GAMES, LOSSES, REGULARIZERS, expected_noise, gradient
from .rules import UPDATES, Slot, StepContext
from .settings import GameSettings, SettingError

# central differences: O(h²) truncation, so ~1e-12 for these smooth fields at the origin
FD_STEP = 1e-6


def vector_field(settings: GameSettings, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The velocity (−∂L_G/∂x, −∂L_D/∂y) at every (x, y) (arrays broadcast together).

    For the zero-sum games this is (−∂V/∂x, +∂V/∂y). The players' learning rates are not
    applied (with ``lr_d != lr`` GDA follows diag(lr, lr_d)·v).
    """
    noise = expected_noise(settings)
    with np.errstate(over="ignore", invalid="ignore"):
        gx, gy = gradient(settings, x, y, noise)
    return -gx, -gy


def jacobian(settings: GameSettings) -> np.ndarray:
    """The Jacobian at the equilibrium (0, 0), by central differences.

    For ``update='flow'`` it is the flow's field's Jacobian (D's row scaled by lr_d/lr); for the
    discrete rules it is the one-step map's, over the rule's whole state: (x, y), plus both
    heavy-ball buffers with momentum, plus both previous gradients with optimistic GDA (so a
    4×4 matrix there). Stable when every eigenvalue has a negative real part (flow) or lies
    inside the unit circle (discrete).
    """
    _check_smooth(settings)
    if settings.update == "flow":
        rho = settings.eta_d / settings.lr
        noise = expected_noise(settings)

        def field(z: np.ndarray) -> np.ndarray:
            gx, gy = gradient(settings, z[0], z[1], noise)
            return np.array([-float(gx), -rho * float(gy)])

        return _central_differences(field, np.zeros(2))
    return _central_differences(_one_step_map(settings), np.zeros(_state_size(settings)))


def jacobian_eigenvalues(settings: GameSettings) -> np.ndarray:
    """Eigenvalues of ``jacobian(settings)``, complex, sorted by (real, imaginary) part."""
    return np.sort_complex(np.linalg.eigvals(jacobian(settings)).astype(complex))


def predicted_eigenvalues(settings: GameSettings) -> np.ndarray | None:
    """The closed form of what ``jacobian_eigenvalues`` measures, where there is one.

    For the flow, with ρ = lr_d/lr: quadratic −1, −ρ; bilinear ±i√ρ; Dirac-GAN the roots of
    λ² + ρδλ + ρf′(0)² (Mescheder et al. 2018): δ = 0 unregularized (±f′(0)i), δ = γ with
    R1/R2 (−γ/2 ± √(γ²/4 − f′(0)²)), δ = −2f″(0)σ² with instance noise. For simultaneous SGD
    the one-step map's eigenvalues are 1 + η·λ. None elsewhere.
    """
    s = settings
    if s.update == "flow":
        lam = _flow_eigenvalues(s)
    elif s.update == "simultaneous" and s.optim == "sgd":
        lam = _flow_eigenvalues(s)
        lam = None if lam is None else 1.0 + s.lr * lam
    else:
        return None
    return None if lam is None else np.sort_complex(lam.astype(complex))


def predicted_distance(settings: GameSettings, steps: int) -> np.ndarray | None:
    """‖(x_n, y_n)‖ for n = 0..steps in closed form, where there is one; None elsewhere.

    Quadratic game with SGD, each player shrinking on its own: simultaneous (1 − η)ⁿ,
    alternating (1 − η)ⁿ for x and (1 − η_D)^{kn} for y, extragradient (1 − η + η²)ⁿ, flow
    e^{−t} at t = nη. Bilinear game with SGD and lr_d = lr: simultaneous √(1 + η²)ⁿ,
    extragradient √(1 − η² + η⁴)ⁿ, flow constant.
    """
    s = settings
    n = np.arange(steps + 1, dtype=float)
    x0, y0 = s.start
    if s.optim != "sgd":
        return None
    if s.game == "quadratic":
        eta, eta_d = s.lr, s.eta_d
        per_step = {
            "simultaneous": (1.0 - eta, 1.0 - eta_d),
            "alternating": (1.0 - eta, (1.0 - eta_d) ** s.d_steps),
            "extragradient": (1.0 - eta + eta**2, 1.0 - eta_d + eta_d**2),
            "flow": (math.exp(-eta), math.exp(-eta_d)),
        }.get(s.update)
        if per_step is None:
            return None
        a, b = per_step
        return np.hypot(x0 * a**n, y0 * b**n)
    if s.game == "bilinear" and s.lr_d in (None, s.lr):
        eta = s.lr
        factor = {"simultaneous": math.sqrt(1.0 + eta**2),
                  "extragradient": math.sqrt(1.0 - eta**2 + eta**4), "flow": 1.0}.get(s.update)
        return None if factor is None else math.hypot(x0, y0) * factor**n
    return None


def _flow_eigenvalues(s: GameSettings) -> np.ndarray | None:
    rho = s.eta_d / s.lr
    if s.game == "quadratic":
        return np.array([-1.0, -rho], dtype=complex)
    if s.game == "bilinear":
        return np.array([1j, -1j]) * math.sqrt(rho)
    loss = LOSSES[s.loss]
    f1 = loss.f_prime0
    if f1 is None or loss.gradient_penalty:
        return None
    if s.reg in ("none", "clip"):
        delta = 0.0
    elif s.reg in ("r1", "r2"):
        delta = s.gamma
    elif s.reg == "noise":
        delta = -2.0 * loss.f_second0 * s.noise_std**2
    else:
        return None
    return np.roots([1.0, rho * delta, rho * f1**2]).astype(complex)


def _check_smooth(s: GameSettings) -> None:
    if not REGULARIZERS[s.reg].smooth_at_equilibrium or (
            GAMES[s.game].uses_loss and LOSSES[s.loss].gradient_penalty):
        raise SettingError("reg" if s.reg == "gp" else "loss",
                           "the gradient penalty (|ψ| − 1)² has a kink at ψ = 0, so there is "
                           "no Jacobian at the equilibrium; allowed: any other loss and reg")
    if s.optim == "adam":
        raise SettingError("optim", "Adam divides by its running gradient size, which is 0 at "
                                    "the equilibrium, so its step has no Jacobian there; "
                                    "allowed: sgd, momentum")


def _state_size(s: GameSettings) -> int:
    return 2 + 2 * (s.optim == "momentum") + 2 * (s.update == "optimistic")


def _one_step_map(s: GameSettings):
    """The rule's one step as a function of its whole state vector (see ``jacobian``)."""
    noise = expected_noise(s)
    reg = REGULARIZERS[s.reg]

    def grad(x: float, y: float) -> tuple[float, float]:
        gx, gy = gradient(s, x, y, noise)
        return float(gx), float(gy)

    def project(y: float) -> float:
        return min(max(y, -s.clip), s.clip) if reg.clips else y

    momentum, optimistic = s.optim == "momentum", s.update == "optimistic"

    def step(z: np.ndarray) -> np.ndarray:
        g, d = Slot(), Slot()
        rest = list(z[2:])
        if momentum:
            g.buf, d.buf = rest.pop(0), rest.pop(0)
        if optimistic:
            g.g_prev, d.g_prev = rest.pop(0), rest.pop(0)
        x, y = UPDATES[s.update](StepContext(s, grad, grad, g, d, project), z[0], z[1])
        out = [x, y]
        if momentum:
            out += [g.buf, d.buf]
        if optimistic:
            out += [g.g_prev, d.g_prev]
        return np.array(out, dtype=float)

    return step


def _central_differences(fn, z0: np.ndarray) -> np.ndarray:
    m = len(z0)
    jac = np.empty((m, m))
    for j in range(m):
        e = np.zeros(m)
        e[j] = FD_STEP
        jac[:, j] = (fn(z0 + e) - fn(z0 - e)) / (2.0 * FD_STEP)
    return jac

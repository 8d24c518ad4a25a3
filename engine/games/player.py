"""``GamePlayer``: a games-lab trajectory the GUI steps a few rows at a time, and ``run``.

The batch ``run`` is ``GamePlayer(...).step(steps)``, and every update rule computes row n+1
from row n and the player's state alone, so stepping 1000 times by one gives the very numbers
of one call for 1000 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fields import REGULARIZERS, expected_noise, gradient, sampled_noise
from .rules import FLOW_MAX_EVALS, UPDATES, Slot, SolverStalled, StepContext
from .settings import GameSettings, SettingError

# a coordinate beyond this (or a NaN/inf) ends the trajectory: the game has diverged
DIVERGED_ABOVE = 1e100
MAX_STEPS = 1_000_000


class GameStopped(ArithmeticError):
    """The trajectory could not go on at ``step``; the ``rows`` rows before it are kept."""

    def __init__(self, message: str, step: int, rows: int) -> None:
        super().__init__(message)
        self.step = step
        self.rows = rows


class GameDiverged(GameStopped):
    """The trajectory left every finite scale."""

    def __init__(self, step: int, rows: int) -> None:
        super().__init__(f"diverged at step {step}: |x| or |y| went above {DIVERGED_ABOVE:g} "
                         f"or became NaN; kept: {_rows(rows)} before it", step, rows)


class FlowStalled(GameStopped):
    """The flow's ODE solver could not get past a jump of the field (a sliding motion along
    the hinge loss's kink, say), which the discrete rules simply step over."""

    def __init__(self, step: int, rows: int) -> None:
        super().__init__(f"the flow stalled at step {step}: its field jumps there (a loss's "
                         f"or penalty's kink) and the ODE solver could not get past it in "
                         f"{FLOW_MAX_EVALS} evaluations; kept: {_rows(rows)} before it; use a "
                         "discrete update", step, rows)


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


class GamePlayer:
    """A trajectory of the games lab that grows by ``step(n)``.

    Settings may change between steps (``set``): the point stays where it is, optimizer state
    is kept unless the optimizer kind changes (then it restarts, as in the trainer), optimistic
    GDA forgets its previous gradient when the rule changes, and a new seed reseeds the noise.
    A new ``start`` takes effect at ``reset()``.
    """

    def __init__(self, settings: GameSettings | None = None, **changes: Any) -> None:
        base = settings if settings is not None else GameSettings()
        self._settings = base.with_changes(**changes) if changes else base
        self.reset()

    @property
    def settings(self) -> GameSettings:
        return self._settings

    @property
    def steps_done(self) -> int:
        return self._n - 1

    @property
    def position(self) -> tuple[float, float]:
        return float(self._rows[self._n - 1, 0]), float(self._rows[self._n - 1, 1])

    @property
    def trajectory(self) -> np.ndarray:
        """All rows so far, (steps_done + 1, 2) float64; row 0 is the start."""
        return self._rows[: self._n].copy()

    def reset(self) -> None:
        """Back to the start: one row, fresh optimizer state, noise reseeded."""
        self._rows = np.empty((64, 2))
        self._rows[0] = self._settings.start
        self._n = 1
        self._g, self._d = Slot(), Slot()
        self._rng = np.random.default_rng(self._settings.seed)
        self._build()

    def set(self, **changes: Any) -> GameSettings:
        """Change settings between steps (validated first: on error nothing changes)."""
        new = self._settings.with_changes(**changes)
        old, self._settings = self._settings, new
        if new.optim != old.optim:
            self._g, self._d = Slot(), Slot()
        if new.update != old.update:
            self._g.g_prev = self._d.g_prev = None
        if new.seed != old.seed:
            self._rng = np.random.default_rng(new.seed)
        self._build()
        return new

    def step(self, n: int = 1) -> np.ndarray:
        """Take n steps; return the n new rows. ``GameDiverged`` if a row is not finite,
        ``FlowStalled`` if the flow's solver gives up; either keeps the rows before it."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n <= MAX_STEPS:
            raise SettingError("steps", f"got {n!r}; allowed: an integer in [0, {MAX_STEPS}]")
        n = int(n)
        first = self._n
        self._grow(n)
        rule = UPDATES[self._settings.update]
        x, y = self.position
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(n):
                try:
                    x, y = rule(self._ctx, x, y)
                except SolverStalled:
                    raise FlowStalled(step=self._n, rows=self._n) from None
                x, y = float(x), float(y)
                if not (abs(x) <= DIVERGED_ABOVE and abs(y) <= DIVERGED_ABOVE):
                    raise GameDiverged(step=self._n, rows=self._n)
                self._rows[self._n] = (x, y)
                self._n += 1
        return self._rows[first: self._n].copy()

    def _grow(self, n: int) -> None:
        need = self._n + n
        if need > len(self._rows):
            rows = np.empty((max(need, 2 * len(self._rows)), 2))
            rows[: self._n] = self._rows[: self._n]
            self._rows = rows

    def _build(self) -> None:
        s = self._settings
        reg = REGULARIZERS[s.reg]
        mean_noise = expected_noise(s)
        if reg.noisy and s.noise_mode == "sampled":
            def grad(x: float, y: float) -> tuple[float, float]:
                gx, gy = gradient(s, x, y, sampled_noise(s.noise_std, self._rng))
                return float(gx), float(gy)
        else:
            def grad(x: float, y: float) -> tuple[float, float]:
                gx, gy = gradient(s, x, y, mean_noise)
                return float(gx), float(gy)

        def mean_grad(x: float, y: float) -> tuple[float, float]:
            gx, gy = gradient(s, x, y, mean_noise)
            return float(gx), float(gy)

        def project(y: float) -> float:
            return min(max(y, -s.clip), s.clip) if reg.clips else y

        self._ctx = StepContext(s, grad, mean_grad, self._g, self._d, project)


def run(steps: int = 100, **settings: Any) -> np.ndarray:
    """The trajectory of ``steps`` steps: an (steps + 1, 2) float64 array, row 0 the start.

    Keywords are ``GameSettings``'s fields (the CLI's flags with ``_`` for ``-``): game, loss,
    reg, gamma, clip, noise_std, noise_mode, gp_weight, update, optim, lr, lr_d, d_steps,
    momentum, betas, start, seed. A bad value raises ValueError naming it; a trajectory that
    leaves every finite scale raises ``GameDiverged``, a flow the ODE solver cannot follow
    ``FlowStalled`` (both are ``GameStopped``).
    """
    player = GamePlayer(**settings)
    player.step(steps)
    return player.trajectory


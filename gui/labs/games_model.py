"""The games lab's runs, apart from their drawing: one played trajectory with where its closed
form starts and why it stopped, and how an update's eigenvalues read."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.games import GamePlayer, GameSettings, GameStopped, SettingError, predicted_distance

ON_CIRCLE = 1e-9  # |λ| within this of 1 (or Re λ of 0) counts as on the boundary


def describe(key: str, value: Any) -> str:
    return f"{key} = {value:g}" if isinstance(value, float) else f"{key} = {value}"


def stability(eigs: np.ndarray, flow: bool) -> tuple[float, str]:
    """The number that decides (max |λ|, or max Re λ for the flow) and what it means."""
    if flow:
        top = float(np.max(eigs.real))
        verdict = ("converges" if top < -ON_CIRCLE else "diverges from (0, 0)"
                   if top > ON_CIRCLE else "cycles")
        return top, verdict
    top = float(np.max(np.abs(eigs)))
    verdict = ("converges" if top < 1 - ON_CIRCLE else "diverges from (0, 0)"
               if top > 1 + ON_CIRCLE else "cycles")
    return top, verdict


class Run:
    """One played trajectory and what its views need besides the rows: where its closed-form
    prediction starts (settings can change mid-run) and why it stopped, if it did."""

    def __init__(self, settings: GameSettings) -> None:
        self.player = GamePlayer(settings)
        self.stopped = ""
        self._anchor: tuple[int, GameSettings | None] = (0, settings)

    @property
    def settings(self) -> GameSettings:
        return self.player.settings

    def reset(self) -> None:
        self.player.reset()
        self.stopped = ""
        self._anchor = (0, self.settings)

    def set(self, **changes: Any) -> None:
        self.player.set(**changes)
        self.re_anchor()

    def re_anchor(self) -> None:
        """The prediction restarts here, with the current settings from the current point."""
        n = self.player.steps_done
        if n == 0:
            self._anchor = (0, self.settings)
            return
        try:
            self._anchor = (n, self.settings.with_changes(start=self.player.position))
        except SettingError:  # a point too far out to start a prediction from
            self._anchor = (n, None)

    def step(self, n: int) -> None:
        if n <= 0 or self.stopped:
            return
        try:
            self.player.step(n)
        except GameStopped as e:
            self.stopped = str(e)

    def prediction(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(steps, distance) of the closed form since the last change, or None."""
        n0, anchored = self._anchor
        if anchored is None:
            return None
        d = predicted_distance(anchored, self.player.steps_done - n0)
        if d is None:
            return None
        return np.arange(n0, n0 + d.size, dtype=float), d


def round_up(x: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten that is at least x."""
    e = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * e >= x - 1e-12:
            return m * e
    return 10.0 * e

"""The games lab's settings: one frozen, validated dataclass shared by the API, CLI and GUI.

Every value is checked when the object is built, so a bad value is one ``SettingError``
(a ValueError) naming the setting and what is allowed, and nothing is half-applied.
Combinations that would silently mean nothing are refused too (a regularizer on a game with no
discriminator input, several D steps for a rule that takes one), with one exception: ``loss``
only shapes the Dirac-GAN and is ignored by the quadratic and bilinear games, whose V is fixed,
so the default loss works with every game.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from ..params import Param
from .fields import GAMES, LOSSES, REGULARIZERS
from .rules import OPTIMIZERS, UPDATES

NOISE_MODES = ("exact", "sampled")
MAX_LR = 10.0
DISCRETE = tuple(u for u in UPDATES if u != "flow")


class SettingError(ValueError):
    """A bad setting; ``key`` is the setting's name (the CLI turns it into its flag)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def _choice(choices: Any) -> Param:
    return Param("choice", None, choices=tuple(choices))


_SPECS: dict[str, Param] = {
    "game": _choice(GAMES),
    "loss": _choice(LOSSES),
    "reg": _choice(REGULARIZERS),
    "update": _choice(UPDATES),
    "optim": _choice(OPTIMIZERS),
    "noise_mode": _choice(NOISE_MODES),
    "gamma": Param("float", 1.0, lo=0.0, hi=1000.0),
    "gp_weight": Param("float", 1.0, lo=0.0, hi=1000.0),
    "d_steps": Param("int", 1, lo=1, hi=100),
    "momentum": Param("float", 0.9, lo=0.0, hi=0.999),
    "betas": Param("float_pair", (0.5, 0.999), lo=0.0, hi=1.0),
    "seed": Param("int", 0, lo=0, hi=2**63 - 1),
}
# strictly positive: (0, hi]
_POSITIVE = {"lr": MAX_LR, "lr_d": MAX_LR, "clip": 100.0, "noise_std": 100.0}


@dataclass(frozen=True)
class GameSettings:
    """Everything that defines a games-lab run (the number of steps aside).

    x is G's parameter θ (it minimises), y is D's parameter ψ (it maximises V, i.e. descends
    its own loss). ``lr`` is x's step η, ``lr_d`` y's (None: the same as ``lr``, and it keeps
    following ``lr`` when that changes). ``gamma`` is γ for r1/r2 and λ for gp; ``clip`` is c
    of the clip regularizer; ``noise_std`` is σ of instance noise; ``gp_weight`` is λ of the
    ``wgan-gp`` loss's own penalty. ``momentum`` is the heavy-ball β; ``betas`` are Adam's,
    (0.5, 0.999) by default as in the engine (DCGAN's choice). ``d_steps`` is k of the
    alternating rule (D steps per G step). ``seed`` seeds the sampled instance noise.
    """

    game: str = "quadratic"
    loss: str = "non-saturating"
    reg: str = "none"
    gamma: float = 1.0
    clip: float = 0.01
    noise_std: float = 1.0
    noise_mode: str = "exact"
    gp_weight: float = 1.0
    update: str = "simultaneous"
    optim: str = "sgd"
    lr: float = 0.1
    lr_d: float | None = None
    d_steps: int = 1
    momentum: float = 0.9
    betas: tuple[float, float] = (0.5, 0.999)
    start: tuple[float, float] = (1.0, 1.0)
    seed: int = 0

    def __post_init__(self) -> None:
        for key, spec in _SPECS.items():
            try:
                value = spec.coerce(key, getattr(self, key))
            except ValueError as e:
                raise SettingError(key, str(e).split(": ", 1)[1]) from None
            object.__setattr__(self, key, tuple(value) if key == "betas" else value)
        for key, hi in _POSITIVE.items():
            value = getattr(self, key)
            if key == "lr_d" and value is None:
                continue
            object.__setattr__(self, key, _positive(key, value, hi))
        object.__setattr__(self, "start", _point(self.start))
        _check_combination(self)

    @property
    def eta_d(self) -> float:
        """D's learning rate: ``lr_d``, or ``lr`` when that is None."""
        return self.lr if self.lr_d is None else self.lr_d

    def with_changes(self, **changes: Any) -> GameSettings:
        """A validated copy with some settings changed (unknown names are refused)."""
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            raise SettingError(unknown[0], f"no such setting; allowed: {', '.join(SETTING_NAMES)}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(GameSettings))


def _positive(key: str, value: Any, hi: float) -> float:
    v = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            v = float(value)
        except ValueError:
            v = None
    if v is None or not math.isfinite(v) or not 0.0 < v <= hi:
        shown = repr(value) if v is None else f"{v:g}"
        raise SettingError(key, f"got {shown[:60]}; allowed: a number in (0, {hi:g}]")
    return v


def _point(value: Any) -> tuple[float, float]:
    """The start (x₀, y₀): two finite numbers, as a pair or as text "X,Y"."""
    items = value
    if isinstance(value, str):
        items = [t.strip() for t in value.strip().strip("()[]").split(",")]
    ok = isinstance(items, list | tuple) and len(items) == 2
    out: list[float] = []
    for item in items if ok else ():
        try:
            v = float(item) if not isinstance(item, bool) else math.nan
        except (TypeError, ValueError):
            v = math.nan
        ok = ok and math.isfinite(v) and abs(v) <= 1e6
        out.append(v)
    if not ok:
        shown = repr(value)
        raise SettingError("start", f"got {shown[:60]}; allowed: two finite numbers X,Y "
                                    "with |X|, |Y| <= 1e6")
    return out[0], out[1]


def _check_combination(s: GameSettings) -> None:
    if s.reg != "none" and not GAMES[s.game].uses_loss:
        raise SettingError("reg", f"{s.reg!r} needs the dirac game (the {s.game} game has no "
                                  "discriminator input to regularize); allowed here: none")
    if s.d_steps != 1 and s.update != "alternating":
        raise SettingError("d_steps", f"only update='alternating' takes several D steps per G "
                                      f"step; allowed with update={s.update!r}: 1")
    if s.update == "flow":
        if s.optim != "sgd":
            raise SettingError("optim", "the flow is plain gradient flow (sgd as η → 0); "
                                        "allowed with update='flow': sgd")
        if REGULARIZERS[s.reg].clips:
            raise SettingError("reg", "'clip' projects ψ after each D step, which a flow does "
                                      "not take; allowed with update='flow': "
                                      + ", ".join(r for r in REGULARIZERS if r != "clip"))
        if REGULARIZERS[s.reg].noisy and s.noise_mode == "sampled":
            raise SettingError("noise_mode", "the flow needs the noise's exact expectation; "
                                             "allowed with update='flow': exact")

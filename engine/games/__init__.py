"""The games lab: two-parameter games that show why GAN training cycles, spirals out or
converges (GAN_REFERENCE.md "Games and the regularizers that make GANs converge").

Games ``quadratic`` V = ½(x² − y²), ``bilinear`` V = xy and the Dirac-GAN (``dirac``, with every
loss of the engine); regularizers none, r1, r2, gp, clip, noise; update rules simultaneous,
alternating, extragradient, optimistic and the continuous flow; optimizers sgd, momentum, adam.
x is G's parameter θ (it minimises), y is D's ψ (it maximises V).

numpy and scipy only: the GUI process imports this package and must never import torch.
::

    from engine.games import run, GamePlayer, GameSettings
    traj = run(game="dirac", loss="non-saturating", reg="r1", gamma=0.3, steps=500)
    p = GamePlayer(GameSettings(game="bilinear", update="alternating"))
    p.step(10); p.set(lr=0.05); p.step(10); p.trajectory
"""

from .analysis import (
    jacobian,
    jacobian_eigenvalues,
    predicted_distance,
    predicted_eigenvalues,
    vector_field,
)
from .fields import GAMES, LOSSES, REGULARIZERS
from .player import DIVERGED_ABOVE, FlowStalled, GameDiverged, GamePlayer, GameStopped, run
from .presets import GamePreset, builtin_game_presets, load_game_preset
from .rules import OPTIMIZERS, UPDATES
from .settings import NOISE_MODES, SETTING_NAMES, GameSettings, SettingError

__all__ = [
    "run", "GamePlayer", "GameSettings", "GameStopped", "GameDiverged", "FlowStalled", "SettingError", "GamePreset",
    "vector_field", "jacobian", "jacobian_eigenvalues", "predicted_eigenvalues",
    "predicted_distance", "builtin_game_presets", "load_game_preset",
    "GAMES", "LOSSES", "REGULARIZERS", "UPDATES", "OPTIMIZERS", "NOISE_MODES", "SETTING_NAMES",
    "DIVERGED_ABOVE",
]

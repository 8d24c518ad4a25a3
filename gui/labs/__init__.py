"""The labs: small interactive windows beside the trainer, computed in the GUI process by
torch-free engine modules.

* ``GamesLab`` / ``open_games_lab`` (issue #13): two-parameter games (quadratic, bilinear,
  the Dirac-GAN) played live, with the vector field, the distance to the equilibrium and the
  Jacobian's eigenvalues (``engine.games``).
* ``DivergenceLab`` / ``open_divergence_lab`` (issue #14): one Gaussian fitted to a
  two-Gaussian mixture by five divergences, with their landscapes (``engine.divlab``).

Each class is a plain ``QWidget`` (a tab, a dock); each ``open_*`` function shows one as a
non-modal window owned by its parent and returns it.
"""

from .divergence_lab import DivergenceLab, open_divergence_lab
from .games_lab import GamesLab, open_games_lab

__all__ = ["GamesLab", "open_games_lab", "DivergenceLab", "open_divergence_lab"]

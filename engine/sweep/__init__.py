"""Sweeps: every combination of a grid of settings x seeds as a headless run, in parallel.

    python main.py sweep --preset ring8 --grid loss.name=minimax,wgan-gp --seeds 0-4 \\
        --steps 3000 --out sweeps/a [--workers N] [--scheduler local|tcp://HOST:PORT]

``spec`` checks the definition (torch-free), ``worker`` runs one run (imports torch),
``execute`` schedules them (a process pool, this process, or Dask), ``report`` writes
``sweep.csv`` and ``sweep.png``; ``cli`` is the command line.
"""

from __future__ import annotations

from .execute import Outcome, run_sweep
from .spec import Run, Sweep, build_sweep, parse_grid_arg, parse_seeds

__all__ = ["build_sweep", "run_sweep", "Sweep", "Run", "Outcome", "parse_grid_arg",
           "parse_seeds"]

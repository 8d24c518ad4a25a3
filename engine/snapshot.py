"""Plain-data messages that cross from the engine to a view (no torch inside)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ViewRequest:
    """What a live view wants; nothing else is computed."""

    n_fake: int = 512     # generated samples, from a fixed noise batch
    n_real: int = 512     # real samples, a fixed batch
    heatmap: bool = True  # D's output over the data box
    grid: int = 64        # heatmap resolution per side


@dataclass(frozen=True)
class Snapshot:
    """One frame for the live views: numpy copies, safe to keep on another thread.

    ``heatmap[i, j]`` is D at x = linspace(box[0], box[1])[i], y = linspace(box[2], box[3])[j]
    (pyqtgraph's default column-major image order). It is a probability for the BCE losses,
    a raw score otherwise.
    """

    step: int
    fake: np.ndarray
    real: np.ndarray
    heatmap: np.ndarray | None
    box: tuple[float, float, float, float]
    heatmap_is_probability: bool
    d_updates: int = 0
    g_updates: int = 0

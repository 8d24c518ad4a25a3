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
    dstar: bool = False   # the optimal discriminator D* on the same grid, and its gap to D
    arrows: bool = False  # -dL_G/dx at each fake: where G's loss pushes it
    d_field: int = 0      # D's gradient over a coarse grid of this many points per side
    manifold: int = 0     # G over a grid of noise with this many lines per side
    d_on_fake: bool = False  # D's output on the fakes (the generator-loss panel)
    # image data (the plane's fields stay empty then)
    images: int = 0          # generated images from fixed noise (unconditional)
    per_class: int = 0       # conditional: this many per class instead, one row per class
    only_class: int = -1     # conditional: ``images`` fakes all of this class (-1: every class)
    real_images: int = 0     # real images, a fixed batch sorted by class
    d_histogram: int = 0     # D's output on this many fixed real and generated images
    # the region of the plane the heatmap (and D*) covers, e.g. what the window shows;
    # None: the data's box
    heat_box: tuple[float, float, float, float] | None = None
    batch_mates: int = 0     # this many fixed z, each drawn by G in two different batches


@dataclass(frozen=True)
class Snapshot:
    """One frame for the live views: numpy copies, safe to keep on another thread.

    ``heatmap[i, j]`` is D at x = linspace(hb[0], hb[1])[i], y = linspace(hb[2], hb[3])[j]
    with ``hb = heat_box or box`` (pyqtgraph's default column-major image order). It is a probability for the BCE losses,
    a raw score otherwise. For 1-D data (``dim == 1``) the heatmap, D*, p_data and p_g are
    curves over x = linspace(box[0], box[1], grid).

    D*, p_data and p_g belong to the *cell* around each grid point (half a spacing either
    side): p_data and p_g are the data's and G's probability mass in the cell divided by
    its area (exact for the Gaussian mixtures; the share of 8192 fixed samples otherwise,
    and for G), and D* = P_data / (P_data + P_g) per cell, 0.5 where neither has mass.
    """

    step: int
    fake: np.ndarray
    real: np.ndarray
    heatmap: np.ndarray | None
    box: tuple[float, float, float, float]
    heatmap_is_probability: bool
    d_updates: int = 0
    g_updates: int = 0
    loss_name: str = ""
    dim: int = 2                          # data dimension: 1 draws curves instead of a plane
    view_z: np.ndarray | None = None      # the fixed noise of ``fake`` (z -> G(z) lines in 1-D)
    dstar: np.ndarray | None = None       # D* on the heatmap grid (BCE losses only)
    dstar_gap: float | None = None        # mean |D - D*| over the cells, weighted by their mass
    p_data: np.ndarray | None = None      # mean density in each cell (1-D views, D*)
    p_g: np.ndarray | None = None
    arrows: np.ndarray | None = None      # (n, dim) -dL_G/dx at the fakes
    d_field: np.ndarray | None = None     # (k, k, 2) dD/dx over a coarse grid of the box
    manifold: np.ndarray | None = None    # (rows, cols, dim) G over a noise grid
    d_fake: np.ndarray | None = None      # D's output on the fakes (probability or score)
    # image data: (n, C, H, W) in [-1, 1]; labels are class ids (None when unconditional)
    images_fake: np.ndarray | None = None
    images_real: np.ndarray | None = None
    labels_fake: np.ndarray | None = None
    labels_real: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    d_real: np.ndarray | None = None      # D's output on real images (the histogram's other half)
    heat_box: tuple[float, float, float, float] | None = None  # what ``heatmap`` covers (None: box)
    batch_mates: np.ndarray | None = None  # (k, 2, dim): G(z_i) among two sets of batch-mates
    # InfoGAN: the code of each fake (of ``fake``, or of ``images_fake`` for images), ints in
    # 0..codes-1; None when G reads no code
    codes_fake: np.ndarray | None = None
    codes: int = 0                         # K of the code (0: none)

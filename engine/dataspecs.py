"""What each data set *is*, torch-free: its parameters, plotting box, modes and shape.

A front end draws boxes, lists parameters and counts modes without torch; the engine's
samplers (``engine.datasets``, ``engine.imagedata``) register under the same names. Mixture
sets expose their modes (centres and std) so mode metrics and the optimal discriminator can
use the closed-form density.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .params import Param

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Modes:
    """Centres (k, dim) and isotropic std of a Gaussian mixture with equal weights."""

    centers: np.ndarray
    std: float


@dataclass(frozen=True)
class DataSpec:
    name: str
    title: str
    params: dict[str, Param]
    box: Callable[[dict[str, Any]], Box]
    modes: Callable[[dict[str, Any]], Modes | None] = field(default=lambda p: None)
    dim: int = 2  # 1 or 2 for point sets; 0 for images (see ``shape``)
    # image sets: (C, H, W) from the parameters
    shape: Callable[[dict[str, Any]], tuple[int, int, int]] | None = None

    @property
    def is_image(self) -> bool:
        return self.shape is not None

    def data_shape(self, params: dict[str, Any]) -> tuple[int, ...]:
        """One sample's shape: (dim,) for points, (C, H, W) for images."""
        return self.shape(params) if self.shape is not None else (self.dim,)


DATA_SPECS: dict[str, DataSpec] = {}


def _spec(spec: DataSpec) -> DataSpec:
    DATA_SPECS[spec.name] = spec
    return spec


def _square_box(r: float) -> Box:
    return (-r, r, -r, r)


# --- mixtures -----------------------------------------------------------------------------

def ring_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["modes"])
    ang = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(ang), np.sin(ang)], 1) * float(p["radius"])


def grid_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["size"])
    s = float(p["spacing"])
    axis = (np.arange(k) - (k - 1) / 2) * s
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


def gaussian_center(p: dict[str, Any]) -> np.ndarray:
    return np.array([[float(p["mean_x"]), float(p["mean_y"])]])


def line_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["modes"])
    return ((np.arange(k) - (k - 1) / 2) * float(p["spacing"]) + float(p["offset"]))[:, None]


def points_array(p: dict[str, Any]) -> np.ndarray:
    return np.asarray(p["points"], dtype=np.float32).reshape(-1, 2)


def line_xs(p: dict[str, Any]) -> np.ndarray:
    k = int(p["count"])
    return float(p["offset"]) + (np.arange(k) - (k - 1) / 2) * float(p["gap"])


_spec(DataSpec(
    name="ring8",
    title="Ring of Gaussians",
    params={
        "modes": Param("int", 8, lo=1, hi=64, help="number of Gaussians on the circle"),
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="radius of the circle"),
        "std": Param("float", 0.02, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    box=lambda p: _square_box(1.5 * float(p["radius"]) + 3 * float(p["std"])),
    modes=lambda p: Modes(ring_centers(p), float(p["std"])),
))

_spec(DataSpec(
    name="grid25",
    title="Grid of Gaussians",
    params={
        "size": Param("int", 5, lo=2, hi=10, help="modes per side (5 gives 25)"),
        "spacing": Param("float", 2.0, lo=0.1, hi=100.0, help="distance between neighbours"),
        "std": Param("float", 0.05, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    box=lambda p: _square_box((int(p["size"]) - 1) / 2 * float(p["spacing"])
                              + float(p["spacing"]) * 0.75 + 3 * float(p["std"])),
    modes=lambda p: Modes(grid_centers(p), float(p["std"])),
))

_spec(DataSpec(
    name="gaussian",
    title="Single Gaussian",
    params={
        "mean_x": Param("float", 0.0, lo=-100.0, hi=100.0, help="mean, x"),
        "mean_y": Param("float", 0.0, lo=-100.0, hi=100.0, help="mean, y"),
        "std": Param("float", 1.0, lo=0.001, hi=100.0, help="isotropic std"),
    },
    box=lambda p: (float(p["mean_x"]) - 4 * float(p["std"]), float(p["mean_x"]) + 4 * float(p["std"]),
                   float(p["mean_y"]) - 4 * float(p["std"]), float(p["mean_y"]) + 4 * float(p["std"])),
    modes=lambda p: Modes(gaussian_center(p), float(p["std"])),
))


def _mixture1d_box(p: dict[str, Any]) -> Box:
    c = line_centers(p)[:, 0]
    pad = 4 * float(p["std"]) + 1.0
    lo, hi = min(float(c.min()) - pad, -1.0), max(float(c.max()) + pad, 1.0)
    return (lo, hi, 0.0, 1.0)  # 1-D: the y range is D's, a probability


_spec(DataSpec(
    name="mixture1d",
    title="1-D Gaussian mixture",
    params={
        "modes": Param("int", 2, lo=1, hi=16, help="number of Gaussians on the line"),
        "spacing": Param("float", 4.0, lo=0.0, hi=100.0, help="distance between neighbours"),
        "offset": Param("float", 1.0, lo=-100.0, hi=100.0, help="centre of the mixture"),
        "std": Param("float", 0.5, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    box=_mixture1d_box,
    modes=lambda p: Modes(line_centers(p), float(p["std"])),
    dim=1,
))

# --- manifolds ----------------------------------------------------------------------------

_spec(DataSpec(
    name="spiral",
    title="Spiral",
    params={
        "turns": Param("float", 1.5, lo=0.25, hi=6.0, help="number of turns"),
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="outer radius"),
        "noise": Param("float", 0.05, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    box=lambda p: _square_box(1.25 * float(p["radius"]) + 3 * float(p["noise"])),
))

_spec(DataSpec(
    name="moons",
    title="Two moons",
    params={
        "scale": Param("float", 1.5, lo=0.1, hi=100.0, help="overall size"),
        "noise": Param("float", 0.05, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    box=lambda p: _square_box(1.6 * float(p["scale"]) + 3 * float(p["noise"])),
))

_spec(DataSpec(
    name="circles",
    title="Concentric circles",
    params={
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="radius of the outer circle"),
        "factor": Param("float", 0.5, lo=0.0, hi=1.0, help="inner radius / outer radius"),
        "noise": Param("float", 0.03, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    box=lambda p: _square_box(1.4 * float(p["radius"]) + 3 * float(p["noise"])),
))


def _lines_box(p: dict[str, Any]) -> Box:
    xs = line_xs(p)
    half = max(float(p["length"]) / 2, 1.0) * 1.5
    lo = min(-1.0, float(xs.min()) - 1.0)
    hi = max(1.0, float(xs.max()) + 1.0)
    return (lo, hi, -half, half)


_spec(DataSpec(
    name="lines",
    title="Parallel lines (disjoint)",
    params={
        "count": Param("int", 2, lo=1, hi=8, help="number of vertical segments"),
        "gap": Param("float", 1.0, lo=0.0, hi=100.0, help="distance between segments"),
        "length": Param("float", 2.0, lo=0.01, hi=100.0, help="length of each segment"),
        "offset": Param("float", 2.0, lo=-100.0, hi=100.0,
                        help="x of the segments' centre: away from 0 so G starts off the data"),
        "std": Param("float", 0.0, lo=0.0, hi=10.0, help="thickness (std of the jitter)"),
    },
    box=_lines_box,
))

# --- user points (drawn in the app or imported from CSV) ------------------------------------

MAX_POINTS = 20_000  # the most points a drawn or imported set holds


def _points_box(p: dict[str, Any]) -> Box:
    pts = points_array(p)
    lo, hi = pts.min(0), pts.max(0)
    c = (lo + hi) / 2
    r = max(float((hi - lo).max()) / 2 * 1.3, 1.0)
    return (float(c[0] - r), float(c[0] + r), float(c[1] - r), float(c[1] + r))


_spec(DataSpec(
    name="points",
    title="Your own points",
    params={
        "points": Param("points", [[-1.0, 0.0], [1.0, 0.0]], max_len=MAX_POINTS,
                        help="the real points, a list of [x, y]"),
        "std": Param("float", 0.02, lo=0.0, hi=10.0, help="jitter added around each point"),
    },
    box=_points_box,
))

# --- images (engine.imagedata reads them) ----------------------------------------------------

_SIZE_HELP = "image side in pixels (the images are resized to it)"
_IMAGE_BOX: Box = (-1.0, 1.0, -1.0, 1.0)


def _grey(p: dict[str, Any]) -> tuple[int, int, int]:
    return (1, int(p["size"]), int(p["size"]))


_spec(DataSpec(
    name="digits", title="Digits (8×8, scikit-learn)",
    params={"size": Param("int_choice", 16, choices=("8", "16"),
                          help="8 keeps scikit-learn's 8×8 digits; 16 upscales them smoothly")},
    box=lambda p: _IMAGE_BOX, dim=0, shape=_grey,
))

for _name, _title in (("mnist", "MNIST (your files)"),
                      ("fashion-mnist", "Fashion-MNIST (your files)")):
    _spec(DataSpec(
        name=_name, title=_title,
        params={
            "path": Param("path", "", help="folder holding train-images-idx3-ubyte.gz and "
                                           "train-labels-idx1-ubyte.gz, or a .npz (x_train, y_train)"),
            "size": Param("int_choice", 28, choices=("16", "28", "32"), help=_SIZE_HELP),
        },
        box=lambda p: _IMAGE_BOX, dim=0, shape=_grey,
    ))

_spec(DataSpec(
    name="folder", title="Folder of images",
    params={
        "path": Param("path", "", help="a folder of .png/.jpg images; one subfolder per class "
                                       "gives labels"),
        "size": Param("int_choice", 32, choices=("16", "28", "32"), help=_SIZE_HELP),
        "colour": Param("bool", True, help="keep colour (RGB); off reads them as grey"),
    },
    box=lambda p: _IMAGE_BOX, dim=0,
    shape=lambda p: (3 if p["colour"] else 1, int(p["size"]), int(p["size"])),
))

IMAGE_SETS = tuple(n for n, s in DATA_SPECS.items() if s.is_image)

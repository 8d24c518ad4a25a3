"""Toy 2-D data sets, registered by name.

Every sampler draws on the session's device with the session's own ``torch.Generator``,
so a run is reproducible from its seed and the data never crosses the host per step.
Mixture sets also expose their modes (centres and std) so mode metrics and the optimal
discriminator can use the closed-form density.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .params import Param

Draw = Callable[[int, torch.Generator], torch.Tensor]
Maker = Callable[[dict[str, Any], torch.device], Draw]
LabelledDraw = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]]


@dataclass(frozen=True)
class Modes:
    """Centres (k, 2) and isotropic std of a Gaussian mixture with equal weights."""

    centers: np.ndarray
    std: float


@dataclass(frozen=True)
class DataSet:
    name: str
    title: str
    params: dict[str, Param]
    make: Maker  # (params, device) -> draw(n, gen); constants go to the device once, not per step
    box: Callable[[dict[str, Any]], tuple[float, float, float, float]]
    modes: Callable[[dict[str, Any]], Modes | None] = field(default=lambda p: None)
    dim: int = 2  # 1 or 2 for point sets; 0 for images (see ``shape``)
    # image sets (engine.imagedata): (C, H, W) from the parameters, the class count (0:
    # unlabelled), a draw of (images, labels), and a loader that reads and checks the files
    shape: Callable[[dict[str, Any]], tuple[int, int, int]] | None = None
    classes: Callable[[dict[str, Any]], int] = field(default=lambda p: 0)
    make_labelled: Callable[[dict[str, Any], torch.device], LabelledDraw] | None = None
    prepare: Callable[[dict[str, Any]], Any] | None = None

    @property
    def is_image(self) -> bool:
        return self.shape is not None

    def draw_labelled(self, params: dict[str, Any], device: torch.device) -> LabelledDraw:
        """draw(n, gen) -> (x, labels); labels are None for point sets and unlabelled images."""
        if self.make_labelled is not None:
            return self.make_labelled(params, device)
        draw = self.make(params, device)
        return lambda n, gen: (draw(n, gen), None)

    def data_shape(self, params: dict[str, Any]) -> tuple[int, ...]:
        """One sample's shape: (dim,) for points, (C, H, W) for images."""
        return self.shape(params) if self.shape is not None else (self.dim,)

    def sample(self, n: int, params: dict[str, Any], gen: torch.Generator,
               device: torch.device) -> torch.Tensor:
        """One-off draw; the training loop keeps ``make``'s closure instead."""
        return self.make(params, device)(n, gen)


DATASETS: dict[str, DataSet] = {}


def register(ds: DataSet) -> DataSet:
    DATASETS[ds.name] = ds
    return ds


def _randn(n: int, d: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randn(n, d, generator=gen, device=device)


def _rand(n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device)


def _square_box(r: float) -> tuple[float, float, float, float]:
    return (-r, r, -r, r)


# --- mixtures -----------------------------------------------------------------------------

def _ring_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["modes"])
    ang = 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(ang), np.sin(ang)], 1) * float(p["radius"])


def _grid_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["size"])
    s = float(p["spacing"])
    axis = (np.arange(k) - (k - 1) / 2) * s
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


def _mixture_sampler(centers_of: Callable[[dict[str, Any]], np.ndarray]) -> Maker:
    """Equal-weight isotropic Gaussians at ``centers_of(params)`` (k, dim): the mixtures,
    the 1-D mixture and the user's points (a point with jitter is a tiny Gaussian)."""
    def make(p: dict[str, Any], device: torch.device) -> Draw:
        centers = torch.as_tensor(centers_of(p), dtype=torch.float32, device=device)
        std = float(p["std"])
        dim = centers.shape[1]

        def draw(n: int, gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(len(centers), (n,), generator=gen, device=device)
            return centers[idx] + std * _randn(n, dim, gen, device)

        return draw

    return make


register(DataSet(
    name="ring8",
    title="Ring of Gaussians",
    params={
        "modes": Param("int", 8, lo=1, hi=64, help="number of Gaussians on the circle"),
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="radius of the circle"),
        "std": Param("float", 0.02, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    make=_mixture_sampler(_ring_centers),
    box=lambda p: _square_box(1.5 * float(p["radius"]) + 3 * float(p["std"])),
    modes=lambda p: Modes(_ring_centers(p), float(p["std"])),
))

register(DataSet(
    name="grid25",
    title="Grid of Gaussians",
    params={
        "size": Param("int", 5, lo=2, hi=10, help="modes per side (5 gives 25)"),
        "spacing": Param("float", 2.0, lo=0.1, hi=100.0, help="distance between neighbours"),
        "std": Param("float", 0.05, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    make=_mixture_sampler(_grid_centers),
    box=lambda p: _square_box((int(p["size"]) - 1) / 2 * float(p["spacing"]) + float(p["spacing"]) * 0.75
                              + 3 * float(p["std"])),
    modes=lambda p: Modes(_grid_centers(p), float(p["std"])),
))


def _gaussian_make(p: dict[str, Any], device: torch.device) -> Draw:
    mean = torch.tensor([float(p["mean_x"]), float(p["mean_y"])], device=device)
    std = float(p["std"])
    return lambda n, gen: mean + std * _randn(n, 2, gen, device)


register(DataSet(
    name="gaussian",
    title="Single Gaussian",
    params={
        "mean_x": Param("float", 0.0, lo=-100.0, hi=100.0, help="mean, x"),
        "mean_y": Param("float", 0.0, lo=-100.0, hi=100.0, help="mean, y"),
        "std": Param("float", 1.0, lo=0.001, hi=100.0, help="isotropic std"),
    },
    make=_gaussian_make,
    box=lambda p: (float(p["mean_x"]) - 4 * float(p["std"]), float(p["mean_x"]) + 4 * float(p["std"]),
                   float(p["mean_y"]) - 4 * float(p["std"]), float(p["mean_y"]) + 4 * float(p["std"])),
    modes=lambda p: Modes(np.array([[float(p["mean_x"]), float(p["mean_y"])]]), float(p["std"])),
))


# --- 1-D: the picture of the original GAN paper ---------------------------------------------

def _line_centers(p: dict[str, Any]) -> np.ndarray:
    k = int(p["modes"])
    return ((np.arange(k) - (k - 1) / 2) * float(p["spacing"]) + float(p["offset"]))[:, None]


def _mixture1d_box(p: dict[str, Any]) -> tuple[float, float, float, float]:
    c = _line_centers(p)[:, 0]
    pad = 4 * float(p["std"]) + 1.0
    lo, hi = min(float(c.min()) - pad, -1.0), max(float(c.max()) + pad, 1.0)
    return (lo, hi, 0.0, 1.0)  # 1-D: the y range is D's, a probability


register(DataSet(
    name="mixture1d",
    title="1-D Gaussian mixture",
    params={
        "modes": Param("int", 2, lo=1, hi=16, help="number of Gaussians on the line"),
        "spacing": Param("float", 4.0, lo=0.0, hi=100.0, help="distance between neighbours"),
        "offset": Param("float", 1.0, lo=-100.0, hi=100.0, help="centre of the mixture"),
        "std": Param("float", 0.5, lo=0.001, hi=10.0, help="std of each Gaussian"),
    },
    make=_mixture_sampler(_line_centers),
    box=_mixture1d_box,
    modes=lambda p: Modes(_line_centers(p), float(p["std"])),
    dim=1,
))


# --- manifolds ----------------------------------------------------------------------------

def _simple(fn: Callable[[int, dict[str, Any], torch.Generator, torch.device], torch.Tensor]) -> Maker:
    """For sets with no constant tensors: bind the params and device."""
    return lambda p, device: (lambda n, gen: fn(n, p, gen, device))

def _spiral_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    t = torch.sqrt(_rand(n, gen, device))  # uniform along the arc length, roughly
    ang = t * float(p["turns"]) * 2 * math.pi
    r = t * float(p["radius"])
    pts = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], 1)
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


register(DataSet(
    name="spiral",
    title="Spiral",
    params={
        "turns": Param("float", 1.5, lo=0.25, hi=6.0, help="number of turns"),
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="outer radius"),
        "noise": Param("float", 0.05, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    make=_simple(_spiral_sample),
    box=lambda p: _square_box(1.25 * float(p["radius"]) + 3 * float(p["noise"])),
))


def _moons_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    upper = _rand(n, gen, device) < 0.5
    ang = _rand(n, gen, device) * math.pi
    x = torch.where(upper, torch.cos(ang), 1 - torch.cos(ang))
    y = torch.where(upper, torch.sin(ang), 0.5 - torch.sin(ang))
    pts = torch.stack([x - 0.5, y - 0.25], 1) * float(p["scale"])
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


register(DataSet(
    name="moons",
    title="Two moons",
    params={
        "scale": Param("float", 1.5, lo=0.1, hi=100.0, help="overall size"),
        "noise": Param("float", 0.05, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    make=_simple(_moons_sample),
    box=lambda p: _square_box(1.6 * float(p["scale"]) + 3 * float(p["noise"])),
))


def _circles_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    inner = _rand(n, gen, device) < 0.5
    ang = _rand(n, gen, device) * 2 * math.pi
    r = float(p["radius"]) * torch.where(inner, torch.full_like(ang, float(p["factor"])), torch.ones_like(ang))
    pts = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], 1)
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


register(DataSet(
    name="circles",
    title="Concentric circles",
    params={
        "radius": Param("float", 2.0, lo=0.1, hi=100.0, help="radius of the outer circle"),
        "factor": Param("float", 0.5, lo=0.0, hi=1.0, help="inner radius / outer radius"),
        "noise": Param("float", 0.03, lo=0.0, hi=10.0, help="std of the Gaussian jitter"),
    },
    make=_simple(_circles_sample),
    box=lambda p: _square_box(1.4 * float(p["radius"]) + 3 * float(p["noise"])),
))


def _line_xs(p: dict[str, Any]) -> np.ndarray:
    k = int(p["count"])
    return float(p["offset"]) + (np.arange(k) - (k - 1) / 2) * float(p["gap"])


def _lines_make(p: dict[str, Any], device: torch.device) -> Draw:
    xs = torch.as_tensor(_line_xs(p), dtype=torch.float32, device=device)
    length, std = float(p["length"]), float(p["std"])

    def draw(n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(xs), (n,), generator=gen, device=device)
        y = (_rand(n, gen, device) - 0.5) * length
        return torch.stack([xs[idx], y], 1) + std * _randn(n, 2, gen, device)

    return draw


def _lines_box(p: dict[str, Any]) -> tuple[float, float, float, float]:
    xs = _line_xs(p)
    half = max(float(p["length"]) / 2, 1.0) * 1.5
    lo = min(-1.0, float(xs.min()) - 1.0)
    hi = max(1.0, float(xs.max()) + 1.0)
    return (lo, hi, -half, half)


register(DataSet(
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
    make=_lines_make,
    box=_lines_box,
))


# --- user points (drawn in the app or imported from CSV) ------------------------------------

def _points_array(p: dict[str, Any]) -> np.ndarray:
    return np.asarray(p["points"], dtype=np.float32).reshape(-1, 2)


def _points_box(p: dict[str, Any]) -> tuple[float, float, float, float]:
    pts = _points_array(p)
    lo, hi = pts.min(0), pts.max(0)
    c = (lo + hi) / 2
    r = max(float((hi - lo).max()) / 2 * 1.3, 1.0)
    return (float(c[0] - r), float(c[0] + r), float(c[1] - r), float(c[1] + r))


register(DataSet(
    name="points",
    title="Your own points",
    params={
        "points": Param("points", [[-1.0, 0.0], [1.0, 0.0]], help="the real points, a list of [x, y]"),
        "std": Param("float", 0.02, lo=0.0, hi=10.0, help="jitter added around each point"),
    },
    make=_mixture_sampler(_points_array),
    box=_points_box,
))




def load_points_csv(path: str) -> list[list[float]]:
    """Read 2-D points from a CSV (x, y per row; a header row is skipped). Raises ValueError."""
    import csv

    pts: list[list[float]] = []
    try:
        with open(path, newline="") as f:
            for i, row in enumerate(csv.reader(f)):
                cells = [c.strip() for c in row if c.strip() != ""]
                if not cells:
                    continue
                try:
                    vals = [float(c) for c in cells[:2]]
                except ValueError:
                    if i == 0 and not pts:
                        continue  # header
                    raise ValueError(f"{path}: line {i + 1} is not two numbers: {row!r}") from None
                if len(vals) < 2:
                    raise ValueError(f"{path}: line {i + 1} has {len(vals)} column(s); need x,y")
                if not all(math.isfinite(v) for v in vals):
                    raise ValueError(f"{path}: line {i + 1} holds a non-finite number")
                pts.append(vals)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None
    if len(pts) < 1:
        raise ValueError(f"{path}: no points found (expected rows of x,y)")
    return pts


# image sets register themselves next to the point sets (they import this module's DataSet)
from . import imagedata as _imagedata  # noqa: E402,F401

"""Samplers of the data sets, registered under the names of ``engine.dataspecs``.

Every sampler draws on the session's device with the session's own ``torch.Generator``,
so a run is reproducible from its seed and the data never crosses the host per step. What a
set *is* (parameters, box, modes, shape) lives torch-free in ``engine.dataspecs``; a
``DataSet`` here adds how to draw it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .dataspecs import (
    DATA_SPECS,
    DataSpec,
    Modes,
    grid_centers,
    line_centers,
    line_xs,
    points_array,
    ring_centers,
)
from .pointfiles import load_points_csv

Draw = Callable[[int, torch.Generator], torch.Tensor]
Maker = Callable[[dict[str, Any], torch.device], Draw]
LabelledDraw = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]]


@dataclass(frozen=True)
class DataSet:
    """A data set's spec (``engine.dataspecs``) and its sampler on a device."""

    spec: DataSpec
    make: Maker  # (params, device) -> draw(n, gen); constants go to the device once, not per step
    # image sets (engine.imagedata): the class count (0: unlabelled), a draw of (images,
    # labels), and a loader that reads and checks the files
    classes: Callable[[dict[str, Any]], int] = lambda p: 0
    make_labelled: Callable[[dict[str, Any], torch.device], LabelledDraw] | None = None
    prepare: Callable[..., Any] | None = None

    name = property(lambda self: self.spec.name)
    title = property(lambda self: self.spec.title)
    params = property(lambda self: self.spec.params)
    box = property(lambda self: self.spec.box)
    modes = property(lambda self: self.spec.modes)
    dim = property(lambda self: self.spec.dim)
    shape = property(lambda self: self.spec.shape)
    is_image = property(lambda self: self.spec.is_image)

    def data_shape(self, params: dict[str, Any]) -> tuple[int, ...]:
        return self.spec.data_shape(params)

    def draw_labelled(self, params: dict[str, Any], device: torch.device) -> LabelledDraw:
        """draw(n, gen) -> (x, labels); labels are None for point sets and unlabelled images."""
        if self.make_labelled is not None:
            return self.make_labelled(params, device)
        draw = self.make(params, device)
        return lambda n, gen: (draw(n, gen), None)

    def sample(self, n: int, params: dict[str, Any], gen: torch.Generator,
               device: torch.device) -> torch.Tensor:
        """One-off draw; the training loop keeps ``make``'s closure instead."""
        return self.make(params, device)(n, gen)


DATASETS: dict[str, DataSet] = {}


def register(name: str, make: Maker, **image: Any) -> DataSet:
    ds = DataSet(DATA_SPECS[name], make, **image)
    DATASETS[name] = ds
    return ds


def _randn(n: int, d: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randn(n, d, generator=gen, device=device)


def _rand(n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device)


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


def _gaussian_make(p: dict[str, Any], device: torch.device) -> Draw:
    mean = torch.tensor([float(p["mean_x"]), float(p["mean_y"])], device=device)
    std = float(p["std"])
    return lambda n, gen: mean + std * _randn(n, 2, gen, device)


def _simple(fn: Callable[[int, dict[str, Any], torch.Generator, torch.device], torch.Tensor]) -> Maker:
    """For sets with no constant tensors: bind the params and device."""
    return lambda p, device: (lambda n, gen: fn(n, p, gen, device))


def _spiral_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    t = torch.sqrt(_rand(n, gen, device))  # uniform along the arc length, roughly
    ang = t * float(p["turns"]) * 2 * math.pi
    r = t * float(p["radius"])
    pts = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], 1)
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


def _moons_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    upper = _rand(n, gen, device) < 0.5
    ang = _rand(n, gen, device) * math.pi
    x = torch.where(upper, torch.cos(ang), 1 - torch.cos(ang))
    y = torch.where(upper, torch.sin(ang), 0.5 - torch.sin(ang))
    pts = torch.stack([x - 0.5, y - 0.25], 1) * float(p["scale"])
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


def _circles_sample(n: int, p: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    inner = _rand(n, gen, device) < 0.5
    ang = _rand(n, gen, device) * 2 * math.pi
    r = float(p["radius"]) * torch.where(inner, torch.full_like(ang, float(p["factor"])), torch.ones_like(ang))
    pts = torch.stack([r * torch.cos(ang), r * torch.sin(ang)], 1)
    return pts + float(p["noise"]) * _randn(n, 2, gen, device)


def _lines_make(p: dict[str, Any], device: torch.device) -> Draw:
    xs = torch.as_tensor(line_xs(p), dtype=torch.float32, device=device)
    length, std = float(p["length"]), float(p["std"])

    def draw(n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(xs), (n,), generator=gen, device=device)
        y = (_rand(n, gen, device) - 0.5) * length
        return torch.stack([xs[idx], y], 1) + std * _randn(n, 2, gen, device)

    return draw


register("ring8", _mixture_sampler(ring_centers))
register("grid25", _mixture_sampler(grid_centers))
register("gaussian", _gaussian_make)
register("mixture1d", _mixture_sampler(line_centers))
register("spiral", _simple(_spiral_sample))
register("moons", _simple(_moons_sample))
register("circles", _simple(_circles_sample))
register("lines", _lines_make)
register("points", _mixture_sampler(points_array))

# image sets register themselves next to the point sets (they import this module's register)
from . import imagedata as _imagedata  # noqa: E402,F401

__all__ = ["DATASETS", "DataSet", "Modes", "register", "load_points_csv"]

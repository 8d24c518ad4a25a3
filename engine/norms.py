"""Normalization layers by name (GAN_REFERENCE.md, "Normalization").

``reference`` and ``virtual`` need a fixed reference batch R. The owning network prepends R
to every input, so R passes through exactly the same layers with the current weights on
every step; each layer here then sees ``m = ref_count`` reference rows on top of the
minibatch. That is why their outputs for an example do not depend on the rest of its
minibatch, while plain ``batch`` norm's do.

Every layer works on features (N, C) and on convolutional maps (N, C, H, W) alike: the
statistics of a channel are taken over the batch *and* the spatial positions, as in
convolutional batch norm, so one class serves the MLPs and the DCGAN networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .catalogue import NORM_INFO, NormInfo

EPS = 1e-5


def _affine(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """gamma * h + beta per channel (dim 1), for (N, C) and (N, C, H, W) alike."""
    shape = (1, -1) + (1,) * (h.dim() - 2)
    return h * weight.view(shape) + bias.view(shape)


def _dims(h: torch.Tensor) -> tuple[int, ...]:
    """The dims one channel's statistics run over: the batch and any spatial dims."""
    return (0, *range(2, h.dim()))


class BatchNorm(nn.Module):
    """Batch norm over the current minibatch only (no running averages, no eval mode).

    A GAN playground always wants the training-time behaviour, including for views, and a
    batch of one must not raise: its variance is 0 and it maps to beta.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        dims = _dims(h)
        mean = h.mean(dims, keepdim=True)
        var = h.var(dims, unbiased=False, keepdim=True)
        return _affine((h - mean) * torch.rsqrt(var + EPS), self.weight, self.bias)


class ReferenceNorm(nn.Module):
    """Reference (``virtual=False``) or virtual (``virtual=True``) batch norm.

    The first ``ref_count`` rows of the input are the reference batch R; it is normalised
    with its own statistics. Reference norm normalises the other rows with R's statistics;
    virtual norm normalises each row x_i with the statistics of R with x_i added.
    Gradients flow through R's statistics.
    """

    def __init__(self, width: int, ref_count: int, virtual: bool) -> None:
        super().__init__()
        self.ref_count = ref_count
        self.virtual = virtual
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        m = self.ref_count
        ref, x = h[:m], h[m:]
        dims = _dims(h)
        mean_r = ref.mean(dims, keepdim=True)
        meansq_r = (ref * ref).mean(dims, keepdim=True)
        var_r = (meansq_r - mean_r * mean_r).clamp_min(0)
        ref_out = (ref - mean_r) * torch.rsqrt(var_r + EPS)
        if self.virtual:
            # x_i's share of the virtual batch: its own mean over the spatial positions
            # (itself, for features), weighted 1/(m+1) against R's m/(m+1)
            own = tuple(range(2, h.dim()))
            x_mean = x.mean(own, keepdim=True) if own else x
            x_meansq = (x * x).mean(own, keepdim=True) if own else x * x
            w_new = 1.0 / (m + 1)
            w_ref = m / (m + 1)
            mean = w_new * x_mean + w_ref * mean_r
            meansq = w_new * x_meansq + w_ref * meansq_r
            var = (meansq - mean * mean).clamp_min(0)
            x_out = (x - mean) * torch.rsqrt(var + EPS)
        else:
            x_out = (x - mean_r) * torch.rsqrt(var_r + EPS)
        return _affine(torch.cat([ref_out, x_out], 0), self.weight, self.bias)


class ChannelLayerNorm(nn.Module):
    """Layer norm for convolutional maps: each example over all its channels and positions
    (GroupNorm with one group), with a per-channel gamma and beta."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.norm(h)


@dataclass(frozen=True)
class Norm:
    """A normalization's facts (``engine.catalogue.NormInfo``) and its layer builders."""

    info: NormInfo
    build: Callable[[int, int], nn.Module]  # (width, ref_count) -> layer
    build_conv: Callable[[int, int], nn.Module] | None = None  # the same for (N, C, H, W) maps

    name = property(lambda self: self.info.name)
    title = property(lambda self: self.info.title)
    needs_reference = property(lambda self: self.info.needs_reference)
    spectral = property(lambda self: self.info.spectral)  # a weight parametrization

    def layer(self, width: int, ref_count: int, conv: bool = False) -> nn.Module:
        """The layer for ``width`` features or channels; only layer norm differs in conv form."""
        if conv and self.build_conv is not None:
            return self.build_conv(width, ref_count)
        return self.build(width, ref_count)


_BUILDERS: dict[str, tuple[Callable[[int, int], nn.Module], Callable[[int, int], nn.Module] | None]] = {
    "none": (lambda w, m: nn.Identity(), None),
    "batch": (lambda w, m: BatchNorm(w), None),
    "reference": (lambda w, m: ReferenceNorm(w, m, virtual=False), None),
    "virtual": (lambda w, m: ReferenceNorm(w, m, virtual=True), None),
    "layer": (lambda w, m: nn.LayerNorm(w), lambda w, m: ChannelLayerNorm(w)),
    "spectral": (lambda w, m: nn.Identity(), None),
}

NORMS: dict[str, Norm] = {name: Norm(NORM_INFO[name], *b) for name, b in _BUILDERS.items()}

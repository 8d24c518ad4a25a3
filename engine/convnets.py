"""DCGAN-style networks for images (Radford et al. 2016), sized to the resolution.

G maps z (and a one-hot label) through a linear layer to a small map of ``base`` x ``base``
pixels, then doubles it with 4x4 stride-2 transposed convolutions until it reaches the
image size; D mirrors it with 4x4 stride-2 convolutions. ``width`` is the channel count at
the finest hidden resolution (doubling towards the coarse end, as in DCGAN), ``depth`` the
convolutions per resolution (1: plain DCGAN; more adds 3x3 stride-1 layers). Every norm of
``engine.norms`` works here in its convolutional form; like DCGAN, D's first layer and G's
output layer have none.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .networks import ACTIVATIONS, Conditioned, minibatch_layer
from .norms import NORMS


def stages(size: int) -> tuple[int, int]:
    """(base, number of doublings) for an image side: 8 -> (4, 1), 16 -> (4, 2),
    28 -> (7, 2), 32 -> (4, 3). Sides that do not halve down to 3..7 pixels are refused."""
    n = 0
    while size % 2 == 0 and size > 7:
        size //= 2
        n += 1
    if n == 0 or size < 3:
        raise ValueError(f"DCGAN: cannot size a network for {size << n}-pixel images; "
                         "allowed: sides like 8, 16, 28, 32, 64")
    return size, n


def _block(layers: list[nn.Module], norm: str, ref_count: int, width: int,
           activation: str) -> None:
    layers.append(NORMS[norm].layer(width, ref_count, conv=True))
    layers.append(ACTIVATIONS[activation]())


class DCGANGenerator(Conditioned):
    """z (and a one-hot label, and a one-hot InfoGAN code) through a linear layer to a small
    map, then transposed convolutions up to the image size."""

    def __init__(self, noise_dim: int, shape: tuple[int, int, int], width: int, depth: int,
                 activation: str, norm: str, ref_count: int = 0, classes: int = 0,
                 codes: int = 0) -> None:
        super().__init__()
        spec = NORMS[norm]
        channels, size, _ = shape
        self.out_shape = shape
        self.base, n = stages(size)
        self.codes = self.code_input = codes
        self._init_reference(ref_count if spec.needs_reference else 0, (noise_dim,), classes)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 16 px: [2w, w]
        self.c0 = widths[0]
        self.fc = nn.Linear(noise_dim + classes + codes, self.c0 * self.base * self.base)
        self.fc_norm = NORMS[norm].layer(self.c0, self.ref_count, conv=True)
        self.fc_act = ACTIVATIONS[activation]()
        layers: list[nn.Module] = []
        for i, c in enumerate(widths):
            for _ in range(depth - 1):
                layers.append(nn.Conv2d(c, c, 3, 1, 1))
                _block(layers, norm, self.ref_count, c, activation)
            last = i == n - 1
            out = channels if last else widths[i + 1]
            layers.append(nn.ConvTranspose2d(c, out, 4, 2, 1))
            if not last:
                _block(layers, norm, self.ref_count, out, activation)
        self.body = nn.Sequential(*layers)
        self.minibatch = None
        self.q_head = None
        if spec.spectral:
            for mod in [self.fc, *self.body]:
                if isinstance(mod, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                    spectral_norm(mod)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        h, y = self._with_reference(z, y)
        if self.classes:
            h = torch.cat([h, self._one_hot(y, h)], 1)
        if self.code_input:
            h = torch.cat([h, self._code_one_hot(c, h)], 1)
        h = self.fc(h).view(-1, self.c0, self.base, self.base)
        h = self.body(self.fc_act(self.fc_norm(h)))
        if self.ref_count:
            h = h[self.ref_count:]
        return torch.tanh(h)


class DCGANDiscriminator(Conditioned):
    """Strided convolutions down to ``base`` pixels, then (minibatch features and) a linear
    output. A conditional D reads its label as K constant one-hot planes next to the image.
    With InfoGAN codes, the head Q maps the last convolution's features to the code logits."""

    def __init__(self, shape: tuple[int, int, int], width: int, depth: int, activation: str,
                 norm: str, ref_count: int = 0, minibatch: str = "none", mb_kernels: int = 50,
                 mb_dim: int = 5, classes: int = 0, codes: int = 0) -> None:
        super().__init__()
        self.codes = codes
        spec = NORMS[norm]
        channels, size, _ = shape
        base, n = stages(size)
        self._init_reference(ref_count if spec.needs_reference else 0, shape, classes)
        widths = [width * 2 ** i for i in range(n)]  # e.g. 16 px: [w, 2w]
        layers: list[nn.Module] = [nn.Conv2d(channels + classes, widths[0], 4, 2, 1),
                                   ACTIVATIONS[activation]()]
        for i in range(n):
            c = widths[i]
            for _ in range(depth - 1):
                layers.append(nn.Conv2d(c, c, 3, 1, 1))
                _block(layers, norm, self.ref_count, c, activation)
            if i < n - 1:
                layers.append(nn.Conv2d(c, widths[i + 1], 4, 2, 1))
                _block(layers, norm, self.ref_count, widths[i + 1], activation)
        self.body = nn.Sequential(*layers)
        feat = widths[-1] * base * base
        self.q_head = nn.Linear(feat, codes) if codes else None
        self.minibatch = minibatch_layer(minibatch, feat, mb_kernels, mb_dim)
        if self.minibatch is not None:
            feat = self.minibatch.out_features
        self.out = nn.Linear(feat, 1)
        if spec.spectral:
            for mod in [*self.body, self.out]:
                if isinstance(mod, nn.Linear | nn.Conv2d):
                    spectral_norm(mod)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, *,
                with_q: bool = False) -> Any:
        h, y = self._with_reference(x, y)
        if self.classes:
            planes = self._one_hot(y, h)[:, :, None, None].expand(-1, -1, *h.shape[2:])
            h = torch.cat([h, planes], 1)
        h = self.body(h)
        if self.ref_count:
            h = h[self.ref_count:]
        features = h = h.flatten(1)
        if self.minibatch is not None:
            h = self.minibatch(h)
        out = self.out(h)
        return (out, self._q(features)) if with_q else out


def build_dcgan(which: str, net_cfg: dict[str, Any], shape: tuple[int, int, int],
                noise_dim: int, classes: int, codes: int = 0) -> nn.Module:
    common = dict(width=int(net_cfg["width"]), depth=int(net_cfg["depth"]),
                  activation=net_cfg["activation"], norm=net_cfg["norm"],
                  ref_count=int(net_cfg["ref_size"]), classes=classes, codes=codes)
    if which == "generator":
        return DCGANGenerator(noise_dim, shape, **common)
    return DCGANDiscriminator(shape, minibatch=net_cfg.get("minibatch", "none"),
                              mb_kernels=int(net_cfg.get("mb_kernels", 50)),
                              mb_dim=int(net_cfg.get("mb_dim", 5)), **common)

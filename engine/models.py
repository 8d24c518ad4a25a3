"""One builder from a config to either network, whatever its architecture.

The session, generator checkpoints and the benchmark's plain loop all build G and D here,
so a saved generator always comes back as exactly the network that was trained.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .convnets import build_dcgan
from .datasets import DATASETS
from .networks import build_mlp


def class_count(cfg: dict[str, Any]) -> int:
    """Classes the networks are conditioned on (0: unconditional)."""
    if not cfg["conditional"]:
        return 0
    return DATASETS[cfg["data"]["name"]].classes(cfg["data"])


def build_network(which: str, cfg: dict[str, Any], classes: int | None = None) -> nn.Module:
    """``which`` is "generator" or "discriminator"; built on the CPU with torch's RNG.
    ``classes`` overrides the count read from the data (a checkpoint stores its own, so a
    conditional generator loads where its image folder is not)."""
    ds = DATASETS[cfg["data"]["name"]]
    shape = ds.data_shape(cfg["data"])
    classes = class_count(cfg) if classes is None else classes
    noise_dim = cfg["noise"]["dim"]
    codes = code_count(cfg)
    if cfg[which]["arch"] == "dcgan":
        return build_dcgan(which, cfg[which], shape, noise_dim, classes, codes)
    if which == "generator":
        return build_mlp(noise_dim, math.prod(shape), cfg["generator"], classes=classes,
                         out_shape=shape if ds.is_image else None, codes=codes)
    return build_mlp(math.prod(shape), 1, cfg["discriminator"], minibatch=True, classes=classes,
                     codes=codes, q_head=True)


def code_count(cfg: dict[str, Any]) -> int:
    """K of the InfoGAN code G reads and D's head Q predicts (0: no code). A config from
    before codes existed has none."""
    return int(cfg["generator"].get("codes", 0))


def code_tensor(codes: Any, n: int, k: int, device: torch.device) -> torch.Tensor | None:
    """InfoGAN codes for ``n`` fakes: None without a code; by default the codes in turn
    (0, 1, ..., K-1, 0, ...); else one code for all or one per sample, checked."""
    if not k:
        if codes is not None:
            raise ValueError("codes: this generator reads no code (set generator.codes > 0)")
        return None
    if codes is None:
        return torch.arange(n, device=device) % k
    arr = np.asarray(codes)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if (arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer)
            or arr.min() < 0 or arr.max() >= k):
        shown = arr.tolist() if arr.size < 8 else f"shape {arr.shape}"
        raise ValueError(f"codes: expected one code in 0..{k - 1} or {n} of them, got {shown}")
    return torch.as_tensor(arr.astype(np.int64), device=device)


def label_tensor(labels: Any, n: int, classes: int, device: torch.device) -> torch.Tensor | None:
    """Class labels for ``n`` fakes: None when unconditional; by default the classes in
    turn; else one class for all or one per sample, checked."""
    if not classes:
        if labels is not None:
            raise ValueError("labels: this generator is not conditional (set conditional=true "
                             "on a labelled data set)")
        return None
    if labels is None:
        return torch.arange(n, device=device) % classes
    arr = np.asarray(labels)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if (arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer)
            or arr.min() < 0 or arr.max() >= classes):
        shown = arr.tolist() if arr.size < 8 else f"shape {arr.shape}"
        raise ValueError(f"labels: expected one class in 0..{classes - 1} or {n} of them, "
                         f"got {shown}")
    return torch.as_tensor(arr.astype(np.int64), device=device)

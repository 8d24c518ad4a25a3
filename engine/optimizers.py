"""Optimizers by name. Learning rate, betas and momentum change in place (state kept);
changing the optimizer kind rebuilds it (state reset), as DESIGN.md's swap table says."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

Builder = Callable[[Iterable[torch.nn.Parameter], dict[str, Any]], torch.optim.Optimizer]

OPTIMIZERS: dict[str, Builder] = {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c["lr"], betas=tuple(c["betas"])),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"]),
    "rmsprop": lambda params, c: torch.optim.RMSprop(params, lr=c["lr"], momentum=c["momentum"]),
}


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    return OPTIMIZERS[cfg["name"]](params, cfg)


def update_hyperparameters(opt: torch.optim.Optimizer, cfg: dict[str, Any]) -> None:
    """Apply lr / betas / momentum to a live optimizer without touching its state."""
    for group in opt.param_groups:
        group["lr"] = cfg["lr"]
        if "betas" in group:
            group["betas"] = tuple(cfg["betas"])
        if "momentum" in group:
            group["momentum"] = cfg["momentum"]

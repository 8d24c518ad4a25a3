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
    ensure_state(opt)


def ensure_state(opt: torch.optim.Optimizer) -> None:
    """Give every parameter that already has state what the current settings read.

    RMSprop creates its momentum buffer only on the first step, and only when momentum was
    on then: momentum turned on mid-run (a documented swap) would otherwise fail with a
    KeyError on every later step. A zero buffer is what the first step would have made.
    """
    if not isinstance(opt, torch.optim.RMSprop):
        return
    for group in opt.param_groups:
        if group["momentum"] <= 0:
            continue
        for p in group["params"]:
            state = opt.state.get(p)
            if state and "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)

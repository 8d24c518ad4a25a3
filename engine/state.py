"""The objects a swap may replace, grouped so a swap builds them all before committing."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Nets:
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer

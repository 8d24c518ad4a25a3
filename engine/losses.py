"""GAN losses as in GAN_REFERENCE.md, computed from raw discriminator outputs (logits/scores).

Each loss is a small record of pure functions, looked up by name: the training step never
branches on the loss name, so adding a loss is adding one entry here and its facts in
``engine.catalogue``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .catalogue import LOSS_INFO, LossInfo, generator_loss_curve

Tensor = torch.Tensor


@dataclass(frozen=True)
class LossSettings:
    """The loss knobs from the config, frozen so a step sees one consistent set."""

    real_label: float = 1.0  # 1 - alpha (label smoothing)
    fake_label: float = 0.0  # beta
    clip: float = 0.01       # WGAN weight clipping bound c
    gp_weight: float = 1.0   # WGAN-GP lambda


@dataclass(frozen=True)
class Loss:
    """A loss's facts (``engine.catalogue.LossInfo``) and its two functions."""

    info: LossInfo
    d_loss: Callable[[Tensor, Tensor, LossSettings], Tensor]
    g_loss: Callable[[Tensor], Tensor]

    name = property(lambda self: self.info.name)
    title = property(lambda self: self.info.title)
    probability = property(lambda self: self.info.probability)
    uses_labels = property(lambda self: self.info.uses_labels)
    clips = property(lambda self: self.info.clips)
    penalty = property(lambda self: self.info.penalty)


def bce(logits: Tensor, target: float) -> Tensor:
    """Mean BCE against a constant target, in logits: t*sp(-l) + (1-t)*sp(l)."""
    return (target * F.softplus(-logits) + (1.0 - target) * F.softplus(logits)).mean()


def _bce_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return bce(l_real, s.real_label) + bce(l_fake, s.fake_label)


def _wgan_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return l_fake.mean() - l_real.mean()


def _lsgan_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return 0.5 * ((l_real - 1) ** 2).mean() + 0.5 * (l_fake**2).mean()


def _hinge_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return F.relu(1 - l_real).mean() + F.relu(1 + l_fake).mean()


_FUNCTIONS: dict[str, tuple[Callable[..., Tensor], Callable[[Tensor], Tensor]]] = {
    "minimax": (_bce_d, lambda l_fake: -F.softplus(l_fake).mean()),
    "non-saturating": (_bce_d, lambda l_fake: F.softplus(-l_fake).mean()),
    "wgan": (_wgan_d, lambda l_fake: -l_fake.mean()),
    "wgan-gp": (_wgan_d, lambda l_fake: -l_fake.mean()),
    "least-squares": (_lsgan_d, lambda l_fake: 0.5 * ((l_fake - 1) ** 2).mean()),
    "hinge": (_hinge_d, lambda l_fake: -l_fake.mean()),
}

LOSSES: dict[str, Loss] = {name: Loss(LOSS_INFO[name], *fns) for name, fns in _FUNCTIONS.items()}


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     gen: torch.Generator | None = None) -> Tensor:
    """E[(||grad_x l(x_hat)||_2 - 1)^2] at x_hat = x_real + a (x_fake - x_real), a ~ U[0,1] per sample."""
    real = real.detach()
    fake = fake.detach()
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=gen, device=real.device, dtype=real.dtype)
    x_hat = (real + alpha * (fake - real)).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


@torch.no_grad()
def clip_weights(module: torch.nn.Module, c: float) -> None:
    """WGAN: clamp every critic parameter to [-c, c] (one fused call per step)."""
    params = [p for p in module.parameters()]
    if params:
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


__all__ = ["LOSSES", "Loss", "LossSettings", "bce", "clip_weights", "gradient_penalty",
           "generator_loss_curve"]

"""GAN losses as in GAN_REFERENCE.md, computed from raw discriminator outputs (logits/scores).

Each loss is a small record of pure functions, looked up by name: the training step never
branches on the loss name, so adding a loss is adding one entry here and its facts in
``engine.catalogue``. The terms any loss can take on top (R1/R2 gradient penalties, the
InfoGAN code term) and moment matching's MMD, which needs no D at all, live here too.
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
    r1: float = 0.0          # R1 gamma (real data), any loss
    r2: float = 0.0          # R2 gamma (fakes), any loss
    info_weight: float = 1.0  # InfoGAN lambda
    bandwidths: tuple[float, ...] = ()  # MMD's RBF bandwidths, in data units


SampleLoss = Callable[[Tensor, Tensor, LossSettings], Tensor]


@dataclass(frozen=True)
class Loss:
    """A loss's facts (``engine.catalogue.LossInfo``) and its two functions."""

    info: LossInfo
    d_loss: Callable[[Tensor, Tensor, LossSettings], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    # a loss on samples rather than on D's output (MMD): G minimises samples(fake, real, s)
    samples: SampleLoss | None = None

    name = property(lambda self: self.info.name)
    title = property(lambda self: self.info.title)
    probability = property(lambda self: self.info.probability)
    uses_labels = property(lambda self: self.info.uses_labels)
    clips = property(lambda self: self.info.clips)
    penalty = property(lambda self: self.info.penalty)
    trains_d = property(lambda self: self.info.trains_d)


def bce(logits: Tensor, target: float) -> Tensor:
    """Mean BCE against a constant target, in logits: t*sp(-l) + (1-t)*sp(l), computed as
    sp(l) - t*l (the same, as sp(-l) = sp(l) - l) and as one softplus for the hard targets
    0 and 1: every operator is a kernel launch per step, which a GPU training small
    networks pays in full."""
    if target == 1.0:
        return F.softplus(-logits).mean()
    if target == 0.0:
        return F.softplus(logits).mean()
    return (F.softplus(logits) - target * logits).mean()


def _bce_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return bce(l_real, s.real_label) + bce(l_fake, s.fake_label)


def _wgan_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return l_fake.mean() - l_real.mean()


def _lsgan_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return 0.5 * ((l_real - 1) ** 2).mean() + 0.5 * (l_fake**2).mean()


def _hinge_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    return F.relu(1 - l_real).mean() + F.relu(1 + l_fake).mean()


def _no_d(l_real: Tensor, l_fake: Tensor, s: LossSettings) -> Tensor:
    raise RuntimeError("this loss trains no discriminator")


def rbf_mixture(a: Tensor, b: Tensor, bandwidths: tuple[float, ...]) -> Tensor:
    """k(a_i, b_j) = sum over bandwidths s of exp(-|a_i - b_j|^2 / (2 s^2)), (len(a), len(b));
    rows are flattened (images compare pixel by pixel)."""
    a, b = a.flatten(1), b.flatten(1)
    d2 = ((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.t()).clamp_min(0)
    scales = torch.tensor([-0.5 / (s * s) for s in bandwidths], dtype=d2.dtype, device=d2.device)
    # exponents below -80 only make float32 denormals (e^-80 ~ 2e-35 adds nothing to the
    # sum), which a CPU computes ten times slower: stop there
    return torch.exp((d2[None] * scales[:, None, None]).clamp_min(-80.0)).sum(0)


def _mean_off_diagonal(k: Tensor) -> Tensor:
    n = k.shape[0]
    if n < 2:  # no pairs: the term is absent
        return k.new_zeros(())
    return (k.sum() - k.diagonal().sum()) / (n * (n - 1))


def mmd2_unbiased(x: Tensor, y: Tensor, bandwidths: tuple[float, ...]) -> Tensor:
    """The unbiased MMD^2 between samples x (n) and y (m) with the RBF mixture kernel:
    mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean k(x_i, y_j). A term with
    fewer than two samples (no pairs) is left out."""
    x, y = x.float(), y.float()
    with torch.set_grad_enabled(torch.is_grad_enabled() and y.requires_grad):
        yy = _mean_off_diagonal(rbf_mixture(y, y, bandwidths))
    return (_mean_off_diagonal(rbf_mixture(x, x, bandwidths)) + yy
            - 2 * rbf_mixture(x, y, bandwidths).mean())


def _mmd_samples(fake: Tensor, real: Tensor, s: LossSettings) -> Tensor:
    return mmd2_unbiased(fake, real.detach(), s.bandwidths)


_FUNCTIONS: dict[str, tuple[Callable[..., Tensor], Callable[[Tensor], Tensor]]] = {
    "minimax": (_bce_d, lambda l_fake: -F.softplus(l_fake).mean()),
    "non-saturating": (_bce_d, lambda l_fake: F.softplus(-l_fake).mean()),
    "wgan": (_wgan_d, lambda l_fake: -l_fake.mean()),
    "wgan-gp": (_wgan_d, lambda l_fake: -l_fake.mean()),
    "least-squares": (_lsgan_d, lambda l_fake: 0.5 * ((l_fake - 1) ** 2).mean()),
    "hinge": (_hinge_d, lambda l_fake: -l_fake.mean()),
    # G's loss does not read D: zero against D's output (what the views' arrows see)
    "mmd": (_no_d, lambda l_fake: 0.0 * l_fake.sum()),
}
_SAMPLES: dict[str, SampleLoss] = {"mmd": _mmd_samples}

LOSSES: dict[str, Loss] = {name: Loss(LOSS_INFO[name], *fns, samples=_SAMPLES.get(name))
                           for name, fns in _FUNCTIONS.items()}


def input_gradient_sq(out: Tensor, x: Tensor) -> Tensor:
    """E ||grad_x out(x)||^2 (squared norm over all non-batch dims, mean over the batch), as a
    differentiable term: ``x`` must require grad and ``out`` be computed from it."""
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def r_penalty(gamma: float, out: Tensor, x: Tensor) -> Tensor:
    """R1 (x real) or R2 (x fake), Mescheder et al. 2018: (gamma/2) E||grad_x D(x)||^2 of D's
    raw output (logit or score)."""
    return 0.5 * gamma * input_gradient_sq(out, x)


def info_loss(q_logits: Tensor, codes: Tensor) -> Tensor:
    """InfoGAN's term before lambda: the mean cross-entropy CE(Q(G(z, c)), c). log K minus it
    is a lower bound on the mutual information I(c; G(z, c))."""
    return F.cross_entropy(q_logits.float(), codes)


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
    """WGAN: clamp every critic parameter to [-c, c] (one fused call per step). The InfoGAN
    head Q is no part of the critic's output, so it is left alone."""
    params = [p for name, p in module.named_parameters() if not name.startswith("q_head.")]
    if params:
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


__all__ = ["LOSSES", "Loss", "LossSettings", "bce", "clip_weights", "gradient_penalty",
           "generator_loss_curve", "info_loss", "input_gradient_sq", "mmd2_unbiased",
           "r_penalty", "rbf_mixture"]

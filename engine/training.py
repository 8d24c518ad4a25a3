"""One training iteration, as the seeds write it: k discriminator steps (a fresh real batch,
fresh z, G's output detached), then the generator's steps on fresh z.

Per-step figures (losses, mean D outputs, gradient norms) stay on the device as tensors;
the session stacks and fetches them in bulk at its next health check, so a CUDA step never
waits on the host.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .datasets import DATASETS, LabelledDraw
from .losses import LOSSES, Loss, LossSettings, clip_weights, gradient_penalty
from .networks import double_backward

if TYPE_CHECKING:
    from .session import Session


@dataclass(frozen=True)
class StepSettings:
    """What a step reads from the config, derived once per change rather than per step."""

    loss: Loss
    loss_settings: LossSettings
    draw_real: LabelledDraw
    classes: int
    autocast: bool
    batch_size: int
    d_steps: int
    g_steps: int
    log_every: int
    metrics_every: int
    g_params: tuple[torch.Tensor, ...]
    d_params: tuple[torch.Tensor, ...]


def step_settings(cfg: dict[str, Any], generator: torch.nn.Module,
                  discriminator: torch.nn.Module, device: torch.device) -> StepSettings:
    lc, tc = cfg["loss"], cfg["train"]
    return StepSettings(
        loss=LOSSES[lc["name"]],
        loss_settings=LossSettings(lc["real_label"], lc["fake_label"], lc["clip"], lc["gp_weight"]),
        draw_real=DATASETS[cfg["data"]["name"]].draw_labelled(cfg["data"], device),
        classes=int(generator.classes),
        autocast=tc["precision"] == "bf16",
        batch_size=tc["batch_size"], d_steps=tc["d_steps"], g_steps=tc["g_steps"],
        log_every=tc["log_every"], metrics_every=tc["metrics_every"],
        g_params=tuple(generator.parameters()), d_params=tuple(discriminator.parameters()),
    )


def noise(n: int, cfg: dict[str, Any], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """z for ``n`` fakes: N(0, I), or uniform on [-1, 1]."""
    dim = cfg["noise"]["dim"]
    if cfg["noise"]["dist"] == "uniform":
        return torch.rand(n, dim, generator=gen, device=device) * 2 - 1
    return torch.randn(n, dim, generator=gen, device=device)


def precision(st: StepSettings, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast around the networks when asked for; losses stay in fp32."""
    if st.autocast:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def grad_norm(params: tuple[torch.Tensor, ...], device: torch.device) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=device)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def d_update(s: Session) -> tuple[torch.Tensor, ...]:
    """One discriminator step; returns (loss, mean D(real), mean D(fake), grad norm)."""
    st, n, dev = s._steps, s._nets, s.device
    bs = st.batch_size
    real, y = st.draw_real(bs, s._rng)
    y = y if st.classes else None  # a conditional D sees fakes with real labels
    with precision(st, dev):
        with torch.no_grad():
            fake = n.generator(noise(bs, s._cfg, s._rng, dev), y)
        l_real = n.discriminator(real, y).float()
        l_fake = n.discriminator(fake, y).float()
    ls = st.loss_settings
    loss = st.loss.d_loss(l_real, l_fake, ls)
    if st.loss.penalty and ls.gp_weight > 0:
        def critic(x: torch.Tensor) -> torch.Tensor:
            with precision(st, dev), double_backward(n.discriminator):
                return n.discriminator(x, y).float()

        loss = loss + ls.gp_weight * gradient_penalty(critic, real, fake.float(), s._rng)
    n.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = grad_norm(st.d_params, dev)
    n.opt_d.step()
    if st.loss.clips:
        clip_weights(n.discriminator, ls.clip)
    with torch.no_grad():
        if st.loss.probability:
            dr, df = torch.sigmoid(l_real).mean(), torch.sigmoid(l_fake).mean()
        else:
            dr, df = l_real.mean(), l_fake.mean()
    return loss.detach(), dr, df, gnorm


def g_update(s: Session) -> tuple[torch.Tensor, torch.Tensor]:
    """One generator step; returns (loss, grad norm). D's weights get no gradient: G's step
    does not need them, and computing them would waste a backward pass."""
    st, n, dev = s._steps, s._nets, s.device
    bs = st.batch_size
    n.discriminator.requires_grad_(False)
    try:
        y = (torch.randint(st.classes, (bs,), generator=s._rng, device=dev)
             if st.classes else None)
        with precision(st, dev):
            l_fake = n.discriminator(n.generator(noise(bs, s._cfg, s._rng, dev), y), y).float()
        loss = st.loss.g_loss(l_fake)
        n.opt_g.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        n.discriminator.requires_grad_(True)
    gnorm = grad_norm(st.g_params, dev)
    n.opt_g.step()
    return loss.detach(), gnorm

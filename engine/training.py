"""One training iteration, as the seeds write it: k discriminator steps (a fresh real batch,
fresh z, G's output detached), then the generator's steps on fresh z.

On top of every loss: R1/R2 gradient penalties and instance noise in D's steps (Mescheder
et al. 2018), InfoGAN's code term in both players' steps. A network whose learning rate is
0 is frozen: its step is not run at all (``StepSettings.d_trains``/``g_trains``); so is D
under a loss that trains none (MMD, where G matches the data's moments directly).

Per-step figures (losses, mean D outputs, gradient norms) stay on the device, raw
(``engine.figures``); the session reduces and fetches them in bulk at its next health check,
so a CUDA step never waits on the host and launches no kernel for its bookkeeping beyond one
fused gradient norm per network.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .datasets import DATASETS, LabelledDraw
from .figures import DFigures, GFigures, grad_norms
from .losses import (
    LOSSES,
    Loss,
    LossSettings,
    clip_weights,
    gradient_penalty,
    info_loss,
    r_penalty,
)
from .models import code_count
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
    d_trains: bool = True       # D's steps run (lr > 0 and a loss that trains D)
    g_trains: bool = True       # G's steps run (lr > 0)
    codes: int = 0              # InfoGAN code size K (0: none)
    info: bool = False          # the InfoGAN term is on (codes, lambda > 0, D trained)
    noise_std: float = 0.0      # instance noise sigma when set
    noise_steps: int = 0        # its linear anneal (0: constant)


MMD_SCALE_SAMPLES = 4096


def data_scale(draw: LabelledDraw, device: torch.device) -> float:
    """The data's scale: its RMS distance from its mean, from a fixed draw (2 for ring8)."""
    gen = torch.Generator(device).manual_seed(0)
    x = draw(MMD_SCALE_SAMPLES, gen)[0].flatten(1).float()
    scale = float((x - x.mean(0)).pow(2).sum(1).mean().sqrt())
    return scale if scale > 1e-6 else 1.0


def step_settings(cfg: dict[str, Any], generator: torch.nn.Module,
                  discriminator: torch.nn.Module, device: torch.device) -> StepSettings:
    lc, tc, dc = cfg["loss"], cfg["train"], cfg["data"]
    loss = LOSSES[lc["name"]]
    draw = DATASETS[cfg["data"]["name"]].draw_labelled(cfg["data"], device)
    scale = data_scale(draw, device) if loss.samples is not None else 1.0
    codes = code_count(cfg)
    d_trains = loss.trains_d and cfg["optim"]["d"]["lr"] > 0
    return StepSettings(
        loss=loss,
        loss_settings=LossSettings(
            lc["real_label"], lc["fake_label"], lc["clip"], lc["gp_weight"],
            r1=lc.get("r1", 0.0), r2=lc.get("r2", 0.0), info_weight=lc.get("info_weight", 1.0),
            bandwidths=tuple(scale * b for b in lc.get("mmd_bandwidths", ()))),
        draw_real=draw,
        classes=int(generator.classes),
        autocast=tc["precision"] == "bf16",
        batch_size=tc["batch_size"], d_steps=tc["d_steps"], g_steps=tc["g_steps"],
        log_every=tc["log_every"], metrics_every=tc["metrics_every"],
        g_params=tuple(generator.parameters()), d_params=tuple(discriminator.parameters()),
        d_trains=d_trains, g_trains=cfg["optim"]["g"]["lr"] > 0, codes=codes,
        info=bool(codes) and loss.trains_d and lc.get("info_weight", 1.0) > 0,
        noise_std=dc.get("instance_noise", 0.0), noise_steps=dc.get("instance_noise_steps", 0),
    )


def instance_noise_std(std: float, steps: int, elapsed: int) -> float:
    """Instance noise after ``elapsed`` iterations since it was set: ``std`` throughout when
    ``steps`` is 0, else a linear anneal, std * (1 - elapsed / steps), reaching 0 at
    ``steps`` and staying there."""
    if std <= 0:
        return 0.0
    if steps <= 0:
        return std
    return std * max(0.0, 1.0 - max(elapsed, 0) / steps)


def _with_noise(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def random_codes(n: int, st: StepSettings, gen: torch.Generator,
                 device: torch.device) -> torch.Tensor | None:
    """c ~ Cat(K) uniform for ``n`` fakes (None without a code)."""
    if not st.codes:
        return None
    return torch.randint(st.codes, (n,), generator=gen, device=device)


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


def _penalised(net: torch.nn.Module, on: bool) -> contextlib.AbstractContextManager[Any]:
    """A D whose input gradient enters the loss (R1/R2) must be twice differentiable."""
    return double_backward(net) if on else contextlib.nullcontext()


def d_update(s: Session, figures: bool = True) -> DFigures | None:
    """One discriminator step; returns what its logged row is made of (``engine.figures``),
    or None when ``figures`` is False (a step no row shows costs nothing more)."""
    st, n, dev = s._steps, s._nets, s.device
    bs = st.batch_size
    real, y = st.draw_real(bs, s._rng)
    y = y if st.classes else None  # a conditional D sees fakes with real labels
    c = random_codes(bs, st, s._rng, dev)
    with precision(st, dev):
        with torch.no_grad():
            fake = n.generator(noise(bs, s._cfg, s._rng, dev), y, c)
    sigma = s.instance_noise
    real, fake = _with_noise(real, sigma, s._rng), _with_noise(fake.float(), sigma, s._rng)
    ls = st.loss_settings
    r1, r2 = ls.r1 > 0, ls.r2 > 0
    if r1:
        real = real.detach().requires_grad_(True)
    if r2:
        fake = fake.detach().requires_grad_(True)
    q = None
    with precision(st, dev):
        with _penalised(n.discriminator, r1):
            l_real = n.discriminator(real, y).float()
        with _penalised(n.discriminator, r2):
            if st.info:
                l_fake, q = n.discriminator(fake, y, with_q=True)
            else:
                l_fake = n.discriminator(fake, y)
            l_fake = l_fake.float()
    loss = st.loss.d_loss(l_real, l_fake, ls)
    if r1:
        loss = loss + r_penalty(ls.r1, l_real, real)
    if r2:
        loss = loss + r_penalty(ls.r2, l_fake, fake)
    if q is not None:
        loss = loss + ls.info_weight * info_loss(q, c)
    if st.loss.penalty and ls.gp_weight > 0:
        def critic(x: torch.Tensor) -> torch.Tensor:
            with precision(st, dev), double_backward(n.discriminator):
                return n.discriminator(x, y).float()

        loss = loss + ls.gp_weight * gradient_penalty(critic, real, fake, s._rng)
    n.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    norms = grad_norms(st.d_params) if figures else ()
    n.opt_d.step()
    if st.loss.clips:
        clip_weights(n.discriminator, ls.clip)
    if not figures:
        return None
    return DFigures(loss.detach(), l_real.detach(), l_fake.detach(), st.loss.probability, norms)


def g_update(s: Session, figures: bool = True) -> GFigures | None:
    """One generator step; returns what its logged row is made of (None: not asked). D's weights get no gradient: G's step
    does not need them, and computing them would waste a backward pass. Under a loss on
    samples (MMD) D is not run at all: G's fakes are compared with a fresh real batch."""
    st, n, dev = s._steps, s._nets, s.device
    bs = st.batch_size
    if st.loss.samples is not None:
        real = st.draw_real(bs, s._rng)[0]
        y = (torch.randint(st.classes, (bs,), generator=s._rng, device=dev)
             if st.classes else None)
        c = random_codes(bs, st, s._rng, dev)
        with precision(st, dev):
            fake = n.generator(noise(bs, s._cfg, s._rng, dev), y, c)
        loss = st.loss.samples(fake.float(), real, st.loss_settings)
        n.opt_g.zero_grad(set_to_none=True)
        loss.backward()
    else:
        for p in st.d_params:  # not Module.requires_grad_: it walks the module tree
            p.requires_grad_(False)
        try:
            y = (torch.randint(st.classes, (bs,), generator=s._rng, device=dev)
                 if st.classes else None)
            c = random_codes(bs, st, s._rng, dev)
            with precision(st, dev):
                fake = n.generator(noise(bs, s._cfg, s._rng, dev), y, c)
            fake = _with_noise(fake.float(), s.instance_noise, s._rng)
            with precision(st, dev):
                if st.info:
                    l_fake, q = n.discriminator(fake, y, with_q=True)
                else:
                    l_fake, q = n.discriminator(fake, y), None
            loss = st.loss.g_loss(l_fake.float())
            if q is not None:
                loss = loss + st.loss_settings.info_weight * info_loss(q, c)
            n.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            for p in st.d_params:
                p.requires_grad_(True)
    norms = grad_norms(st.g_params) if figures else ()
    n.opt_g.step()
    return GFigures(loss.detach(), norms) if figures else None

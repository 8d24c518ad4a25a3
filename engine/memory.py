"""How much memory a configuration needs to train, estimated before anything is allocated.

A valid but huge network (widths of 1024 at every layer of a 32-pixel DCGAN, a batch of
65,536 through minibatch discrimination) must be refused with its size, not discovered by
the allocator halfway through building it; and a forged config inside a small checkpoint
must not make the loader allocate gigabytes before it refuses. So every session build,
every swap and every checkpoint load first calls ``check_memory``.

The estimate: parameters counted exactly on the ``meta`` device (no memory, no init), times
(weights + gradients + optimizer state); plus activations of one step, counted per sample
from the architecture and scaled by the batch (the reference batch included); plus minibatch
discrimination's (kernels x batch x batch) distance tables. It aims to be within a factor of
two, which is all a guard against thousand-fold mistakes needs.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from typing import Any

import torch

from .convnets import stages
from .dataspecs import DATA_SPECS
from .models import build_network, class_count, code_count

ENV_LIMIT = "GAN_PLAYGROUND_MEMORY_LIMIT"
FLOAT = 4
OPT_STATE = {"adam": 2, "sgd": 1, "rmsprop": 2}


@dataclass(frozen=True)
class Estimate:
    params_g: int
    params_d: int
    state: int        # floats of weights, gradients and optimizer state of both networks
    activations: int  # floats of one training step's activations (both networks)
    minibatch: int    # floats of minibatch discrimination's distance tables

    @property
    def bytes(self) -> int:
        return FLOAT * (self.state + self.activations + self.minibatch)


def _count_params(which: str, cfg: dict[str, Any], classes: int) -> int:
    probe = copy.deepcopy(cfg)
    if probe[which]["norm"] == "spectral":
        # the same weights; spectral norm's power iteration on meta tensors would cost a
        # second of one-off imports, and its two vectors per layer are negligible
        probe[which]["norm"] = "none"
    with torch.device("meta"):
        net = build_network(which, probe, classes=classes)
    return sum(p.numel() for p in net.parameters()) + sum(b.numel() for b in net.buffers())


def _mlp_activations(widths: list[int], io: int) -> int:
    return io + 4 * sum(widths)  # linear, norm and activation outputs, kept for backward


def _dcgan_activations(which: str, net: dict[str, Any], shape: tuple[int, ...]) -> int:
    channels, size = shape[0], shape[1]
    base, n = stages(size)
    width, depth = int(net["width"]), int(net["depth"])
    total = channels * size * size
    for i in range(n):
        # G: stage i at base * 2**i pixels with width * 2**(n-1-i) channels; D mirrors it
        side = base * 2 ** i if which == "generator" else size // 2 ** (i + 1)
        c = width * 2 ** (n - 1 - i) if which == "generator" else width * 2 ** i
        total += 4 * depth * c * side * side
    return total


def estimate(cfg: dict[str, Any]) -> Estimate:
    ds = DATA_SPECS[cfg["data"]["name"]]
    shape = ds.data_shape(cfg["data"])
    classes = class_count(cfg) if cfg["conditional"] else 0
    batch = cfg["train"]["batch_size"]
    acts = 0
    for which in ("generator", "discriminator"):
        net = cfg[which]
        rows = batch + (net["ref_size"] if net["norm"] in ("reference", "virtual") else 0)
        if net["arch"] == "dcgan":
            per = _dcgan_activations(which, net, shape)
        else:
            io = math.prod(shape) + cfg["noise"]["dim"] + classes + code_count(cfg)
            per = _mlp_activations(list(net["hidden"]), io)
        # D sees a real and a fake batch per step, G's step runs both networks
        acts += per * rows * (2 if which == "discriminator" else 1)
    mb = 0
    d = cfg["discriminator"]
    if d["minibatch"] == "discrimination":
        per_table = d["mb_kernels"] * batch * batch
        mb = 3 * per_table * (d["mb_dim"] if cfg["loss"]["name"] == "wgan-gp" else 1)
    pg = _count_params("generator", cfg, classes)
    pd = _count_params("discriminator", cfg, classes)
    state = sum(n * (2 + OPT_STATE[cfg["optim"][w]["name"]]) for n, w in ((pg, "g"), (pd, "d")))
    return Estimate(pg, pd, state, acts, mb)


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def parse_size(text: str) -> int:
    """"512M", "8G", "1.5GB" or a plain number of bytes."""
    t = text.strip().upper().removesuffix("B")
    scale = 1
    for suffix, mult in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suffix):
            t, scale = t[:-1], mult
            break
    value = float(t)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return int(value * scale)


def memory_limit(device: str = "cpu") -> tuple[int, str]:
    """(bytes, where the figure comes from): ``GAN_PLAYGROUND_MEMORY_LIMIT`` when set, else
    half of this machine's memory (80% of the GPU's for CUDA)."""
    env = os.environ.get(ENV_LIMIT, "").strip()
    if env:
        try:
            return parse_size(env), f"{ENV_LIMIT}={env}"
        except ValueError:
            pass
    if device.startswith("cuda") and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        return int(0.8 * total), "80% of the GPU's memory"
    total = machine_memory()
    if total <= 0:
        return 64 << 30, "a default of 64 GB"
    return total // 2, "half of this machine's memory"


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def check_memory(cfg: dict[str, Any], device: str = "cpu") -> Estimate:
    """Refuse (ValueError, one line) a configuration that would not fit; else the estimate."""
    est = estimate(cfg)
    limit, source = memory_limit(device)
    if est.bytes > limit:
        parts = [f"G {est.params_g:,} and D {est.params_d:,} parameters"]
        if est.minibatch > est.activations:
            parts.append("minibatch discrimination over a batch of "
                         f"{cfg['train']['batch_size']:,}")
        raise ValueError(
            f"these networks would need about {human(est.bytes)} to train ({', '.join(parts)}); "
            f"the limit is {human(limit)} ({source}): use smaller widths, fewer layers or a "
            f"smaller batch, or raise {ENV_LIMIT}")
    return est


def check_samples(n: int, per_sample: int, copies: int = 1, device: str = "cpu") -> None:
    """Refuse (one-line ValueError) ``n`` samples of ``per_sample`` floats each when they
    would not fit (``copies``: how many times they are held at once, e.g. on the device
    and as numpy; ``device``: where one of them is, whose limit counts too). ``n`` may be
    as large as 10**7, and 10**7 colour images of 32x32 are 120 GB: the allocator would
    end the process (or CUDA fail in many lines) instead of saying so."""
    need = n * per_sample * FLOAT * copies
    limit, source = min([memory_limit()] + ([memory_limit(device)] if device != "cpu" else []))
    if need > limit:
        most = max(1, limit // max(1, per_sample * FLOAT * copies))
        raise ValueError(f"n: {n:,} samples of {per_sample:,} values need about {human(need)}; "
                         f"the limit is {human(limit)} ({source}): draw at most {most:,} at a "
                         "time (a different seed for each batch)")

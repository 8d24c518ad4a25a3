"""The project's speed benchmark: the engine's training step against a plain PyTorch loop.

    python -m engine.bench [--preset ring8 dcgan_digits] [--rounds 12] [--seconds 0.6]
                           [--device auto] [--threads N] [--precision fp32|bf16]
                           [--batch-size N]

In one process it alternates rounds of ``Session.train`` with rounds of a hand-written loop
(the seeds' loop: D step on real + detached fake, then G step) of the same model, loss, batch
size and optimizers, and prints steps/s of each and their ratio (median over rounds). The
engine's bookkeeping (logging, grad norms, NaN checks, swap checks) should cost nothing
measurable: the target is a ratio >= 0.95. Alternating rounds cancels slow drifts of a
shared machine; the median discards rounds another process disturbed. For image presets
it also reports images per second (real images through D per second: steps/s x batch x k).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .models import build_network
from .optimizers import build_optimizer
from .presets import load_preset
from .session import Session, resolve_device


def plain_loop(cfg: dict[str, Any], device: torch.device) -> Callable[[int], None]:
    """A hand-written loop of the preset's model (BCE losses only: the benchmark's reference).
    Its data draw is the engine's own (a device tensor indexed per step for images), so the
    ratio measures the engine's bookkeeping, not a different data path."""
    from .datasets import DATASETS

    ds = DATASETS[cfg["data"]["name"]]
    torch.manual_seed(cfg["seed"])
    G = build_network("generator", cfg).to(device)
    D = build_network("discriminator", cfg).to(device)
    opt_g = build_optimizer(G.parameters(), cfg["optim"]["g"])
    opt_d = build_optimizer(D.parameters(), cfg["optim"]["d"])
    gen = torch.Generator(device).manual_seed(cfg["seed"])
    bs, zdim, k = cfg["train"]["batch_size"], cfg["noise"]["dim"], cfg["train"]["d_steps"]
    draw = ds.make(cfg["data"], device)
    ones = torch.ones(bs, 1, device=device)
    zeros = torch.zeros(bs, 1, device=device)
    nonsat = cfg["loss"]["name"] == "non-saturating"
    amp = cfg["train"]["precision"] == "bf16"

    def autocast() -> Any:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)

    def run(steps: int) -> None:
        for _ in range(steps):
            for _ in range(k):
                real = draw(bs, gen)
                with autocast():
                    fake = G(torch.randn(bs, zdim, generator=gen, device=device)).detach()
                    d_loss = (F.binary_cross_entropy_with_logits(D(real).float(), ones)
                              + F.binary_cross_entropy_with_logits(D(fake).float(), zeros))
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
            with autocast():
                out = D(G(torch.randn(bs, zdim, generator=gen, device=device))).float()
            g_loss = (F.binary_cross_entropy_with_logits(out, ones) if nonsat
                      else -F.binary_cross_entropy_with_logits(out, zeros))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return run


def engine_loop(cfg: dict[str, Any]) -> Callable[[int], None]:
    s = Session(cfg)

    def run(steps: int) -> None:
        s.train(steps)
        if s.device.type == "cuda":
            torch.cuda.synchronize()

    return run


def rate(fn: Callable[[int], None], steps: int) -> float:
    t0 = time.perf_counter()
    fn(steps)
    return steps / (time.perf_counter() - t0)


def calibrate(fn: Callable[[int], None], seconds: float) -> int:
    """Steps that take about ``seconds`` (after a warm-up)."""
    fn(20)
    r = rate(fn, 50)
    return max(20, int(r * seconds))


def compare(contenders: dict[str, Callable[[int], None]], rounds: int,
            seconds: float) -> dict[str, list[float]]:
    """Steps/s of each contender per round; the order rotates every round so that a slow
    drift of a shared machine hits them all alike."""
    names = list(contenders)
    steps = calibrate(contenders[names[0]], seconds)
    for name in names[1:]:
        calibrate(contenders[name], seconds)
    rates: dict[str, list[float]] = {n: [] for n in names}
    for i in range(rounds):
        order = names[i % len(names):] + names[: i % len(names)]
        for name in order:
            rates[name].append(rate(contenders[name], steps))
    return rates


def _train_for(s: Session, seconds: float) -> float:
    """Steps/s of one ``train`` call that runs ``seconds``, as ``main.py --headless`` and a
    script train (one call: a health check every 32 iterations; many short calls would
    add one at the end of each)."""
    t0, start = time.perf_counter(), s.step
    s.train(10**9, deadline=t0 + seconds)
    return (s.step - start) / (time.perf_counter() - t0)


def serve_rates(cfg: dict[str, Any]) -> None:
    """Steps/s of ``Session.train`` for slices on demand: each line on stdin is a number of
    seconds to train, answered by a JSON line. ``gui.bench`` alternates these slices with
    the window's, a few seconds apart, so a shared machine's drift hits both alike."""
    s = Session(cfg)
    s.train(20)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        print(json.dumps({"steps_per_second": _train_for(s, float(line))}), flush=True)


def _ratio(a: list[float], b: list[float]) -> str:
    r = [x / y for x, y in zip(a, b)]
    return (f"{statistics.median(r):.3f} (median of per-round ratios; "
            f"min {min(r):.3f}, max {max(r):.3f})")


def bench_preset(preset: str, a: argparse.Namespace) -> None:
    cfg = load_preset(preset)
    cfg["device"] = a.device
    cfg["conditional"] = False  # the plain loop is the unconditional seeds' loop
    if a.precision:
        cfg["train"]["precision"] = a.precision
    if a.batch_size is not None:
        cfg["train"]["batch_size"] = a.batch_size
    device = resolve_device(a.device)
    if cfg["loss"]["name"] not in ("minimax", "non-saturating"):
        raise SystemExit("the plain reference loop covers the BCE losses; pick such a preset")
    quiet = copy.deepcopy(cfg)
    quiet["train"]["metrics_every"] = 0
    rates = compare({"plain": plain_loop(cfg, device), "engine": engine_loop(quiet),
                     "engine+metrics": engine_loop(cfg)}, a.rounds, a.seconds)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    med = {k: statistics.median(v) for k, v in rates.items()}
    every = cfg["train"]["metrics_every"]
    bs = cfg["train"]["batch_size"]
    print(f"preset {preset}, batch {bs}, {cfg['train']['precision']}, device {name}, "
          f"{a.rounds} rounds")
    print(f"  plain PyTorch loop        : {med['plain']:8.1f} steps/s (median)")
    print(f"  engine Session            : {med['engine']:8.1f} steps/s (median; slow metrics off)")
    print(f"  engine + metrics every {every:<4}: {med['engine+metrics']:8.1f} steps/s (median; the preset as is)")
    print(f"  ratio engine / plain      : {_ratio(rates['engine'], rates['plain'])}; target >= 0.95")
    print(f"  ratio metrics on / off    : {_ratio(rates['engine+metrics'], rates['engine'])}; "
          "target >= 0.95")
    from .datasets import DATASETS

    if DATASETS[cfg["data"]["name"]].is_image:
        per_step = bs * cfg["train"]["d_steps"]
        print(f"  images/s (real through D) : plain {med['plain'] * per_step:,.0f}, "
              f"engine {med['engine'] * per_step:,.0f}, "
              f"engine + metrics {med['engine+metrics'] * per_step:,.0f}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m engine.bench", description=__doc__.splitlines()[0])
    p.add_argument("--preset", nargs="+", default=["ring8", "dcgan_digits"],
                   help="built-in presets or paths, benchmarked one after the other")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--seconds", type=float, default=0.6, help="length of one round")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--precision", default=None, choices=("fp32", "bf16"),
                   help="override the presets' train.precision (bf16: mixed precision)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="override the presets' batch size; a tiny one (4) makes the CPU bound "
                        "by per-operator overhead, as a GPU is by kernel launches")
    p.add_argument("--rate-slices", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.batch_size is not None and a.batch_size < 1:
        p.error(f"--batch-size: must be at least 1, got {a.batch_size}")
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.rate_slices:
        serve_rates(load_preset(a.preset[0]))
        return
    for preset in a.preset:
        bench_preset(preset, a)


if __name__ == "__main__":
    main()

"""Does a training step ever wait for the device? Count it with ``torch.profiler``.

    python -m engine.sync_audit [--preset ring8 dcgan_digits wgan_gp ...] [--device auto]
                                [--steps 16] [--json]

On a GPU every device-to-host copy (``.item()``, ``float(t)``, ``bool(t)``, ``.cpu()``)
and every stream synchronisation stalls the host until the queued kernels have run, so a
training loop that does one per step runs at the speed of its slowest round trip instead
of keeping the GPU fed. The session is built to avoid them: a step's figures stay on the
device and the health check fetches them in one transfer every ``CHECK_EVERY``
iterations. This audit shows it, per preset: it profiles ``--steps`` iterations between
two health checks and counts, per iteration,

* ``dtoh``: device-to-host copies the GPU ran (CUDA only),
* ``syncs``: stream, device and event synchronisations the host called (CUDA only),
* ``sync_ops``: operators that must read a value on the host (``aten::_local_scalar_dense``
  behind ``.item()``/``float()``/``bool()``, ``aten::nonzero`` ...). These are counted on
  the CPU too, where they cost nothing but predict a stall on a GPU: the CPU test suite
  uses this to keep the step free of them without a GPU. torch.optim's reads of its own
  step counters are counted apart (``host_counters``): those tensors stay on the host.

On a GPU, ``dtoh`` and ``syncs`` are the measure: host-reading operators there also count
reads of tensors that live on the host (torch.optim's step counters, read from C++ in its
foreach path), which copy nothing. It then profiles one health check (which is allowed its
transfers). On CUDA it also runs the iterations under
``torch.cuda.set_sync_debug_mode("warn")`` and prints where each synchronising call came
from.
"""

from __future__ import annotations

import argparse
import copy
import json
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from .presets import load_preset
from .rollback import CHECK_EVERY
from .session import Session

# Operators that read a tensor's value on the host: on a GPU each one waits for the device.
SYNC_OPS = frozenset({
    "aten::_local_scalar_dense",  # .item(), float(t), int(t), bool(t), if t: ...
    "aten::nonzero", "aten::nonzero_static", "aten::masked_select", "aten::unique",
    "aten::_unique2", "aten::unique_consecutive", "aten::unique_dim",
})
SYNC_CALLS = frozenset({"cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize"})


@dataclass(frozen=True)
class Counts:
    """Events of one profiled stretch (totals, not per iteration)."""

    dtoh: int = 0
    syncs: int = 0
    sync_ops: int = 0
    ops: dict[str, int] = field(default_factory=dict)  # which SYNC_OPS, how often
    host_counters: int = 0  # the optimizers' step counters, which live on the host


@dataclass(frozen=True)
class Audit:
    preset: str
    device: str
    steps: int
    step: Counts        # the iterations between two health checks
    check: Counts       # one health check
    sync_sites: tuple[str, ...] = ()  # file:line of each synchronising call (CUDA, warn mode)

    def per_step(self) -> dict[str, float]:
        return {k: getattr(self.step, k) / self.steps for k in ("dtoh", "syncs", "sync_ops")}


def count_events(fn: Callable[[], Any], cuda: bool) -> Counts:
    """Run ``fn`` under the profiler and count the events that mean the host waited."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities, with_stack=True) as prof:
        fn()
        if cuda:
            torch.cuda.synchronize()  # so every kernel of ``fn`` is in the trace
    dtoh = syncs = counters = 0
    ops: Counter[str] = Counter()
    for e in prof.events():
        name = e.name
        if name in SYNC_OPS and _reads_host_counter(e):
            counters += 1
        elif name in SYNC_OPS:
            ops[name] += 1
        elif "Memcpy DtoH" in name:
            dtoh += 1
        elif name in SYNC_CALLS:
            syncs += 1
    return Counts(dtoh=dtoh, syncs=syncs, sync_ops=sum(ops.values()), ops=dict(ops),
                  host_counters=counters)


def _reads_host_counter(event: Any) -> bool:
    """True for torch.optim's read of its step counter (``_get_value``): a tensor kept on
    the host unless the optimizer is capturable, so reading it never waits for a GPU."""
    p = event.cpu_parent
    while p is not None:
        if "torch/optim/" in p.name:  # _get_value, or the foreach path's own reads
            return True
        p = p.cpu_parent
    return False


def stretch_counts(fn: Callable[[], Any], cuda: bool) -> Counts:
    """``count_events`` of ``fn`` less the copies and syncs of an empty stretch: the
    profiler's own start and stop synchronise on a GPU, and that is not the step's doing
    (an empty stretch runs no operator, so the operator counts stand as they are)."""
    got, empty = count_events(fn, cuda), count_events(lambda: None, cuda)
    return replace(got, dtoh=got.dtoh - empty.dtoh, syncs=got.syncs - empty.syncs)


def _sync_sites(s: Session, steps: int) -> tuple[str, ...]:
    """Where the iterations synchronise, as reported by CUDA's sync debug mode."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            s.train(steps, check=False)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return tuple(sorted({f"{w.filename}:{w.lineno}" for w in caught
                         if "synchroniz" in str(w.message)}))


def audit(cfg: dict[str, Any], preset: str = "?", steps: int = 16) -> Audit:
    """Profile ``steps`` iterations between health checks, then one health check.

    The slow metrics are switched off (they are evaluation on a cadence, not the step) and
    ``steps`` must leave the stretch short of the next automatic check."""
    if not 0 < steps < CHECK_EVERY:
        raise ValueError(f"steps must be between 1 and {CHECK_EVERY - 1} (one stretch between "
                         f"health checks), got {steps}")
    cfg = copy.deepcopy(cfg)
    cfg["train"]["metrics_every"] = 0
    s = Session(cfg)
    s.train(CHECK_EVERY + 1)  # warm up (lazy allocations, cuDNN choices), end on a check
    s.flush()
    cuda = s.device.type == "cuda"
    step = stretch_counts(lambda: s.train(steps, check=False), cuda)
    check = stretch_counts(s.flush, cuda)
    sites = _sync_sites(s, steps) if cuda else ()
    s.flush()
    return Audit(preset=preset, device=str(s.device), steps=steps, step=step, check=check,
                 sync_sites=sites)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m engine.sync_audit",
                                description=__doc__.splitlines()[0])
    p.add_argument("--preset", nargs="+",
                   default=["ring8", "dcgan_digits", "dcgan_digits_conditional", "wgan_gp",
                            "r1_ring8", "infogan_ring8"])
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--json", action="store_true", help="one JSON object per preset")
    a = p.parse_args(argv)
    for name in a.preset:
        cfg = load_preset(name)
        cfg["device"] = a.device
        r = audit(cfg, name, a.steps)
        if a.json:
            print(json.dumps({**asdict(r), "per_step": r.per_step()}))
            continue
        ps = r.per_step()
        print(f"{name:<26} {r.device:<7} per iteration: dtoh {ps['dtoh']:.2f}, syncs "
              f"{ps['syncs']:.2f}, host-reading ops {ps['sync_ops']:.2f} ({r.steps} iterations)"
              f" | one health check: dtoh {r.check.dtoh}, syncs {r.check.syncs}, "
              f"host-reading ops {r.check.sync_ops}")
        for op, n in sorted(r.step.ops.items()):
            print(f"    in the iterations: {op} x{n}")
        for site in r.sync_sites:
            print(f"    synchronises at {site}")


if __name__ == "__main__":
    main()

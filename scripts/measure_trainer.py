"""Measurements for the trainer's new settings (issues 13 and 14); not part of the tests.

    python scripts/measure_trainer.py mmd [--steps N] [--set key=value ...]
    python scripts/measure_trainer.py infogan [--steps N] [--set key=value ...]
    python scripts/measure_trainer.py r1 [--steps N] [--set key=value ...]

mmd: modes captured (of 8) on ring8 every --every steps, with wall time; the first step at
which 6 and 8 modes are reached.
infogan: ring8 with generator.codes = 8; the mutual-information bound log K - CE against
log 8, and per code the mode most of its samples land on (and that share); counts the codes
whose majority (> 50%) lands on a mode no other code claims.
r1: ring8 with and without loss.r1 from the same seed: modes and high-quality share over
time, and how much the high-quality share swings late in the run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Session, load_preset  # noqa: E402
from engine.config import parse_assignment, with_changes  # noqa: E402


def session(base: str, sets: list[str], extra: dict) -> Session:
    changes = {"device": "cpu", "train.metrics_every": 0, **extra}
    changes.update(dict(parse_assignment(a) for a in sets))
    return Session(with_changes(load_preset(base), changes))


def modes_of(s: Session) -> np.ndarray:
    return np.asarray(s.dataset.modes(s.config["data"]).centers)


def measure_mmd(args: argparse.Namespace) -> None:
    s = session(args.preset, args.set, {"loss.name": "mmd"})
    t0 = time.perf_counter()
    first: dict[int, tuple[int, float]] = {}
    for _ in range(args.every, args.steps + 1, args.every):
        s.train(args.every)
        el = time.perf_counter() - t0
        m = s.mode_stats(2500)
        print(f"step {s.step:5d}  {el:6.1f}s  modes {m.captured}/{m.total}  "
              f"HQ {m.high_quality:.3f}  mode KL {m.kl:.3f}", flush=True)
        for k in (6, 8):
            if m.captured >= k and k not in first:
                first[k] = (s.step, el)
    for k in (6, 8):
        print(f"first reached {k}/8:", first.get(k, "not within the run"))


def code_table(s: Session, n: int = 500) -> tuple[list[tuple[int, int, float]], int]:
    centers = modes_of(s)
    std = s.config["data"]["std"]
    rows = []
    for c in range(s.codes):
        x = s.sample(n, seed=123 + c, codes=c)
        d = np.linalg.norm(x[:, None, :] - centers[None], axis=2)
        near = d.argmin(1)
        hq = d.min(1) < 3 * std
        counts = np.bincount(near[hq], minlength=len(centers))
        best = int(counts.argmax())
        rows.append((c, best, counts[best] / n))
    majority = [(c, m) for c, m, share in rows if share > 0.5]
    claimed = [m for _, m in majority]
    distinct = sum(1 for _, m in majority if claimed.count(m) == 1)
    return rows, distinct


def measure_infogan(args: argparse.Namespace) -> None:
    s = session(args.preset, args.set, {"generator.codes": 8})
    t0 = time.perf_counter()
    for _ in range(args.every, args.steps + 1, args.every):
        s.train(args.every)
        el = time.perf_counter() - t0
        mi = s.mutual_info(2500)
        m = s.mode_stats(2500)
        _, distinct = code_table(s)
        print(f"step {s.step:5d}  {el:6.1f}s  I bound {mi:.3f} (log 8 = {math.log(8):.3f})  "
              f"modes {m.captured}/8  HQ {m.high_quality:.3f}  codes on a distinct mode "
              f"{distinct}/8", flush=True)
    rows, distinct = code_table(s)
    for c, mode, share in rows:
        print(f"code {c}: mode {mode}  {share:.0%} of its samples (high quality)")
    print(f"codes whose majority lands on a mode of their own: {distinct}/8")


def measure_r1(args: argparse.Namespace) -> None:
    for gamma in ([] if args.no_baseline else [0.0]) + args.gamma:
        s = session(args.preset, args.set, {"loss.r1": gamma})
        hq, d_real = [], []
        t0 = time.perf_counter()
        for _ in range(args.every, args.steps + 1, args.every):
            s.train(args.every)
            m = s.mode_stats(2500)
            hq.append(m.high_quality)
            d_real.append(float(np.nanstd(s.history["d_real"][-args.every:])))
            print(f"r1={gamma:g} step {s.step:5d}  {time.perf_counter() - t0:6.1f}s  modes "
                  f"{m.captured}/8  HQ {m.high_quality:.3f}", flush=True)
        late = np.asarray(hq[len(hq) // 2:])
        print(f"r1={gamma:g}: late HQ mean {late.mean():.3f}, swing (max - min) "
              f"{late.max() - late.min():.3f}; std of D(real) within a window, late mean "
              f"{np.mean(d_real[len(d_real) // 2:]):.4f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("mmd", "infogan", "r1"))
    p.add_argument("--preset", default="ring8")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--gamma", type=float, nargs="+", default=[1.0], help="R1 gamma(s) to try")
    p.add_argument("--no-baseline", action="store_true", help="r1: skip the run without R1")
    p.add_argument("--set", action="append", default=[])
    args = p.parse_args()
    torch.set_num_threads(1)
    {"mmd": measure_mmd, "infogan": measure_infogan, "r1": measure_r1}[args.what](args)


if __name__ == "__main__":
    main()

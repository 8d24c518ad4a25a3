"""GAN Playground: the app by default, ``--headless`` for scripted runs, ``sample`` for checkpoints,
``game`` for the games lab's two-parameter trajectories.

    python main.py [--preset NAME_OR_PATH]
    python main.py --headless --preset NAME_OR_PATH --steps N --out DIR
            [--seed S] [--device auto|cpu|cuda] [--set key=value ...] [--at STEP:key=value ...]
    python main.py sample CHECKPOINT --n N --out FILE.npy [--seed S]
    python main.py game --game quadratic|bilinear|dirac [--loss NAME] [--reg NAME] [--gamma G]
            [--update simultaneous|alternating|extragradient|optimistic|flow]
            [--optim sgd|momentum|adam] [--lr ETA] [--lr-d ETA] [--d-steps K] [--steps N]
            [--start X,Y] [--preset NAME_OR_PATH] ... --out FILE.csv    (see game --help)

Bad input of any kind exits non-zero with one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"error: {message} (see --help)\n")


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _parser() -> _Parser:
    p = _Parser(prog="main.py", description="GAN Playground: watch and steer GAN training.")
    p.add_argument("--preset", default=None, help="built-in preset name or a preset JSON path")
    p.add_argument("--headless", action="store_true", help="train without a window")
    p.add_argument("--steps", type=int, default=None, help="generator iterations (headless)")
    p.add_argument("--out", default=None, help="output folder (headless)")
    p.add_argument("--seed", type=int, default=None, help="override the preset's seed")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set loss.name=wgan-gp")
    p.add_argument("--at", dest="ats", action="append", default=[], metavar="STEP:KEY=VALUE",
                   help="apply a change at a step, e.g. --at 500:loss.name=minimax")
    p.add_argument("--samples", type=int, default=2000, help="samples written to samples.npy")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for headless training (default 1: fastest for the "
                        "small 2-D networks; raise it for big models)")
    return p


def _sample_parser() -> _Parser:
    p = _Parser(prog="main.py sample", description="Draw samples from a generator checkpoint.")
    p.add_argument("checkpoint")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--out", required=True,
                   help="output file: .npy (full precision), .csv, or .png (an image grid)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None,
                   help="conditional generators: the class to draw (default: every class in turn)")
    return p


def _sample(argv: list[str]) -> int:
    from engine import load_generator
    from engine.exports import write_samples

    a = _sample_parser().parse_args(argv)
    if a.n < 1:
        return _fail(f"--n: must be at least 1, got {a.n}")
    try:
        g = load_generator(a.checkpoint)
        if a.label is not None and not g.classes:
            return _fail("--label: this generator is not conditional")
        x = g.sample(a.n, seed=a.seed, labels=a.label)
        write_samples(x, a.out)
    except (ValueError, OSError) as e:
        return _fail(str(e))
    print(f"wrote {len(x)} samples to {a.out}")
    return 0


def _game(argv: list[str]) -> int:
    from engine.games.cli import main as game_main

    return game_main(argv)


def _headless(a: argparse.Namespace) -> int:
    from engine import TrainingDiverged
    from engine.headless import build_config, parse_at, run_headless, summary

    if a.steps is None or a.out is None:
        return _fail("--headless needs --steps N and --out DIR")
    if a.threads < 1:
        return _fail(f"--threads: must be at least 1, got {a.threads}")
    import torch

    torch.set_num_threads(a.threads)
    try:
        cfg = build_config(a.preset or "ring8", a.sets, a.seed, a.device)
        schedule = [parse_at(t) for t in a.ats]
        session = run_headless(cfg, a.steps, a.out, schedule, n_samples=max(1, a.samples))
    except TrainingDiverged as e:
        return _fail(f"{e} (outputs of the last good state written to {a.out})", 3)
    except ValueError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    print(summary(session))
    png = ", samples.png" if (Path(a.out) / "samples.png").exists() else ""
    print(f"wrote {a.out}/: metrics.csv, samples.npy{png}, preset.json, generator.safetensors, "
          "session.safetensors")
    return 0


def _app(a: argparse.Namespace) -> int:
    for flag in ("steps", "out"):
        if getattr(a, flag) is not None:
            return _fail(f"--{flag} only makes sense with --headless")
    from engine.headless import build_config

    try:  # with no --preset the app reopens the last preset used, if it still loads
        cfg = build_config(a.preset or "ring8", a.sets, a.seed, a.device)
    except ValueError as e:
        return _fail(str(e))
    from gui.app import run_app

    overridden = bool(a.sets) or a.seed is not None or a.device is not None
    return run_app(cfg, a.preset or ("ring8" if overridden else None))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sample":
        return _sample(argv[1:])
    if argv and argv[0] == "game":
        return _game(argv[1:])
    a = _parser().parse_args(argv)
    if a.headless:
        return _headless(a)
    return _app(a)


if __name__ == "__main__":
    sys.exit(main())

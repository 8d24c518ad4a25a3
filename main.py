"""GAN Playground: the app by default, ``--headless`` for scripted runs, ``sample`` for checkpoints,
``game`` for the games lab's two-parameter trajectories, ``sweep`` for grids of headless runs.

    python main.py [--preset NAME_OR_PATH]
    python main.py --headless --preset NAME_OR_PATH --steps N --out DIR
            [--seed S] [--device auto|cpu|cuda] [--set key=value ...] [--at STEP:key=value ...]
    python main.py sample CHECKPOINT --n N --out FILE.npy [--seed S]
    python main.py serve --preset NAME [--listen 127.0.0.1:PORT] [--device cuda]
    python main.py game --game quadratic|bilinear|dirac [--loss NAME] [--reg NAME] [--gamma G]
            [--update simultaneous|alternating|extragradient|optimistic|flow]
            [--optim sgd|momentum|adam] [--lr ETA] [--lr-d ETA] [--d-steps K] [--steps N]
            [--start X,Y] [--preset NAME_OR_PATH] ... --out FILE.csv    (see game --help)
    python main.py sweep --preset NAME --grid key=v1,v2 ... --seeds 0-4 --steps N --out DIR
            [--workers N] [--scheduler local|tcp://HOST:PORT]           (see sweep --help)

Bad input of any kind exits with status 2 and one clear line on stderr, never a traceback;
anything unexpected exits with status 1 and one line saying where the traceback was written.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from engine.cliargs import OneLineParser as _Parser
from engine.cliargs import fail as _fail
from engine.cliargs import ranged as _ranged


def _parser() -> _Parser:
    p = _Parser(prog="main.py", description="GAN Playground: watch and steer GAN training.",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="other commands (each has its own --help):\n" + "\n".join(
                    f"  main.py {name:<7} {text}" for name, (_, text) in SUBCOMMANDS.items()))
    p.add_argument("--preset", default=None, help="built-in preset name or a preset JSON path")
    p.add_argument("--headless", action="store_true", help="train without a window")
    p.add_argument("--steps", type=_ranged(0, 10**9), default=None,
                   help="generator iterations (headless)")
    p.add_argument("--out", default=None, help="output folder (headless)")
    p.add_argument("--seed", type=_ranged(0, 2**31 - 1), default=None,
                   help="override the preset's seed")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set loss.name=wgan-gp")
    p.add_argument("--at", dest="ats", action="append", default=[], metavar="STEP:KEY=VALUE",
                   help="apply a change at a step, e.g. --at 500:loss.name=minimax")
    p.add_argument("--samples", type=_ranged(1, 10**6), default=2000,
                   help="samples written to samples.npy (default 2000)")
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="also write TensorBoard event files (scalars, sample pictures, "
                        "hparams) into DIR (headless)")
    p.add_argument("--threads", type=_ranged(1, 1024), default=1,
                   help="torch CPU threads for headless training (default 1: fastest for the "
                        "small 2-D networks; raise it for big models)")
    return p


def _sample_parser() -> _Parser:
    p = _Parser(prog="main.py sample", description="Draw samples from a generator checkpoint.")
    p.add_argument("checkpoint")
    p.add_argument("--n", type=_ranged(1, 10**7), required=True, help="number of samples")
    p.add_argument("--out", required=True,
                   help="output file: .npy (full precision), .csv, or .png (an image grid)")
    p.add_argument("--seed", type=_ranged(0, 2**63 - 1), default=0)
    p.add_argument("--label", type=_ranged(0, 10_000), default=None,
                   help="conditional generators: the class to draw (default: every class in turn)")
    return p


def _sample(argv: list[str]) -> int:
    from engine import load_generator
    from engine.exports import write_samples

    a = _sample_parser().parse_args(argv)
    g = load_generator(a.checkpoint)
    if a.label is not None and not g.classes:
        return _fail("--label: this generator is not conditional")
    x = g.sample(a.n, seed=a.seed, labels=a.label)
    write_samples(x, a.out)
    print(f"wrote {len(x)} samples to {a.out}")
    return 0


def _game(argv: list[str]) -> int:
    from engine.games.cli import main as game_main

    return game_main(argv)


def _sweep(argv: list[str]) -> int:
    from engine.sweep.cli import main as sweep_main

    return sweep_main(argv)


def _headless(a: argparse.Namespace) -> int:
    from engine import TrainingDiverged
    from engine.headless import Interrupted, build_config, parse_at, run_headless, summary

    if a.steps is None or a.out is None:
        return _fail("--headless needs --steps N and --out DIR")
    import torch

    torch.set_num_threads(a.threads)
    cfg = build_config(a.preset or "ring8", a.sets, a.seed, a.device)
    schedule = [parse_at(t) for t in a.ats]
    try:
        session = run_headless(cfg, a.steps, a.out, schedule, n_samples=a.samples,
                               tensorboard=a.tensorboard)
    except TrainingDiverged as e:
        return _fail(f"{e} (outputs of the last good state written to {a.out})", 3)
    except Interrupted as e:
        where = f" (outputs of the last good state written to {a.out})" if e.written else ""
        return _fail(f"{e}{where}", e.exit_code)
    print(summary(session))
    png = ", samples.png" if (Path(a.out) / "samples.png").exists() else ""
    print(f"wrote {a.out}/: metrics.csv, samples.npy{png}, preset.json, generator.safetensors, "
          "session.safetensors")
    return 0


def _app(a: argparse.Namespace) -> int:
    for flag in ("steps", "out", "tensorboard"):
        if getattr(a, flag) is not None:
            return _fail(f"--{flag} only makes sense with --headless")
    from engine.headless import build_config

    # with no --preset the app reopens the last preset used, if it still loads
    cfg = build_config(a.preset or "ring8", a.sets, a.seed, a.device)
    from gui.app import run_app

    overridden = bool(a.sets) or a.seed is not None or a.device is not None
    return run_app(cfg, a.preset or ("ring8" if overridden else None))


def _serve(argv: list[str]) -> int:
    from engine.server import serve_main

    return serve_main(argv)


# the commands besides the app and --headless: name -> (handler, what it does)
SUBCOMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "sample": (_sample, "draw samples from a generator checkpoint"),
    "serve": (_serve, "start an engine a window can attach to (Remote engines)"),
    "game": (_game, "play a two-parameter game of the Games lab and write its trajectory"),
    "sweep": (_sweep, "run every combination of a grid of settings headless, resumable"),
}


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]][0](argv[1:])
    a = _parser().parse_args(argv)
    if a.headless:
        return _headless(a)
    return _app(a)


def _os_error(e: OSError) -> str:
    where = e.filename if e.filename is not None else ""
    return f"{where}: {e.strerror or e}" if where else str(e.strerror or e)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except ValueError as e:  # every refused input: one line, exit 2
        return _fail(str(e))
    except OSError as e:  # a file the user named cannot be written or read
        return _fail(_os_error(e))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except RecursionError:
        return _fail("an input is nested too deeply")
    except Exception as e:  # a bug: one line, the traceback in a file
        from engine.userdirs import crash_report

        path = crash_report(traceback.format_exc())
        return _fail(f"unexpected {type(e).__name__}: {str(e)[:200]} (full traceback in {path})",
                     1)


if __name__ == "__main__":
    sys.exit(main())

"""``python main.py sweep ...``: a grid of settings x seeds as headless runs, in parallel.

Bad input (a grid key or value, the seeds, an --out holding another sweep, a scheduler out of
reach) exits 2 with one line before anything runs. A sweep whose runs all finished (done or
diverged) exits 0; one with failed runs exits 1 (their messages are in sweep.csv); Ctrl+C or
SIGTERM exits 130/143 after the runs in progress wrote their last good state.
"""

from __future__ import annotations

import sys

from ..cliargs import OneLineParser as _Parser
from ..cliargs import fail as _fail
from ..cliargs import ranged as _ranged
from .execute import CSV_NAME, PNG_NAME, RUNS_DIR, default_workers, run_sweep
from .spec import build_sweep


def parser() -> _Parser:
    p = _Parser(prog="main.py sweep",
                description="Run every combination of --grid values x --seeds as a headless "
                            "run (its own folder under OUT/runs/), in parallel; rerunning the "
                            "same command resumes. Writes OUT/sweep.csv and OUT/sweep.png.")
    add = p.add_argument
    add("--preset", default="ring8", help="built-in preset name or a preset JSON path "
                                          "(default ring8)")
    add("--grid", action="append", default=[], metavar="KEY=V1,V2",
        help="a config key and its values, e.g. --grid loss.name=minimax,wgan-gp "
             "(repeat for more keys; list values stay whole: generator.hidden=[64],[64,64])")
    add("--seeds", default="0", help="seeds of each setting: 0-4, 0,3,7 or 0-2,10 (default 0)")
    add("--steps", type=_ranged(0, 10**9), required=True, help="generator iterations per run")
    add("--out", required=True, help="the sweep's folder (created; rerun to resume)")
    add("--workers", type=_ranged(1, 4096), default=None,
        help=f"runs at once on this machine (default: the number of cores, {default_workers()}"
             " here; 1 trains in this process); with --scheduler local, the LocalCluster's "
             "worker processes")
    add("--scheduler", default=None, metavar="local|tcp://HOST:PORT",
        help="run on Dask: local starts a LocalCluster, tcp://HOST:PORT uses a running "
             "scheduler (needs the [cluster] extra)")
    add("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key of the preset for every run, e.g. --set "
             "train.batch_size=128")
    add("--device", choices=("auto", "cpu", "cuda"), default=None)
    add("--samples", type=_ranged(1, 10**6), default=2000,
        help="samples written to each run's samples.npy (default 2000)")
    add("--tensorboard", default=None, metavar="DIR",
        help="also write each run's TensorBoard event files into DIR/RUN_NAME (runs on a "
             "cluster write them there too: a shared path)")
    return p


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    if a.scheduler is not None and a.scheduler != "local" and a.workers is not None:
        return _fail("--workers: a cluster's size is set by its workers (dask worker ...); "
                     "drop --workers with --scheduler tcp://...")
    sweep = build_sweep(a.preset, a.grid, a.seeds, a.steps, a.sets, a.device, a.samples)
    outcome = run_sweep(sweep, a.out, workers=a.workers, scheduler=a.scheduler,
                        tensorboard=a.tensorboard)
    done, diverged, failed = (outcome.count(s) for s in ("done", "diverged", "failed"))
    finished = outcome.skipped and f" ({outcome.skipped} finished before)"
    where = f" on {outcome.where}" if outcome.where else ""
    print(f"sweep: {outcome.total} runs{finished or ''}{where}: {done} done, "
          f"{diverged} diverged, {failed} failed; wrote {a.out}/: {CSV_NAME}, {PNG_NAME}, "
          f"{RUNS_DIR}/")
    if outcome.interrupted:
        left = outcome.total - done - diverged
        return _fail(f"interrupted; {left} runs unfinished: rerun the same command to "
                     "resume", 128 + int(outcome.interrupted))
    if failed:
        return _fail(f"{failed} of {outcome.total} runs failed: see the message column of "
                     f"{a.out}/{CSV_NAME} (tracebacks in each run's run.json); rerunning the "
                     "command tries them again", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

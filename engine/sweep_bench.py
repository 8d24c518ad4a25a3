"""The sweep benchmark: one sweep run one after another, on the process pool, and on Dask.

    python -m engine.sweep_bench [--steps 2000] [--workers 2] [--repeat 1] [--no-dask]
                                 [--headless-loop] [--preset ring8] [--keep DIR]

Each mode is the real command (``python main.py sweep ...`` in a fresh process, timed from
launch to exit, interpreter start and imports included) on the same 8 runs (ring8 by default:
2 losses x 2 generator norms x seeds 0-1, the preset's networks), into a fresh folder:

- serial: ``--workers 1``, the runs one after another in one process (imports paid once);
- pool: ``--workers N``, N spawned worker processes;
- dask: ``--scheduler local --workers N``, a Dask LocalCluster of N worker processes;
- headless loop (``--headless-loop``): 8 separate ``main.py --headless`` commands one after
  another, what a shell loop would do without sweeps (imports paid per run).

Each line also shows the load average before and after: on a machine shared with other
work the ratios say little. Modes rotate between repetitions so a shared machine's slow spells fall on each in turn;
compare the ratios of one repetition, not rates across machines. Per-run overhead is the
command's time (x workers) not spent inside the runs (each run's own wall time, from
run.json), per run; worker start is launch to a worker's first run (spawn, imports, torch's
warm-up), read from the runs' start times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--grid", "loss.name=minimax,non-saturating", "--grid", "generator.norm=none,batch"]
SEEDS = "0-1"


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _sweep(out: Path, preset: str, steps: int, extra: list[str]) -> tuple[float, float]:
    """(launch time, seconds) of one sweep command."""
    cmd = [sys.executable, str(ROOT / "main.py"), "sweep", "--preset", preset, *GRID,
           "--seeds", SEEDS, "--steps", str(steps), "--out", str(out), "--device", "cpu",
           *extra]
    t_launch = time.time()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return t_launch, wall


def _runs(out: Path) -> list[dict[str, Any]]:
    return [json.loads((d / "run.json").read_text()) for d in sorted((out / "runs").iterdir())]


def _headless_loop(out: Path, preset: str, steps: int) -> tuple[float, list[float]]:
    """8 ``main.py --headless`` commands one after another; (total, per-command)."""
    out.mkdir(parents=True)
    times = []
    t0 = time.perf_counter()
    for loss in ("minimax", "non-saturating"):
        for norm in ("none", "batch"):
            for seed in (0, 1):
                cmd = [sys.executable, str(ROOT / "main.py"), "--headless", "--preset", preset,
                       "--steps", str(steps), "--out", str(out / f"{loss}-{norm}-{seed}"),
                       "--seed", str(seed), "--set", f"loss.name={loss}", "--set",
                       f"generator.norm={norm}", "--device", "cpu"]
                t1 = time.perf_counter()
                done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"headless run failed: {done.stderr.strip()[-400:]}")
                times.append(time.perf_counter() - t1)
    return time.perf_counter() - t0, times


def _load() -> float:
    """The 1-minute load average (other work on a shared machine skews every ratio)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def measure(mode: str, folder: Path, preset: str, steps: int, workers: int) -> dict[str, Any]:
    out = folder / mode
    if mode == "headless-loop":
        total, each = _headless_loop(out, preset, steps)
        return {"mode": mode, "wall_s": total, "per_command_s": each}
    extra = {"serial": ["--workers", "1"], "pool": ["--workers", str(workers)],
             "dask": ["--scheduler", "local", "--workers", str(workers)]}[mode]
    launched, wall = _sweep(out, preset, steps, extra)
    runs = _runs(out)
    in_runs = sum(r["wall_s"] for r in runs)
    slots = 1 if mode == "serial" else workers
    first_start: dict[Any, float] = {}
    for r in runs:
        key = (r.get("host"), r.get("pid"))
        first_start[key] = min(first_start.get(key, r["started"]), r["started"])
    return {"mode": mode, "wall_s": wall, "runs": len(runs), "in_runs_s": in_runs,
            "overhead_per_run_s": (wall * slots - in_runs) / len(runs),
            "worker_start_s": sorted(t - launched for t in first_start.values()),
            "warmup_s": sorted(r.get("warmup_s", 0.0) for r in runs if r.get("warmup_s")),
            "status": sorted({r["status"] for r in runs})}


__all__ = ["main", "measure"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.sweep_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="ring8")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    p.add_argument("--headless-loop", action="store_true",
                   help="also time 8 separate main.py --headless commands")
    p.add_argument("--keep", default=None, help="keep the sweeps in this folder")
    a = p.parse_args(argv)
    modes = ["serial", "pool"]
    try:
        import distributed  # noqa: F401

        if not a.no_dask:
            modes.append("dask")
    except ImportError:
        print("(Dask not installed: no LocalCluster timing)", file=sys.stderr)
    if a.headless_loop:
        modes.append("headless-loop")
    base = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    results: list[dict[str, Any]] = []
    try:
        for rep in range(a.repeat):
            order = modes[rep % len(modes):] + modes[:rep % len(modes)]
            folder = base / f"rep{rep}"
            for mode in order:
                load0 = _load()
                r = measure(mode, folder, a.preset, a.steps, a.workers)
                r["repeat"] = rep
                r["load"] = [load0, _load()]  # 1-min load average before and after
                results.append(r)
                print(f"rep {rep} {mode:>13}: {r['wall_s']:7.1f} s"
                      + (f"  (in runs {r['in_runs_s']:.1f} s, overhead/run "
                         f"{r['overhead_per_run_s']:.2f} s, worker start "
                         f"{', '.join(f'{t:.1f}' for t in r['worker_start_s'])} s)"
                         if "in_runs_s" in r else "")
                      + f"  [load {r['load'][0]:.1f} -> {r['load'][1]:.1f} on "
                        f"{os.cpu_count()} cores]", flush=True)
            by = {r["mode"]: r["wall_s"] for r in results if r["repeat"] == rep}
            line = [f"pool/serial {by['pool'] / by['serial']:.3f}"]
            if "dask" in by:
                line += [f"dask/serial {by['dask'] / by['serial']:.3f}",
                         f"dask/pool {by['dask'] / by['pool']:.3f}"]
            if "headless-loop" in by:
                line.append(f"pool/headless-loop {by['pool'] / by['headless-loop']:.3f}")
            print(f"rep {rep} ratios: {', '.join(line)}", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    ratios = [r["wall_s"] for r in results if r["mode"] == "pool"]
    serial = [r["wall_s"] for r in results if r["mode"] == "serial"]
    print(json.dumps({"median_pool_over_serial": statistics.median(
        p / s for p, s in zip(ratios, serial)), "results": results}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())


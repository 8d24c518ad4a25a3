"""One run of a sweep, as a worker process (or a Dask worker) carries it out.

``run_one(spec)`` takes and returns plain data only (dicts of str, numbers and lists), so
nothing torch-made ever crosses a process boundary: the worker imports torch itself, trains
with ``run_headless`` into the run's folder and writes ``run.json``, the marker that says the
run is finished. A run is finished when its folder holds ``run.json`` with status ``done`` or
``diverged`` and every output file that marker lists; anything else is run again from scratch.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..catalogue import CADENCE_COLUMNS

MARKER = "run.json"
FINISHED = ("done", "diverged")
_state: dict[str, Any] = {"warm": False, "stop": None}


def init_worker(stop_event: Any = None) -> None:
    """A pool worker's start: ignore Ctrl+C while idle (a run in progress catches it itself,
    writes its last good state and returns ``interrupted``), remember the sweep's stop flag
    and pay the imports now, once per process."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _state["stop"] = stop_event
    warm_up()


def warm_up() -> float:
    """Import torch and the engine and build one optimizer (torch imports its compiler on
    the first one: ~1.5 s), once per process; returns the seconds it took (0 after)."""
    if _state["warm"]:
        return 0.0
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from .. import headless  # noqa: F401  (the engine's imports, paid here)

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    _state["warm"] = True
    return time.perf_counter() - t0


def _nan_to_none(metrics: dict[str, float]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k, v in metrics.items():
        v = float(v)
        out[k] = v if math.isfinite(v) else None
    return out


def _final_metrics(session: Any) -> dict[str, float | None]:
    """The slow metrics at the final step: the log's last row when it holds them (the
    run ended on a ``train.metrics_every`` step), else measured now."""
    last = session.history.last()
    if last and int(last["step"]) == session.step and any(
            not math.isnan(last[c]) for c in CADENCE_COLUMNS):
        return _nan_to_none({c: last[c] for c in CADENCE_COLUMNS})
    got = session.cadence_metrics(session.config["train"]["metrics_samples"])
    return _nan_to_none({c: got.get(c, math.nan) for c in CADENCE_COLUMNS})


def _logged_metrics(folder: Path) -> dict[str, float | None]:
    """The last logged value of each slow metric in metrics.csv (a diverged run's last good
    state: the log stops there)."""
    out: dict[str, float | None] = {c: None for c in CADENCE_COLUMNS}
    try:
        with (folder / "metrics.csv").open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            idx = {c: header.index(c) for c in CADENCE_COLUMNS if c in header}
            for row in reader:
                for c, i in idx.items():
                    if i < len(row) and row[i]:
                        with contextlib.suppress(ValueError):
                            v = float(row[i])
                            out[c] = v if math.isfinite(v) else None
    except (OSError, StopIteration, csv.Error):
        pass
    return out


def one_line(e: BaseException) -> str:
    """An error as one line: a ValueError's message is written for users already."""
    text = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
    return " ".join(text.split())[:400]


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def finished_result(folder: Path) -> dict[str, Any] | None:
    """The recorded result of a finished run in ``folder``, or None (then it runs again)."""
    marker = read_marker(folder)
    if marker is None or marker.get("status") not in FINISHED:
        return None
    outputs = marker.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        return None
    if not all(isinstance(n, str) and (folder / n).is_file() for n in outputs):
        return None
    return marker


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one run of a sweep into ``spec["folder"]``; never raises for a run's own
    failure (it is the result's status): ``done``, ``diverged``, ``failed``, or
    ``interrupted``/``skipped`` (not finished: run again on resume)."""
    folder = Path(spec["folder"])
    result: dict[str, Any] = {"name": spec["name"], "seed": spec["seed"],
                              "setting": spec["setting"], "steps": spec["steps"],
                              "pid": os.getpid(), "host": socket.gethostname()}
    stop = _state["stop"]
    if stop is not None and stop.is_set():
        return {**result, "status": "skipped", "message": "the sweep was stopped"}
    with contextlib.suppress(FileNotFoundError):
        (folder / MARKER).unlink()  # an older attempt's marker never speaks for this one
    try:
        warm = warm_up()
    except Exception as e:  # torch missing or broken on this worker
        return _record(folder, {**result, "status": "failed", "message": one_line(e),
                                "traceback": traceback.format_exc()})
    from ..headless import OUTPUTS, Interrupted, run_headless
    from ..session import TrainingDiverged

    result.update(warmup_s=round(warm, 3), started=time.time())
    t0 = time.perf_counter()
    try:
        session = run_headless(spec["config"], spec["steps"], folder,
                               n_samples=spec["samples"], progress=False,
                               tensorboard=spec.get("tensorboard"))
        result.update(status="done", message="", step=session.step,
                      metrics=_final_metrics(session))
    except TrainingDiverged as e:
        result.update(status="diverged", message=one_line(e), step=e.rolled_back_to,
                      metrics=_logged_metrics(folder))
    except Interrupted as e:
        return {**result, "status": "interrupted", "message": one_line(e),
                "signum": e.signum, "wall_s": time.perf_counter() - t0}
    except Exception as e:
        result.update(status="failed", message=one_line(e), traceback=traceback.format_exc())
    result.update(wall_s=round(time.perf_counter() - t0, 3), finished=time.time())
    if result["status"] in FINISHED:
        result["outputs"] = [n for n in OUTPUTS if (folder / n).is_file()]
        if len(result["outputs"]) != len(OUTPUTS):
            missing = sorted(set(OUTPUTS) - set(result["outputs"]))
            result.update(status="failed", message=f"outputs missing: {', '.join(missing)}")
    return _record(folder, result)


def _record(folder: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Write the marker last: its presence says the outputs beside it are complete."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(str(folder / MARKER), json.dumps(result, indent=1) + "\n")
    except OSError as e:
        result = {**result, "status": "failed",
                  "message": f"cannot write {folder / MARKER}: {e.strerror or e}"}
    return result


__all__ = ["run_one", "init_worker", "warm_up", "finished_result", "read_marker", "MARKER",
           "FINISHED", "one_line"]

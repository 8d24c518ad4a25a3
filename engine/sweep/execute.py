"""Carrying a sweep out: in this process, in a pool of worker processes, or on Dask.

The parent process never imports torch (with ``--workers 1`` it trains in-process, and
then it does). Workers get plain dicts (config, folder, steps) and return plain dicts; each
finished run rewrites ``sweep.csv`` at once, so an interrupted sweep leaves a valid table of
what finished. Ctrl+C (or SIGTERM) stops scheduling; runs in progress write the outputs of
their last good state (they are run again on resume, as they did not reach ``--steps``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..atomic import atomic_write_text
from .report import CSV_NAME, PNG_NAME, RUNS_DIR, write_summaries
from .spec import Run, Sweep, load_definition
from .worker import FINISHED, finished_result, one_line, run_one

DEFINITION = "sweep.json"
LOCK = ".sweep.lock"
POOL_ATTEMPTS = 3  # a run whose worker process died is tried this often in all
CONNECT_TIMEOUT = "10s"
DASK_INSTALL = 'python -m pip install -e ".[cluster]"  (or: python -m pip install "dask[distributed]")'

OnResult = Callable[[dict[str, Any]], None]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- executors
class SerialExecutor:
    """Runs one after another in this process (``--workers 1``): no process start at all;
    Ctrl+C reaches the run itself, which writes its last good state."""

    name = "this process"

    def execute(self, specs: list[dict[str, Any]], on_result: OnResult) -> None:
        for spec in specs:
            r = run_one(spec)
            on_result(r)
            if r["status"] in ("interrupted", "skipped"):
                raise KeyboardInterrupt

    def close(self) -> None:
        pass


class PoolExecutor:
    """A pool of ``workers`` spawned processes (never forked: the parent may hold torch's
    threads), each training one run at a time with one torch thread. A worker that dies
    (killed, out of memory) breaks the pool; its unfinished runs go to a new pool, up to
    ``POOL_ATTEMPTS`` tries each."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.ctx = mp.get_context("spawn")
        self.stop_event = self.ctx.Event()
        self.name = f"{workers} worker processes"

    def execute(self, specs: list[dict[str, Any]], on_result: OnResult) -> None:
        attempts: dict[str, int] = {}
        queue = list(specs)
        while queue:
            retry: list[dict[str, Any]] = []
            with ProcessPoolExecutor(max_workers=min(self.workers, len(queue)),
                                     mp_context=self.ctx, initializer=_init_pool_worker,
                                     initargs=(self.stop_event,)) as pool:
                futures = {pool.submit(run_one, s): s for s in queue}
                seen: set[Any] = set()
                try:
                    for f in as_completed(futures):
                        seen.add(f)
                        spec = futures[f]
                        try:
                            r = f.result()
                        except BrokenProcessPool:
                            attempts[spec["name"]] = attempts.get(spec["name"], 0) + 1
                            if attempts[spec["name"]] < POOL_ATTEMPTS:
                                retry.append(spec)
                                continue
                            r = _failed(spec, f"its worker process died {POOL_ATTEMPTS} times")
                        except Exception as e:  # the spec or result could not be sent
                            r = _failed(spec, one_line(e))
                        on_result(r)
                        if r["status"] in ("interrupted", "skipped"):
                            raise KeyboardInterrupt
                except BaseException:
                    self._stop(pool)
                    for f in futures:  # those that finished while stopping
                        if f not in seen and f.done() and not f.cancelled() \
                                and f.exception() is None:
                            on_result(f.result())
                    raise
            queue = sorted(retry, key=lambda s: s["index"])

    def _stop(self, pool: ProcessPoolExecutor) -> None:
        """Start no more runs; ask the running ones to write their last good state."""
        self.stop_event.set()
        for p in list(getattr(pool, "_processes", {}).values() or []):
            with contextlib.suppress(OSError, AttributeError, ValueError):
                os.kill(p.pid, signal.SIGINT)
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        pass


def _init_pool_worker(stop_event: Any) -> None:
    from .worker import init_worker

    init_worker(stop_event)


class DaskExecutor:
    """Runs as tasks on a Dask cluster: ``local`` starts a LocalCluster of ``workers``
    processes with one thread each; ``tcp://HOST:PORT`` connects to a running scheduler.
    Dask runs a task again elsewhere when its worker dies (``KilledWorker`` after
    ``distributed.scheduler.allowed-failures`` deaths, then the run is recorded failed)."""

    def __init__(self, scheduler: str, workers: int) -> None:
        try:
            missing = importlib.util.find_spec("distributed") is None
        except ValueError:  # present in sys.modules as None: imports are refused
            missing = True
        if missing:
            raise ValueError(f"--scheduler needs Dask, which is not installed: {DASK_INSTALL}")
        if scheduler != "local":
            _reachable(scheduler)  # before Dask's slow import
        import distributed

        self.distributed = distributed
        self.cluster = None
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if scheduler == "local":
            self.cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
            self.name = f"a Dask LocalCluster of {workers} worker processes"
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as e:
                raise ValueError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} "
                                 f"({one_line(e)[:160]})") from None
            n = len(self.client.scheduler_info().get("workers", {}))
            self.name = f"the Dask scheduler at {scheduler} ({n} workers now)"

    def execute(self, specs: list[dict[str, Any]], on_result: OnResult) -> None:
        futures = {self.client.submit(run_one, s, pure=False, retries=2): s for s in specs}
        try:
            for f in self.distributed.as_completed(futures):
                spec = futures[f]
                try:
                    r = f.result()
                except Exception as e:  # KilledWorker, a worker without the engine, ...
                    r = _failed(spec, one_line(e))
                on_result(r)
                if r["status"] in ("interrupted", "skipped"):
                    raise KeyboardInterrupt
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.cancel(list(futures))
            raise

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


def _reachable(address: str) -> None:
    """Fail fast on a refused or unresolvable address (Dask itself retries for the whole
    connect timeout)."""
    import socket

    hostport = address.split("://", 1)[1]
    host, _, port = hostport.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except (OSError, ValueError) as e:
        raise ValueError(f"--scheduler: cannot reach a Dask scheduler at {address} "
                         f"({e.strerror or e if isinstance(e, OSError) else e})") from None


def _failed(spec: dict[str, Any], message: str) -> dict[str, Any]:
    return {"name": spec["name"], "seed": spec["seed"], "setting": spec["setting"],
            "steps": spec["steps"], "status": "failed", "message": message}


def make_executor(workers: int, scheduler: str | None) -> Any:
    if scheduler is not None:
        return DaskExecutor(scheduler, workers)
    return SerialExecutor() if workers == 1 else PoolExecutor(workers)


def check_scheduler(text: str) -> str:
    import re

    if text == "local" or re.fullmatch(r"tcp://[A-Za-z0-9.\-]+:\d{1,5}|tcp://\[[0-9a-fA-F:]+\]"
                                       r":\d{1,5}", text):
        return text
    raise ValueError(f"--scheduler: expected local or tcp://HOST:PORT, got {text[:80]!r}")


# --------------------------------------------------------------------------- the sweep
@dataclass
class Outcome:
    total: int
    skipped: int                  # finished before this command started
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    interrupted: int = 0          # the signal that stopped the sweep, 0 when none did
    where: str = ""               # where the runs ran, in words
    wall_s: float = 0.0           # this command's time running them

    def count(self, status: str) -> int:
        return sum(1 for r in self.results.values() if r.get("status") == status)


def check_out(sweep: Sweep, out: Path) -> None:
    """Refuse an --out that is a file, or holds anything but this sweep."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    if not out.is_dir():
        return
    definition = out / DEFINITION
    if definition.exists():
        stored = load_definition(definition)
        if stored is None:
            raise ValueError(f"--out: {definition} is not a sweep definition; "
                             "choose another --out")
        why = sweep.differs_from(stored)
        if why is not None:
            raise ValueError(f"--out: {out} holds a different sweep ({why}); choose another "
                             "--out (nothing was changed)")
        return
    try:
        names = [n for n in os.listdir(out) if n != LOCK]
    except OSError as e:
        raise ValueError(f"--out: cannot read {out}: {e.strerror or e}") from None
    if names:
        raise ValueError(f"--out: {out} holds files but no {DEFINITION} (not a sweep); "
                         "choose a new or empty folder")


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One sweep command at a time in a folder (two would train the same runs twice)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    f = (out / LOCK).open("a")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"--out: another sweep command is running in {out}; wait for it "
                             "or stop it first") from None
        yield
    finally:
        f.close()


@contextlib.contextmanager
def _sigterm_interrupts(got: dict[str, int]) -> Iterator[None]:
    """SIGTERM stops the sweep like Ctrl+C (main thread only; records which signal)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        got["signum"] = signum
        raise KeyboardInterrupt

    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, handler)
    if old[signal.SIGINT] is signal.default_int_handler:
        signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class _Progress:
    """One overall bar on a terminal (runs finished of all), a line per run otherwise."""

    def __init__(self, total: int, skipped: int, enabled: bool | None, log: TextIO) -> None:
        self.total, self.n, self.log = total, skipped, log
        if enabled is None:
            enabled = log.isatty()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=skipped, unit="run", desc="sweep", file=log,
                            dynamic_ncols=True)

    def __call__(self, r: dict[str, Any]) -> None:
        if r.get("status") in FINISHED or r.get("status") == "failed":
            self.n += 1
        line = f"[{self.n}/{self.total}] {r['name']}: {_describe(r)}"
        if self.bar is not None:
            self.bar.write(line, file=self.log)
            self.bar.update(self.n - self.bar.n)
        else:
            print(line, file=self.log, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _describe(r: dict[str, Any]) -> str:
    status = r.get("status", "?")
    if status == "failed":
        return f"failed: {r.get('message', '')}"
    if status in ("interrupted", "skipped"):
        return f"{status} (runs again on resume)"
    parts = [status]
    if isinstance(r.get("wall_s"), int | float):
        parts.append(f"in {r['wall_s']:.1f} s")
    m = r.get("metrics") or {}
    shown = [f"{k} {m[k]:.3g}" for k in ("modes", "high_quality", "js", "fid")
             if isinstance(m.get(k), int | float)]
    if shown:
        parts.append(f"({', '.join(shown)})")
    return " ".join(parts)


def run_sweep(sweep: Sweep, out: str | Path, workers: int | None = None,
              scheduler: str | None = None, progress: bool | None = None,
              log: TextIO | None = None, tensorboard: str | Path | None = None) -> Outcome:
    """Run every unfinished run of ``sweep`` into ``out``; see the module's docstring.

    With ``tensorboard``, each run also writes TensorBoard event files into
    ``tensorboard/RUN_NAME`` (not part of the sweep's definition: a resume may add it).

    Raises ValueError (before anything runs or is written) for an ``out`` holding another
    sweep or a scheduler that cannot be reached."""
    log = sys.stderr if log is None else log
    out = Path(out).expanduser().resolve()
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"--workers: expected at least 1, got {workers}")
    check_out(sweep, out)
    board = None
    if tensorboard is not None:
        board = Path(tensorboard).expanduser().resolve()
        if board.exists() and not board.is_dir():
            raise ValueError(f"--tensorboard: {board} exists and is not a folder")
    runs = sweep.runs()
    results: dict[str, dict[str, Any]] = {}
    runs_dir = out / RUNS_DIR
    for run in runs:
        r = finished_result(runs_dir / run.name)
        if r is not None:
            results[run.name] = r
    pending = [run for run in runs if run.name not in results]
    outcome = Outcome(len(runs), len(results), results)
    executor = None
    if pending:  # may refuse (Dask missing, a scheduler out of reach): nothing written yet
        executor = make_executor(workers if scheduler else min(workers, len(pending)),
                                 scheduler)
        outcome.where = executor.name
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"--out: cannot create {out}: {e.strerror or e}") from None
        with _locked(out):
            check_out(sweep, out)  # again: another command may have started one meanwhile
            if not (out / DEFINITION).exists():
                atomic_write_text(str(out / DEFINITION),
                                  json.dumps(sweep.to_json(), indent=1) + "\n")
            runs_dir.mkdir(exist_ok=True)
            write_summaries(sweep, runs, results, out, final=False)
            if executor is not None:
                _execute(sweep, runs, pending, out, executor, outcome, progress, log, board)
            write_summaries(sweep, runs, results, out, final=True)
    finally:
        if executor is not None:
            executor.close()
    return outcome


def _spec(run: Run, sweep: Sweep, out: Path, board: Path | None = None) -> dict[str, Any]:
    return {"index": run.index, "name": run.name, "folder": str(out / RUNS_DIR / run.name),
            "config": run.config, "steps": sweep.steps, "samples": sweep.samples,
            "seed": run.seed, "setting": dict(zip(sweep.keys, run.setting)),
            "tensorboard": None if board is None else str(board / run.name)}


def _execute(sweep: Sweep, runs: list[Run], pending: list[Run], out: Path, executor: Any,
             outcome: Outcome, progress: bool | None, log: TextIO,
             board: Path | None = None) -> None:
    results = outcome.results
    bar = _Progress(len(runs), outcome.skipped, progress, log)
    got: dict[str, int] = {}

    def on_result(r: dict[str, Any]) -> None:
        if r.get("status") == "interrupted" and "signum" in r:
            got.setdefault("signum", int(r["signum"]))
        if r.get("status") in (*FINISHED, "failed"):
            results[r["name"]] = r
            write_summaries(sweep, runs, results, out, final=False)
        bar(r)

    t0 = time.perf_counter()
    try:
        with _sigterm_interrupts(got):
            executor.execute([_spec(r, sweep, out, board) for r in pending], on_result)
    except KeyboardInterrupt:
        outcome.interrupted = got.get("signum", signal.SIGINT)
    finally:
        bar.close()
    outcome.wall_s = time.perf_counter() - t0


__all__ = ["run_sweep", "Outcome", "check_out", "check_scheduler", "default_workers",
           "DEFINITION", "CSV_NAME", "PNG_NAME", "RUNS_DIR", "DASK_INSTALL"]

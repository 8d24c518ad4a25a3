"""Speed benchmark: does the live window slow training down, and does it draw smoothly?

    python -m gui.bench [--preset ring8] [--seconds 4] [--rounds 3] [--threads both|default|1]

In one process (offscreen Qt unless a display is asked for), it measures:

* headless: ``Session.train`` in the main thread (torch's default threads, as a script or
  ``main.py --headless`` runs it), and the same engine on a ``Runner`` worker thread with no
  views and ``torch_threads=1`` (the GUI's engine minus the GUI); each before and after
  the GUI runs, to bracket load from other processes on the machine;
* GUI: the real window training at full speed with every live view on (heatmap, samples,
  curves), for each worker torch-thread setting asked for;
* the 95th percentile of the interval between rendered frames of the data plane (paint
  events of its viewport), and the time ``close()`` takes mid-training.

Targets: GUI/headless >= 0.8, p95 frame interval < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402

from engine import Session  # noqa: E402
from engine.config import default_config  # noqa: E402
from engine.presets import load_preset  # noqa: E402
from engine.protocol import Play, Runner  # noqa: E402

from .app import make_application  # noqa: E402
from .main_window import MainWindow  # noqa: E402

WARMUP_S = 1.5


@dataclass
class GuiResult:
    threads: int | None
    steps_per_second: float
    frames: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    close_s: float
    gui_cpu: float  # GUI-thread CPU seconds per wall second
    engine: EngineTime


class PaintClock(QObject):
    """Records the time of every paint of a widget (a frame that really reached pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.times.append(time.perf_counter())
        return False


def engine_thread_id() -> int | None:
    for t in threading.enumerate():
        if t.name == "gan-engine" and t.is_alive():
            return t.native_id
    return None


def sched(tid: int | None) -> tuple[float, float]:
    """(CPU seconds, seconds waiting for a CPU) of a thread so far, from Linux schedstat;
    zeros elsewhere. Tells a slower engine thread's causes apart: less CPU given (machine
    load, the GUI thread) versus more CPU spent per step."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            cpu_ns, wait_ns, _ = (int(v) for v in f.read().split())
        return cpu_ns / 1e9, wait_ns / 1e9
    except (OSError, ValueError, TypeError):
        return 0.0, 0.0


@dataclass
class EngineTime:
    """Where the engine thread's wall time went, per iteration (ms)."""

    cpu_ms: float
    runqueue_ms: float
    blocked_ms: float  # neither running nor runnable: the GIL, locks, sleeps

    def __str__(self) -> str:
        return (f"engine thread per iteration: CPU {self.cpu_ms:.2f} ms, waiting for a CPU "
                f"{self.runqueue_ms:.2f} ms, blocked {self.blocked_ms:.2f} ms")


def engine_time(steps: int, wall: float, before: tuple[float, float],
                after: tuple[float, float]) -> EngineTime:
    n = max(steps, 1)
    cpu, wait = after[0] - before[0], after[1] - before[1]
    return EngineTime(1000 * cpu / n, 1000 * wait / n, 1000 * max(wall - cpu - wait, 0) / n)


def run_for(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def headless_rate(config: dict[str, Any], seconds: float) -> float:
    s = Session(config)
    s.train(20)
    t0 = time.perf_counter()
    start = s.step
    while time.perf_counter() - t0 < seconds:
        s.train(16)
    return (s.step - start) / (time.perf_counter() - t0)


def runner_rate(config: dict[str, Any], seconds: float, threads: int | None
                ) -> tuple[float, EngineTime]:
    """The engine on its worker thread at full speed, no views, no window."""
    runner = Runner(config, autoplay=True, view=None, torch_threads=threads)
    runner.start()
    runner.ready.wait(30)
    time.sleep(WARMUP_S)
    tid = engine_thread_id()
    start, t0, s0 = runner.session.step, time.perf_counter(), sched(tid)
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    steps = runner.session.step - start
    spent = engine_time(steps, wall, s0, sched(tid))
    runner.stop(timeout=2)
    runner.poll()
    return steps / wall, spent


def gui_rate(config: dict[str, Any], seconds: float, threads: int | None,
             settings_dir: str) -> GuiResult:
    settings = QSettings(os.path.join(settings_dir, f"bench{threads}.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(config, "bench", settings=settings, torch_threads=threads)
    window.show()
    while not window.runner.ready.is_set():
        run_for(0.05)
    clock = PaintClock()
    window.plane.plot.viewport().installEventFilter(clock)
    window.link.send(Play())
    run_for(WARMUP_S)
    session = window.runner.session
    clock.times.clear()
    tid = engine_thread_id()
    start_step, t0, cpu0, s0 = session.step, time.perf_counter(), time.thread_time(), sched(tid)
    run_for(seconds)
    wall = time.perf_counter() - t0
    steps = session.step - start_step
    spent = engine_time(steps, wall, s0, sched(tid))
    rate = steps / wall
    gui_cpu = (time.thread_time() - cpu0) / wall
    times = np.asarray(clock.times)
    t1 = time.perf_counter()
    window.close()
    close_s = time.perf_counter() - t1
    intervals = np.diff(times) * 1000 if len(times) > 1 else np.array([np.inf])
    return GuiResult(threads, rate, len(times), float(np.percentile(intervals, 50)),
                     float(np.percentile(intervals, 95)), float(intervals.max()), close_s, gui_cpu, spent)


def _name(threads: int | None) -> str:
    return "torch default" if threads is None else f"torch_threads={threads}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", choices=("both", "default", "1"), default="both",
                    help="worker torch threads to measure the window with")
    args = ap.parse_args(argv)
    try:
        config = load_preset(args.preset)
    except ValueError as e:
        print(f"note: {e}; using the default config", file=sys.stderr)
        config = default_config()
    app = make_application()
    settings_dir = tempfile.mkdtemp(prefix="gan-bench-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    settings = {"both": [None, 1], "default": [None], "1": [1]}[args.threads]
    print(f"preset {args.preset}: {args.rounds} rounds of {args.seconds:g} s per measurement, "
          f"{os.cpu_count()} CPUs. Rounds interleave the runs, so load from other processes "
          "hits them alike; figures are medians over rounds.")
    script: list[float] = []
    engine: dict[int | None, list[float]] = {t: [] for t in settings}
    gui: dict[int | None, list[GuiResult]] = {t: [] for t in settings}
    for i in range(args.rounds):
        script.append(headless_rate(config, args.seconds))
        print(f"round {i + 1}: Session.train (main thread) {script[-1]:7.1f} it/s")
        for t in settings:
            rate, spent = runner_rate(config, args.seconds, t)
            engine[t].append(rate)
            print(f"  Runner({_name(t)}, no views)  {rate:7.1f} it/s   {spent}")
            r = gui_rate(config, args.seconds, t, settings_dir)
            gui[t].append(r)
            print(f"  GUI, {_name(t):<19}      {r.steps_per_second:7.1f} it/s   {r.engine}\n"
                  f"      frames {r.frames}, interval p50 {r.p50_ms:.1f} ms, "
                  f"p95 {r.p95_ms:.1f} ms, max {r.max_ms:.1f} ms; GUI thread CPU "
                  f"{100 * r.gui_cpu:.0f}%; close() took {r.close_s * 1000:.0f} ms")
    print()
    med = float(np.median(script))
    print(f"headless Session.train: {med:.1f} it/s (median)")
    for t in settings:
        rs = gui[t]
        ratio_same = float(np.median([r.steps_per_second / e for r, e in zip(rs, engine[t])]))
        ratio_script = float(np.median([r.steps_per_second / h for r, h in zip(rs, script)]))
        p95 = float(np.median([r.p95_ms for r in rs]))
        ok = "OK" if max(ratio_same, ratio_script) >= 0.8 and p95 < 50 else "below target"
        print(f"{_name(t)}: headless Runner {np.median(engine[t]):.1f} it/s, GUI "
              f"{np.median([r.steps_per_second for r in rs]):.1f} it/s; GUI/headless "
              f"{ratio_same:.2f} (same engine thread) / {ratio_script:.2f} (Session.train), "
              f"target >= 0.8; p95 frame interval {p95:.1f} ms, target < 50: {ok}")
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed benchmark: does the live window slow training down, and does it stay smooth?

    python -m gui.bench [--preset ring8] [--seconds 6] [--rounds 3] [--threads 1]
                        [--skip-compare]

The engine runs in its own process in every case, as in the app. Each round measures, in
turn (so load from other processes hits them alike; the figures are medians over rounds):

* **headless**: ``Session.train`` in a separate process (``python -m engine.bench --rate``),
  as a script or ``main.py --headless`` trains, just before and just after the GUI's
  measurement (ratios use their mean, which cancels a steady drift of a shared machine);
* **engine, no window**: the engine process at full speed with no frames asked for;
* **GUI**: the real window (offscreen unless a display is set) training at full speed with
  every live view on: the plane (heatmap, samples), the curves, the status bar. Measured:
  steps/s (from the engine's own status), the interval between paints of the plane (p95),
  and the latency from a change handed over by a control (ring8's radius, alternating) to
  the first paint of a frame that shows it (p95), and how long ``close()`` takes;
* **Compare**: the same window with run B (its own process) training beside A.

Once, before the rounds: the start-up time of the app to its first painted frame (and to
the first frame from the engine), in a fresh process, which must never import torch.

Targets (issue #11): GUI/headless >= 0.95, p95 frame interval <= 40 ms, p95 latency
<= 100 ms, each of A and B in Compare >= 0.45 of headless, close within 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402

from engine.config import default_config  # noqa: E402
from engine.presets import load_preset  # noqa: E402
from engine.protocol import Play  # noqa: E402

from .app import make_application  # noqa: E402
from .engine_link import EngineLink  # noqa: E402
from .main_window import MainWindow  # noqa: E402

WARMUP_S = 1.5
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@dataclass
class GuiResult:
    steps_per_second: float
    frames: int
    p50_ms: float
    p95_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_n: int
    close_s: float


class PaintClock(QObject):
    """Records the time of every paint of a widget (a frame that really reached pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.times.append(time.perf_counter())
        return False


def run_for(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(pred: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise RuntimeError("timed out waiting for the engine")
        run_for(0.02)


def headless_rate(preset: str, seconds: float, threads: int) -> float:
    out = subprocess.run([sys.executable, "-m", "engine.bench", "--preset", preset,
                          "--rate", str(seconds), "--threads", str(threads)],
                         capture_output=True, text=True, env=ENV, timeout=300, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["steps_per_second"])


def link_rate(link: EngineLink, seconds: float) -> float:
    """Steps/s the engine reports over ``seconds`` (its status, 4 per second)."""
    s0, t0 = link.state.step, time.perf_counter()
    run_for(seconds)
    return (link.state.step - s0) / (time.perf_counter() - t0)


def engine_rate(config: dict[str, Any], seconds: float, threads: int) -> float:
    link = EngineLink(config, torch_threads=threads, autoplay=True)
    link.set_view(None)
    link.start()
    wait_until(lambda: link.state.ready)
    run_for(WARMUP_S)
    rate = link_rate(link, seconds)
    link.stop()
    return rate


def _window(config: dict[str, Any], threads: int, settings_dir: str, name: str) -> MainWindow:
    settings = QSettings(os.path.join(settings_dir, f"{name}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(config, "bench", settings=settings, torch_threads=threads)
    window.resize(1400, 900)
    window.show()
    wait_until(lambda: window.link.state.ready)
    return window


def gui_rate(config: dict[str, Any], seconds: float, threads: int,
             settings_dir: str) -> GuiResult:
    window = _window(config, threads, settings_dir, "gui")
    clock = PaintClock()
    window.plane.plot.viewport().installEventFilter(clock)
    window.link.send(Play())
    run_for(WARMUP_S)
    clock.times.clear()
    rate = link_rate(window.link, seconds)
    times = np.asarray(clock.times)
    intervals = np.diff(times) * 1000 if len(times) > 1 else np.array([np.inf])
    latencies = measure_latency(window, clock, seconds=max(3.0, seconds / 2))
    t1 = time.perf_counter()
    window.close()
    close_s = time.perf_counter() - t1
    lat = np.asarray(latencies) if latencies else np.array([np.inf])
    return GuiResult(rate, len(times), float(np.percentile(intervals, 50)),
                     float(np.percentile(intervals, 95)), float(np.percentile(lat, 50)),
                     float(np.percentile(lat, 95)), len(latencies), close_s)


def measure_latency(window: MainWindow, clock: PaintClock, seconds: float) -> list[float]:
    """Hand the window a change of ring8's radius every 0.4 s (as a control does) and time
    it until the plane paints a frame that shows the new radius."""
    if window.config["data"]["name"] != "ring8":
        return []
    out: list[float] = []
    state: dict[str, Any] = {"t0": None, "radius": None, "seen": None}

    def on_snapshot(snap: Any) -> None:
        r = state["radius"]
        if r is not None and state["seen"] is None and abs(snap.box[1] - (1.5 * r + 0.06)) < 1e-3:
            state["seen"] = time.perf_counter()

    window.link.snapshot_ready.connect(on_snapshot)
    end = time.perf_counter() + seconds
    radius = 2.0
    while time.perf_counter() < end:
        radius = 2.4 if radius == 2.0 else 2.0
        state.update(t0=time.perf_counter(), radius=radius, seen=None)
        window.apply_changes({"data.radius": radius})
        deadline = time.perf_counter() + 2.0
        while state["seen"] is None and time.perf_counter() < deadline:
            run_for(0.002)
        if state["seen"] is None:
            continue
        painted = next((t for t in clock.times if t >= state["seen"]), None)
        while painted is None and time.perf_counter() < deadline:
            run_for(0.002)
            painted = next((t for t in clock.times if t >= state["seen"]), None)
        if painted is not None:
            out.append(1000 * (painted - state["t0"]))
        run_for(0.4)
    window.link.snapshot_ready.disconnect(on_snapshot)
    return out


def compare_rates(config: dict[str, Any], seconds: float, threads: int,
                  settings_dir: str) -> tuple[float, float]:
    """Steps/s of A and of B while both train (B in its own process)."""
    window = _window(config, threads, settings_dir, "compare")
    compare = window.insight.compare
    compare.start("loss.name", "least-squares", restart_a=False, play=True)
    b = compare.link_b
    wait_until(lambda: b is not None and b.state.ready)
    compare.play_both()
    run_for(WARMUP_S)
    a0, b0, t0 = window.link.state.step, b.state.step, time.perf_counter()
    run_for(seconds)
    wall = time.perf_counter() - t0
    rates = ((window.link.state.step - a0) / wall, (b.state.step - b0) / wall)
    window.close()
    return rates


def startup_probe() -> int:
    """In a fresh process: seconds from interpreter start to the first paint of the
    window and to the first engine frame, and whether torch got imported."""
    t_start = float(os.environ["GAN_BENCH_T0"])
    app = make_application()
    config = load_preset("ring8")
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "probe.ini"), QSettings.Format.IniFormat)
    window = MainWindow(config, "ring8", settings=settings)
    clock = PaintClock()
    window.installEventFilter(clock)
    window.show()
    first_frame: list[float] = []
    window.link.snapshot_ready.connect(lambda _: first_frame.append(time.time()))
    deadline = time.monotonic() + 60
    while not (clock.times and first_frame) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    paint = clock.times[0] - time.perf_counter() + time.time() if clock.times else float("nan")
    out = {"first_paint_s": paint - t_start,
           "first_frame_s": (first_frame[0] - t_start) if first_frame else float("nan"),
           "torch_imported": "torch" in sys.modules}
    window.close()
    print(json.dumps(out))
    return 0


def startup() -> dict[str, Any]:
    t0 = time.time()
    env = {**ENV, "GAN_BENCH_T0": repr(t0)}
    out = subprocess.run([sys.executable, "-m", "gui.bench", "--probe-startup"],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the engine")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--probe-startup", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe_startup:
        return startup_probe()
    try:
        config = load_preset(args.preset)
    except ValueError as e:
        print(f"note: {e}; using the default config", file=sys.stderr)
        config = default_config()
    make_application()
    settings_dir = tempfile.mkdtemp(prefix="gan-bench-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    print(f"preset {args.preset}: {args.rounds} rounds of {args.seconds:g} s per measurement, "
          f"{os.cpu_count()} CPUs, engine torch threads {args.threads}.")
    up = startup()
    print(f"start-up: first painted frame {up['first_paint_s']:.2f} s, first engine frame "
          f"{up['first_frame_s']:.2f} s after the interpreter started; torch imported in the "
          f"window's process: {up['torch_imported']}")
    rows: dict[str, list[float]] = {k: [] for k in ("headless", "engine", "gui", "a", "b")}
    guis: list[GuiResult] = []
    for i in range(args.rounds):
        rows["engine"].append(engine_rate(config, args.seconds, args.threads))
        # headless just before and just after the window: a shared machine's speed drifts
        # over the ~20 s between two measurements, and their mean cancels a steady drift
        before = headless_rate(args.preset, args.seconds, args.threads)
        g = gui_rate(config, args.seconds, args.threads, settings_dir)
        after = headless_rate(args.preset, args.seconds, args.threads)
        rows["headless"].append((before + after) / 2)
        guis.append(g)
        rows["gui"].append(g.steps_per_second)
        line = (f"round {i + 1}: headless {before:6.1f} / {after:6.1f} it/s (before / after "
                f"the window), engine process "
                f"(no window) {rows['engine'][-1]:6.1f}, GUI {g.steps_per_second:6.1f}; frames "
                f"{g.frames}, interval p50 {g.p50_ms:.1f} / p95 {g.p95_ms:.1f} ms; latency "
                f"p50 {g.latency_p50_ms:.0f} / p95 {g.latency_p95_ms:.0f} ms "
                f"({g.latency_n} changes); close {1000 * g.close_s:.0f} ms")
        if not args.skip_compare:
            a, b = compare_rates(config, args.seconds, args.threads, settings_dir)
            rows["a"].append(a)
            rows["b"].append(b)
            line += f"; Compare A {a:.1f}, B {b:.1f} it/s"
        print(line, flush=True)
    med = {k: float(np.median(v)) for k, v in rows.items() if v}
    ratio = float(np.median([g / h for g, h in zip(rows["gui"], rows["headless"])]))
    ratio_engine = float(np.median([g / e for g, e in zip(rows["gui"], rows["engine"])]))
    p95 = float(np.median([g.p95_ms for g in guis]))
    lat = float(np.median([g.latency_p95_ms for g in guis]))
    close = max(g.close_s for g in guis)
    print()
    print(f"headless Session.train {med['headless']:.1f} it/s; engine process without a window "
          f"{med['engine']:.1f}; GUI with every view {med['gui']:.1f} (medians)")
    print(f"GUI/headless {ratio:.3f} (target >= 0.95); GUI/engine-without-window "
          f"{ratio_engine:.3f}")
    print(f"p95 frame interval {p95:.1f} ms (target <= 40); p95 change-to-view latency "
          f"{lat:.0f} ms (target <= 100); slowest close {1000 * close:.0f} ms (target < 1000)")
    if rows["a"]:
        ra = float(np.median([a / h for a, h in zip(rows["a"], rows["headless"])]))
        rb = float(np.median([b / h for b, h in zip(rows["b"], rows["headless"])]))
        print(f"Compare: A {ra:.3f}, B {rb:.3f} of headless (target >= 0.45 each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed benchmark: does the live window slow training down, and does it stay smooth?

    python -m gui.bench [--preset ring8] [--seconds 2] [--slices 5] [--rounds 3]
                        [--threads 1] [--skip-compare]

The engine runs in its own process in every case, as in the app. Each round measures:

* **GUI against headless, in alternating slices**: one window (offscreen unless a display
  is set) with every live view on (the plane's heatmap and samples, the curves, the status
  bar), and one headless ``Session.train`` in a process of its own (``python -m
  engine.bench --rate-slices``, as a script or ``main.py --headless`` trains). They take
  turns, ``--seconds`` each: the window plays while headless waits, then the window pauses
  while headless trains. Each window slice is compared with the mean of the headless
  slices on either side of it, so a shared machine's drift (10% within 20 s is common)
  hits both alike; the figure is the median over all slices. The window's rate comes from
  the steps of the frames it paints (30 a second), its smoothness from the interval
  between paints of the plane (p95);
* where the window's cost goes (Linux): the engine's training thread's share of the time
  on a CPU, waiting for a CPU and waiting otherwise (for the interpreter lock, which any
  other Python thread of the engine takes from it), its waits per second, the CPU of the engine's other
  threads, of its frame process and of the window's process;
* the latency from a change handed over by a control (ring8's radius, alternating) to the
  first paint of a frame that shows it (p95), training at full speed, and how long
  ``close()`` takes;
* **engine, no window**: the engine process at full speed with no frames asked for;
* **Compare**: a window with run B (its own process) training beside A.

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
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402

from engine.presets import load_preset  # noqa: E402
from engine.protocol import Pause, Play  # noqa: E402

from .app import make_application  # noqa: E402
from .engine_link import EngineLink  # noqa: E402
from .main_window import MainWindow  # noqa: E402

WARMUP_S = 1.5
# a new engine's frame process imports torch and the views (~3 s of CPU) once training is
# set up: measurements of a new window (or of Compare's new run B) start after that
STARTUP_S = 4.0
SETTLE_S = 0.4  # after Play: the engine's chunks adapt and frames flow again
PAUSED_S = 0.3  # after Pause: the engine and the window go idle before headless trains
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@dataclass
class GuiRound:
    """One window's slices against headless's, and what else was measured on it."""
    gui: list[float] = field(default_factory=list)       # steps/s per window slice
    headless: list[float] = field(default_factory=list)  # steps/s per headless slice
    intervals: list[float] = field(default_factory=list)  # ms between paints of the plane
    use: list[dict[str, float]] = field(default_factory=list)  # per slice (``ThreadUse``)
    latencies: list[float] = field(default_factory=list)  # ms, change to painted frame
    close_s: float = float("nan")

    @property
    def ratios(self) -> list[float]:
        """Each window slice against the mean of the headless slices around it."""
        h = self.headless
        return [g / ((h[i] + h[i + 1]) / 2) for i, g in enumerate(self.gui)]


class Headless:
    """A headless ``Session.train`` in a process of its own that trains when told."""

    def __init__(self, preset: str, threads: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.bench", "--preset", preset, "--threads",
             str(threads), "--rate-slices"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        self._read()  # {"ready": true} once its session is built

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"headless ended (exit code {self.proc.wait()})")
        return json.loads(line)

    def rate(self, seconds: float) -> float:
        self.proc.stdin.write(f"{seconds}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return float(self._read()["steps_per_second"])

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(10)


class ThreadUse:
    """What a process's threads did between ``__init__`` and ``since()``, as the kernel
    counts it (``/proc``; Linux only, else nothing): the busiest thread (training) as
    shares of the wall time on a CPU, waiting for a CPU and waiting otherwise, its
    voluntary waits per second, and the other threads' CPU in cores."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.t0 = time.perf_counter()
        self.start = self._read()

    def _read(self) -> dict[str, tuple[float, float, int]]:
        out: dict[str, tuple[float, float, int]] = {}
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return out
        for tid in tids:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/schedstat") as f:
                    run_ns, wait_ns, _ = f.read().split()
                with open(f"/proc/{self.pid}/task/{tid}/status") as f:
                    vol = next(int(line.split()[1]) for line in f
                               if line.startswith("voluntary_ctxt_switches"))
            except (OSError, ValueError, StopIteration):
                continue
            out[tid] = (int(run_ns) / 1e9, int(wait_ns) / 1e9, vol)
        return out

    def since(self) -> dict[str, float]:
        end, wall = self._read(), time.perf_counter() - self.t0
        d = {t: tuple(b - a for a, b in zip(self.start[t], end[t]))
             for t in end if t in self.start}
        if not d or wall <= 0:
            return {}
        train = max(d, key=lambda t: d[t][0])
        run, wait, vol = d[train]
        return {"cpu": run / wall, "runqueue": wait / wall,
                "other": max(0.0, 1 - (run + wait) / wall), "waits_per_s": vol / wall,
                "others_cores": sum(v[0] for t, v in d.items() if t != train) / wall}


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


def reported_rates(links: list[EngineLink], seconds: float) -> list[float]:
    """Each engine's own speed over ``seconds``: the mean of the rates its status reports
    (4 a second, each counted on the engine's clock over half a second). Differences of
    the status's step would be off by up to a status interval at each end: +-10% over 5 s."""
    got: list[list[float]] = [[] for _ in links]
    slots = []
    for i, link in enumerate(links):
        def slot(status: Any, i: int = i) -> None:
            if status.running:
                got[i].append(float(status.steps_per_second))
        link.status_changed.connect(slot)
        slots.append(slot)
    run_for(seconds)
    for link, slot in zip(links, slots):
        link.status_changed.disconnect(slot)
    return [float(np.mean(g)) if g else float("nan") for g in got]


def engine_rate(config: dict[str, Any], seconds: float, threads: int) -> float:
    link = EngineLink(config, torch_threads=threads, autoplay=True)
    link.set_view(None)
    link.start()
    wait_until(lambda: link.state.ready)
    run_for(WARMUP_S)
    (rate,) = reported_rates([link], seconds)
    link.stop()
    return rate


def _window(config: dict[str, Any], threads: int, settings_dir: str, name: str) -> MainWindow:
    settings = QSettings(os.path.join(settings_dir, f"{name}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(config, "bench", settings=settings, torch_threads=threads)
    window.resize(1400, 900)
    window.show()
    wait_until(lambda: window.link.state.ready)
    return window


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux; none elsewhere)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def gui_slice(window: MainWindow, clock: PaintClock, seen: list[tuple[float, int]],
              seconds: float, out: GuiRound) -> None:
    """Play the window for ``seconds`` (after ``SETTLE_S``), then pause it."""
    window.link.send(Play())
    run_for(SETTLE_S)
    seen.clear()
    clock.times.clear()
    use = ThreadUse(window.link.pid)
    drawers = [ThreadUse(pid) for pid in _children(window.link.pid)]  # the frame process
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    run_for(seconds)
    usage = use.since()
    window_cores = (time.process_time() - cpu0) / (time.perf_counter() - t0)
    drawn = [d.since() for d in drawers]
    usage["drawer_cores"] = sum(d.get("cpu", 0.0) + d.get("others_cores", 0.0) for d in drawn)
    window.link.send(Pause())
    frames, paints = list(seen), list(clock.times)
    run_for(PAUSED_S)
    if len(frames) < 2 or frames[-1][0] <= frames[0][0]:
        raise RuntimeError("the window painted no frames: is the plane shown?")
    (ta, sa), (tb, sb) = frames[0], frames[-1]
    out.gui.append((sb - sa) / (tb - ta))
    out.intervals.extend(float(x) for x in np.diff(paints) * 1000)
    out.use.append({**usage, "window_cores": window_cores})


def gui_round(config: dict[str, Any], headless: Headless, slices: int, seconds: float,
              threads: int, settings_dir: str) -> GuiRound:
    out = GuiRound()
    window = _window(config, threads, settings_dir, "gui")
    clock = PaintClock()
    window.plane.plot.viewport().installEventFilter(clock)
    seen: list[tuple[float, int]] = []
    window.link.snapshot_ready.connect(lambda snap: seen.append((time.perf_counter(), snap.step)))
    gui_slice(window, clock, seen, STARTUP_S, GuiRound())  # warm-up, not counted
    out.headless.append(headless.rate(seconds))
    for _ in range(slices):
        gui_slice(window, clock, seen, seconds, out)
        out.headless.append(headless.rate(seconds))
    window.link.send(Play())
    run_for(WARMUP_S)
    out.latencies = measure_latency(window, clock, seconds=max(3.0, 1.5 * seconds))
    t1 = time.perf_counter()
    window.close()
    out.close_s = time.perf_counter() - t1
    return out


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
    run_for(STARTUP_S)
    a, b_rate = reported_rates([window.link, b], seconds)
    window.close()
    return a, b_rate


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


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="length of one slice (window or headless) and of other measurements "
                         "(x 2.5)")
    ap.add_argument("--slices", type=int, default=5, help="window slices per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the engine")
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--probe-startup", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe_startup:
        return startup_probe()
    if args.seconds <= 0 or args.slices < 1 or args.rounds < 1:
        ap.error("--seconds must be positive, --slices and --rounds at least 1")
    try:
        config = load_preset(args.preset)
    except ValueError as e:  # headless (its own process) loads the same name
        print(f"python -m gui.bench: {e}", file=sys.stderr)
        return 2
    make_application()
    settings_dir = tempfile.mkdtemp(prefix="gan-bench-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    print(f"preset {args.preset}: {args.rounds} rounds of {args.slices} window slices of "
          f"{args.seconds:g} s between headless ones, {os.cpu_count()} CPUs, engine torch "
          f"threads {args.threads}.")
    up = startup()
    print(f"start-up: first painted frame {up['first_paint_s']:.2f} s, first engine frame "
          f"{up['first_frame_s']:.2f} s after the interpreter started; torch imported in the "
          f"window's process: {up['torch_imported']}")
    long_s = 2.5 * args.seconds
    rounds: list[GuiRound] = []
    engine_ratios: list[float] = []
    compare: list[tuple[float, float]] = []
    headless = Headless(args.preset, args.threads)
    try:
        for i in range(args.rounds):
            r = gui_round(config, headless, args.slices, args.seconds, args.threads,
                          settings_dir)
            rounds.append(r)
            before = headless.rate(long_s)
            engine = engine_rate(config, long_s, args.threads)
            after = headless.rate(long_s)
            engine_ratios.append(engine / ((before + after) / 2))
            line = (f"round {i + 1}: headless {np.median(r.headless):6.1f} it/s, window "
                    f"{np.median(r.gui):6.1f} (slice ratios "
                    + " ".join(f"{x:.3f}" for x in r.ratios)
                    + f"); frames p50 {_pct(r.intervals, 50):.1f} / p95 "
                    f"{_pct(r.intervals, 95):.1f} ms; latency p50 {_pct(r.latencies, 50):.0f}"
                    f" / p95 {_pct(r.latencies, 95):.0f} ms ({len(r.latencies)} changes); "
                    f"close {1000 * r.close_s:.0f} ms; engine process without a window "
                    f"{engine:6.1f} ({engine_ratios[-1]:.3f} of headless)")
            if not args.skip_compare:
                h0 = headless.rate(long_s)
                a, b = compare_rates(config, long_s, args.threads, settings_dir)
                h1 = headless.rate(long_s)
                compare.append((a / ((h0 + h1) / 2), b / ((h0 + h1) / 2)))
                line += f"; Compare A {a:.1f}, B {b:.1f} it/s"
            print(line, flush=True)
    finally:
        headless.close()
    ratios = [x for r in rounds for x in r.ratios]
    intervals = [x for r in rounds for x in r.intervals]
    latencies = [x for r in rounds for x in r.latencies]
    print()
    print(f"GUI/headless {np.median(ratios):.3f} (target >= 0.95; median of {len(ratios)} "
          f"slice ratios, quartiles {_pct(ratios, 25):.3f}-{_pct(ratios, 75):.3f}); engine "
          f"process without a window {np.median(engine_ratios):.3f} of headless")
    print(f"p95 frame interval {_pct(intervals, 95):.1f} ms (target <= 40; p50 "
          f"{_pct(intervals, 50):.1f}); p95 change-to-view latency {_pct(latencies, 95):.0f} ms "
          f"(target <= 100); slowest close {1000 * max(r.close_s for r in rounds):.0f} ms "
          f"(target < 1000)")
    use = [u for r in rounds for u in r.use if "cpu" in u]
    if use:
        med = {k: float(np.median([u[k] for u in use])) for k in use[0]}
        print(f"while the window trains, the engine's training thread is on a CPU "
              f"{100 * med['cpu']:.1f}% of the time, waits for a CPU {100 * med['runqueue']:.1f}%"
              f" and waits otherwise (the interpreter lock) {100 * med['other']:.1f}% "
              f"({med['waits_per_s']:.0f} waits a second); the engine's other threads use "
              f"{med['others_cores']:.3f} of a core, its frame process "
              f"{med['drawer_cores']:.2f}, the window's process {med['window_cores']:.2f}")
    if compare:
        print(f"Compare: A {np.median([c[0] for c in compare]):.3f}, B "
              f"{np.median([c[1] for c in compare]):.3f} of headless (target >= 0.45 each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

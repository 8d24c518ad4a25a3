"""The engine in its own process, seen from the window: no torch in the window's process,
messages in order, a dead engine reported within a second with a restart from the
autosave, a close within a second whatever the engine does, and no engine left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine import protocol as P
from gui.engine_link import EMPTY_VIEW, EngineLink, merge_requests

from .conftest import small_config

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20_000


def test_the_windows_process_never_imports_torch(tmp_path):
    """Every gui module imported, a window built, shown and training for a few frames."""
    script = textwrap.dedent("""
        import os, pkgutil, importlib, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import gui
        for m in pkgutil.walk_packages(gui.__path__, "gui."):
            if not m.name.endswith("bench"):
                importlib.import_module(m.name)
        from PySide6.QtCore import QSettings
        from gui.app import make_application
        from gui.main_window import MainWindow
        from engine.config import default_config, with_changes
        from engine.protocol import Play
        app = make_application()
        cfg = with_changes(default_config(), {"generator.hidden": [8],
                           "discriminator.hidden": [8], "train.batch_size": 32})
        w = MainWindow(cfg, "t", settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
        w.show()
        frames = []
        w.link.snapshot_ready.connect(lambda s: frames.append(s.step))
        end = time.monotonic() + 60
        while not w.link.state.ready and time.monotonic() < end:
            app.processEvents(); time.sleep(0.005)
        w.link.send(Play())
        while (len(frames) < 5 or max(frames) < 3) and time.monotonic() < end:
            app.processEvents(); time.sleep(0.005)
        w.close()
        print(len(frames), max(frames), "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.ini")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    n, last, torch_loaded = out.stdout.split()
    assert int(n) >= 5 and int(last) >= 3  # it really trained and drew
    assert torch_loaded == "False"


class FakeConnection:
    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages
        self.sent: list[Any] = []

    def receive(self) -> list[Any]:
        out, self.messages = self.messages, []
        return out

    def send(self, msg: Any) -> None:
        self.sent.append(msg)

    def pending(self) -> bool:
        return bool(self.messages)

    def close(self) -> None:
        pass


def test_a_message_that_arrives_during_a_round_is_read_without_waiting_for_the_timer(qtbot):
    """The socket's notification is an edge that a send can take: a message that came in
    while the window sent its frame credit is read at once, not at the next timer tick."""
    link = EngineLink(small_config())
    steps: list[int] = []
    link.status_changed.connect(lambda ev: steps.append(ev.step))

    class ArrivesDuringTheCredit(FakeConnection):
        def send(self, msg: Any) -> None:
            super().send(msg)
            if isinstance(msg, P.FrameWanted) and not steps:
                self.messages.append(P.Status(7, 0, 0, "", ""))

    frame = P.Frame(P.Snapshot(1, np.zeros((0, 2)), np.zeros((0, 2)), None, (0, 1, 0, 1), True))
    link.conn = ArrivesDuringTheCredit([frame])
    assert not link.timer.isActive()  # only the round itself can pick the message up
    link.tick()
    qtbot.waitUntil(lambda: steps == [7], timeout=2000)


def test_a_new_session_shows_its_step_with_its_config_not_at_the_next_status(qtbot):
    """'Start fresh' or a reset: the step read-out follows Applied at once (a test read
    step 168 after the fresh start, between the engine's Applied and its next status);
    an Applied from a sender that does not say its step (-1) leaves the step alone."""
    link = EngineLink(small_config())
    link.conn = FakeConnection([P.Status(168, 0, 0, "", ""), P.ResetDone({}),
                                P.Applied({}, {"seed": 7}, 0)])
    link.tick()
    assert link.state.step == 0 and link.state.config == {"seed": 7}
    link.conn = FakeConnection([P.Status(30, 0, 0, "", ""), P.Applied({"x": 1}, {"seed": 7})])
    link.tick()
    assert link.state.step == 30


def test_rows_and_events_reach_the_views_in_the_engines_order(qtbot):
    link = EngineLink(small_config())
    seen: list[Any] = []
    link.metrics_received.connect(lambda rows: seen.append(("rows", rows[:, 0].tolist())))
    link.applied.connect(lambda ev: seen.append(("applied", list(ev.changes))))
    link.reset_done.connect(lambda ev: seen.append(("reset", None)))
    row = lambda step: np.full((1, 16), float(step))  # noqa: E731
    link.conn = FakeConnection([
        P.MetricsChunk(row(1)), P.MetricsChunk(row(2)), P.Applied({"data.name": "moons"}, {}),
        P.MetricsChunk(row(3)), P.ResetDone({}), P.MetricsChunk(row(1)), P.Status(1, 0, 0, "", ""),
        P.Frame(P.Snapshot(1, np.zeros((0, 2)), np.zeros((0, 2)), None, (0, 1, 0, 1), True)),
    ])
    link.tick()
    assert seen == [("rows", [1.0, 2.0]), ("applied", ["data.name"]), ("rows", [3.0]),
                    ("reset", None), ("rows", [1.0])]
    assert any(isinstance(m, P.FrameWanted) for m in link.conn.sent)  # credit for the next


def test_view_needs_merge_and_leave_nothing_behind():
    plane = P.ViewRequest(grid=64)
    link = EngineLink(small_config(), view=plane)
    link.set_view_need("insight", merge_requests([EMPTY_VIEW, P.ViewRequest(
        n_fake=0, n_real=0, heatmap=False, grid=0, dstar=True, arrows=True)]))
    assert link.view.dstar and link.view.arrows and link.view.grid == 64 and link.view.n_fake == 512
    link.set_view_need("insight", None)
    assert link.view == plane


def _window_with_autosave(make_window: Any, tmp_path: Path, qtbot: Any) -> Any:
    window = make_window()
    assert window.keeper.arm(tmp_path / "data", interval_ms=10_000_000, offer_restore=False)
    window.link.send(P.Play())
    qtbot.waitUntil(lambda: window.link.state.step >= 30, timeout=TIMEOUT)
    window.link.send(P.Pause())
    qtbot.waitUntil(lambda: not window.link.state.running, timeout=TIMEOUT)
    assert window.keeper.autosave()
    qtbot.waitUntil(lambda: window.keeper.autosaved_step is not None, timeout=TIMEOUT)
    return window


def test_a_killed_engine_is_reported_within_a_second_and_restarts_from_the_autosave(
        qtbot, make_window, tmp_path, answers):
    window = _window_with_autosave(make_window, tmp_path, qtbot)
    saved = window.keeper.autosaved_step
    window.link.send(P.Play())
    qtbot.waitUntil(lambda: window.link.state.step > saved + 20, timeout=TIMEOUT)
    t0 = time.monotonic()
    with qtbot.waitSignal(window.link.engine_died, timeout=5000) as died:
        os.kill(window.link.pid, signal.SIGKILL)
    assert time.monotonic() - t0 < 1.0
    assert died.args[0].signal_name == "SIGKILL"
    text = window.message.text()
    assert "engine stopped" in text and "SIGKILL" in text
    assert not window.transport.actions["play"].isChecked()
    buttons = window.message.action_buttons()
    assert [b.text() for b in buttons] == [f"Restart from the autosave (step {saved:,})",
                                           "Restart fresh"]
    qtbot.mouseClick(buttons[0], qtbot_button())
    qtbot.waitUntil(lambda: window.link.alive and window.link.state.ready, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.link.state.step == saved
                    and "Opened the autosaved session" in window.message.text(), timeout=TIMEOUT)
    window.link.send(P.Play())
    qtbot.waitUntil(lambda: window.link.state.step > saved + 5, timeout=TIMEOUT)


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_closing_during_a_long_step_takes_under_a_second(qtbot, make_window, tmp_path,
                                                         monkeypatch):
    """The first FID step trains the quality classifier (seconds): close meanwhile."""
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path / "fresh-cache"))
    window = make_window(config=small_config(**{
        "data.name": "digits", "data.size": 8, "generator.arch": "dcgan",
        "discriminator.arch": "dcgan", "generator.width": 4, "discriminator.width": 4,
        "train.batch_size": 16, "train.metrics_every": 1, "train.metrics_samples": 100}))
    progress: list[Any] = []
    window.link.progress_reported.connect(progress.append)
    window.link.send(P.Step())
    qtbot.waitUntil(lambda: bool(progress) and progress[-1].fraction < 1.0, timeout=TIMEOUT)
    pid = window.link.pid
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 1.0
    assert not _alive(pid)


def test_killing_the_windows_process_ends_its_engine_within_two_seconds(tmp_path):
    """...and the engine's frame process with it (the app's default: on here)."""
    script = textwrap.dedent("""
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QSettings
        from gui.app import make_application
        from gui.main_window import MainWindow
        from engine.config import default_config, with_changes
        from engine.protocol import Play
        app = make_application()
        cfg = with_changes(default_config(), {"generator.hidden": [8],
                           "discriminator.hidden": [8], "train.batch_size": 32})
        w = MainWindow(cfg, "t", settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
        w.show()
        while not w.link.state.ready:
            app.processEvents(); time.sleep(0.005)
        w.link.send(Play())
        print(w.link.pid, flush=True)
        while True:
            app.processEvents(); time.sleep(0.005)
    """)
    gui_proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "s.ini")],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1",
                                     "GAN_PLAYGROUND_FRAME_PROCESS": "1"})
    try:
        engine_pid = int(gui_proc.stdout.readline())
        t0 = time.monotonic()
        while not _children(engine_pid) and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        (drawer_pid,) = _children(engine_pid)  # the frame process
        assert _alive(engine_pid) and _alive(drawer_pid)
        args = Path(f"/proc/{engine_pid}/cmdline").read_bytes().split(b"\0")
        listen = args[args.index(b"--listen") + 1].decode()
        folder = Path(listen.removeprefix("ipc://")).parent
        assert folder.name.startswith("gan-playground-") and folder.is_dir()
        gui_proc.kill()
        gui_proc.wait(5)
        t0 = time.monotonic()
        while (_alive(engine_pid) or _alive(drawer_pid)) and time.monotonic() - t0 < 5:
            time.sleep(0.02)
        assert not _alive(engine_pid), "the engine outlived its window"
        assert not _alive(drawer_pid), "the frame process outlived its engine"
        assert time.monotonic() - t0 < 2.0
        # nobody is left to remove the engine's private folder but the engine itself
        assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    finally:
        if gui_proc.poll() is None:
            gui_proc.kill()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_an_engine_that_ends_on_its_own_is_reported(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.link.engine_died, timeout=5000) as died:
        os.kill(window.link.pid, signal.SIGTERM)  # ends cleanly, but nobody asked it to
    # its Bye says why (the message read "the engine process exited"); it did not crash
    assert died.args[0].describe() == "the engine process exited (SIGTERM where it runs)"
    assert not died.args[0].report
    assert "engine stopped" in window.message.text()
    assert [b.text() for b in window.message.action_buttons()] == ["Restart fresh"]


def test_play_and_changes_while_the_engine_is_dead_are_refused_not_lost(qtbot, make_window):
    """With the engine dead, Play stays unpressed and a change is not shown as applying
    (Play showed "Pause" with no engine, and after "Restart fresh" the new engine's
    "paused" was taken for an old status, so the user had to press Play twice); the speed
    read-out says stopped, not the dead run's last figure; after the restart one Play
    trains."""
    window = make_window()
    window.transport.request_running(True)
    qtbot.waitUntil(lambda: window.link.state.running, timeout=TIMEOUT)
    loss = window.config["loss"]["name"]
    window.apply_changes({"loss.name": "hinge" if loss != "hinge" else "least-squares"})
    markers = window.insight.divergences.markers
    qtbot.waitUntil(lambda: len(markers.entries) == 1, timeout=TIMEOUT)
    with qtbot.waitSignal(window.link.engine_died, timeout=5000):
        os.kill(window.link.pid, signal.SIGKILL)
    assert window.readout.labels["rate"].text() == "stopped"
    window.transport.actions["play"].trigger()
    assert not window.transport.actions["play"].isChecked()
    assert "engine is not running" in window.statusBar().currentMessage()
    loss = window.config["loss"]["name"]
    window.apply_changes({"loss.name": "hinge" if loss != "hinge" else "least-squares"})
    assert "Applying" not in window.statusBar().currentMessage()
    assert "engine stopped" in window.message.text()  # the restart offer stays
    restart = [b for b in window.message.action_buttons() if b.text() == "Restart fresh"]
    qtbot.mouseClick(restart[0], qtbot_button())
    qtbot.waitUntil(lambda: window.link.alive and window.link.state.ready, timeout=TIMEOUT)
    qtbot.wait(300)  # the new engine's first statuses
    assert not window.transport.actions["play"].isChecked()
    # the dead run's change markers are gone from every plot, not only the curves'
    assert markers.entries == () and window.curves.markers.entries == ()
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.link.state.running, timeout=TIMEOUT)
    assert window.transport.actions["play"].isChecked()


def test_the_window_paints_before_the_games_lab_is_imported(tmp_path):
    """The games (scipy's integrators and special functions) load when the preset library
    or the Games lab opens, not before the window's first paint (they were a third of the
    window's import time)."""
    script = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QSettings
        from gui.app import make_application
        from gui.main_window import MainWindow
        from engine.config import default_config
        app = make_application()
        w = MainWindow(default_config(), "t", start=False,
                       settings=QSettings(sys.argv[1], QSettings.Format.IniFormat))
        w.show()
        app.processEvents()
        print("engine.games" in sys.modules)
        w.close()
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s.ini")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False"


def _kill_engine(window: Any, qtbot: Any) -> None:
    with qtbot.waitSignal(window.link.engine_died, timeout=5000):
        os.kill(window.link.pid, signal.SIGKILL)


def _restart(window: Any, qtbot: Any, label: str) -> None:
    button = [b for b in window.message.action_buttons() if b.text().startswith(label)]
    qtbot.mouseClick(button[0], qtbot_button())
    qtbot.waitUntil(lambda: window.link.alive and window.link.state.ready, timeout=TIMEOUT)


def test_restart_fresh_keeps_the_stopped_runs_autosave_and_autosave_runs_again(
        qtbot, answers, make_window, tmp_path):
    """Found by a fault hunt: an autosave in flight when the engine died left autosave off
    for good (1,600 more steps, the file stayed at step 60), and Restart fresh overwrote the
    crashed run's autosave with a step-0 session at the next tick, nothing trained."""
    from gui.autosave import KEPT_PREFIX, header_step

    window = _window_with_autosave(make_window, tmp_path, qtbot)
    keeper, saved = window.keeper, window.keeper.autosaved_step
    path = keeper.autosave_path
    keeper._state = (saved + 1, 0, 0)  # training moved: the next tick saves...
    assert keeper.autosave()  # ...and that save is in flight when the engine dies
    _kill_engine(window, qtbot)
    _restart(window, qtbot, "Restart fresh")
    (kept,) = path.parent.glob(f"{KEPT_PREFIX}*.safetensors")
    assert header_step(kept) == saved and str(kept) in window.message.text()
    qtbot.wait(300)
    assert not keeper.autosave()  # nothing trained yet: nothing written over anything
    window.link.send(P.Play())
    qtbot.waitUntil(lambda: window.link.state.step >= 10, timeout=TIMEOUT)
    assert keeper.autosave()  # not stuck on the save that died
    qtbot.waitUntil(lambda: path.is_file() and header_step(path) >= 10, timeout=TIMEOUT)
    assert header_step(kept) == saved
    # a second crash and Restart fresh keeps that run too, beside the first
    second = header_step(path)
    _kill_engine(window, qtbot)
    _restart(window, qtbot, "Restart fresh")
    kept_now = sorted(path.parent.glob(f"{KEPT_PREFIX}*.safetensors"))
    assert len(kept_now) == 2 and sorted(header_step(k) for k in kept_now) == sorted([saved, second])


def test_file_actions_while_the_engine_is_dead_are_refused_and_a_restart_is_no_load(
        qtbot, make_window, tmp_path):
    """Found by a fault hunt: Save session/generator and Export with no engine were dropped
    without a word, and a preset opened while the engine was dying was reported as loaded
    when the next engine started (its replay taken for the load's answer)."""
    from engine.presets import load_preset
    from gui.file_actions import _Load, _Preset

    window = make_window()
    preset = window.document.preset_name
    lines = _Preset("lines_js", None, load_preset("lines_js"))
    window.files._loads.append(_Load("preset", "lines_js", 0, lines))  # a load on its way...
    _kill_engine(window, qtbot)  # ...when the engine dies
    assert not window.files.loading
    for name, act in (
            ("Save session", lambda: window.files.save_session(str(tmp_path / "s.safetensors"))),
            ("Save generator", lambda: window.files.save_generator(str(tmp_path / "g.safetensors"))),
            ("Export metrics", lambda: window.files.export_metrics(str(tmp_path / "m.csv"))),
            ("Open preset", lambda: window.files.open_preset("lines_js", keep=False))):
        window.statusBar().clearMessage()
        act()
        assert "engine is not running" in window.statusBar().currentMessage()
        # said where there is room, the restart offer kept (the status bar read "Not d…above")
        assert f"{name} was not done: there is no engine" in window.message.text()
        assert [b.text() for b in window.message.action_buttons()][-1] == "Restart fresh"
    _restart(window, qtbot, "Restart fresh")
    qtbot.wait(500)
    assert "Loaded the preset" not in window.message.text()
    assert not list(tmp_path.glob("*.safetensors")) and not (tmp_path / "m.csv").exists()
    assert window.document.preset_name == preset != "lines_js"


def test_a_crashed_engine_leaves_a_crash_report_named_in_the_message(qtbot, make_window):
    """README promised one (Troubleshooting); the log, with any traceback, was deleted."""
    window = make_window()
    with qtbot.waitSignal(window.link.engine_died, timeout=5000) as died:
        os.kill(window.link.pid, signal.SIGSEGV)
    report = Path(died.args[0].report)
    assert report.is_file() and report.parent.name == "crash-reports"
    text = report.read_text()
    assert "ended by SIGSEGV" in text
    assert str(report) in window.message.text()



def test_ctrl_c_in_the_terminal_closes_the_app_and_its_engine(tmp_path):
    """Found by a fault hunt: SIGINT showed "Internal error: KeyboardInterrupt" in the
    window, which kept running. Now it closes as the close button does (nothing unsaved
    here, so no question), cleanly: the crash marker is removed, the engine ends."""
    script = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QTimer
        from gui import app as app_module
        from engine.config import default_config, with_changes
        cfg = with_changes(default_config(), {"generator.hidden": [8],
                           "discriminator.hidden": [8], "train.batch_size": 32})
        real = app_module.MainWindow
        def made(*args, **kwargs):
            w = real(*args, **kwargs)
            def ready():
                if w.link.state.ready:
                    print(w.link.pid, flush=True)
                else:
                    QTimer.singleShot(20, ready)
            ready()
            return w
        app_module.MainWindow = made
        sys.exit(app_module.run_app(cfg, None))
    """)
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1",
                                 "GAN_PLAYGROUND_DATA_DIR": str(data),
                                 "XDG_CONFIG_HOME": str(tmp_path / "config")})
    try:
        engine_pid = int(proc.stdout.readline())
        assert (data / "running.json").is_file()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Internal error" not in err and "KeyboardInterrupt" not in err, err
        assert not (data / "running.json").exists()  # a clean close, not a crash
        t0 = time.monotonic()
        while _alive(engine_pid) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        assert not _alive(engine_pid)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_killed_engine_leaves_no_socket_folder_behind(qtbot, make_window, tmp_path,
                                                        monkeypatch):
    """Found by a fault hunt: each engine killed with SIGKILL, SIGSEGV or SIGABRT left its
    frame process's gan-frames-* folder in the temp folder for good."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # where the engine makes its folders
    monkeypatch.setenv("GAN_PLAYGROUND_FRAME_PROCESS", "1")
    window = make_window()
    engine_pid = window.link.pid
    folder = Path(window.link.process.address[len("ipc://"):]).parent
    t0 = time.monotonic()
    while not _children(engine_pid) and time.monotonic() - t0 < 60:
        qtbot.wait(50)
    assert _children(engine_pid), "the frame process did not start"
    with qtbot.waitSignal(window.link.engine_died, timeout=5000):
        os.kill(engine_pid, signal.SIGKILL)
    assert not folder.exists()
    assert not list(temp.glob("gan-frames-*"))


def test_an_engine_the_window_ends_itself_leaves_no_crash_report():
    """A stop the window forces (SIGTERM, then SIGKILL, on close or restart) is no crash: it
    wrote a crash report nobody was told of (review)."""
    from gui.engine_client import EngineProcess

    proc = EngineProcess(small_config())
    ended = proc.end(grace=0.0)  # still importing torch: SIGTERM ends it at once
    assert ended.signal_name in ("SIGTERM", "SIGKILL") or ended.code is not None
    assert ended.report == ""

"""Steering an engine started with ``main.py serve``: attach, steer, detach (it trains on),
attach again (the whole history comes back), a second window refused, saves written on
the window's machine, files opened from it, and a silent engine reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import protocol as P
from gui import dialogs

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30_000
TINY = ["--set", "generator.hidden=[8]", "--set", "discriminator.hidden=[8]",
        "--set", "train.batch_size=32", "--set", "train.metrics_every=0"]


@pytest.fixture
def served(tmp_path):
    """A ``main.py serve`` engine on a free port; yields (connection string, process)."""
    conn = tmp_path / "engine.json"
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--preset", "ring8",
                             "--listen", "127.0.0.1:0", "--connection-file", str(conn), *TINY],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while not conn.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert conn.exists(), proc.stdout.read() if proc.poll() is not None else "no file"
    assert oct(conn.stat().st_mode & 0o777) == "0o600"  # the key is a password
    yield json.loads(conn.read_text())["connection"], proc, conn
    proc.terminate()
    proc.wait(10)


def attach(qtbot, window, text):
    assert window.attach_engine(text)
    qtbot.waitUntil(lambda: window.link.state.ready and window.link.remote is not None,
                    timeout=TIMEOUT)


def test_attach_steer_detach_and_attach_again(qtbot, make_window, served, tmp_path):
    text, proc, conn = served
    window = make_window()
    local_pid = window.link.pid
    attach(qtbot, window, str(conn))  # the connection file works as well as the string
    assert window.link.process is None and not _alive(local_pid)  # the window's own ended
    assert "attached to 127.0.0.1" in window.windowTitle()
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "loss.name" in ev.changes):
        window.apply_changes({"loss.name": "hinge"})
    window.link.send(P.Play())
    qtbot.waitUntil(lambda: window.link.state.step >= 20, timeout=TIMEOUT)
    window.detach_engine()
    assert window.link.remote is None and window.link.process is not None
    # the served engine's steps go on there: attaching again is not "losing" them
    assert window.keeper.unsaved_steps == 0
    qtbot.waitUntil(lambda: window.link.state.ready, timeout=TIMEOUT)
    step_at_detach = 20
    time.sleep(1.0)  # the served engine trains on alone
    attach(qtbot, window, text)
    assert window.link.state.config["loss"]["name"] == "hinge"
    qtbot.waitUntil(lambda: window.link.state.step > step_at_detach + 5, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.link.state.rows > step_at_detach, timeout=TIMEOUT)
    assert window.curves.series.column("step").size >= step_at_detach  # the history replayed
    assert proc.poll() is None


def test_a_second_window_is_refused_and_keeps_its_own_engine(qtbot, make_window, served):
    text, proc, _ = served
    first = make_window()
    attach(qtbot, first, text)
    second = make_window()
    assert second.attach_engine(text)
    qtbot.waitUntil(lambda: "refused this window" in second.message.text(), timeout=TIMEOUT)
    assert "another window" in second.message.text()
    qtbot.waitUntil(lambda: second.link.remote is None and second.link.state.ready,
                    timeout=TIMEOUT)
    first.link.send(P.Step())
    qtbot.waitUntil(lambda: first.link.state.step >= 1, timeout=TIMEOUT)


def test_saves_land_on_the_windows_machine_and_local_files_open_remotely(
        qtbot, make_window, served, tmp_path):
    text, _, _ = served
    window = make_window()
    attach(qtbot, window, text)
    window.link.send(P.Step())
    qtbot.waitUntil(lambda: window.link.state.step >= 1, timeout=TIMEOUT)
    for what, save in (("session", window.files.save_session),
                       ("generator", window.files.save_generator)):
        path = tmp_path / f"mine-{what}.safetensors"
        with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT) as saved:
            save(str(path))
        assert saved.args[0].path == str(path) and path.stat().st_size > 1000
    samples = tmp_path / "s.npy"
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        window.files.export_samples(str(samples), n=50)
    assert np.load(samples).shape == (50, 2)
    from engine import Session

    assert Session.load(str(tmp_path / "mine-session.safetensors")).step == 1
    # a generator file from this machine opens in the remote engine
    with qtbot.waitSignal(window.link.reset_done, timeout=TIMEOUT):
        window.files.open_generator(str(tmp_path / "mine-generator.safetensors"))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT) as rejected:
        window.files.open_session(str(bad))
    assert "bad.safetensors" in rejected.args[0].message and "/tmp/gan-load" not in \
        rejected.args[0].message


def test_an_engine_that_stops_answering_is_reported(qtbot, make_window, served, monkeypatch):
    import gui.engine_link as link_module

    monkeypatch.setattr(link_module, "LOST_AFTER_S", 1.5)
    text, proc, _ = served
    window = make_window()
    attach(qtbot, window, text)
    proc.kill()
    with qtbot.waitSignal(window.link.engine_died, timeout=TIMEOUT) as died:
        pass
    assert "stopped answering" in died.args[0].describe()
    assert "engine stopped" in window.message.text()


def test_a_bad_connection_is_one_line_and_changes_nothing(qtbot, make_window, monkeypatch):
    window = make_window()
    pid = window.link.pid
    for text in ("tcp://127.0.0.1:5557", "gan+tcp://127.0.0.1:5557", "gan+tcp://nohost?key=ab",
                 "/no/such/file.json"):
        assert not window.attach_engine(text)
        assert window.message.text().startswith("Could not attach:")
    assert window.link.pid == pid and window.link.remote is None


def test_attaching_over_unsaved_training_asks_first(qtbot, make_window, served, monkeypatch):
    text, _, _ = served
    window = make_window()
    window.link.send(P.Step())
    qtbot.waitUntil(lambda: window.keeper.unsaved_steps >= 1, timeout=TIMEOUT)
    asked = []
    monkeypatch.setattr(dialogs, "ask_leave_engine", lambda *a: asked.append(a[1]) or False)
    assert not window.attach_engine(text) and asked == [1]
    assert window.link.remote is None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_served_engine_stopped_with_ctrl_c_is_reported_at_once_with_why(
        qtbot, make_window, served):
    """Its Bye was thrown away: the window waited LOST_AFTER_S (10 s) and then said it
    "stopped answering", as after a kill -9 (found by a fault hunt)."""
    text, proc, _ = served
    window = make_window()
    attach(qtbot, window, text)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    with qtbot.waitSignal(window.link.engine_died, timeout=5000) as died:
        pass
    assert time.monotonic() - t0 < 3.0
    assert "Ctrl+C (SIGINT) where it runs" in died.args[0].describe()
    assert "stopped answering" not in window.message.text()

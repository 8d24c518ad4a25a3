"""The engine process trains on one Python thread, which also tends the socket.

Any other thread of the engine that runs Python takes the interpreter lock from training
(a socket thread that woke ~100 times a second cost training 3% of its time in lock waits
alone). So while a window takes frames, no other Python thread of the engine may wake
often; and when the training thread is inside something long, the main thread still
answers the window.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zmq

from engine import protocol as P
from engine.config import default_config, with_changes

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"device": "cpu", "generator.hidden": [32], "discriminator.hidden": [32],
         "train.batch_size": 64}


def _tasks(pid: int) -> dict[int, tuple[str, int, int]]:
    """tid -> (name, CPU ticks, wake-ups) of each thread of ``pid`` (Linux ``/proc``)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            stat = Path(f"{base}/stat").read_text()
            status = Path(f"{base}/status").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        wakes = sum(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt")))
        out[int(tid)] = (name, ticks, wakes)
    return out


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


class Window:
    """A bare window: attaches, asks for every frame it gets another."""

    def __init__(self, address: str, key: bytes) -> None:
        self.key = key
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)
        self.frames = 0

    def send(self, msg) -> None:
        self.sock.send_multipart(P.encode(msg, self.key))

    def run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.sock.poll(20):
                msg = P.decode(self.sock.recv_multipart(), self.key)
                if isinstance(msg, P.Frame):
                    self.frames += 1
                    self.send(P.FrameWanted(1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_while_a_window_takes_frames_no_other_python_thread_of_the_engine_wakes_often(tmp_path):
    key = secrets.token_bytes(32)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(with_changes(default_config(), SMALL)))
    env = {**os.environ, "GAN_PLAYGROUND_KEY": key.hex(), "OMP_NUM_THREADS": "1",
           "GAN_PLAYGROUND_FRAME_PROCESS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.server", "--listen",
                             "tcp://127.0.0.1:*", "--config", str(cfg)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        w = Window(info["address"], key)
        w.send(P.Hello())
        w.send(P.SetView(P.ViewRequest(n_fake=128, n_real=128, grid=32)))
        w.send(P.FrameWanted(2))
        w.send(P.Play())
        # until the frame process is ready (it starts once training is set up and imports
        # torch and the views first), frames are drawn on the main thread: measure once
        # half a second has passed with the main thread nearly asleep (at most 60 s)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            wakes = _tasks(proc.pid)[proc.pid][2]
            w.run(0.5)
            if _tasks(proc.pid)[proc.pid][2] - wakes < 15 and _children(proc.pid):
                break
        before, frames = _tasks(proc.pid), w.frames
        w.run(2.0)
        after = _tasks(proc.pid)
        assert w.frames - frames > 20  # frames came the whole time
        main_name = after[proc.pid][0]
        python = {tid: (after[tid][1] - before[tid][1], after[tid][2] - before[tid][2])
                  for tid in after if tid in before and after[tid][0] == main_name}
        trainer = max(python, key=lambda t: python[t][0])
        assert python[trainer][0] > 100  # on a CPU for more than half of the 2 s (100 Hz)
        others = {tid: wakes for tid, (_, wakes) in python.items() if tid != trainer}
        assert proc.pid in others  # the training thread is not the main thread
        # the main thread naps 0.1 s at a time (20 wake-ups in 2 s); a socket thread woke
        # 3-4 times a frame (~200)
        assert max(others.values()) < 60, others
    finally:
        proc.kill()
        proc.wait(10)


def test_the_window_is_answered_while_a_training_step_takes_seconds(monkeypatch):
    """The training thread tends the socket between iterations; inside a long one (a big
    network, the first FID classifier), the main thread answers instead."""
    from engine.server import EngineServer
    from engine.session import Session

    slow = threading.Event()
    real = Session._iteration

    def iteration(self) -> None:
        if slow.is_set():
            time.sleep(3.0)  # the interpreter lock is free: only the thread is away
        real(self)

    monkeypatch.setattr(Session, "_iteration", iteration)
    key = b"k" * 32
    server = EngineServer("tcp://127.0.0.1:*", key, with_changes(default_config(), SMALL),
                          with_frame_process=False)
    serving = threading.Thread(target=server.serve, daemon=True)
    serving.start()
    w = Window(server.address, key)
    try:
        w.send(P.Hello())
        assert w.sock.poll(30_000)
        assert isinstance(P.decode(w.sock.recv_multipart(), key), P.Welcome)
        slow.set()
        w.send(P.Play())
        time.sleep(1.5)  # inside a slow iteration by now
        while w.sock.poll(0):
            w.sock.recv_multipart()
        t0 = time.monotonic()
        w.send(P.Hello())  # answered with a Welcome at once, before any replay
        got = None
        while time.monotonic() - t0 < 5 and got is None:
            if w.sock.poll(20):
                msg = P.decode(w.sock.recv_multipart(), key)
                got = msg if isinstance(msg, P.Welcome) else None
        waited = time.monotonic() - t0
        assert got is not None and got.accepted
        assert waited < 2.0, waited  # not at the end of the 3 s iteration
        t0 = time.monotonic()
        w.send(P.Shutdown())
        serving.join(3.0)
        assert not serving.is_alive()
        assert time.monotonic() - t0 < 1.5
    finally:
        slow.clear()
        server.stop("test over")
        serving.join(3.0)
        w.sock.close(0)


def test_a_command_taken_in_a_pump_is_answered_before_the_next_iteration(monkeypatch):
    """The training thread pumps, handles what the pump brought, and pumps again before it
    trains on: with iterations of a fifth of a second, a change's ``Applied`` (and the frame
    after it) used to wait for one more iteration."""
    from engine.mirror import Mirror
    from engine.runner import Runner
    from engine.session import Session

    log: list = []
    real = Session._iteration

    def iteration(self) -> None:
        log.append("iteration")
        real(self)

    monkeypatch.setattr(Session, "_iteration", iteration)

    class Pump:
        def __init__(self) -> None:
            self.runner: Runner | None = None
            self.sent = False

        def pump(self, timeout: float) -> None:
            r = self.runner
            log.append(("pump", [type(e).__name__ for e in r.poll()]))
            if not self.sent and log.count("iteration") >= 3:
                r.send(P.Apply({"loss.name": "hinge"}))
                log.append("sent")
                self.sent = True

        def pump_due(self) -> bool:
            return True  # after every iteration

    pump = Pump()
    runner = Runner(with_changes(default_config(), SMALL), autoplay=True, mirror=Mirror(),
                    pump=pump)
    pump.runner = runner
    runner.start()
    def answered() -> int | None:
        after = log[log.index("sent") + 1:] if "sent" in log else []
        return next((i for i, x in enumerate(after)
                     if isinstance(x, tuple) and "Applied" in x[1]), None)

    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and answered() is None:
            time.sleep(0.01)
    finally:
        runner.stop()
    at = answered()
    assert at is not None
    between = log[log.index("sent") + 1:][:at]
    assert "iteration" not in between, between


def test_a_fault_in_the_socket_code_on_the_training_thread_ends_the_engine(monkeypatch):
    """As when the socket had a thread of its own: ``serve`` raises (exit code 1 and a
    traceback in the log, so the window reports a dead engine), never a paused trainer
    whose window hears nothing more."""
    from engine.server import EngineServer

    key = b"k" * 32
    server = EngineServer("tcp://127.0.0.1:*", key, with_changes(default_config(), SMALL),
                          autoplay=True, with_frame_process=False)
    real = server._watch

    def watch() -> None:
        if threading.current_thread().name == "gan-engine":
            raise RuntimeError("a bug in the socket's code")
        real()

    monkeypatch.setattr(server, "_watch", watch)
    raised: list = []

    def serve() -> None:
        try:
            server.serve()
        except RuntimeError as e:
            raised.append(e)

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    serving.join(30)
    assert not serving.is_alive()
    assert [str(e) for e in raised] == ["a bug in the socket's code"]
    assert not server.runner.alive

"""The engine process behind its socket: it answers only signed messages from the window
attached to it, survives garbage, oversized messages, a peer that hangs up mid-message and
a second window, and ends when asked, on a signal, or when its parent process dies."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

from engine import protocol as P
from engine.config import default_config, with_changes

from .conftest import assert_changes_show_in_the_next_frame

ROOT = Path(__file__).resolve().parents[2]
TINY = {"device": "cpu", "generator.hidden": [8], "discriminator.hidden": [8],
        "train.batch_size": 16, "train.metrics_every": 0}


class Server:
    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.key = secrets.token_bytes(32)
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps(with_changes(default_config(), TINY)))
        env = {**os.environ, "GAN_PLAYGROUND_KEY": self.key.hex(), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.server", "--listen", "tcp://127.0.0.1:*",
             "--config", str(cfg), *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        info = json.loads(line)
        self.address = info["address"]

    def client(self, key: bytes | None = None) -> Client:
        return Client(self.address, self.key if key is None else key)

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class Client:
    def __init__(self, address: str, key: bytes) -> None:
        self.key = key
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)
        self.attached = False  # once attached, it pings while it waits (``wait_for``)
        self.pinged = 0.0

    def send(self, msg) -> None:
        self.sock.send_multipart(P.encode(msg, self.key))

    def raw(self, frames) -> None:
        self.sock.send_multipart(frames)

    def wait_for(self, kind, timeout: float = 30.0, pred=lambda m: True):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.attached and time.monotonic() - self.pinged > 2.0:
                # as the window does: a served engine lets a window silent for 10 s go,
                # and on a loaded machine the engine's start alone has taken that long
                self.pinged = time.monotonic()
                self.send(P.Ping())
            if self.sock.poll(50):
                frames = self.sock.recv_multipart()
                msg = P.decode(frames, self.key)
                if isinstance(msg, kind) and pred(msg):
                    return msg
        raise AssertionError(f"no {kind.__name__} within {timeout} s")

    def silent(self, seconds: float) -> bool:
        """True when nothing at all arrives for ``seconds``."""
        return not self.sock.poll(int(seconds * 1000))

    def close(self) -> None:
        self.sock.close(0)


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.end()


def attach(server: Server) -> Client:
    c = server.client()
    c.send(P.Hello())
    welcome = c.wait_for(P.Welcome)
    assert welcome.accepted
    c.attached = True
    c.wait_for(P.Applied)
    return c


def still_serves(c: Client) -> None:
    c.send(P.Step())
    c.wait_for(P.Status, pred=lambda s: s.step >= 1)


def test_a_window_attaches_and_steers_the_engine(server):
    c = attach(server)
    c.send(P.Apply({"loss.name": "hinge"}))
    applied = c.wait_for(P.Applied, pred=lambda m: m.changes)
    assert applied.config["loss"]["name"] == "hinge"
    c.send(P.SetView(P.ViewRequest(n_fake=16, n_real=16, grid=8)))
    c.send(P.FrameWanted(1))
    frame = c.wait_for(P.Frame)
    assert frame.snapshot.fake.shape == (16, 2) and frame.snapshot.heatmap.shape == (8, 8)
    still_serves(c)


def test_a_client_without_the_key_gets_nothing_and_changes_nothing(server):
    good = attach(server)
    bad = server.client(key=b"wrong" * 7)
    bad.send(P.Hello())
    bad.send(P.Apply({"loss.name": "hinge"}))
    bad.send(P.Shutdown())
    assert bad.silent(1.0)
    good.send(P.Apply({"optim.d.lr": 3e-4}))
    applied = good.wait_for(P.Applied, pred=lambda m: m.changes)
    assert applied.config["loss"]["name"] == "non-saturating"  # the bad Apply never ran
    assert server.proc.poll() is None                             # nor did its Shutdown


def test_garbage_and_oversized_messages_leave_the_server_serving(server):
    c = attach(server)
    junk = server.client()
    junk.raw([b"garbage"])
    junk.raw([os.urandom(1000) for _ in range(5)])
    junk.raw([b"x" * (P.MAX_MESSAGE + 1)])  # over the socket's limit: the peer is dropped
    time.sleep(0.5)
    c.raw([b"\x00"])                          # the attached window's own damaged message
    refused = c.wait_for(P.Refused)
    assert "truncated" in refused.message
    still_serves(c)


def test_a_peer_that_hangs_up_mid_message_does_no_harm(server):
    c = attach(server)
    host, port = server.address.removeprefix("tcp://").rsplit(":", 1)
    for payload in (b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f", b"GET / HTTP/1.1\r\n", b"\x00" * 3):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(payload)
    still_serves(c)


def test_a_second_window_is_refused_and_the_first_keeps_steering(server):
    first = attach(server)
    second = server.client()
    second.send(P.Hello())
    welcome = second.wait_for(P.Welcome)
    assert not welcome.accepted and "another window" in welcome.message
    second.send(P.Apply({"loss.name": "hinge"}))
    second.wait_for(P.Welcome, pred=lambda w: not w.accepted)
    still_serves(first)


def test_shutdown_ends_the_process_at_once(server):
    c = attach(server)
    c.send(P.Play())
    c.wait_for(P.Status, pred=lambda s: s.step > 5)
    t0 = time.monotonic()
    c.send(P.Shutdown())
    server.proc.wait(5)
    assert time.monotonic() - t0 < 1.0


def test_sigterm_ends_the_process_at_once(server):
    attach(server).send(P.Play())
    time.sleep(0.5)
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(5)
    assert time.monotonic() - t0 < 1.0


def test_the_engine_ends_when_its_parent_process_is_killed(tmp_path):
    """A stand-in window process starts the engine with --parent and is then killed -9."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(with_changes(default_config(), TINY)))
    script = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'engine.server', '--listen', "
        f"'tcp://127.0.0.1:*', '--config', {str(cfg)!r}, '--parent', str(os.getpid()), "
        "'--autoplay'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    child = int(parent.stdout.readline())
    time.sleep(3.0)  # the engine is up and training
    assert _alive(child)
    parent.kill()
    parent.wait(5)
    t0 = time.monotonic()
    while _alive(child) and time.monotonic() - t0 < 5:
        time.sleep(0.02)
    assert not _alive(child), "the engine outlived its window's process"
    assert time.monotonic() - t0 < 2.0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


VIEW = P.ViewRequest(n_fake=16, n_real=16, grid=8)


def test_a_paused_engine_draws_a_frame_for_a_window_that_attaches_and_for_each_change(server):
    """Nothing trains: the first frame comes all the same, and each change is drawn."""
    c = attach(server)
    c.send(P.SetView(VIEW))
    c.send(P.FrameWanted(1))
    first = c.wait_for(P.Frame, timeout=10).snapshot
    c.send(P.Apply({"data.radius": 3.0}))
    c.wait_for(P.Applied, pred=lambda m: m.changes)
    c.send(P.FrameWanted(1))
    after = c.wait_for(P.Frame, timeout=10).snapshot
    assert after.box[1] > first.box[1]  # a ring of radius 3 needs a wider plane than 2


def _boxes_by_radius(c: Client) -> dict[float, tuple]:
    boxes = {}
    for r in (2.2, 2.6):
        c.send(P.Apply({"data.radius": r}))
        c.wait_for(P.Applied, pred=lambda m, r=r: m.changes.get("data.radius") == r)
        c.send(P.FrameWanted(1))
        boxes[r] = tuple(c.wait_for(P.Frame, timeout=10).snapshot.box)
    assert boxes[2.2] != boxes[2.6]
    return boxes


def test_no_frame_after_a_change_shows_the_state_before_it_while_training(server):
    """A change is applied between two steps; every frame the window gets after the
    ``Applied`` already shows it (a frame from an older weight copy would show the old
    plane one more time: the view lagging the control by a frame)."""
    c = attach(server)
    c.send(P.SetView(VIEW))
    boxes = _boxes_by_radius(c)
    c.send(P.Play())
    c.send(P.FrameWanted(2))
    assert_changes_show_in_the_next_frame(c, boxes, 40)  # a frame may be made early


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_watchdog_ends_an_engine_whose_window_is_gone_whatever_its_loop_does():
    """The backstop behind the signal and the main loop's own check: a process whose main
    thread is busy elsewhere (here: asleep for 30 s) still ends soon after its parent."""
    child = ("import os, sys, time; sys.path.insert(0, sys.argv[1]); "
             "from engine.lifetime import watchdog; watchdog(os.getppid(), grace=0.3); "
             "print('up', flush=True); time.sleep(30)")
    parent = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
              f"{child!r}, sys.argv[1]], stdout=subprocess.PIPE, text=True); "
              "assert p.stdout.readline().strip() == 'up'; print(p.pid, flush=True)")
    out = subprocess.run([sys.executable, "-c", parent, str(ROOT)], capture_output=True,
                         text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-1000:]
    pid = int(out.stdout.split()[-1])
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the orphaned process outlived its parent by 5 s")
    assert time.monotonic() - t0 < 2.0


def test_a_window_gets_the_state_once_from_its_replay_not_also_from_before_it():
    """Events the trainer made before the replay that a Hello asked for begins (the engine's
    own start, when the window said Hello early) are not sent: the replay says them all
    again, and a window that saw the start twice took the second for the answer to its
    own change. Other events (a failure to start from the given config) still go."""
    import numpy as np

    from engine.server import EngineServer, _Client

    sent: list = []
    fake = type("S", (), {})()
    fake.client = _Client(b"window")
    fake._config_events = 0
    fake._last_frame = 0.0
    fake._send = sent.append
    fake._frame_request_changed = lambda: None
    cfg = with_changes(default_config(), TINY)
    rows = np.zeros((1, 3))
    before = [P.Failed("could not start from the given config: bad"), P.Applied({}, cfg, 0),
              P.Status(0, 0.0, False, "cpu", "", 0, 0), P.MetricsChunk(rows)]
    replay = [P.ResetDone(cfg, replay=True), P.MetricsChunk(rows), P.Applied({}, cfg, 0),
              P.Status(0, 0.0, False, "cpu", "", 0, 0)]
    after = [P.MetricsChunk(rows), P.Applied({"loss.name": "hinge"}, cfg, 3)]
    EngineServer._forward(fake, before + replay + after)
    kinds = [type(m).__name__ for m in sent]
    assert kinds == ["Failed", "ResetDone", "MetricsChunk", "Applied", "Status",
                     "MetricsChunk", "Applied"], kinds
    assert fake._config_events == 4  # every config event is counted, sent or not
    # a window attached after the replay gets everything
    sent.clear()
    EngineServer._forward(fake, [P.Applied({}, cfg, 5), P.Status(5, 1.0, True, "cpu", "", 5, 5)])
    assert [type(m).__name__ for m in sent] == ["Applied", "Status"]


@pytest.mark.parametrize("child", [True, False])
def test_a_child_engine_keeps_a_silent_window_and_a_served_one_lets_it_go(child):
    """A window held up for longer than DETACH_AFTER (a debugger, Ctrl+Z, swapping) used to
    find its child engine gone with its training; a served engine still lets a silent window
    go (another may attach). Silence while the engine itself was held up never counts."""
    from engine.server import DETACH_AFTER, EngineServer, _Client

    server = EngineServer("tcp://127.0.0.1:*", b"k" * 32, with_changes(default_config(), TINY),
                          parent=os.getppid() if child else None, exit_when_detached=child,
                          with_frame_process=False)
    try:
        long_ago = time.monotonic() - 3 * DETACH_AFTER
        server.client = _Client(b"w", last_seen=long_ago)
        server._watch()
        assert (server.client is not None) == child
        assert not server._stop.is_set()  # training goes on either way
        server.client = _Client(b"w", last_seen=long_ago)
        server._watched = long_ago  # this loop itself stood still (SIGSTOP) since then
        server._watch()
        assert server.client is not None and not server._stop.is_set()
    finally:
        server._shutdown()


def test_a_signed_message_the_engine_cannot_handle_is_refused_and_the_engine_lives(monkeypatch):
    from engine.server import EngineServer, _Client

    key = b"k" * 32
    server = EngineServer("tcp://127.0.0.1:*", key, with_changes(default_config(), TINY),
                          with_frame_process=False)
    try:
        server.client = _Client(b"w")
        replies: list = []
        monkeypatch.setattr(server, "_reply", lambda identity, msg: replies.append(msg))

        def broken(cmd):
            raise KeyError("a bug")
        monkeypatch.setattr(server.runner, "send", broken)
        server._receive([b"w", *P.encode(P.Play(), key)])  # raised out of the loop before
        assert [type(m) for m in replies] == [P.Refused]
        assert "Play could not be handled (KeyError" in replies[0].message
        assert not server._stop.is_set()
    finally:
        server._shutdown()

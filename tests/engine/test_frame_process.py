"""The engine with its frame process (``engine.frame_process``), end to end over sockets:
frames come from the frame process, a change shows in the next frame, and when the frame
process dies or cannot draw a state, the engine draws the frames itself without a word to
the window (no ``Failed``, no gap of more than a moment)."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from typing import Any

import pytest
import zmq

from engine import protocol as P
from engine.config import default_config, with_changes
from engine.presets import load_preset
from engine.server import EngineServer

from .conftest import assert_changes_show_in_the_next_frame

SMALL = {"device": "cpu", "generator.hidden": [16], "discriminator.hidden": [16],
         "train.batch_size": 16, "train.metrics_every": 0}
VIEW = P.ViewRequest(n_fake=64, n_real=64, heatmap=True, grid=16, dstar=True, arrows=True)


class Window:
    """An engine server on a thread of this process (frame process on) and a socket to it."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.key = secrets.token_bytes(16)
        self.server = EngineServer("tcp://127.0.0.1:*", self.key, config, autoplay=True,
                                   with_frame_process=True)
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.server.address)
        self.failed: list[str] = []
        self.send(P.Hello())
        self.send(P.SetView(VIEW))
        self.send(P.FrameWanted(2))

    def send(self, msg: Any) -> None:
        self.sock.send_multipart(P.encode(msg, self.key))

    def frames(self, seconds: float, until=lambda f: False) -> list[P.Frame]:
        """Frames for ``seconds`` (fewer when ``until(frame)``), asking for more as they come."""
        out: list[P.Frame] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.sock.poll(50):
                continue
            msg = P.decode(self.sock.recv_multipart(), self.key)
            if isinstance(msg, P.Failed):
                self.failed.append(msg.message)
            if isinstance(msg, P.Frame):
                out.append(msg)
                self.send(P.FrameWanted(1))
                if until(msg):
                    break
        return out

    def from_process(self, timeout: float = 60.0) -> None:
        """Wait until frames come from the frame process (it imports torch first)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.server.drawn["frame process"]:
            self.frames(0.2)
        assert self.server.drawn["frame process"], "no frame came from the frame process"

    def close(self) -> None:
        self.server.stop("test over")
        self.thread.join(5)
        self.sock.close(0)


@pytest.fixture
def window():
    made: list[Window] = []

    def make(config: dict[str, Any]) -> Window:
        made.append(Window(config))
        return made[-1]

    yield make
    for w in made:
        w.close()


def test_frames_come_from_the_frame_process_and_show_a_change_at_once(window):
    w = window(with_changes(default_config(), SMALL))
    w.from_process()
    here = w.server.drawn["here"]
    boxes = {}
    for radius in (3.0, 1.0):
        w.send(P.Apply({"data.radius": radius}))
        got = w.frames(10, until=lambda f: f.snapshot.box != boxes.get("last"))
        boxes["last"] = got[-1].snapshot.box
        boxes[radius] = got[-1].snapshot.box
    assert boxes[3.0] != boxes[1.0]
    more = w.frames(1.0)
    assert len(more) >= 15  # ~30 a second
    assert w.server.drawn["here"] - here <= 2  # the engine drew (almost) none itself
    assert not w.failed


def test_a_killed_frame_process_leaves_the_frames_to_the_engine(window):
    w = window(with_changes(default_config(), SMALL))
    w.from_process()
    pid = w.server.frames.proc.pid
    os.kill(pid, signal.SIGKILL)
    w.frames(1.5)  # given up within a moment
    assert w.server.frames is None
    before = w.server.drawn["here"]
    frames = w.frames(1.0)
    assert len(frames) >= 15 and w.server.drawn["here"] - before >= 15
    steps = [f.snapshot.step for f in frames]
    assert steps == sorted(steps) and steps[-1] > steps[0]  # still training, still fresh
    assert not w.failed


def test_image_data_is_drawn_by_the_engine(window):
    w = window(with_changes(load_preset("dcgan_digits"), {"device": "cpu"}))
    w.send(P.SetView(P.ViewRequest(n_fake=0, n_real=0, heatmap=False, images=4,
                                   real_images=4, d_histogram=8)))
    frames = w.frames(30, until=lambda f: f.snapshot.images_fake is not None
                      and w.server.frames is not None and w.server.frames.ready)
    assert frames and frames[-1].snapshot.images_fake.shape[0] == 4
    w.frames(1.0)
    assert w.server.drawn["frame process"] == 0 and w.server.drawn["here"] > 0
    assert not w.failed


def test_the_socket_thread_sleeps_until_its_next_frame_and_asks_the_copy_ahead():
    """A frame made early waits for its moment (at once after a change, whose moment is
    minus infinity: no failure on the infinity either); the next copy is not asked for at
    once but scheduled, for the training thread to take a few milliseconds before the
    frame is due (the socket thread does not wake up to ask)."""
    from engine.server import _Client

    server = EngineServer("tcp://127.0.0.1:*", b"k", with_changes(default_config(), SMALL),
                          with_frame_process=False)
    try:
        server.client, server.view = _Client(b"w", credit=1), VIEW
        server._ready = object()  # a frame made, waiting for its moment
        server._last_frame = float("-inf")
        assert server._poll_ms() == 0
        server._last_frame = time.monotonic()
        assert 0 < server._poll_ms() <= 1000 / 30
        server._ready = None
        t = time.monotonic()
        server._frame()
        assert not server.mirror.wanted.is_set()
        assert t + 0.015 < server.mirror.due < t + 1 / 30
    finally:
        server._shutdown()


def test_no_frame_from_the_frame_process_after_a_change_shows_the_state_before_it(window):
    """As ``test_server.py`` checks for frames drawn by the engine: every frame after an
    ``Applied`` shows the change, here with a frame (or a request for one) in flight at the
    frame process at every phase of the frame rhythm."""
    w = window(with_changes(default_config(), {"device": "cpu", "train.metrics_every": 0}))
    # frames that take the frame process several milliseconds: a change often comes
    # while one is being drawn from the weights before it
    w.send(P.SetView(P.ViewRequest(n_fake=512, n_real=64, heatmap=True, grid=64, dstar=True,
                                   arrows=True)))
    w.from_process()
    boxes: dict[float, tuple] = {}
    for r in (2.2, 2.6):
        w.send(P.Apply({"data.radius": r}))
        w.frames(3.0)
        boxes[r] = tuple(w.frames(1.0)[-1].snapshot.box)
    assert boxes[2.2] != boxes[2.6]
    before = dict(w.server.drawn)
    assert_changes_show_in_the_next_frame(w, boxes, 30)
    drawn = {k: v - before[k] for k, v in w.server.drawn.items()}
    assert drawn["frame process"] >= 25 and drawn["here"] <= 3, drawn


def test_the_answer_for_the_view_before_a_setview_is_not_sent_as_the_new_views_frame():
    """A view change while the frame process draws the same weight copy for the old view:
    the copy is asked for again, and only the answer to that second request goes to the
    window (both carried the copy's version, and the first answer, the old view's, was
    taken for the new view's)."""
    from engine.server import _Client
    from engine.session import Session

    class FakeFrameProcess:
        sock = None
        broken = ""

        def __init__(self) -> None:
            self.requests: list[P.ViewRequest] = []
            self.answers: list[tuple[str, int, Any]] = []

        def usable(self, src: Any) -> bool:
            return True

        def draw(self, src: Any, view: P.ViewRequest) -> int:
            self.requests.append(view)
            return len(self.requests)

        def receive(self) -> list[tuple[str, int, Any]]:
            out, self.answers = self.answers, []
            return out

        def check(self) -> None:
            pass

        def close(self) -> None:
            pass

    server = EngineServer("tcp://127.0.0.1:*", b"k", with_changes(default_config(), SMALL),
                          with_frame_process=False)
    sent: list = []
    try:
        server._send_parts = sent.append  # type: ignore[method-assign]
        fp = server.frames = FakeFrameProcess()  # type: ignore[assignment]
        assert server.mirror.refresh(Session(with_changes(default_config(), SMALL)), 0)
        server.client, server.view = _Client(b"w", credit=4), VIEW
        server._frame()
        new_view = P.ViewRequest(n_fake=32, n_real=32, grid=8)
        server._on_message(b"w", P.SetView(new_view))
        server._frame()
        assert fp.requests == [VIEW, new_view]  # the same copy, asked for twice
        fp.answers = [("frame", 1, [b"old view"]), ("frame", 2, [b"new view"])]
        server._from_frame_process(True)
        assert sent == [[b"new view"]]
    finally:
        server.frames = None
        server._shutdown()


def test_a_frame_process_given_up_while_its_spec_is_sent_leaves_the_frame_to_the_engine():
    """The frame process gone (nobody on its socket) when a change makes the engine send a
    new spec: the engine gives it up and draws the frame itself; it used to go on to write
    the weights file it had just closed, and the error ended the engine."""
    from engine.frame_process import FrameProcess
    from engine.mirror import Mirror
    from engine.session import Session

    fp = FrameProcess(secrets.token_bytes(32), zmq.Context.instance(), spawn=False)
    try:
        fp.ready = True
        mirror = Mirror()
        assert mirror.refresh(Session(with_changes(default_config(), SMALL)), 0)
        src = mirror.acquire()
        assert fp.usable(src)
        assert fp.draw(src, VIEW) is None
        assert fp.broken.startswith("the frame process cannot be reached")
        assert not fp.usable(src)
        mirror.release()
    finally:
        fp.close()

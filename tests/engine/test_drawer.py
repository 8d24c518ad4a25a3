"""The frame process draws the frame the engine's own thread would have drawn.

``engine.frame_process.FrameProcess`` (the engine's side) talks over its real socket to an
``engine.drawer.Drawer`` run in this process, so every message goes through the wire
format; the frame that comes back (encoded for the window) must equal, array for array,
the frame ``build_snapshot`` draws from the same weight copy on the engine's thread:
for every built-in preset it can draw, and after random sequences of valid changes and
training (Hypothesis). What it cannot draw (image data, conditional networks) must be
left to the engine's thread."""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any

import numpy as np
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from engine import Session, TrainingDiverged
from engine import config as C
from engine import protocol as P
from engine.drawer import Drawer
from engine.frame_process import FrameProcess
from engine.frame_wire import pack, seal, unpack
from engine.mirror import Mirror
from engine.presets import builtin_presets, load_preset
from engine.snapshot import ViewRequest
from engine.views import build_snapshot

from .spec_draws import valid_change, valid_config
from .test_properties import HypothesisSource

EVERY_VIEW = ViewRequest(n_fake=64, n_real=48, heatmap=True, grid=12, dstar=True, arrows=True,
                         d_field=5, manifold=4, d_on_fake=True, batch_mates=3,
                         heat_box=(-1.5, 2.0, -2.5, 1.0))
SMALL = {"generator.hidden": [16, 16], "discriminator.hidden": [16, 16],
         "train.batch_size": 32, "train.metrics_every": 0, "device": "cpu"}


class Pair:
    """The engine's ``FrameProcess`` and a ``Drawer`` on the other end of its socket."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(16)
        ctx = zmq.Context.instance()
        self.fp = FrameProcess(self.key, ctx, spawn=False)
        self.peer = ctx.socket(zmq.PAIR)
        self.peer.setsockopt(zmq.LINGER, 0)
        self.peer.connect(self.fp.address)
        self.drawer = Drawer(self.peer, self.key)
        self.fp.ready = True

    def pump(self) -> list[tuple[str, int, Any]]:
        """Deliver messages both ways until neither side has anything left to say."""
        out: list[tuple[str, int, Any]] = []
        while True:
            moved = False
            while self.peer.poll(20):
                frames = self.peer.recv_multipart(copy=False)
                self.drawer.handle(*unpack(self.key, [f.buffer for f in frames]))
                moved = True
            got = self.fp.receive()
            out += got
            if not moved and not got and not self.fp.sock.poll(20):
                return out

    def frame(self, src: Any, view: ViewRequest) -> Any:
        """The frame of ``src`` as the frame process draws it (None: left to the engine)."""
        if not self.fp.usable(src):
            return None
        request = self.fp.draw(src, view)
        if request is None:
            return None
        answers = self.pump()
        deadline = time.monotonic() + 10
        while not answers and time.monotonic() < deadline:  # a loaded machine: the answer
            answers = self.pump()                          # may take longer than one poll
        assert [a[0] for a in answers] in (["frame"], ["unable"]), answers
        kind, answered, body = answers[0]
        assert answered == request
        if kind == "unable":
            return None
        msg = P.decode([bytes(f) for f in body], self.key)  # what the window receives
        assert isinstance(msg, P.Frame)
        return msg.snapshot

    def close(self) -> None:
        self.peer.close(0)
        self.fp.close()


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


def copy_of(s: Session, mirror: Mirror) -> Any:
    s._checked()
    assert mirror.refresh(s)
    return mirror.acquire()


def assert_same_frame(mine: Any, theirs: Any) -> None:
    for f in dataclasses.fields(theirs):
        a, b = getattr(mine, f.name), getattr(theirs, f.name)
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.shape == b.shape, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        elif isinstance(b, tuple | list):
            assert tuple(a) == tuple(b), f.name
        elif isinstance(b, float) and np.isnan(b):
            assert np.isnan(a), f.name
        else:
            assert a == b, f.name


def point_presets() -> list[str]:
    from engine.datasets import DATASETS

    return [n for n in builtin_presets()
            if not DATASETS[C.validate(load_preset(n))["data"]["name"]].is_image]


@pytest.mark.parametrize("name", point_presets())
def test_every_point_preset_draws_the_frame_the_engine_would(pair, name):
    s = Session(C.with_changes(load_preset(name), SMALL))
    s.train(7)
    mirror = Mirror()
    src = copy_of(s, mirror)
    theirs = build_snapshot(src, EVERY_VIEW)
    mine = pair.frame(src, EVERY_VIEW)
    assert mine is not None, f"{name}: the frame process did not draw it"
    assert_same_frame(mine, theirs)
    mirror.release()


def test_image_data_is_left_to_the_engine(pair):
    s = Session(C.with_changes(load_preset("dcgan_digits"), {"device": "cpu"}))
    mirror = Mirror()
    src = copy_of(s, mirror)
    assert pair.frame(src, ViewRequest(images=4, real_images=4, d_histogram=4)) is None
    assert pair.fp._spec == 0  # nothing was even sent
    mirror.release()


def test_a_network_unlike_its_config_is_refused_and_the_engine_draws(pair):
    """The engine's networks and the config's disagree (here: a layer added by hand): the
    frame process says so and the state is drawn by the engine from then on."""
    import torch

    s = Session(C.with_changes(C.default_config(), SMALL))
    s._nets.generator.register_buffer("extra", torch.zeros(3))
    mirror = Mirror()
    src = copy_of(s, mirror)
    assert pair.frame(src, EVERY_VIEW) is None
    assert not pair.fp.usable(src)
    mirror.release()


def test_hostile_messages_get_an_answer_not_a_crash(pair):
    """A message the frame process cannot use (fields missing, wrong types, a forged
    signature, arrays that do not fit) is answered ``unable``, never a crash: the engine
    then draws that frame on its own thread."""
    s = Session(C.with_changes(C.default_config(), SMALL))
    mirror = Mirror()
    src = copy_of(s, mirror)
    assert pair.frame(src, EVERY_VIEW) is not None  # a spec is in place
    spec = pair.fp._spec
    bad = [
        pack(pair.key, {"kind": "draw", "spec": spec, "version": 1}),  # fields missing
        pack(pair.key, {"kind": "draw", "spec": spec, "version": 2, "step": "x",
                        "arrays": "no"}),
        *[pack(pair.key, {"kind": "draw", "spec": spec, "version": 3, "step": 1,
                          "d_updates": 1, "g_updates": 1, "view": {}, "slot": slot})
          for slot in (2, -1, "0", True, None)],  # no such slot of the weights file
        pack(pair.key, {"kind": "batches", "spec": spec, "n_fake": 1, "n_real": 1,
                        "labelled": [False, False], "arrays": []}),
        pack(b"another key", {"kind": "stop"}),
        [b"{}", b"not a signature"],
    ]
    for frames in bad:
        assert pair.drawer.on_message(frames), frames  # still running
        reply = unpack(pair.key, pair.fp.sock.recv_multipart(), sealed=True)[0]
        assert reply["kind"] == "unable", (frames, reply)
    assert pair.drawer.on_message(bad[0])
    assert pair.fp.sock.poll(1000)
    assert [a[0] for a in pair.fp.receive()] == ["unable"]
    assert not pair.fp.usable(src)  # told it is unable: the engine draws this state itself
    mirror.release()


@given(data=st.data())
def test_after_random_changes_and_training_the_frames_agree(data):
    src_draw = HypothesisSource(data)
    cfg = C.with_changes(C.default_config(), valid_config(src_draw))
    cfg = C.with_changes(cfg, {"device": "cpu"})
    p = Pair()
    try:
        s = Session(cfg)
        mirror = Mirror()
        for _ in range(data.draw(st.integers(1, 3), label="rounds")):
            changes = valid_change(src_draw, s.config)
            changes.pop("device", None)
            s.apply(changes)
            try:
                s.train(data.draw(st.integers(1, 4), label="steps"))
            except TrainingDiverged:
                pass
            src = copy_of(s, mirror)
            req = ViewRequest(n_fake=32, n_real=16, heatmap=True, grid=6, dstar=True,
                              arrows=True, d_field=3, manifold=2, d_on_fake=True,
                              batch_mates=2, images=4, real_images=4, d_histogram=4)
            theirs = build_snapshot(src, req)
            mine = p.frame(src, req)
            drawable = not (s.dataset.is_image or s.classes)
            assert (mine is not None) == drawable
            if mine is not None:
                assert_same_frame(mine, theirs)
            mirror.release()
    finally:
        p.close()


@pytest.mark.parametrize("header", [
    {"kind": "frame", "version": "not a number"},
    {"kind": "need", "spec": 1, "version": 1},  # sizes missing
    {"kind": "need", "spec": 1, "version": 1, "n_fake": "many", "n_real": 2},
])
def test_a_bad_answer_from_the_frame_process_gives_it_up_and_never_fails_the_engine(header):
    """The engine's side gives the frame process up (the engine then draws its frames
    itself) on an answer it cannot use, instead of failing the engine's socket thread."""
    p = Pair()
    try:
        s = Session(C.with_changes(C.default_config(), SMALL))
        mirror = Mirror()
        src = copy_of(s, mirror)
        assert p.frame(src, EVERY_VIEW) is not None
        p.peer.send_multipart(seal(p.key, header))
        assert p.fp.sock.poll(1000)
        assert p.fp.receive() == []
        assert p.fp.broken.startswith("the frame process sent a bad message")
        assert not p.fp.usable(src)
        mirror.release()
    finally:
        p.peer.close(0)


def test_a_sealed_answer_binds_its_header_and_parts_and_the_window_checks_the_frame():
    """The frame process's answers are signed over the header, the number of parts and the
    window message's own signature (its bytes are hashed once, by the window): a changed
    header, a part added or dropped, or a forged signature is refused by the engine; a
    changed byte inside the frame passes the engine and is refused by the window."""
    from engine.protocol import ProtocolError, decode, encode
    from engine.snapshot import Snapshot

    key = b"k" * 32
    snap = Snapshot(step=3, fake=np.zeros((4, 2), np.float32), real=np.ones((4, 2), np.float32),
                    heatmap=None, box=(0.0, 1.0, 0.0, 1.0), heatmap_is_probability=True)
    message = encode(P.Frame(snap), key)
    frames = seal(key, {"kind": "frame", "version": 7}, message)
    header, parts = unpack(key, frames, sealed=True)
    assert header == {"kind": "frame", "version": 7}
    assert decode(parts, key).snapshot.step == 3
    head, *inner, sig = frames
    for bad in ([b'{"kind":"frame","version":8}', *inner, sig],  # another frame's version
                [head, *inner, inner[-1], sig],                   # a part added
                [head, *inner[1:], sig],                          # a part dropped
                [head, *inner, b"\0" * len(sig)],                 # a forged signature
                seal(b"another key", {"kind": "frame", "version": 7}, message)):
        with pytest.raises(ProtocolError):
            unpack(key, bad, sealed=True)
    with pytest.raises(ProtocolError):
        unpack(key, frames)  # a sealed message is not a packed one
    damaged = [bytes(p) for p in inner]
    damaged[-2] = bytes([damaged[-2][0] ^ 1]) + damaged[-2][1:]
    _, passed = unpack(key, [head, *damaged, sig], sealed=True)
    with pytest.raises(ProtocolError):
        decode(passed, key)

"""The engine's side of its frame process (``engine.drawer``): start it, send it weight
copies, take its frames.

The frame process is an optimisation with a safety net: until it has said it is ready,
for a state it cannot draw (``unable``), once it has died or stopped answering, the engine
draws frames on its own thread exactly as before. ``GAN_PLAYGROUND_FRAME_PROCESS=0`` turns
it off altogether (the tests of the window do, to start one process per engine, not two).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from typing import Any

import zmq

from . import protocol as P
from .drawer import drawable
from .frame_wire import arrays_out, head_of, pack, pack_head, unpack
from .shared_weights import WeightsOut, remove

ENV = "GAN_PLAYGROUND_FRAME_PROCESS"
ANSWER_WITHIN_S = 3.0  # a frame asked for and not answered by then: the process is given up
START_WITHIN_S = 60.0  # ...and one that has not said it is ready (it imports torch)
CHECK_EVERY_S = 0.25  # whether it is still alive, when nothing is asked of it


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _address(inside: str | None = None) -> tuple[str, str | None, str | None]:
    """A socket only this user can reach: a Unix socket in a private folder, or (Windows)
    a loopback port; the messages are signed either way. Returns (address, a folder made
    for it, its socket file), the last two to remove at the end.

    ``inside``: the engine's own private folder, which its window removes whatever happens
    to the engine (a folder of its own was left behind by every engine killed with
    SIGKILL). The socket goes straight in it: a Unix socket's path has 107 bytes at most,
    and a nested folder would use 24 of them."""
    if sys.platform == "win32":
        # the socket is a port; the folder holds the weights file (``engine.shared_weights``)
        return "tcp://127.0.0.1:*", tempfile.mkdtemp(prefix="gan-frames-"), None
    if inside is not None and os.path.isdir(inside):
        path = os.path.join(inside, "frames.sock")
        return f"ipc://{path}", None, path
    folder = tempfile.mkdtemp(prefix="gan-frames-")
    return f"ipc://{folder}/frames", folder, None


class FrameProcess:
    """One frame process (see the module docstring). Used by whichever thread tends the
    engine's socket (``engine.server``), never by two at once."""

    def __init__(self, key: bytes, ctx: zmq.Context, *, spawn: bool = True,
                 inside: str | None = None) -> None:
        """``spawn=False``: no process is started; the tests drive an ``engine.drawer.Drawer``
        on the other end of ``address`` themselves. ``inside``: see ``_address``."""
        self.key = key
        self.sock = ctx.socket(zmq.PAIR)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, P.MAX_MESSAGE)
        address, self._folder, self._socket_file = _address(inside)
        # where the weights file goes (``engine.shared_weights``): beside the socket
        self._files = self._folder or (os.path.dirname(self._socket_file)
                                       if self._socket_file else tempfile.gettempdir())
        self._weights: WeightsOut | None = None
        self._slot = 0
        self._request = 0  # draws asked for; an answer names the one it answers
        self._stale: list[str] = []  # weights files not removed yet (see ``_drop_weights``)
        self.sock.bind(address)
        self.address = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.proc: subprocess.Popen[bytes] | None = None
        if spawn:
            env = {**os.environ, "GAN_PLAYGROUND_KEY": key.hex()}
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.drawer", "--connect", self.address,
                 "--parent", str(os.getpid())],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.started = self._checked = time.monotonic()
        self.ready = False
        self.broken = ""  # why it is no longer used
        self._sent: tuple[Any, ...] = ()  # (config, views, layout) of the last spec sent
        self._spec = 0
        self._unable = -1  # a spec this process said it cannot draw
        self._views: Any = None  # the ViewBatches behind the spec (for ``need``)
        # the last view request, and the end of a draw's header for it (its JSON and the
        # weights' descriptions)
        self._view: tuple[Any, bytes] = (None, b"")
        self.asked: tuple[int, float] | None = None  # (request, when) of the frame asked for

    # ------------------------------------------------------------------ state
    def usable(self, src: Any) -> bool:
        """Whether to ask this process for ``src``'s frame."""
        if not self.ready or self.broken:
            return False
        if self._same(src):
            return self._unable != self._spec
        return not drawable(src.config, src.classes, src.device.type)

    def _same(self, src: Any) -> bool:
        if not self._sent:
            return False
        cfg, views, lay = self._sent
        return (cfg is src.config and views is src._views
                and (lay is src.layout or lay == src.layout))

    def check(self) -> None:
        """Give the process up when it has died or stopped answering."""
        if self.broken:
            return
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_S and self.ready and self.asked is None:
            return
        self._checked = now
        code = self.proc.poll() if self.proc is not None else None
        if code is not None:
            self._give_up(f"the frame process ended (exit code {code})")
        elif not self.ready and time.monotonic() - self.started > START_WITHIN_S:
            self._give_up("the frame process did not start")
        elif self.asked is not None and time.monotonic() - self.asked[1] > ANSWER_WITHIN_S:
            self._give_up(f"the frame process did not answer within {ANSWER_WITHIN_S:.0f} s")

    def _give_up(self, why: str) -> None:
        self.broken = why
        self.asked = None
        print(f"engine: {why}; frames are drawn on the engine's own thread", file=sys.stderr,
              flush=True)
        self.close()

    # ------------------------------------------------------------------ out
    def draw(self, src: Any, view: P.ViewRequest) -> int | None:
        """Ask for ``src``'s frame (the weights are copied into the shared file at once:
        ``src`` may be released). Returns the request's number, which its answer carries
        (a copy drawn twice, for two view requests, is two requests: the answer for the
        old view is not taken for the new one's); None when this state cannot be sent
        (the engine draws it)."""
        try:
            if not self._same(src):
                self._spec += 1
                self._sent = (src.config, src._views, src.layout)
                self._views = src._views
                self._drop_weights()
                self._weights = WeightsOut(self._files, src.layout, self._spec)
                spec = pack(self.key, {"kind": "spec", "spec": self._spec, "config": src.config,
                                       "layout": [list(x) for x in src.layout],
                                       "weights": self._weights.path})
                self._send_frames(spec)
                self._view = (None, b"")
                if self.broken:  # given up on the way (and closed): the engine draws
                    return None
            # the weights go into the shared file, the other slot than last time; the
            # header is made of parts kept between frames (the view request's JSON is made
            # once): this runs on the training thread 30 times a second
            self._slot = 1 - self._slot
            if self._weights is None:
                return None
            self._weights.write(self._slot, src._tensors)
            if self._view[0] is not view:
                self._view = (view, head_of({"view": asdict(view)})[1:])  # '"view":...}'
            self._request += 1
            head = b'{"kind":"draw","spec":%d,"version":%d,"step":%d,"d_updates":%d,' \
                   b'"g_updates":%d,"slot":%d,%s' % (self._spec, self._request, src.step,
                                                    src.d_updates, src.g_updates, self._slot,
                                                    self._view[1])
            ask = pack_head(self.key, head)
        except (TypeError, ValueError, RuntimeError, OSError, OverflowError):
            # e.g. a config with inf, bf16 weights, no room for the file
            self._unable = self._spec
            return None
        self._send_frames(ask)
        self.asked = (self._request, time.monotonic())
        return None if self.broken else self._request

    def _drop_weights(self) -> None:
        """Close the spec's weights file; one that cannot be removed yet (Windows: the frame
        process maps it until it reads the next spec) is tried again at the next spec."""
        if self._weights is not None and not self._weights.close():
            self._stale.append(self._weights.path)
        self._weights = None
        self._stale = [p for p in self._stale if not remove(p)]

    def _send(self, header: dict[str, Any], buffers: list[Any] = ()) -> None:  # type: ignore[assignment]
        self._send_frames(pack(self.key, header, buffers))

    def _send_frames(self, frames: list[Any]) -> None:
        try:
            self.sock.send_multipart(frames, zmq.NOBLOCK, copy=True)
        except zmq.ZMQError as e:
            self._give_up(f"the frame process cannot be reached ({e})")

    # ------------------------------------------------------------------ in
    def receive(self) -> list[tuple[str, int, Any]]:
        """What came back: ``("frame", request, parts)`` (parts encoded for the window)
        and ``("unable", request, message)``; ``need`` is answered here."""
        out: list[tuple[str, int, Any]] = []
        while not self.broken and self.sock.get(zmq.EVENTS) & zmq.POLLIN:
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                header, buffers = unpack(self.key, [f.buffer for f in frames], sealed=True)
                answer = self._answer(header, frames)
            except (P.ProtocolError, KeyError, TypeError, ValueError) as e:
                self._give_up(f"the frame process sent a bad message ({str(e)[:100]})")
                break
            if answer is not None:
                out.append(answer)
        return out

    def _answer(self, header: dict[str, Any], frames: list[Any]) -> tuple[str, int, Any] | None:
        kind, version = header["kind"], int(header.get("version", -1))
        if kind == "ready":
            self.ready = True
        elif kind == "frame":
            if self.asked is not None and self.asked[0] == version:
                self.asked = None
            return ("frame", version, frames[1:-1])
        elif kind == "need":
            self._batches(header)
        elif kind == "unable":
            if header.get("spec") == self._spec:
                self._unable = self._spec
            if self.asked is not None and version in (self.asked[0], -1):
                self.asked = None
            return ("unable", version, str(header.get("message", "")))
        return None

    def _batches(self, header: dict[str, Any]) -> None:
        """The engine's fixed view batches of the sizes asked for (the frame process
        draws exactly what the engine's thread would)."""
        if header.get("spec") != self._spec or self._views is None:
            return
        n_fake, n_real = int(header["n_fake"]), int(header["n_real"])
        if not (0 <= n_fake <= 1 << 20 and 0 <= n_real <= 1 << 20):
            return
        (z, yz), (x, yx) = self._views.get(n_fake, n_real)
        arrays = [t.cpu().numpy() for t in (z, yz, x, yx) if t is not None]
        specs, blob = arrays_out(arrays)
        self._send({"kind": "batches", "spec": self._spec, "n_fake": n_fake, "n_real": n_real,
                    "labelled": [yz is not None, yx is not None], "arrays": specs}, [blob])
        if self.asked is not None:
            self.asked = (self.asked[0], time.monotonic())

    # ------------------------------------------------------------------ end
    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.send_multipart(pack(self.key, {"kind": "stop"}), zmq.NOBLOCK)
        self.sock.close(0)
        self._drop_weights()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(0.3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(1.0)
        if self._socket_file:
            with contextlib.suppress(OSError):
                os.unlink(self._socket_file)
            self._socket_file = None
        if self._folder:
            with contextlib.suppress(OSError):
                for name in os.listdir(self._folder):
                    os.unlink(os.path.join(self._folder, name))
                os.rmdir(self._folder)
            self._folder = None

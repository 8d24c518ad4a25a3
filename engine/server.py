"""The engine process: a ``Runner`` behind a ZeroMQ socket that a window attaches to.

    python -m engine.server --listen ADDRESS [--config FILE | --preset NAME] [--parent PID]
                            [--threads N] [--autoplay]

The window's process never imports torch; it starts this program as a child (or attaches
to a ``serve`` process elsewhere) and speaks ``engine.protocol`` with it.

One thread trains, and it also tends the socket: between iterations, every
``SERVICE_EVERY`` seconds and when a frame's moment comes, it ``pump``s (decodes the
commands waiting, forwards its events in order, hands a weight copy to the frame process
and sends the frame it drew back). Its socket work used to run on a second Python thread
that woke a hundred times a second, and each of its wake-ups took the interpreter lock from
training (the window cost training 9% of its speed; the lock waits alone were 3%). A
message that cannot be trusted gets a ``Refused`` answer, never a crash.

The **main thread** sleeps, and steps in only where the training thread cannot:

* while it is inside something long (a 10 s step, the first FID classifier, start-up): it
  has not pumped for ``KEEP_S``, so the main thread tends the socket (pings answered, a
  Shutdown obeyed) until the training thread is back;
* a frame the frame process (``engine.frame_process``) cannot draw (image data, a
  conditional network, weights on a GPU) is drawn here, on the main thread, from the weight
  copy (``engine.mirror``), while training goes on;
* signals: SIGTERM/SIGINT, and the death of ``--parent`` (polled, and on Linux also
  delivered by the kernel), end the process at once: no engine outlives its window.

The socket is a ROUTER: one window at a time is attached (``Hello``); another is told so
(``Welcome(accepted=False)``). Every message is signed with the secret in the environment
variable ``GAN_PLAYGROUND_KEY`` (hex), as Jupyter signs its messages.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zmq

from . import protocol as P
from .lifetime import remove_engine_folder, watch_parent_death, watchdog

if TYPE_CHECKING:
    from .frame_process import FrameProcess

KEY_ENV = "GAN_PLAYGROUND_KEY"
IDLE_POLL_MS = 25    # the longest wait in one pump (a paused engine waits in the poll)
# the training thread pumps at least this often while it trains: commands wait no longer;
# while frames come, their own pumps (the copy's, the frame's moment) come more often
SERVICE_EVERY = 0.025
# ... and while a frame process draws, this often until the frame is back (its moment first)
ANSWER_POLL_S = 0.002
KEEP_S = 0.25  # no pump for this long (a long step, start-up): the main thread tends the socket
KEEPER_POLL_MS = 20  # ...in turns this long, so the training thread takes over within them
KEEPER_NAP_S = 0.1  # the main thread's sleep while the training thread tends the socket
FRAME_EVERY = 1 / 30
# The weight copy is taken this long before a frame is due: a step or two, and the frame
# process's drawing, fit in it, so frames leave on time (measured on ring8, 2 cores: p95
# lateness 1 ms at 12 ms ahead, 4 ms at 8 ms ahead, where the window's p95 frame interval
# is 40-41 ms, not 41-44)
MIRROR_LEAD = 0.012
EARLY_S = 0.001      # a frame ready this close to its moment leaves now (not held)
DETACH_AFTER = 10.0  # seconds of silence after which a window counts as gone (served engines)
STALL_S = 2.0  # a loop turn this late means the engine itself was held up (SIGSTOP, swapping)


def _devices() -> tuple[str, ...]:
    """The devices this engine can train on (the window offers no others)."""
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def readable(sock: zmq.Socket) -> Iterator[list[zmq.Frame]]:
    """The messages ``sock`` holds now (none more)."""
    while sock.get(zmq.EVENTS) & zmq.POLLIN:
        try:
            yield sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return


# what a replay says again, in full: sent before it, each would only be said twice
SUPERSEDED = (P.Applied, P.ResetDone, P.MetricsChunk, P.SwapLog, P.Status)


@dataclass
class _Client:
    identity: bytes
    last_seen: float = field(default_factory=time.monotonic)
    credit: int = 0
    # until the replay its Hello asked for begins, state events are not sent: the replay
    # says all of it again (a window saw the engine's start twice, and a test waiting for
    # its own change took the second start for the answer)
    replayed: bool = False


class EngineServer:
    """One engine behind a socket (see the module docstring)."""

    def __init__(self, address: str, key: bytes, config: dict[str, Any] | None, *,
                 parent: int | None = None, threads: int | None = 1, autoplay: bool = False,
                 exit_when_detached: bool = False, with_frame_process: bool | None = None
                 ) -> None:
        from .frame_process import enabled
        from .mirror import Mirror
        from .runner import Runner

        with_frame_process = enabled() if with_frame_process is None else with_frame_process

        self.key = key
        self.parent = parent
        self.exit_when_detached = exit_when_detached
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, P.MAX_MESSAGE)
        self.sock.setsockopt(zmq.SNDHWM, 0)        # events are never dropped
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.sock.bind(address)
        self.address = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.mirror = Mirror()
        # the socket is tended by one thread at a time (the training thread, or the main
        # thread while the training thread is busy elsewhere)
        self._io = threading.Lock()
        self._pumped_at = -math.inf  # when the training thread last came to pump
        self._next = 0.0  # when it is to pump next (0: at once; see ``pump_due``)
        self._closed = False
        self._fault: Exception | None = None  # raised in a pump: ends the engine (``serve``)
        # a frame drawn on the main thread: (FrameSource, ViewRequest) to draw, and
        # (version, Snapshot or None, (message, traceback) or None) drawn
        self._here_job: tuple[Any, Any] | None = None
        self._here_done: tuple[int, Any, Any] | None = None
        self._here_busy = False
        self._keeper = threading.Event()  # wakes the main thread (a frame to draw, stop)
        self.runner = Runner(config, autoplay=autoplay, torch_threads=threads,
                             mirror=self.mirror, notify=self._soon, pump=self)
        self.client: _Client | None = None
        self._watched = time.monotonic()  # when _watch last ran
        self.view: P.ViewRequest | None = None
        self._drawn = -1
        self._config_events = 0  # Applied/ResetDone forwarded (the runner counts the same)
        self._ready: Any = None  # a frame made ahead of its moment (see ``_frame``)
        # the frame process, started once training is set up, and the weight copy whose
        # frame it is drawing (None again after a change: its answer is then not sent)
        self.frames: FrameProcess | None = None
        self._frames_wanted = with_frame_process
        # the frame being drawn: ("fp", the frame process's request number) or ("here",
        # the copy's version); an answer for anything else is stale and dropped
        self._drawing: tuple[str, int] | None = None
        self.drawn = {"here": 0, "frame process": 0}  # frames sent, by where they were drawn
        self.poller = zmq.Poller()
        self.poller.register(self.sock, zmq.POLLIN)
        self._last_frame = 0.0
        self._frame_error = ""
        self._stop = threading.Event()
        self.exit_reason = ""

    # ------------------------------------------------------------------ lifetime
    def serve(self) -> int:
        """The main thread: start training, then sleep, stepping in where the training
        thread cannot (see the module docstring). A fault in the socket's code on either
        thread ends the engine (exit code 1, its traceback in the log), as it did when the
        socket had a thread of its own: a window is told its engine died, never left
        with one that trains unheard."""
        self.runner.start()
        try:
            while not self._stop.is_set():
                self._keep()
        finally:
            self._shutdown()
        if self._fault is not None:
            raise self._fault
        return 0

    def stop(self, reason: str = "") -> None:
        self.exit_reason = self.exit_reason or reason
        self._stop.set()
        if threading.current_thread() is not threading.main_thread():
            # wake the napping main thread. Not from the main thread itself: a signal
            # handler runs there, possibly while ``wait`` holds the event's own lock
            # (``set`` would then wait for it forever); its nap ends within KEEPER_NAP_S
            self._keeper.set()

    def _keep(self) -> None:
        job = self._here_job
        if job is not None:
            self._here_job = None
            self._draw_here(*job)
        elif time.monotonic() - self._pumped_at > KEEP_S:
            with self._io:
                if not self._closed:
                    self._once(KEEPER_POLL_MS / 1000)
        else:
            self._keeper.wait(KEEPER_NAP_S)
            self._keeper.clear()

    def _shutdown(self) -> None:
        # a pump under way (a big file being encoded) keeps the socket: then no Bye, and
        # the sockets are left to the process's exit rather than closed under it
        got = self._io.acquire(timeout=0.5)
        try:
            if got:
                with contextlib.suppress(Exception):
                    self._send(P.Bye(self.exit_reason))
        finally:
            self._closed = True  # a pump after this touches no socket
            if got:
                self._io.release()
        self.runner.stop(timeout=0.5)
        if not self._io.acquire(timeout=0.5):
            return
        try:
            if self.frames is not None:
                self.frames.close()
            self.sock.close(0)
        finally:
            self._io.release()

    # ------------------------------------------------------------------ the loop
    def pump(self, timeout: float) -> None:
        """Tend the socket (the training thread, between iterations): what came in, what
        is to go out, the frame; waits up to ``timeout`` seconds for a message (a paused
        engine). While the main thread holds the socket (the training thread was away),
        this returns at once and comes back soon."""
        self._pumped_at = now = time.monotonic()
        if not self._io.acquire(blocking=False):
            self._next = now + ANSWER_POLL_S
            if timeout > 0:
                time.sleep(min(timeout, ANSWER_POLL_S))  # a paused engine: no busy loop
            return
        try:
            if not self._closed:
                self._once(timeout)
        except Exception as e:  # noqa: BLE001 (the main thread re-raises it: see ``serve``)
            self._fault = e
            self.stop("the engine's socket loop failed")
        finally:
            self._io.release()

    def pump_due(self) -> bool:
        """Whether the training thread is to pump now (asked after every iteration)."""
        return time.monotonic() >= self._next

    def _soon(self) -> None:
        """An event the window is waiting for (a change applied, a failure) or a weight
        copy: pump after this iteration (rows and the status wait for the next pump)."""
        self._next = 0.0

    def _once(self, timeout: float) -> None:
        """One turn: read what the sockets hold (waiting up to ``timeout`` seconds for
        something, no longer than a frame held back is to wait), forward the training
        thread's events, make or send the frame, watch the parent and the window."""
        wait = min(self._poll_ms(), math.ceil(1000 * timeout)) if timeout > 0 else 0
        if wait > 0:
            ready = dict(self.poller.poll(wait))
            sock = self.sock in ready
            fp = self.frames is not None and self.frames.sock in ready
        else:
            # no poll: each socket says itself whether it holds a message (cheaper)
            sock = fp = True
        if sock:
            for frames in readable(self.sock):
                self._receive([f.buffer for f in frames])
        if self.frames is not None:
            self._from_frame_process(fp)
        self._from_main_thread()
        events = self.runner.poll()
        if events:
            self._forward(events)
        self._frame()
        self._watch()
        self._next = self._next_pump()

    def _next_pump(self) -> float:
        """When the training thread is to pump next: a frame held back at its moment, a
        frame being drawn from then on every ``ANSWER_POLL_S``, and otherwise within
        ``SERVICE_EVERY`` (commands, the window's credit)."""
        now = time.monotonic()
        later = now + SERVICE_EVERY
        if (self._ready is None and self._drawing is None) or self._here_busy:
            return later  # (the main thread asks for a pump when its drawing is done)
        at = self._last_frame + FRAME_EVERY - EARLY_S
        if self._ready is None:
            at = max(at, now + ANSWER_POLL_S)
        return min(at, later)

    def _poll_ms(self) -> int:
        """How long a pump may wait in the poll: until a frame made early is to be sent;
        a message or the frame process's answer wakes the poll."""
        c = self.client
        if c is None or self.view is None or c.credit <= 0 or self._ready is None:
            return IDLE_POLL_MS
        due = self._last_frame + FRAME_EVERY
        at = due - EARLY_S
        wait = 1000 * (at - time.monotonic())  # -inf after a change: at once
        return math.ceil(min(max(0.0, wait), IDLE_POLL_MS))

    def _watch(self) -> None:
        """End with the window's process; let a silent window go (a served engine only).

        A child engine keeps its window however long it is silent: a window held up by a
        debugger, Ctrl+Z or swapping for 12 s used to find its engine gone (exit 0) and its
        training lost, while the parent check below already ends a child whose window died.
        Silence is counted only while this loop ran: an engine that was itself stopped
        (SIGSTOP) wakes to the window's queued pings, not to a verdict on its silence."""
        if self.parent is not None and os.getppid() != self.parent:
            self.stop("the window's process ended")
        now = time.monotonic()
        c = self.client
        if c is not None and now - self._watched > STALL_S:
            c.last_seen = max(c.last_seen, now)  # this loop was not running: no evidence
        self._watched = now
        if c is not None and self.parent is None and now - c.last_seen > DETACH_AFTER:
            self.client = None  # another window may attach; training goes on
        if not self.runner.alive and self.runner.ready.is_set():
            self.stop("the training thread ended")
        if self._frames_wanted and self.frames is None and self.runner.ready.is_set():
            self._frames_wanted = False  # started once; never again after it fails
            self._start_frame_process()

    # ------------------------------------------------------------------ the frame process
    def _start_frame_process(self) -> None:
        from .frame_process import FrameProcess

        try:
            listen = self.address
            inside = os.path.dirname(listen[len("ipc://"):]) if listen.startswith("ipc://") \
                else None
            self.frames = FrameProcess(self.key, self.ctx, inside=inside)
        except (OSError, zmq.ZMQError) as e:
            print(f"engine: no frame process ({e}); frames are drawn on the engine's thread",
                  file=sys.stderr, flush=True)
            return
        self.poller.register(self.frames.sock, zmq.POLLIN)

    def _from_frame_process(self, readable: bool) -> None:
        fp = self.frames
        for kind, request, body in fp.receive() if readable else ():
            if self._drawing != ("fp", request):
                continue  # answers a request a change has made stale
            self._drawing = None
            if kind == "unable":
                self._drawn = -1  # the same copy is drawn here instead
            elif self.client is not None:
                self._hold_or_send(list(body))
        fp.check()
        if fp.broken:
            self.poller.unregister(fp.sock)
            self.frames = None
            if self._drawing is not None:
                self._drawing, self._drawn = None, -1

    # ------------------------------------------------------------------ in
    def _receive(self, frames: list[Any]) -> None:
        identity, body = bytes(frames[0]), frames[1:]
        try:
            msg = P.decode(body, self.key)
        except P.ProtocolError as e:
            # the attached window is told (a version mismatch, a damaged message); a peer
            # that could not sign gets nothing at all: no answer to probe the server with
            if self.client is not None and self.client.identity == identity:
                self._reply(identity, P.Refused(str(e)))
            return
        try:
            self._on_message(identity, msg)
        except Exception as e:  # a well-signed message that still cannot be handled
            with contextlib.suppress(Exception):
                self._reply(identity, P.Refused(f"{type(msg).__name__} could not be handled "
                                                f"({type(e).__name__}: {str(e)[:80]})"))

    def _on_message(self, identity: bytes, msg: Any) -> None:
        if isinstance(msg, P.Hello):
            self._hello(identity)
            return
        c = self.client
        if c is None or c.identity != identity:
            self._reply(identity, P.Welcome(False, "another window is attached to this "
                                                   "engine" if c else "say Hello first"))
            return
        c.last_seen = time.monotonic()
        if isinstance(msg, P.FrameWanted):
            c.credit = min(c.credit + max(0, int(msg.credit)), 4)
        elif isinstance(msg, P.SetView):
            self.view = msg.request
            self._drawn = -1  # the next frame answers the new request
            self._frame_request_changed()
        elif isinstance(msg, P.Ping):
            pass
        elif isinstance(msg, P.Shutdown):
            self.stop("the window closed")
        elif isinstance(msg, P.Detach):
            self.client = None  # training goes on; another window may attach
            if self.exit_when_detached:
                self.stop("the window detached")
        elif isinstance(msg, P.COMMANDS):
            self.runner.send(msg)
        else:
            self._reply(identity, P.Refused(f"{type(msg).__name__} is not a command"))

    def _hello(self, identity: bytes) -> None:
        c = self.client
        if c is not None and c.identity != identity:
            self._reply(identity, P.Welcome(False, "another window is attached to this engine"))
            return
        self.client = _Client(identity)
        self._frame_request_changed()
        self._reply(identity, P.Welcome(True, "", os.getpid(), devices=_devices()))
        from .runner import Replay

        self.runner.send(Replay())  # the whole state so far, in order, from the trainer

    # ------------------------------------------------------------------ out
    def _reply(self, identity: bytes, msg: Any) -> None:
        with contextlib.suppress(zmq.ZMQError):
            self.sock.send_multipart([identity, *P.encode(msg, self.key)], copy=False)

    def _send(self, msg: Any) -> None:
        if self.client is not None:
            self._send_parts(P.encode(msg, self.key))

    def _send_parts(self, parts: list[Any]) -> None:
        c = self.client
        if c is None:
            return
        try:
            self.sock.send_multipart([c.identity, *parts], copy=False)
        except zmq.ZMQError:  # the window went away (ROUTER_MANDATORY): detach
            self.client = None

    def _forward(self, events: list[Any]) -> None:
        """Events in order; adjacent metric rows travel as one message. A change of the
        config makes the next frame due at once, drawn from a copy taken after it (a
        control's change shows within a frame, not two). A window that just said Hello
        gets no state event until its replay begins (``SUPERSEDED``): the replay says it
        all, so the start of the engine never reaches a window twice."""
        import numpy as np

        rows: list[Any] = []
        for ev in events:
            if isinstance(ev, P.ResetDone) and ev.replay and self.client is not None:
                self.client.replayed = True
            early = (self.client is not None and not self.client.replayed
                     and isinstance(ev, SUPERSEDED))
            if isinstance(ev, P.MetricsChunk):
                if not early:
                    rows.append(ev.rows)
                continue
            if rows:
                self._send(P.MetricsChunk(np.concatenate(rows)))
                rows = []
            if not early:
                self._send(ev)
            if isinstance(ev, P.Applied | P.ResetDone):
                self._config_events += 1
                self._last_frame = float("-inf")
                # frames made before the change are not sent; its copy comes within a step
                self._frame_request_changed()
        if rows:
            self._send(P.MetricsChunk(np.concatenate(rows)))

    def _frame_request_changed(self) -> None:
        """A frame made (or being made) for the old request or the old window is not sent."""
        self._ready = None
        self._drawing = None

    def _frame(self) -> None:
        """Draw a frame when one is wanted and send it when due. The weight copy is asked
        for a little before (not right after the last frame), so a frame shows the state
        of a step or two ago, never one a frame interval old; a frame made early waits for
        its moment, so frames leave at an even rhythm however long the copy took."""
        c = self.client
        if c is None or self.view is None or c.credit <= 0:
            return
        now = time.monotonic()
        due = self._last_frame + FRAME_EVERY
        if self._ready is not None:
            if now >= due - EARLY_S:
                self._send_frame(self._ready, now)
            return
        if self._drawing is not None or self._here_busy:
            return
        if now < due - MIRROR_LEAD:
            self.mirror.due = due - MIRROR_LEAD  # the training thread copies then
            return
        src = self.mirror.acquire(newer_than=self._drawn)
        if src is not None and src.config_events < self._config_events:
            self.mirror.release()  # taken before the change the window was just told of
            src = None
        if src is None:
            self.mirror.wanted.set()
            return
        fp = self.frames
        if fp is not None and fp.usable(src):
            try:
                request = fp.draw(src, self.view)
            finally:
                self.mirror.release()
            if request is not None:
                self._drawn = src.version
                self._drawing = ("fp", request)
                return
            src = self.mirror.acquire(newer_than=self._drawn)
            if src is None:
                return
        # drawn on the main thread while training goes on (``_draw_here``); the copy stays
        # held (not refilled) until it is drawn
        self._drawn = src.version
        self._drawing = ("here", src.version)
        self._here_busy = True
        self._here_job = (src, self.view)
        self._keeper.set()

    def _draw_here(self, src: Any, view: P.ViewRequest) -> None:
        """Draw ``src``'s frame (the main thread): the pump that follows sends it."""
        error = None
        snap = None
        try:
            from .views import build_snapshot

            snap = build_snapshot(src, view)
        except Exception as e:  # a frame that cannot be drawn must not end the engine
            error = (f"could not draw a frame: {type(e).__name__}: {str(e)[:200]}",
                     traceback.format_exc())
        finally:
            self.mirror.release()
        self._here_done = (src.version, snap, error)
        self._next = 0.0

    def _from_main_thread(self) -> None:
        """Send (or hold) the frame the main thread drew; say once why one could not be."""
        done = self._here_done
        if done is None:
            return
        self._here_done = None
        self._here_busy = False
        version, snap, error = done
        if self._drawing != ("here", version):
            return  # a change made it stale
        self._drawing = None
        if error is not None:
            if error[0] != self._frame_error:  # said once, not 30 times a second
                self._frame_error = error[0]
                self._send(P.Failed(*error))
            return  # retried with the next state, not this one
        self._frame_error = ""
        if self.client is not None:
            self._hold_or_send(snap)

    def _hold_or_send(self, frame: Any) -> None:
        """Send a frame (a Snapshot, or the parts of one the frame process encoded) now if
        its moment has come, else hold it until then."""
        now = time.monotonic()
        if now >= self._last_frame + FRAME_EVERY - EARLY_S:
            self._send_frame(frame, now)
        else:
            self._ready = frame

    def _send_frame(self, snap: Any, now: float) -> None:
        # frames keep their rhythm (a late one does not push every later one back)
        due = self._last_frame + FRAME_EVERY
        self._last_frame = due if abs(now - due) < FRAME_EVERY / 2 else now
        self._ready = None
        self.client.credit -= 1  # type: ignore[union-attr]
        if isinstance(snap, list):  # already encoded and signed by the frame process
            self.drawn["frame process"] += 1
            self._send_parts(snap)
        else:
            self.drawn["here"] += 1
            self._send(P.Frame(snap))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="engine.server")
    p.add_argument("--listen", required=True)
    p.add_argument("--config", default=None, help="a JSON config file (read, then deleted "
                                                  "when --delete-config)")
    p.add_argument("--delete-config", action="store_true")
    p.add_argument("--preset", default=None)
    p.add_argument("--parent", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--autoplay", action="store_true")
    a = p.parse_args(argv)
    if a.parent is not None:
        watch_parent_death()
        if os.getppid() != a.parent:
            return 0  # the window died before we started
        watchdog(a.parent)
    key = bytes.fromhex(os.environ.get(KEY_ENV, ""))
    config = None
    if a.config:
        with open(a.config, encoding="utf-8") as f:
            config = json.load(f)
        if a.delete_config:
            with contextlib.suppress(OSError):
                os.unlink(a.config)
    elif a.preset:
        from .presets import load_preset

        config = load_preset(a.preset)
    server = EngineServer(a.listen, key, config, parent=a.parent, threads=a.threads,
                          autoplay=a.autoplay, exit_when_detached=a.parent is not None)
    print(json.dumps({"address": server.address, "pid": os.getpid()}), flush=True)

    def on_signal(signum: int, frame: Any) -> None:
        server.stop(signal_reason(signum))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = server.serve()
    if a.parent is not None and os.getppid() != a.parent:
        remove_engine_folder(server.address)  # the window is gone: nobody else will
    sys.stdout.flush()
    os._exit(code)  # daemon threads (a long step) must not keep the process alive


# --------------------------------------------------------------------------- serve

SCHEME = "gan+tcp://"
DEFAULT_PORT = 5557


def signal_reason(signum: int) -> str:
    """What a window is told when a signal ends the engine (its ``Bye``)."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
    return {"SIGINT": "Ctrl+C (SIGINT) where it runs"}.get(name, f"{name} where it runs")


def connection_string(address: str, key: bytes) -> str:
    """``gan+tcp://HOST:PORT?key=HEX``: everything a window needs to attach."""
    return f"{SCHEME}{address.removeprefix('tcp://')}?key={key.hex()}"


def parse_listen(text: str) -> str:
    """``HOST:PORT``, ``PORT`` or ``HOST`` -> ``tcp://HOST:PORT`` (one-line ValueError)."""
    host, _, port = text.rpartition(":") if ":" in text else ("", "", text)
    if not port.isdigit():  # just a host
        host, port = text, str(DEFAULT_PORT)
    host = host or "127.0.0.1"
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen: port {port} is out of range (0-65535)")
    return f"tcp://{host}:{int(port) or '*'}"


def serve_main(argv: list[str]) -> int:
    """``python main.py serve``: an engine that waits for a window (see README, "Remote
    engines"). Bad input is a one-line ValueError (main.py prints it, exit 2)."""
    import secrets

    from .atomic import atomic_write_text
    from .headless import build_config
    from .userdirs import data_dir

    p = argparse.ArgumentParser(prog="main.py serve",
                                description="Start an engine a window can attach to.")
    p.add_argument("--preset", default="ring8", help="built-in preset name or a preset path")
    p.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}",
                   help=f"HOST:PORT to listen on (default 127.0.0.1:{DEFAULT_PORT}: this "
                        "machine only; reach it from elsewhere through an ssh tunnel)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--play", action="store_true", help="start training at once")
    p.add_argument("--connection-file", default=None,
                   help="where to write the connection (default: the user's data folder)")
    a = p.parse_args(argv)
    if not 1 <= a.threads <= 1024:
        raise ValueError(f"--threads: must be in [1, 1024], got {a.threads}")
    address = parse_listen(a.listen)
    config = build_config(a.preset, a.sets, None, a.device)
    key = bytes.fromhex(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else secrets.token_bytes(32)
    import torch

    torch.set_num_threads(a.threads)
    try:
        server = EngineServer(address, key, config, threads=a.threads, autoplay=a.play)
    except zmq.ZMQError as e:
        raise ValueError(f"--listen: cannot listen on {address}: {e.strerror}") from None
    text = connection_string(server.address, key)
    port = server.address.rsplit(":", 1)[1]
    path = a.connection_file or str(data_dir() / "engines" / f"engine-{port}.json")
    info = {"address": server.address, "key": key.hex(), "pid": os.getpid(),
            "preset": config.get("name", a.preset), "connection": text}
    old = os.umask(0o077)  # the key is a password: this file is for this user only
    try:
        atomic_write_text(path, json.dumps(info, indent=2) + "\n")
    finally:
        os.umask(old)
    host = server.address.removeprefix("tcp://").rsplit(":", 1)[0]
    print(f"GAN Playground engine {os.getpid()} serving {info['preset']} on {server.address} "
          f"({'training' if a.play else 'paused'}).\n"
          f"Attach a window (File > Attach to engine…) with:\n  {text}\n"
          f"or the file {path} (readable only by you). From another machine, tunnel first:\n"
          f"  ssh -L {port}:{host}:{port} THIS_HOST\n"
          "and attach with the same string there. Ctrl+C stops the engine.", flush=True)

    def on_signal(signum: int, frame: Any) -> None:
        server.stop(signal_reason(signum))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return server.serve()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())

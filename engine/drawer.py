"""The frame process: draws the live views' frames from weight copies the engine sends.

    python -m engine.drawer --connect ADDRESS --parent PID

Drawing a frame on a thread of the engine process cost training a tenth of its speed on
two cores, though the frame thread used under a tenth of a core: both threads take turns
at one interpreter lock, and the training thread waited for it around every small op
(measured: a drawer thread 0.95 of training alone, a drawer process 1.0). So the engine
copies the weights into a file this process maps (``engine.shared_weights``) a few
milliseconds before each frame is due and says so in a message (``engine.frame_wire``), and this process draws the frame with the same
``engine.views.build_snapshot`` and sends it back already encoded for the window.

What ``build_snapshot`` reads of a session, a ``Replica`` rebuilds from the config: the
networks (from ``engine.models``, then the weights), the loss, the data set's box and
modes. The fixed view batches are not redrawn here but asked for (``need``): they come
from the engine's own ``ViewBatches``, so a frame from here is the frame the engine's
thread would have drawn, value for value (``tests/engine/test_drawer.py``). What it cannot
rebuild (image data, a GPU, a network whose tensors differ from the config's) it says so
(``unable``) and the engine draws those frames on its own thread as before.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any

import numpy as np
import torch
import zmq

from . import protocol as P
from .datasets import DATASETS
from .frame_wire import arrays_in, seal, unpack
from .lifetime import watch_parent_death, watchdog
from .losses import LOSSES
from .mirror import FrameNets, Looks, layout, tensors
from .models import build_network, code_count
from .shared_weights import WeightsIn
from .snapshot import ViewRequest


class NeedBatches(Exception):
    """The fixed view batches of these sizes have not come from the engine yet."""

    def __init__(self, n_fake: int, n_real: int) -> None:
        super().__init__(f"view batches {n_fake}/{n_real}")
        self.n_fake, self.n_real = n_fake, n_real


def drawable(config: dict[str, Any], classes: int, device: str) -> str:
    """Why frames of this state cannot be drawn from a config here ("" when they can):
    image data is read from files (and its views are few), conditional networks need the
    data's labels, and a GPU's weights are best drawn where they are."""
    ds = DATASETS.get(config.get("data", {}).get("name", ""))
    if ds is None or ds.is_image or ds.prepare is not None:
        return "image or file data"
    if classes:
        return "a conditional network"
    if device != "cpu":
        return f"weights on {device}"
    return ""


class Replica(Looks):
    """What ``build_snapshot`` reads of a session, rebuilt from a config (see the module
    docstring)."""

    def __init__(self, config: dict[str, Any], expected_layout: Any) -> None:
        why = drawable(config, 0, "cpu")
        if why:
            raise ValueError(f"cannot draw frames of {why} here")
        with torch.random.fork_rng(devices=[]):  # weights come from the engine: any init
            g = build_network("generator", config, 0).eval()
            d = build_network("discriminator", config, 0).eval()
        self._nets = FrameNets(g, d)
        mine = [list(x) for x in layout(g, d)]
        theirs = [[name, list(shape), dtype] for name, shape, dtype in expected_layout]
        if [[n, list(s), t] for n, s, t in mine] != theirs:
            raise ValueError("the engine's networks differ from those its config builds")
        self._tensors = tensors(g, d)
        self._cfg = config
        self.loss = LOSSES[config["loss"]["name"]]
        self.dataset = DATASETS[config["data"]["name"]]
        self.box = self.dataset.box(config["data"])
        self.classes = 0
        self.class_names: tuple[str, ...] = ()
        self.codes = code_count(config)
        self.device = torch.device("cpu")
        self.step = self.d_updates = self.g_updates = 0
        self._z: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._real: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}

    def view_batches_labelled(self, n_fake: int, n_real: int) -> Any:
        if n_fake not in self._z or n_real not in self._real:
            raise NeedBatches(n_fake, n_real)
        return self._z[n_fake], self._real[n_real]

    # what the engine sends
    def add_batches(self, n_fake: int, n_real: int, arrays: list[np.ndarray],
                    labelled: list[bool]) -> None:
        if len(arrays) != 2 + sum(labelled) or len(labelled) != 2:
            raise ValueError("view batches that do not match their description")
        it = iter([torch.from_numpy(a) for a in arrays])
        z = next(it)
        yz = next(it) if labelled[0] else None
        x = next(it)
        yx = next(it) if labelled[1] else None
        self._z[n_fake] = (z, yz)
        self._real[n_real] = (x, yx)

    def load(self, arrays: list[np.ndarray]) -> None:
        if len(arrays) != len(self._tensors) or any(
                tuple(a.shape) != tuple(t.shape) for a, t in zip(arrays, self._tensors)):
            raise ValueError("weights that do not fit the networks")
        with torch.no_grad():
            torch._foreach_copy_(self._tensors, [torch.from_numpy(a) for a in arrays])


class Drawer:
    """The frame process's loop: one message in, at most one out."""

    def __init__(self, sock: Any, key: bytes) -> None:
        self.sock = sock
        self.key = key
        self.replica: Replica | None = None
        self.spec = -1
        self.unable = ""  # why this spec's frames cannot be drawn here
        self.pending: dict[str, Any] | None = None  # a draw waiting for view batches
        self.weights: WeightsIn | None = None  # the spec's shared weights file

    def send(self, header: dict[str, Any], message: list[Any] = ()) -> None:  # type: ignore[assignment]
        """``message``: a window message (``protocol.encode``'s parts), see ``seal``."""
        self.sock.send_multipart(seal(self.key, header, message), copy=False)

    def on_message(self, frames: list[Any]) -> bool:
        """One message off the socket; False when told to stop. A message this side
        cannot use is answered ``unable`` (the engine then draws that frame itself)."""
        try:
            header, buffers = unpack(self.key, frames)
            return self.handle(header, buffers)
        except Exception as e:  # noqa: BLE001 (whatever it was, the engine draws instead)
            self.pending = None
            self.send({"kind": "unable", "version": -1, "spec": self.spec,
                       "message": f"{type(e).__name__}: {str(e)[:200]}"})
            return True

    def handle(self, header: dict[str, Any], buffers: list[Any]) -> bool:
        """Act on one message; False when told to stop."""
        kind = header["kind"]
        if kind == "stop":
            return False
        if kind == "spec":
            self.spec, self.pending, self.replica, self.unable = int(header["spec"]), None, None, ""
            if self.weights is not None:
                self.weights.close()
            self.weights = None
            try:
                self.replica = Replica(header["config"], header["layout"])
                self.weights = WeightsIn(header.get("weights"), header["layout"])
            except Exception as e:  # anything at all: the engine draws these frames itself
                self.replica = None
                self.unable = f"{type(e).__name__}: {str(e)[:200]}"
        elif kind == "batches" and self.replica is not None and header["spec"] == self.spec:
            self.replica.add_batches(int(header["n_fake"]), int(header["n_real"]),
                                     arrays_in(header["arrays"], buffers),
                                     [bool(v) for v in header["labelled"]])
        elif kind == "draw" and header["spec"] == self.spec:
            if self.replica is None:
                self.send({"kind": "unable", "version": header["version"],
                           "spec": self.spec, "message": self.unable})
                return True
            try:  # copied out of the shared file now: the engine may write it again
                self.replica.load(self.weights.arrays(header["slot"]))  # type: ignore[union-attr]
            except (ValueError, P.ProtocolError) as e:
                self.send({"kind": "unable", "version": header["version"], "spec": self.spec,
                           "message": str(e)[:200]})
                return True
            self.pending = header
        if self.pending is not None:
            self._draw()
        return True

    def _draw(self) -> None:
        header, r = self.pending, self.replica
        assert header is not None and r is not None
        r.step, r.d_updates, r.g_updates = (int(header[k]) for k in ("step", "d_updates",
                                                                     "g_updates"))
        try:
            from .views import build_snapshot

            snap = build_snapshot(r, ViewRequest(**header["view"]))  # type: ignore[arg-type]
            frame = P.encode(P.Frame(snap), self.key)
        except NeedBatches as e:
            self.send({"kind": "need", "version": header["version"], "spec": self.spec,
                       "n_fake": e.n_fake, "n_real": e.n_real})
            return
        except Exception as e:
            self.pending = None
            self.send({"kind": "unable", "version": header["version"], "spec": self.spec,
                       "message": f"{type(e).__name__}: {str(e)[:200]}",
                       "traceback": traceback.format_exc()[-2000:]})
            return
        self.pending = None
        self.send({"kind": "frame", "version": header["version"]}, frame)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="engine.drawer")
    p.add_argument("--connect", required=True)
    p.add_argument("--parent", type=int, required=True)
    a = p.parse_args(argv)
    watch_parent_death()
    if os.getppid() != a.parent:
        return 0
    watchdog(a.parent)
    torch.set_num_threads(1)
    key = bytes.fromhex(os.environ.get("GAN_PLAYGROUND_KEY", ""))
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.PAIR)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, P.MAX_MESSAGE)
    sock.connect(a.connect)
    drawer = Drawer(sock, key)
    # what drawing imports (the views, and through them scipy), before saying ready: on the
    # first draw it took ~1 s of CPU from training while the engine waited for that frame
    from . import views  # noqa: F401

    drawer.send({"kind": "ready", "pid": os.getpid()})
    while drawer.on_message([f.buffer for f in sock.recv_multipart(copy=False)]):
        pass
    sock.close(0)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)

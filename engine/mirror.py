"""Copies of the networks that a frame thread draws from while training goes on.

A live frame (the samples, D over a 64×64 grid) costs as much as a training iteration; at
30 frames a second, drawing them on the training thread took 15% of its time. In the engine
process the training thread therefore only *copies* the weights (a fused memcpy, ~0.1 ms)
into a spare mirror when a frame is wanted, and the frame thread computes the frame from
that copy on the other core. Three mirrors rotate (triple buffering): the training thread
fills one that is neither the newest published one nor the one being drawn, so neither
thread ever waits for the other and no frame ever mixes two weight versions.

A ``FrameSource`` offers what ``engine.views.build_snapshot`` reads from a session.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .datasets import DataSet
    from .losses import Loss
    from .session import Session
    from .views import ViewBatches


class FrameNets:
    def __init__(self, generator: torch.nn.Module, discriminator: torch.nn.Module) -> None:
        self.generator = generator
        self.discriminator = discriminator


class Looks:
    """What ``engine.views.build_snapshot`` reads of a session besides plain fields, over
    ``_cfg``, ``_nets`` and ``view_batches_labelled`` (a ``FrameSource`` here, the frame
    process's ``engine.drawer.Replica``)."""

    _cfg: dict[str, Any]
    _nets: FrameNets

    @property
    def config(self) -> dict[str, Any]:
        return self._cfg

    @property
    def generator(self) -> torch.nn.Module:
        return self._nets.generator

    @property
    def discriminator(self) -> torch.nn.Module:
        return self._nets.discriminator

    def view_batches(self, n_fake: int, n_real: int) -> tuple[torch.Tensor, torch.Tensor]:
        (z, _), (x, _) = self.view_batches_labelled(n_fake, n_real)
        return z, x

    def view_batches_labelled(self, n_fake: int, n_real: int) -> Any:
        raise NotImplementedError


class FrameSource(Looks):
    """A frozen copy of a session as the views see it (``build_snapshot`` takes it)."""

    def __init__(self) -> None:
        self._nets: FrameNets | None = None  # type: ignore[assignment]
        self._owners: tuple[int, int] = (0, 0)
        self._tensors: list[torch.Tensor] = []
        # (name, shape, dtype) of each tensor in ``_tensors``: a new tuple whenever the
        # networks were rebuilt (the frame process checks its own copies against it)
        self.layout: tuple[tuple[str, tuple[int, ...], str], ...] = ()
        self.version = -1
        self.config_events = 0
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self._cfg: dict[str, Any] = {}
        self.loss: Loss | None = None
        self.dataset: DataSet | None = None
        self.box: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
        self.classes = 0
        self.class_names: tuple[str, ...] = ()
        self.codes = 0  # K of G's InfoGAN code (0: none)
        self.device = torch.device("cpu")
        self._views: ViewBatches | None = None

    def view_batches_labelled(self, n_fake: int, n_real: int) -> Any:
        return self._views.get(n_fake, n_real)

    def fill(self, s: Session, version: int) -> None:
        """Copy ``s`` (on the training thread): weights by one fused copy, unless a network
        was rebuilt since (then a deep copy)."""
        live = (s._nets.generator, s._nets.discriminator)
        owners = (id(live[0]), id(live[1]))
        with torch.no_grad():
            if owners != self._owners or self._nets is None:
                # frames only look: eval mode for good (no per-frame walk to switch it)
                self._nets = FrameNets(copy.deepcopy(live[0]).eval(), copy.deepcopy(live[1]).eval())
                self._owners = owners
                self._tensors = tensors(self._nets.generator, self._nets.discriminator)
                self.layout = layout(self._nets.generator, self._nets.discriminator)
            else:
                torch._foreach_copy_(self._tensors, tensors(*live))
        self.version = version
        self.step, self.d_updates, self.g_updates = s.step, s.d_updates, s.g_updates
        self._cfg = s._cfg  # replaced, never mutated, by the session: safe to share
        self.loss, self.dataset, self.box = s.loss, s.dataset, s.box
        self.classes, self.class_names = s.classes, s.class_names if s.classes else ()
        self.codes = s.codes
        self.device = s.device
        self._views = s._views

    def finite(self) -> bool:
        params = [t for t in self._tensors if t.is_floating_point()]
        return not params or bool(torch.isfinite(torch.stack(torch._foreach_norm(params)).sum()))


def tensors(*nets: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach() for net in nets for t in net.state_dict(keep_vars=True).values()]


def layout(generator: torch.nn.Module, discriminator: torch.nn.Module
           ) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    """Name, shape and dtype of every tensor ``tensors`` lists, in its order."""
    return tuple((f"{prefix}.{name}", tuple(t.shape), str(t.dtype).removeprefix("torch."))
                 for prefix, net in (("G", generator), ("D", discriminator))
                 for name, t in net.state_dict(keep_vars=True).items())


class Mirror:
    """Three ``FrameSource`` buffers: published, being drawn, spare."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffers = [FrameSource() for _ in range(3)]
        self._published: FrameSource | None = None
        self._drawing: FrameSource | None = None
        self._version = 0
        self.wanted = threading.Event()  # set by the frame side, cleared by ``refresh``
        # ...or a moment (``time.monotonic()``) from which a copy is wanted: the training
        # thread checks the clock after each iteration, so the frame side need not wake up
        # to ask (each of its wake-ups takes the interpreter lock from training)
        self.due = math.inf

    def refresh(self, s: Session, config_events: int = 0) -> bool:
        """Publish a fresh copy of ``s`` (training thread); False (nothing published) when
        the copy holds NaN or inf. ``config_events`` counts the config events (``Applied``,
        ``ResetDone``) emitted before the copy: the frame side draws no copy older than the
        last change it has told the window of."""
        self.due = math.inf
        with self._lock:
            spare = next(b for b in self._buffers
                         if b is not self._published and b is not self._drawing)
        self._version += 1
        spare.fill(s, self._version)
        spare.config_events = config_events
        if not spare.finite():
            return False
        with self._lock:
            self._published = spare
        self.wanted.clear()
        return True

    def is_wanted(self) -> bool:
        return self.wanted.is_set() or time.monotonic() >= self.due

    def acquire(self, newer_than: int = -1) -> FrameSource | None:
        """The newest published copy, held until ``release`` (frame thread); None when
        there is none newer than ``newer_than``."""
        with self._lock:
            pub = self._published
            if pub is None or pub.version <= newer_than:
                return None
            self._drawing = pub
            return pub

    def release(self) -> None:
        with self._lock:
            self._drawing = None

    @property
    def version(self) -> int:
        return self._version

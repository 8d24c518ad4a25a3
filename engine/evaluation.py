"""Looking at a session without changing it: samples, D's output, and the quality metrics.

Every reader here runs after the session's health check (``Session._checked``), so it never
sees NaN weights; and every metric turns non-finite samples (a generator whose output
overflows while its weights are still finite) into NaN figures instead of a linear-algebra
error of its own.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .divergences import Divergences, divergences
from .metrics import ModeStats, mode_stats
from .models import code_tensor, label_tensor
from .params import Param
from .seeds import seed_of
from .training import noise

if TYPE_CHECKING:
    from .session import Session

MAX_SAMPLES = 10**7

NAN_DIVERGENCES = Divergences(math.nan, math.nan, math.nan, math.nan)


@contextlib.contextmanager
def eval_mode(*nets: torch.nn.Module) -> Iterator[None]:
    """Nets in eval mode for a while, each back to the mode it had. A net already in eval
    mode (a frame's copy of the weights, see ``engine.mirror``) is not walked at all: the
    walk over every submodule was half the cost of a live frame."""
    was = [net.training for net in nets]
    for net, training in zip(nets, was):
        if training:
            net.eval()
    try:
        yield
    finally:
        for net, training in zip(nets, was):
            if training:
                net.train()


@contextlib.contextmanager
def looking(s: Session) -> Iterator[None]:
    """No gradients and eval mode (so spectral norm's power iteration does not advance):
    looking never changes training."""
    with eval_mode(s._nets.generator, s._nets.discriminator), torch.no_grad():
        yield


def as_numpy(s: Session, fn: Callable[[], torch.Tensor]) -> np.ndarray:
    """``fn()`` while looking (see ``looking``), as a numpy copy."""
    with looking(s):
        return fn().detach().cpu().numpy().copy()


def _split(t: torch.Tensor | None, chunk: int, n: int) -> list[torch.Tensor | None]:
    return list(torch.split(t, chunk)) if t is not None else [None] * math.ceil(n / chunk)


CHUNK = 2048  # samples per generator pass when drawing many


def generate_chunks(g: torch.nn.Module, z: torch.Tensor, y: torch.Tensor | None,
                    c: torch.Tensor | None = None, chunk: int = CHUNK
                    ) -> Iterator[torch.Tensor]:
    """G(z, y, c) a chunk at a time (many images at once need not fit in memory as one
    batch). An InfoGAN generator given no codes takes them in turn over the whole of z, not
    from 0 in each chunk. Shared by the session and generator files (``checkpoints``)."""
    if c is None and getattr(g, "code_input", 0):
        c = torch.arange(len(z), device=z.device) % g.code_input
    if len(z) <= chunk:
        yield g(z, y, c).float()
        return
    for zc, yc, cc in zip(torch.split(z, chunk), _split(y, chunk, len(z)),
                          _split(c, chunk, len(z))):
        yield g(zc, yc, cc).float()


def generate_tensor(s: Session, z: torch.Tensor, y: torch.Tensor | None,
                    c: torch.Tensor | None = None, chunk: int = CHUNK,
                    asked: bool = False) -> torch.Tensor:
    """G(z, y, c) on the device, in chunks. ``asked``: a draw the user asked for (any n up
    to ``MAX_SAMPLES``): refused in one line, after the first chunk, when all of it would
    not fit on the device and then in memory as numpy."""
    parts = generate_chunks(s._nets.generator, z, y, c, chunk)
    first = next(parts)
    if len(first) == len(z):
        return first
    if asked:
        from .memory import check_samples

        check_samples(len(z), first[0].numel(), copies=2, device=str(first.device))
    out = torch.empty((len(z), *first.shape[1:]), device=first.device)
    out[:len(first)] = first
    at = len(first)
    for part in parts:
        out[at:at + len(part)] = part
        at += len(part)
    return out


def sample_tensor(s: Session, n: int, seed: int | None, labels: Any,
                  codes: Any = None) -> torch.Tensor:
    """``Session.sample`` on the device (callers are already looking)."""
    n = Param("int", 1, lo=1, hi=MAX_SAMPLES).coerce("n", n)
    y = label_tensor(labels, n, s.classes, s.device)
    c = code_tensor(codes, n, s.codes, s.device)
    seed = seed_of(s._cfg["seed"], s.step, "sample") if seed is None else \
        Param("int", 0, lo=0, hi=2**63 - 1).coerce("seed", seed)
    gen = torch.Generator(s.device).manual_seed(seed)
    return generate_tensor(s, noise(n, s._cfg, gen, s.device), y, c, asked=True)


def session_mutual_info(s: Session, n: int) -> float | None:
    """log K - E CE(Q(G(z, c)), c) over ``n`` fresh fakes with the codes in turn (see
    ``Session.mutual_info``); D (and its head Q) reads them in training-size batches, as
    minibatch features expect. None without a code."""
    k = s.codes
    if not k:
        return None
    from .losses import info_loss

    n = Param("int", 1, lo=1, hi=MAX_SAMPLES).coerce("n", n)
    d = s._nets.discriminator
    size = max(2, s._cfg["train"]["batch_size"])
    with looking(s):
        c = torch.arange(n, device=s.device) % k
        y = label_tensor(None, n, s.classes, s.device)
        gen = torch.Generator(s.device).manual_seed(seed_of(s._cfg["seed"], s.step, "info"))
        fake = generate_tensor(s, noise(n, s._cfg, gen, s.device), y, c)
        if not bool(torch.isfinite(fake).all()):
            return math.nan
        q = torch.cat([d(xc, yc, with_q=True)[1].float() for xc, yc in
                       zip(torch.split(fake, size), _split(y, size, n))])
        return float(math.log(k) - info_loss(q, c))


def session_mode_stats(s: Session, n: int) -> ModeStats | None:
    modes = s.dataset.modes(s._cfg["data"])
    if modes is None:
        return None
    samples = s.sample(n, seed=seed_of(s._cfg["seed"], s.step, "modes"))
    return mode_stats(samples, modes)


def session_divergences(s: Session, n: int, w1_points: int) -> Divergences:
    if s.dataset.is_image:
        raise ValueError("divergences: for 1-D and 2-D data; images are measured by "
                         "quality_scores() (FID and IS)")
    gen = torch.Generator(s.device).manual_seed(seed_of(s._cfg["seed"], s.step, "div"))
    real = s._steps.draw_real(n, gen)[0].cpu().numpy()
    fake = s.sample(n, seed=seed_of(s._cfg["seed"], s.step, "divz"))
    if not (np.isfinite(real).all() and np.isfinite(fake).all()):
        return NAN_DIVERGENCES
    return divergences(real, fake, s.box, w1_points=w1_points)


def cadence_metrics(s: Session, n: int) -> dict[str, float]:
    """The slow metrics logged every ``train.metrics_every`` steps: mode metrics for
    mixture data, divergences for all toy data, FID/IS for labelled images, and the
    InfoGAN mutual-information bound when G reads a code."""
    out: dict[str, float] = {}
    if s.codes:
        out["mutual_info"] = session_mutual_info(s, n)
    if s.dataset.is_image:
        q = s.quality_scores(n)
        if q is not None:
            out.update(fid=q.fid, inception_score=q.inception, kid=q.kid,
                       modes=q.classes_seen, high_quality=q.confident, mode_kl=q.class_kl)
        return out
    ms = s.mode_stats(n)
    if ms is not None:
        out.update(modes=ms.captured, high_quality=ms.high_quality, mode_kl=ms.kl)
    d = s.divergences(n)
    out.update(js=d.js, kl=d.kl, w1=d.w1, mmd=d.mmd)
    return out


class QualityMeters:
    """The classifier behind FID/IS, for whichever data set the session trains on now (a
    data swap or a new seed must never score with the old set's classifier)."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._meter: Any = None  # None with a key: that set cannot be scored

    def meter(self, s: Session) -> Any:
        """The set's meter, or None when it has none: points, unlabelled images, and a
        labelled set the classifier cannot be trained on (one class, say ``photos/cats``,
        or too few pictures: ``QualityMeter.unscorable``). Those train without FID/IS: refusing them
        at the first metrics step would roll training back there every time."""
        ds = s.dataset
        data = s._cfg["data"]
        if not ds.is_image or not ds.classes(data):
            return None
        from .imagedata import data_key, load_images
        from .quality import QualityMeter

        key = data_key(ds.name, data)
        if self._key != key:
            loaded = load_images(ds.name, data)
            labels = loaded.labels
            scorable = labels is not None and not QualityMeter.unscorable(
                len(loaded.images), labels, loaded.classes)
            self._meter = QualityMeter.for_data(
                loaded.key, loaded.images, labels, loaded.classes,
                progress=s.on_progress) if scorable else None
            self._key = key
        return self._meter

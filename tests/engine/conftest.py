"""Shared fixtures for the engine tests: tiny CPU configs and sessions, state capture.

Everything here is small on purpose (hidden [16], batch 32, metrics off) so the whole engine
suite runs in seconds on a laptop CPU.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import Session, load_preset  # noqa: E402
from engine.config import default_config, with_changes  # noqa: E402

# Tiny networks gain nothing from intra-op threads, and on a busy machine OpenMP's spinning
# threads make each step ~30x slower; one thread keeps the suite fast and deterministic.
torch.set_num_threads(1)

TINY: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "generator.hidden": [16],
    "discriminator.hidden": [16],
    "generator.ref_size": 16,
    "discriminator.ref_size": 16,
    "train.batch_size": 32,
    "train.metrics_every": 0,
}


def tiny(changes: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A validated tiny config: ``base`` (default: the default config) + TINY + ``changes``."""
    cfg = default_config() if base is None else base
    return with_changes(cfg, {**TINY, **(changes or {})})


@pytest.fixture
def make_config():
    """``make_config({dotted: value})`` -> a tiny validated config."""
    return tiny


@pytest.fixture
def tiny_config() -> dict[str, Any]:
    return tiny()


@pytest.fixture
def make_session():
    """``make_session({dotted: value})`` -> a fresh Session on a tiny config."""

    def make(changes: dict[str, Any] | None = None, preset: str | None = None) -> Session:
        base = load_preset(preset) if preset else None
        return Session(tiny(changes, base))

    return make


def _clone(obj: Any) -> Any:
    if torch.is_tensor(obj):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_clone(v) for v in obj)
    return copy.deepcopy(obj)


def optimizers(session: Session) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """(G's optimizer, D's optimizer). Not public API; kept in one place on purpose."""
    return session._nets.opt_g, session._nets.opt_d


def capture(session: Session) -> dict[str, Any]:
    """Everything a swap or a failed apply could touch: config, weights, optimizer states."""
    opt_g, opt_d = optimizers(session)
    return {
        "config": session.config,
        "step": session.step,
        "g": _clone(session.generator.state_dict()),
        "d": _clone(session.discriminator.state_dict()),
        "opt_g": _clone(opt_g.state_dict()),
        "opt_d": _clone(opt_d.state_dict()),
        "generator_id": id(session.generator),
        "discriminator_id": id(session.discriminator),
    }


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Deep equality with exact tensor comparison and a readable path on failure."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        assert torch.is_tensor(a) and torch.is_tensor(b), f"{path}: tensor vs non-tensor"
        assert a.shape == b.shape, f"{path}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert torch.equal(a, b), f"{path}: tensors differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), f"{path}: length differs"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture
def state_of():
    return capture


@pytest.fixture
def same():
    return assert_same


@pytest.fixture
def optims():
    return optimizers


def all_params_finite(session: Session) -> bool:
    nets = [session.generator, session.discriminator]
    return all(bool(torch.isfinite(t).all()) for n in nets for t in n.state_dict().values()
               if t.is_floating_point())


@pytest.fixture
def finite():
    return all_params_finite


def assert_changes_show_in_the_next_frame(client: Any, boxes: dict[float, tuple], n: int
                                          ) -> None:
    """Send ``n`` changes of ``data.radius`` (alternating between the two keys of
    ``boxes``) at random phases of the frame rhythm, to an engine that trains and sends
    frames; every frame after each ``Applied`` must show that radius's box (a frame from a
    weight copy taken before the change would show the old plane once more). ``client``
    has ``sock``, ``key`` and ``send`` (the engine-server tests' windows)."""
    import random
    import time

    from engine import protocol as P

    low, high = sorted(boxes)
    radius = high
    rng = random.Random(0)
    for _ in range(n):
        radius = high if radius == low else low
        time.sleep(rng.uniform(0.0, 0.034))
        client.send(P.Apply({"data.radius": radius}))
        end = time.monotonic() + 20
        applied = False
        while time.monotonic() < end:
            assert client.sock.poll(5000), "the engine went quiet"
            msg = P.decode(client.sock.recv_multipart(), client.key)
            if isinstance(msg, P.Applied) and msg.changes.get("data.radius") == radius:
                applied = True
            elif isinstance(msg, P.Frame):
                client.send(P.FrameWanted(1))
                if applied:
                    assert tuple(msg.snapshot.box) == boxes[radius], (radius, msg.snapshot.step)
                    break
        else:
            raise AssertionError("no frame after the change")

"""Shared helpers for the built-in preset tests: sessions from a preset, on the CPU, one thread.

One intra-op thread keeps the floating-point order (so each seeded run) the same on every
machine whatever its core count, and is as fast as more threads for these small MLPs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import Session, load_preset  # noqa: E402
from engine.config import with_changes  # noqa: E402

PRESET_DIR = ROOT / "presets"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def preset_session(name: str, changes: dict[str, Any] | None = None) -> Session:
    """A session on the built-in preset ``name`` on the CPU; ``changes`` may only touch
    sizes and bookkeeping (the tests never change a preset's loss or its key knob)."""
    cfg = with_changes(load_preset(name), {"device": "cpu", **(changes or {})})
    return Session(cfg)


@pytest.fixture
def session_of() -> Callable[..., Session]:
    return preset_session

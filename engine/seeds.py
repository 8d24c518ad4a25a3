"""Stable seeds derived from parts (the config seed, a step, a purpose)."""

from __future__ import annotations

from typing import Any


def seed_of(*parts: Any) -> int:
    """A stable 63-bit seed from parts (hash() of str is salted per process; this is not)."""
    h = 1469598103934665603
    for p in repr(parts).encode():
        h = ((h ^ p) * 1099511628211) % (1 << 64)
    return h % (1 << 63)

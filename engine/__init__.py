"""GAN Playground's training engine: torch and numpy only, no Qt.

The public API (see README, "Scripting API")::

    from engine import Session, load_preset, save_preset, load_generator

Names load on first use (PEP 562), so importing a torch-free module of the engine (the
config schema, the catalogue, the protocol) never imports torch: the window's process
relies on that.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Session": "session", "TrainingDiverged": "session",
    "load_preset": "presets", "save_preset": "presets", "builtin_presets": "presets",
    "load_generator": "checkpoints", "LoadedGenerator": "checkpoints",
    "default_config": "config", "validate": "config",
    "Snapshot": "snapshot", "ViewRequest": "snapshot",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

"""Merging what the insight views need into the link's ``ViewRequest``.

The main window owns the base request (samples and heatmap for the data plane); a view
adds extras (D*, arrows, D's field, the manifold, D on the fakes, a finer 1-D grid) only
while it is on screen. Merging never takes anything away: flags are or-ed, sizes take the
larger value.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.snapshot import ViewRequest

_FLAGS = {f.name for f in dataclasses.fields(ViewRequest) if f.type in ("bool", bool)}
_SIZES = {f.name for f in dataclasses.fields(ViewRequest) if f.type in ("int", int)}


def merge_view(base: ViewRequest, extras: dict[str, Any]) -> ViewRequest:
    """``base`` with ``extras`` added: booleans or-ed, integers max-ed."""
    changes: dict[str, Any] = {}
    for key, value in extras.items():
        if key not in _FLAGS and key not in _SIZES:
            raise KeyError(f"ViewRequest has no flag or size {key!r}")
        current = getattr(base, key)
        if key in _FLAGS:
            merged: Any = bool(current) or bool(value)
        else:
            merged = max(int(current), int(value))
        if merged != current:
            changes[key] = merged
    return dataclasses.replace(base, **changes) if changes else base

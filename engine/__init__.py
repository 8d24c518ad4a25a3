"""GAN Playground's training engine: torch and numpy only, no Qt.

The public API (see README, "Scripting API")::

    from engine import Session, load_preset, save_preset, load_generator
"""

from .checkpoints import LoadedGenerator, load_generator
from .config import default_config, validate
from .presets import builtin_presets, load_preset, save_preset
from .session import Session, TrainingDiverged
from .snapshot import Snapshot, ViewRequest

__all__ = [
    "Session", "TrainingDiverged", "load_preset", "save_preset", "builtin_presets",
    "load_generator", "LoadedGenerator", "default_config", "validate", "Snapshot", "ViewRequest",
]

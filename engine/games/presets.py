"""Games-lab presets: ``presets/games/*.json``, apart from the trainer's ``presets/*.json``.

A preset file is ``{"format": 1, "name": ..., "description": ..., "steps": N, "settings":
{...GameSettings fields...}}``; missing settings take their defaults. Files are read with a
size cap and only when they are regular files (never a FIFO or device that could block).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..presets import PRESET_DIR
from .player import MAX_STEPS
from .settings import GameSettings

GAME_PRESET_DIR = PRESET_DIR / "games"  # beside the trainer's, shipped with them
MAX_PRESET_BYTES = 1_000_000
PRESET_KEYS = ("format", "name", "description", "steps", "settings")


@dataclass(frozen=True)
class GamePreset:
    """A named games-lab setup: what to watch (``description``), settings, steps to show."""

    name: str
    description: str
    settings: GameSettings
    steps: int


def builtin_game_presets() -> list[str]:
    """Names of the built-in games-lab presets (file stems), sorted."""
    return sorted(p.stem for p in GAME_PRESET_DIR.glob("*.json"))


def load_game_preset(name_or_path: str | os.PathLike[str]) -> GamePreset:
    """A built-in name or a path to a preset file; one-line ValueError on anything wrong."""
    path = _preset_path(name_or_path)
    raw = _parse(path, _read_capped(path))
    try:
        return _validate(raw, path.stem)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _preset_path(name_or_path: str | os.PathLike[str]) -> Path:
    text = os.fspath(name_or_path)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"game preset: expected a built-in name or a file path, got {text!r}")
    p = Path(text)
    if p.suffix == ".json" or os.sep in text or "/" in text or p.exists():
        return p
    builtin = GAME_PRESET_DIR / f"{text}.json"
    if builtin.is_file():
        return builtin
    raise ValueError(f"game preset: no built-in preset named {text!r} and no such file; "
                     f"built-in: {', '.join(builtin_game_presets())}")


def _read_capped(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such game preset file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{path}: is a folder, not a game preset file")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file, refused")
        if st.st_size > MAX_PRESET_BYTES:
            raise ValueError(f"{path}: {st.st_size} bytes, more than the "
                             f"{MAX_PRESET_BYTES} a game preset may have")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_PRESET_BYTES + 1)
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_PRESET_BYTES:
        raise ValueError(f"{path}: more than the {MAX_PRESET_BYTES} bytes a game preset may have")
    return data


def _parse(path: Path, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text, not a game preset") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty, not a game preset")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply") from None


def _validate(raw: Any, stem: str) -> GamePreset:
    if not isinstance(raw, dict):
        raise ValueError("a game preset is a JSON object")
    unknown = sorted(set(raw) - set(PRESET_KEYS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key; allowed: {', '.join(PRESET_KEYS)}")
    if raw.get("format", 1) != 1:
        raise ValueError(f"format: got {raw['format']!r}; allowed: 1")
    name = raw.get("name", stem)
    description = raw.get("description", "")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: allowed: a non-empty string")
    if not isinstance(description, str):
        raise ValueError("description: allowed: a string")
    steps = raw.get("steps", 100)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps: got {steps!r}; allowed: an integer in [0, {MAX_STEPS}]")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise ValueError("settings: allowed: an object of game settings")
    return GamePreset(name, description, GameSettings().with_changes(**settings), steps)

"""Where the app keeps its own files (the classifier cache, crash reports), torch-free."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "gan-playground"


def cache_dir() -> Path:
    """``$GAN_PLAYGROUND_CACHE_DIR``, else ``$XDG_CACHE_HOME/gan-playground``, else
    ``~/.cache/gan-playground``."""
    env = os.environ.get("GAN_PLAYGROUND_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / APP_NAME


def data_dir() -> Path:
    """``$GAN_PLAYGROUND_DATA_DIR``, else ``$XDG_DATA_HOME/gan-playground``, else
    ``~/.local/share/gan-playground``: files the user may want to find again."""
    env = os.environ.get("GAN_PLAYGROUND_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / APP_NAME


def crash_report(text: str) -> str:
    """Write a full traceback where a user can find it; returns its path (a temp folder
    when the cache folder cannot be written)."""
    import tempfile
    import time

    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (cache_dir() / "crash-reports", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "(nowhere: no writable folder)"

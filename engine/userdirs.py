"""Where the app keeps its own files, in the platform's own places, torch-free.

One name and one organisation for everything (``APP_NAME``, ``APP_AUTHOR``): the window's
QSettings use them too (``gui.settings``). Folders come from platformdirs (XDG on Linux,
``~/Library`` on macOS, ``%LOCALAPPDATA%`` on Windows); the environment variables
``GAN_PLAYGROUND_CACHE_DIR`` and ``GAN_PLAYGROUND_DATA_DIR`` override them.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "gan-playground"
APP_AUTHOR = "GAN Playground"


def _platform(kind: str) -> Path:
    try:
        import platformdirs
    except ImportError:  # an old environment: the XDG layout
        env = {"cache": "XDG_CACHE_HOME", "data": "XDG_DATA_HOME"}[kind]
        fallback = {"cache": Path.home() / ".cache",
                    "data": Path.home() / ".local" / "share"}[kind]
        base = os.environ.get(env)
        return (Path(base).expanduser() if base else fallback) / APP_NAME
    fn = platformdirs.user_cache_dir if kind == "cache" else platformdirs.user_data_dir
    return Path(fn(APP_NAME, APP_AUTHOR))


def cache_dir() -> Path:
    """The classifier cache: ``$GAN_PLAYGROUND_CACHE_DIR``, else the platform's user cache
    folder (``~/.cache/gan-playground`` on Linux)."""
    env = os.environ.get("GAN_PLAYGROUND_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return _platform("cache")


def data_dir() -> Path:
    """Autosaves and engine connection files: ``$GAN_PLAYGROUND_DATA_DIR``, else the
    platform's user data folder (``~/.local/share/gan-playground`` on Linux)."""
    env = os.environ.get("GAN_PLAYGROUND_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return _platform("data")


def crash_report(text: str, pid: int | None = None) -> str:
    """Write a full traceback where a user can find it; returns its path (a temp folder
    when the cache folder cannot be written). ``pid``: the process that crashed, when not
    this one (two engines dying in the same second get a report each)."""
    import tempfile
    import time

    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{pid or os.getpid()}.txt"
    for folder in (cache_dir() / "crash-reports", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "(nowhere: no writable folder)"

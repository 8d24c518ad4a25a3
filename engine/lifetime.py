"""No engine process outlives the process that started it.

Both the engine (``engine.server``, a child of the window) and its frame process
(``engine.drawer``, a child of the engine) end when their parent is gone: on Linux the
kernel signals them at once; everywhere a watchdog thread that needs nothing from the main
loop ends them within a second, whatever that loop is doing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time

WATCHDOG_GRACE_S = 1.0  # the parent gone this long: the process ends, whatever it does
# the private folder a window makes for its engine's socket (``gui.engine_client``), where
# the engine also puts its frame process's socket and weights file
ENGINE_FOLDER_PREFIX = "gan-playground-"


def watch_parent_death() -> None:
    """Linux: the kernel sends SIGTERM when the parent dies (no polling delay)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def watchdog(parent: int, grace: float = WATCHDOG_GRACE_S) -> None:
    """A backstop that needs nothing from the main loop: a thread of its own ends the
    process when ``parent`` has been gone ``grace`` seconds (the signal above and the main
    loop's own check end it cleanly first; a loop held up by anything must still never
    leave a process behind its parent)."""

    def run() -> None:
        gone_since: float | None = None
        while True:
            time.sleep(0.1)
            if os.getppid() == parent:
                continue
            gone_since = gone_since if gone_since is not None else time.monotonic()
            if time.monotonic() - gone_since >= grace:
                os._exit(0)

    threading.Thread(target=run, name="parent-watchdog", daemon=True).start()


def remove_engine_folder(address: str) -> None:
    """Remove the private folder of an engine's socket (``ipc://FOLDER/engine.sock``).

    Its window removes it once the engine has ended; a window that was killed cannot, and
    each one left a folder in the temp directory for good. The engine, which outlives its
    window by a moment, removes it then."""
    if not address.startswith("ipc://"):
        return
    folder = os.path.dirname(address[len("ipc://"):])
    if os.path.basename(folder).startswith(ENGINE_FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)

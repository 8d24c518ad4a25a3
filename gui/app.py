"""Application entry: ``run_app(config, preset_name)`` opens the window and runs Qt's loop.

``main.py`` calls ``sys.exit(run_app(load_preset(name), name))``. The window's
``SessionKeeper`` is armed here (not in ``MainWindow``), so only the real app writes a crash
marker into the user's data folder, autosaves and asks before closing.
"""

from __future__ import annotations

import signal
import sys
import traceback
from importlib.resources import files
from types import TracebackType
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from .appearance import appearance
from .main_window import MainWindow
from .settings import APPLICATION, ORGANIZATION, app_settings
from .theme import apply_theme


def app_icon() -> QIcon:
    """The application's icon (gui/resources/icon.svg, shipped with the package)."""
    return QIcon(str(files("gui") / "resources" / "icon.svg"))


def make_application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created (and themed) if there is none yet."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
        app.setApplicationDisplayName("GAN Playground")
        app.setDesktopFileName("gan-playground")  # matches packaging/gan-playground.desktop
        app.setWindowIcon(app_icon())
    apply_theme(app)  # type: ignore[arg-type]
    appearance().apply()  # the remembered theme and zoom
    return app  # type: ignore[return-value]


def _remembered_config(config: dict[str, Any], preset_name: str | None
                       ) -> tuple[dict[str, Any], str | None]:
    """With no preset named, reopen the last one used (if it still loads)."""
    if preset_name is not None:
        return config, preset_name
    last = app_settings().value("preset/last")
    if isinstance(last, str) and last:
        from engine.presets import load_preset

        try:
            return load_preset(last), last
        except ValueError:
            pass
    return config, preset_name


def run_app(config: dict[str, Any], preset_name: str | None = None) -> int:
    """Open the window on ``config`` and run until it closes; returns the exit code."""
    app = make_application()
    config, preset_name = _remembered_config(config, preset_name)
    window = MainWindow(config, preset_name)

    def excepthook(kind: type[BaseException], value: BaseException,
                   tb: TracebackType | None) -> None:
        """A bug in a GUI slot is shown in the window, not dumped on the terminal."""
        if issubclass(kind, KeyboardInterrupt):
            interrupted(signal.SIGINT, None)
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        window.message.show_message(f"Internal error: {kind.__name__}: {value}", "error",
                                    details=details)

    presses: list[int] = []

    def interrupted(signum: int, frame: Any) -> None:
        """Ctrl+C in the terminal closes the window as its close button does (asking
        first when training is unsaved); a second one quits without asking. It used to
        show "Internal error: KeyboardInterrupt" and keep running."""
        presses.append(signum)
        if len(presses) == 1:
            # a close the user cancels (the save question) starts the count again: a Ctrl+C
            # hours later must ask, not quit
            QTimer.singleShot(0, lambda: window.close() or presses.clear())
        else:
            window.keeper.confirm_close = False
            app.exit(128 + int(signum))

    previous = sys.excepthook
    sys.excepthook = excepthook
    previous_sigint = signal.signal(signal.SIGINT, interrupted)
    # Qt's loop runs no Python: a signal's handler waits for the next Python call, so a
    # timer gives it one a few times a second
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        window.show()
        window.message.show_message("Press Space (or ▶ Play) to start training. Every control "
                                    "applies while training runs.", "info")
        # crash marker, autosave every few minutes, ask before closing with unsaved
        # training; offers the autosave when the last run did not close cleanly
        window.keeper.arm()
        return app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous_sigint)
        sys.excepthook = previous
        if window.link.alive:
            window.link.stop(timeout=0.8)

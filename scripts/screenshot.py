"""Open the real window on the default preset, train a few hundred steps, save a screenshot.

    xvfb-run -a python scripts/screenshot.py [--steps 400] [--out docs/screenshot.png]

(``QT_QPA_PLATFORM=offscreen`` works too.) Window settings go to a temporary folder, so the
shot always shows the default layout and the user's remembered layout is left alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402

from engine.config import default_config  # noqa: E402
from engine.presets import load_preset  # noqa: E402
from engine.protocol import Pause, Play  # noqa: E402
from gui.app import make_application  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import app_settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--out", default="docs/screenshot.png")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--insight", default=None, metavar="TAB",
                    help="show this tab of the Insight panel, e.g. Divergences")
    ap.add_argument("--size", default=None, metavar="WxH",
                    help="window size, e.g. 1400x900 (default: the first-run size)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp.name)
    app = make_application()
    try:
        config = load_preset(args.preset)
    except ValueError as e:  # presets/ not there yet: the engine's defaults are ring8
        print(f"note: {e}; using the default config", file=sys.stderr)
        config = default_config()
    if args.sets:
        from engine.config import parse_assignment, with_changes

        config = with_changes(config, dict(parse_assignment(t) for t in args.sets))
    window = MainWindow(config, args.preset, settings=app_settings())
    if args.size:
        w, _, h = args.size.partition("x")
        window.resize(int(w), int(h))
    window.show()
    if args.insight:
        window.right_tabs.setCurrentWidget(window.insight)
        window.insight.show_tab(args.insight)
    window.link.send(Play())
    window.transport.show_running(True)
    t0 = time.monotonic()
    result = {"code": 1}

    def check() -> None:
        step = window.link.state.step
        if step >= args.steps or time.monotonic() - t0 > args.timeout:
            timer.stop()
            QTimer.singleShot(400, shoot)  # let status, curves and a last frame arrive

    def shoot() -> None:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(args.out)
        print(f"saved {args.out} ({window.width()}x{window.height()}) at step "
              f"{window.link.state.step}" if ok else f"could not save {args.out}")
        result["code"] = 0 if ok else 1
        window.link.send(Pause())
        window.keeper.confirm_close = False  # a screenshot's run is not the user's to save
        window.close()
        app.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(100)
    app.exec()
    tmp.cleanup()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())

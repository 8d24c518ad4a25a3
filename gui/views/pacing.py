"""Live frames pace the views that rows and status also move (the curves, the Divergences
and Compare tabs).

The engine sends what it logged and then the frame, a moment apart. A view repainted on
the rows was painting just as the frame arrived and held it back 4-6 ms: the frame
interval's 95th percentile was 41-43 ms against 33 ms frames (with this, 36 ms). While
frames come, such views redraw with the frame. A redraw put off (for a frame, or by a
view's own rate limit) is caught up by a timer shortly after, whatever else happens: the
last rows before the engine died, or before frames stopped, are never left undrawn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

FRAMES_LIVE_S = 0.1  # a live frame this recent means the next one is on its way
CATCH_UP_MS = 120    # a put-off redraw happens by then at the latest


class FramePacer(QObject):
    """Remembers when the last live frame was shown, and catches up put-off redraws."""

    def __init__(self, redraw: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._last = -math.inf
        self._redraw = redraw
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CATCH_UP_MS)
        self._timer.timeout.connect(self._catch_up)

    def frame_shown(self) -> None:
        self._last = time.monotonic()

    @property
    def frames_live(self) -> bool:
        """A frame came within ``FRAMES_LIVE_S``: leave redrawing to the next one."""
        return time.monotonic() - self._last <= FRAMES_LIVE_S

    def request(self) -> None:
        """Rows or a status arrived: redraw now, unless a frame is coming to do it (then
        catch up if none does)."""
        if self.frames_live:
            self.put_off()
        else:
            self._redraw()

    def put_off(self) -> None:
        """A redraw was put off: ``redraw()`` runs within ``CATCH_UP_MS`` unless frames
        still come then (each draws the view, and puts off again what it cannot)."""
        if not self._timer.isActive():
            self._timer.start()

    def _catch_up(self) -> None:
        if not self.frames_live:
            self._redraw()

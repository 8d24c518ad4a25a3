"""Live frames pace the views that rows and status also move (the curves, the Divergences
and Compare tabs).

The engine sends what it logged and then the frame, a moment apart. A view repainted on
the rows was painting just as the frame arrived and held it back 4-6 ms: the frame
interval's 95th percentile was 41-43 ms against 33 ms frames (with this, 36 ms). While
frames come, such views redraw with the frame; when none come (paused, stepping by hand,
no live view) the rows and the status draw them, since nothing else would.
"""

from __future__ import annotations

import math
import time

FRAMES_LIVE_S = 0.1  # a live frame this recent means the next one is on its way


class FramePacer:
    """Remembers when the last live frame was shown."""

    def __init__(self) -> None:
        self._last = -math.inf

    def frame_shown(self) -> None:
        self._last = time.monotonic()

    @property
    def frames_live(self) -> bool:
        """A frame came within ``FRAMES_LIVE_S``: leave redrawing to the next one."""
        return time.monotonic() - self._last <= FRAMES_LIVE_S

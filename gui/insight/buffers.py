"""Bounded memory for the insight views: metric rows and recent snapshots.

Both keep a run of any length in a fixed budget. When full, the older half is thinned by
two, so the whole run stays reachable at decreasing resolution into the past while the
recent part stays exact (the same rule as the engine's history).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from engine.metrics import COLUMNS
from engine.snapshot import Snapshot

from ..views.series import BoundedSeries


class RowBuffer(BoundedSeries):
    """The app's bounded metric rows (``engine.metrics.COLUMNS`` by default), with the
    accessors the insight plots need: copies, since a curve keeps what it is given."""

    def __init__(self, columns: Sequence[str] = COLUMNS, capacity: int = 20_000) -> None:
        super().__init__(columns, capacity)

    def column(self, name: str) -> np.ndarray:
        return super().column(name).copy()

    def xy(self, name: str, x: str = "step", positive: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) where y is finite (and > 0 when ``positive``, for log axes)."""
        xs = self._data[:self._n, self._index[x]]
        ys = self._data[:self._n, self._index[name]]
        ok = np.isfinite(xs) & np.isfinite(ys)
        if positive:
            ok &= ys > 0
        return xs[ok].copy(), ys[ok].copy()

    def last(self, name: str) -> float | None:
        """The most recent finite value of a column."""
        return self.last_valid(name)


def snapshot_nbytes(snap: Snapshot) -> int:
    return sum(int(v.nbytes) for v in vars(snap).values() if isinstance(v, np.ndarray))


class SnapshotRing:
    """Recent frames for the timeline, bounded by count and by bytes.

    A frame is kept when its step differs from the last kept one and at least
    ``min_interval`` seconds have passed (a paused engine re-publishes the same frame;
    a fast one publishes ~30 a second). When a bound is hit, the older half is thinned by
    two: scrubbing reaches back to the start of the run, recent frames stay dense.
    """

    def __init__(self, capacity: int = 300, max_bytes: int = 64 << 20,
                 min_interval: float = 1 / 15) -> None:
        if capacity < 4:
            raise ValueError("capacity must be at least 4")
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.min_interval = min_interval
        self._frames: list[Snapshot] = []
        self._sizes: list[int] = []
        self._last_time = -np.inf

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i: int) -> Snapshot:
        return self._frames[i]

    @property
    def nbytes(self) -> int:
        return sum(self._sizes)

    def steps(self) -> list[int]:
        return [f.step for f in self._frames]

    def clear(self) -> None:
        self._frames.clear()
        self._sizes.clear()
        self._last_time = -np.inf

    def add(self, snap: Snapshot, now: float | None = None) -> bool:
        """Keep ``snap`` if it is new enough; True when it was kept."""
        now = time.monotonic() if now is None else now
        if self._frames and (snap.step == self._frames[-1].step
                             or now - self._last_time < self.min_interval):
            return False
        size = snapshot_nbytes(snap)
        while self._frames and (len(self._frames) >= self.capacity
                                or self.nbytes + size > self.max_bytes):
            self._thin()
        self._frames.append(snap)
        self._sizes.append(size)
        self._last_time = now
        return True

    def _thin(self) -> None:
        n = len(self._frames)
        if n <= 1:
            self._frames.clear()
            self._sizes.clear()
            return
        half = n // 2
        # drop every other frame of the older half (its first frame is kept: the run's start)
        keep = [i for i in range(half) if i % 2 == 0] + list(range(half, n))
        self._frames = [self._frames[i] for i in keep]
        self._sizes = [self._sizes[i] for i in keep]

    def index_of_step(self, step: int) -> int:
        """The index of the kept frame nearest to ``step`` (-1 when empty)."""
        if not self._frames:
            return -1
        steps = np.asarray(self.steps())
        return int(np.abs(steps - step).argmin())

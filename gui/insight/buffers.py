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


class RowBuffer:
    """Rows of named float columns (default: ``engine.metrics.COLUMNS``), bounded."""

    def __init__(self, columns: Sequence[str] = COLUMNS, capacity: int = 20_000) -> None:
        if capacity < 4:
            raise ValueError("capacity must be at least 4")
        self.columns = tuple(columns)
        self.capacity = capacity
        self._index = {c: i for i, c in enumerate(self.columns)}
        self._data = np.empty((capacity, len(self.columns)))
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        self._n = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.columns))
        if len(rows) > self.capacity // 2:
            rows = rows[-(self.capacity // 2):]
        while self._n + len(rows) > self.capacity:
            half = self._n // 2
            old = self._data[:half:2].copy()
            keep = self._data[half:self._n].copy()
            self._data[:len(old)] = old
            self._data[len(old):len(old) + len(keep)] = keep
            self._n = len(old) + len(keep)
        self._data[self._n:self._n + len(rows)] = rows
        self._n += len(rows)

    def column(self, name: str) -> np.ndarray:
        """A copy of one column (safe to hand to a curve, which keeps a reference)."""
        return self._data[:self._n, self._index[name]].copy()

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
        col = self._data[:self._n, self._index[name]]
        ok = np.flatnonzero(np.isfinite(col))
        return float(col[ok[-1]]) if len(ok) else None


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

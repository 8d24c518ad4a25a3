"""Bounded metric history for the curves, however long the run.

The engine sends every new row once; the GUI keeps its own copy for drawing. When the
buffer is full, the older half is thinned by two: a run of any length keeps its whole shape
at decreasing resolution into the past while recent steps stay exact, and memory and
drawing cost stay flat.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class BoundedSeries:
    """Rows of named float columns in a fixed amount of memory."""

    def __init__(self, columns: Sequence[str], capacity: int = 20_000) -> None:
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
        if len(rows) > self.capacity // 2:  # a huge chunk: keep its second half at full rate
            rows = rows[-(self.capacity // 2):]
        while self._n + len(rows) > self.capacity:
            self._thin()
        self._data[self._n: self._n + len(rows)] = rows
        self._n += len(rows)

    def _thin(self) -> None:
        half = self._n // 2
        old = self._data[:half:2].copy()
        keep = self._data[half: self._n].copy()
        self._data[: len(old)] = old
        self._data[len(old): len(old) + len(keep)] = keep
        self._n = len(old) + len(keep)

    def truncate_after(self, step: float) -> bool:
        """Drop the rows from the first one past ``step`` on (a rollback); True if any."""
        steps = self._data[: self._n, self._index["step"]]
        later = np.flatnonzero(steps > step)
        if not len(later):
            return False
        self._n = int(later[0])
        return True

    def drop_through(self, step: float) -> bool:
        """Drop the rows up to and including ``step`` (a change applied at ``step`` came
        after its row: they describe a data set since replaced); True if any."""
        steps = self._data[: self._n, self._index["step"]]
        keep = steps > step
        if keep.all():
            return False
        kept = self._data[: self._n][keep].copy()
        self._data[: len(kept)] = kept
        self._n = len(kept)
        return True

    def rows(self) -> np.ndarray:
        """A copy of every row held."""
        return self._data[: self._n].copy()

    def column(self, name: str) -> np.ndarray:
        """A read-only view of one column (valid until the next ``extend``)."""
        view = self._data[: self._n, self._index[name]]
        view.flags.writeable = False
        return view

    def last_valid(self, name: str) -> float | None:
        """The most recent non-NaN value of a column (mode metrics are sparse)."""
        col = self._data[: self._n, self._index[name]]
        ok = np.flatnonzero(~np.isnan(col))
        return float(col[ok[-1]]) if len(ok) else None

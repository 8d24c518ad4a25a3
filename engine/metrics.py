"""Mode metrics (VEEGAN / PacGAN convention) and the bounded metric history."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .catalogue import CADENCE_COLUMNS, COLUMNS, STEP_COLUMNS
from .dataspecs import Modes

__all__ = ["COLUMNS", "STEP_COLUMNS", "CADENCE_COLUMNS", "ModeStats", "mode_stats", "History",
           "format_row"]


@dataclass(frozen=True)
class ModeStats:
    captured: int       # modes with at least one high-quality sample
    total: int
    high_quality: float  # fraction of samples within 3 std of their nearest mode
    kl: float           # KL(per-mode histogram of HQ samples || uniform); nan with no HQ sample


def mode_stats(samples: np.ndarray, modes: Modes, threshold: float = 3.0) -> ModeStats:
    """Assign each sample to its nearest mode in units of the mode's std."""
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(modes.centers, dtype=np.float64)
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    dist = np.sqrt(d2[np.arange(len(x)), nearest]) / modes.std
    hq = dist < threshold
    counts = np.bincount(nearest[hq], minlength=len(c)).astype(np.float64)
    captured = int((counts > 0).sum())
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        kl = float((p[nz] * np.log(p[nz] * len(c))).sum())
    else:
        kl = math.nan
    return ModeStats(captured, len(c), float(hq.mean()) if len(x) else 0.0, kl)


class History:
    """Logged metrics, one row per logged step, bounded in memory.

    When full, the older half is thinned by two, so a run of any length keeps its whole
    shape at decreasing resolution into the past while recent steps stay exact.
    """

    def __init__(self, max_rows: int = 200_000) -> None:
        self.max_rows = max_rows
        self._data = np.empty((1024, len(COLUMNS)))
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(COLUMNS))
        need = self._n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), len(COLUMNS)))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n: need] = rows
        self._n = need
        if self._n > self.max_rows:
            half = self._n // 2
            old = self._data[:half:2]
            new = self._data[half: self._n]
            self._data = np.concatenate([old, new, np.empty((len(self._data) - len(old) - len(new), len(COLUMNS)))])
            self._n = len(old) + len(new)

    def truncate(self, n: int) -> None:
        self._n = min(self._n, n)

    @property
    def rows(self) -> np.ndarray:
        """A copy of all rows, (n, len(COLUMNS))."""
        return self._data[: self._n].copy()

    def __getitem__(self, column: str) -> np.ndarray:
        return self._data[: self._n, COLUMNS.index(column)].copy()

    def as_dict(self) -> dict[str, np.ndarray]:
        return {c: self[c] for c in COLUMNS}

    def last(self) -> dict[str, float]:
        if not self._n:
            return {}
        return dict(zip(COLUMNS, self._data[self._n - 1].tolist()))

    def __repr__(self) -> str:
        return f"History({self._n} rows, columns={COLUMNS})"


def format_row(row: np.ndarray) -> list[str]:
    """CSV cells: the step as an integer, figures in full precision, missing values empty."""
    cells = [str(int(row[0]))]
    for v in row[1:]:
        cells.append("" if math.isnan(v) else repr(float(v)))
    return cells

"""2-D points from a CSV file (File > Import points CSV), torch-free: the window reads them."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from .dataspecs import MAX_POINTS
from .safeio import read_capped

MAX_CSV_BYTES = 64 * MAX_POINTS  # a generous 64 bytes per "x,y" row


def load_points_csv(path: str) -> list[list[float]]:
    """Read 2-D points from a CSV (x, y per row; a header row is skipped). Raises ValueError."""
    raw = read_capped(path, MAX_CSV_BYTES, "a CSV file of x,y rows")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None
    try:  # newline="": CR-only (old Mac) and CRLF line ends read as line ends too
        return _points(path, csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:  # a cell over the csv module's field limit, a stray NUL ...
        raise ValueError(f"{path}: not a CSV file of x,y rows ({str(e)[:80]})") from None


def _points(path: str, rows: Any) -> list[list[float]]:
    pts: list[list[float]] = []
    for i, row in enumerate(rows):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells:
            continue
        try:
            vals = [float(c) for c in cells[:2]]
        except ValueError:
            if i == 0 and not pts:
                continue  # header
            raise ValueError(f"{path}: line {i + 1} is not two numbers: {row!r}"[:200]) from None
        if len(vals) < 2:
            raise ValueError(f"{path}: line {i + 1} has {len(vals)} column(s); need x,y")
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"{path}: line {i + 1} holds a non-finite number")
        pts.append(vals)
        if len(pts) > MAX_POINTS:
            raise ValueError(f"{path}: holds more than {MAX_POINTS:,} points; at most "
                             f"{MAX_POINTS:,} are used")
    if len(pts) < 1:
        raise ValueError(f"{path}: no points found (expected rows of x,y)")
    return pts

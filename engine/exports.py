"""Exports a user asks for: metrics as CSV, generated samples as CSV or NPY (atomic writes)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .checkpoints import atomic_write_bytes, atomic_write_text
from .metrics import COLUMNS, History, format_row

SAMPLE_FORMATS = (".npy", ".csv")


def metrics_csv_text(history: History) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in history.rows:
        w.writerow(format_row(row))
    return buf.getvalue()


def write_metrics_csv(history: History, path: str) -> None:
    atomic_write_text(str(path), metrics_csv_text(history))


def write_samples(samples: np.ndarray, path: str) -> None:
    """``.npy`` keeps full precision; ``.csv`` has a header row (x, y, ...)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SAMPLE_FORMATS:
        raise ValueError(f"{path}: samples are written as .npy or .csv, not {suffix or 'no extension'!r}")
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, np.asarray(samples))
        atomic_write_bytes(str(path), buf.getvalue())
        return
    arr = np.asarray(samples).reshape(len(samples), -1)
    names = ["x", "y"] if arr.shape[1] == 2 else [f"v{i}" for i in range(arr.shape[1])]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for r in arr:
        w.writerow([repr(float(v)) for v in r])
    atomic_write_text(str(path), out.getvalue())

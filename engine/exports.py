"""Exports a user asks for: metrics as CSV, generated samples as CSV or NPY (atomic writes)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .checkpoints import atomic_write_bytes, atomic_write_text
from .metrics import COLUMNS, History, format_row

SAMPLE_FORMATS = (".npy", ".csv", ".png")


def metrics_csv_text(history: History) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in history.rows:
        w.writerow(format_row(row))
    return buf.getvalue()


def write_metrics_csv(history: History, path: str) -> None:
    atomic_write_text(str(path), metrics_csv_text(history))


def image_grid(images: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """(n, C, H, W) in [-1, 1] -> one uint8 picture (rows, cols, C) with a 1-pixel gap: how
    a user looks at a batch of generated images outside the app."""
    x = np.asarray(images, dtype=np.float32)
    n, c, h, w = x.shape
    cols = cols or max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    pix = np.clip(np.rint((x + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in range(n):
        r, q = divmod(i, cols)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        out[y0:y0 + h, x0:x0 + w] = pix[i]
    return out


def png_bytes(picture: np.ndarray, scale: int = 1) -> bytes:
    import PIL.Image

    img = PIL.Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), PIL.Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_samples(samples: np.ndarray, path: str) -> None:
    """``.npy`` keeps full precision; ``.csv`` has a header row (x, y, ...); ``.png`` is a
    grid picture, for images only."""
    suffix = Path(path).suffix.lower()
    if suffix not in SAMPLE_FORMATS:
        raise ValueError(f"{path}: samples are written as .npy, .csv or .png, not "
                         f"{suffix or 'no extension'!r}")
    if suffix == ".png":
        arr = np.asarray(samples)
        if arr.ndim != 4:
            raise ValueError(f"{path}: a .png holds images; these samples are points "
                             "(write .npy or .csv)")
        atomic_write_bytes(str(path), png_bytes(image_grid(arr[:400]), scale=2))
        return
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

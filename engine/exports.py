"""Exports a user asks for: metrics as CSV, generated samples as CSV or NPY (atomic writes)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes, atomic_write_text
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


def tile_images(images: np.ndarray, cols: int, pad: int = 1, pad_value: float = -1.0,
                border: bool = False) -> np.ndarray:
    """(n, C, H, W) images -> one (rows*H, cols*W, C) picture, row-major (``[0, 0]`` is the
    first image's top-left pixel), ``pad`` pixels of ``pad_value`` between images (and
    around them with ``border``); an incomplete last row is filled with ``pad_value``.
    The PNG export and the app's image grids both tile with this."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected (n, 1 or 3, H, W) images, got shape {images.shape}")
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("no images to tile")
    cols = max(1, int(cols))
    rows = -(-n // cols)
    cell = np.full((rows * cols, h + pad, w + pad, c), pad_value, dtype=np.float32)
    cell[:n, :h, :w, :] = images.transpose(0, 2, 3, 1)
    tiled = (cell.reshape(rows, cols, h + pad, w + pad, c)
             .transpose(0, 2, 1, 3, 4)
             .reshape(rows * (h + pad), cols * (w + pad), c))
    if border:
        return np.pad(tiled, ((pad, 0), (pad, 0), (0, 0)), constant_values=pad_value)
    return tiled[:rows * (h + pad) - pad, :cols * (w + pad) - pad]


def image_grid(images: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """(n, C, H, W) in [-1, 1] -> one uint8 picture (rows, cols, C) with a 1-pixel black gap:
    how a user looks at a batch of generated images outside the app."""
    n = len(images)
    cols = cols or max(1, int(np.ceil(np.sqrt(n))))
    tiled = tile_images(images, cols, pad, pad_value=-1.0, border=True)
    return np.clip(np.rint((tiled + 1) * 127.5), 0, 255).astype(np.uint8)


def png_bytes(picture: np.ndarray, scale: int = 1) -> bytes:
    import PIL.Image

    img = PIL.Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), PIL.Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def samples_bytes(samples: np.ndarray, suffix: str, name: str = "") -> bytes:
    """Samples as a file's bytes: ``.npy`` keeps full precision; ``.csv`` has a header row
    (x, y, ...); ``.png`` is a grid picture, for images only (``name`` for messages)."""
    suffix = suffix.lower()
    name = name or f"samples{suffix}"
    if suffix not in SAMPLE_FORMATS:
        raise ValueError(f"{name}: samples are written as .npy, .csv or .png, not "
                         f"{suffix or 'no extension'!r}")
    if suffix == ".png":
        arr = np.asarray(samples)
        if arr.ndim != 4:
            raise ValueError(f"{name}: a .png holds images; these samples are points "
                             "(write .npy or .csv)")
        return png_bytes(image_grid(arr[:400]), scale=2)
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, np.asarray(samples))
        return buf.getvalue()
    arr = np.asarray(samples).reshape(len(samples), -1)
    names = ["x", "y"] if arr.shape[1] == 2 else [f"v{i}" for i in range(arr.shape[1])]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for r in arr:
        w.writerow([repr(float(v)) for v in r])
    return out.getvalue().encode("utf-8")


def write_samples(samples: np.ndarray, path: str) -> None:
    """``samples_bytes`` into ``path`` (atomically), the format from its suffix."""
    data = samples_bytes(samples, Path(path).suffix, str(path))
    atomic_write_bytes(str(path), data)

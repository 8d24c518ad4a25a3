"""Pure numpy shapes for the insight plots: arrows, meshes, z -> G(z) lines.

Everything returns flat ``x, y`` arrays ready for one ``PlotDataItem`` each, so a frame is a
single ``setData`` per layer however many arrows or mesh lines it holds (``connect="pairs"``
for segments, NaN-separated polylines with ``connect="finite"``).
"""

from __future__ import annotations

import numpy as np

HEAD_FRACTION = 0.32    # arrow head length, as a fraction of the arrow
HEAD_ANGLE = np.deg2rad(25.0)
EMPTY = (np.empty(0), np.empty(0))


def arrow_lengths(vectors: np.ndarray, length: float, mode: str = "relative") -> np.ndarray:
    """Display length of each vector.

    ``relative``: proportional to the vector's norm, the 95th percentile drawn at ``length``
    (longer ones capped at 1.5x, so one outlier does not shrink the rest to dots).
    ``direction``: every arrow drawn at ``length`` (only the direction shows).
    """
    norms = np.linalg.norm(vectors, axis=1)
    if mode == "direction":
        return np.where(norms > 0, length, 0.0)
    ref = float(np.percentile(norms, 95)) if len(norms) else 0.0
    if not np.isfinite(ref) or ref <= 0:
        return np.zeros_like(norms)
    return np.minimum(norms / ref, 1.5) * length


def arrow_segments(origins: np.ndarray, vectors: np.ndarray, length: float,
                   mode: str = "relative") -> tuple[np.ndarray, np.ndarray]:
    """Segments (shaft + two head strokes per arrow) for ``connect="pairs"``."""
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
    vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, 2)
    ok = np.isfinite(origins).all(1) & np.isfinite(vectors).all(1)
    origins, vectors = origins[ok], vectors[ok]
    if not len(origins):
        return EMPTY
    lengths = arrow_lengths(vectors, length, mode)
    norms = np.linalg.norm(vectors, axis=1)
    keep = (lengths > 0) & (norms > 0)
    if not keep.any():
        return EMPTY
    o, v, lengths, norms = origins[keep], vectors[keep], lengths[keep], norms[keep]
    unit = v / norms[:, None]
    tip = o + unit * lengths[:, None]
    head = (HEAD_FRACTION * lengths)[:, None]
    c, s = np.cos(HEAD_ANGLE), np.sin(HEAD_ANGLE)
    back = -unit
    left = np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], 1)
    right = np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], 1)
    pts = np.stack([o, tip, tip, tip + head * left, tip, tip + head * right], 1)  # (n, 6, 2)
    pts = pts.reshape(-1, 2)
    return pts[:, 0].copy(), pts[:, 1].copy()


def mesh_polylines(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows then columns of a (rows, cols, 2) grid as NaN-separated polylines."""
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 3 or g.shape[2] < 2 or g.size == 0:
        return EMPTY
    g = g[..., :2]
    rows, cols = g.shape[:2]
    lines = [g[i] for i in range(rows)]
    if rows > 1:
        lines += [g[:, j] for j in range(cols)]
    sep = np.full((1, 2), np.nan)
    pts = np.concatenate([np.concatenate([line, sep]) for line in lines])
    return pts[:, 0].copy(), pts[:, 1].copy()


def spread_indices(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` values evenly spaced in rank (a readable subset of the noise)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(values)
    if n == 0 or count <= 0:
        return np.empty(0, dtype=int)
    order = np.argsort(values, kind="stable")
    ranks = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
    return order[ranks]


def mapping_segments(z: np.ndarray, gz: np.ndarray, z_range: tuple[float, float],
                     x_range: tuple[float, float], z_level: float, x_level: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Segments from each z (drawn on the lower line, rescaled onto ``x_range``) to G(z)
    (on the upper line), for ``connect="pairs"``."""
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    gz = np.asarray(gz, dtype=np.float64).reshape(-1)
    ok = np.isfinite(z) & np.isfinite(gz)
    z, gz = z[ok], gz[ok]
    if not len(z):
        return EMPTY
    zx = z_to_axis(z, z_range, x_range)
    xs = np.stack([zx, gz], 1).reshape(-1)
    ys = np.tile([z_level, x_level], len(z))
    return xs, ys.astype(np.float64)


def z_to_axis(z: np.ndarray, z_range: tuple[float, float], x_range: tuple[float, float]
              ) -> np.ndarray:
    z0, z1 = z_range
    x0, x1 = x_range
    span = z1 - z0 if z1 > z0 else 1.0
    return x0 + (np.asarray(z, dtype=np.float64) - z0) / span * (x1 - x0)

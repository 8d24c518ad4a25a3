"""The per-step figures (losses, mean D outputs, gradient norms), kept raw on the device by
each step and reduced in bulk at the health check.

A GPU training the playground's small networks is bound by kernel launches, not arithmetic:
reducing each step's figures as it happens (a sigmoid and a mean per D output, a stack and a
norm per gradient, a stack per logged row) cost ~10 launches an iteration, about 10% of a
ring8 step (measured on an H200 and, with a tiny batch, on a CPU). A step now keeps only
what cannot be had later, detached D outputs and the per-tensor gradient norms (one fused
``_foreach_norm``: the gradients are gone at the next step), and ``reduce`` turns a health
check's worth of rows into figures with a constant number of operators and one transfer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .catalogue import STEP_COLUMNS


@dataclass(frozen=True)
class DFigures:
    """What one D step leaves for its row: the loss, D's raw outputs on the real and the
    fake batch (detached), whether they are logits of a probability, and the gradient norm
    of each of D's tensors."""

    loss: torch.Tensor
    real: torch.Tensor
    fake: torch.Tensor
    probability: bool
    norms: tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class GFigures:
    """What one G step leaves for its row: the loss and the norm of each gradient tensor."""

    loss: torch.Tensor
    norms: tuple[torch.Tensor, ...]


Row = tuple[DFigures | None, GFigures | None]  # None: that network did not step


def grad_norms(params: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The L2 norm of each gradient, in one fused operator (no gradient: none)."""
    grads = [p.grad for p in params if p.grad is not None]
    return tuple(torch._foreach_norm(grads)) if grads else ()


_COL = {name: i for i, name in enumerate(STEP_COLUMNS)}


class _Parts:
    """Device tensors of figures and the (row, column) cells each of their values fills."""

    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self.cells: list[tuple[list[int], int]] = []

    def add(self, values: torch.Tensor, rows: list[int], column: str) -> None:
        self.tensors.append(values.reshape(-1).float())
        self.cells.append((rows, _COL[column]))


def _total_norms(parts: _Parts, rows: list[int], norms: list[tuple[torch.Tensor, ...]],
                 column: str, device: torch.device) -> None:
    """sqrt(sum of squares) of each row's per-tensor norms, rows grouped by tensor count."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(norms):
        groups[len(n)].append(i)
    for k, members in groups.items():
        at = [rows[i] for i in members]
        if k == 0:
            parts.add(torch.zeros(len(members), device=device), at, column)
            continue
        flat = torch.stack([t for i in members for t in norms[i]]).view(len(members), k)
        parts.add(torch.linalg.vector_norm(flat.float(), dim=1), at, column)


def _mean_outputs(parts: _Parts, rows: list[int], ds: list[DFigures]) -> None:
    """Mean D(x) per row (a probability: mean sigmoid), rows grouped by output shape."""
    groups: dict[tuple[tuple[int, ...], tuple[int, ...], bool], list[int]] = defaultdict(list)
    for i, d in enumerate(ds):
        groups[(tuple(d.real.shape), tuple(d.fake.shape), d.probability)].append(i)
    for (_, _, probability), members in groups.items():
        at = [rows[i] for i in members]
        for column, side in (("d_real", "real"), ("d_fake", "fake")):
            x = torch.stack([getattr(ds[i], side) for i in members]).flatten(1).float()
            parts.add((torch.sigmoid(x) if probability else x).mean(1), at, column)


def reduce(rows: Sequence[Row], device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """The figures of ``rows`` as (values, skipped), each (len(rows), len(STEP_COLUMNS)):
    float64 values fetched in one transfer, and True where a network did not step (its
    cells hold 0)."""
    n = len(rows)
    vals = np.zeros((n, len(STEP_COLUMNS)))
    skipped = np.zeros((n, len(STEP_COLUMNS)), dtype=bool)
    if not n:
        return vals, skipped
    d_rows = [i for i, (d, _) in enumerate(rows) if d is not None]
    g_rows = [i for i, (_, g) in enumerate(rows) if g is not None]
    for column in STEP_COLUMNS:
        skipped[:, _COL[column]] = True
    skipped[np.ix_(d_rows, [_COL[c] for c in ("d_loss", "d_real", "d_fake", "d_grad_norm")])] \
        = False
    skipped[np.ix_(g_rows, [_COL[c] for c in ("g_loss", "g_grad_norm")])] = False
    parts = _Parts()
    ds = [rows[i][0] for i in d_rows]
    gs = [rows[i][1] for i in g_rows]
    if ds:
        parts.add(torch.stack([d.loss.float() for d in ds]), d_rows, "d_loss")
        _mean_outputs(parts, d_rows, ds)
        _total_norms(parts, d_rows, [d.norms for d in ds], "d_grad_norm", device)
    if gs:
        parts.add(torch.stack([g.loss.float() for g in gs]), g_rows, "g_loss")
        _total_norms(parts, g_rows, [g.norms for g in gs], "g_grad_norm", device)
    if parts.tensors:
        flat = torch.cat(parts.tensors).cpu().numpy().astype(np.float64)
        at = 0
        for t, (cells, column) in zip(parts.tensors, parts.cells):
            vals[cells, column] = flat[at:at + t.numel()]
            at += t.numel()
    return vals, skipped

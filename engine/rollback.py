"""Rollback points at growing ages, so a divergence goes back to before the blow-up.

A NaN is only the end of a blow-up: a step or a few hundred before it the weights are
often already huge (|w| ~ 1e14), and going back merely to the last finite state leaves
training that re-diverges whatever the user changes. So the session keeps a small ladder
of points of growing age and, on divergence, picks the newest one taken *before* the
weights started to grow.

The ladder (``LIMITS``): slot 0 is the newest check (every ``CHECK_EVERY`` iterations at
most, and at every ``train()`` call's end, however short); slot i takes over slot i-1's point
once its own is ``LIMITS[i]`` iterations old (above slot 1, once slot i-1's is at least a
quarter of that). Well into a run the slots hold points about 0-32, 0-128, 128-640 and
512-2700 iterations old, and a rollback never goes back more than ``MAX_DEPTH`` iterations,
whatever ``log_every`` is.
Saving a point is one fused copy into buffers allocated once per layout, so a check costs a
memcpy, not a deep copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

CHECK_EVERY = 32           # iterations between health checks (and rollback points), at most
LIMITS = (0, 128, 512, 2048)
MAX_DEPTH = sum(LIMITS) + 2 * CHECK_EVERY  # the furthest a rollback goes back (iterations)
GROWTH = 10.0              # a point whose weights are this much larger than a calmer, older
                           # one's is taken to be inside the blow-up


@dataclass(eq=False)
class Point:
    """One saved state: every tensor of the networks and optimizers, plus the bookkeeping
    needed to resume exactly (step, RNG state, update counters, history length)."""

    owners: tuple[int, ...]            # ids of G, D and both optimizers when it was saved
    nets: list[torch.Tensor]           # copies of both networks' state_dict tensors
    net_keys: tuple[Any, ...]
    opt: dict[tuple[int, int], dict[str, torch.Tensor]]  # (which optimizer, param id) -> state
    opt_keys: tuple[Any, ...]
    norm: torch.Tensor                 # total L2 norm of the weights (stays on the device)
    step: int = 0
    rng: torch.Tensor | None = None
    updates: tuple[int, int] = (0, 0)
    rows: int = 0

    @property
    def layout(self) -> tuple[Any, ...]:
        return (self.owners, self.net_keys, self.opt_keys)


def _net_tensors(nets: tuple[torch.nn.Module, torch.nn.Module]) -> tuple[list[torch.Tensor],
                                                                        tuple[Any, ...]]:
    tensors: list[torch.Tensor] = []
    keys: list[Any] = []
    for which, net in enumerate(nets):
        for name, t in net.state_dict(keep_vars=True).items():
            tensors.append(t.detach())
            keys.append((which, name, tuple(t.shape), t.dtype))
    return tensors, tuple(keys)


def _opt_tensors(opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer]
                 ) -> tuple[list[torch.Tensor], tuple[Any, ...]]:
    tensors: list[torch.Tensor] = []
    keys: list[Any] = []
    for which, opt in enumerate(opts):
        for group in opt.param_groups:
            for p in group["params"]:
                for key, v in opt.state.get(p, {}).items():
                    if torch.is_tensor(v):
                        tensors.append(v.detach())
                        keys.append((which, id(p), key, tuple(v.shape), v.dtype))
    return tensors, tuple(keys)


class Ladder:
    """The rollback points of one session (see the module docstring)."""

    def __init__(self) -> None:
        self.slots: list[Point | None] = [None] * len(LIMITS)
        self._spare: list[Point] = []  # buffers of dropped points, reused by layout

    def clear(self) -> None:
        self.slots = [None] * len(LIMITS)
        self._spare.clear()

    def points(self) -> list[Point]:
        """The saved points, newest first."""
        return sorted((p for p in self.slots if p is not None), key=lambda p: -p.step)

    # ------------------------------------------------------------------ saving
    def save(self, nets: tuple[torch.nn.Module, torch.nn.Module],
             opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer], *, step: int,
             rng: torch.Tensor, updates: tuple[int, int], rows: int) -> None:
        """Take a point now; older slots move up the ladder as they come of age."""
        for i in range(len(LIMITS) - 1, 0, -1):
            held, below = self.slots[i], self.slots[i - 1]
            if below is None or (held is not None and step - held.step < LIMITS[i]):
                continue
            # an empty slot takes any point; a stale one waits for a point a quarter of its
            # age (slot 1 excepted: its source, the last check, is as old as checks are
            # apart), so the slots above slot 1 always hold points at least that old
            if held is not None and i > 1 and step - below.step < LIMITS[i] // 4:
                continue
            if held is not None:
                self._spare.append(held)
            self.slots[i] = below
            self.slots[i - 1] = None
        old = self.slots[0]
        if old is not None and all(old is not p for p in self.slots[1:]):
            self._spare.append(old)
        self.slots[0] = self._take(nets, opts, step, rng, updates, rows)
        del self._spare[2:]  # keep at most two spare buffer sets

    def _take(self, nets: tuple[torch.nn.Module, torch.nn.Module],
              opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer], step: int,
              rng: torch.Tensor, updates: tuple[int, int], rows: int) -> Point:
        net_t, net_keys = _net_tensors(nets)
        opt_t, opt_keys = _opt_tensors(opts)
        owners = (id(nets[0]), id(nets[1]), id(opts[0]), id(opts[1]))
        point = next((p for p in self._spare if p.layout == (owners, net_keys, opt_keys)), None)
        params = [p.detach() for net in nets for p in net.parameters()]
        with torch.no_grad():
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(params))) \
                if params else torch.zeros(())
            if point is None:
                saved_nets = [t.clone() for t in net_t]
                saved_opt = [t.clone() for t in opt_t]
                opt_state: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
                for (which, pid, key, _, _), t in zip(opt_keys, saved_opt):
                    opt_state.setdefault((which, pid), {})[key] = t
                point = Point(owners, saved_nets, net_keys, opt_state, opt_keys, norm)
            else:
                self._spare.remove(point)
                saved_opt = [t for state in point.opt.values() for t in state.values()]
                torch._foreach_copy_(point.nets + saved_opt, net_t + opt_t)
                point.norm = norm
        point.step, point.rng, point.updates, point.rows = step, rng, updates, rows
        return point

    # ------------------------------------------------------------------ choosing
    def usable(self, nets: tuple[torch.nn.Module, torch.nn.Module],
               opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer]) -> list[Point]:
        """Points that fit the live networks and optimizers (a rebuilt network or a new
        optimizer kind makes older points meaningless), newest first."""
        owners = (id(nets[0]), id(nets[1]), id(opts[0]), id(opts[1]))
        _, net_keys = _net_tensors(nets)
        return [p for p in self.points() if p.owners == owners and p.net_keys == net_keys]

    def drop_unusable(self, nets: tuple[torch.nn.Module, torch.nn.Module],
                      opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer]) -> None:
        keep = {id(p) for p in self.usable(nets, opts)}
        self.slots = [p if p is not None and id(p) in keep else None for p in self.slots]
        self._spare.clear()

    def choose(self, candidates: list[Point]) -> Point:
        """The newest point taken before the blow-up: its weights are not ``GROWTH`` times
        larger than those of a calmer point older than it."""
        norms = [float(p.norm) for p in candidates]
        for i, n in enumerate(norms):
            older = [m for m in norms[i:] if math.isfinite(m)]
            if math.isfinite(n) and older and n <= GROWTH * min(older):
                return candidates[i]
        finite = [p for p, n in zip(candidates, norms) if math.isfinite(n)]
        return finite[-1] if finite else candidates[-1]

    def forget_after(self, step: int) -> None:
        """Drop points newer than ``step`` (the future a rollback just undid)."""
        self.slots = [p if p is not None and p.step <= step else None for p in self.slots]

    # ------------------------------------------------------------------ restoring
    @staticmethod
    def restore(point: Point, nets: tuple[torch.nn.Module, torch.nn.Module],
                opts: tuple[torch.optim.Optimizer, torch.optim.Optimizer]) -> None:
        """Copy ``point`` back into the live tensors. Optimizer state created after the point
        (a first step, a momentum buffer added by a swap) is dropped, state the point holds
        but the optimizer lost is put back."""
        net_t, net_keys = _net_tensors(nets)
        assert net_keys == point.net_keys, "restore: the networks were rebuilt since this point"
        with torch.no_grad():
            torch._foreach_copy_(net_t, point.nets)
            for which, opt in enumerate(opts):
                for group in opt.param_groups:
                    for p in group["params"]:
                        saved = point.opt.get((which, id(p)))
                        live = opt.state.get(p)
                        if saved is None:
                            opt.state.pop(p, None)
                            continue
                        state: dict[str, Any] = {
                            k: v for k, v in (live or {}).items() if not torch.is_tensor(v)}
                        for key, buf in saved.items():
                            cur = (live or {}).get(key)
                            if torch.is_tensor(cur) and cur.shape == buf.shape and cur.dtype == buf.dtype:
                                cur.copy_(buf)
                                state[key] = cur
                            else:
                                state[key] = buf.clone()
                        opt.state[p] = state

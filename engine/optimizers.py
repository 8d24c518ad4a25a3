"""Optimizers by name. Learning rate, betas and momentum change in place (state kept);
changing the optimizer kind rebuilds it (state reset), as DESIGN.md's swap table says."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

Builder = Callable[[Iterable[torch.nn.Parameter], dict[str, Any]], torch.optim.Optimizer]

OPTIMIZERS: dict[str, Builder] = {
    "adam": lambda params, c: torch.optim.Adam(params, lr=c["lr"], betas=tuple(c["betas"])),
    "sgd": lambda params, c: torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"]),
    "rmsprop": lambda params, c: torch.optim.RMSprop(params, lr=c["lr"], momentum=c["momentum"]),
}


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    return OPTIMIZERS[cfg["name"]](params, cfg)


def update_hyperparameters(opt: torch.optim.Optimizer, cfg: dict[str, Any]) -> None:
    """Apply lr / betas / momentum to a live optimizer without touching its state."""
    for group in opt.param_groups:
        group["lr"] = cfg["lr"]
        if "betas" in group:
            group["betas"] = tuple(cfg["betas"])
        if "momentum" in group:
            group["momentum"] = cfg["momentum"]
    ensure_state(opt)


def ensure_state(opt: torch.optim.Optimizer) -> None:
    """Give every parameter that already has state what the current settings read.

    RMSprop creates its momentum buffer only on the first step, and only when momentum was
    on then: momentum turned on mid-run (a documented swap) would otherwise fail with a
    KeyError on every later step. A zero buffer is what the first step would have made.
    """
    if not isinstance(opt, torch.optim.RMSprop):
        return
    for group in opt.param_groups:
        if group["momentum"] <= 0:
            continue
        for p in group["params"]:
            state = opt.state.get(p)
            if state and "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def load_checked(opt: torch.optim.Optimizer, stored: dict[str, Any]) -> None:
    """Load a file's optimizer state into ``opt`` (built from the file's config), or raise a
    one-line ValueError and leave ``opt`` as it was.

    ``load_state_dict`` takes anything: Adam's buffers into SGD, a learning rate of "x", a
    buffer of another shape, a negative step; each loads, and the first training step then
    fails with a KeyError, TypeError or RuntimeError. So each parameter's state is checked
    against the state this kind keeps (``_state_template``): what it reads must be there,
    every buffer the shape of its parameter, every number finite and a step count >= 0.
    The hyperparameters stay those of ``opt``: its config is the one the session shows.
    """
    params = [p for group in opt.param_groups for p in group["params"]]
    state = stored.get("state") if isinstance(stored, dict) else None
    if not isinstance(state, dict) or not isinstance(stored.get("param_groups"), list):
        raise ValueError("the stored optimizer state has no state or param_groups")
    stored_ids = [i for g in stored["param_groups"] if isinstance(g, dict)
                  for i in (g.get("params") or [])]
    if stored_ids != list(range(len(params))):  # what state_dict() writes, always
        raise ValueError("the stored optimizer state numbers its parameters out of order "
                         f"(expected 0..{len(params) - 1})")
    template = _state_template(opt)
    for index, entry in state.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(params):
            raise ValueError(f"the stored optimizer state names parameter {index!r}; the "
                             f"networks have {len(params)}")
        if not isinstance(entry, dict):
            raise ValueError(f"the stored optimizer state of parameter {index} is not a table")
        if entry:
            _check_entry(entry, template[index], params[index], index, type(opt).__name__)
    hyper = [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
    before = opt.state_dict()
    try:
        opt.load_state_dict(stored)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        opt.load_state_dict(before)
        raise ValueError(f"the stored optimizer state does not fit ({str(e)[:80]})") from None
    for group, settings in zip(opt.param_groups, hyper):
        group.update(settings)
    ensure_state(opt)


def _check_entry(entry: dict[str, Any], expected: dict[str, tuple[int, ...] | None],
                 param: torch.Tensor, index: int, kind: str) -> None:
    missing = sorted(set(expected) - set(entry))
    if missing:
        raise ValueError(f"the stored optimizer state of parameter {index} lacks "
                         f"{', '.join(missing)}, which {kind} keeps (saved by another optimizer?)")
    for key, value in entry.items():
        where = f"the stored optimizer state {key} of parameter {index}"
        if torch.is_tensor(value) and value.dim() > 0:
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"{where} has shape {tuple(value.shape)}, its parameter "
                                 f"{tuple(param.shape)}")
            if not value.is_floating_point():
                raise ValueError(f"{where} is not floating point ({value.dtype})")
            continue
        number = value.item() if torch.is_tensor(value) else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{where} is {type(number).__name__}, not a number")
        if not (number == number and abs(number) != float("inf")):
            raise ValueError(f"{where} is not finite")
        if key == "step" and number < 0:
            raise ValueError(f"{where} is negative ({number})")
        if expected.get(key) is not None:
            raise ValueError(f"{where} is a number where {kind} keeps a buffer")


def _state_template(opt: torch.optim.Optimizer) -> list[dict[str, tuple[int, ...] | None]]:
    """Per parameter (in ``state_dict`` order): the state keys one step of this optimizer,
    with its current settings, creates, each with its buffer's shape (None: a number).
    Found by stepping a copy over zero stand-ins: no list per kind to keep in step."""
    stand_ins: list[torch.Tensor] = []
    groups = []
    for group in opt.param_groups:
        mine = [torch.zeros_like(p, requires_grad=True) for p in group["params"]]
        stand_ins += mine
        groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": mine})
    ref = type(opt)(groups)
    for t in stand_ins:
        t.grad = torch.zeros_like(t)
    ref.step()
    ensure_state(ref)
    return [{k: (tuple(v.shape) if torch.is_tensor(v) and v.dim() > 0 else None)
             for k, v in ref.state[t].items()} for t in stand_ins]

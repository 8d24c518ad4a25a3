"""What each mid-run change means: DESIGN.md's swap table, one row per function.

| row | when | effect |
|---|---|---|
| ``restart`` | seed | both networks re-initialised, reproducibly from the seed |
| ``rebuild`` | architecture or normalization of a network | rebuilt, weights of layers whose shapes still match carried over, its optimizer rebuilt |
| ``reference`` | a reference/virtual norm arrives, or its inputs change | the reference batch is fixed anew (else carried over) |
| ``optimizer`` | optimizer kind | that network's optimizer rebuilt (state reset) |
| ``hyperparameters`` | loss, label smoothing, k, learning rates, batch size, ... | next step; networks and optimizer state kept |
| ``data`` | data set | the next step draws from the new data; views redraw their batches |
| ``device`` | device | networks and optimizer state move |

``apply_changes`` validates the whole change, then *plans* every row (building any new
network or optimizer) before it *commits* anything: a ValueError leaves the session
exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from . import config as C
from .catalogue import NORM_INFO
from .dataspecs import DATA_SPECS
from .models import class_count
from .networks import carry_weights
from .optimizers import build_optimizer, update_hyperparameters
from .seeds import seed_of
from .state import Nets

if TYPE_CHECKING:
    from .session import Session

Net = torch.nn.Module


@dataclass
class Plan:
    """A change being planned: the old and new config and what is built for it."""

    old: dict[str, Any]
    new: dict[str, Any]
    keys: set[str]
    step_seed: int
    nets: Nets
    rebuilt: dict[str, bool] = field(default_factory=lambda: {"generator": False,
                                                              "discriminator": False})
    restart: bool = False
    views: bool = False

    def touched(self, prefix: str) -> bool:
        return any(k == prefix or k.startswith(prefix + ".") for k in self.keys)


def architecture(cfg: dict[str, Any], which: str) -> tuple[Any, ...]:
    """What a network is built from: settings that do not change the build (a reference
    size without a reference norm, kernels without minibatch discrimination, MLP widths
    under DCGAN) leave it alone."""
    net = cfg[which]
    ref = net["ref_size"] if NORM_INFO[net["norm"]].needs_reference else None
    spec = DATA_SPECS[cfg["data"]["name"]]
    size = (net["width"], net["depth"]) if net["arch"] == "dcgan" else tuple(net["hidden"])
    arch: tuple[Any, ...] = (net["arch"], size, net["activation"], net["norm"], ref,
                             spec.data_shape(cfg["data"]), class_count(cfg))
    if which == "generator":
        return arch + (cfg["noise"]["dim"],)
    mb = net["minibatch"]
    return arch + (mb, (net["mb_kernels"], net["mb_dim"]) if mb == "discrimination" else None)


# --------------------------------------------------------------------------- the rows

def _restart(s: Session, plan: Plan) -> None:
    plan.restart = "seed" in plan.keys


def _rebuild(s: Session, plan: Plan) -> None:
    for which in ("generator", "discriminator"):
        if architecture(plan.old, which) == architecture(plan.new, which):
            continue
        old = getattr(plan.nets, which)
        net = s._build_net(which, plan.new, seed_of(plan.step_seed, which[0].upper()), s.device)
        carry_weights(old, net)
        setattr(plan.nets, which, net)
        opt = "opt_g" if which == "generator" else "opt_d"
        setattr(plan.nets, opt, build_optimizer(net.parameters(), plan.new["optim"][opt[-1]]))
        plan.rebuilt[which] = True


def _reference(s: Session, plan: Plan) -> None:
    live = s._nets
    for which, tag in (("generator", "zR"), ("discriminator", "xR")):
        net, old = getattr(plan.nets, which), getattr(live, which)
        if not net.ref_count:
            continue
        fresh_inputs = (plan.rebuilt[which] and (
            not old.ref_count or f"{which}.ref_size" in plan.keys or net.classes != old.classes
            or (which == "generator" and "noise.dim" in plan.keys)))
        redraw = fresh_inputs or (plan.touched("noise") if which == "generator"
                                  else plan.touched("data"))
        if redraw:
            s.fill_reference(which, seed_of(plan.step_seed, tag), net=net, cfg=plan.new)
        elif net is not old:
            net.reference.copy_(old.reference.reshape(net.reference.shape))
            if net.classes and old.classes == net.classes:
                net.reference_y.copy_(old.reference_y)


def _optimizer(s: Session, plan: Plan) -> None:
    for which, opt in (("generator", "opt_g"), ("discriminator", "opt_d")):
        if f"optim.{opt[-1]}.name" in plan.keys and not plan.rebuilt[which]:
            net = getattr(plan.nets, which)
            setattr(plan.nets, opt, build_optimizer(net.parameters(), plan.new["optim"][opt[-1]]))


def _data(s: Session, plan: Plan) -> None:
    plan.views = plan.views or plan.touched("data") or plan.touched("noise")


ROWS: tuple[tuple[str, Callable[[Session, Plan], None]], ...] = (
    ("restart", _restart),
    ("rebuild", _rebuild),
    ("reference", _reference),
    ("optimizer", _optimizer),
    ("data", _data),
)


# --------------------------------------------------------------------------- apply

def apply_changes(s: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate, plan every row, then commit. Returns the keys that changed."""
    from .session import resolve_device

    old = s._cfg
    new = C.validate(C.with_changes(old, changes))
    changed = C.diff(old, new)
    if not changed:
        return {}
    keys = set(changed)
    new_device = resolve_device(new["device"])
    s._check(new, new_device)
    s._checked()  # weights carried into new networks come from a checked state
    n = s._nets
    plan = Plan(old, new, keys, seed_of(new["seed"], s.step, sorted(keys)),
                Nets(n.generator, n.discriminator, n.opt_g, n.opt_d))
    _restart(s, plan)
    if plan.restart:
        s._init(new)
        return changed
    for _, row in ROWS[1:]:
        row(s, plan)
    _commit(s, plan, new_device)
    return changed


def _commit(s: Session, plan: Plan, device: torch.device) -> None:
    """Nothing below can fail on user input."""
    s._nets = plan.nets
    update_hyperparameters(plan.nets.opt_g, plan.new["optim"]["g"])   # the hyperparameters row
    update_hyperparameters(plan.nets.opt_d, plan.new["optim"]["d"])
    s._cfg = plan.new
    if device != s.device:                                            # the device row
        _move(s, device)
    s._after_change(views=plan.views)
    n = s._nets
    s._ladder.drop_unusable((n.generator, n.discriminator), (n.opt_g, n.opt_d))
    s._save_point()


def _move(s: Session, device: torch.device) -> None:
    n = s._nets
    og, od = n.opt_g.state_dict(), n.opt_d.state_dict()
    n.generator.to(device)
    n.discriminator.to(device)
    s.device = device
    n.opt_g = build_optimizer(n.generator.parameters(), s._cfg["optim"]["g"])
    n.opt_d = build_optimizer(n.discriminator.parameters(), s._cfg["optim"]["d"])
    n.opt_g.load_state_dict(og)
    n.opt_d.load_state_dict(od)
    s._rng = torch.Generator(device).manual_seed(seed_of(s._cfg["seed"], s.step, "rng"))
    updates = (s.d_updates, s.g_updates)
    s._reset_step_state()
    s.d_updates, s.g_updates = updates
    s._ladder.clear()

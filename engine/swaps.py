"""What each mid-run change means: DESIGN.md's swap table, one row per function.

| row | when | effect |
|---|---|---|
| ``restart`` | seed | both networks re-initialised, reproducibly from the seed |
| ``rebuild`` | architecture or normalization of a network | rebuilt, weights of layers whose shapes still match carried over, its optimizer rebuilt |
| ``reference`` | a reference/virtual norm arrives, or its inputs change | the reference batch is fixed anew (else carried over) |
| ``optimizer`` | optimizer kind | that network's optimizer rebuilt (state reset) |
| ``hyperparameters`` | loss, label smoothing, R1/R2, k, learning rates (0: frozen), batch size, ... | next step; networks and optimizer state kept |
| ``instance noise`` | its std or its anneal | next step; the anneal starts from the current step |
| ``data`` | data set | the next step draws from the new data; views redraw their batches |
| ``device`` | device | networks and optimizer state move |

``apply_changes`` validates the whole change, then *plans* every row (building any new
network or optimizer) before it *commits* anything: a ValueError leaves the session
exactly as it was.

Every change that took effect is written to the session's swap log (``Session.swaps``, a
list of ``(step, text)``) with a short text such as ``loss → wgan-gp`` or
``lr D 2e-4 → 1e-3`` (``describe_change``): the curves mark each one with a labelled line.
A refused change, one of keys that change no training only (``name``, ``description``, the
metrics' cadence), or one made before any training (the starting setup, not a swap) logs
nothing; a new seed restarts the run, and its log with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from . import config as C
from .catalogue import NORM_INFO
from .dataspecs import DATA_SPECS
from .models import class_count, code_count
from .networks import carry_weights
from .optimizers import build_optimizer, update_hyperparameters
from .seeds import seed_of
from .state import Nets

if TYPE_CHECKING:
    from .session import Session

Net = torch.nn.Module

# instance noise: a training setting under data. (see engine.config)
NOISE_KEYS = ("data.instance_noise", "data.instance_noise_steps")


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
        """Whether a key under ``prefix`` changed; the instance noise, a training setting
        kept under ``data.``, does not count as a change of the data."""
        return any((k == prefix or k.startswith(prefix + ".")) and k not in NOISE_KEYS
                   for k in self.keys)


def architecture(cfg: dict[str, Any], which: str) -> tuple[Any, ...]:
    """What a network is built from: settings that do not change the build (a reference
    size without a reference norm, kernels without minibatch discrimination, MLP widths
    under DCGAN) leave it alone."""
    net = cfg[which]
    ref = net["ref_size"] if NORM_INFO[net["norm"]].needs_reference else None
    spec = DATA_SPECS[cfg["data"]["name"]]
    size = (net["width"], net["depth"]) if net["arch"] == "dcgan" else tuple(net["hidden"])
    arch: tuple[Any, ...] = (net["arch"], size, net["activation"], net["norm"], ref,
                             spec.data_shape(cfg["data"]), class_count(cfg), code_count(cfg))
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
    text = describe_change(old, new, changed)
    if text and (s.step or s.d_updates or s.g_updates):  # before any training: the setup
        log_swap(s.swaps, s.step, text)
    return changed



def _commit(s: Session, plan: Plan, device: torch.device) -> None:
    """Nothing below can fail on user input."""
    s._nets = plan.nets
    update_hyperparameters(plan.nets.opt_g, plan.new["optim"]["g"])   # the hyperparameters row
    update_hyperparameters(plan.nets.opt_d, plan.new["optim"]["d"])
    s._cfg = plan.new
    if any(k in plan.keys for k in NOISE_KEYS):                       # the instance noise row
        s._noise_from = s.step
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


# --------------------------------------------------------------------------- the swap log

MAX_SWAPS = 1000      # entries kept in a session's log (the oldest go first)
MAX_SWAP_TEXT = 120   # characters of one entry's text
# keys that change no training: what a preset is called, and how often metrics are taken
NOT_LOGGED = ("name", "description", "format", "train.log_every", "train.metrics_every",
              "train.metrics_samples")
SHOWN_PARTS = 2       # a change of many keys at once names the first few


def log_swap(log: list[tuple[int, str]], step: int, text: str) -> None:
    """Append ``(step, text)`` to a swap log, keeping it bounded."""
    log.append((int(step), text[:MAX_SWAP_TEXT]))
    del log[:-MAX_SWAPS]


def swap_entries(raw: Any) -> list[tuple[int, str]]:
    """A stored swap log as ``[(step, text), ...]``; ValueError (one line) when it is not
    a list of [step >= 0, text] pairs. The newest ``MAX_SWAPS`` are kept."""
    if not isinstance(raw, list | tuple):
        raise ValueError(f"the swap log is not a list (got {type(raw).__name__})")
    out: list[tuple[int, str]] = []
    for entry in raw[-MAX_SWAPS:]:
        if (not isinstance(entry, list | tuple) or len(entry) != 2
                or isinstance(entry[0], bool) or not isinstance(entry[0], int)
                or entry[0] < 0 or not isinstance(entry[1], str)):
            raise ValueError(f"a swap log entry is not [step, text]: {repr(entry)[:60]}")
        out.append((entry[0], entry[1][:MAX_SWAP_TEXT]))
    return out


def _label(key: str) -> str:
    """A short name for a config key: ``optim.d.lr`` -> ``lr D``, ``generator.norm`` ->
    ``G norm``, ``loss.name`` -> ``loss``, ``train.batch_size`` -> ``batch size``."""
    special = {"loss.name": "loss", "data.name": "data", "train.d_steps": "k (D steps)",
               "train.g_steps": "G steps", "optim.g.name": "optimizer G",
               "optim.d.name": "optimizer D", "loss.gp_weight": "λ (GP)",
               "loss.real_label": "real label", "loss.fake_label": "fake label",
               "loss.clip": "clip"}
    if key in special:
        return special[key]
    parts = key.split(".")
    if parts[0] == "optim" and len(parts) == 3:
        return f"{parts[2]} {parts[1].upper()}"
    if parts[0] in ("generator", "discriminator") and len(parts) == 2:
        return f"{parts[0][0].upper()} {parts[1].replace('_', ' ')}"
    if parts[0] in ("train", "loss") and len(parts) == 2:
        return parts[1].replace("_", " ")
    return " ".join(p.replace("_", " ") for p in parts)


def format_value(v: Any) -> str:
    """A value as the swap log shows it: ``2e-4``, ``0.5``, ``128,128``, ``on``."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5):
            mantissa, exponent = f"{v:.2e}".split("e")
            mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa}e{int(exponent)}"
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        if v and all(isinstance(x, list | tuple) for x in v):
            return f"{len(v)} points"
        return ",".join(format_value(x) for x in v)
    return str(v)


def describe_change(old: dict[str, Any], new: dict[str, Any], changed: dict[str, Any]) -> str:
    """The swap log's short text for a change (``C.diff`` keys): ``data → moons``,
    ``loss → wgan-gp``, ``lr D 2e-4 → 1e-3``; several keys are joined, the first
    ``SHOWN_PARTS`` named. Empty when only keys that change no training changed."""
    keys = [k for k in changed if k not in NOT_LOGGED]
    if "data.name" in keys:  # the new set's own parameters come with it: say it once
        keys = ["data.name"] + [k for k in keys if not k.startswith("data.")]
    fo, fn = C.flatten(old), C.flatten(new)
    parts = []
    for key in keys:
        before, after = fo.get(key), fn.get(key)
        if key == "data.points":
            parts.append(f"data → {format_value(after)}")
        elif isinstance(after, str) or after is None or before is None:
            parts.append(f"{_label(key)} → {format_value(after)}")
        else:
            parts.append(f"{_label(key)} {format_value(before)} → {format_value(after)}")
    if not parts:
        return ""
    more = len(parts) - SHOWN_PARTS
    text = ", ".join(parts[:SHOWN_PARTS]) + (f" +{more} more" if more > 0 else "")
    return text[:MAX_SWAP_TEXT]

"""The configuration: one nested dict of plain data, validated against a schema.

Presets, ``--set``/``--at``, ``Session.apply`` and the app's widgets all speak in dotted keys
(``loss.name``, ``optim.d.lr``). Validation builds a complete new config before anything is
touched, so a bad value raises ``ValueError`` naming the key and leaves the old config intact.
"""

from __future__ import annotations

import copy
from typing import Any

from .catalogue import (
    ACTIVATIONS,
    ARCHITECTURES,
    LOSS_INFO,
    MINIBATCH_FEATURES,
    NORM_INFO,
    OPTIMIZERS,
)
from .dataspecs import DATA_SPECS
from .params import Param

FORMAT_VERSION = 1

_NET_HIDDEN = dict(lo=1, hi=1024)

# The MMD loss's default kernel bandwidths, as multiples of the data's scale (its RMS
# distance from its mean). Several scales at once (Li et al. 2015 sum kernels over
# bandwidths): the widest ones pull a collapsed G towards the whole data, the narrowest
# ones separate modes a data scale apart and pull each fake onto its mode.
MMD_BANDWIDTHS = (0.05, 0.1, 0.25, 0.5, 1.0)




def _net_params(prefix: str, hidden: list[int], activation: str) -> dict[str, Param]:
    return {
        f"{prefix}.arch": Param("choice", "mlp", choices=ARCHITECTURES,
                                help="mlp (fully connected) or dcgan (convolutions, image data)"),
        f"{prefix}.hidden": Param("int_list", hidden, **_NET_HIDDEN,
                                  help="widths of the hidden layers, e.g. 128,128 (MLP)"),
        f"{prefix}.width": Param("int", 64, lo=1, hi=1024,
                                 help="DCGAN channels at the finest resolution (doubling "
                                      "towards the coarse end)"),
        f"{prefix}.depth": Param("int", 1, lo=1, hi=4,
                                 help="DCGAN convolutions per resolution (1: plain DCGAN)"),
        f"{prefix}.activation": Param("choice", activation, choices=ACTIVATIONS,
                                      help="activation after each hidden layer"),
        f"{prefix}.norm": Param("choice", "none", choices=tuple(NORM_INFO),
                                help="normalization of each hidden layer"),
        f"{prefix}.ref_size": Param("int", 64, lo=2, hi=4096,
                                    help="size of the fixed reference batch (reference/virtual norm)"),
    }


def _optim_params(prefix: str, lr: float) -> dict[str, Param]:
    return {
        f"{prefix}.name": Param("choice", "adam", choices=OPTIMIZERS, help="optimizer"),
        f"{prefix}.lr": Param("float", lr, lo=0.0, hi=1.0,
                              help="learning rate (0 freezes the network: its step is skipped, "
                                   "its weights and optimizer state stay as they are)"),
        f"{prefix}.betas": Param("float_pair", [0.5, 0.999], lo=0.0, hi=1.0, help="Adam betas"),
        f"{prefix}.momentum": Param("float", 0.0, lo=0.0, hi=0.999, help="SGD/RMSprop momentum"),
    }


SCHEMA: dict[str, Param] = {
    "format": Param("int", FORMAT_VERSION, lo=1, hi=FORMAT_VERSION,
                    help="preset format version"),
    "name": Param("str", "ring8", help="preset name"),
    "description": Param("str", "", help="what this preset shows"),
    "topic": Param("str", "", help="the lecture topic this preset belongs to (preset library)"),
    "lecture": Param("str", "", help="the lecture note this preset comes from"),
    "seed": Param("int", 0, lo=0, hi=2**31 - 1, help="seed for weights, noise and data"),
    "device": Param("choice", "auto", choices=("auto", "cpu", "cuda"),
                    help="auto picks CUDA when present"),
    "data.name": Param("choice", "ring8", choices=tuple(DATA_SPECS), help="data set"),
    # instance noise sits under data. (the names) but belongs to no data set: it
    # survives a change of data set, unlike the set's own parameters
    "data.instance_noise": Param("float", 0.0, lo=0.0, hi=100.0,
                                  help="instance noise: Gaussian noise of this std added to "
                                       "every input D sees in training, real and fake (never "
                                       "to what the views show; 0: off)"),
    "data.instance_noise_steps": Param("int", 0, lo=0, hi=10**9,
                                        help="anneal the instance noise linearly to 0 over this "
                                             "many iterations, from the step it was set (0: "
                                             "constant)"),
    "conditional": Param("bool", False,
                         help="feed the class label to G and D (labelled image sets), so G "
                              "can be asked for a class"),
    "noise.dim": Param("int", 2, lo=1, hi=128, help="dimension of z"),
    "noise.dist": Param("choice", "gaussian", choices=("gaussian", "uniform"),
                        help="distribution of z (uniform is on [-1, 1])"),
    **_net_params("generator", [128, 128], "relu"),
    "generator.codes": Param("int", 0, lo=0, hi=64,
                             help="InfoGAN: a categorical code of this many values, fed to G "
                                  "(one-hot) next to z; D gains a head Q that predicts it from "
                                  "a fake (0: off)"),
    **_net_params("discriminator", [128, 128], "leaky_relu"),
    "discriminator.minibatch": Param("choice", "none", choices=MINIBATCH_FEATURES,
                                     help="minibatch features against mode collapse"),
    "discriminator.mb_kernels": Param("int", 50, lo=1, hi=1000,
                                      help="minibatch discrimination kernels B (Salimans et al. "
                                           "use 100; fewer train faster)"),
    "discriminator.mb_dim": Param("int", 5, lo=1, hi=100,
                                  help="minibatch discrimination kernel dimension C"),
    "loss.name": Param("choice", "non-saturating", choices=tuple(LOSS_INFO), help="GAN loss"),
    "loss.real_label": Param("float", 1.0, lo=0.0, hi=1.0,
                             help="D's target on real data, 1 - alpha (BCE losses)"),
    "loss.fake_label": Param("float", 0.0, lo=0.0, hi=1.0,
                             help="D's target on fakes, beta (BCE losses)"),
    "loss.clip": Param("float", 0.01, lo=1e-6, hi=100.0, help="WGAN weight clipping bound c"),
    "loss.gp_weight": Param("float", 1.0, lo=0.0, hi=1000.0, help="WGAN-GP penalty weight lambda"),
    "loss.r1": Param("float", 0.0, lo=0.0, hi=1000.0,
                     help="R1 penalty gamma: (gamma/2) E|grad_x D(x)|^2 on real data, added to "
                          "D's loss (Mescheder et al. 2018; any loss; 0: off)"),
    "loss.r2": Param("float", 0.0, lo=0.0, hi=1000.0,
                     help="R2 penalty gamma: the same gradient penalty on the fakes (0: off)"),
    "loss.info_weight": Param("float", 1.0, lo=0.0, hi=100.0,
                              help="InfoGAN lambda: weight of CE(Q(G(z, c)), c) in both G's and "
                                   "D's loss (with generator.codes > 0)"),
    "loss.mmd_bandwidths": Param("float_list", list(MMD_BANDWIDTHS), lo=1e-3, hi=1e3,
                                 help="MMD loss: RBF kernel bandwidths, as multiples of the "
                                      "data's scale (its RMS distance from its mean: 2 for "
                                      "ring8); the kernel is their sum"),
    **_optim_params("optim.g", 2e-4),
    **_optim_params("optim.d", 2e-4),
    "train.batch_size": Param("int", 256, lo=1, hi=65536, help="minibatch size"),
    "train.d_steps": Param("int", 1, lo=0, hi=100,
                           help="discriminator steps per generator step (k; 0: G alone against "
                                "a fixed D)"),
    "train.g_steps": Param("int", 1, lo=0, hi=100,
                           help="generator steps per iteration (0: D alone against a fixed G)"),
    "train.precision": Param("choice", "fp32", choices=("fp32", "bf16"),
                             help="bf16 runs the networks in bfloat16 mixed precision (fast on "
                                  "recent GPUs; on a CPU it is rarely faster)"),
    "train.log_every": Param("int", 1, lo=1, hi=100000, help="log metrics every N iterations"),
    "train.metrics_every": Param("int", 500, lo=0, hi=10**7,
                                 help="quality metrics (modes, divergences; FID/IS for images) "
                                      "every N iterations (0: off)"),
    "train.metrics_samples": Param("int", 2500, lo=100, hi=10**6,
                                   help="generated samples used by the quality metrics"),
}

SECTIONS = ("data", "noise", "generator", "discriminator", "loss", "optim", "train")


def data_params(name: str) -> dict[str, Param]:
    return {f"data.{k}": p for k, p in DATA_SPECS[name].params.items()}


def param_for(key: str, data_name: str) -> Param:
    """The spec of a dotted key; ``data.*`` keys depend on the chosen data set."""
    if key in SCHEMA:
        return SCHEMA[key]
    dp = data_params(data_name)
    if key in dp:
        return dp[key]
    if key.startswith("data."):
        raise ValueError(f"{key}: not a parameter of data set '{data_name}'; "
                         f"allowed: {', '.join(sorted(dp)) or 'none'}")
    raise ValueError(f"{key}: unknown key; allowed: {', '.join(SCHEMA)} and data.* parameters")


def flatten(cfg: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in flat.items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = copy.deepcopy(v)
    return out


def default_config() -> dict[str, Any]:
    flat = {k: p.default for k, p in SCHEMA.items()}
    flat.update({k: p.default for k, p in data_params(flat["data.name"]).items()})
    return unflatten(flat)


MAX_DEPTH = 8  # "optim.g.betas" is four levels with its list; points are five


def check_plain(obj: Any, what: str = "config") -> None:
    """Refuse, with a ValueError naming the key, data no config can hold: nesting deeper
    than ``MAX_DEPTH`` (a 5,000-deep dict would otherwise end in a RecursionError) and keys
    that are not strings. Iterative, so it cannot overflow the stack itself."""
    stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"{path or what}: nested deeper than any setting "
                             f"({MAX_DEPTH} levels)")
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise ValueError(f"{path or what}: keys must be strings, got {k!r}"[:200])
                stack.append((v, f"{path}.{k}" if path else k, depth + 1))
        elif isinstance(node, list | tuple):
            stack.extend((v, path, depth + 1) for v in node)


def validate(cfg: Any) -> dict[str, Any]:
    """A complete, normalised config from a (possibly partial) nested dict; missing keys take
    their defaults, unknown keys and bad values raise ValueError."""
    if not isinstance(cfg, dict):
        raise ValueError(f"a config must be a JSON object, got {type(cfg).__name__}")
    check_plain(cfg)
    for k, v in cfg.items():
        if k in SECTIONS and not isinstance(v, dict):
            raise ValueError(f"{k}: must be an object of settings, got {type(v).__name__}")
    fmt = cfg.get("format", FORMAT_VERSION)
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT_VERSION:
        raise ValueError(f"format: version {fmt} is newer than this app understands "
                         f"({FORMAT_VERSION}); update GAN Playground")
    return with_changes(default_config(), flatten(cfg), reset_data_params=False)


def with_changes(cfg: dict[str, Any], changes: dict[str, Any], *,
                 reset_data_params: bool = True) -> dict[str, Any]:
    """Return a new validated config: ``cfg`` with dotted-key ``changes`` applied.

    When ``data.name`` changes, the data parameters start from the new set's defaults (the
    old set's parameters mean nothing to it) and any ``data.*`` keys given alongside apply.
    """
    if not isinstance(changes, dict):
        raise ValueError(f"changes must be a mapping of dotted keys, got {type(changes).__name__}")
    check_plain(changes, "changes")
    changes = flatten(changes)
    flat = flatten(cfg)
    old_data = flat["data.name"]
    new_data = changes.get("data.name", old_data)
    new_data = SCHEMA["data.name"].coerce("data.name", new_data)
    if new_data != old_data or not reset_data_params:
        kept = {k: v for k, v in flat.items()
                if k.startswith("data.") and k in SCHEMA and k != "data.name"}
        flat = {k: v for k, v in flat.items() if not k.startswith("data.")}
        flat["data.name"] = new_data
        flat.update(kept)  # the data section's training settings, set or not
        flat.update({k: p.default for k, p in data_params(new_data).items()})
    for key, value in changes.items():
        flat[key] = param_for(key, new_data).coerce(key, value)
    if new_data != old_data and not DATA_SPECS[new_data].is_image:
        # convolutions and class labels mean nothing to point sets: back to what fits,
        # unless the same change set asks for them (then the session refuses it, clearly)
        for key, fit in (("generator.arch", "mlp"), ("discriminator.arch", "mlp"),
                         ("conditional", False)):
            if key not in changes:
                flat[key] = fit
    return unflatten(flat)


def get(cfg: dict[str, Any], key: str) -> Any:
    node: Any = cfg
    for p in key.split("."):
        node = node[p]
    return node


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys whose value differs (new value), including keys that appear or vanish."""
    fo, fn = flatten(old), flatten(new)
    return {k: fn.get(k) for k in sorted(set(fo) | set(fn)) if fo.get(k) != fn.get(k)}


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as JSON when it parses."""
    import json

    if "=" not in text:
        raise ValueError(f"--set/--at: expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ValueError(f"--set/--at: expected key=value, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    except RecursionError:
        raise ValueError(f"--set/--at: the value of {key} is nested too deeply") from None
    return key, value

"""Valid and invalid config values, drawn from the schema's own ``Param`` specs.

Shared by the property suite (``tests/engine/test_properties.py``, drawing through
Hypothesis) and the standalone fuzzer (``scripts/fuzz_swaps.py``, drawing from
``random.Random``). Both go through a ``Source`` (integer, real, choice, ...), so the same
code decides what a valid value of a key is: every key of ``engine.config.SCHEMA`` and every
parameter of every data set, read from its kind, range and choices. A key added to the schema
is covered without touching this file; a new *kind* of key fails loudly here until it is
taught (``valid_value``, ``invalid_values``).

Sizes are capped (``CAPS``) so a session trains in milliseconds on one CPU thread. Image sets
that need the user's files (a ``path`` parameter: mnist, fashion-mnist, folder) are drawn only
as refused changes; built-in image sets (digits) train.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import torch

from engine.config import SCHEMA
from engine.datasets import DATASETS
from engine.dataspecs import DATA_SPECS
from engine.params import POINT_LIMIT, Param

T = TypeVar("T")

# (lo, hi) caps on the schema's own ranges: tiny networks, short cadences
CAPS: dict[str, tuple[int, int]] = {
    "generator.hidden": (1, 16), "discriminator.hidden": (1, 16),
    "generator.width": (1, 8), "discriminator.width": (1, 8),
    "generator.depth": (1, 2), "discriminator.depth": (1, 2),
    "generator.ref_size": (2, 16), "discriminator.ref_size": (2, 16),
    "discriminator.mb_kernels": (1, 8), "discriminator.mb_dim": (1, 8),
    "noise.dim": (1, 8),
    "train.batch_size": (1, 48),
    "train.d_steps": (1, 3), "train.g_steps": (1, 2),
    "train.log_every": (1, 5), "train.metrics_every": (0, 4),
    "train.metrics_samples": (100, 200),
}
LIST_LEN = {"generator.hidden": 3, "discriminator.hidden": 3}  # at most 3 hidden layers
POINTS_LEN = 20
CHOICES: dict[str, tuple[str, ...]] = {"device": ("cpu", "auto")}  # no GPU in the tests

VALID_DATA = tuple(n for n, s in DATA_SPECS.items() if "path" not in s.params)
FILE_DATA = tuple(n for n, s in DATA_SPECS.items() if "path" in s.params)
POINT_DATA = tuple(n for n, s in DATA_SPECS.items() if not s.is_image)


class Source(Protocol):
    """Where the randomness comes from (Hypothesis's ``data.draw`` or ``random.Random``)."""

    def integer(self, lo: int, hi: int) -> int: ...
    def real(self, lo: float, hi: float, exclude_hi: bool = False) -> float: ...
    def log_real(self, lo: float, hi: float) -> float: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def sample(self, options: Sequence[T], n: int) -> list[T]: ...
    def text(self) -> str: ...
    def coordinate(self) -> float: ...


class RandomSource:
    """A ``Source`` over ``random.Random``, biased towards the ends of each range."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        r = self.rnd.random()
        if r < 0.1:
            return lo
        if r < 0.2:
            return hi
        return self.rnd.randint(lo, hi)

    def real(self, lo: float, hi: float, exclude_hi: bool = False) -> float:
        r = self.rnd.random()
        if r < 0.1:
            return lo
        if r < 0.2:
            return math.nextafter(hi, -math.inf) if exclude_hi else hi
        v = self.rnd.uniform(lo, hi)
        return math.nextafter(hi, -math.inf) if exclude_hi and v >= hi else v

    def log_real(self, lo: float, hi: float) -> float:
        r = self.rnd.random()
        if r < 0.1:
            return lo
        if r < 0.2:
            return hi
        return min(max(math.exp(self.rnd.uniform(math.log(lo), math.log(hi))), lo), hi)

    def choice(self, options: Sequence[T]) -> T:
        return self.rnd.choice(list(options))

    def sample(self, options: Sequence[T], n: int) -> list[T]:
        return self.rnd.sample(list(options), n)

    def text(self) -> str:
        return "".join(self.rnd.choice("ab c-é√\n\"'{}") for _ in range(self.rnd.randint(0, 8)))

    def coordinate(self) -> float:
        r = self.rnd.random()
        if r < 0.8:
            return self.rnd.uniform(-10, 10)
        return self.rnd.choice((-1, 1)) * min(10 ** self.rnd.uniform(-300, 6.1), POINT_LIMIT)


# --------------------------------------------------------------------------- valid values

def _int_range(key: str, p: Param) -> tuple[int, int]:
    lo, hi = CAPS.get(key, (p.lo, p.hi))
    return int(max(lo, p.lo)), int(min(hi, p.hi))


def valid_value(src: Source, key: str, p: Param) -> Any:
    """A value ``p`` accepts (sizes capped), whatever the other keys are."""
    k = p.kind
    if k == "int":
        return src.integer(*_int_range(key, p))
    if k == "float":
        if p.lo is not None and p.lo > 0 and p.hi / p.lo >= 1e3:  # learning rates, clip
            return src.log_real(p.lo, p.hi)
        return src.real(p.lo, p.hi)
    if k == "float_pair":  # hi is exclusive (Adam's betas)
        return [src.real(p.lo, p.hi, exclude_hi=True) for _ in range(2)]
    if k == "choice":
        return src.choice(CHOICES.get(key, p.choices))
    if k == "int_choice":
        return int(src.choice(p.choices))
    if k == "bool":
        return src.choice((False, True))
    if k == "str":
        return src.text()
    if k == "int_list":
        lo, hi = _int_range(key, p)
        n = src.integer(1, min(p.max_len, LIST_LEN.get(key, p.max_len)))
        return [src.integer(lo, hi) for _ in range(n)]
    if k == "float_list":  # MMD bandwidths: a few positive scales
        n = src.integer(1, min(p.max_len, 3))
        return [src.log_real(p.lo, p.hi) for _ in range(n)]
    if k == "points":
        n = src.integer(1, min(p.max_len, POINTS_LEN))
        return [[src.coordinate(), src.coordinate()] for _ in range(n)]
    raise AssertionError(f"{key}: no valid draw for kind {k!r}; teach tests/engine/spec_draws.py")


def labelled(name: str) -> bool:
    ds = DATASETS[name]
    return ds.is_image and bool(ds.classes({k: p.default for k, p in ds.params.items()}))


def fitting_value(src: Source, key: str, data_name: str) -> Any:
    """A valid value of schema key ``key`` on data set ``data_name``: convolutions need
    images, conditioning needs labels; everything else takes any valid value."""
    if key.endswith(".arch") and not DATA_SPECS[data_name].is_image:
        return "mlp"
    if key == "conditional" and not labelled(data_name):
        return False
    return valid_value(src, key, SCHEMA[key])


def valid_config(src: Source) -> dict[str, Any]:
    """Dotted changes that set *every* key (a random tiny config) on a trainable data set."""
    data = src.choice(VALID_DATA)
    changes: dict[str, Any] = {"data.name": data}
    for key in SCHEMA:
        if key != "data.name":
            changes[key] = fitting_value(src, key, data)
    for name, p in DATA_SPECS[data].params.items():
        changes[f"data.{name}"] = valid_value(src, f"data.{name}", p)
    return changes


def valid_change(src: Source, cfg: dict[str, Any], n: int | None = None) -> dict[str, Any]:
    """1-3 keys (any schema key or a parameter of the data set) set to valid values."""
    now = cfg["data"]["name"]
    pool = list(SCHEMA) + [f"data.{k}" for k in DATA_SPECS[now].params]
    keys = src.sample(pool, n if n is not None else src.integer(1, 3))
    changes: dict[str, Any] = {}
    data = now
    if "data.name" in keys:
        data = src.choice(VALID_DATA)
        changes["data.name"] = data
    params = DATA_SPECS[data].params
    for key in keys:
        if key == "data.name":
            continue
        if key.startswith("data.") and key not in SCHEMA:  # a parameter of the set
            if data != now:  # the old set's parameters mean nothing to the new one
                if not params:
                    continue
                key = "data." + src.choice(sorted(params))
            changes[key] = valid_value(src, key, params[key[5:]])
        else:
            changes[key] = fitting_value(src, key, data)
    return changes


# --------------------------------------------------------------------------- invalid values

NAN, INF = float("nan"), float("inf")


def _beyond(src: Source, p: Param) -> list[Any]:
    """Numbers just and far outside [lo, hi]."""
    out: list[Any] = []
    if p.lo is not None:
        out.append(p.lo - max(abs(p.lo), 1.0) * src.log_real(1e-3, 1e3))
    if p.hi is not None:
        out.append(p.hi + max(abs(p.hi), 1.0) * src.log_real(1e-3, 1e3))
    if p.kind == "int":
        out = [math.floor(v) if v < p.lo else math.ceil(v) for v in out]
        out += [int(p.lo) - 1, int(p.hi) + 1]
    return out


def out_of_range_values(src: Source, key: str, p: Param) -> list[Any]:
    """Values of the right type that ``p`` refuses: beyond its range, size or choices."""
    k = p.kind
    if k in ("int", "float"):
        return _beyond(src, p)
    if k == "float_pair":
        return [[p.hi, 0.5], [0.5, p.lo - 1.0], [0.5], [0.5, 0.5, 0.5]]
    if k == "int_choice":
        return [max(int(c) for c in p.choices) + 1, 0]
    if k == "choice":
        bad: list[Any] = [f"no-such-{key}", ""]
        if key == "device" and not torch.cuda.is_available():
            bad.append("cuda")  # a valid name, refused where there is no CUDA
        return bad
    if k == "int_list":
        lo, hi = int(p.lo), int(p.hi)
        return [[], [lo - 1], [hi + 1], [lo] * (p.max_len + 1)]
    if k == "float_list":
        return [[], [p.lo / 2], [p.hi * 2], [1.0] * (p.max_len + 1)]
    if k == "points":
        return [[], [[0.0, 2 * POINT_LIMIT]], [[-POINT_LIMIT * 1.001, 0.0]],
                [[0.0, 0.0]] * (p.max_len + 1)]
    if k in ("bool", "str", "path"):
        return []
    raise AssertionError(f"{key}: no invalid draws for kind {k!r}; teach tests/engine/spec_draws.py")


def wrong_type_values(key: str, p: Param) -> list[Any]:
    """Values of a type (or shape) ``p`` refuses."""
    k = p.kind
    if k == "int":
        return ["x", "1e3", 1.5, True, None, [1], NAN, INF]
    if k == "float":
        return ["x", True, None, NAN, INF, -INF, [0.5], {"v": 1}]
    if k == "float_pair":
        return [[NAN, 0.5], [0.5, "x"], "x", None, 0.5]
    if k == "choice":
        return [3, None, [p.choices[0]], True]
    if k == "int_choice":
        return [16.5, "x", None, True]
    if k == "bool":
        return ["maybe", 2, 1.0, None, [True]]
    if k in ("str", "path"):
        return [5, None, ["a"], 1.5]
    if k == "int_list":
        return ["a,b", "", [1.5], [True], None, [[1]]]
    if k == "float_list":
        return ["a,b", "", [True], None, [[1.0]], [NAN], [INF]]
    if k == "points":
        return [[[1.0]], [[NAN, 0.0]], [[0.0, INF]], "abc", [[1, 2, 3]], [1, 2], None,
                [[True, 0.0]]]
    raise AssertionError(f"{key}: no invalid draws for kind {k!r}; teach tests/engine/spec_draws.py")


INVALID_KINDS = ("out_of_range", "wrong_type", "unknown_key", "dcgan_on_points", "conditional_unlabelled",
                 "needs_files", "too_big", "not_a_mapping", "mixed")


def invalid_change(src: Source, cfg: dict[str, Any], empty_dir: str,
                   kind: str | None = None) -> tuple[str, Any]:
    """(kind, changes) that ``Session.apply`` must refuse with a ValueError."""
    kind = kind or src.choice(INVALID_KINDS)
    now = cfg["data"]["name"]
    params = {**SCHEMA, **{f"data.{k}": p for k, p in DATA_SPECS[now].params.items()}}
    if kind == "out_of_range":
        key = src.choice([k for k in sorted(params) if params[k].kind not in ("bool", "str", "path")])
        return kind, {key: src.choice(out_of_range_values(src, key, params[key]))}
    if kind == "wrong_type":
        key = src.choice(sorted(params))
        return kind, {key: src.choice(wrong_type_values(key, params[key]))}
    if kind == "unknown_key":
        other = sorted({f"data.{k}" for s in DATA_SPECS.values() for k in s.params}
                       - {f"data.{k}" for k in DATA_SPECS[now].params})
        key = src.choice(["bogus", "loss.nam", "data", "optim", "generator", "",
                          src.choice(sorted(SCHEMA)) + "x", *other[:1], src.choice(other)])
        return kind, {key: src.choice([1, "hinge", [16], {"x": 1}])}
    if kind == "dcgan_on_points":
        data = src.choice(POINT_DATA)
        which = src.choice(("generator", "discriminator"))
        return kind, {"data.name": data, f"{which}.arch": "dcgan"}
    if kind == "conditional_unlabelled":
        return kind, {"data.name": src.choice(POINT_DATA), "conditional": True}
    if kind == "needs_files":
        data = src.choice(FILE_DATA)
        path = src.choice(["", "/no/such/folder/for/gan-playground", empty_dir])
        return kind, {"data.name": data, "data.path": path}
    if kind == "too_big":  # valid key by key, 50 TB of distance tables together
        return kind, {"discriminator.minibatch": "discrimination",
                      "discriminator.mb_kernels": 1000, "train.batch_size": 65536}
    if kind == "not_a_mapping":
        return kind, src.choice([[("loss.name", "hinge")], "loss.name=hinge", None, 3,
                                 {1: 2}, {"loss": {"name": {"a": {"b": {"c": {"d": {
                                     "e": {"f": {"g": 1}}}}}}}}}])
    if kind == "mixed":  # a valid change with one refused key: nothing of it applies
        _, bad = invalid_change(src, cfg, empty_dir, src.choice(INVALID_KINDS[:7]))
        good = valid_change(src, cfg)
        if any(k.startswith("data") for k in bad):  # a bad data.* value must stay bad
            good = {k: v for k, v in good.items() if not k.startswith("data.")}
        return kind, {**good, **bad}
    raise AssertionError(kind)

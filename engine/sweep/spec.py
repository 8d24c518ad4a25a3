"""What a sweep is: a base config, a grid of settings and a list of seeds, checked up front.

Torch-free (the parent process of a sweep never imports torch; its workers do). Every bad
input is a ValueError whose message is the one line the command line prints, raised before
anything runs or is written.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config as C
from ..catalogue import CADENCE_COLUMNS
from ..dataspecs import DATA_SPECS
from ..params import shown
from ..presets import load_preset

FORMAT = 1
KIND = "gan-playground sweep"
MAX_RUNS = 100_000
MAX_SEED = 2**31 - 1

# the final metrics a row of sweep.csv carries, by the kind of data (COLUMNS' order)
POINT_METRICS = ("modes", "high_quality", "mode_kl", "js", "kl", "w1", "mmd")
IMAGE_METRICS = ("modes", "high_quality", "mode_kl", "fid", "inception_score")


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples become lists), so definitions compare as stored."""
    return json.loads(json.dumps(value))


def split_values(text: str) -> list[str]:
    """``v1,v2,...`` split at the commas outside brackets, braces and double quotes, so a
    list value (``[64,64],[128]``) stays whole."""
    items: list[str] = []
    depth, quoted, escaped, start = 0, False, False, 0
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


def _read_value(raw: str) -> Any:
    """A value as ``--set`` reads it: JSON when it parses, else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
    except (ValueError, RecursionError):  # a 5,000-digit number, deep nesting
        raise ValueError(f"--grid: cannot read the value {shown(raw)}") from None


def parse_grid_arg(text: str) -> tuple[str, list[Any]]:
    """``key=v1,v2`` from ``--grid``: the key and its raw values (not yet validated)."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--grid: expected key=v1,v2,..., got {shown(text)}")
    if not rest.strip():
        raise ValueError(f"--grid {key}: no values (expected {key}=v1,v2,...)")
    values = []
    for raw in split_values(rest):
        if not raw.strip():
            raise ValueError(f"--grid {key}: an empty value in {shown(rest)}")
        values.append(_read_value(raw.strip()))
    return key, values


def parse_seeds(text: str) -> list[int]:
    """``0-4``, ``7``, ``0,3,9`` or ``0-2,10-12``: distinct seeds, in the order given."""
    seeds: list[int] = []
    if not text.strip():
        raise ValueError("--seeds: expected a range like 0-4 or a list like 0,3,7, got ''")
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d{1,10})(?:\s*-\s*(\d{1,10}))?", part)
        if m is None:
            raise ValueError(f"--seeds: expected a range like 0-4 or a list like 0,3,7, "
                             f"got {shown(text)}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"--seeds: the range {part} runs backwards (write {hi}-{lo})")
        if hi > MAX_SEED:
            raise ValueError(f"--seeds: seeds go up to {MAX_SEED:,}, got {hi:,}")
        if len(seeds) + hi - lo + 1 > MAX_RUNS:
            raise ValueError(f"--seeds: more than {MAX_RUNS:,} seeds")
        seeds.extend(range(lo, hi + 1))
    if len(set(seeds)) != len(seeds):
        dup = next(s for i, s in enumerate(seeds) if s in seeds[:i])
        raise ValueError(f"--seeds: seed {dup} is given twice in {shown(text)}")
    return seeds


def format_seeds(seeds: list[int]) -> str:
    """The shortest ``parse_seeds`` text for ``seeds`` (runs of consecutive seeds as a-b)."""
    parts: list[str] = []
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if j == i else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(parts)


def value_text(value: Any) -> str:
    """A grid value as sweep.csv and labels show it (lists as JSON, strings bare)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def _slug(values: list[Any], limit: int = 60) -> str:
    """A setting as a folder name's middle: its values, filesystem-safe ([8,8] -> 8_8)."""
    parts = [re.sub(r"[^A-Za-z0-9.+_-]+", "_", value_text(v)).strip("_.") for v in values]
    return "-".join(parts)[:limit].rstrip("_.-") or "run"


@dataclass(frozen=True)
class Run:
    """One run of a sweep: a setting (a value per grid key) and a seed."""

    index: int
    name: str                  # its folder under runs/, unique within the sweep
    setting: tuple[Any, ...]   # one value per grid key, in the grid's order
    seed: int
    config: dict[str, Any]     # the full validated config of this run


@dataclass(frozen=True)
class Sweep:
    """A sweep's definition, what sweep.json stores and a rerun must match."""

    preset: str
    base: dict[str, Any]                    # the preset with --set/--device applied
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    steps: int
    samples: int

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid)

    @property
    def settings(self) -> list[tuple[Any, ...]]:
        return list(itertools.product(*(vals for _, vals in self.grid)))

    @property
    def size(self) -> int:
        return math.prod(len(v) for _, v in self.grid) * len(self.seeds)

    def runs(self) -> list[Run]:
        """Every setting x seed, setting-major, each with its validated config."""
        total = self.size
        width = max(3, len(str(total - 1)))
        out: list[Run] = []
        for setting in self.settings:
            cfg = C.with_changes(self.base, dict(zip(self.keys, setting)))
            for seed in self.seeds:
                i = len(out)
                name = f"{i:0{width}d}-{_slug(list(setting))}-seed{seed}"
                out.append(Run(i, name, setting, seed, C.with_changes(cfg, {"seed": seed})))
        return out

    def metric_columns(self) -> tuple[str, ...]:
        """The final metrics sweep.csv has: point metrics, image metrics or both (a grid
        over data.name may hold both), in COLUMNS' order."""
        kinds = {DATA_SPECS[C.get(C.with_changes(self.base, dict(zip(self.keys, s))),
                                  "data.name")].is_image for s in self.settings}
        wanted = set()
        for image in kinds:
            wanted.update(IMAGE_METRICS if image else POINT_METRICS)
        return tuple(c for c in CADENCE_COLUMNS if c in wanted)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": KIND, "preset": self.preset,
                "grid": [{"key": k, "values": list(v)} for k, v in self.grid],
                "seeds": list(self.seeds), "steps": self.steps, "samples": self.samples,
                "config": self.base}

    def differs_from(self, stored: dict[str, Any]) -> str | None:
        """What makes the stored definition another sweep, in a few words; None when it is
        this one (the preset's name and the workers may differ: the runs are the same)."""
        mine = _plain(self.to_json())
        for field, what in (("grid", "grid"), ("seeds", "seeds"), ("steps", "steps"),
                            ("samples", "samples"), ("config", "preset's settings")):
            theirs = stored.get(field)
            if _plain(theirs) != mine[field]:
                if field == "grid":
                    return f"its grid is {_grid_text(theirs)}"
                if field == "seeds" and isinstance(theirs, list):
                    try:
                        return f"its seeds are {format_seeds([int(s) for s in theirs])}"
                    except (TypeError, ValueError):
                        return "its seeds differ"
                if field == "config":
                    changed = C.diff(self.base, theirs) if isinstance(theirs, dict) else {}
                    keys = ", ".join(list(changed)[:3])
                    return f"its {what} differ ({keys})" if keys else f"its {what} differ"
                return f"its {what} {'are' if what.endswith('s') else 'is'} {shown(theirs)}"
        return None


def _grid_text(grid: Any) -> str:
    try:
        return " ".join(f"{g['key']}={','.join(value_text(v) for v in g['values'])}"
                        for g in grid)[:200]
    except (TypeError, KeyError):
        return shown(grid)


def build_sweep(preset: str, grid_args: list[str], seeds: str, steps: int,
                sets: list[str] = (), device: str | None = None, samples: int = 2000) -> Sweep:
    """The checked definition: every grid key known, every value allowed, and every
    combination a valid config (a data.* key must belong to the data set it meets)."""
    base = load_preset(preset)
    changes: dict[str, Any] = {}
    for text in sets:
        k, v = C.parse_assignment(text)
        changes[k] = v
    if device is not None:
        changes["device"] = device
    base = C.with_changes(base, changes)
    if not grid_args:
        raise ValueError("sweep: an empty grid; give at least one --grid key=v1,v2,... "
                         "(one value is fine: --grid loss.name=minimax)")
    grid: list[tuple[str, tuple[Any, ...]]] = []
    for text in grid_args:
        key, raw_values = parse_grid_arg(text)
        if key == "seed":
            raise ValueError("--grid seed: give the seeds with --seeds (e.g. --seeds 0-4)")
        if key in ("name", "description", "format"):
            raise ValueError(f"--grid {key}: not a training setting")
        if any(key == k for k, _ in grid):
            raise ValueError(f"--grid {key}: this key is given twice")
        values: list[Any] = []
        for raw in raw_values:
            values.append(_coerce(base, key, raw))
        for i, v in enumerate(values):
            if v in values[:i]:
                raise ValueError(f"--grid {key}: the value {shown(value_text(v))} is given "
                                 "twice")
        grid.append((key, tuple(values)))
    seed_list = parse_seeds(seeds)
    sweep = Sweep(preset, base, tuple(grid), tuple(seed_list), int(steps), int(samples))
    if sweep.size > MAX_RUNS:
        raise ValueError(f"sweep: {sweep.size:,} runs is more than {MAX_RUNS:,}; "
                         "narrow the grid or the seeds")
    keys = sweep.keys
    for setting in sweep.settings:  # every combination must make a valid config
        try:
            C.with_changes(base, dict(zip(keys, setting)))
        except ValueError as e:
            combo = " ".join(f"{k}={value_text(v)}" for k, v in zip(keys, setting))
            raise ValueError(f"--grid: {e} (in the setting {combo})"[:400]) from None
    return sweep


def _coerce(base: dict[str, Any], key: str, value: Any) -> Any:
    """The normalised value of ``key`` (``1e-3`` and ``0.001`` are one value). A data.*
    key is checked against the data set it will meet when data.name is also in the grid."""
    try:
        if key.startswith("data.") and key != "data.name":
            C.param_for(key, C.get(base, "data.name"))
        return C.get(C.with_changes(base, {key: value}), key)
    except ValueError as e:
        if key.startswith("data.") and key != "data.name":
            # maybe a parameter of another data set named by a data.name grid: checked per
            # combination later; keep the value as given (coerced by that set's spec there)
            for spec in DATA_SPECS.values():
                p = spec.params.get(key[len("data."):])
                if p is not None:
                    return p.coerce(key, value)
        raise ValueError(f"--grid {e}") from None


def load_definition(path: Path) -> dict[str, Any] | None:
    """sweep.json's content, or None when it is not a sweep's definition."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return None
    return data


__all__ = ["Sweep", "Run", "build_sweep", "parse_grid_arg", "parse_seeds", "format_seeds",
           "split_values", "value_text", "load_definition", "POINT_METRICS", "IMAGE_METRICS"]

"""Presets: a whole configuration as readable JSON, built-in (``presets/*.json``) or a path."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from . import config as C
from .atomic import atomic_write_text
from .safeio import PRESET_BYTES, read_capped

PRESET_PACKAGE = "gan_playground_presets"  # the repository's presets/ folder, once installed


def _builtin_dir() -> Path:
    """Where the built-in presets are: the installed package data (a wheel or an editable
    install, found through ``importlib.resources``), else the clone's ``presets/`` folder
    (running from a checkout that was never installed)."""
    try:
        root = Path(str(resources.files(PRESET_PACKAGE)))
    except (ModuleNotFoundError, TypeError):
        root = None
    if root is not None and root.is_dir():
        return root
    return Path(__file__).resolve().parent.parent / "presets"


PRESET_DIR = _builtin_dir()
DEFAULT_PRESET = "ring8"

# The preset library's groups (a preset's "topic"), in the order the lecture notes teach them.
TOPICS: tuple[str, ...] = (
    "The loss and its gradients",
    "Divergences and supports",
    "The optimal discriminator",
    "Mode collapse",
    "Normalization",
    "Images",
)
OTHER_TOPIC = "Other presets"  # a preset with no topic, or one not in TOPICS

# The lecture notes the built-in presets come from (a preset's "lecture").
LECTURES: tuple[str, ...] = (
    "Li, GAN basics (Imperial)",
    "AMMI review session, Deep Learning 10 (GANs)",
    "Marlin, COMPSCI 689 lecture 22 (UMass)",
    "Isachenko, Deep Generative Models lecture 9 (MIPT)",
    "Generative Models, an introduction (in Korean)",
)

# Within a topic, the built-ins in the order a lecture would show them (a phenomenon before
# its cure); presets not listed follow, by name.
TEACHING_ORDER: tuple[str, ...] = (
    "ring8", "minimax_vanishing", "non_saturating_strong_d",
    "lines_js", "lines_wgan", "wgan_clip", "wgan_gp", "gmmn_ring8",
    "too_many_d_steps", "too_few_d_steps", "label_smoothing_one_sided",
    "label_smoothing_two_sided", "r1_ring8",
    "mode_collapse", "minibatch_rescue", "infogan_ring8",
    "batchnorm_generator", "reference_norm_generator", "virtual_norm_generator",
    "dcgan_digits", "dcgan_digits_conditional",
)


def topic_of(config: dict[str, Any]) -> str:
    """A preset's library group: its "topic" when it is one of ``TOPICS``, else the rest."""
    topic = str(config.get("topic") or "")
    return topic if topic in TOPICS else OTHER_TOPIC


def teaching_key(stem: str, config: dict[str, Any]) -> tuple[int, int, str]:
    """Sort key for the library: topic in teaching order, then ``TEACHING_ORDER``, then name."""
    topic = topic_of(config)
    t = TOPICS.index(topic) if topic in TOPICS else len(TOPICS)
    o = TEACHING_ORDER.index(stem) if stem in TEACHING_ORDER else len(TEACHING_ORDER)
    return t, o, stem


def builtin_presets() -> list[str]:
    """Names of the built-in presets (file stems), default first."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.json"))
    if DEFAULT_PRESET in names:
        names.remove(DEFAULT_PRESET)
        names.insert(0, DEFAULT_PRESET)
    return names


def preset_path(name_or_path: str) -> Path:
    """A built-in name or a path to a JSON file; ValueError naming the choices otherwise."""
    text = str(name_or_path)
    p = Path(text)
    if p.suffix == ".json" or os.sep in text or "/" in text or p.exists():
        return p
    builtin = PRESET_DIR / f"{text}.json"
    if builtin.exists():
        return builtin
    raise ValueError(f"preset: no built-in preset named {text!r} and no such file; "
                     f"built-in: {', '.join(builtin_presets())}")


PRESET_WHAT = "a preset JSON file"


def load_preset(name_or_path: str) -> dict[str, Any]:
    """The validated config of a preset (missing keys take their defaults).

    Only a regular file of at most :data:`~engine.safeio.PRESET_BYTES` is read (a FIFO would
    hang the app, ``/dev/zero`` would never end), and every problem with it is a one-line
    ValueError naming the file.
    """
    path = preset_path(name_or_path)
    if not os.path.lexists(path):
        raise ValueError(f"{path}: no such preset file")
    data = read_capped(path, PRESET_BYTES, PRESET_WHAT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: cannot read ({e.reason} at byte {e.start}); expected "
                         f"{PRESET_WHAT} in UTF-8") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty, not a preset")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number; nesting 100,000 deep
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
        raise ValueError(f"{path}: not valid JSON ({reason})") from None
    try:
        cfg = C.validate(raw)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if "name" not in raw:
        cfg["name"] = path.stem
    return cfg


def preset_text(config: dict[str, Any]) -> str:
    return json.dumps(C.validate(config), indent=2) + "\n"


def save_preset(config: dict[str, Any], path: str) -> None:
    """Write a validated config as a preset file (atomically)."""
    atomic_write_text(str(path), preset_text(config))

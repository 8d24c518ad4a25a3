"""Every file in presets/ is a valid, normalised preset; paired presets differ only in
their knob, so each "exactly X but ..." description stays true."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import builtin_presets, load_preset, save_preset
from engine.config import diff

PRESET_DIR = Path(__file__).resolve().parents[2] / "presets"
FILES = sorted(PRESET_DIR.glob("*.json"))

# (preset, its counterpart, the dotted keys in which they may differ besides name, description
# and their place in the library: topic and lecture)
PAIRS = [
    ("minimax_vanishing", "non_saturating_strong_d", {"loss.name"}),
    ("mode_collapse", "minibatch_rescue", {"discriminator.minibatch"}),
    ("lines_js", "lines_wgan", {"loss.name"}),
    ("label_smoothing_one_sided", "label_smoothing_two_sided", {"loss.fake_label"}),
    ("batchnorm_generator", "reference_norm_generator", {"generator.norm"}),
    ("batchnorm_generator", "virtual_norm_generator", {"generator.norm"}),
    ("too_many_d_steps", "too_few_d_steps", {"train.d_steps", "optim.d.lr"}),
    ("too_many_d_steps", "batchnorm_generator", {"train.d_steps", "generator.norm"}),
]


def test_there_are_presets():
    assert len(FILES) >= 16
    assert {p.stem for p in FILES} == set(builtin_presets())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_preset_file_is_normalised(path: Path, tmp_path: Path):
    cfg = load_preset(str(path))
    assert cfg == load_preset(path.stem)
    assert cfg["name"] == path.stem
    assert isinstance(cfg["description"], str) and cfg["description"].strip()
    out = tmp_path / path.name
    save_preset(cfg, str(out))
    assert out.read_bytes() == path.read_bytes(), "rewrite it with engine.save_preset"


@pytest.mark.parametrize("a, b, keys", PAIRS, ids=[f"{a}-{b}" for a, b, _ in PAIRS])
def test_paired_presets_differ_only_in_their_knob(a: str, b: str, keys: set[str]):
    changed = set(diff(load_preset(a), load_preset(b))) - {"name", "description", "topic",
                                                           "lecture"}
    assert changed == keys


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_description_names_the_optimizers_truly(path: Path):
    """"plain SGD" means SGD without momentum (minimax_vanishing and lines_js once said so
    of a G on SGD with momentum 0.9)."""
    cfg = load_preset(str(path))
    text = cfg["description"].lower()
    for net in ("g", "d"):
        opt = cfg["optim"][net]
        if opt["name"] == "sgd" and opt["momentum"] > 0:
            assert "plain sgd" not in text, f"optim.{net} has momentum {opt['momentum']}"


def test_every_builtin_has_a_topic_and_a_lecture_in_teaching_order():
    from engine.presets import LECTURES, TEACHING_ORDER, TOPICS

    topics = []
    for stem in builtin_presets():
        cfg = load_preset(stem)
        assert cfg["topic"] in TOPICS, stem
        assert cfg["lecture"] in LECTURES, stem
        assert stem in TEACHING_ORDER, stem
        topics.append(cfg["topic"])
    assert set(topics) == set(TOPICS)  # every topic has a preset
    ordered = sorted(builtin_presets(), key=TEACHING_ORDER.index)
    ranks = [TOPICS.index(load_preset(s)["topic"]) for s in ordered]
    assert ranks == sorted(ranks), "TEACHING_ORDER keeps each topic's presets together"

"""Lists typed by hand (hidden widths, Adam's betas) accept the obvious separators: commas,
semicolons, spaces, and "x" between widths, the same in a widget, ``--set`` and a preset."""

from __future__ import annotations

import json

import pytest

from engine.config import SCHEMA, default_config, parse_assignment, with_changes
from engine.presets import load_preset


@pytest.mark.parametrize("text", ["64 64 64", "64,64,64", "64, 64, 64", "64;64;64",
                                  " 64  64\t64 ", "[64 64 64]", "64x64x64", "64 × 64 × 64"])
def test_hidden_widths_take_spaces_commas_and_x(text):
    assert SCHEMA["generator.hidden"].coerce("generator.hidden", text) == [64, 64, 64]


def test_betas_take_a_space_too():
    assert SCHEMA["optim.g.betas"].coerce("optim.g.betas", "0.5 0.9") == [0.5, 0.9]


@pytest.mark.parametrize("text", ["abc", "64 abc", "64,,64", "64 0", "", "64 64.5"])
def test_bad_lists_are_still_refused_naming_the_separators(text):
    with pytest.raises(ValueError) as e:
        SCHEMA["generator.hidden"].coerce("generator.hidden", text)
    assert str(e.value).startswith("generator.hidden")
    assert "separated by commas or spaces" in str(e.value)


def test_set_on_the_command_line_takes_spaces():
    key, value = parse_assignment("discriminator.hidden=32 16")
    cfg = with_changes(default_config(), {key: value})
    assert cfg["discriminator"]["hidden"] == [32, 16]


def test_a_preset_may_write_widths_as_text(tmp_path):
    path = tmp_path / "spaced.json"
    path.write_text(json.dumps({"generator": {"hidden": "64 64 64"}}))
    assert load_preset(str(path))["generator"]["hidden"] == [64, 64, 64]

"""A training step never reads a value on the host (issue #11's GPU check, on the CPU).

On a GPU each ``.item()``/``float(t)``/``bool(t)`` in the step stalls the host until the
device catches up. ``engine.sync_audit`` counts the operators that do it; on the CPU they
cost nothing, so these tests keep the step free of them without a GPU. The health check,
every ``CHECK_EVERY`` iterations, is where the step's figures come over, in one go.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import TrainingDiverged, networks
from engine import config as C
from engine.presets import load_preset
from engine.sync_audit import audit, main

from .conftest import tiny
from .spec_draws import valid_config
from .test_properties import HypothesisSource

# every path of the step: MLP and conv nets, labels, codes, gradient penalties, WGAN
CPU = {"device": "cpu"}  # the host-reading count is the CPU's stand-in for a GPU's stalls
PRESETS = ("ring8", "dcgan_digits_conditional", "infogan_ring8", "wgan_gp", "r1_ring8",
           "wgan_clip", "minibatch_rescue", "gmmn_ring8")


def test_no_preset_reads_the_host_in_a_training_step():
    for name in PRESETS:
        r = audit(tiny(CPU, base=load_preset(name)), name, steps=3)
        assert r.step.sync_ops == 0, (name, r.step.ops)
        assert r.device == "cpu"


def test_the_health_check_is_where_the_figures_come_over():
    # the check reads the step's figures and the finiteness of the weights on the host
    r = audit(tiny(CPU, base=load_preset("ring8")), "ring8", steps=2)
    assert r.check.sync_ops >= 1


def test_a_host_read_planted_in_the_step_is_counted(monkeypatch):
    """The counter counts: F.one_hot (what the nets used before) checks the labels'
    range on the host, two reads per call on the CPU."""
    def planted(index: torch.Tensor, k: int, dtype: torch.dtype) -> torch.Tensor:
        return torch.nn.functional.one_hot(index, k).to(dtype)

    monkeypatch.setattr(networks, "one_hot_rows", planted)
    r = audit(tiny(CPU, base=load_preset("dcgan_digits_conditional")), "c", steps=2)
    assert r.step.ops.get("aten::_local_scalar_dense", 0) >= 2 * 2
    assert r.step.sync_ops == sum(r.step.ops.values())


def test_the_optimizers_step_counters_are_not_taken_for_device_reads():
    # torch.optim keeps its step counters on the host (not capturable): reading them is free
    r = audit(tiny(base=load_preset("ring8"), changes={**CPU, "optim.g.name": "adam",
                                                       "optim.d.name": "adam"}), "r", steps=2)
    assert r.step.host_counters > 0 and r.step.sync_ops == 0


def test_the_stretch_must_fit_between_two_health_checks():
    for steps in (0, 32, 100):
        with pytest.raises(ValueError, match="between 1 and 31"):
            audit(tiny(CPU), "x", steps=steps)


def test_the_command_prints_one_line_per_preset(capsys):
    main(["--preset", "ring8", "--steps", "2", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "ring8" in out and "host-reading ops 0.00" in out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_valid_config_reads_the_host_in_a_training_step(data):
    """Every combination of loss, norm, architecture, optimizer, data, labels and codes."""
    changes = valid_config(HypothesisSource(data))
    cfg = C.with_changes(C.default_config(), {**changes, "device": "cpu"})
    try:
        r = audit(cfg, "random", steps=2)
    except TrainingDiverged:
        assume(False)
    assert r.step.sync_ops == 0, r.step.ops

"""Mid-run swaps mean what DESIGN.md's table says they mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import Session
from engine.datasets import DATASETS
from engine.metrics import mode_stats
from engine.session import PROBE


@pytest.mark.parametrize("changes", [
    {"loss.name": "hinge"},
    {"loss.real_label": 0.9, "loss.fake_label": 0.1},
    {"train.d_steps": 3},
    {"train.batch_size": 48},
    {"optim.d.lr": 3e-4, "optim.g.lr": 2e-4},
    {"optim.d.betas": [0.0, 0.9]},
])
def test_cheap_changes_keep_networks_and_optimizer_state(make_session, state_of, same, optims, changes):
    s = make_session()
    s.train(3)
    before = state_of(s)
    s.apply(changes)
    after = state_of(s)
    assert after["generator_id"] == before["generator_id"]
    assert after["discriminator_id"] == before["discriminator_id"]
    same(after["g"], before["g"])
    same(after["d"], before["d"])
    # optimizer state (Adam moments and step counts) survives; only hyperparameters move
    same(after["opt_g"]["state"], before["opt_g"]["state"])
    same(after["opt_d"]["state"], before["opt_d"]["state"])
    opt_g, opt_d = optims(s)
    cfg = s.config["optim"]
    assert opt_g.param_groups[0]["lr"] == cfg["g"]["lr"]
    assert opt_d.param_groups[0]["lr"] == cfg["d"]["lr"]
    assert tuple(opt_d.param_groups[0]["betas"]) == tuple(cfg["d"]["betas"])
    s.train(2)


@pytest.mark.parametrize("changes", [
    {"loss.name": "hinge"},
    {"loss.name": "wgan-gp", "loss.gp_weight": 5.0},
    {"train.batch_size": 48},
    {"train.d_steps": 2},
    {"optim.g.lr": 3e-4},
])
def test_a_change_takes_effect_on_the_next_step(make_config, changes):
    """A session switched before its first step trains exactly like one built that way."""
    switched = Session(make_config())
    switched.apply(changes)
    built = Session(make_config(changes))
    unswitched = Session(make_config())
    switched.train(4)
    built.train(4)
    unswitched.train(4)
    np.testing.assert_array_equal(switched.sample(64), built.sample(64))
    np.testing.assert_array_equal(switched.history.rows, built.history.rows)
    assert not np.array_equal(switched.history.rows, unswitched.history.rows)


def test_a_batch_size_change_is_the_size_of_the_next_batches(make_session):
    s = make_session()
    s.train(2)
    s.apply({"train.batch_size": 40})
    sizes = []
    s.discriminator.register_forward_pre_hook(lambda mod, args: sizes.append(len(args[0])))
    s.iteration()
    # real, fake (D step), fake (G step), then the health check's probe (fakes, reals)
    assert sizes == [40, 40, 40, PROBE, PROBE]


def test_changing_the_optimizer_kind_resets_that_optimizers_state_only(make_session, state_of, same, optims):
    s = make_session()
    s.train(3)
    before = state_of(s)
    assert before["opt_g"]["state"], "Adam should have state after training"
    s.apply({"optim.g.name": "rmsprop"})
    opt_g, opt_d = optims(s)
    assert isinstance(opt_g, torch.optim.RMSprop)
    assert not opt_g.state_dict()["state"], "the new optimizer must start from scratch"
    after = state_of(s)
    same(after["opt_d"], before["opt_d"])
    same(after["g"], before["g"])
    same(after["d"], before["d"])
    # it optimises the live generator's parameters
    ids = {id(p) for p in s.generator.parameters()}
    assert {id(p) for g in opt_g.param_groups for p in g["params"]} == ids
    s.train(2)
    assert opt_g.state_dict()["state"]


def _stored_weight(lin):
    """The stored weight (under spectral norm, the parametrization's original)."""
    if hasattr(lin, "parametrizations") and "weight" in lin.parametrizations:
        return lin.parametrizations.weight.original
    return lin.weight


def _linear_weights(net):
    return [(_stored_weight(lin).detach().clone(), lin.bias.detach().clone())
            for lin in [*net.linears, net.out]]


@pytest.mark.parametrize("norm", ["batch", "layer", "reference", "virtual", "spectral"])
def test_a_norm_change_keeps_the_linear_weights(make_session, state_of, same, norm):
    s = make_session({"generator.hidden": [16, 16]})
    s.train(3)
    before = _linear_weights(s.generator)
    d_before = state_of(s)["d"]
    s.apply({"generator.norm": norm})
    assert s.generator.norm_name == norm
    after = _linear_weights(s.generator)
    for (w0, b0), (w1, b1) in zip(before, after):
        assert torch.equal(w0, w1) and torch.equal(b0, b1)
    same(state_of(s)["d"], d_before)  # D untouched
    s.train(2)


def test_spectral_norm_there_and_back_keeps_the_stored_weights(make_session):
    s = make_session({"discriminator.hidden": [16, 16]})
    s.train(2)
    before = _linear_weights(s.discriminator)
    s.apply({"discriminator.norm": "spectral"})
    s.apply({"discriminator.norm": "none"})
    for (w0, b0), (w1, b1) in zip(before, _linear_weights(s.discriminator)):
        assert torch.equal(w0, w1) and torch.equal(b0, b1)


def test_a_discriminator_norm_change_keeps_its_linear_weights(make_session):
    s = make_session({"discriminator.hidden": [16, 16]})
    s.train(3)
    before = _linear_weights(s.discriminator)
    s.apply({"discriminator.norm": "layer"})
    for (w0, b0), (w1, b1) in zip(before, _linear_weights(s.discriminator)):
        assert torch.equal(w0, w1) and torch.equal(b0, b1)


def test_widening_a_layer_carries_the_layers_whose_shape_still_matches(make_session, optims):
    s = make_session({"generator.hidden": [16, 16]})
    s.train(3)
    first = s.generator.linears[0].weight.detach().clone()
    s.apply({"generator.hidden": [16, 32]})
    assert [lin.out_features for lin in s.generator.linears] == [16, 32]
    assert torch.equal(s.generator.linears[0].weight, first)
    # its optimizer was rebuilt for the new parameters
    opt_g, _ = optims(s)
    ids = {id(p) for p in s.generator.parameters()}
    assert {id(p) for g in opt_g.param_groups for p in g["params"]} == ids
    s.train(2)
    assert s.sample(8).shape == (8, 2)


@pytest.mark.parametrize("which", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", ["reference", "virtual"])
def test_the_reference_batch_is_fixed_when_a_reference_norm_arrives(make_session, which, norm):
    s = make_session()
    s.train(3)
    s.apply({f"{which}.norm": norm})
    net = getattr(s, which)
    ref = net.reference.detach().clone()
    assert ref.shape == (16, 2)
    assert float(ref.abs().sum()) > 0, "reference batch left at zeros"
    if which == "discriminator":  # real samples, on the ring of radius 2
        np.testing.assert_allclose(ref.norm(dim=1).numpy(), 2.0, atol=0.15)
    else:  # z_R ~ N(0, 1): not all equal, roughly centred
        assert float(ref.std()) > 0.3
    s.train(5)
    assert torch.equal(getattr(s, which).reference, ref), "reference batch moved during training"
    # an unrelated swap keeps it
    s.apply({"loss.name": "hinge", f"{which}.hidden": [16, 8]})
    assert torch.equal(getattr(s, which).reference, ref)


def test_a_data_set_swap_changes_the_real_data_and_keeps_the_networks(make_session, state_of, same):
    s = make_session({"discriminator.norm": "reference"})
    s.train(3)
    before = state_of(s)
    ring_ref = s.discriminator.reference.detach().clone()
    grid = DATASETS["grid25"]
    s.apply({"data.name": "grid25"})
    after = state_of(s)
    same(after["g"], before["g"])
    same(after["opt_g"], before["opt_g"])
    same(after["opt_d"], before["opt_d"])
    assert after["config"]["data"]["name"] == "grid25"
    real = s.snapshot().real
    ms = mode_stats(real, grid.modes(s.config["data"]))
    assert ms.high_quality > 0.95 and ms.captured >= 20
    assert np.abs(real).max() > 3.5  # the ring never leaves radius ~2
    # D's reference batch (real data) follows the new data set
    assert not torch.equal(s.discriminator.reference, ring_ref)
    ref_stats = mode_stats(s.discriminator.reference.numpy(), grid.modes(s.config["data"]))
    assert ref_stats.high_quality == 1.0
    for k in ("linears.0.weight", "linears.0.bias", "out.weight", "out.bias"):
        assert torch.equal(after["d"][k], before["d"][k])
    s.train(3)


def test_a_seed_change_reinitialises_reproducibly(make_config):
    s = Session(make_config({"seed": 0}))
    s.train(5)
    s.apply({"seed": 7, "loss.name": "hinge"})
    fresh = Session(make_config({"seed": 7, "loss.name": "hinge"}))
    assert s.step == 0 and len(s.history) == 0
    assert s.config == fresh.config
    np.testing.assert_array_equal(s.sample(64), fresh.sample(64))
    s.train(4)
    fresh.train(4)
    np.testing.assert_array_equal(s.sample(64), fresh.sample(64))


def test_reset_reinitialises_from_the_seed(make_config):
    s = Session(make_config())
    fresh = Session(make_config())
    s.train(5)
    s.reset()
    assert s.step == 0
    np.testing.assert_array_equal(s.sample(64), fresh.sample(64))


def test_a_noise_dim_change_rebuilds_the_generator(make_session):
    s = make_session({"generator.hidden": [16, 16]})
    s.train(2)
    second = s.generator.linears[1].weight.detach().clone()
    s.apply({"noise.dim": 3})
    assert s.generator.linears[0].in_features == 3
    assert torch.equal(s.generator.linears[1].weight, second)
    s.train(2)
    assert s.generate(np.zeros((4, 3), np.float32)).shape == (4, 2)
    with pytest.raises(ValueError, match="z"):
        s.generate(np.zeros((4, 2), np.float32))

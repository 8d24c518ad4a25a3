"""The scripting API of DESIGN.md's contract: Session, presets and checkpoints."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from engine import Session, builtin_presets, load_generator, load_preset, save_preset
from engine.config import with_changes

CONTRACT_COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm")


@pytest.fixture
def ring8(make_config):
    return make_config(base=load_preset("ring8"))


def test_the_scripting_api_end_to_end(ring8):
    s = Session(ring8)
    last = s.train(steps=5)
    assert s.step == 5
    for col in CONTRACT_COLUMNS:
        assert col in last
    hist = s.history.as_dict()
    for col in CONTRACT_COLUMNS:
        assert col in hist and len(hist[col]) == 5
        assert np.isfinite(hist[col]).all(), col
    np.testing.assert_array_equal(hist["step"], [1, 2, 3, 4, 5])
    assert len(s.history) == 5

    changed = s.apply({"loss.name": "wgan-gp"})
    assert changed == {"loss.name": "wgan-gp"}
    s.train(2)

    x = s.sample(100)
    assert isinstance(x, np.ndarray) and x.shape == (100, 2) and np.isfinite(x).all()
    z = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    g = s.generate(z)
    assert g.shape == (7, 2)
    d = s.discriminate(g)
    assert d.shape == (7,)
    assert s.generator is not None and s.discriminator is not None


def test_generate_and_discriminate_accept_lists_and_reject_bad_shapes(make_session):
    s = make_session()
    assert s.generate([[0.0, 0.0], [1.0, 1.0]]).shape == (2, 2)
    assert s.discriminate([[0.0, 0.0]]).shape == (1,)
    for bad in (np.zeros((3, 5)), np.zeros(2), np.zeros((0, 2)), np.zeros((2, 2, 2))):
        with pytest.raises(ValueError):
            s.generate(bad)
        with pytest.raises(ValueError):
            s.discriminate(bad)


def test_discriminate_is_the_raw_output(make_session):
    s = make_session()
    s.train(2)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    import torch

    with torch.no_grad():
        want = s.discriminator(torch.as_tensor(x, device=s.device))[:, 0].cpu().numpy()
    np.testing.assert_allclose(s.discriminate(x), want, rtol=1e-6)


# --------------------------------------------------------------------------- session checkpoints

@pytest.mark.parametrize("changes", [
    {},
    {"generator.norm": "virtual", "discriminator.norm": "spectral", "discriminator.minibatch": "stddev"},
    {"loss.name": "wgan-gp", "optim.d.name": "rmsprop", "optim.g.name": "sgd", "optim.g.momentum": 0.9},
])
def test_save_and_load_continue_identically(tmp_path, make_config, changes):
    s = Session(make_config(changes))
    s.train(6)
    path = tmp_path / "run.safetensors"
    s.save(str(path))
    s2 = Session.load(str(path))
    assert s2.config == s.config
    assert s2.step == s.step
    assert (s2.d_updates, s2.g_updates) == (s.d_updates, s.g_updates)
    np.testing.assert_array_equal(s2.history.rows, s.history.rows)
    np.testing.assert_array_equal(s2.sample(50), s.sample(50))
    s.train(5)
    s2.train(5)
    np.testing.assert_array_equal(s2.sample(100), s.sample(100))
    np.testing.assert_array_equal(s2.history.rows, s.history.rows)


def test_save_writes_atomically_and_overwrites(tmp_path, make_session):
    s = make_session()
    path = tmp_path / "run.safetensors"
    s.save(str(path))
    s.train(2)
    s.save(str(path))
    assert Session.load(str(path)).step == 2
    assert [p.name for p in tmp_path.iterdir()] == ["run.safetensors"]  # no temp files left


# --------------------------------------------------------------------------- generator checkpoints

@pytest.mark.parametrize("changes", [
    {},
    {"generator.norm": "virtual", "generator.hidden": [16, 16]},
    {"generator.norm": "spectral", "noise.dim": 3, "noise.dist": "uniform"},
    {"generator.norm": "batch", "generator.activation": "tanh"},
])
def test_generator_round_trip_gives_the_same_output(tmp_path, make_config, changes):
    s = Session(make_config(changes))
    s.train(4)
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    g = load_generator(str(path))
    assert g.config == s.config
    dim = s.config["noise"]["dim"]
    z = np.random.default_rng(1).normal(size=(33, dim)).astype(np.float32)
    np.testing.assert_array_equal(g.generate(z), s.generate(z))
    x = g.sample(20, seed=3)
    assert x.shape == (20, 2) and np.isfinite(x).all()
    np.testing.assert_array_equal(g.sample(20, seed=3), x)
    assert g.step == 4


@pytest.mark.parametrize("changes", [{"generator.norm": "none"}, {"generator.norm": "batch"},
                                     {"generator.codes": 10}])
def test_many_samples_from_a_generator_file_are_drawn_in_batches(tmp_path, make_config,
                                                                 changes):
    """``main.py sample`` ran G on all n at once (2.5 GB for 40k small images); now in
    batches, the same as the session's own draw (a batch-norm G depends on its batch: it
    gave other numbers past 2,048 samples; an InfoGAN G must take its codes in turn over
    all of z, not from 0 in each batch), and without batch norm, as each row alone."""
    norm = changes.get("generator.norm", "none")
    s = Session(make_config(changes))
    s.train(3)
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    g = load_generator(str(path))
    z = np.random.default_rng(2).normal(size=(5000, s.config["noise"]["dim"])).astype(np.float32)
    x = g.generate(z)
    assert x.shape == (5000, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x, s.generate(z))
    if norm == "none" and "generator.codes" not in changes:
        for rows in (slice(0, 3), slice(2047, 2050), slice(4990, 5000)):
            np.testing.assert_allclose(x[rows], g.generate(z[rows]), rtol=1e-5, atol=1e-6)


def test_more_samples_than_fit_are_refused_in_one_line(tmp_path, make_config, monkeypatch):
    s = Session(make_config())
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    g = load_generator(str(path))
    monkeypatch.setenv("GAN_PLAYGROUND_MEMORY_LIMIT", "200KB")  # 25,600 points of 2 floats
    for draw in (lambda: g.sample(40_000), lambda: s.sample(40_000)):
        with pytest.raises(ValueError, match=r"^n: 40,000 samples .* at most [\d,]+ at a time"):
            draw()
    assert len(g.sample(20_000)) == 20_000  # what fits is drawn


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_checkpoints(tmp_path, make_session):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Evil(str(marker))))
    import torch

    torch_pickle = tmp_path / "weights.pt"
    torch.save({"generator.out.weight": torch.zeros(2, 16)}, str(torch_pickle))
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(os.urandom(512))
    huge_header = tmp_path / "huge.safetensors"
    huge_header.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    s = make_session()
    good = tmp_path / "good.safetensors"
    s.save_generator(str(good))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-40])
    session_file = tmp_path / "session.safetensors"
    s.save(str(session_file))
    return marker, {
        "pickle": evil, "torch.save": torch_pickle, "garbage": garbage, "huge header": huge_header,
        "empty": empty, "text": text, "folder": folder, "missing": tmp_path / "missing.safetensors",
        "truncated": truncated, "session instead of generator": session_file,
    }


def test_load_generator_refuses_anything_but_a_generator_checkpoint(tmp_path, make_session):
    marker, bad = _bad_checkpoints(tmp_path, make_session)
    for what, path in bad.items():
        with pytest.raises(ValueError) as info:
            load_generator(str(path))
        msg = str(info.value)
        assert "\n" not in msg, (what, msg)
        assert str(path) in msg or os.path.basename(path) in msg, (what, msg)
    assert not marker.exists(), "loading a checkpoint ran code"


def test_session_load_refuses_anything_but_a_session_checkpoint(tmp_path, make_session):
    marker, bad = _bad_checkpoints(tmp_path, make_session)
    bad["generator instead of session"] = tmp_path / "good.safetensors"
    del bad["session instead of generator"]
    for what, path in bad.items():
        try:
            Session.load(str(path))
        except ValueError:
            continue
        pytest.fail(f"{what}: Session.load accepted it")
    assert not marker.exists()


def test_a_checkpoint_with_a_tampered_config_is_refused(tmp_path, make_session):
    from safetensors.torch import load_file, save_file

    s = make_session()
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    tensors = load_file(str(path))
    cfg = s.config
    cfg["generator"]["hidden"] = [64]  # no longer matches the stored weights
    bad = tmp_path / "tampered.safetensors"
    save_file(tensors, str(bad), metadata={"kind": "gan-playground/generator", "config": json.dumps(cfg)})
    with pytest.raises(ValueError):
        load_generator(str(bad))
    cfg["loss"]["name"] = "nonsense"
    save_file(tensors, str(bad), metadata={"kind": "gan-playground/generator", "config": json.dumps(cfg)})
    with pytest.raises(ValueError):
        load_generator(str(bad))
    save_file(tensors, str(bad), metadata={"kind": "gan-playground/generator", "config": "{not json"})
    with pytest.raises(ValueError):
        load_generator(str(bad))


@pytest.mark.parametrize("field,value", [
    ("opt_g", "[]"),
    ("opt_g", '{"state": [], "param_groups": []}'),
    ("opt_d", '{"state": {"0": 5}, "param_groups": []}'),
    ("updates", "5"),
    ("step", "abc"),
    ("config", "[]"),
])
def test_a_tampered_session_checkpoint_is_a_value_error(tmp_path, make_session, field, value):
    """Whatever is wrong inside a session file, Session.load says so with a ValueError."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    s = make_session()
    s.train(2)
    good = tmp_path / "s.safetensors"
    s.save(str(good))
    with safe_open(str(good), "pt") as f:
        meta = f.metadata()
    meta[field] = value
    bad = tmp_path / "tampered.safetensors"
    save_file(load_file(str(good)), str(bad), metadata=meta)
    with pytest.raises(ValueError):
        Session.load(str(bad))


# --------------------------------------------------------------------------- presets

def test_preset_round_trip_gives_the_same_bytes(tmp_path, ring8):
    s = Session(ring8)
    s.apply({"loss.name": "hinge", "generator.norm": "virtual", "data.name": "grid25"})
    p1, p2 = tmp_path / "a.json", tmp_path / "b.json"
    save_preset(s.config, str(p1))
    loaded = load_preset(str(p1))
    assert loaded == s.config
    save_preset(loaded, str(p2))
    assert p1.read_bytes() == p2.read_bytes()
    json.loads(p1.read_text())  # readable JSON


def test_a_partial_preset_takes_defaults_and_its_file_name(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({"loss": {"name": "hinge"}}))
    cfg = load_preset(str(p))
    assert cfg["loss"]["name"] == "hinge"
    assert cfg["name"] == "mine"


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"loss": {"name": "vanilla"}}',
                                     '{"format": 99}'])
def test_a_bad_preset_file_is_a_value_error(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ValueError) as info:
        load_preset(str(p))
    assert "\n" not in str(info.value)


def test_unknown_preset_names_and_folders_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="ring8"):  # lists the built-in ones
        load_preset("no-such-preset")
    with pytest.raises(ValueError):
        load_preset(str(tmp_path))
    with pytest.raises(ValueError):
        load_preset(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("name", builtin_presets())
def test_every_builtin_preset_loads_and_trains(name, finite):
    cfg = load_preset(name)
    assert isinstance(cfg["name"], str) and cfg["name"]
    small = {"generator.hidden": [16] * len(cfg["generator"]["hidden"]),
             "discriminator.hidden": [16] * len(cfg["discriminator"]["hidden"]),
             "train.batch_size": 32, "train.metrics_every": 0, "device": "cpu"}
    s = Session(with_changes(cfg, small))
    s.train(2)
    assert finite(s)


def test_ring8_is_the_default_builtin():
    assert builtin_presets()[0] == "ring8"

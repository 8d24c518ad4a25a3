"""Limits that keep hostile input from hurting: validation of absurd values, the memory
estimate before anything is allocated, and checkpoints that are refused on load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from engine import Session, load_generator
from engine.config import default_config, validate, with_changes
from engine.memory import check_memory, estimate, parse_size
from engine.stfile import read_metadata

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("changes, key", [
    ({"optim.g.lr": 10**400}, "optim.g.lr"),
    ({"seed": -(10**400)}, "seed"),
    ({"loss.clip": float("inf")}, "loss.clip"),
    ({"loss.fake_label": float("nan")}, "loss.fake_label"),
    ({"generator.hidden": [10**400]}, "generator.hidden"),
    ({"optim.d.betas": [0.5, 10**400]}, "optim.d.betas"),
    ({"data.name": "points", "data.points": [[0, 10**400]]}, "data.points"),
    ({"data.name": "points", "data.points": [[0, float("nan")]]}, "data.points"),
    ({"generator.hidden": "9" * 5000}, "generator.hidden"),
])
def test_absurd_values_are_one_line_value_errors_naming_the_key(changes, key):
    with pytest.raises(ValueError) as e:
        with_changes(default_config(), changes)
    text = str(e.value)
    assert text.startswith(key) and "\n" not in text and len(text) < 300


def test_deep_nesting_is_refused_without_a_recursion_error():
    nested: dict = {}
    cur = nested
    for _ in range(5000):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(ValueError, match="nested deeper"):
        validate({"generator": nested})
    with pytest.raises(ValueError, match="nested deeper"):
        with_changes(default_config(), {"loss": nested})


# ------------------------------------------------------------------ the memory estimate

def test_the_estimate_counts_the_parameters_of_the_real_networks():
    cfg = validate({"generator": {"hidden": [32, 16]}, "discriminator": {"hidden": [8]},
                    "noise": {"dim": 3}})
    est = estimate(cfg)
    # by hand: G 3->32->16->2, D 2->8->1 (weights and biases)
    assert est.params_g == 3 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2
    assert est.params_d == 2 * 8 + 8 + 8 * 1 + 1
    s = Session(cfg)
    assert est.params_g == sum(p.numel() for p in s.generator.parameters())


def test_minibatch_discrimination_over_a_huge_batch_is_refused_before_allocating():
    cfg = validate({"discriminator": {"minibatch": "discrimination"},
                    "train": {"batch_size": 65536}})
    with pytest.raises(ValueError, match=r"would need about [\d.]+ TB"):
        Session(cfg)


def test_the_limit_can_be_raised_or_lowered_with_the_environment(monkeypatch):
    cfg = validate({})
    monkeypatch.setenv("GAN_PLAYGROUND_MEMORY_LIMIT", "100K")
    with pytest.raises(ValueError, match="GAN_PLAYGROUND_MEMORY_LIMIT=100K"):
        check_memory(cfg)
    monkeypatch.setenv("GAN_PLAYGROUND_MEMORY_LIMIT", "1G")
    check_memory(cfg)
    assert parse_size("1.5GB") == int(1.5 * 2**30) and parse_size("512") == 512


def test_a_refused_swap_for_memory_leaves_the_session_as_it_was(make_session, state_of, same):
    s = make_session()
    s.train(3)
    before = state_of(s)
    with pytest.raises(ValueError, match="would need about"):
        s.apply({"generator.hidden": [1024] * 8, "discriminator.hidden": [1024] * 8,
                 "train.batch_size": 65536})
    same(state_of(s), before)


# ------------------------------------------------------------------ checkpoints

def _forge(path: Path, kind: str, config: dict, tensors: dict | None = None,
           step: str = "0", extra: dict | None = None) -> None:
    meta = {"kind": kind, "config": json.dumps(config), "step": step, **(extra or {})}
    path.write_bytes(st_save(tensors or {"generator.x": torch.zeros(1)}, metadata=meta))


HUGE = {"data": {"name": "digits", "size": 16}, "device": "cpu",
        "generator": {"arch": "dcgan", "width": 1024, "depth": 4},
        "discriminator": {"arch": "dcgan", "width": 1024, "depth": 4},
        "train": {"batch_size": 65536}}


def _peak_rss_mb_of(code: str) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; its peak RSS (MB) and its last stdout line."""
    wrapper = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        import torch
        torch.set_num_threads(1)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = "no error"
        try:
{textwrap.indent(textwrap.dedent(code), " " * 12)}
        except ValueError as e:
            out = "ValueError: " + str(e)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((peak - base) // 1024)
        print(out)
    """)
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    return int(lines[0]), lines[-1]


@pytest.mark.parametrize("kind, call", [
    ("gan-playground/generator", "from engine import load_generator; load_generator(PATH)"),
    ("gan-playground/session", "from engine import Session; Session.load(PATH)"),
])
def test_a_small_file_asking_for_a_huge_network_allocates_nothing_big(tmp_path, kind, call):
    path = tmp_path / "forged.safetensors"
    _forge(path, kind, HUGE)
    assert path.stat().st_size < 2000
    grown, out = _peak_rss_mb_of(call.replace("PATH", repr(str(path))))
    assert out.startswith("ValueError") and "would need about" in out, out
    assert grown < 300, f"grew by {grown} MB before refusing"


@pytest.fixture
def saved(tmp_path, make_session):
    s = make_session()
    s.train(3)
    s.save(str(tmp_path / "s.safetensors"))
    s.save_generator(str(tmp_path / "g.safetensors"))
    return s, tmp_path


def _rewrite(src: Path, dst: Path, edit_tensors=None, edit_meta=None) -> None:
    from safetensors.torch import load as st_load

    tensors = st_load(src.read_bytes())
    meta = read_metadata(str(src))
    if edit_tensors:
        edit_tensors(tensors)
    if edit_meta:
        edit_meta(meta)
    dst.write_bytes(st_save(tensors, metadata=meta))


def _nan_first(prefix: str):
    def edit(tensors):
        name = next(k for k in sorted(tensors) if k.startswith(prefix)
                    and tensors[k].is_floating_point())
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = float("nan")
    return edit


@pytest.mark.parametrize("file, edit, words", [
    ("s", _nan_first("generator."), ["NaN or infinite", "generator"]),
    ("s", _nan_first("discriminator."), ["NaN or infinite", "discriminator"]),
    ("s", _nan_first("opt_d."), ["NaN or infinite", "optimizer"]),
    ("g", _nan_first("generator."), ["NaN or infinite"]),
])
def test_checkpoints_with_non_finite_weights_or_state_are_refused(saved, file, edit, words):
    _, tmp = saved
    bad = tmp / "bad.safetensors"
    _rewrite(tmp / f"{file}.safetensors", bad, edit_tensors=edit)
    loaders = [Session.load] if file == "s" else [load_generator, Session.from_generator]
    for load in loaders:
        with pytest.raises(ValueError) as e:
            load(str(bad))
        assert str(bad) in str(e.value)
        for w in words:
            assert w in str(e.value), str(e.value)


@pytest.mark.parametrize("file", ["s", "g"])
def test_a_negative_step_is_refused(saved, file):
    _, tmp = saved
    bad = tmp / "neg.safetensors"
    _rewrite(tmp / f"{file}.safetensors", bad, edit_meta=lambda m: m.update(step="-5"))
    load = Session.load if file == "s" else Session.from_generator
    with pytest.raises(ValueError, match="step is -5"):
        load(str(bad))


def test_a_session_with_negative_update_counts_is_refused(saved):
    _, tmp = saved
    bad = tmp / "neg.safetensors"
    _rewrite(tmp / "s.safetensors", bad, edit_meta=lambda m: m.update(updates="[-1, 3]"))
    with pytest.raises(ValueError, match="negative"):
        Session.load(str(bad))


def test_a_fifo_or_a_device_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    for load in (Session.load, load_generator):
        with pytest.raises(ValueError, match="not a regular file"):
            load(str(fifo))
    with pytest.raises(ValueError, match="not a regular file"):
        Session.load("/dev/zero")


def test_deeply_nested_json_in_a_checkpoint_header_is_refused(tmp_path):
    path = tmp_path / "deep.safetensors"
    path.write_bytes(st_save({"generator.x": torch.zeros(1)},
                             metadata={"kind": "gan-playground/generator",
                                       "config": "[" * 100_000 + "]" * 100_000}))
    with pytest.raises(ValueError, match="config"):
        load_generator(str(path))


def test_a_loaded_session_trains_on_and_samples_finite(saved):
    s, tmp = saved
    s2 = Session.load(str(tmp / "s.safetensors"))
    s2.train(5)
    assert np.isfinite(s2.sample(50)).all()

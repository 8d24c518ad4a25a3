"""Files users keep: atomic writes, no code execution on load, exports, continuing a generator."""

from __future__ import annotations

import csv
import os
import pickle
import time

import numpy as np
import pytest

from engine import Session, load_generator, load_preset, save_preset
from engine.config import default_config, with_changes
from engine.exports import write_metrics_csv, write_samples
from engine.runner import (
    ExportMetrics,
    ExportSamples,
    Failed,
    LoadGenerator,
    LoadSession,
    Rejected,
    Runner,
    Saved,
    SaveGenerator,
    SaveSession,
    Step,
)

TINY = {"device": "cpu", "generator.hidden": [16], "discriminator.hidden": [16],
        "generator.ref_size": 16, "train.batch_size": 32, "train.metrics_every": 0}


def tiny(changes=None):
    return with_changes(default_config(), {**TINY, **(changes or {})})


def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    s = Session(tiny())
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    before = path.read_bytes()
    s.train(3)

    real_fdopen = os.fdopen

    class Boom(Exception):
        pass

    def dying_fdopen(fd, mode):
        f = real_fdopen(fd, mode)
        real_write = f.write

        def half_write(data):
            real_write(data[: len(data) // 2])
            raise Boom("killed mid-write")

        f.write = half_write
        return f

    monkeypatch.setattr(os, "fdopen", dying_fdopen)
    with pytest.raises(Boom):
        s.save_generator(str(path))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]  # no temp file left
    load_generator(str(path))  # still a valid checkpoint


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("loader", ["generator", "session", "preset"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path, loader):
    marker = tmp_path / "pwned"
    bad = tmp_path / ("evil.json" if loader == "preset" else "evil.pt")
    bad.write_bytes(pickle.dumps(_Evil(str(marker))))
    load = {"generator": load_generator, "session": Session.load, "preset": load_preset}[loader]
    with pytest.raises(ValueError):
        load(str(bad))
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, b"random bytes that are not a checkpoint",
                                     b'{"not": "safetensors"}'])
def test_bad_checkpoints_get_one_clear_message(tmp_path, content):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(content)
    for load in (load_generator, Session.load, Session.from_generator):
        with pytest.raises(ValueError, match="bad.safetensors"):
            load(str(p))


def test_a_truncated_checkpoint_and_a_folder_are_refused(tmp_path):
    s = Session(tiny())
    p = tmp_path / "g.safetensors"
    s.save_generator(str(p))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError):
        load_generator(str(p))
    with pytest.raises(ValueError, match="folder"):
        load_generator(str(tmp_path))


def test_a_session_file_is_not_taken_for_a_generator_and_vice_versa(tmp_path):
    s = Session(tiny())
    s.save(str(tmp_path / "s.st"))
    s.save_generator(str(tmp_path / "g.st"))
    with pytest.raises(ValueError, match="generator checkpoint"):
        load_generator(str(tmp_path / "s.st"))
    with pytest.raises(ValueError, match="session checkpoint"):
        Session.load(str(tmp_path / "g.st"))


def test_continuing_from_a_generator_keeps_its_samples_and_trains(tmp_path):
    s = Session(tiny({"generator.norm": "virtual"}))
    s.train(10)
    p = tmp_path / "g.st"
    s.save_generator(str(p))
    s2 = Session.from_generator(str(p))
    z = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    np.testing.assert_array_equal(s.generate(z), s2.generate(z))
    assert s2.step == 10 and s2.config == s.config
    s2.train(3)
    assert s2.step == 13


def test_exports_write_metrics_and_samples(tmp_path):
    s = Session(tiny())
    s.train(5)
    write_metrics_csv(s.history, str(tmp_path / "m.csv"))
    rows = list(csv.reader(open(tmp_path / "m.csv")))
    assert rows[0][:7] == ["step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"]
    assert [int(r[0]) for r in rows[1:]] == [1, 2, 3, 4, 5]
    x = s.sample(20)
    write_samples(x, str(tmp_path / "x.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x)
    write_samples(x, str(tmp_path / "x.csv"))
    back = np.loadtxt(tmp_path / "x.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(back, x, rtol=1e-6)
    with pytest.raises(ValueError, match=".npy, .csv or .png"):
        write_samples(x, str(tmp_path / "x.txt"))


def test_preset_round_trip_is_byte_exact(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_preset(tiny({"loss.name": "hinge", "data.name": "moons"}), str(a))
    save_preset(load_preset(str(a)), str(b))
    assert a.read_bytes() == b.read_bytes()


def _wait(runner, kinds, deadline=30.0):
    got = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        got += runner.poll()
        if all(any(isinstance(e, k) for e in got) for k in kinds):
            return got
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {kinds}; got {[type(e).__name__ for e in got]}")


def test_runner_saves_loads_and_exports(tmp_path):
    r = Runner(tiny(), torch_threads=1)
    r.start()
    try:
        r.send(Step())
        r.send(SaveSession(str(tmp_path / "s.st")))
        r.send(SaveGenerator(str(tmp_path / "g.st")))
        r.send(ExportSamples(str(tmp_path / "x.csv"), 10))
        r.send(ExportMetrics(str(tmp_path / "m.csv")))
        got: list = []
        end = time.monotonic() + 30
        while sum(isinstance(e, Saved) for e in got) < 4 and time.monotonic() < end:
            got += r.poll()
            time.sleep(0.01)
        assert sorted(e.what for e in got if isinstance(e, Saved)) == [
            "generator", "metrics", "samples", "session"]
        r.send(LoadSession(str(tmp_path / "m.csv")))  # not a checkpoint: refused, session kept
        got = _wait(r, [Rejected])
        assert "m.csv" in [e for e in got if isinstance(e, Rejected)][0].message
        r.send(LoadGenerator(str(tmp_path / "g.st")))
        r.send(ExportSamples(str(tmp_path / "bad.txt"), 5))
        got = _wait(r, [Failed])
        assert ".npy, .csv or .png" in [e for e in got if isinstance(e, Failed)][0].message
    finally:
        assert r.stop(5)

"""The swap log: every change applied mid-run is kept as (step, short text) in the session,
survives save and load, follows a rollback, restarts with the run, and reaches the window
(``SwapLog`` events, ``Applied.step``). Also the speed read-out, which a reset or a new
session must never turn negative."""

from __future__ import annotations

import time

import pytest
from safetensors.numpy import load_file as np_load
from safetensors.numpy import save_file as np_save

from engine import Session, TrainingDiverged
from engine.checkpoints import load_session
from engine.config import default_config, with_changes
from engine.runner import (
    Applied,
    Apply,
    LoadSession,
    Play,
    Replay,
    Reset,
    ResetDone,
    Runner,
    Status,
    SwapLog,
)
from engine.swaps import MAX_SWAPS, describe_change, format_value

DEADLINE = 20.0


# ---------------------------------------------------------------------------- the texts
@pytest.mark.parametrize("value, text", [
    (2e-4, "2e-4"), (1e-3, "1e-3"), (1.5e-3, "1.5e-3"), (0.5, "0.5"), (64, "64"),
    (True, "on"), ([128, 128], "128,128"), ([[0.0, 1.0], [2.0, 3.0]], "2 points"),
    ("hinge", "hinge"), (None, "–"),
])
def test_values_are_short(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize("changes, text", [
    ({"loss.name": "wgan-gp"}, "loss → wgan-gp"),
    ({"data.name": "moons"}, "data → moons"),            # its own parameters come along
    ({"optim.d.lr": 1e-3}, "lr D 2e-4 → 1e-3"),
    ({"train.batch_size": 64}, "batch size 256 → 64"),
    ({"discriminator.norm": "layer"}, "D norm → layer"),
    ({"generator.hidden": [32, 8]}, "G hidden 128,128 → 32,8"),
    ({"train.d_steps": 5}, "k (D steps) 1 → 5"),
    ({"loss.name": "hinge", "optim.g.lr": 1e-4, "optim.d.lr": 1e-4},
     "loss → hinge, lr D 2e-4 → 1e-4 +1 more"),
    ({"name": "mine", "description": "a test"}, ""),       # no training changed
    ({"train.metrics_every": 50, "train.metrics_samples": 500, "train.log_every": 2}, ""),
    ({"name": "mine", "loss.name": "hinge"}, "loss → hinge"),
])
def test_a_change_is_described_in_a_few_words(changes, text):
    from engine import config as C

    old = default_config()
    new = with_changes(old, changes)
    assert describe_change(old, new, C.diff(old, new)) == text


# ---------------------------------------------------------------------------- the session
def test_apply_logs_each_change_at_its_step(make_session):
    s = make_session()
    assert s.swaps == []
    s.train(5)
    s.apply({"loss.name": "wgan-gp"})
    s.train(3)
    s.apply({"optim.d.lr": 1e-3, "name": "renamed"})
    assert s.swaps == [(5, "loss → wgan-gp"), (8, "lr D 2e-4 → 1e-3")]


def test_refused_unchanged_and_naming_changes_log_nothing(make_session):
    s = make_session()
    s.train(2)
    with pytest.raises(ValueError):
        s.apply({"loss.name": "no-such-loss"})
    with pytest.raises(ValueError):
        s.apply({"optim.d.lr": 1e-3, "train.batch_size": -4})  # refused whole
    s.apply({"loss.name": s.config["loss"]["name"]})  # the value it already has
    s.apply({"name": "another name", "description": "what it shows"})
    assert s.swaps == []


def test_changes_before_any_training_are_the_setup_not_swaps(make_session):
    s = make_session()
    s.apply({"loss.name": "hinge"})
    s.apply({"optim.d.lr": 1e-3})
    assert s.swaps == []
    s.d_step()  # one D update, still step 0: from now on a change is a swap
    s.apply({"loss.name": "least-squares"})
    assert s.swaps == [(0, "loss → least-squares")]


def test_reset_and_a_new_seed_restart_the_log(make_session):
    s = make_session()
    s.train(2)
    s.apply({"loss.name": "hinge"})
    s.reset()
    assert s.swaps == []
    s.train(2)
    s.apply({"loss.name": "least-squares"})
    assert len(s.swaps) == 1
    s.apply({"seed": 7, "loss.name": "hinge"})
    assert s.swaps == [] and s.step == 0


def test_the_log_stays_bounded(make_session):
    s = make_session()
    s.train(1)
    for i in range(MAX_SWAPS + 5):
        s.apply({"optim.d.lr": 1e-4 * (1 + i % 2)})
    assert len(s.swaps) == MAX_SWAPS


def test_a_rollback_moves_later_changes_to_the_step_it_goes_back_to():
    """The config is not rolled back: a change logged after the rollback point governs the
    run again from that point, so its entry moves there (it is not dropped)."""
    cfg = with_changes(default_config(), {
        "device": "cpu", "data.name": "gaussian", "data.mean_x": 100.0, "data.mean_y": 100.0,
        "data.std": 100.0, "generator.hidden": [32], "discriminator.hidden": [32],
        "train.batch_size": 64, "train.metrics_every": 0})
    s = Session(cfg)
    s.train(40)
    # lr 0.1 blows up over two steps (at 1 the health check catches it after the first)
    s.apply({"optim.g.name": "sgd", "optim.d.name": "sgd", "optim.g.lr": 0.1,
             "optim.d.lr": 0.1, "loss.name": "least-squares"})
    for i in range(200):
        try:
            s.train(1)
        except TrainingDiverged as e:
            back = e.rolled_back_to
            break
        s.apply({"train.batch_size": 65 + i})  # logged at 41, 42, ... inside the blow-up
    else:
        raise AssertionError("the blow-up settings never diverged")
    assert back == 40 and s.step == 40
    steps = [step for step, _ in s.swaps]
    assert len(steps) >= 2 and all(step <= back for step in steps)
    assert steps[-1] == back and "batch size" in s.swaps[-1][1]


# ---------------------------------------------------------------------------- files
def test_the_log_survives_save_and_load(make_session, tmp_path):
    s = make_session()
    s.train(4)
    s.apply({"loss.name": "hinge"})
    s.train(2)
    s.apply({"data.name": "moons"})
    path = tmp_path / "run.safetensors"
    s.save(str(path))
    again = Session.load(str(path))
    assert again.swaps == [(4, "loss → hinge"), (6, "data → moons")]
    assert again.state_dict()["swaps"] == [[4, "loss → hinge"], [6, "data → moons"]]


def _rewrite_metadata(path, edit) -> None:
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        meta = dict(f.metadata())
    tensors = np_load(str(path))
    edit(meta)
    np_save(tensors, str(path), metadata=meta)


def test_a_file_from_before_the_log_loads_with_an_empty_log(make_session, tmp_path):
    s = make_session()
    s.train(3)
    s.apply({"loss.name": "hinge"})
    path = tmp_path / "old.safetensors"
    s.save(str(path))
    _rewrite_metadata(path, lambda meta: meta.pop("swaps"))
    again = load_session(str(path))
    assert again.swaps == [] and again.step == 3


@pytest.mark.parametrize("stored", ['{"a": 1}', '[[1]]', '[[-1, "x"]]', '[["1", "x"]]',
                                    '[[1, 2]]', "[[1, "])
def test_a_broken_log_is_refused_with_one_line_naming_the_file(make_session, tmp_path, stored):
    s = make_session()
    path = tmp_path / "bad.safetensors"
    s.save(str(path))
    _rewrite_metadata(path, lambda meta: meta.__setitem__("swaps", stored))
    with pytest.raises(ValueError) as info:
        load_session(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------------------- the runner
class Events:
    """Every event the runner emits, in order; ``wait_for`` consumes up to a match."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.seen: list = []      # every event so far
        self._pending: list = []  # those not consumed by a wait yet

    def wait_for(self, pred, what: str):
        end = time.monotonic() + DEADLINE
        while True:
            for i, ev in enumerate(self._pending):
                if pred(ev):
                    self._pending = self._pending[i + 1:]
                    return ev
            self._pending.clear()
            new = self.runner.poll()
            self.seen.extend(new)
            self._pending.extend(new)
            if not new:
                if time.monotonic() > end:
                    raise AssertionError(f"timed out waiting for {what}; last: {self.seen[-5:]}")
                time.sleep(0.005)


@pytest.fixture
def runner(make_config):
    made: list[Runner] = []

    def make(changes=None, **kw):
        kw.setdefault("torch_threads", 1)
        r = Runner(make_config(changes), **kw)
        made.append(r)
        r.start()
        assert r.ready.wait(DEADLINE)
        return r, Events(r)

    yield make
    for r in made:
        assert r.stop(timeout=10.0)


def test_the_runner_sends_the_log_with_each_change_and_on_replay(runner):
    r, ev = runner()
    r.send(Play())
    ev.wait_for(lambda e: isinstance(e, Status) and e.step >= 5, "training")
    r.send(Apply({"loss.name": "hinge"}))
    applied = ev.wait_for(lambda e: isinstance(e, Applied) and e.changes, "Applied")
    log = ev.wait_for(lambda e: isinstance(e, SwapLog), "the swap log")
    assert applied.step >= 5 and log.entries == ((applied.step, "loss → hinge"),)
    r.send(Apply({"loss.name": "no-such-loss"}))  # refused: no new entry
    r.send(Replay())                               # a window attaches: the log comes again
    ev.wait_for(lambda e: isinstance(e, ResetDone), "the replay")
    assert ev.wait_for(lambda e: isinstance(e, SwapLog), "the replayed log") == log
    assert sum(isinstance(e, SwapLog) for e in ev.seen) == 2
    r.send(Reset())
    ev.wait_for(lambda e: isinstance(e, ResetDone), "the reset")
    ev.wait_for(lambda e: isinstance(e, Applied), "the reset's Applied")
    assert r.session.swaps == []


def test_a_loaded_session_brings_its_log(runner, make_session, tmp_path):
    s = make_session()
    s.train(3)
    s.apply({"data.name": "moons"})
    path = tmp_path / "s.safetensors"
    s.save(str(path))
    r, ev = runner()
    r.send(LoadSession(str(path)))
    ev.wait_for(lambda e: isinstance(e, ResetDone), "the new session")
    log = ev.wait_for(lambda e: isinstance(e, SwapLog), "its log")
    assert log.entries == ((3, "data → moons"),)
    applied = ev.wait_for(lambda e: isinstance(e, Applied), "its config")
    assert applied.step == 3

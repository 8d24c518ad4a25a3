"""Every valid configuration and every valid change trains (issue #10), property-based.

A random tiny config (every key of the schema drawn from its own spec, see
``spec_draws.py``), then random sequences of valid changes (1-3 keys) with 1-3 training
steps between, refused changes, single D/G steps, resets, samples, snapshots, slow metrics
and save/load. What must hold:

- only ``ValueError`` (a refused change) and ``TrainingDiverged`` (training) ever escape;
- a valid change is applied exactly (the validated config), keeps the step (a new seed
  restarts at 0, reproducibly), and keeps the weights and optimizer state of every network
  whose architecture it leaves alone (DESIGN.md's swap table);
- a refused change raises a one-line ValueError and leaves config, step, weights, optimizer
  state, history and RNG bit-identical;
- after ``TrainingDiverged`` the session is at the rollback step with finite weights, and
  training on after a 10x lower learning rate or a calmer config raises nothing else;
- samples, snapshots (with the heatmap) are finite, and looking never changes training;
  the slow metrics never raise;
- ``save()``/``Session.load()`` gives the same samples and resumes exactly.

Profiles (registered in ``tests/conftest.py``, chosen by ``HYPOTHESIS_PROFILE``): ``ci`` (the
default: bounded and derandomized) and ``long`` (thousands of examples, for local runs). The
three swaps that once stopped training are kept as plain tests at the end.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
from hypothesis import currently_in_test_context, given
from hypothesis import event as _event
from hypothesis import note as _note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine import Session, TrainingDiverged
from engine import config as C
from engine.params import POINT_LIMIT
from engine.rollback import MAX_DEPTH
from engine.snapshot import ViewRequest
from engine.swaps import architecture

from .conftest import all_params_finite, assert_same, capture, tiny
from .spec_draws import RandomSource, Source, invalid_change, valid_change, valid_config

T = TypeVar("T")

CALM = {"loss.name": "non-saturating", "optim.g.name": "adam", "optim.d.name": "adam",
        "optim.g.lr": 1e-4, "optim.d.lr": 1e-4, "optim.g.betas": [0.5, 0.999],
        "optim.d.betas": [0.5, 0.999]}
MIN_LR = C.SCHEMA["optim.g.lr"].lo
# Gradients of D's output in a snapshot may overflow while every weight, loss and output is
# still finite (a blow-up under way, with D's scores near 1e26: the next step diverges), and
# the window drops non-finite arrows (gui/insight/geometry.arrow_segments). Everything else a
# snapshot holds must be finite.
GRADIENTS = ("arrows", "d_field")
# plain SGD at the largest rate on the least-squares loss, with data far from the origin:
# valid, and mostly a blow-up within a few steps (test_divergence_recovery.py's recipe)
BLOW_UP = {"optim.g.name": "sgd", "optim.d.name": "sgd", "optim.g.lr": 1.0, "optim.d.lr": 1.0,
           "loss.name": "least-squares", "data.name": "gaussian", "data.mean_x": 100.0,
           "data.mean_y": 100.0, "data.std": 100.0}


def note(text: str) -> None:
    """Hypothesis's note inside a property (the reproducer it prints); a plain test prints
    (pytest shows it on failure)."""
    if currently_in_test_context():
        _note(text)
    else:
        print(text)


EVENT_SINK: list[str] | None = None  # scripts/fuzz_swaps.py counts outcomes here


def event(text: str) -> None:
    if EVENT_SINK is not None:
        EVENT_SINK.append(text)
    if currently_in_test_context():
        _event(text)


class HypothesisSource:
    """A ``spec_draws.Source`` drawing through Hypothesis (so failures shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float, exclude_hi: bool = False) -> float:
        return self.data.draw(st.floats(lo, hi, exclude_max=exclude_hi))

    def log_real(self, lo: float, hi: float) -> float:
        return self.data.draw(st.one_of(
            st.sampled_from([lo, hi]),
            st.floats(math.log(lo), math.log(hi)).map(lambda e: min(max(math.exp(e), lo), hi))))

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(list(options)))

    def sample(self, options: Sequence[T], n: int) -> list[T]:
        return self.data.draw(st.lists(st.sampled_from(list(options)), min_size=n, max_size=n,
                                       unique=True))

    def text(self) -> str:
        return self.data.draw(st.text(max_size=12))

    def coordinate(self) -> float:
        return self.data.draw(st.floats(-POINT_LIMIT, POINT_LIMIT))


def full_state(s: Session) -> dict[str, Any]:
    """``capture`` plus what a refused change or a look must not touch either."""
    out = capture(s)
    rows = s.history.rows  # as bytes: NaN cells compare equal, bit for bit
    out.update(history=(rows.shape, rows.tobytes()), rng=s._rng.get_state().clone(),
               updates=(s.d_updates, s.g_updates))
    return out


def params_of(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def assert_arrays_equal(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(a, b)  # NaN == NaN here (history's empty metric cells)


class Driver:
    """One session under test, the actions on it and the checks each action must pass."""

    def __init__(self, src: Source, folder: str) -> None:
        self.src = src
        self.folder = folder
        self.empty = os.path.join(folder, "empty")
        os.makedirs(self.empty, exist_ok=True)
        self.s: Session | None = None

    # ------------------------------------------------------------------ building
    def start(self, changes: dict[str, Any] | None = None) -> None:
        changes = valid_config(self.src) if changes is None else changes
        note(f"Session(with_changes(default_config(), {changes!r}))")
        cfg = C.with_changes(C.default_config(), changes)
        self.s = Session(cfg)
        assert self.s.config == C.validate(cfg) and self.s.step == 0

    # ------------------------------------------------------------------ changes
    def apply_valid(self, changes: dict[str, Any] | None = None) -> None:
        s = self.s
        changes = valid_change(self.src, s.config) if changes is None else changes
        note(f"s.apply({changes!r})")
        before = full_state(s)
        nets = {"generator": params_of(s.generator), "discriminator": params_of(s.discriminator)}
        expected = C.validate(C.with_changes(before["config"], changes))
        changed = s.apply(changes)  # valid: nothing may escape
        assert changed == C.diff(before["config"], expected)
        assert s.config == expected
        for opt, which in ((s._nets.opt_g, "g"), (s._nets.opt_d, "d")):  # the live optimizers
            c = expected["optim"][which]
            group = opt.param_groups[0]
            assert (type(opt).__name__.lower(), group["lr"]) == (c["name"], c["lr"])
            assert group.get("momentum", c["momentum"]) == c["momentum"]
            assert tuple(group.get("betas", c["betas"])) == tuple(c["betas"])
        if "seed" in changed:  # both networks re-initialised, reproducibly from the seed
            event("apply: new seed")
            assert s.step == 0 and len(s.history) == 0
            fresh = Session(expected)
            assert_same(s.generator.state_dict(), fresh.generator.state_dict(), "G")
            assert_same(s.discriminator.state_dict(), fresh.discriminator.state_dict(), "D")
            return
        assert s.step == before["step"]
        for which, opt in (("generator", "opt_g"), ("discriminator", "opt_d")):
            if architecture(before["config"], which) != architecture(expected, which):
                event(f"apply: {which} rebuilt")
                continue
            # not rebuilt: its weights stay, and its optimizer state unless its kind changed
            assert_same(params_of(getattr(s, which)), nets[which], which)
            if f"optim.{opt[-1]}.name" not in changed:
                after = capture(s)[opt]["state"]
                for pid, st_before in before[opt]["state"].items():
                    for key, v in st_before.items():
                        assert_same(after[pid][key], v, f"{opt}.state[{pid}].{key}")

    def apply_invalid(self) -> None:
        s = self.s
        kind, changes = invalid_change(self.src, s.config, self.empty)
        event(f"refused: {kind}")
        note(f"s.apply({changes!r})  # must be refused ({kind})")
        before = full_state(s)
        with pytest.raises(ValueError) as info:
            s.apply(changes)
        message = str(info.value)
        assert message and "\n" not in message, f"not one line: {message!r}"
        assert_same(full_state(s), before)

    # ------------------------------------------------------------------ training
    def train(self, steps: int | None = None) -> None:
        s = self.s
        steps = self.src.integer(1, 3) if steps is None else steps
        note(f"s.train({steps})")
        step = s.step
        try:
            s.train(steps)
        except TrainingDiverged as e:
            self.diverged(e, step)
            self.recover()
            return
        event("train: trained")
        assert s.step == step + steps
        self.check_sample()

    def one_step(self, which: str) -> None:
        s = self.s
        note(f"s.{which}()")
        step, d_up, g_up = s.step, s.d_updates, s.g_updates
        try:
            getattr(s, which)()
        except TrainingDiverged as e:
            self.diverged(e, step)
            return
        assert s.step == step
        cfg = s.config
        # a frozen network (lr 0) is not updated, nor is D under MMD (which has no D)
        d_moves = cfg["optim"]["d"]["lr"] > 0 and cfg["loss"]["name"] != "mmd"
        g_moves = cfg["optim"]["g"]["lr"] > 0
        assert (s.d_updates, s.g_updates) == ((d_up + d_moves, g_up) if which == "d_step"
                                              else (d_up, g_up + g_moves))

    def diverged(self, e: TrainingDiverged, step_before: int) -> None:
        s = self.s
        event("train: diverged")
        note(f"  -> {e}")
        assert s.step == e.rolled_back_to, (s.step, e.rolled_back_to)
        assert s.step <= e.step and e.step - s.step <= MAX_DEPTH  # back, not too far
        assert step_before < 0 or s.step >= step_before - MAX_DEPTH
        assert all_params_finite(s)
        rows = s.history.rows
        assert not len(rows) or rows[:, 0].max() <= s.step
        self.check_sample()

    def recover(self) -> None:
        """The advice of TrainingDiverged: 10x lower learning rates, or a calmer config;
        then training on raises nothing but TrainingDiverged."""
        s = self.s
        optim = s.config["optim"]
        if self.src.choice(("lower", "calm")) == "lower":
            changes = {f"optim.{w}.lr": max(optim[w]["lr"] / 10, MIN_LR) for w in ("g", "d")}
        else:
            changes = CALM
        self.apply_valid(changes)
        steps = self.src.integer(1, 3)
        note(f"s.train({steps})  # after the advised change")
        step = s.step
        try:
            s.train(steps)
        except TrainingDiverged as e:
            self.diverged(e, step)
            return
        event("train: recovered")
        self.check_sample()

    def reset(self) -> None:
        s = self.s
        note("s.reset()")
        cfg = s.config
        s.reset()
        assert s.config == cfg and s.step == 0 and len(s.history) == 0
        fresh = Session(cfg)
        assert_same(s.generator.state_dict(), fresh.generator.state_dict(), "G")
        assert_same(s.discriminator.state_dict(), fresh.discriminator.state_dict(), "D")

    # ------------------------------------------------------------------ looking
    def _labels(self, n: int) -> Any:
        k = self.s.classes
        if not k or self.src.choice((False, True)):
            return None
        return [self.src.integer(0, k - 1) for _ in range(n)]

    def check_sample(self, n: int | None = None) -> np.ndarray:
        s = self.s
        n = self.src.integer(1, 64) if n is None else n
        seed, labels = self.src.integer(0, 2**31 - 1), self._labels(n)
        note(f"s.sample({n}, seed={seed}, labels={labels!r})")
        x = s.sample(n, seed=seed, labels=labels)
        assert x.shape == (n, *s.dataset.data_shape(s.config["data"]))
        assert np.isfinite(x).all(), "non-finite samples from finite, checked weights"
        if s.dataset.is_image:
            assert np.abs(x).max() <= 1.0
        return x

    def sample(self) -> None:
        s = self.s
        before = full_state(s)
        n, seed = self.src.integer(1, 64), self.src.integer(0, 2**31 - 1)
        labels = self._labels(n)
        note(f"s.sample({n}, seed={seed}, labels={labels!r})  # twice")
        a = s.sample(n, seed=seed, labels=labels)
        assert np.isfinite(a).all()
        assert_arrays_equal(s.sample(n, seed=seed, labels=labels), a)
        assert_same(full_state(s), before)  # sampling never changes training

    def snapshot(self) -> None:
        s = self.s
        i = self.src.integer
        req = ViewRequest(
            n_fake=i(0, 64), n_real=i(0, 64), heatmap=True, grid=i(2, 16),
            dstar=self.src.choice((False, True)), arrows=self.src.choice((False, True)),
            d_field=i(0, 4), manifold=i(0, 4), d_on_fake=self.src.choice((False, True)),
            images=i(0, 8), per_class=i(0, 2), only_class=i(-1, 10), real_images=i(0, 8),
            d_histogram=i(0, 8))
        note(f"s.snapshot({req!r})")
        before = full_state(s)
        snap = s.snapshot(req)
        assert_same(full_state(s), before)  # looking never changes training
        assert snap.step == s.step
        for f in dataclasses.fields(snap):
            v = getattr(snap, f.name)
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and f.name not in GRADIENTS:
                assert np.isfinite(v).all(), f"snapshot.{f.name} is not finite"
        assert snap.dstar_gap is None or math.isfinite(snap.dstar_gap)
        if not s.dataset.is_image:
            dim = s.dataset.dim
            assert snap.heatmap.shape == ((req.grid,) if dim == 1 else (req.grid, req.grid))
            assert snap.fake.shape == (req.n_fake, dim) and snap.real.shape == (req.n_real, dim)
            assert all(map(math.isfinite, snap.box))

    def metrics(self) -> None:
        s = self.s
        n = self.src.integer(100, 200)
        note(f"s.cadence_metrics({n})")
        before = full_state(s)
        out = s.cadence_metrics(n)  # may be NaN (e.g. overflowing fakes); never raises
        assert all(isinstance(v, float | int) for v in out.values())
        assert_same(full_state(s), before)

    # ------------------------------------------------------------------ files
    def save_and_load(self) -> None:
        s = self.s
        path = os.path.join(self.folder, "session.safetensors")
        note("s.save(path); s2 = Session.load(path)")
        s.save(path)
        s2 = Session.load(path)
        assert s2.config == s.config and s2.step == s.step
        assert (s2.d_updates, s2.g_updates) == (s.d_updates, s.g_updates)
        assert_arrays_equal(s2.history.rows, s.history.rows)
        a, b = capture(s), capture(s2)
        for part in ("g", "d", "opt_g", "opt_d"):
            assert_same(b[part], a[part], part)
        n, seed = self.src.integer(1, 64), self.src.integer(0, 2**31 - 1)
        assert_arrays_equal(s2.sample(n, seed=seed), s.sample(n, seed=seed))
        # and it resumes exactly: the next steps are the same steps
        steps = self.src.integer(1, 2)
        note(f"both .train({steps})")
        outcomes = []
        for x in (s, s2):
            try:
                x.train(steps)
                outcomes.append(None)
            except TrainingDiverged as e:
                self.s = x
                self.diverged(e, -1)
                outcomes.append(e.step)
        assert outcomes[0] == outcomes[1], f"the loaded session went another way: {outcomes}"
        if outcomes[0] is None:
            assert s2.step == s.step
            assert_arrays_equal(s2.history.rows, s.history.rows)
            assert_arrays_equal(s2.sample(n, seed=seed), s.sample(n, seed=seed))
        self.s = s2 if self.src.choice((False, True)) else s

    def healthy(self) -> None:
        s = self.s
        assert C.validate(s.config) == s.config
        assert s.step >= 0 and all_params_finite(s)


# --------------------------------------------------------------------------- the machine

class SessionMachine(RuleBasedStateMachine):
    """Random actions on one session; ``Driver`` holds the checks."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="gan-props-")
        self.d: Driver | None = None

    def _with(self, data: st.DataObject) -> Driver:
        self.d.src = HypothesisSource(data)
        return self.d

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.d = Driver(HypothesisSource(data), self.folder)
        self.d.start()

    @rule(data=st.data())
    def apply_valid(self, data: st.DataObject) -> None:
        self._with(data).apply_valid()

    @rule(data=st.data())
    def a_round(self, data: st.DataObject) -> None:
        """The issue's round: a change of 1-3 keys, then 1-3 steps."""
        d = self._with(data)
        d.apply_valid()
        d.train()

    @rule(data=st.data())
    def blow_up(self, data: st.DataObject) -> None:
        """A valid change that often diverges: the recovery path gets its share."""
        d = self._with(data)
        d.apply_valid(BLOW_UP)
        d.train(3)

    @rule(data=st.data())
    def apply_invalid(self, data: st.DataObject) -> None:
        self._with(data).apply_invalid()

    @rule(data=st.data())
    def train(self, data: st.DataObject) -> None:
        self._with(data).train()

    @rule(data=st.data(), which=st.sampled_from(["d_step", "g_step"]))
    def one_step(self, data: st.DataObject, which: str) -> None:
        self._with(data).one_step(which)

    @rule(data=st.data())
    def reset(self, data: st.DataObject) -> None:
        self._with(data).reset()

    @rule(data=st.data())
    def sample(self, data: st.DataObject) -> None:
        self._with(data).sample()

    @rule(data=st.data())
    def snapshot(self, data: st.DataObject) -> None:
        self._with(data).snapshot()

    @rule(data=st.data())
    def metrics(self, data: st.DataObject) -> None:
        self._with(data).metrics()

    @rule(data=st.data())
    def save_and_load(self, data: st.DataObject) -> None:
        self._with(data).save_and_load()

    @invariant()
    def healthy(self) -> None:
        if self.d is not None and self.d.s is not None:
            self.d.healthy()

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


TestSessionMachine = SessionMachine.TestCase


@given(data=st.data())
def test_every_sequence_of_valid_changes_trains(data: st.DataObject) -> None:
    """The issue's shape: a random config, 3-8 rounds of (change 1-3 keys; train 1-3
    steps), now and then a refused change; then views, metrics and a save/load round trip."""
    with tempfile.TemporaryDirectory(prefix="gan-props-") as folder:
        d = Driver(HypothesisSource(data), folder)
        d.start()
        for _ in range(d.src.integer(3, 8)):
            if d.src.choice((False, False, True)):
                d.apply_invalid()
            d.apply_valid()
            d.train()
            d.healthy()
        d.snapshot()
        d.metrics()
        d.save_and_load()
        d.healthy()


# --------------------------------------------------------------------------- the three

def _driver(tmp_path, changes: dict[str, Any]) -> Driver:
    d = Driver(RandomSource(0), str(tmp_path))
    d.s = Session(tiny(changes))
    return d


def test_rmsprop_momentum_changed_mid_run_trains(tmp_path):
    d = _driver(tmp_path, {"optim.g.name": "rmsprop", "optim.d.name": "rmsprop"})
    d.train(3)  # RMSprop state made without momentum buffers
    d.apply_valid({"optim.g.momentum": 0.9, "optim.d.momentum": 0.5})
    d.train(3)
    assert d.s.step == 6
    d.save_and_load()


def test_wgan_gp_with_minibatch_discrimination_trains(tmp_path):
    d = _driver(tmp_path, {"discriminator.minibatch": "discrimination",
                           "discriminator.mb_kernels": 4})
    d.train(2)
    d.apply_valid({"loss.name": "wgan-gp"})  # the penalty differentiates D's L1 table twice
    d.train(3)
    assert d.s.step == 5
    d.snapshot()


def test_a_change_with_a_new_seed_scores_with_the_new_data_sets_classifier(tmp_path):
    d = _driver(tmp_path, {"data.name": "digits", "data.size": 8, "noise.dim": 4,
                           "generator.hidden": [8], "discriminator.hidden": [8],
                           "train.batch_size": 8, "train.metrics_every": 1,
                           "train.metrics_samples": 100})
    d.train(1)
    assert d.s.quality_meter().shape == (1, 8, 8)
    d.apply_valid({"seed": 1, "data.size": 16})  # a restart that also swaps the data
    d.train(1)  # FID/IS of 16x16 fakes: the 8x8 classifier would refuse them
    assert d.s.quality_meter().shape == (1, 16, 16)
    assert math.isfinite(d.s.history.last()["fid"])

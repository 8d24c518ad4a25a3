"""After a divergence, doing what the message advises trains on: the rollback goes back to
before the blow-up, on every path (any chunk size, the runner, the CLI), and nothing that
reads the state (metrics, samples, views, saves) ever sees NaN weights first."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
import torch

from engine import Session, TrainingDiverged
from engine.config import default_config, with_changes
from engine.rollback import CHECK_EVERY, LIMITS, MAX_DEPTH, Ladder
from engine.runner import Apply, Diverged, Play, Runner, Step

# the reproduction: data far from the origin, then plain SGD with lr 1 and the
# least-squares loss, whose gradients scale with the data: |w| reaches ~1e14 in one step
BLOW_UP = {"optim.g.name": "sgd", "optim.d.name": "sgd", "optim.g.lr": 1.0,
           "optim.d.lr": 1.0, "loss.name": "least-squares"}
CALM = {"optim.g.name": "adam", "optim.d.name": "adam", "optim.g.lr": 1e-4, "optim.d.lr": 1e-4}


def far_gaussian(changes: dict | None = None) -> dict:
    return with_changes(default_config(), {
        "device": "cpu", "data.name": "gaussian", "data.mean_x": 100.0, "data.mean_y": 100.0,
        "data.std": 100.0, "generator.hidden": [32], "discriminator.hidden": [32],
        "train.batch_size": 64, "train.metrics_every": 0, **(changes or {})})


def weight_norm(s: Session) -> float:
    return float(torch.cat([p.detach().flatten() for p in
                            [*s.generator.parameters(), *s.discriminator.parameters()]]).abs().max())


def diverge_one_step_at_a_time(s: Session, limit: int = 200) -> TrainingDiverged:
    for _ in range(limit):
        try:
            s.train(1)
        except TrainingDiverged as e:
            return e
    raise AssertionError("the blow-up settings never diverged")


@pytest.mark.parametrize("metrics_every", [0, 1])
def test_after_a_one_step_blow_up_lowering_the_rate_trains_on(metrics_every):
    s = Session(far_gaussian({"train.metrics_every": metrics_every}))
    s.train(40)
    calm_norm = weight_norm(s)
    s.apply(BLOW_UP)
    e = diverge_one_step_at_a_time(s)
    # the last finite state had |w| ~ 1e14: the rollback skips it for the point before it
    assert e.rolled_back_to == 40 and s.step == 40
    assert "rolled back to step 40" in str(e) and "lower the learning rates" in str(e)
    assert weight_norm(s) == pytest.approx(calm_norm)
    assert np.isfinite(s.sample(200)).all()
    s.apply(CALM)
    s.train(200)  # would raise TrainingDiverged again from the huge weights
    assert s.step == 240 and weight_norm(s) < 10 * calm_norm


def test_the_rollback_skips_points_taken_inside_the_blow_up():
    ladder = Ladder()
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for step, scale in [(10, 1.0), (40, 1.2), (72, 3e6), (104, 5e13)]:
        with torch.no_grad():
            net.weight.fill_(scale)
        ladder.save((net, net), (opt, opt), step=step, rng=torch.zeros(1, dtype=torch.uint8),
                    updates=(step, step), rows=step)
    chosen = ladder.choose(ladder.points())
    assert chosen.step == 40


def test_a_point_that_merely_grew_slowly_is_kept():
    """Training whose weights doubled is not a blow-up: the newest point is chosen."""
    ladder = Ladder()
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for step, scale in [(0, 1.0), (32, 1.5), (64, 2.0)]:
        with torch.no_grad():
            net.weight.fill_(scale)
        ladder.save((net, net), (opt, opt), step=step, rng=torch.zeros(1, dtype=torch.uint8),
                    updates=(0, 0), rows=0)
    assert ladder.choose(ladder.points()).step == 64


def test_the_ladder_keeps_points_of_growing_age_within_the_documented_depth():
    ladder = Ladder()
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    ages_seen = []
    for step in range(0, 6000, CHECK_EVERY):
        ladder.save((net, net), (opt, opt), step=step, rng=torch.zeros(1, dtype=torch.uint8),
                    updates=(0, 0), rows=0)
        ages = [step - p.step for p in ladder.points()]
        assert ages[0] == 0 and max(ages) <= MAX_DEPTH
        ages_seen.append(ages)
    late = ages_seen[-60:]
    # well into a run there is always a point at least 128 and one at least 512 iterations old
    assert all(any(a >= LIMITS[1] for a in ages) for ages in late)
    assert all(any(a >= LIMITS[2] for a in ages) for ages in late)
    assert max(len(a) for a in ages_seen) <= len(LIMITS)


def grow_weights_from(s: Session, start: int, factor: float = 100.0) -> None:
    """From G's ``start``-th training step on, multiply G's first weights by ``factor`` per
    step: a blow-up that takes ~20 steps to overflow, whatever the optimizer does."""
    first = s.generator.linears[0]
    seen = {"n": 0}

    def grow(module, inputs, output):
        if torch.is_grad_enabled():
            seen["n"] += 1
            if seen["n"] >= start:
                with torch.no_grad():
                    first.weight.mul_(factor)

    first.register_forward_hook(grow)


@pytest.mark.parametrize("log_every", [1, 100, 1000])
def test_one_long_call_rolls_back_to_just_before_the_blow_up_whatever_log_every(log_every):
    """Before: a train() call that logged no rows kept no point (back to step 0)."""
    s = Session(with_changes(default_config(), {
        "device": "cpu", "generator.hidden": [16], "discriminator.hidden": [16],
        "train.batch_size": 32, "train.metrics_every": 0, "train.log_every": log_every}))
    grow_weights_from(s, start=300)
    with pytest.raises(TrainingDiverged) as e:
        s.train(2000)
    assert 300 - 2 * CHECK_EVERY <= e.value.rolled_back_to < 300
    assert s.step == e.value.rolled_back_to
    assert weight_norm(s) < 100


def test_metric_rows_after_the_point_are_dropped_from_the_history():
    s = Session(far_gaussian())
    s.train(40)
    rows_seen = []
    s.add_listener(lambda rows: rows_seen.append(rows[:, 0].copy()))
    # a checked step 41 inside a blow-up (weights 100x those of step 40), then a NaN: the
    # rollback skips 41 for 40. (BLOW_UP itself is caught at step 41 now, by the probe.)
    with torch.no_grad():
        for p in [*s.generator.parameters(), *s.discriminator.parameters()]:
            p.mul_(100.0)
    s.train(1)
    with torch.no_grad():
        s.discriminator.linears[0].weight[0, 0] = float("nan")
    e = diverge_one_step_at_a_time(s)
    assert max(np.concatenate(rows_seen)) > e.rolled_back_to  # listeners saw step 41
    assert s.history["step"].max() == e.rolled_back_to          # the history forgot it
    assert len(s.history) == e.rolled_back_to


def test_a_nan_weight_with_finite_losses_is_caught_by_the_weight_check():
    """Poison G's first weight during the G step's forward pass: the loss, D's outputs and
    the gradient norms stay finite, so only the check of the weights themselves sees it."""
    s = Session(with_changes(default_config(), {"device": "cpu", "generator.hidden": [8],
                                                "discriminator.hidden": [8],
                                                "train.batch_size": 16, "train.metrics_every": 0}))
    s.train(5)
    first = s.generator.linears[0]

    def poison(module, inputs, output):
        if torch.is_grad_enabled():
            with torch.no_grad():
                first.weight[0, 0] = float("nan")

    handle = first.register_forward_hook(poison)
    with pytest.raises(TrainingDiverged, match="a weight became NaN"):
        s.train(1)
    handle.remove()
    assert np.isfinite(s.history.rows[:, 1:7]).all()
    assert all(torch.isfinite(p).all() for p in s.generator.parameters())
    s.train(3)


def test_slow_metrics_never_read_nan_weights():
    """With metrics every step, the divergence is reported as one (not a scipy error)."""
    s = Session(far_gaussian({"train.metrics_every": 1, "train.metrics_samples": 100}))
    s.train(3)
    s.apply(BLOW_UP)
    with pytest.raises(TrainingDiverged):
        for _ in range(50):
            s.train(5)
    assert np.isfinite(s.sample(100)).all()
    snap = s.snapshot()
    assert np.isfinite(snap.fake).all() and np.isfinite(snap.heatmap).all()


def test_the_runner_rolls_back_and_trains_on_after_the_advised_change():
    r = Runner(far_gaussian(), chunk_seconds=0.005)
    r.start()
    try:
        assert r.ready.wait(30)
        for _ in range(40):
            r.send(Step())
        r.send(Apply(BLOW_UP))
        r.send(Play())
        diverged = _wait_for(r, Diverged)
        assert diverged.rolled_back_to <= diverged.step
        assert "rolled back to step" in diverged.message
        r.send(Apply(CALM))
        r.send(Play())
        time.sleep(0.5)
        events = r.poll()
        assert not [e for e in events if isinstance(e, Diverged)], events
        assert r.session.step > diverged.rolled_back_to + 5
    finally:
        assert r.stop(5)


def _wait_for(r: Runner, kind: type, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in r.poll():
            if isinstance(e, kind):
                return e
        time.sleep(0.01)
    raise AssertionError(f"no {kind.__name__} within {timeout} s")


def test_the_message_names_the_step_it_went_back_to():
    s = Session(far_gaussian())
    s.train(40)
    s.apply(BLOW_UP)
    e = diverge_one_step_at_a_time(s)
    m = re.search(r"diverged at step (\d+): .*rolled back to step (\d+)", str(e))
    assert m and int(m.group(2)) == e.rolled_back_to < int(m.group(1))
    assert not math.isnan(s.history.last()["d_loss"])


def test_an_unexpected_error_mid_iteration_leaves_no_half_iteration(monkeypatch):
    """D has stepped, then the G step fails: the session goes back to its last point."""
    s = Session(far_gaussian({"generator.hidden": [8], "discriminator.hidden": [8]}))
    s.train(3)
    d_before = [p.detach().clone() for p in s.discriminator.parameters()]
    import engine.session as session_module

    def broken(sess, figures=True):
        raise KeyError("momentum_buffer")

    monkeypatch.setattr(session_module, "g_update", broken)
    with pytest.raises(KeyError):
        s.train(1)
    monkeypatch.undo()
    assert s.step == 3
    for a, b in zip(d_before, s.discriminator.parameters()):
        assert torch.equal(a, b)
    s.train(2)
    assert s.step == 5


def test_an_update_that_makes_the_networks_overflow_is_a_divergence_at_once(make_session):
    """Found by tests/engine/test_properties.py: a step's figures come from before its
    updates, so a last update that left G's weights finite but huge (every sample inf)
    passed the health check, and train() returned with nothing but inf to sample."""
    s = make_session({"generator.hidden": [16, 16]})
    s.train(2)
    opt = s._nets.opt_g
    step = opt.step

    def blow_up(*args, **kwargs):
        out = step(*args, **kwargs)
        with torch.no_grad():
            for p in s.generator.parameters():
                p.mul_(1e14)  # finite weights and norms; three layers overflow
        return out

    opt.step = blow_up
    with pytest.raises(TrainingDiverged, match="output overflowed") as info:
        s.train(1)
    assert info.value.rolled_back_to == 2 and s.step == 2
    assert np.isfinite(s.sample(256)).all()


def test_the_fuzzed_blow_up_within_three_steps_is_reported_not_sampled():
    """The suite's own find: Adam at lr 1 with beta2 = 0 sends G's weights to ~1e17 on the
    third step; train(3) returned and every sample was inf."""
    s = Session(with_changes(default_config(), {
        "device": "cpu", "data.name": "gaussian", "data.std": 0.001, "noise.dim": 1,
        "generator.hidden": [14, 6], "generator.activation": "softplus",
        "discriminator.hidden": [2, 10, 13], "discriminator.activation": "relu",
        "discriminator.minibatch": "discrimination", "discriminator.mb_kernels": 4,
        "discriminator.mb_dim": 7, "loss.name": "wgan", "loss.clip": 4.096359427183912,
        "optim.g.lr": 1.0, "optim.g.betas": [0.8450354942134534, 0.0],
        "optim.d.name": "rmsprop", "optim.d.lr": 1.0, "optim.d.momentum": 0.9672645698582151,
        "train.batch_size": 32, "train.d_steps": 3, "train.g_steps": 2,
        "train.metrics_every": 0, "seed": 524286}))
    try:
        s.train(3)
    except TrainingDiverged:
        pass
    assert np.isfinite(s.sample(2000, seed=1)).all()


def test_a_generator_beyond_the_output_limit_is_a_divergence(make_session):
    """An update that leaves G's outputs finite but beyond 1e18 (their squares overflow)."""
    from engine.session import OUTPUT_LIMIT

    s = make_session()
    s.train(2)
    opt = s._nets.opt_g
    step = opt.step

    def grow(*args, **kwargs):
        out = step(*args, **kwargs)
        with torch.no_grad():
            for p in s.generator.parameters():
                p.mul_(1e10)  # two layers: outputs near 1e20, finite, as are the weights
        return out

    opt.step = grow
    with pytest.raises(TrainingDiverged, match=re.escape(f"beyond {OUTPUT_LIMIT:.0e}")):
        s.train(1)
    assert s.step == 2 and np.abs(s.sample(256)).max() < OUTPUT_LIMIT


def test_the_fuzzed_virtual_norm_blow_up_is_reported_not_sampled():
    """Found by tests/engine/test_properties.py (minimised): after the advised 10x lower
    rate, train(3) returned with G's samples near 1e20 and 2% of them NaN (its virtual norm
    squares them)."""
    s = Session(with_changes(default_config(), {
        "device": "cpu", "seed": 4617190, "data.name": "gaussian", "noise.dim": 3,
        "generator.hidden": [3, 11], "generator.activation": "softplus",
        "generator.norm": "virtual", "generator.ref_size": 9, "discriminator.hidden": [7, 7],
        "discriminator.activation": "softplus", "discriminator.minibatch": "discrimination",
        "discriminator.mb_kernels": 2, "discriminator.mb_dim": 1,
        "optim.g.momentum": 0.323078498722407, "train.batch_size": 33, "train.d_steps": 3,
        "train.precision": "bf16"}))
    s.apply({**BLOW_UP, "data.name": "gaussian", "data.mean_x": 100.0, "data.mean_y": 100.0,
             "data.std": 100.0})
    s.apply({"optim.g.lr": 0.01, "optim.d.lr": 0.01})
    try:
        s.train(3)
    except TrainingDiverged:
        pass
    assert np.isfinite(s.sample(2000, seed=1)).all()


def test_an_optimizer_state_that_overflows_is_a_divergence(make_session, tmp_path):
    """Adam's squared-gradient average can overflow while the weights stay finite (their
    update is then 0); a checkpoint of that state is refused, so training must not go on."""
    s = make_session()
    s.train(2)
    opt = s._nets.opt_g
    step = opt.step

    def overflow(*args, **kwargs):
        out = step(*args, **kwargs)
        next(iter(opt.state.values()))["exp_avg_sq"].view(-1)[0] = float("inf")
        return out

    opt.step = overflow
    with pytest.raises(TrainingDiverged, match="optimizer state"):
        s.train(1)
    assert s.step == 2
    s.save(str(tmp_path / "s.safetensors"))
    Session.load(str(tmp_path / "s.safetensors"))


def test_the_fuzzed_adam_overflow_saves_and_loads(tmp_path):
    """Found by tests/engine/test_properties.py (minimised): points out to 1e6, the
    least-squares loss, Adam with a small beta2; a step between two logged ones overflowed
    G's exp_avg_sq, training went on with frozen weights, and Session.load refused the
    saved state ("a diverged state cannot train")."""
    s = Session(with_changes(default_config(), {
        "device": "cpu", "data.name": "points", "seed": 9118116, "noise.dim": 7,
        "noise.dist": "uniform", "generator.hidden": [11, 6], "generator.activation": "softplus",
        "discriminator.hidden": [16, 6, 10], "discriminator.activation": "relu",
        "discriminator.minibatch": "discrimination", "discriminator.mb_dim": 1,
        "loss.name": "least-squares", "optim.g.lr": 1.0,
        "optim.g.betas": [0.3651213824499362, 0.1146229762185871], "optim.d.lr": 1e-07,
        "optim.d.betas": [0.9242800444056213, 0.03], "train.batch_size": 33,
        "train.d_steps": 3, "train.g_steps": 2, "train.log_every": 3,
        "data.points": [
            [-928810.8806717261, 0.0], [359960.4041540262, 0.0], [0.0, 0.0],
            [222182.52773859724, -106771.11814407096], [0.0, 167478.78695607558],
            [0.0, 999999.0], [5.642461087402403e-291, -2.5080579426565046e-82],
            [-796322.6639856033, 169902.7678034543], [0.25, 953759.7192423325],
            [-948909.5569948361, 838250.2258311573], [-567562.1416791782, 866766.3547559576],
            [535302.6624066727, 0.0], [0.0, 0.0], [0.0, 597563.8672721027],
            [-345368.02211004624, 0.0]],
        "data.std": 0.3940200330149524}))
    steps = [None, {"noise.dim": 1, "optim.d.lr": 0.36787944117144233}, None, None]
    for change in steps:
        if change:
            s.apply(change)
        try:
            s.train(1)
        except TrainingDiverged:
            pass
    path = str(tmp_path / "s.safetensors")
    s.save(path)
    assert Session.load(path).step == s.step

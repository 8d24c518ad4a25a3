"""The training loop: determinism, divergence handling, every loss/norm combination runs."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from engine import Session, TrainingDiverged
from engine.losses import LOSSES
from engine.norms import NORMS
from engine.session import PROBE


def test_same_seed_and_steps_give_identical_samples(make_session):
    a = make_session({"seed": 3})
    b = make_session({"seed": 3})
    a.train(15)
    b.train(15)
    np.testing.assert_array_equal(a.sample(256), b.sample(256))
    np.testing.assert_array_equal(a.history.rows, b.history.rows)


def test_a_different_seed_gives_different_samples(make_session):
    a = make_session({"seed": 3})
    b = make_session({"seed": 4})
    a.train(15)
    b.train(15)
    assert not np.allclose(a.sample(256), b.sample(256))


def test_sample_is_reproducible_and_does_not_disturb_training(make_session):
    a = make_session()
    b = make_session()
    a.train(5)
    b.train(5)
    first = a.sample(100)
    np.testing.assert_array_equal(a.sample(100), first)        # same step, same samples
    np.testing.assert_array_equal(a.sample(50, seed=9), a.sample(50, seed=9))
    a.discriminate(first)
    a.generate(np.zeros((4, 2), np.float32))
    a.train(5)
    b.train(5)
    np.testing.assert_array_equal(a.sample(100), b.sample(100))


def test_train_counts_iterations_and_logs_one_row_per_step(make_session):
    s = make_session({"train.d_steps": 3})
    s.train(7)
    assert s.step == 7
    assert (s.d_updates, s.g_updates) == (21, 7)
    np.testing.assert_array_equal(s.history["step"], np.arange(1, 8))


def test_train_calls_listeners_with_every_new_row(make_session):
    s = make_session()
    got = []
    s.add_listener(lambda rows: got.append(rows.copy()))
    s.train(40)  # more than one internal flush
    rows = np.concatenate(got)
    np.testing.assert_array_equal(rows, s.history.rows)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_trains_with_finite_figures(make_session, finite, loss):
    s = make_session({"loss.name": loss})
    s.train(3)
    assert finite(s)
    h = s.history
    assert np.isfinite(np.stack([h["g_loss"], h["g_grad_norm"]])).all()
    d = np.stack([h[c] for c in ("d_loss", "d_real", "d_fake", "d_grad_norm")])
    if LOSSES[loss].trains_d:
        assert np.isfinite(d).all()
    else:  # D is not trained (MMD): its figures are NaN, never fake zeros
        assert np.isnan(d).all() and s.d_updates == 0


@pytest.mark.parametrize("which", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", sorted(NORMS))
def test_every_norm_trains_in_either_network(make_session, finite, which, norm):
    s = make_session({f"{which}.norm": norm, f"{which}.hidden": [16, 16]})
    s.train(3)
    assert finite(s)
    assert s.sample(10).shape == (10, 2)


@pytest.mark.parametrize("mb", ["discrimination", "stddev"])
def test_minibatch_features_train(make_session, finite, mb):
    s = make_session({"discriminator.minibatch": mb, "discriminator.mb_kernels": 8,
                      "discriminator.mb_dim": 3})
    s.train(3)
    assert finite(s)
    assert s.discriminate(np.zeros((5, 2), np.float32)).shape == (5,)


# --------------------------------------------------------------------------- divergence

DIVERGING = {"loss.name": "least-squares", "optim.d.name": "sgd", "optim.g.name": "sgd",
             "optim.d.lr": 1.0, "optim.g.lr": 1.0}


def _message_names_step_and_what(e: TrainingDiverged) -> None:
    msg = str(e)
    m = re.search(r"step (\d+)", msg)
    assert m, msg
    assert int(m.group(1)) == e.step
    assert re.search(r"NaN|inf", msg), msg
    assert re.search(r"loss|gradient|weight|D\(|D\b|G\b", msg), msg


def test_a_huge_learning_rate_raises_training_diverged_and_keeps_no_bad_update(make_session, finite):
    s = make_session(DIVERGING)
    with pytest.raises(TrainingDiverged) as info:
        s.train(300)
    e = info.value
    _message_names_step_and_what(e)
    assert finite(s), "a NaN/inf update was kept"
    assert s.step < e.step
    assert np.isfinite(s.history.rows[:, 1:7]).all()
    assert (s.history["step"] < e.step).all()
    # the user lowers the learning rates and carries on
    s.apply({"optim.d.lr": 1e-4, "optim.g.lr": 1e-4})
    s.train(10)
    assert finite(s)
    assert np.isfinite(s.history.rows[:, 1:7]).all()


def test_a_nan_weight_raises_and_rolls_back_to_the_last_good_state(make_session, finite, state_of, same):
    s = make_session()
    s.train(4)
    good = state_of(s)
    with torch.no_grad():
        s.discriminator.linears[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged) as info:
        s.train(3)
    e = info.value
    _message_names_step_and_what(e)
    assert e.step == 5
    assert "NaN" in str(e)
    assert finite(s)
    after = state_of(s)
    same(after["g"], good["g"])
    same(after["d"], good["d"])
    same(after["opt_g"], good["opt_g"])
    same(after["opt_d"], good["opt_d"])
    assert s.step == 4 and len(s.history) == 4
    s.train(3)
    assert s.step == 7 and finite(s)


def test_after_a_rollback_training_continues_like_a_run_that_never_diverged(make_session):
    a = make_session()
    b = make_session()
    a.train(4)
    b.train(4)
    with torch.no_grad():
        a.generator.out.weight.fill_(float("inf"))
    with pytest.raises(TrainingDiverged):
        a.train(2)
    a.train(3)
    b.train(3)
    np.testing.assert_array_equal(a.sample(64), b.sample(64))


def test_train_rejects_a_bad_step_count(make_session):
    s = make_session()
    for bad in (-1, "many", 2.5):
        with pytest.raises(ValueError, match="steps"):
            s.train(bad)
    assert s.step == 0


def test_session_with_a_bad_config_raises_value_error():
    with pytest.raises(ValueError, match="loss.name"):
        Session({"loss": {"name": "vanilla"}})


# --------------------------------------------------------------------------- the loop itself

def test_an_iteration_is_k_d_steps_on_fresh_batches_then_a_g_step(make_session):
    """GAN_REFERENCE "The training loop": k D steps (fresh real batch, fresh z), then G; with
    batch norm in D, real and fake batches go through D separately."""
    s = make_session({"train.d_steps": 2, "discriminator.norm": "batch", "train.batch_size": 24})
    calls = []
    s.discriminator.register_forward_pre_hook(lambda mod, args: calls.append(args[0].detach().clone()))
    s.iteration()
    # real, fake, real, fake, then G's fakes; then the health check's probe (fakes, reals)
    assert [len(x) for x in calls] == [24] * 5 + [PROBE] * 2
    real1, fake1, real2, fake2, g_fake = calls[:5]
    ring = lambda x: np.abs(np.linalg.norm(x.numpy(), axis=1) - 2.0).max()  # noqa: E731
    assert ring(real1) < 0.15 and ring(real2) < 0.15  # real batches are real data
    assert not torch.equal(real1, real2) and not torch.equal(fake1, fake2)
    assert not torch.equal(fake2, g_fake)


def test_a_d_step_leaves_g_alone_and_a_g_step_leaves_d_alone(make_session, state_of, same):
    s = make_session()
    s.train(2)
    before = state_of(s)
    s.d_step()
    mid = state_of(s)
    same(mid["g"], before["g"])
    assert any(not torch.equal(mid["d"][k], before["d"][k]) for k in before["d"])
    s.g_step()
    after = state_of(s)
    same(after["d"], mid["d"])
    assert any(not torch.equal(after["g"][k], mid["g"][k]) for k in mid["g"])
    assert (s.d_updates, s.g_updates, s.step) == (3, 3, 2)


def test_history_stays_bounded_and_keeps_recent_rows_exact():
    from engine.metrics import COLUMNS, History

    h = History(max_rows=100)
    for step in range(1, 1001):
        row = np.full((1, len(COLUMNS)), float(step))
        h.append(row)
    assert len(h) <= 100
    steps = h["step"]
    assert steps[0] == 1 and steps[-1] == 1000
    assert (np.diff(steps) > 0).all()
    np.testing.assert_array_equal(steps[-20:], np.arange(981, 1001))

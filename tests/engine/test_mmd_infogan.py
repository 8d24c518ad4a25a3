"""Moment matching (loss.name = mmd) and InfoGAN codes (issue 14, trainer part).

Expected values are written out here from the formulas (pairwise loops, log-softmax by
hand) and compared with what the engine computes and logs; the RNG is cloned to replay a
step's draws.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.catalogue import LOSS_INFO
from engine.losses import info_loss, mmd2_unbiased
from engine.training import data_scale


def _rng_copy(s) -> torch.Generator:
    g = torch.Generator(s.device)
    g.set_state(s._rng.get_state())
    return g


def _k(a: np.ndarray, b: np.ndarray, bws: tuple[float, ...]) -> float:
    d2 = float(((a - b) ** 2).sum())
    return sum(math.exp(-d2 / (2 * h * h)) for h in bws)


def _mmd2_by_hand(x: np.ndarray, y: np.ndarray, bws: tuple[float, ...]) -> float:
    n, m = len(x), len(y)
    xx = sum(_k(x[i], x[j], bws) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(_k(y[i], y[j], bws) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(_k(x[i], y[j], bws) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


# --------------------------------------------------------------------------- MMD

def test_mmd2_equals_the_unbiased_formula_on_fixed_tensors():
    x = np.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 2.0], [0.3, -0.2], [1.5, 1.5]])
    y = np.array([[0.1, 0.2], [2.0, -1.0], [0.5, 0.5], [-1.0, 1.0], [0.0, 3.0], [1.0, 1.0]])
    bws = (0.5, 1.0, 2.0)
    got = float(mmd2_unbiased(torch.tensor(x), torch.tensor(y), bws))
    assert got == pytest.approx(_mmd2_by_hand(x, y, bws), rel=1e-5, abs=1e-7)
    # identical samples: the unbiased estimate is small but not exactly 0; the same points
    # on both sides make xx = yy = xy minus the diagonal
    same = float(mmd2_unbiased(torch.tensor(x), torch.tensor(x), bws))
    assert same == pytest.approx(_mmd2_by_hand(x, x, bws), rel=1e-5, abs=1e-7)


def test_mmd_loss_set_mid_run_is_g_loss_and_d_is_not_trained(make_session):
    s = make_session()
    s.train(3)
    bws = (0.1, 0.5, 2.0)
    s.apply({"loss.name": "mmd", "loss.mmd_bandwidths": list(bws)})
    d_before = [p.detach().clone() for p in s.discriminator.state_dict().values()]
    # replay G's step: a real batch, then z (no D step runs, so it draws nothing)
    gen = _rng_copy(s)
    bs = s.config["train"]["batch_size"]
    real = s._steps.draw_real(bs, gen)[0]
    z = torch.randn(bs, 2, generator=gen, device=s.device)
    with torch.no_grad():
        fake = s.generator(z)
    scale = data_scale(s._steps.draw_real, s.device)  # the documented unit of the bandwidths
    assert scale == pytest.approx(2.0, rel=0.01)      # ring8: radius 2, std 0.02
    expected = _mmd2_by_hand(fake.cpu().numpy().astype(np.float64), real.cpu().numpy().astype(np.float64),
                             tuple(scale * b for b in bws))
    s.train(1)
    assert s.history["g_loss"][-1] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    s.train(20)
    assert all(torch.equal(a, b) for a, b in zip(d_before, s.discriminator.state_dict().values()))
    assert s.d_updates == 0 or np.isnan(s.history["d_loss"][-21:]).all()
    assert not LOSS_INFO["mmd"].trains_d  # the flag views read to say "D is not trained"


def test_mmd_bandwidths_swap_mid_run_changes_g_loss(make_session):
    s, twin = make_session({"loss.name": "mmd"}), make_session({"loss.name": "mmd"})
    s.train(2)
    twin.train(2)
    s.apply({"loss.mmd_bandwidths": [3.0]})
    s.train(1)
    twin.train(1)
    assert s.history["g_loss"][-1] != pytest.approx(twin.history["g_loss"][-1], rel=1e-3)


# --------------------------------------------------------------------------- InfoGAN

def _ce_by_hand(q: np.ndarray, c: np.ndarray) -> float:
    out = []
    for row, ci in zip(q, c):
        m = row.max()
        log_z = m + math.log(sum(math.exp(v - m) for v in row))
        out.append(log_z - row[ci])
    return sum(out) / len(out)


def test_info_loss_is_the_mean_cross_entropy_on_fixed_tensors():
    q = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0], [1.0, 2.0, 3.0]])
    c = np.array([0, 2, 1, 0])
    got = float(info_loss(torch.tensor(q), torch.tensor(c)))
    assert got == pytest.approx(_ce_by_hand(q, c), rel=1e-6)
    assert _ce_by_hand(np.zeros((2, 8)), np.array([0, 5])) == pytest.approx(math.log(8))


def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def test_infogan_g_loss_adds_lambda_ce_and_info_weight_swaps_mid_run(make_session):
    """With D frozen (its step draws nothing) G's step draws c, then z; its loss must be
    E sp(-l_fake) + lambda * CE(Q(G(z, c)), c)."""
    s = make_session({"generator.codes": 4})
    s.train(3)
    lam = 2.5
    s.apply({"loss.info_weight": lam, "optim.d.lr": 0.0})
    gen = _rng_copy(s)
    bs = s.config["train"]["batch_size"]
    c = torch.randint(4, (bs,), generator=gen, device=s.device)
    z = torch.randn(bs, 2, generator=gen, device=s.device)
    with torch.no_grad():
        l_fake, q = s.discriminator(s.generator(z, None, c), with_q=True)
    expected = (_softplus(-l_fake.cpu().numpy().ravel().astype(np.float64)).mean()
                + lam * _ce_by_hand(q.cpu().numpy().astype(np.float64), c.cpu().numpy()))
    s.train(1)
    assert s.history["g_loss"][-1] == pytest.approx(expected, rel=1e-4)


def test_infogan_d_loss_adds_lambda_ce_on_the_fakes(make_session):
    """D's step draws a real batch, c, then z; its loss is the BCE pair + lambda * CE."""
    s = make_session({"generator.codes": 3, "loss.info_weight": 0.7})
    s.train(2)
    gen = _rng_copy(s)
    bs = s.config["train"]["batch_size"]
    real = s._steps.draw_real(bs, gen)[0]
    c = torch.randint(3, (bs,), generator=gen, device=s.device)
    z = torch.randn(bs, 2, generator=gen, device=s.device)
    with torch.no_grad():
        l_real = s.discriminator(real).cpu().numpy().ravel().astype(np.float64)
        l_fake, q = s.discriminator(s.generator(z, None, c), with_q=True)
    expected = (_softplus(-l_real).mean() + _softplus(l_fake.cpu().numpy().ravel()).mean()
                + 0.7 * _ce_by_hand(q.cpu().numpy().astype(np.float64), c.cpu().numpy()))
    s.train(1)
    assert s.history["d_loss"][-1] == pytest.approx(expected, rel=1e-4)


def test_codes_swapped_on_mid_run_keep_g_drawing_what_it_drew(make_session):
    s = make_session()
    s.train(3)
    z = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    before = s.generate(z)
    s.apply({"generator.codes": 8})
    assert s.codes == 8
    # a new code's input weights start at zero: every code draws what G drew before
    for code in (0, 5):
        assert np.allclose(s.generate(z, codes=code), before, atol=1e-6)
    s.train(3)
    assert np.isfinite(s.mutual_info(200))
    assert s.mutual_info(200) <= math.log(8) + 1e-6
    with pytest.raises(ValueError, match="codes"):
        s.generate(z, codes=8)
    s.apply({"generator.codes": 0})
    assert s.codes == 0 and s.mutual_info(100) is None


def test_snapshot_carries_each_fakes_code(make_session):
    from engine.snapshot import ViewRequest

    s = make_session({"generator.codes": 8})
    s.train(2)
    snap = s.snapshot(ViewRequest(n_fake=40, n_real=10))
    assert snap.codes == 8
    assert snap.codes_fake is not None and snap.codes_fake.shape == (40,)
    assert set(snap.codes_fake.tolist()) == set(range(8))
    # and the fakes are the generator's at those codes
    assert np.allclose(snap.fake, s.generate(snap.view_z, codes=snap.codes_fake), atol=1e-5)


def test_ce_helper_matches_torch_for_reference():  # a check on the test's own helper
    q = torch.tensor([[0.3, -1.2, 2.0]])
    assert _ce_by_hand(q.numpy(), np.array([2])) == pytest.approx(
        float(F.cross_entropy(q, torch.tensor([2]))), rel=1e-6)


def test_a_frame_with_codes_crosses_the_protocol(make_session):
    from engine import protocol as P
    from engine.snapshot import ViewRequest

    s = make_session({"generator.codes": 4})
    snap = s.snapshot(ViewRequest(n_fake=12, n_real=4))
    key = b"k" * 32
    back = P.decode([bytes(f) for f in P.encode(P.Frame(snap), key)], key).snapshot
    assert back.codes == 4 and np.array_equal(back.codes_fake, snap.codes_fake)


def test_the_engine_process_mirror_draws_frames_with_codes(make_session):
    """The app and the server draw frames from a FrameSource copy, not the session."""
    from engine.mirror import FrameSource
    from engine.snapshot import ViewRequest
    from engine.views import build_snapshot

    s = make_session({"generator.codes": 4})
    s.train(1)
    src = FrameSource()
    src.fill(s, 1)
    snap = build_snapshot(src, ViewRequest(n_fake=12, n_real=4))
    assert snap.codes == 4 and snap.codes_fake.tolist() == [i % 4 for i in range(12)]

"""The per-step figures: kept raw by each step, reduced in bulk at the health check.

The reduction is checked against numpy on random rows (missing networks, mixed output
shapes and tensor counts, probability or raw scores, in any order); the logged gradient
norms against the gradients a one-iteration session leaves behind; and the bookkeeping's
operator count against the benchmark's hand-written loop (each operator is a kernel
launch on a GPU, where these small networks are launch-bound).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.profiler import ProfilerActivity, profile

from engine.bench import plain_loop
from engine.figures import DFigures, GFigures, reduce
from engine.presets import load_preset
from engine.session import Session

ORDER = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm")  # the contract's


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@st.composite
def rows(draw):
    n = draw(st.integers(1, 12))
    out = []
    want = []
    for _ in range(n):
        d = g = None
        row = {}
        if draw(st.booleans()):
            shape = draw(st.sampled_from([(4, 1), (3, 1), (5,), (2, 2)]))
            prob = draw(st.booleans())
            real = np.asarray(draw(st.lists(st.floats(-20, 20), min_size=math.prod(shape),
                                            max_size=math.prod(shape))), dtype=np.float32)
            fake = np.asarray(draw(st.lists(st.floats(-20, 20), min_size=math.prod(shape),
                                            max_size=math.prod(shape))), dtype=np.float32)
            norms = draw(st.lists(st.floats(0, 50), min_size=0, max_size=4))
            loss = draw(st.floats(-10, 10))
            d = DFigures(torch.tensor(loss), torch.from_numpy(real.reshape(shape)),
                         torch.from_numpy(fake.reshape(shape)), prob,
                         tuple(torch.tensor(v) for v in norms))
            squash = _sigmoid if prob else (lambda x: x)
            row.update(d_loss=np.float32(loss), d_real=squash(real.astype(np.float64)).mean(),
                       d_fake=squash(fake.astype(np.float64)).mean(),
                       d_grad_norm=math.sqrt(sum(float(np.float32(v)) ** 2 for v in norms)))
        if draw(st.booleans()):
            norms = draw(st.lists(st.floats(0, 50), min_size=0, max_size=3))
            loss = draw(st.floats(-10, 10))
            g = GFigures(torch.tensor(loss), tuple(torch.tensor(v) for v in norms))
            row.update(g_loss=np.float32(loss),
                       g_grad_norm=math.sqrt(sum(float(np.float32(v)) ** 2 for v in norms)))
        out.append((d, g))
        want.append(row)
    return out, want


@settings(max_examples=60, deadline=None)
@given(rows())
def test_reduce_gives_each_row_its_own_figures_in_order(case):
    rows_, want = case
    vals, skipped = reduce(rows_, torch.device("cpu"))
    assert vals.shape == skipped.shape == (len(rows_), 6)
    for i, row in enumerate(want):
        for j, name in enumerate(ORDER):
            if name in row:
                assert not skipped[i, j], (i, name)
                assert vals[i, j] == pytest.approx(float(row[name]), rel=1e-5, abs=1e-5), (i, name)
            else:
                assert skipped[i, j], (i, name)


def test_no_rows_reduce_to_nothing():
    vals, skipped = reduce([], torch.device("cpu"))
    assert vals.shape == skipped.shape == (0, 6)


def test_the_logged_gradient_norms_are_those_of_the_last_step():
    cfg = load_preset("ring8")
    cfg["device"] = "cpu"
    s = Session(cfg)
    s.train(1)
    # after one iteration each network still holds the gradients of its own step (D's
    # stay: G's step gives D none)
    d = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in
                      s.discriminator.parameters() if p.grad is not None))
    g = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in
                      s.generator.parameters() if p.grad is not None))
    assert d > 0 and g > 0
    assert s.history["d_grad_norm"][-1] == pytest.approx(d, rel=1e-5)
    assert s.history["g_grad_norm"][-1] == pytest.approx(g, rel=1e-5)


# operators that make a view, change nothing or read a host value: no kernel on a GPU
NO_KERNEL = frozenset(f"aten::{name}" for name in (
    "detach", "to", "view", "reshape", "_unsafe_view", "expand", "t", "transpose", "permute",
    "flatten", "unsqueeze", "squeeze", "select", "slice", "as_strided", "alias", "lift_fresh",
    "resolve_conj", "resolve_neg", "item", "is_nonzero", "_local_scalar_dense", "contiguous"))


def _small(preset: str, **train) -> dict:
    """The preset's layers at a tenth of their width: the same operators, quicker."""
    cfg = load_preset(preset)
    cfg["device"] = "cpu"
    cfg["train"].update(metrics_every=0, batch_size=16, **train)
    if cfg["generator"]["arch"] == "mlp":
        for net in ("generator", "discriminator"):
            cfg[net]["hidden"] = [max(4, w // 10) for w in cfg[net]["hidden"]]
    return cfg


def _operators_per_iteration(fn, n: int) -> float:
    """Top-level operators per iteration that run a kernel (an operator's own callees are
    its kernel's business)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(n)
    return sum(1 for e in prof.events() if e.name.startswith("aten::")
               and e.name not in NO_KERNEL
               and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))) / n


@pytest.mark.parametrize("preset", ["ring8", "dcgan_digits"])
def test_the_engine_launches_no_more_operators_than_a_hand_written_loop(preset):
    """Logging every step, health checks included, the engine's iteration runs no more
    operators than the seeds' loop with torch's fused BCE (it ran 12 more on ring8 before
    the figures were reduced in bulk, which cost ~10% of a step on an H200). The health
    check is counted too, spread over the iterations it checks."""
    cfg = _small(preset, log_every=1)
    s = Session(cfg)
    s.train(8)
    plain = plain_loop(cfg, torch.device("cpu"))
    plain(2)
    engine_ops = _operators_per_iteration(lambda n: s.train(n), 16)  # a check at its end
    plain_ops = _operators_per_iteration(plain, 8)
    assert engine_ops <= plain_ops, (engine_ops, plain_ops)


@pytest.mark.parametrize("preset", ["ring8", "minimax_vanishing"])
def test_logging_a_row_costs_one_operator_per_network(preset):
    """What logging every iteration costs over logging none: one fused gradient norm per
    network, and the bulk reduction at the health check spread over its rows (before, 11
    operators an iteration on ring8; a step of k D updates paid for all k)."""
    def ops(log_every: int) -> float:
        s = Session(_small(preset, log_every=log_every))
        s.train(8)  # ends on a health check, as do the 16 profiled
        return _operators_per_iteration(lambda n: s.train(n), 16)

    extra = ops(1) - ops(100_000)
    assert 2 <= extra <= 3.25, extra  # 2 norms, and the reduction spread over 16 rows


@pytest.mark.parametrize("log_every", [1, 3])
def test_a_single_step_row_holds_only_the_network_that_stepped(make_session, log_every):
    """The row of a lone D step says nothing about G (NaN), and the other way round,
    whatever the logging cadence of the iterations before it (with log_every 1 it repeated
    G's figures of the last iteration; with 3 it had none)."""
    s = make_session({"train.log_every": log_every})
    s.train(4)
    d_cols, g_cols = ("d_loss", "d_real", "d_fake", "d_grad_norm"), ("g_loss", "g_grad_norm")
    s.d_step()
    row = s.history.last()
    assert all(math.isfinite(row[c]) for c in d_cols), row
    assert all(math.isnan(row[c]) for c in g_cols), row
    s.g_step()
    row = s.history.last()
    assert all(math.isfinite(row[c]) for c in g_cols), row
    assert all(math.isnan(row[c]) for c in d_cols), row

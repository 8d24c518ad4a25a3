"""Reference and virtual batch norm (GAN_REFERENCE.md, "Normalization")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.networks import MLP, MinibatchDiscrimination, MinibatchStd, carry_weights
from engine.norms import EPS, NORMS, BatchNorm, ReferenceNorm


def test_the_contract_norm_names_are_all_there():
    assert {"none", "batch", "reference", "virtual", "layer", "spectral"} <= set(NORMS)


def _layer(virtual, width=3, m=5, seed=0):
    torch.manual_seed(seed)
    layer = ReferenceNorm(width, m, virtual=virtual)
    with torch.no_grad():  # non-trivial gamma and beta
        layer.weight.copy_(torch.rand(width) + 0.5)
        layer.bias.copy_(torch.randn(width))
    return layer


def _input(m=5, k=4, width=3, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(m + k, width, generator=gen) * torch.tensor([1.0, 3.0, 0.2]) + 2.0


def test_virtual_norm_matches_the_reference_formula():
    m = 5
    layer = _layer(virtual=True, m=m)
    h = _input(m=m)
    out = layer(h).detach().numpy().astype(np.float64)
    H = h.numpy().astype(np.float64)
    gamma = layer.weight.detach().numpy().astype(np.float64)
    beta = layer.bias.detach().numpy().astype(np.float64)
    R, X = H[:m], H[m:]
    mean_r = R.mean(0)
    meansq_r = (R * R).mean(0)
    # R itself: normalised with its own statistics
    want_r = gamma * (R - mean_r) / np.sqrt(meansq_r - mean_r**2 + EPS) + beta
    # each x_i: statistics of the virtual batch R u {x_i}
    want_x = []
    for x in X:
        mean = x / (m + 1) + m / (m + 1) * mean_r
        meansq = x * x / (m + 1) + m / (m + 1) * meansq_r
        var = meansq - mean**2
        want_x.append(gamma * (x - mean) / np.sqrt(var + EPS) + beta)
    np.testing.assert_allclose(out[:m], want_r, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[m:], np.array(want_x), rtol=1e-4, atol=1e-5)


def test_reference_norm_normalises_new_rows_with_the_reference_statistics():
    m = 5
    layer = _layer(virtual=False, m=m)
    h = _input(m=m)
    out = layer(h).detach().numpy().astype(np.float64)
    H = h.numpy().astype(np.float64)
    gamma = layer.weight.detach().numpy().astype(np.float64)
    beta = layer.bias.detach().numpy().astype(np.float64)
    R = H[:m]
    mean_r, var_r = R.mean(0), R.var(0)
    want = gamma * (H - mean_r) / np.sqrt(var_r + EPS) + beta
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("virtual", [False, True])
def test_gradients_flow_through_the_reference_statistics(virtual):
    m = 5
    layer = _layer(virtual=virtual, m=m)
    h = _input(m=m).requires_grad_(True)
    w = torch.randn(4, 3, generator=torch.Generator().manual_seed(3))
    (layer(h)[m:] * w).sum().backward()  # a loss on the new rows only
    assert float(h.grad[:m].abs().sum()) > 0, "R's rows got no gradient from the new rows' loss"


@pytest.mark.parametrize("virtual", [False, True])
def test_reference_layer_rows_do_not_depend_on_their_neighbours(virtual):
    m = 5
    layer = _layer(virtual=virtual, m=m)
    h = _input(m=m, k=4)
    other = h.clone()
    other[m + 1:] = torch.randn(3, 3) * 10  # different companions for row m
    a = layer(h)[m]
    b = layer(other)[m]
    alone = layer(h[: m + 1])[m]
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, alone)


def test_plain_batch_norm_rows_do_depend_on_their_neighbours():
    layer = BatchNorm(3)
    h = _input(m=0, k=6)
    other = h.clone()
    other[1:] = other[1:] * 5 + 1
    assert not torch.allclose(layer(h)[0], layer(other)[0], atol=1e-3)


def test_batch_norm_of_a_single_example_does_not_raise():
    out = BatchNorm(3)(torch.randn(1, 3))
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------- through a Session

Z_DIM = 2


def _batches(dim, seed=0):
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(1, dim)).astype(np.float32)
    a = np.concatenate([first, rng.normal(size=(15, dim)).astype(np.float32)])
    b = np.concatenate([first, (rng.normal(size=(15, dim)) * 4 + 2).astype(np.float32)])
    return a, b


def _row0(session, which, batch):
    if which == "generator":
        return session.generate(batch)[0]
    return session.discriminate(batch)[0]


@pytest.mark.parametrize("which", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", ["reference", "virtual"])
def test_reference_norms_make_an_example_independent_of_its_minibatch(make_session, which, norm):
    s = make_session({f"{which}.norm": norm, f"{which}.hidden": [16, 16]})
    s.train(3)
    a, b = _batches(2)
    ra, rb = _row0(s, which, a), _row0(s, which, b)
    np.testing.assert_allclose(ra, rb, rtol=1e-5, atol=1e-6)
    # also alone in its batch
    np.testing.assert_allclose(_row0(s, which, a[:1]), ra, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_batch_norm_makes_an_example_depend_on_its_minibatch(make_session, which):
    s = make_session({f"{which}.norm": "batch", f"{which}.hidden": [16, 16]})
    s.train(3)
    a, b = _batches(2)
    ra, rb = _row0(s, which, a), _row0(s, which, b)
    assert np.abs(np.asarray(ra) - np.asarray(rb)).max() > 1e-3


@pytest.mark.parametrize("norm", ["reference", "virtual"])
def test_reference_batch_is_a_fixed_buffer_of_the_right_shape(make_session, norm):
    s = make_session({"generator.norm": norm, "discriminator.norm": norm})
    zr = s.generator.reference.detach().clone()
    xr = s.discriminator.reference.detach().clone()
    assert zr.shape == (16, Z_DIM) and xr.shape == (16, 2)
    assert zr.abs().sum() > 0 and xr.abs().sum() > 0
    # D's reference batch is real data: on the ring of radius 2
    np.testing.assert_allclose(xr.norm(dim=1).numpy(), 2.0, atol=0.15)
    s.train(4)
    assert torch.equal(s.generator.reference, zr)
    assert torch.equal(s.discriminator.reference, xr)
    # and it is part of the state (checkpoints keep it)
    assert "reference" in s.generator.state_dict()


def test_carry_weights_copies_layers_whose_shape_still_matches():
    torch.manual_seed(0)
    old = MLP(2, [16, 16], 2, "relu", "batch")
    new = MLP(2, [16, 32], 2, "relu", "layer")
    carried = carry_weights(old, new)
    assert torch.equal(new.linears[0].weight, old.linears[0].weight)
    assert torch.equal(new.linears[0].bias, old.linears[0].bias)
    assert new.linears[1].weight.shape == (32, 16)
    assert not torch.equal(new.linears[1].weight[:16], old.linears[1].weight)
    assert carried == 2  # first Linear's weight and bias; norms differ in kind, shapes differ


def test_minibatch_discrimination_matches_the_reference_formula():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=4, kernels=3, kernel_dim=2)
    f = torch.randn(6, 4)
    out = layer(f).detach().numpy().astype(np.float64)
    F = f.numpy().astype(np.float64)
    M = (F @ layer.T.detach().numpy().astype(np.float64)).reshape(6, 3, 2)  # M_i = f(x_i) T
    o = np.zeros((6, 3))
    for i in range(6):
        for j in range(6):
            if j != i:
                o[i] += np.exp(-np.abs(M[i] - M[j]).sum(1))  # c_b(i, j), summed over j != i
    np.testing.assert_allclose(out[:, :4], F, rtol=1e-6)
    np.testing.assert_allclose(out[:, 4:], o, rtol=1e-4, atol=1e-6)


def test_minibatch_std_adds_one_feature_shared_by_the_batch():
    f = torch.randn(8, 5)
    out = MinibatchStd(5)(f)
    assert out.shape == (8, 6)
    assert torch.equal(out[:, :5], f)
    assert torch.allclose(out[:, 5], out[0, 5].expand(8))
    assert float(out[0, 5]) > 0
    same = MinibatchStd(5)(torch.ones(8, 5))
    assert float(same[:, 5].abs().max()) == 0.0  # a collapsed batch has no spread

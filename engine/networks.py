"""Generator and discriminator networks, built from the config.

Networks are rebuilt whenever their architecture or normalization changes mid-run;
``carry_weights`` then copies over every layer whose shape still matches, so a swap keeps
what was learned wherever it can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .norms import NORMS

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
}


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: o(x_i)_b = sum_{j != i} exp(-||M_ib - M_jb||_1), appended to f(x_i)."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int) -> None:
        super().__init__()
        self.kernels = kernels
        self.kernel_dim = kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)
        self.out_features = in_features + kernels

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, n, C)
        l1 = torch.cdist(m, m, p=1)              # (B, n, n), without an (n, n, B, C) temporary
        o = torch.exp(-l1).sum(2).t() - 1.0      # (n, B); drop j == i (exp(0) = 1)
        return torch.cat([f, o], 1)


class MinibatchStd(nn.Module):
    """One extra feature: the mean over features of the std over the minibatch."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.out_features = in_features + 1

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        std = f.std(0, unbiased=False).mean() if f.shape[0] > 1 else f.new_zeros(())
        return torch.cat([f, std.expand(f.shape[0], 1)], 1)


class MLP(nn.Module):
    """Linear -> norm -> activation per hidden layer, then a linear output.

    With a reference/virtual norm the fixed reference batch (a buffer, so checkpoints keep
    it) is prepended to every input and dropped again after the last hidden layer.
    """

    def __init__(self, in_dim: int, hidden: list[int], out_dim: int, activation: str, norm: str,
                 ref_count: int = 0, minibatch: str = "none", mb_kernels: int = 50,
                 mb_dim: int = 5) -> None:
        super().__init__()
        spec = NORMS[norm]
        self.in_dim = in_dim
        self.norm_name = norm
        self.ref_count = ref_count if spec.needs_reference else 0
        widths = [in_dim, *hidden]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(spec.build(w, self.ref_count) for w in hidden)
        self.acts = nn.ModuleList(ACTIVATIONS[activation]() for _ in hidden)
        feat = hidden[-1]
        self.minibatch: nn.Module | None = None
        if minibatch == "discrimination":
            self.minibatch = MinibatchDiscrimination(feat, mb_kernels, mb_dim)
            feat = self.minibatch.out_features
        elif minibatch == "stddev":
            self.minibatch = MinibatchStd(feat)
            feat = self.minibatch.out_features
        self.out = nn.Linear(feat, out_dim)
        if spec.spectral:
            for lin in [*self.linears, self.out]:
                spectral_norm(lin)
        if self.ref_count:
            self.register_buffer("reference", torch.zeros(self.ref_count, in_dim))
        else:
            self.reference = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.ref_count
        h = torch.cat([self.reference, x], 0) if m else x
        for lin, norm, act in zip(self.linears, self.norms, self.acts):
            h = act(norm(lin(h)))
        if m:
            h = h[m:]
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.out(h)


def build_mlp(in_dim: int, out_dim: int, net_cfg: dict[str, Any], minibatch: bool = False) -> MLP:
    return MLP(
        in_dim, list(net_cfg["hidden"]), out_dim, net_cfg["activation"], net_cfg["norm"],
        ref_count=int(net_cfg["ref_size"]),
        minibatch=net_cfg.get("minibatch", "none") if minibatch else "none",
        mb_kernels=int(net_cfg.get("mb_kernels", 50)), mb_dim=int(net_cfg.get("mb_dim", 5)),
    )


def _plain_weight(lin: nn.Linear) -> torch.Tensor:
    """The stored weight of a Linear, whether or not spectral norm parametrizes it."""
    if hasattr(lin, "parametrizations") and "weight" in lin.parametrizations:
        return lin.parametrizations.weight.original
    return lin.weight


@torch.no_grad()
def carry_weights(old: MLP, new: MLP) -> int:
    """Copy every layer of ``old`` whose shape (and, for norms, kind) matches into ``new``.

    Returns the number of tensors carried, so callers and tests can tell what survived.
    """
    carried = 0
    pairs = list(zip(old.linears, new.linears)) + [(old.out, new.out)]
    for lo, ln in pairs:
        wo, wn = _plain_weight(lo), _plain_weight(ln)
        if wo.shape == wn.shape:
            wn.copy_(wo)
            ln.bias.copy_(lo.bias)
            carried += 2
    for no, nn_ in zip(old.norms, new.norms):
        if type(no) is type(nn_):
            so, sn = no.state_dict(), nn_.state_dict()
            if so.keys() == sn.keys() and all(so[k].shape == sn[k].shape for k in so):
                nn_.load_state_dict(so)
                carried += len(so)
    if (old.minibatch is not None and new.minibatch is not None
            and type(old.minibatch) is type(new.minibatch)):
        so, sn = old.minibatch.state_dict(), new.minibatch.state_dict()
        if all(k in so and so[k].shape == sn[k].shape for k in sn):
            new.minibatch.load_state_dict(so)
            carried += len(sn)
    return carried

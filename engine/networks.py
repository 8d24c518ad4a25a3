"""Generator and discriminator networks, built from the config.

Networks are rebuilt whenever their architecture or normalization changes mid-run;
``carry_weights`` then copies over every layer whose shape still matches, so a swap keeps
what was learned wherever it can.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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

    twice_differentiable = False  # set by ``double_backward`` (WGAN-GP's penalty)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, n, C)
        if self.twice_differentiable:
            # cdist's backward has no derivative of its own; a gradient penalty needs one.
            # The explicit form costs a (B, n, n, C) temporary, so only the penalty pays it.
            l1 = (m[:, :, None, :] - m[:, None, :, :]).abs().sum(-1)
        else:
            l1 = torch.cdist(m, m, p=1)          # (B, n, n), without an (B, n, n, C) temporary
        o = torch.exp(-l1).sum(2).t() - 1.0      # (n, B); drop j == i (exp(0) = 1)
        return torch.cat([f, o], 1)


    def in_context(self, f: torch.Tensor, context: torch.Tensor, batch: int) -> torch.Tensor:
        """Features of each row of ``f`` as one more member of the minibatch ``context``:
        its kernels compare it with the context rows only (not with the other rows of
        ``f``), scaled to a batch of ``batch`` as in training."""
        m = (f @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)
        mc = (context @ self.T).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)
        o = torch.exp(-torch.cdist(m, mc, p=1)).sum(2).t()    # (n, B) over the context
        o = o * ((batch - 1) / max(len(context), 1))
        return torch.cat([f, o], 1)


class MinibatchStd(nn.Module):
    """One extra feature: the mean over features of the std over the minibatch."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.out_features = in_features + 1

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        std = f.std(0, unbiased=False).mean() if f.shape[0] > 1 else f.new_zeros(())
        return torch.cat([f, std.expand(f.shape[0], 1)], 1)

    def in_context(self, f: torch.Tensor, context: torch.Tensor, batch: int) -> torch.Tensor:
        """The feature each row of ``f`` would get as one more member of ``context``."""
        n = len(context)
        mean, meansq = context.mean(0), (context * context).mean(0)
        m = (n * mean + f) / (n + 1)
        var = ((n * meansq + f * f) / (n + 1) - m * m).clamp_min(0)
        return torch.cat([f, var.sqrt().mean(1, keepdim=True)], 1)


@contextlib.contextmanager
def double_backward(net: nn.Module) -> Iterator[None]:
    """Inside, ``net``'s minibatch discrimination is twice differentiable (for WGAN-GP)."""
    layer = getattr(net, "minibatch", None)
    if not isinstance(layer, MinibatchDiscrimination):
        yield
        return
    layer.twice_differentiable = True
    try:
        yield
    finally:
        layer.twice_differentiable = False


def one_hot_rows(index: torch.Tensor, k: int, dtype: torch.dtype) -> torch.Tensor:
    """``F.one_hot(index, k).to(dtype)`` without its range check, which reads the labels'
    min and max on the host (on the CPU; a GPU skips it): the training step stays free of
    host reads (``python -m engine.sync_audit``). Labels are checked where they come in."""
    return (index.unsqueeze(-1) == torch.arange(k, device=index.device)).to(dtype)


def minibatch_layer(kind: str, features: int, kernels: int, kernel_dim: int) -> nn.Module | None:
    """D's minibatch features on its last hidden features (MLP and DCGAN alike)."""
    if kind == "discrimination":
        return MinibatchDiscrimination(features, kernels, kernel_dim)
    if kind == "stddev":
        return MinibatchStd(features)
    return None


class Conditioned(nn.Module):
    """What the MLP and the DCGAN networks share: an optional class label, an optional
    InfoGAN code and the reference batch.

    A conditional network takes ``forward(x, y)`` with integer labels y; an unconditional
    one ignores y. With a reference/virtual norm the fixed reference batch R (buffers, so
    checkpoints keep it; its labels too when conditional) is prepended to every input so R
    runs through exactly the same layers each step; ``_drop_reference`` removes it again.

    InfoGAN (``codes`` K > 0): a generator reads a one-hot code c next to z
    (``forward(z, y, c)``, c integer codes; None: the codes in turn, 0, 1, ..., K-1, 0, ...;
    the reference rows always take the codes in turn); a discriminator has a head Q on its
    last hidden features that predicts c (``forward(x, y, with_q=True)`` returns (D, Q)).
    """

    classes: int
    ref_count: int
    codes: int = 0        # K of the InfoGAN code (read by G, predicted by D's head Q)
    code_input: int = 0   # K when this network reads the code (a generator)
    # a discriminator's InfoGAN head Q is the submodule ``q_head`` (None without a code; not
    # a class attribute, which would hide the registered submodule)

    def _init_reference(self, ref_count: int, shape: tuple[int, ...], classes: int) -> None:
        self.classes = classes
        self.ref_count = ref_count
        if ref_count:
            self.register_buffer("reference", torch.zeros(ref_count, *shape))
            self.register_buffer("reference_y", torch.zeros(ref_count, dtype=torch.long))
        else:
            self.reference = None
            self.reference_y = None

    def _with_reference(self, x: torch.Tensor, y: torch.Tensor | None
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.classes and y is None:
            raise ValueError("a conditional network needs class labels y")
        if not self.ref_count:
            return x, y
        x = torch.cat([self.reference.to(x.dtype), x], 0)
        if self.classes:
            y = torch.cat([self.reference_y, y], 0)
        return x, y

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        # checkpoints from before conditional networks hold no reference labels; an
        # unconditional network never reads them, so such files still load
        key = prefix + "reference_y"
        if self.ref_count and not self.classes and key not in state_dict:
            state_dict[key] = torch.zeros_like(self.reference_y)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _one_hot(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return one_hot_rows(y, self.classes, like.dtype)

    def _code_one_hot(self, c: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """One-hot codes for the rows of ``like`` (reference rows first, if any): the given
        codes of the input rows, or the codes in turn when None."""
        n = len(like) - self.ref_count
        if c is None:
            c = torch.arange(n, device=like.device) % self.codes
        elif len(c) != n:
            raise ValueError(f"codes: expected {n} codes, got {len(c)}")
        if self.ref_count:
            c = torch.cat([torch.arange(self.ref_count, device=like.device) % self.codes, c])
        return one_hot_rows(c, self.codes, like.dtype)

    def _q(self, h: torch.Tensor) -> torch.Tensor:
        if getattr(self, "q_head", None) is None:
            raise ValueError("this discriminator has no code head Q (generator.codes is 0)")
        return self.q_head(h)


class MLP(Conditioned):
    """Linear -> norm -> activation per hidden layer, then a linear output.

    Images go through flattened: ``in_shape`` flattens a D's input, ``out_shape`` makes G's
    output an image in [-1, 1] (tanh), like the data. A conditional MLP reads the one-hot
    label next to its input. With ``codes`` K > 0 a generator (``q_head=False``) reads a
    one-hot code after z and the label; a discriminator (``q_head=True``) gets the InfoGAN
    head Q, a linear layer from its last hidden features to K code logits.
    """

    def __init__(self, in_dim: int, hidden: list[int], out_dim: int, activation: str, norm: str,
                 ref_count: int = 0, minibatch: str = "none", mb_kernels: int = 50,
                 mb_dim: int = 5, classes: int = 0,
                 out_shape: tuple[int, ...] | None = None, codes: int = 0,
                 q_head: bool = False) -> None:
        super().__init__()
        spec = NORMS[norm]
        self.in_dim = in_dim
        self.norm_name = norm
        self.out_shape = out_shape
        self.codes = codes
        self.code_input = codes if not q_head else 0
        self._init_reference(ref_count if spec.needs_reference else 0, (in_dim,), classes)
        widths = [in_dim + classes + self.code_input, *hidden]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(spec.build(w, self.ref_count) for w in hidden)
        self.acts = nn.ModuleList(ACTIVATIONS[activation]() for _ in hidden)
        feat = hidden[-1]
        self.minibatch = minibatch_layer(minibatch, feat, mb_kernels, mb_dim)
        if self.minibatch is not None:
            feat = self.minibatch.out_features
        self.out = nn.Linear(feat, out_dim)
        self.q_head = nn.Linear(hidden[-1], codes) if q_head and codes else None
        if spec.spectral:
            for lin in [*self.linears, self.out]:
                spectral_norm(lin)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                c: torch.Tensor | None = None, *, with_q: bool = False) -> Any:
        m = self.ref_count
        h = x.flatten(1) if x.dim() > 2 else x
        h, y = self._with_reference(h, y)
        if self.classes:
            h = torch.cat([h, self._one_hot(y, h)], 1)
        if self.code_input:
            h = torch.cat([h, self._code_one_hot(c, h)], 1)
        for lin, norm, act in zip(self.linears, self.norms, self.acts):
            h = act(norm(lin(h)))
        if m:
            h = h[m:]
        features = h
        if self.minibatch is not None:
            h = self.minibatch(h)
        out = self.out(h)
        if self.out_shape is not None:
            out = torch.tanh(out).view(-1, *self.out_shape)
        if with_q:
            return out, self._q(features)
        return out


    def forward_in_context(self, x: torch.Tensor, context: torch.Tensor, batch: int,
                           y: torch.Tensor | None = None,
                           y_context: torch.Tensor | None = None) -> torch.Tensor:
        """D's output on each row of ``x`` as if it were one more member of the minibatch
        ``context`` (e.g. the current fakes). With minibatch features, D's verdict on a point
        depends on its batch-mates: scoring a grid of points together (each compared with
        the others, all spread over the plane) gives one flat colour, which is not what D
        says about a point among fakes. Norm layers see ``x`` with the context when they use
        batch statistics."""
        if self.minibatch is None:
            return self(x, y)

        def body(rows: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
            h, labels = self._with_reference(rows, labels)
            if self.classes:
                h = torch.cat([h, self._one_hot(labels, h)], 1)
            for lin, norm, act in zip(self.linears, self.norms, self.acts):
                h = act(norm(lin(h)))
            return h[self.ref_count:] if self.ref_count else h

        fc = body(context, y_context)
        if self.norm_name == "batch":  # statistics of the context, as in a batch of fakes
            chunk = max(1, len(context) // 8)
            fx = torch.cat([body(torch.cat([context, xc]), None if y is None else
                                 torch.cat([y_context, yc]))[len(context):]
                            for xc, yc in zip(torch.split(x, chunk),
                                              torch.split(y, chunk) if y is not None
                                              else [None] * -(-len(x) // chunk))])
        else:
            fx = body(x, y)
        return self.out(self.minibatch.in_context(fx, fc, batch))


def build_mlp(in_dim: int, out_dim: int, net_cfg: dict[str, Any], minibatch: bool = False,
              classes: int = 0, out_shape: tuple[int, ...] | None = None, codes: int = 0,
              q_head: bool = False) -> MLP:
    return MLP(
        in_dim, list(net_cfg["hidden"]), out_dim, net_cfg["activation"], net_cfg["norm"],
        ref_count=int(net_cfg["ref_size"]),
        minibatch=net_cfg.get("minibatch", "none") if minibatch else "none",
        mb_kernels=int(net_cfg.get("mb_kernels", 50)), mb_dim=int(net_cfg.get("mb_dim", 5)),
        classes=classes, out_shape=out_shape, codes=codes, q_head=q_head,
    )


def _plain_weight(lin: nn.Linear) -> torch.Tensor:
    """The stored weight of a Linear, whether or not spectral norm parametrizes it."""
    if hasattr(lin, "parametrizations") and "weight" in lin.parametrizations:
        return lin.parametrizations.weight.original
    return lin.weight


def _plain_name(name: str) -> str:
    return name.replace("parametrizations.weight.original", "weight")


def _kind(module: nn.Module) -> type:
    """A layer's class, seeing through spectral norm's generated ``Parametrized...`` class."""
    cls = type(module)
    return cls.__bases__[0] if cls.__name__.startswith("Parametrized") else cls


@torch.no_grad()
def _carry_by_name(old: nn.Module, new: nn.Module) -> int:
    """Copy every parameter of ``old`` into the same-named, same-shaped one of ``new``
    (spectral norm's stored weight counts as the weight), within layers of the same kind."""
    old_params = {_plain_name(name): t for name, t in old.named_parameters()}
    kinds = {n: _kind(m) for n, m in old.named_modules()}
    new_kinds = {n: _kind(m) for n, m in new.named_modules()}
    carried = 0
    for name, t in new.named_parameters():
        key = _plain_name(name)
        owner = key.rsplit(".", 1)[0] if "." in key else ""
        src = old_params.get(key)
        if src is not None and src.shape == t.shape and kinds.get(owner) is new_kinds.get(owner):
            t.copy_(src)
            carried += 1
    return carried


def input_layer(net: nn.Module) -> nn.Module | None:
    """The layer that reads a generator's input (z, label, code): an MLP's first linear
    layer, a DCGAN generator's ``fc``."""
    if isinstance(net, MLP):
        return net.linears[0]
    return getattr(net, "fc", None)


@torch.no_grad()
def _carry_code_columns(old: nn.Module, new: nn.Module) -> int:
    """A generator that gains, loses or changes its InfoGAN code (same z and labels): its
    input layer keeps the weights of z and the label, and of the codes both have; a new
    code's weights start at zero, so G draws exactly what it drew before the swap."""
    k_old, k_new = getattr(old, "code_input", 0), getattr(new, "code_input", 0)
    lo, ln = input_layer(old), input_layer(new)
    if k_old == k_new or lo is None or ln is None:
        return 0
    wo, wn = _plain_weight(lo), _plain_weight(ln)
    shared = wo.shape[1] - k_old
    if wo.shape[0] != wn.shape[0] or shared != wn.shape[1] - k_new or shared <= 0:
        return 0
    k = min(k_old, k_new)
    wn.zero_()
    wn[:, :shared + k] = wo[:, :shared + k]
    ln.bias.copy_(lo.bias)
    return 2


@torch.no_grad()
def carry_weights(old: nn.Module, new: nn.Module) -> int:
    """Copy every layer of ``old`` whose shape (and, for norms, kind) matches into ``new``.

    Returns the number of tensors carried, so callers and tests can tell what survived.
    """
    carried = _carry_code_columns(old, new)
    if not (isinstance(old, MLP) and isinstance(new, MLP)):
        return carried + _carry_by_name(old, new)
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
    if (old.q_head is not None and new.q_head is not None
            and old.q_head.weight.shape == new.q_head.weight.shape):
        new.q_head.load_state_dict(old.q_head.state_dict())
        carried += 2
    return carried

"""The engine's names and titles, torch-free: what a front end may know without torch.

The window lists losses, normalizations, activations, optimizers and metric columns, and
shows or hides controls by what a loss or norm needs; it must do all that without importing
torch (the engine runs in another process, maybe on another machine). So the facts live
here as plain data, and the torch modules (``losses``, ``norms``, ``networks``,
``optimizers``) build their registries on these names: a test holds the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossInfo:
    """What a front end needs to know of a loss (GAN_REFERENCE.md, "Losses")."""

    name: str
    title: str
    probability: bool          # D's output read through a sigmoid (BCE losses)
    uses_labels: bool = False  # label smoothing applies
    clips: bool = False        # clamp critic weights after each critic step
    penalty: bool = False      # gradient penalty term
    # D is trained; False (moment matching): D's step is skipped, its figures are NaN and
    # its output means nothing (a front end says "D is not trained" instead of drawing it)
    trains_d: bool = True
    kernel: bool = False       # G's loss is a kernel MMD: ``loss.mmd_bandwidths`` apply


LOSS_INFO: dict[str, LossInfo] = {
    i.name: i
    for i in [
        LossInfo("minimax", "Minimax (saturating)", probability=True, uses_labels=True),
        LossInfo("non-saturating", "Non-saturating", probability=True, uses_labels=True),
        LossInfo("wgan", "WGAN (clipping)", probability=False, clips=True),
        LossInfo("wgan-gp", "WGAN-GP", probability=False, penalty=True),
        LossInfo("least-squares", "Least squares", probability=False),
        LossInfo("hinge", "Hinge", probability=False),
        LossInfo("mmd", "MMD (moment matching, no D)", probability=False, trains_d=False,
                 kernel=True),
    ]
}


def trains_d(name: str) -> bool:
    """Whether loss ``name`` trains a discriminator (an unknown name: assume it does)."""
    info = LOSS_INFO.get(name)
    return info.trains_d if info is not None else True


NO_D_NOTE = ("D is not trained under {title}: G matches the data's kernel moments directly, "
             "so D's output (and anything drawn from it) is an untrained network's and "
             "means nothing")


def no_d_note(name: str) -> str:
    """The one line a view that reads D shows instead of pretending (empty when D trains)."""
    return "" if trains_d(name) else NO_D_NOTE.format(title=loss_title(name))


def loss_title(name: str) -> str:
    """A loss's title, or its name when unknown (an old preset, a newer engine)."""
    info = LOSS_INFO.get(name)
    return info.title if info is not None else name


def generator_loss_curve(name: str, d: np.ndarray) -> np.ndarray:
    """L_G per sample as a function of D's output on a fake, for the generator-loss panel:
    D(G(z)) as a probability for the BCE losses, the raw score otherwise. A loss that does
    not read D (``trains_d`` False: MMD) is flat zero: D's output does not move it."""
    d = np.asarray(d, dtype=np.float64)
    if name in ("minimax", "non-saturating"):
        p = np.clip(d, 1e-12, 1 - 1e-12)
        return np.log1p(-p) if name == "minimax" else -np.log(p)
    if name == "least-squares":
        return 0.5 * (d - 1) ** 2
    info = LOSS_INFO.get(name)
    if info is not None and not info.trains_d:
        return np.zeros_like(d)
    return -d  # wgan, wgan-gp, hinge


# --------------------------------------------------------------------------- networks


@dataclass(frozen=True)
class NormInfo:
    name: str
    title: str
    needs_reference: bool = False  # a fixed reference batch R (reference, virtual)
    spectral: bool = False         # a weight parametrization rather than a layer


NORM_INFO: dict[str, NormInfo] = {
    i.name: i
    for i in [
        NormInfo("none", "None"),
        NormInfo("batch", "Batch norm"),
        NormInfo("reference", "Reference batch norm", needs_reference=True),
        NormInfo("virtual", "Virtual batch norm", needs_reference=True),
        NormInfo("layer", "Layer norm"),
        NormInfo("spectral", "Spectral norm", spectral=True),
    ]
}


def norm_title(name: str) -> str:
    info = NORM_INFO.get(name)
    return info.title if info is not None else name


ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "gelu", "silu", "softplus", "sigmoid")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
ARCHITECTURES = ("mlp", "dcgan")
MINIBATCH_FEATURES = ("none", "discrimination", "stddev")

# --------------------------------------------------------------------------- metrics

COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm",
           "modes", "high_quality", "mode_kl", "js", "kl", "w1", "mmd", "fid", "inception_score",
           "kid", "mutual_info")
STEP_COLUMNS = COLUMNS[1:7]  # the per-step figures the training loop produces on the device
CADENCE_COLUMNS = COLUMNS[7:]  # every train.metrics_every steps, empty elsewhere

COLUMN_TITLES = {
    "d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x) on real",
    "d_fake": "D(G(z)) on fakes", "g_grad_norm": "G's gradient norm",
    "d_grad_norm": "D's gradient norm", "modes": "modes captured",
    "high_quality": "high-quality share", "mode_kl": "mode KL", "js": "JS", "kl": "KL",
    "w1": "W₁", "mmd": "MMD²", "fid": "FID", "inception_score": "Inception score",
    "kid": "KID", "mutual_info": "I(c; G(z, c)) bound",
}

"""Image-quality scores without downloads: a small classifier trained on the data set itself.

There are no Inception weights here, so FID and IS use a small CNN trained (once, then cached
on disk) on the labelled real images:

- FID: the Fréchet distance between Gaussian fits of its penultimate features (``FEATURES``
  wide) on real and on generated images. It is comparable only between runs scored by the
  same classifier, never with published Inception FIDs.
- IS: ``exp(E_x KL(p(y|x) || p(y)))`` from its class probabilities; at most the number of
  classes, reached by confident predictions spread evenly over all classes.
- Mode coverage for images: how many classes the generated images confidently fall in, and
  how far the histogram of their predicted classes is from uniform.

The cache file is ``<cache dir>/classifier-<hash>.safetensors`` (weights, the real images'
feature mean and covariance, and string metadata), written atomically; a missing, corrupt or
mismatched file is trained over. Loading never unpickles.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from scipy.special import xlogy
from torch import Tensor, nn

from .atomic import atomic_write_bytes
from .userdirs import cache_dir

FEATURES = 64  # penultimate width
KID_REAL = 2000  # real features kept for KID (a fixed sample of the training images)
CLASSIFIER_VERSION = 2  # bump when the architecture or training changes: old caches retrain
KIND = "gan-playground/quality-classifier"

MIN_IMAGES = 20
HOLDOUT = 0.1
BATCH = 128
LR = 3e-3
MIN_STEPS = 120  # small sets get more epochs so the classifier still converges
MAX_EPOCHS = 30
MAX_STEPS = 2000  # large sets get fewer epochs (at least one)
BASE_EPOCHS = 5

Progress = Callable[[float, str], None]


class Classifier(nn.Module):
    """Small CNN for ``(N, C, H, W)`` images in [-1, 1], square, 8..64 pixels a side.

    conv3x3(C,32)-BN-ReLU, conv3x3/2(32,64)-BN-ReLU, conv3x3/2(64,64)-BN-ReLU (one more
    stride-2 conv for 32 pixels and up), adaptive average pool to 2x2, then
    Linear(256, FEATURES)-ReLU = features, Linear(FEATURES, classes) = logits.
    """

    def __init__(self, channels: int, size: int, classes: int):
        super().__init__()
        self.channels, self.size, self.classes = int(channels), int(size), int(classes)

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        layers = block(self.channels, 32, 1) + block(32, 64, 2) + block(64, 64, 2)
        if self.size >= 32:
            layers += block(64, 64, 2)
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(64 * 4, FEATURES), nn.ReLU(inplace=True))
        self.head = nn.Linear(FEATURES, self.classes)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features, ``(N, FEATURES)``."""
        return self.embed(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        """Logits, ``(N, classes)``."""
        return self.head(self.features(x))


# --- statistics -------------------------------------------------------------------------------


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples) of ``features``, in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"a Gaussian fit needs at least 2 feature rows, got shape {f.shape}")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """The symmetric square root of a (nearly) positive semi-definite matrix."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """``Tr((S1 S2)^(1/2))``: the sum of the square roots of the eigenvalues of S1 S2, which
    are those of the symmetric S1^(1/2) S2 S1^(1/2) (real, non-negative up to rounding).
    No complex matrix square root, so no imaginary parts to drop and no fallback."""
    r = _sqrt_psd(s1)
    m = r @ s2 @ r
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between two Gaussians (GAN_REFERENCE:
    the trace of the square root from eigenvalues). Never negative; NaN when the statistics
    are not finite (a generator whose images overflowed), never a linear-algebra error."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched Gaussian statistics: means {mu1.shape} and {mu2.shape}, "
                         f"covariances {s1.shape} and {s2.shape}")
    if not all(np.isfinite(a).all() for a in (mu1, mu2, s1, s2)):
        return math.nan
    diff = mu1 - mu2
    try:
        tr = float(np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))
    except np.linalg.LinAlgError:
        return math.nan
    return max(float(diff @ diff) + tr, 0.0)


def inception_score(probs: np.ndarray) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))``: 1 (no information) up to the number of classes."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probabilities must be (N, K) with N >= 1, got shape {p.shape}")
    p = np.clip(p, 0.0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
    py = p.mean(axis=0, keepdims=True)
    kl = (xlogy(p, p) - xlogy(p, np.maximum(py, 1e-300))).sum(axis=1)
    return float(np.exp(max(float(kl.mean()), 0.0)))


def default_cache_dir() -> Path:
    """The classifier cache folder (see ``engine.userdirs.cache_dir``)."""
    return cache_dir()


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 10,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """KID (Bińkowski et al. 2018): the unbiased MMD² between two feature sets with the
    cubic polynomial kernel ``k(x, y) = (xᵀy / d + 1)³``, averaged over ``subsets`` random
    subsets of ``subset_size`` rows of each. Unlike FID it is unbiased at small sample sizes,
    so figures from 500 and from 5,000 images are comparable. NaN when not finite."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"KID needs two (n, d) feature sets, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 rows in each set, got {len(a)} and {len(b)}")
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(max(1, subsets)):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1.0) ** 3
        kyy = (y @ y.T / d + 1.0) ** 3
        kxy = (x @ y.T / d + 1.0) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                      + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2.0 * kxy.mean())
    return float(np.mean(values))


@dataclass(frozen=True)
class Scores:
    fid: float
    inception: float  # IS
    classes_seen: int  # distinct argmax classes among images whose max prob > 0.5
    class_kl: float  # KL(histogram of argmax classes || uniform): mode imbalance
    confident: float  # fraction of images classified with max prob > 0.9
    kid: float = math.nan  # kernel inception distance against real features (unbiased)


def _scores(features: np.ndarray, probs: np.ndarray, mu: np.ndarray, cov: np.ndarray,
            real_features: np.ndarray | None = None) -> Scores:
    if not (np.isfinite(features).all() and np.isfinite(probs).all()):
        nan = math.nan
        return Scores(fid=nan, inception=nan, classes_seen=0, class_kl=nan, confident=nan)
    fmu, fcov = gaussian_fit(features)
    k = probs.shape[1]
    top = probs.max(axis=1)
    arg = probs.argmax(axis=1)
    hist = np.bincount(arg, minlength=k) / len(arg)
    return Scores(
        fid=frechet_distance(fmu, fcov, mu, cov),
        inception=inception_score(probs),
        classes_seen=int(np.unique(arg[top > 0.5]).size),
        class_kl=float(max(xlogy(hist, hist * k).sum(), 0.0)),
        confident=float((top > 0.9).mean()),
        kid=(kernel_inception_distance(features, real_features)
             if real_features is not None and len(real_features) > 1 and len(features) > 1
             else math.nan),
    )


# --- the meter --------------------------------------------------------------------------------

_MEMORY: dict[str, QualityMeter] = {}
_LOCK = threading.RLock()


def clear_memory_cache() -> None:
    """Forget the meters kept in this process (the files on disk stay)."""
    with _LOCK:
        _MEMORY.clear()


def _fingerprint(images: Tensor, labels: Tensor) -> str:
    """sha1 of the labels, N, and a strided subsample (at most ~1M values) of the images."""
    flat = images.detach().reshape(-1)
    stride = max(1, flat.numel() // 1_000_003)
    sample = flat[::stride].to("cpu", torch.float32).contiguous().numpy()
    h = hashlib.sha1()
    h.update(f"n={images.shape[0]};stride={stride};".encode())
    h.update(sample.tobytes())
    h.update(labels.detach().to("cpu", torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def _metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of safetensors bytes: an 8-byte little-endian length, then JSON."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or size <= 0 or 8 + size > len(data):
        raise ValueError("not a safetensors file")
    meta = json.loads(data[8:8 + size].decode("utf-8")).get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("bad safetensors metadata")
    return meta


def _batches(n: int, batch: int):
    for i in range(0, n, batch):
        yield slice(i, min(i + batch, n))


class QualityMeter:
    """A trained classifier plus the real data's feature statistics."""

    classes: int
    accuracy: float  # held-out accuracy measured at training time
    holdout: int  # how many held-out images ``real_scores`` uses (FID shrinks with more images)

    def __init__(self, net: Classifier, *, key: str, shape: tuple[int, int, int], accuracy: float,
                 holdout: int, mu: np.ndarray, cov: np.ndarray, real: Scores,
                 real_features: np.ndarray, path: Path | None = None):
        self._net = net.eval()
        self.key = key
        self.shape = tuple(int(s) for s in shape)
        self.classes = net.classes
        self.accuracy = float(accuracy)
        self.holdout = int(holdout)
        self.path = path
        self._mu, self._cov = mu, cov
        self._real = real
        self._real_features = real_features  # a subset of the real set's features (KID)
        self._lock = threading.Lock()

    # --- construction ---

    @classmethod
    def for_data(cls, key: str, images: Tensor, labels: Tensor, classes: int, *,
                 cache_dir: Path | None = None, progress: Progress | None = None,
                 seed: int = 0) -> QualityMeter:
        """The meter for this labelled image set: from memory, from the cache file, or trained.

        ``images`` (N, C, H, W) float in [-1, 1] on any device; ``labels`` int (N,) in
        ``[0, classes)``. ``key`` names the data set and its parameters.
        """
        images, labels = cls._check(images, labels, classes)
        shape = tuple(int(s) for s in images.shape[1:])
        ident = "\n".join([key, f"shape={tuple(images.shape)}", f"classes={classes}",
                           f"seed={seed}", _fingerprint(images, labels)])
        digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        path = folder / f"classifier-{digest[:16]}.safetensors"
        meta_want = {"kind": KIND, "version": str(CLASSIFIER_VERSION), "key": key,
                     "classes": str(classes), "shape": json.dumps(list(shape)),
                     "n": str(images.shape[0]), "seed": str(seed), "ident": digest}
        with _LOCK:
            mem_key = str(path.absolute())
            meter = _MEMORY.get(mem_key)
            if meter is None:
                meter = cls._load(path, meta_want)
            if meter is None:
                meter = cls._train(images, labels, classes, seed, key, progress)
                meter.path = path
                meter._save(path, meta_want)
            _MEMORY[mem_key] = meter
            return meter

    @staticmethod
    def unscorable(n_images: int, labels: Any, classes: int) -> str:
        """Why a labelled set cannot train the classifier ('' when it can): one rule for
        ``_check`` (which refuses) and the session (which then trains without FID/IS)."""
        need = "FID and IS need a labelled image set"
        if int(classes) < 2:
            return (f"{need} with at least 2 classes (got {classes}): the scores come "
                    f"from a classifier trained on the data set's labels")
        if n_images < MIN_IMAGES:
            return f"{need} of at least {MIN_IMAGES} images (got {n_images})"
        if labels is not None and len(labels) and torch.unique(torch.as_tensor(labels)).numel() < 2:
            return f"{need} with at least 2 distinct labels; all images have the same one"
        return ""

    @staticmethod
    def _check(images: Tensor, labels: Tensor, classes: int) -> tuple[Tensor, Tensor]:
        if int(classes) < 2:
            raise ValueError(QualityMeter.unscorable(MIN_IMAGES, None, classes))
        if not torch.is_tensor(images) or images.dim() != 4:
            raise ValueError(f"images must be a (N, C, H, W) tensor, got "
                             f"{tuple(images.shape) if torch.is_tensor(images) else type(images)}")
        if images.shape[0] < MIN_IMAGES:
            raise ValueError(QualityMeter.unscorable(images.shape[0], None, classes))
        labels = torch.as_tensor(labels).reshape(-1)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        if labels.is_floating_point() or labels.is_complex():
            raise ValueError("labels must be integers (class indices)")
        labels = labels.to(images.device, torch.int64)
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= classes:
            raise ValueError(f"labels must lie in [0, {classes}), found {lo}..{hi}")
        why = QualityMeter.unscorable(images.shape[0], labels, classes)
        if why:
            raise ValueError(why)
        images = images.detach()
        if not images.is_floating_point():
            raise ValueError("images must be floats in [-1, 1]")
        images = images.float()
        if not bool(torch.isfinite(images).all()):
            raise ValueError("images contain NaN or infinite values")
        return images, labels

    @classmethod
    def _train(cls, images: Tensor, labels: Tensor, classes: int, seed: int, key: str,
               progress: Progress | None) -> QualityMeter:
        device = images.device
        n, c, h, w = images.shape
        report = progress or (lambda f, m: None)
        with torch.random.fork_rng(devices=[]):  # CPU only; training uses no device RNG
            torch.random.default_generator.manual_seed(seed)
            net = Classifier(c, max(h, w), classes)
        gen = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=gen)
        n_hold = max(2, int(round(HOLDOUT * n)))
        hold, train = perm[:n_hold].to(device), perm[n_hold:].to(device)
        steps_per_epoch = math.ceil(len(train) / BATCH)
        epochs = min(MAX_EPOCHS, max(BASE_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch)))
        epochs = max(1, min(epochs, MAX_STEPS // steps_per_epoch))
        total = epochs * steps_per_epoch
        net = net.to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total,
                                                    pct_start=0.15)
        step, last = 0, -1.0
        report(0.0, f"Training the quality classifier (epoch 1/{epochs})")
        for epoch in range(epochs):
            order = train[torch.randperm(len(train), generator=gen).to(device)]
            for sl in _batches(len(order), BATCH):
                idx = order[sl]
                if len(idx) < 2:  # BatchNorm needs 2; the next epoch reshuffles
                    continue
                loss = nn.functional.cross_entropy(net(images[idx]), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched.last_epoch + 1 < total:
                    sched.step()
                step += 1
                frac = 0.95 * step / total
                if frac - last >= 0.02:
                    last = frac
                    report(frac, f"Training the quality classifier (epoch {epoch + 1}/{epochs})")
        report(0.95, "Measuring the real images")
        net.eval()
        feats, probs = _forward(net, images, 500)
        mu, cov = gaussian_fit(feats)
        hold_np = hold.cpu().numpy()
        accuracy = float((probs[hold_np].argmax(1) == labels[hold].cpu().numpy()).mean())
        # KID compares with real features: a fixed sample of the training part (the held-out
        # images score themselves against it, as a generator's images will)
        train_np = train.cpu().numpy()
        pick = np.sort(np.random.default_rng(seed).choice(
            len(train_np), min(KID_REAL, len(train_np)), replace=False))
        real_features = feats[train_np[pick]].astype(np.float32)
        real = _scores(feats[hold_np], probs[hold_np], mu, cov, real_features)
        report(1.0, f"Quality classifier ready ({accuracy:.1%} held-out accuracy)")
        return cls(net, key=key, shape=(c, h, w), accuracy=accuracy, holdout=n_hold, mu=mu,
                   cov=cov, real=real, real_features=real_features)

    @classmethod
    def _load(cls, path: Path, want: dict[str, str]) -> QualityMeter | None:
        """The meter in ``path``, or None when it is missing, unreadable or for other data."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            meta = _metadata(data)
            if any(meta.get(k) != v for k, v in want.items()):
                return None
            tensors = st_load(data)
            shape = tuple(json.loads(meta["shape"]))
            net = Classifier(shape[0], max(shape[1], shape[2]), int(meta["classes"]))
            net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")},
                                strict=True)
            mu = tensors["real_mu"].numpy().astype(np.float64)
            cov = tensors["real_cov"].numpy().astype(np.float64)
            real_features = tensors["real_features"].numpy().astype(np.float32)
            if real_features.ndim != 2 or real_features.shape[1] != FEATURES:
                return None
            if mu.shape != (FEATURES,) or cov.shape != (FEATURES, FEATURES):
                return None
            if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
                return None
            real = Scores(**json.loads(meta["real_scores"]))
            accuracy = float(meta["accuracy"])
            holdout = int(meta["holdout"])
        except Exception:  # a corrupt or foreign file: train over it
            return None
        return cls(net, key=want["key"], shape=shape, accuracy=accuracy, holdout=holdout, mu=mu,
                   cov=cov, real=real, real_features=real_features, path=path)

    def _save(self, path: Path, meta: dict[str, str]) -> None:
        tensors = {"net." + k: v.detach().cpu().contiguous()
                   for k, v in self._net.state_dict().items()}
        tensors["real_mu"] = torch.from_numpy(np.ascontiguousarray(self._mu))
        tensors["real_cov"] = torch.from_numpy(np.ascontiguousarray(self._cov))
        tensors["real_features"] = torch.from_numpy(np.ascontiguousarray(self._real_features))
        meta = {**meta, "accuracy": repr(self.accuracy), "holdout": str(self.holdout),
                "real_scores": json.dumps(asdict(self._real)),
                "features": str(FEATURES),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            atomic_write_bytes(str(path), st_save(tensors, metadata=meta))
        except OSError as e:  # an unwritable cache costs a retrain next time, nothing more
            warnings.warn(f"could not write the quality classifier cache {path}: {e}",
                          RuntimeWarning, stacklevel=3)

    # --- scoring ---

    def _check_fake(self, x: Tensor) -> Tensor:
        if not torch.is_tensor(x) or x.dim() != 4 or tuple(x.shape[1:]) != self.shape:
            got = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"images must be (N, {', '.join(map(str, self.shape))}) like the "
                             f"data set, got {got}")
        return x.detach().float()

    def predict_proba(self, x: Tensor, batch: int = 500) -> np.ndarray:
        """Class probabilities ``(N, classes)`` for images in [-1, 1]."""
        x = self._check_fake(x)
        with self._lock:
            self._net.to(x.device)
            return _forward(self._net, x, batch)[1]

    def scores(self, fake: Tensor, batch: int = 500) -> Scores:
        """FID against the real set, IS and mode coverage of ``fake`` (N >= 2, in [-1, 1])."""
        fake = self._check_fake(fake)
        if fake.shape[0] < 2:
            raise ValueError(f"scoring needs at least 2 images, got {fake.shape[0]}")
        with self._lock:
            self._net.to(fake.device)
            feats, probs = _forward(self._net, fake, batch)
        return _scores(feats, probs, self._mu, self._cov, self._real_features)

    def real_scores(self) -> Scores:
        """Held-out real images (``holdout`` of them) against the full set: the best a generator
        can hope for. FID is biased upwards by small samples, so compare with fakes of a
        similar count."""
        return self._real


def _forward(net: Classifier, x: Tensor, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and probabilities (float64 numpy), eval mode, no grad, fp32."""
    net.eval()
    feats, probs = [], []
    with torch.no_grad():
        for sl in _batches(x.shape[0], max(1, int(batch))):
            f = net.features(x[sl].float())
            feats.append(f.double().cpu().numpy())
            probs.append(torch.softmax(net.head(f).double(), dim=1).cpu().numpy())
    return np.concatenate(feats), np.concatenate(probs)

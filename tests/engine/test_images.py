"""Image data through a real Session: every source, bad files, every network and norm,
conditional sampling, FID/IS in the history, checkpoints.

Everything is tiny (8x8 digits or 16x16 pictures, widths of 4-8, batches of 8-16) and every
file is written by the test itself; the quality classifier's cache goes to a temporary
folder, never to the user's home.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from engine import Session, load_generator
from engine.config import default_config, with_changes
from engine.headless import run_headless
from engine.imagefiles import FASHION_CLASSES, MNIST_FILES
from engine.metrics import COLUMNS
from engine.networks import MLP
from engine.norms import BatchNorm, ChannelLayerNorm, ReferenceNorm
from engine.snapshot import ViewRequest
from engine.stfile import read_metadata

# --------------------------------------------------------------------------- fixtures, helpers


@pytest.fixture(scope="module")
def _cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("classifier-cache")


@pytest.fixture(autouse=True)
def _private_cache_and_one_thread(monkeypatch, _cache_dir):
    """The quality classifier's cache lives in a temporary folder (shared by this module, so
    the digits classifier trains once), and torch uses one thread."""
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(_cache_dir))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


NETS: dict[str, Any] = {
    "seed": 0, "device": "cpu", "noise.dim": 8,
    "generator.arch": "dcgan", "discriminator.arch": "dcgan",
    "generator.width": 4, "discriminator.width": 4,
    "generator.depth": 1, "discriminator.depth": 1,
    "generator.hidden": [8], "discriminator.hidden": [8],
    "generator.ref_size": 8, "discriminator.ref_size": 8,
    "discriminator.mb_kernels": 4, "discriminator.mb_dim": 3,
    "train.batch_size": 8, "train.metrics_every": 0,
}
DIGITS8 = {"data.name": "digits", "data.size": 8}


def cfg(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tiny validated config: 8x8 digits and tiny DCGANs unless ``changes`` say otherwise."""
    changes = dict(changes or {})
    data = {} if "data.name" in changes else DIGITS8
    return with_changes(default_config(), {**NETS, **data, **changes})


def folder_cfg(path: Path, colour: bool = False, **changes: Any) -> dict[str, Any]:
    return cfg({"data.name": "folder", "data.path": str(path), "data.size": 16,
                "data.colour": colour, **changes})


def finite_losses(s: Session) -> bool:
    last = s.history.last()
    return all(np.isfinite(last[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))


def state(s: Session) -> dict[str, Any]:
    """What a refused change must leave alone: config, step, weights and buffers."""
    return {"config": s.config, "step": s.step,
            "g": {k: v.clone() for k, v in s.generator.state_dict().items()},
            "d": {k: v.clone() for k, v in s.discriminator.state_dict().items()},
            "g_id": id(s.generator), "d_id": id(s.discriminator)}


def assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["config"] == b["config"]
    assert a["step"] == b["step"]
    assert (a["g_id"], a["d_id"]) == (b["g_id"], b["d_id"])
    for net in ("g", "d"):
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} changed"


def idx_bytes(arr: np.ndarray) -> bytes:
    """IDX: two zero bytes, the type code (0x08: uint8), ndim, big-endian dims, the data."""
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_mnist(folder: Path, n: int = 40, side: int = 8, n_labels: int | None = None,
                images_magic: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two gzipped training files of MNIST, tiny: random images, labels 0..9 in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
    y = (np.arange(n if n_labels is None else n_labels) % 10).astype(np.uint8)
    data = idx_bytes(x)
    if images_magic is not None:
        data = images_magic + data[4:]
    (folder / MNIST_FILES["mnist"][0]).write_bytes(gzip.compress(data))
    (folder / MNIST_FILES["mnist"][1]).write_bytes(gzip.compress(idx_bytes(y)))
    return x, y


def write_pngs(folder: Path, n: int, fill, seed: int = 0, side: int = 8) -> None:
    """``n`` PNGs of ``fill`` (a grey level or an RGB triple in 0..255) plus a little noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    colour = np.ndim(fill) == 1
    shape = (side, side, 3) if colour else (side, side)
    for i in range(n):
        a = np.clip(np.asarray(fill, float) + rng.normal(0, 10, shape), 0, 255)
        PIL.Image.fromarray(a.astype(np.uint8)).save(folder / f"{i:03d}.png")


@pytest.fixture(scope="module")
def bright_dark(tmp_path_factory) -> Path:
    """Two trivially separable classes of 8x8 grey pictures, 50 each: 'bright' (about +0.8)
    and 'dark' (about -0.8)."""
    root = tmp_path_factory.mktemp("bright_dark")
    write_pngs(root / "bright", 50, 0.9 * 255, seed=1)
    write_pngs(root / "dark", 50, 0.1 * 255, seed=2)
    return root


def matching_rows(images: np.ndarray, data: np.ndarray) -> list[np.ndarray]:
    """For each image, the indices of the data rows it equals (to float precision)."""
    flat = data.reshape(len(data), -1)
    return [np.flatnonzero(np.abs(flat - im.reshape(1, -1)).max(1) < 1e-5) for im in images]


SNAP = ViewRequest(images=6, real_images=10, d_histogram=4, heatmap=False, n_fake=0, n_real=0)


def check_image_session(s: Session, shape: tuple[int, int, int], class_names: tuple[str, ...]):
    """Samples, training and the image snapshot of a session over an image set."""
    assert s.dataset.is_image
    assert s.class_names == class_names
    x = s.sample(5)
    assert x.shape == (5, *shape) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    s.train(2)
    assert s.step == 2 and finite_losses(s)
    snap = s.snapshot(SNAP)
    assert snap.dim == 0 and snap.heatmap is None
    assert snap.images_fake.shape == (6, *shape)
    assert snap.images_real.shape == (10, *shape)
    for im in (snap.images_fake, snap.images_real):
        assert np.isfinite(im).all() and im.min() >= -1 and im.max() <= 1
    assert snap.d_fake.shape == (4,) and snap.d_real.shape == (4,)
    assert np.isfinite(snap.d_fake).all() and np.isfinite(snap.d_real).all()
    assert snap.labels_fake is None  # unconditional
    if class_names:
        labels = snap.labels_real
        assert labels.shape == (10,) and np.all(np.diff(labels) >= 0), labels
        assert labels.min() >= 0 and labels.max() < len(class_names)
    else:  # no classes to show (the draw labels them all 0 internally)
        assert snap.class_names == ()
        assert snap.labels_real is None or not snap.labels_real.any()
    return snap


# --------------------------------------------------------------------------- 1. data sources


@pytest.mark.parametrize("size", [8, 16])
def test_digits_through_a_session(size):
    from sklearn.datasets import load_digits

    s = Session(cfg({"data.size": size}))
    snap = check_image_session(s, (1, size, size), tuple(str(i) for i in range(10)))
    if size == 8:  # the real images are the digits themselves, with their own labels
        d = load_digits()
        data = np.clip(np.rint(d.images * (255 / 16)), 0, 255) / 127.5 - 1
        for rows, label in zip(matching_rows(snap.images_real, data), snap.labels_real):
            assert len(rows) and label in d.target[rows]


def test_mnist_from_a_folder_of_gzipped_idx_files(tmp_path):
    write_mnist(tmp_path / "mnist", n=40, side=8)  # 8x8 pictures, resized to the 16 asked for
    s = Session(cfg({"data.name": "mnist", "data.path": str(tmp_path / "mnist"),
                     "data.size": 16}))
    check_image_session(s, (1, 16, 16), tuple(str(i) for i in range(10)))


def test_mnist_from_an_npz_keeps_images_and_labels_together(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    y = np.arange(40) % 10
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y)
    s = Session(cfg({"data.name": "mnist", "data.path": str(tmp_path / "mnist.npz"),
                     "data.size": 28}))
    snap = check_image_session(s, (1, 28, 28), tuple(str(i) for i in range(10)))
    data = x[:, None] / 127.5 - 1
    for rows, label in zip(matching_rows(snap.images_real, data), snap.labels_real):
        assert list(y[rows]) == [label]


def test_fashion_mnist_from_an_npz_has_its_class_names(tmp_path):
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "f.npz", x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
             y_train=np.arange(30) % 10)
    s = Session(cfg({"data.name": "fashion-mnist", "data.path": str(tmp_path / "f.npz"),
                     "data.size": 16}))
    check_image_session(s, (1, 16, 16), FASHION_CLASSES)


def test_a_grey_folder_with_class_subfolders(tmp_path, bright_dark):
    s = Session(folder_cfg(bright_dark))
    snap = check_image_session(s, (1, 16, 16), ("bright", "dark"))
    means = snap.images_real.mean((1, 2, 3))
    assert np.all(means[snap.labels_real == 0] > 0.5) and np.all(means[snap.labels_real == 1] < -0.5)


def test_a_colour_folder_keeps_its_colours(tmp_path):
    write_pngs(tmp_path / "pics" / "blue", 12, (20, 20, 230), seed=1)
    write_pngs(tmp_path / "pics" / "red", 12, (230, 20, 20), seed=2)
    s = Session(folder_cfg(tmp_path / "pics", colour=True))
    snap = check_image_session(s, (3, 16, 16), ("blue", "red"))
    rgb = snap.images_real.mean((2, 3))  # (n, 3) channel means
    blue, red = rgb[snap.labels_real == 0], rgb[snap.labels_real == 1]
    assert len(blue) and len(red)
    assert np.all(blue[:, 2] > blue[:, 0] + 1) and np.all(red[:, 0] > red[:, 2] + 1)
    # the same folder read as grey
    grey = Session(folder_cfg(tmp_path / "pics", colour=False))
    assert grey.sample(3).shape == (3, 1, 16, 16)


def test_an_unlabelled_folder(tmp_path):
    write_pngs(tmp_path / "loose", 10, 128)
    s = Session(folder_cfg(tmp_path / "loose"))
    check_image_session(s, (1, 16, 16), ())
    assert s.classes == 0 and s.quality_meter() is None
    assert s.cadence_metrics(100) == {}  # no classifier for FID/IS without labels


@pytest.mark.parametrize("classes, per_class", [(1, 30), (2, 4)])  # photos/cats; too few
def test_a_labelled_folder_the_classifier_cannot_learn_trains_past_its_metrics_steps(
        tmp_path, classes, per_class):
    """One class subfolder, or 8 pictures in all: no FID/IS (as unlabelled), and training
    goes on through every metrics step instead of being rolled back at the first."""
    for c in range(classes):
        write_pngs(tmp_path / "photos" / f"kind{c}", per_class, 60 + 120 * c, seed=c)
    s = Session(folder_cfg(tmp_path / "photos", **{"train.metrics_every": 3,
                                                    "train.metrics_samples": 100}))
    assert s.dataset.classes(s.config["data"]) == classes  # labelled, by its subfolders
    s.train(7)  # through the metrics steps 3 and 6
    assert s.step == 7 and s.quality_meter() is None
    rows = s.history.rows
    fid = rows[:, COLUMNS.index("fid")]
    assert np.isnan(fid).all() and finite_losses(s)


# --------------------------------------------------------------------------- 2. bad files


def _no_path(tmp_path: Path) -> dict[str, Any]:
    return {"data.name": "mnist", "data.size": 16}


def _corrupt_png(tmp_path: Path) -> dict[str, Any]:
    write_pngs(tmp_path / "pics" / "a", 4, 100)
    (tmp_path / "pics" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return {"data.name": "folder", "data.path": str(tmp_path / "pics"), "data.size": 16}


def _bad_magic(tmp_path: Path) -> dict[str, Any]:
    write_mnist(tmp_path / "m", images_magic=b"\x12\x34\x08\x03")
    return {"data.name": "mnist", "data.path": str(tmp_path / "m"), "data.size": 16}


def _count_mismatch(tmp_path: Path) -> dict[str, Any]:
    write_mnist(tmp_path / "m", n=40, n_labels=39)
    return {"data.name": "mnist", "data.path": str(tmp_path / "m"), "data.size": 16}


BAD_FILES = {
    "mnist without a path": (_no_path, ["data.path", "train-images-idx3-ubyte.gz",
                                        "train-labels-idx1-ubyte.gz"]),
    "a corrupt png": (_corrupt_png, ["broken.png", "not a readable image"]),
    "a wrong IDX magic number": (_bad_magic, ["train-images-idx3-ubyte.gz", "magic number"]),
    "image and label counts differ": (_count_mismatch, ["40 images", "39 labels",
                                                        "train-labels-idx1-ubyte.gz"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_by_name_and_change_nothing(tmp_path, case):
    make, words = BAD_FILES[case]
    changes = make(tmp_path)
    with pytest.raises(ValueError) as new:
        Session(cfg(changes))
    s = Session(cfg())
    s.train(2)
    before = state(s)
    with pytest.raises(ValueError) as applied:
        s.apply(changes)
    for e in (new, applied):
        msg = str(e.value)
        assert "\n" not in msg
        for w in words:
            assert w in msg, f"{w!r} not in {msg!r}"
    assert_same_state(state(s), before)
    s.train(1)  # and it still trains
    assert s.step == 3


# --------------------------------------------------------------------------- 3. networks, norms

NORM_NAMES = ["none", "batch", "reference", "virtual", "layer", "spectral"]


def _norm_layers(net: nn.Module, norm: str, arch: str) -> list[nn.Module]:
    kind = {"batch": BatchNorm, "reference": ReferenceNorm, "virtual": ReferenceNorm,
            "layer": ChannelLayerNorm if arch == "dcgan" else nn.LayerNorm}[norm]
    found = [m for m in net.modules() if isinstance(m, kind)]
    if norm in ("reference", "virtual"):
        assert all(m.virtual == (norm == "virtual") for m in found)
    return found


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("norm", NORM_NAMES)
def test_every_architecture_and_norm_trains(arch, norm):
    s = Session(cfg({"generator.arch": arch, "discriminator.arch": arch,
                     "generator.norm": norm, "discriminator.norm": norm,
                     "generator.depth": 2, "discriminator.depth": 2}))
    for net in (s.generator, s.discriminator):
        assert isinstance(net, MLP) == (arch == "mlp")
        if norm == "spectral":
            assert any(hasattr(m, "parametrizations") for m in net.modules())
        elif norm != "none":
            assert _norm_layers(net, norm, arch), f"no {norm} layer in {type(net).__name__}"
        assert net.ref_count == (8 if norm in ("reference", "virtual") else 0)
    s.train(2)
    assert finite_losses(s)
    x = s.sample(4)
    assert x.shape == (4, 1, 8, 8) and np.isfinite(x).all()


@pytest.mark.parametrize("g_arch,d_arch", [("mlp", "dcgan"), ("dcgan", "mlp")])
def test_mixed_architectures_train(g_arch, d_arch):
    s = Session(cfg({"generator.arch": g_arch, "discriminator.arch": d_arch,
                     "generator.norm": "virtual", "discriminator.norm": "reference"}))
    s.train(2)
    assert finite_losses(s)


@pytest.mark.parametrize("minibatch", ["discrimination", "stddev"])
def test_minibatch_features_on_a_dcgan_discriminator(minibatch):
    s = Session(cfg({"discriminator.minibatch": minibatch, "discriminator.norm": "batch"}))
    assert s.discriminator.minibatch is not None
    s.train(2)
    assert finite_losses(s)
    snap = s.snapshot(SNAP)
    assert np.isfinite(snap.d_fake).all() and np.isfinite(snap.d_real).all()


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_conditional_reference_norms_use_the_reference_labels(bright_dark, arch):
    s = Session(folder_cfg(bright_dark, conditional=True, **{
        "generator.arch": arch, "discriminator.arch": arch, "generator.norm": "virtual",
        "discriminator.norm": "reference", "generator.ref_size": 16,
        "discriminator.ref_size": 16, "generator.depth": 2, "discriminator.depth": 2}))
    g, d = s.generator, s.discriminator
    assert g.classes == d.classes == 2
    # D's reference labels are the classes of its reference pictures
    means = d.reference.reshape(16, -1).mean(1)
    assert set(d.reference_y.tolist()) == {0, 1}
    assert torch.all(means[d.reference_y == 0] > 0.5) and torch.all(means[d.reference_y == 1] < -0.5)
    # G's are drawn over the classes, and they matter: other labels, other statistics
    assert set(g.reference_y.tolist()) == {0, 1}
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    before = s.generate(z, labels=0)
    with torch.no_grad():
        g.reference_y.fill_(1)
    assert not np.allclose(s.generate(z, labels=0), before, atol=1e-6)
    s.train(2)
    assert finite_losses(s)


def _weights(net: nn.Module) -> dict[str, torch.Tensor]:
    """Every linear and convolution weight and bias by layer name (spectral norm's stored
    weight counts as the weight)."""
    out = {}
    for name, m in net.named_modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            w = (m.parametrizations.weight.original if hasattr(m, "parametrizations")
                 else m.weight)
            out[name] = (w.detach().clone(), m.bias.detach().clone())
    return out


@pytest.mark.parametrize("which", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", ["batch", "layer", "reference", "virtual", "spectral"])
def test_a_dcgan_norm_swap_keeps_the_convolution_weights(which, norm):
    s = Session(cfg({"generator.depth": 2, "discriminator.depth": 2}))
    s.train(2)
    net = getattr(s, which)
    before = _weights(net)
    s.apply({f"{which}.norm": norm})
    after = _weights(getattr(s, which))
    assert getattr(s, which) is not net  # rebuilt ...
    assert before.keys() == after.keys() and len(before) >= 3
    for name in before:  # ... with every convolution and linear layer carried over
        assert torch.equal(before[name][0], after[name][0]), name
        assert torch.equal(before[name][1], after[name][1]), name
    s.train(2)
    assert finite_losses(s)
    trained = _weights(getattr(s, which))
    s.apply({f"{which}.norm": "none"})  # and back, keeping what the new norm learned
    back = _weights(getattr(s, which))
    assert all(torch.equal(back[k][0], trained[k][0]) for k in trained)
    s.train(1)
    assert finite_losses(s)


def test_swapping_mlp_to_dcgan_and_back_mid_run():
    s = Session(cfg({"generator.arch": "mlp", "discriminator.arch": "mlp",
                     "generator.norm": "virtual", "discriminator.norm": "reference"}))
    s.train(2)
    ref = s.discriminator.reference.clone()
    assert ref.shape == (8, 64)  # an MLP D keeps its reference pictures flat
    s.apply({"generator.arch": "dcgan", "discriminator.arch": "dcgan"})
    assert not isinstance(s.generator, MLP) and not isinstance(s.discriminator, MLP)
    # the same reference pictures, now as images
    assert torch.equal(s.discriminator.reference, ref.reshape(8, 1, 8, 8))
    s.train(2)
    assert finite_losses(s) and s.sample(3).shape == (3, 1, 8, 8)
    s.apply({"generator.arch": "mlp", "discriminator.arch": "mlp"})
    assert isinstance(s.generator, MLP) and isinstance(s.discriminator, MLP)
    assert torch.equal(s.discriminator.reference, ref)
    s.train(2)
    assert s.step == 6 and finite_losses(s) and s.sample(3).shape == (3, 1, 8, 8)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_bf16_on_the_cpu_trains_finite(arch):
    s = Session(cfg({"generator.arch": arch, "discriminator.arch": arch, "conditional": True,
                     "generator.norm": "batch", "discriminator.norm": "spectral",
                     "train.precision": "bf16"}))
    assert "bf16" in s.summary()
    s.train(3)
    assert finite_losses(s)
    x = s.sample(4, labels=2)
    assert x.dtype == np.float32 and np.isfinite(x).all()


# --------------------------------------------------------------------------- 4. batch-mates


def _batches(s: Session, which: str) -> tuple[np.ndarray, np.ndarray]:
    """Two batches of 8 sharing their first row and nothing else."""
    rng = np.random.default_rng(5)
    if which == "generator":
        first = rng.standard_normal((1, 8))
        a = np.concatenate([first, rng.standard_normal((7, 8))])
        b = np.concatenate([first, rng.standard_normal((7, 8)) * 3 + 1])
    else:
        x = s.sample(15, seed=1)
        a = x[:8]
        b = np.concatenate([x[:1], -x[8:]])
    return a.astype(np.float32), b.astype(np.float32)


def _row0(s: Session, which: str, batch: np.ndarray) -> np.ndarray:
    return s.generate(batch)[0] if which == "generator" else s.discriminate(batch)[0]


@pytest.mark.parametrize("which", ["generator", "discriminator"])
@pytest.mark.parametrize("norm", ["reference", "virtual"])
def test_reference_norms_in_conv_form_ignore_batch_mates(which, norm):
    s = Session(cfg({f"{which}.norm": norm, f"{which}.depth": 2}))
    s.train(3)
    a, b = _batches(s, which)
    ra = _row0(s, which, a)
    np.testing.assert_allclose(_row0(s, which, b), ra, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_row0(s, which, a[:1]), ra, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_batch_norm_in_conv_form_depends_on_batch_mates(which):
    s = Session(cfg({f"{which}.norm": "batch", f"{which}.depth": 2}))
    s.train(3)
    a, b = _batches(s, which)
    assert np.abs(_row0(s, which, a) - _row0(s, which, b)).max() > 1e-3


# --------------------------------------------------------------------------- 5. conditional


def test_a_conditional_generator_draws_the_class_asked_for(tmp_path, bright_dark):
    folder = tmp_path / "pics"
    shutil.copytree(bright_dark, folder)
    s = Session(folder_cfg(folder, conditional=True, **{
        "generator.width": 8, "discriminator.width": 8, "train.batch_size": 16,
        "optim.g.lr": 2e-3, "optim.d.lr": 2e-3}))
    assert s.classes == 2 and s.class_names == ("bright", "dark")
    s.train(300)
    meter = s.quality_meter()
    assert meter.accuracy > 0.95
    for k in (0, 1):
        x = s.sample(200, labels=k)
        p = meter.predict_proba(torch.as_tensor(x))
        assert (p.argmax(1) == k).mean() > 0.8, f"class {k}: {(p.argmax(1) == k).mean():.2f}"
    # a conditional view: the classes in rows
    snap = s.snapshot(ViewRequest(per_class=3, real_images=6, heatmap=False, n_fake=0, n_real=0))
    assert snap.images_fake.shape == (6, 1, 16, 16)
    assert list(snap.labels_fake) == [0, 0, 0, 1, 1, 1] and snap.class_names == ("bright", "dark")
    assert snap.images_fake[:3].mean() > 0 > snap.images_fake[3:].mean()
    # its generator file works where the pictures are gone
    s.save_generator(str(tmp_path / "g.safetensors"))
    shutil.rmtree(folder)
    g = load_generator(str(tmp_path / "g.safetensors"))
    assert g.classes == 2 and g.class_names == ("bright", "dark")
    assert g.sample(50, seed=1, labels=0).mean() > 0.3
    assert g.sample(50, seed=1, labels=1).mean() < -0.3


def test_labels_on_an_unconditional_session_are_refused():
    s = Session(cfg())
    with pytest.raises(ValueError, match="not conditional"):
        s.sample(3, labels=1)
    with pytest.raises(ValueError, match="not conditional"):
        s.generate(np.zeros((2, 8), np.float32), labels=[0, 1])


@pytest.mark.parametrize("labels", [10, -1, [1, 2], 1.5, [0, 1, 12]])
def test_labels_out_of_range_are_refused(labels):
    s = Session(cfg({"conditional": True}))
    with pytest.raises(ValueError, match=r"labels: expected one class in 0\.\.9"):
        s.sample(3, labels=labels)
    with pytest.raises(ValueError, match="labels"):
        s.generate(np.zeros((3, 8), np.float32), labels=labels)


def test_a_conditional_session_takes_labels_everywhere():
    s = Session(cfg({"conditional": True}))
    assert s.classes == 10
    x = s.sample(4, labels=[0, 1, 2, 3])
    assert x.shape == (4, 1, 8, 8)
    np.testing.assert_array_equal(s.sample(4, labels=[0, 1, 2, 3]), x)
    # the default is the classes in turn
    np.testing.assert_array_equal(s.sample(12), s.sample(12, labels=np.arange(12) % 10))
    with pytest.raises(ValueError, match="labels"):
        s.discriminate(x)
    assert s.discriminate(x, labels=[0, 1, 2, 3]).shape == (4,)
    assert s.discriminate(x, labels=3).shape == (4,)


def test_conditional_needs_labelled_data(tmp_path):
    write_pngs(tmp_path / "loose", 6, 100)
    ring = {"data.name": "ring8", "generator.arch": "mlp", "discriminator.arch": "mlp",
            "noise.dim": 2}
    for changes in (ring, {"data.name": "folder", "data.path": str(tmp_path / "loose"),
                           "data.size": 16}):
        with pytest.raises(ValueError, match="labels"):
            Session(cfg({**changes, "conditional": True}))
        s = Session(cfg(changes))
        before = state(s)
        with pytest.raises(ValueError, match="labels"):
            s.apply({"conditional": True})
        assert_same_state(state(s), before)


def test_switching_to_points_goes_back_to_an_unconditional_mlp():
    s = Session(cfg({"conditional": True, "generator.norm": "virtual"}))
    s.train(2)
    s.apply({"data.name": "ring8"})
    c = s.config
    assert c["generator"]["arch"] == c["discriminator"]["arch"] == "mlp"
    assert c["conditional"] is False and s.classes == 0
    s.train(2)
    assert s.sample(5).shape == (5, 2) and finite_losses(s)
    # asking for convolutions on points in the same change is refused, clearly
    t = Session(cfg())
    before = state(t)
    with pytest.raises(ValueError, match="DCGAN needs image data"):
        t.apply({"data.name": "ring8", "generator.arch": "dcgan"})
    assert_same_state(state(t), before)


# --------------------------------------------------------------------------- 6. FID and IS


def test_quality_metrics_land_in_the_history_and_metrics_csv(tmp_path):
    c = cfg({"train.metrics_every": 3, "train.metrics_samples": 100, "conditional": True})
    s = run_headless(c, 6, tmp_path / "out", n_samples=12, progress=False)
    h = s.history
    steps = h["step"]
    assert list(steps) == [1, 2, 3, 4, 5, 6]
    due = steps % 3 == 0
    for col in ("fid", "inception_score", "modes"):
        assert np.isfinite(h[col][due]).all(), col
        assert np.isnan(h[col][~due]).all(), col
    assert (h["fid"][due] >= 0).all()
    assert (h["inception_score"][due] >= 1).all() and (h["inception_score"][due] <= 10).all()
    assert set(h["modes"][due]) <= set(range(11))
    assert np.isnan(h["js"]).all()  # point-set divergences mean nothing for images
    with open(tmp_path / "out" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"fid", "inception_score", "modes"} <= set(rows[0])
    for row in rows:
        filled = int(row["step"]) % 3 == 0
        for col in ("fid", "inception_score", "modes"):
            assert (row[col] != "") == filled, (row["step"], col)
            if filled:
                assert float(row[col]) == pytest.approx(h[col][int(row["step"]) - 1])
    assert np.load(tmp_path / "out" / "samples.npy").shape == (12, 1, 8, 8)
    assert (tmp_path / "out" / "samples.png").stat().st_size > 0


# --------------------------------------------------------------------------- 7. checkpoints


def test_a_conditional_dcgan_generator_file_gives_the_same_images(tmp_path):
    s = Session(cfg({"conditional": True, "generator.norm": "virtual"}))
    s.train(3)
    path = tmp_path / "g.safetensors"
    s.save_generator(str(path))
    g = load_generator(str(path))
    assert g.classes == 10 and g.class_names == tuple(str(i) for i in range(10))
    z = np.random.default_rng(2).standard_normal((5, 8)).astype(np.float32)
    np.testing.assert_array_equal(g.generate(z, labels=3), s.generate(z, labels=3))
    np.testing.assert_array_equal(g.generate(z, labels=[0, 1, 2, 3, 9]),
                                  s.generate(z, labels=[0, 1, 2, 3, 9]))
    x = g.sample(5, seed=7, labels=3)
    assert x.shape == (5, 1, 8, 8)
    zs = torch.randn(5, 8, generator=torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(x, s.generate(zs, labels=3))
    with pytest.raises(ValueError, match="labels"):
        g.sample(5, labels=10)


def test_an_image_session_file_resumes_exactly(tmp_path):
    c = cfg({"conditional": True, "generator.norm": "virtual", "discriminator.norm": "reference",
             "discriminator.minibatch": "stddev", "discriminator.depth": 2})
    s = Session(c)
    s.train(4)
    path = tmp_path / "run.safetensors"
    s.save(str(path))
    s2 = Session.load(str(path))
    assert s2.config == s.config and s2.step == 4 and s2.classes == 10
    np.testing.assert_array_equal(s2.history.rows, s.history.rows)
    s.train(4)
    s2.train(4)
    np.testing.assert_array_equal(s2.history.rows, s.history.rows)
    np.testing.assert_array_equal(s2.sample(6, labels=5), s.sample(6, labels=5))


def _rewrite_as_old(path: Path, old: Path, drop_reference_labels: bool) -> list[str]:
    """A session file as the version before images wrote it: 14 history columns (no fid,
    no inception_score) and, optionally, no reference labels in the networks."""
    data = path.read_bytes()
    tensors = st_load(data)
    meta = read_metadata(str(path))
    columns = [c for c in COLUMNS if c not in ("fid", "inception_score", "kid", "mutual_info")]
    assert len(columns) == 14
    tensors["history"] = tensors["history"][:, [COLUMNS.index(c) for c in columns]].contiguous()
    meta["columns"] = json.dumps(columns)
    if drop_reference_labels:
        tensors = {k: v for k, v in tensors.items() if not k.endswith("reference_y")}
    old.write_bytes(st_save(tensors, metadata=meta))
    return columns


@pytest.mark.parametrize("norm", ["none", "virtual"])
def test_a_session_file_with_the_old_columns_loads_with_empty_fid(tmp_path, norm):
    s = Session(cfg({"generator.arch": "mlp", "discriminator.arch": "mlp",
                     "data.name": "ring8", "noise.dim": 2, "generator.norm": norm,
                     "discriminator.norm": norm}))
    s.train(3)
    s.save(str(tmp_path / "new.safetensors"))
    columns = _rewrite_as_old(tmp_path / "new.safetensors", tmp_path / "old.safetensors",
                              drop_reference_labels=norm != "none")
    s2 = Session.load(str(tmp_path / "old.safetensors"))
    rows = s2.history.rows
    assert rows.shape == (3, len(COLUMNS))
    assert np.isnan(s2.history["fid"]).all() and np.isnan(s2.history["inception_score"]).all()
    assert np.isnan(s2.history["kid"]).all() and np.isnan(s2.history["mutual_info"]).all()
    for c in columns:
        np.testing.assert_array_equal(s2.history[c], s.history[c])
    z = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    np.testing.assert_array_equal(s2.generate(z), s.generate(z))
    s2.train(2)
    assert s2.step == 5 and len(s2.history) == 5


def test_an_old_generator_file_without_reference_labels_loads(tmp_path):
    s = Session(cfg({"generator.norm": "virtual"}))
    s.save_generator(str(tmp_path / "g.safetensors"))
    data = (tmp_path / "g.safetensors").read_bytes()
    tensors = {k: v for k, v in st_load(data).items() if not k.endswith("reference_y")}
    (tmp_path / "old.safetensors").write_bytes(st_save(tensors, metadata=read_metadata(str(tmp_path / "g.safetensors"))))
    g = load_generator(str(tmp_path / "old.safetensors"))
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_array_equal(g.generate(z), s.generate(z))
    assert Session.from_generator(str(tmp_path / "old.safetensors")).sample(2).shape == (2, 1, 8, 8)


def test_a_view_can_ask_a_conditional_generator_for_one_class():
    s = Session(cfg({"conditional": True}))
    rows = s.snapshot(ViewRequest(n_fake=0, n_real=0, heatmap=False, images=30, per_class=3))
    np.testing.assert_array_equal(rows.labels_fake, np.repeat(np.arange(10), 3))
    sevens = s.snapshot(ViewRequest(n_fake=0, n_real=0, heatmap=False, images=30, per_class=3,
                                    only_class=7))
    assert sevens.images_fake.shape[0] == 30 and set(sevens.labels_fake) == {7}
    # the same fixed noise with label 7: equal to asking G for sevens directly
    z, _ = s.view_batches_labelled(30, 0)[0]
    np.testing.assert_allclose(sevens.images_fake, s.generate(z.cpu().numpy(), labels=7), atol=1e-6)

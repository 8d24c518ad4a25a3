"""Image data sets: the 8x8 digits inside scikit-learn, MNIST / Fashion-MNIST from the files
a user already has, and any folder of images. Nothing is ever downloaded.

Each set is read once per process (``load_images`` keeps a small cache), scaled to [-1, 1]
(G ends in tanh) and kept whole on the training device, so a step draws its minibatch by
indexing a device tensor: no loader, no host transfer per step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .datasets import Draw, LabelledDraw, register
from .imagefiles import ImageArray, load_folder, load_mnist_like, resize_square

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LoadedImages:
    """A whole image set on the CPU: float32 (N, C, H, W) in [-1, 1] and int64 labels."""

    key: str
    images: torch.Tensor
    labels: torch.Tensor | None
    class_names: tuple[str, ...]

    @property
    def classes(self) -> int:
        return len(self.class_names) if self.labels is not None else 0


_CACHE: OrderedDict[str, LoadedImages] = OrderedDict()
_DEVICE_CACHE: OrderedDict[tuple[str, str], tuple[torch.Tensor, torch.Tensor | None]] = OrderedDict()
_LOCK = threading.Lock()  # the app's engine and a Compare engine may load at once
_KEEP = 3


def _to_tensor(arr: ImageArray, key: str) -> LoadedImages:
    x = torch.from_numpy(np.ascontiguousarray(arr.images.transpose(0, 3, 1, 2))).float()
    x = x.div_(127.5).sub_(1.0)
    y = None if arr.labels is None else torch.from_numpy(arr.labels.astype(np.int64))
    return LoadedImages(key, x, y, tuple(arr.class_names) if y is not None else ())


# keys under ``data.`` that belong to training, not to the set (see ``engine.config``)
TRAINING_KEYS = ("instance_noise", "instance_noise_steps")


def data_key(name: str, params: dict[str, Any]) -> str:
    """Identifies a set and the parameters it was read with (cache and classifier keys): the
    set's own parameters only (training settings under ``data.``, such as instance noise,
    change nothing that is read)."""
    return name + "|" + "|".join(f"{k}={params[k]}" for k in sorted(params)
                                 if k not in TRAINING_KEYS)


def load_images(name: str, params: dict[str, Any], progress: Progress | None = None) -> LoadedImages:
    """Read (or take from the cache) image set ``name``; raises ValueError with what is missing."""
    key = data_key(name, params)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        loaded = _to_tensor(_READERS[name](params, progress), key)
        if len(loaded.images) < 2:
            raise ValueError(f"data: {name} holds {len(loaded.images)} image(s); need at least 2")
        _CACHE[key] = loaded
        while len(_CACHE) > _KEEP:
            _CACHE.popitem(last=False)
        return loaded


def _on_device(loaded: LoadedImages, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    k = (loaded.key, str(device))
    with _LOCK:
        if k not in _DEVICE_CACHE:
            y = loaded.labels.to(device) if loaded.labels is not None else None
            _DEVICE_CACHE[k] = (loaded.images.to(device), y)
            while len(_DEVICE_CACHE) > _KEEP:
                _DEVICE_CACHE.popitem(last=False)
        _DEVICE_CACHE.move_to_end(k)
        return _DEVICE_CACHE[k]


# --- readers: params -> ImageArray (uint8, N x H x W x C) ---------------------------------

def _read_digits(p: dict[str, Any], progress: Progress | None) -> ImageArray:
    from sklearn.datasets import load_digits

    d = load_digits()
    img = np.clip(np.rint(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[..., None]
    size = int(p["size"])
    if size != 8:
        img = resize_square(img, size)
    return ImageArray(img, d.target.astype(np.int64), tuple(str(i) for i in range(10)))


def _mnist_reader(kind: str) -> Callable[[dict[str, Any], Progress | None], ImageArray]:
    def read(p: dict[str, Any], progress: Progress | None) -> ImageArray:
        arr = load_mnist_like(p["path"], kind)
        size = int(p["size"])
        img = arr.images
        if img.shape[1] != size or img.shape[2] != size:
            if progress is not None:
                progress(0.0, f"Resizing {len(img)} images to {size}×{size}")
            img = resize_square(img, size)
        return ImageArray(img, arr.labels, arr.class_names)

    return read


def _read_folder(p: dict[str, Any], progress: Progress | None) -> ImageArray:
    if not p["path"]:
        raise ValueError("data.path: no folder set; choose a folder of images (.png, .jpg, ...), "
                         "with one subfolder per class for labels")

    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(done / max(total, 1), f"Reading images ({done}/{total})")

    return load_folder(p["path"], int(p["size"]), bool(p["colour"]), progress=tick)


_READERS: dict[str, Callable[[dict[str, Any], Progress | None], ImageArray]] = {
    "digits": _read_digits,
    "mnist": _mnist_reader("mnist"),
    "fashion-mnist": _mnist_reader("fashion-mnist"),
    "folder": _read_folder,
}


# --- registration ----------------------------------------------------------------------------

def _maker(name: str) -> tuple[Callable[[dict[str, Any], torch.device], Draw],
                                Callable[[dict[str, Any], torch.device], LabelledDraw]]:
    def make_labelled(p: dict[str, Any], device: torch.device) -> LabelledDraw:
        x, y = _on_device(load_images(name, p), device)
        n_all = len(x)

        def draw(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
            idx = torch.randint(n_all, (n,), generator=gen, device=device)
            return x[idx], (y[idx] if y is not None else None)

        return draw

    def make(p: dict[str, Any], device: torch.device) -> Draw:
        draw = make_labelled(p, device)
        return lambda n, gen: draw(n, gen)[0]

    return make, make_labelled


def _register(name: str) -> None:
    make, make_labelled = _maker(name)
    register(
        name, make,
        classes=lambda p: load_images(name, p).classes,
        make_labelled=make_labelled,
        prepare=lambda p, progress=None: load_images(name, p, progress),
    )


for _name in _READERS:
    _register(_name)

IMAGE_SETS = tuple(_READERS)

"""Image data sets the user already has on disk: IDX (MNIST), .npz and folders of pictures.

Nothing here downloads anything: the app must run offline, and a training tool that fetches
files behind the user's back surprises people. So every loader reads only what it is pointed
at and, when something is missing or malformed, raises a one-line ``ValueError`` that names
the file and says what was expected, so the user can fix it by hand. Everything comes back
as an :class:`ImageArray` of uint8 ``(N, H, W, C)`` images, whatever the source format.
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageOps


@dataclass(frozen=True)
class ImageArray:
    """Images as uint8 (N, H, W, C), C = 1 (grey) or 3 (colour); labels int64 (N,) or None."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]  # () when unlabelled; else one name per class id 0..K-1


# ---------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)

_IDX_TYPES: dict[int, tuple[str, str]] = {
    0x08: (">u1", "uint8"),
    0x09: (">i1", "int8"),
    0x0B: (">i2", "int16"),
    0x0C: (">i4", "int32"),
    0x0D: (">f4", "float32"),
    0x0E: (">f8", "float64"),
}


def _short(exc: BaseException) -> str:
    """An exception as a short one-line reason for our own messages."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _read_bytes(path: str, limit: int = -1) -> bytes:
    """The file's bytes (the first ``limit`` only, when given), or a one-line error."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ValueError(f"{path}: no such file")
    if os.path.isdir(p):
        raise ValueError(f"{path}: is a folder, expected a file")
    try:
        with open(p, "rb") as f:
            return f.read(limit)
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({_short(e)})") from e


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (gzipped or not, whatever its name) into a native-endian array.

    IDX is the format MNIST and Fashion-MNIST are distributed in; a wrong or damaged file is
    caught here with a message naming it rather than surfacing later as a shape error.
    """
    raw = _read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(
                f"{path}: truncated or corrupt gzip data ({_short(e)}); download it again"
            ) from e
    if len(raw) < 4:
        raise ValueError(
            f"{path}: not an IDX file (only {len(raw)} bytes; expected a 4-byte magic number "
            "0x0000 followed by a type code and a dimension count)"
        )
    magic = struct.unpack(">I", raw[:4])[0]
    if raw[0] != 0 or raw[1] != 0 or raw[3] == 0:
        raise ValueError(
            f"{path}: not an IDX file (magic number 0x{magic:08x}; expected 0x0000 followed by "
            "a type code and a dimension count)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02x} ({name})" for c, (_, name) in _IDX_TYPES.items())
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x} (expected one of {known})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{path}: IDX header promises {ndim} dimensions but the file ends after "
            f"{len(raw)} bytes"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[code][0])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have != expected:
        shape = " x ".join(str(d) for d in dims)
        raise ValueError(
            f"{path} holds {have} bytes of data but its header promises {expected} "
            f"({shape} of {_IDX_TYPES[code][1]})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def _labels_to_int64(labels: np.ndarray, where: str) -> np.ndarray:
    """Class labels as int64 (N,); (N, 1) columns (keras' CIFAR) are flattened."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{where}: labels must be 1-D (one per image); found shape {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError(f"{where}: labels must be whole numbers; found fractional values")
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{where}: labels must be integers; found {labels.dtype}")
    out = labels.astype(np.int64)
    if out.size and out.min() < 0:
        raise ValueError(f"{where}: labels must be class ids 0, 1, 2, ...; found {out.min()}")
    return out


def _class_names(labels: np.ndarray | None, names: tuple[str, ...] | None,
                 where: str) -> tuple[str, ...]:
    if labels is None:
        return ()
    top = int(labels.max()) if labels.size else -1
    if names is None:
        return tuple(str(i) for i in range(top + 1))
    names = tuple(str(n) for n in names)
    if top >= len(names):
        raise ValueError(
            f"{where}: holds label {top} but only {len(names)} class names are given "
            f"(ids 0..{len(names) - 1})"
        )
    return names


def load_idx_pair(images_path: str, labels_path: str, *,
                  class_names: tuple[str, ...] | None = None) -> ImageArray:
    """An IDX images file (N, H, W) uint8 with its IDX labels file, checked against each other."""
    images = read_idx(images_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected IDX images of shape (count, height, width) in uint8; "
            f"found shape {images.shape} of {images.dtype}"
        )
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"{images_path}: holds no image data (shape {images.shape})")
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected IDX labels of shape (count,); found shape {labels.shape}"
        )
    labels = _labels_to_int64(labels, labels_path)
    if len(labels) != len(images):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; they must be the same count"
        )
    return ImageArray(images[..., None], labels, _class_names(labels, class_names, labels_path))


# ---------------------------------------------------------------------------------------------
# .npz

_NPZ_LAYOUTS = "x_train/y_train, images/labels or x/y"


def _to_uint8_images(arr: np.ndarray, where: str) -> np.ndarray:
    """(N,H,W), (N,H,W,C) or channels-first (N,C,H,W), C in 1/3, any sane dtype -> uint8 NHWC."""
    if arr.ndim == 3:
        arr = arr[..., None]
    elif arr.ndim == 4 and arr.shape[-1] not in (1, 3) and arr.shape[1] in (1, 3):
        arr = arr.transpose(0, 2, 3, 1)  # channels-first, as torchvision-style arrays are
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(
            f"{where}: expected images of shape (N, H, W) or (N, H, W, C) with C = 1 or 3; "
            f"found shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise ValueError(f"{where}: holds no image data (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8) * 255
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"{where}: integer pixel values span [{lo}, {hi}]; expected 0..255"
            )
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}: images contain NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        eps = 1e-3
        if lo >= -eps and hi <= 1 + eps:
            scale = 255.0  # floats in [0, 1]
        elif lo >= -eps and hi <= 255 + eps:
            scale = 1.0  # floats in [0, 255]
        else:
            raise ValueError(
                f"{where}: float pixel values span [{lo:g}, {hi:g}]; expected [0, 1] or [0, 255]"
            )
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    raise ValueError(f"{where}: images must be numbers; found {arr.dtype}")


def load_npz(path: str) -> ImageArray:
    """Images (and labels, when present) from a NumPy .npz archive, never unpickling.

    Layouts recognised, first match wins: keras' ``x_train``/``y_train`` (with ``x_test``/
    ``y_test`` concatenated after the training set when both are present, since a GAN has
    no use for a held-out split), ``images``/``labels``, or ``x``/``y``; the labels are
    optional for the last two. Float images in [0, 1] or [0, 255] are scaled to uint8 (an
    all-dark float image in [0, 255] with nothing above 1 is indistinguishable from [0, 1]).
    """
    p = os.fspath(path)
    if _read_bytes(p, 8).startswith(b"\x93NUMPY"):
        raise ValueError(
            f"{path}: is a single .npy array; expected an .npz archive with arrays named "
            f"{_NPZ_LAYOUTS} (save with np.savez)"
        )
    if not zipfile.is_zipfile(p):
        raise ValueError(
            f"{path}: not a readable .npz file (expected a zip archive of .npy arrays, as "
            "np.savez writes; this one is damaged or of another kind)"
        )
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = list(npz.files)

            def get(key: str) -> np.ndarray:
                try:
                    return npz[key]
                except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                    raise ValueError(
                        f"{path}: array {key!r} cannot be read ({_short(e)})"
                    ) from e

            if "x_train" in keys:
                if "y_train" not in keys:
                    raise ValueError(f"{path}: has x_train but no y_train; expected both")
                if ("x_test" in keys) != ("y_test" in keys):
                    have, lack = ("x_test", "y_test") if "x_test" in keys else ("y_test", "x_test")
                    raise ValueError(f"{path}: has {have} but no {lack}; expected both or neither")
                parts = [("x_train", "y_train")]
                if "x_test" in keys:
                    parts.append(("x_test", "y_test"))
            elif "images" in keys:
                parts = [("images", "labels" if "labels" in keys else None)]
            elif "x" in keys:
                parts = [("x", "y" if "y" in keys else None)]
            else:
                found = ", ".join(keys) if keys else "nothing (the archive is empty)"
                raise ValueError(f"{path}: expected arrays named {_NPZ_LAYOUTS}; found: {found}")

            images_parts: list[np.ndarray] = []
            labels_parts: list[np.ndarray] = []
            for xk, yk in parts:
                imgs = _to_uint8_images(get(xk), f"{path} ({xk})")
                if images_parts and imgs.shape[1:] != images_parts[0].shape[1:]:
                    raise ValueError(
                        f"{path}: {xk} images have shape {imgs.shape[1:]} but "
                        f"{parts[0][0]} images have {images_parts[0].shape[1:]}; "
                        "they must match"
                    )
                images_parts.append(imgs)
                if yk is not None:
                    labs = _labels_to_int64(get(yk), f"{path} ({yk})")
                    if len(labs) != len(imgs):
                        raise ValueError(
                            f"{path}: {xk} holds {len(imgs)} images but {yk} holds {len(labs)} "
                            "labels; they must be the same count"
                        )
                    labels_parts.append(labs)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{path}: corrupt .npz file ({_short(e)})") from e

    images = images_parts[0] if len(images_parts) == 1 else np.concatenate(images_parts)
    labels = None
    if labels_parts:
        labels = labels_parts[0] if len(labels_parts) == 1 else np.concatenate(labels_parts)
    return ImageArray(images, labels, _class_names(labels, None, path))


# ---------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST

MNIST_FILES: dict[str, tuple[str, ...]] = {
    # train images, train labels, test images, test labels (the test pair is optional)
    "mnist": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "fashion-mnist": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

_MNIST_INFO = {  # kind -> (title, where the files come from, the .npz layout, class names)
    "mnist": ("MNIST", "the files distributed by yann.lecun.com/exdb/mnist, or their mirrors",
              "keras' mnist.npz", tuple(str(d) for d in range(10))),
    "fashion-mnist": ("Fashion-MNIST",
                      "the files distributed by github.com/zalandoresearch/fashion-mnist",
                      "laid out like keras' mnist.npz", FASHION_CLASSES),
}


def _find_idx(folder: str, name: str) -> str | None:
    """The file for a distributed IDX name: as is, un-gzipped, or with Kaggle's '.idx' spelling."""
    base = name[:-3] if name.endswith(".gz") else name
    dotted = base.replace("-idx", ".idx")
    for cand in (name, base, dotted + ".gz", dotted):
        full = os.path.join(folder, cand)
        if os.path.isfile(full):
            return full
    return None


def load_mnist_like(path: str, kind: str) -> ImageArray:
    """MNIST or Fashion-MNIST from a folder of the distributed IDX files or from a .npz.

    The t10k test pair is appended to the training set when both of its files are present
    (a lone test file is ignored). Nothing is ever downloaded: a missing file is an error that
    says which file to put where.
    """
    if kind not in _MNIST_INFO:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(_MNIST_INFO)}")
    title, origin, npz_like, names = _MNIST_INFO[kind]
    train_images, train_labels, test_images, test_labels = MNIST_FILES[kind]

    def need(where: str, problem: str) -> ValueError:
        return ValueError(
            f"data.path: {problem}; {title} needs {train_images} and {train_labels} ({origin}) "
            f"in {where}, or a .npz with x_train and y_train ({npz_like}); "
            "nothing is downloaded"
        )

    if not path or not str(path).strip():
        raise need("a folder", "no path is set")
    p = os.path.expanduser(os.fspath(path))
    if not os.path.exists(p):
        raise need(p, f"{path} does not exist")
    if os.path.isfile(p):
        idx_names = {n.removesuffix(".gz") for n in MNIST_FILES[kind]}
        if os.path.basename(p).removesuffix(".gz") in idx_names:
            p = os.path.dirname(p) or "."  # pointed at one of the IDX files: use its folder
        elif zipfile.is_zipfile(p) or p.lower().endswith(".npz"):
            data = load_npz(p)
            if data.images.shape[-1] != 1:
                raise ValueError(
                    f"{path}: {title} images are grey; found {data.images.shape[-1]} channels"
                )
            if data.labels is None:
                return data
            return replace(data, class_names=_class_names(data.labels, names, path))
        else:
            raise need("a folder", f"{path} is a file, neither a folder nor a .npz")
    found = {n: _find_idx(p, n) for n in MNIST_FILES[kind]}
    missing = [n for n in (train_images, train_labels) if found[n] is None]
    if missing:
        raise need(p, f"{p} has no {' and no '.join(missing)}")
    data = load_idx_pair(found[train_images], found[train_labels], class_names=names)
    if found[test_images] is not None and found[test_labels] is not None:
        test = load_idx_pair(found[test_images], found[test_labels], class_names=names)
        if test.images.shape[1:] != data.images.shape[1:]:
            raise ValueError(
                f"{found[test_images]}: images are {test.images.shape[1]}x{test.images.shape[2]} "
                f"but {found[train_images]} holds {data.images.shape[1]}x"
                f"{data.images.shape[2]}; they must match"
            )
        data = ImageArray(np.concatenate([data.images, test.images]),
                          np.concatenate([data.labels, test.labels]), names)
    return data


# ---------------------------------------------------------------------------------------------
# Folders of pictures

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _square(im: PIL.Image.Image, size: int) -> PIL.Image.Image:
    """Centre-crop to a square, then resize (LANCZOS; BOX pre-reduction when shrinking a lot)."""
    w, h = im.size
    s = min(w, h)
    if w != h:
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s))
    if s != size:
        im = im.resize((size, size), PIL.Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im


def _to_mode(im: PIL.Image.Image, mode: str) -> PIL.Image.Image:
    """Convert to "L" or "RGB" the way the picture looks: alpha over white, 16-bit scaled."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        a = np.asarray(im).astype(np.float64)
        top = 1.0 if im.mode == "F" and a.max() <= 1.0 else (255.0 if a.max() <= 255 else 65535.0)
        grey = np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8)
        im = PIL.Image.fromarray(grey)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        im = PIL.Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im.alpha_composite(rgba)
    return im if im.mode == mode else im.convert(mode)


def _image_files(root: str) -> list[tuple[str, ...]]:
    """Relative paths (as parts) of every non-hidden image file under root, sorted."""
    found: list[tuple[str, ...]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        prefix = () if rel == "." else tuple(Path(rel).parts)
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                found.append(prefix + (name,))
    found.sort()
    return found


def load_folder(path: str, size: int, colour: bool,
                progress: Callable[[int, int], None] | None = None,
                max_images: int = 100_000) -> ImageArray:
    """Every picture under a folder, centre-cropped and resized to size x size.

    Immediate subfolders are classes (``path/cat/*.png``), the usual layout of labelled image
    folders, but only when every picture sits in one; pictures loose in ``path`` make the set
    unlabelled. Hidden files and folders are skipped, as are files that are not pictures.
    ``progress(done, total)`` is called at the start, every 64 pictures and at the end.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a whole number of pixels >= 1; got {size!r}")
    if not path or not str(path).strip():
        raise ValueError("data.path: no folder is set; choose a folder of images")
    root = os.path.expanduser(os.fspath(path))
    if not os.path.exists(root):
        raise ValueError(f"{path}: no such folder")
    if not os.path.isdir(root):
        raise ValueError(f"{path}: is a file; expected a folder of images")
    files = _image_files(root)
    if not files:
        raise ValueError(
            f"{path}: no images found (looked for {', '.join(IMAGE_SUFFIXES)} in it and its "
            "subfolders)"
        )
    total = len(files)
    if total > max_images:
        raise ValueError(
            f"{path} holds {total} images; at most {max_images} are loaded at once "
            "(choose a folder with fewer)"
        )
    labelled = all(len(parts) > 1 for parts in files)
    class_names: tuple[str, ...] = ()
    labels = None
    if labelled:
        class_names = tuple(sorted({parts[0] for parts in files}))
        ids = {name: i for i, name in enumerate(class_names)}
        labels = np.array([ids[parts[0]] for parts in files], dtype=np.int64)

    mode = "RGB" if colour else "L"
    out = np.empty((total, size, size, 3 if colour else 1), dtype=np.uint8)
    if progress is not None:
        progress(0, total)
    for i, parts in enumerate(files):
        full = os.path.join(root, *parts)
        try:
            with PIL.Image.open(full) as im:
                im.load()
                im = PIL.ImageOps.exif_transpose(im)  # phone photos: stored sideways
                im = _square(_to_mode(im, mode), size)
        except Exception as e:  # Pillow raises many kinds for damaged files
            reason = _short(e).replace(f" '{full}'", "").replace(full, "the file")
            raise ValueError(f"{full}: not a readable image ({reason})") from e
        out[i] = np.asarray(im).reshape(size, size, -1)
        if progress is not None and (i + 1) % 64 == 0 and i + 1 < total:
            progress(i + 1, total)
    if progress is not None:
        progress(total, total)
    return ImageArray(out, labels, class_names)


def resize_square(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W, C) -> (N, size, size, C) with Pillow, centre-cropping non-square ones.

    Used to bring small sets to the sizes the networks take (sklearn's 8x8 digits up to
    16x16, MNIST's 28x28 to others); returns ``images`` itself when nothing needs doing.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a whole number of pixels >= 1; got {size!r}")
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise ValueError(
            f"images: expected uint8 of shape (N, H, W, C) with C = 1 or 3; found "
            f"{images.dtype} of shape {images.shape}"
        )
    n, h, w, c = images.shape
    if h == size and w == size:
        return images
    out = np.empty((n, size, size, c), dtype=np.uint8)
    for i in range(n):
        im = PIL.Image.fromarray(np.ascontiguousarray(images[i, :, :, 0] if c == 1 else images[i]))
        out[i] = np.asarray(_square(im, size)).reshape(size, size, c)
    return out

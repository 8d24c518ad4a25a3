"""Image data sets the user already has on disk: IDX (MNIST), .npz and folders of pictures.

Nothing here downloads anything: the app must run offline, and a training tool that fetches
files behind the user's back surprises people. So every loader reads only what it is pointed
at and, when something is missing or malformed, raises a one-line ``ValueError`` that names
the file and says what was expected, so the user can fix it by hand. Everything comes back
as an :class:`ImageArray` of uint8 ``(N, H, W, C)`` images, whatever the source format.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import PIL.Image
import PIL.ImageOps

from .safeio import (
    CHUNK,
    DATA_BYTES,
    IMAGE_PIXELS,
    GunzipReader,
    check_declared,
    check_regular,
    human_size,
    kind_of,
    open_regular,
)


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


_IDX_WHAT = "an IDX file (MNIST's format, gzipped or not)"


def _read_full(src: BinaryIO | GunzipReader, buffer: np.ndarray) -> int:
    """Fill ``buffer`` from a file or a gunzip stream as far as the data goes; the count."""
    view = memoryview(buffer).cast("B")
    pos = 0
    while pos < len(view):
        got = src.readinto(view[pos:pos + CHUNK])
        if not got:
            break
        pos += got
    return pos


def _shape_text(shape: tuple[int, ...], sep: str = ", ") -> str:
    """A shape for a message, shortened when a forged header gives it hundreds of entries."""
    text = sep.join(str(d) for d in shape)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_empty_shape(path: str, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Refuse an empty shape whose other dimensions are absurd, e.g. (0, 2**31, 2**31).

    It declares no data, so the size checks pass it, but numpy refuses to give an array that
    shape ("array is too big"), in words that do not name the file.
    """
    if math.prod(d for d in shape if d) * itemsize > DATA_BYTES:
        raise ValueError(
            f"{path}: declares an empty array of shape ({_shape_text(shape)}), whose other "
            "dimensions are "
            f"over the limit of {human_size(DATA_BYTES)}; expected {what}"
        )


def _idx_header(src: BinaryIO | GunzipReader, path: str) -> tuple[tuple[int, ...], int]:
    """(dims, type code) from an IDX header, reading exactly its 4 + 4 * ndim bytes."""
    raw = src.read(4)
    if len(raw) < 4:
        raise ValueError(
            f"{path}: not an IDX file (only {len(raw)} bytes; expected a 4-byte magic number "
            "0x0000 followed by a type code and a dimension count)"
        )
    magic = struct.unpack(">I", raw)[0]
    if raw[0] != 0 or raw[1] != 0 or raw[3] == 0:
        raise ValueError(
            f"{path}: not an IDX file (magic number 0x{magic:08x}; expected 0x0000 followed by "
            "a type code and a dimension count)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02x} ({name})" for c, (_, name) in _IDX_TYPES.items())
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x} (expected one of {known})")
    raw_dims = src.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(
            f"{path}: IDX header promises {ndim} dimensions but the file ends after "
            f"{4 + len(raw_dims)} bytes"
        )
    return struct.unpack(f">{ndim}I", raw_dims), code


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (gzipped or not, whatever its name) into a native-endian array.

    IDX is the format MNIST and Fashion-MNIST are distributed in; a wrong or damaged file is
    caught here with a message naming it rather than surfacing later as a shape error. The
    header's dimensions are checked before anything is allocated: against the file's size
    for a plain file, and against :data:`~engine.safeio.DATA_BYTES` and the compressed size
    for a gzipped one, which is then inflated step by step into an array of the declared
    size, so a gzip bomb is refused as soon as it inflates past what its header declares.
    """
    with open_regular(path, _IDX_WHAT) as f:
        size = os.fstat(f.fileno()).st_size
        gz = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        src: BinaryIO | GunzipReader = f
        if gz:
            src = GunzipReader(f, 4 + 4 * 255 + DATA_BYTES, _IDX_WHAT, path)
        dims, code = _idx_header(src, path)
        header = 4 + 4 * len(dims)
        dtype = np.dtype(_IDX_TYPES[code][0])
        declared = math.prod(dims) * dtype.itemsize
        shape = _shape_text(dims, " x ")
        promised = str(declared) if declared < 1 << 64 else human_size(declared)

        def mismatch(have: int | str) -> ValueError:
            return ValueError(
                f"{path} holds {have} bytes of data but its header promises {promised} "
                f"({shape} of {_IDX_TYPES[code][1]})"
            )

        if not gz and size - header != declared:
            raise mismatch(size - header)
        check_declared(path, declared, _IDX_WHAT, stored=size if gz else None)
        _check_empty_shape(path, dims, dtype.itemsize, _IDX_WHAT)
        data = np.empty(declared, np.uint8)
        try:
            have = _read_full(src, data)
            extra = not src.at_end() if gz else bool(f.read(1))
        except OSError as e:
            raise ValueError(f"{path}: cannot be read ({_short(e)})") from e
    if have < declared:
        raise mismatch(have)
    if extra:
        raise mismatch(f"more than {declared}")
    arr = data.view(dtype).reshape(dims)
    if not dtype.isnative:
        arr = arr.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return arr  # writable and native-endian, in the one buffer that was read into


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


_NPZ_WHAT = "an .npz archive of .npy arrays (as np.savez writes)"
_NPY_VERSIONS = {(1, 0): np.lib.format.read_array_header_1_0,
                 (2, 0): np.lib.format.read_array_header_2_0}


def _npz_members(zf: zipfile.ZipFile, path: str, size: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, once their declared sizes are checked.

    The zip's central directory says how big each member inflates to; that is checked against
    :data:`~engine.safeio.DATA_BYTES` (all members together), against the compressed size
    (a zip bomb inflates 1000x) and against the file's size, before any member is read.
    Only stored and deflated members are read: that is what np.savez and np.savez_compressed
    write, and zipfile inflates bzip2 and lzma members without a bound on one step's output.
    """
    members: dict[str, zipfile.ZipInfo] = {}
    total = stored = 0
    for zi in zf.infolist():
        where = f"{path} ({zi.filename})"
        if zi.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(
                f"{where}: compressed with zip method {zi.compress_type}; expected stored or "
                "deflated members, as np.savez and np.savez_compressed write"
            )
        if zi.compress_size > size or (zi.compress_type == zipfile.ZIP_STORED
                                        and zi.compress_size != zi.file_size):
            raise ValueError(
                f"{where}: the zip directory gives it {zi.compress_size} stored bytes for "
                f"{zi.file_size} bytes of data in a file of {size} bytes; expected sizes that "
                "fit (the archive is damaged)"
            )
        check_declared(where, zi.file_size, _NPZ_WHAT, stored=zi.compress_size)
        total += zi.file_size
        stored += zi.compress_size
        name = zi.filename
        members[name[:-4] if name.endswith(".npy") else name] = zi
    check_declared(path, total, _NPZ_WHAT, stored=stored)
    return members


def _npz_array(zf: zipfile.ZipFile, zi: zipfile.ZipInfo, path: str, key: str) -> np.ndarray:
    """One member's array, read only after its .npy header is checked against its size.

    np.load would allocate whatever shape the header declares (a forged header of a few bytes
    can ask for terabytes) and would unpickle object arrays; here the header must describe
    numbers that fill the member exactly, and the data is read into one buffer of that size.
    """
    def bad(reason: str) -> ValueError:
        return ValueError(f"{path}: array {key!r} cannot be read ({reason})")

    try:
        member = zf.open(zi)
    except Exception as e:  # zipfile's checks of the member's own header, in many kinds
        raise bad(f"its zip entry is damaged: {_short(e)}") from e
    with member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = _NPY_VERSIONS.get(version)
            header = read_header(member) if read_header is not None else None
            offset = member.tell()
        except Exception as e:  # numpy's parser raises ValueError, SyntaxError, TokenError...
            raise bad(f"not a .npy array: {_short(e)}") from e
        if header is None:
            raise bad(f".npy format version {version[0]}.{version[1]}; expected 1.0 or 2.0")
        shape, fortran, dtype = header
        if dtype.hasobject:
            raise bad("it holds Python objects, which are never unpickled; expected numbers")
        text = f"({_shape_text(shape)}{',' if len(shape) == 1 else ''})"
        if dtype.kind not in "biuf" or dtype.itemsize == 0 or any(d < 0 for d in shape):
            raise bad(f"its header declares {text} of {dtype}; expected an array of numbers")
        declared = math.prod(shape) * dtype.itemsize
        check_declared(f"{path} ({key})", declared, _NPZ_WHAT)
        _check_empty_shape(f"{path} ({key})", shape, dtype.itemsize, _NPZ_WHAT)
        if offset + declared != zi.file_size:
            raise bad(f"its header declares {text} of {dtype}, {declared} bytes, but the "
                      f"member holds {zi.file_size - offset}")
        data = np.empty(declared, np.uint8)
        have = _read_full(member, data)
    if have != declared:
        raise bad(f"its data ends after {have} of {declared} bytes")
    return data.view(dtype).reshape(shape, order="F" if fortran else "C")


def load_npz(path: str) -> ImageArray:
    """Images (and labels, when present) from a NumPy .npz archive, never unpickling.

    Layouts recognised, first match wins: keras' ``x_train``/``y_train`` (with ``x_test``/
    ``y_test`` concatenated after the training set when both are present, since a GAN has
    no use for a held-out split), ``images``/``labels``, or ``x``/``y``; the labels are
    optional for the last two. Float images in [0, 1] or [0, 255] are scaled to uint8 (an
    all-dark float image in [0, 255] with nothing above 1 is indistinguishable from [0, 1]).
    Every size the archive declares is checked before it is allocated (see ``_npz_members``).
    """
    with open_regular(path, _NPZ_WHAT) as f:
        size = os.fstat(f.fileno()).st_size
        if f.read(8).startswith(b"\x93NUMPY"):
            raise ValueError(
                f"{path}: is a single .npy array; expected an .npz archive with arrays named "
                f"{_NPZ_LAYOUTS} (save with np.savez)"
            )
        f.seek(0)
        if not zipfile.is_zipfile(f):
            raise ValueError(
                f"{path}: not a readable .npz file (expected a zip archive of .npy arrays, as "
                "np.savez writes; this one is damaged or of another kind)"
            )
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except Exception as e:  # zipfile raises many kinds for a damaged directory
            raise ValueError(f"{path}: corrupt .npz file ({_short(e)})") from e
        with zf:
            return _npz_images(zf, path, _npz_members(zf, path, size))


def _npz_images(zf: zipfile.ZipFile, path: str,
                members: dict[str, zipfile.ZipInfo]) -> ImageArray:
    """The recognised layout's arrays, read, checked and converted."""
    keys = list(members)

    def get(key: str) -> np.ndarray:
        try:
            return _npz_array(zf, members[key], path, key)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as e:
            raise ValueError(f"{path}: array {key!r} cannot be read ({_short(e)})") from e

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
        try:
            mode = os.stat(full).st_mode
        except OSError:
            continue
        if not stat.S_ISDIR(mode):  # Kaggle's copy has folders named like the files
            return full  # read_idx refuses it if it is not a regular file (a FIFO, a device)
    return None


def _is_zip(path: str, what: str) -> bool:
    """Whether a regular file is a zip archive (an .npz), opened without blocking."""
    with open_regular(path, what) as f:
        return zipfile.is_zipfile(f)


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
    if not os.path.isdir(p):
        check_regular(p, f"a folder of {title} IDX files or a .npz")  # a FIFO, a device...
        idx_names = {n.removesuffix(".gz") for n in MNIST_FILES[kind]}
        if os.path.basename(p).removesuffix(".gz") in idx_names:
            p = os.path.dirname(p) or "."  # pointed at one of the IDX files: use its folder
        elif p.lower().endswith(".npz") or _is_zip(p, _NPZ_WHAT):
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


_PICTURE_WHAT = "a picture file (.png, .jpg, ...)"


def _too_many_pixels(path: str, pixels: int | None) -> ValueError:
    found = f"{pixels:,} pixels" if pixels is not None else "more pixels than Pillow allows"
    return ValueError(
        f"{path}: a picture of {found}, over the limit of {IMAGE_PIXELS:,} "
        f"({IMAGE_PIXELS / 1e6:.0f} megapixels); expected a smaller picture (resize it first)"
    )


@contextlib.contextmanager
def _pillow_errors(path: str) -> Iterator[None]:
    """Pillow's complaints about ``path`` as one-line ValueErrors, bombs as our own refusal.

    Pillow's bomb check warns past its limit and raises past twice that; the warning is made
    an error here so that it stops the read instead of reaching the user on stderr.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            yield
    except (PIL.Image.DecompressionBombWarning, PIL.Image.DecompressionBombError) as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        raise _too_many_pixels(path, int(found.group(1)) if found else None) from None
    except Exception as e:  # Pillow raises many kinds for damaged files
        reason = _short(e).replace(f" '{path}'", "").replace(path, "the file")
        raise ValueError(f"{path}: not a readable image ({reason})") from e


def _read_picture(path: str, mode: str, size: int) -> np.ndarray:
    """One picture as a size x size array in ``mode``, its pixel count checked before decoding.

    Pillow reads only the header on open, so the size it reports is checked against
    :data:`~engine.safeio.IMAGE_PIXELS` before the pixels are decoded.
    """
    with open_regular(path, _PICTURE_WHAT) as f:
        with _pillow_errors(path):
            im = PIL.Image.open(f)
        with im:
            pixels = im.width * im.height
            if pixels > IMAGE_PIXELS:
                raise _too_many_pixels(path, pixels)
            with _pillow_errors(path):
                im.load()
                im = PIL.ImageOps.exif_transpose(im)  # phone photos: stored sideways
                return np.asarray(_square(_to_mode(im, mode), size))


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
        raise ValueError(f"{path}: is {kind_of(os.stat(root).st_mode)}; expected a folder of "
                         "images")
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
        out[i] = _read_picture(os.path.join(root, *parts), mode, size).reshape(size, size, -1)
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

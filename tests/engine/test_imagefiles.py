"""Image data sets read from the user's disk: IDX, .npz, MNIST folders, picture folders.

Every file here is tiny and written by the test itself, so nothing touches the network.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import PIL.Image
import pytest

from engine.imagefiles import (
    FASHION_CLASSES,
    IMAGE_SUFFIXES,
    MNIST_FILES,
    ImageArray,
    load_folder,
    load_idx_pair,
    load_mnist_like,
    load_npz,
    read_idx,
    resize_square,
)

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
          np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr``: zero, zero, type code, ndim, big-endian dims, big-endian data."""
    header = bytes([0, 0, _CODES[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr: np.ndarray, gz: bool = False) -> str:
    data = idx_bytes(arr)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return str(path)


def digits(n: int, h: int = 4, w: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, h, w), dtype=np.uint8),
            rng.integers(0, 10, n).astype(np.uint8))


def write_mnist_folder(folder, n: int = 6, test: int = 0, gz: bool = True) -> tuple:
    folder.mkdir(exist_ok=True)
    names = MNIST_FILES["mnist"]
    strip = (lambda s: s) if gz else (lambda s: s[:-3])
    x, y = digits(n)
    write_idx(folder / strip(names[0]), x, gz)
    write_idx(folder / strip(names[1]), y, gz)
    xt = yt = None
    if test:
        xt, yt = digits(test, seed=1)
        write_idx(folder / strip(names[2]), xt, gz)
        write_idx(folder / strip(names[3]), yt, gz)
    return x, y, xt, yt


def save_png(path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray(arr).save(path)


# ---------------------------------------------------------------------------------------------
# IDX


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, gz, dtype):
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4)
    arr = (arr % 256 if dtype == np.uint8 else arr * 3).astype(dtype)
    got = read_idx(write_idx(tmp_path / "a.idx", arr, gz))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)
    got[0, 0, 0] = 1  # a writable copy, not a view of the file's bytes


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels-no-gz-suffix"
    path.write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(read_idx(str(path)), arr)


def test_idx_wrong_magic(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ValueError) as e:
        read_idx(str(path))
    msg = str(e.value)
    assert str(path) in msg and "not an IDX file" in msg
    assert "magic number 0x89504e47" in msg and "expected 0x0000" in msg


def test_idx_unknown_type_code(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 2) + b"ab")
    with pytest.raises(ValueError, match=r"unknown IDX type code 0x07.*0x08 \(uint8\)"):
        read_idx(str(path))


@pytest.mark.parametrize("delta, have", [(-7, 17), (3, 27)])
def test_idx_data_length_must_match_header(tmp_path, delta, have):
    data = idx_bytes(np.zeros((2, 3, 4), np.uint8))  # 24 bytes of data
    path = tmp_path / "x.idx"
    path.write_bytes(data[:delta] if delta < 0 else data + bytes(delta))
    with pytest.raises(ValueError) as e:
        read_idx(str(path))
    assert str(e.value) == (f"{path} holds {have} bytes of data but its header promises 24 "
                            "(2 x 3 x 4 of uint8)")


def test_idx_truncated_gzip_and_missing_file(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((50, 50), np.uint8)))[:-20])
    with pytest.raises(ValueError, match=r"x\.gz: truncated or corrupt gzip data"):
        read_idx(str(path))
    with pytest.raises(ValueError) as e:
        read_idx(str(tmp_path / "nope.idx"))
    assert str(e.value) == (f"{tmp_path / 'nope.idx'}: no such file; expected an IDX file "
                            "(MNIST's format, gzipped or not)")


def test_idx_pair(tmp_path):
    x, y = digits(7)
    ip, lp = write_idx(tmp_path / "i", x, gz=True), write_idx(tmp_path / "l", y)
    data = load_idx_pair(ip, lp)
    assert isinstance(data, ImageArray)
    assert data.images.shape == (7, 4, 5, 1) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[..., 0], x)
    assert data.labels.dtype == np.int64 and list(data.labels) == list(y)
    assert data.class_names == tuple(str(i) for i in range(int(y.max()) + 1))
    named = load_idx_pair(ip, lp, class_names=tuple("abcdefghij"))
    assert named.class_names == tuple("abcdefghij")


def test_idx_pair_count_mismatch_names_both(tmp_path):
    x, y = digits(5)
    ip, lp = write_idx(tmp_path / "imgs", x), write_idx(tmp_path / "labs", y[:4])
    with pytest.raises(ValueError) as e:
        load_idx_pair(ip, lp)
    assert str(e.value) == (f"{ip} holds 5 images but {lp} holds 4 labels; "
                            "they must be the same count")


def test_idx_pair_swapped_files(tmp_path):
    x, y = digits(3)
    ip, lp = write_idx(tmp_path / "imgs", x), write_idx(tmp_path / "labs", y)
    with pytest.raises(ValueError, match=r"labs: expected IDX images of shape \(count, height, "):
        load_idx_pair(lp, ip)


# ---------------------------------------------------------------------------------------------
# .npz


def test_npz_keras_layout_concatenates_train_and_test(tmp_path):
    (x, y), (xt, yt) = digits(5), digits(3, seed=1)
    path = str(tmp_path / "mnist.npz")
    np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    data = load_npz(path)
    assert data.images.shape == (8, 4, 5, 1)
    np.testing.assert_array_equal(data.images[5:, ..., 0], xt)
    assert list(data.labels) == list(y) + list(yt)
    np.savez(path, x_train=x, y_train=y)
    assert load_npz(path).images.shape == (5, 4, 5, 1)


def test_npz_keras_cifar_style_colour_and_column_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 6, 6, 3), dtype=np.uint8)
    path = str(tmp_path / "cifar.npz")
    np.savez_compressed(path, x_train=x, y_train=np.array([[0], [2], [1], [2]]))
    data = load_npz(path)
    assert data.images.shape == (4, 6, 6, 3)
    np.testing.assert_array_equal(data.images, x)
    assert list(data.labels) == [0, 2, 1, 2] and data.class_names == ("0", "1", "2")


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_npz_float_images_scaled(tmp_path, scale):
    x = np.array([0.0, 0.25, 0.5, 1.0], np.float32).reshape(1, 2, 2) * scale
    path = str(tmp_path / "f.npz")
    np.savez(path, images=np.repeat(x, 3, axis=0), labels=np.array([1, 0, 1]))
    data = load_npz(path)
    assert data.images.dtype == np.uint8 and data.images.shape == (3, 2, 2, 1)
    assert list(data.images[0].ravel()) == [0, 64, 128, 255]
    assert data.class_names == ("0", "1")


def test_npz_x_only_is_unlabelled(tmp_path):
    path = str(tmp_path / "x.npz")
    np.savez(path, x=np.zeros((2, 3, 3, 1), np.uint8))
    data = load_npz(path)
    assert data.labels is None and data.class_names == ()
    assert data.images.shape == (2, 3, 3, 1)
    np.savez(path, x=np.zeros((2, 3, 3)), y=np.array([3, 1]))
    assert load_npz(path).class_names == ("0", "1", "2", "3")


def test_npz_without_recognised_keys(tmp_path):
    path = str(tmp_path / "odd.npz")
    np.savez(path, a=np.zeros(2), b=np.zeros(3))
    with pytest.raises(ValueError) as e:
        load_npz(path)
    assert str(e.value) == (f"{path}: expected arrays named x_train/y_train, images/labels or "
                            "x/y; found: a, b")


def test_npz_corrupt_and_missing(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match=r"junk\.npz: not a readable \.npz file"):
        load_npz(str(path))
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros((50, 8, 8), np.uint8))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"cut\.npz: "):
        load_npz(str(cut))
    with pytest.raises(ValueError, match=r"nope\.npz: no such file"):
        load_npz(str(tmp_path / "nope.npz"))


def test_npz_never_unpickles(tmp_path):
    path = str(tmp_path / "obj.npz")
    np.savez(path, images=np.array([object()] * 2, dtype=object))
    with pytest.raises(ValueError, match=r"obj\.npz: array 'images' cannot be read"):
        load_npz(path)


def test_npz_bad_shapes_counts_and_ranges(tmp_path):
    path = str(tmp_path / "bad.npz")
    np.savez(path, x_train=np.zeros((3, 4, 4), np.uint8), y_train=np.zeros(2, np.int64))
    with pytest.raises(ValueError, match=r"x_train holds 3 images but y_train holds 2 labels"):
        load_npz(path)
    np.savez(path, images=np.zeros((3, 4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match=r"C = 1 or 3; found shape \(3, 4, 4, 2\)"):
        load_npz(path)
    np.savez(path, images=np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match=r"\(images\): expected images of shape"):
        load_npz(path)
    np.savez(path, images=np.full((1, 2, 2), -1.0))
    with pytest.raises(ValueError, match=r"span \[-1, -1\]; expected \[0, 1\] or \[0, 255\]"):
        load_npz(path)
    np.savez(path, x_train=np.zeros((2, 4, 4), np.uint8), y_train=np.zeros(2), x_test=np.zeros(1))
    with pytest.raises(ValueError, match=r"has x_test but no y_test"):
        load_npz(path)


# ---------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_folder(tmp_path, gz):
    x, y, _, _ = write_mnist_folder(tmp_path / "mnist", n=6, gz=gz)
    data = load_mnist_like(str(tmp_path / "mnist"), "mnist")
    assert data.images.shape == (6, 4, 5, 1)
    np.testing.assert_array_equal(data.images[..., 0], x)
    assert list(data.labels) == list(y)
    assert data.class_names == tuple("0123456789")


def test_fashion_folder_adds_test_files(tmp_path):
    x, y, xt, yt = write_mnist_folder(tmp_path / "f", n=6, test=2)
    data = load_mnist_like(str(tmp_path / "f"), "fashion-mnist")
    assert data.images.shape == (8, 4, 5, 1)
    assert list(data.labels) == list(y) + list(yt)
    assert data.class_names == FASHION_CLASSES and len(FASHION_CLASSES) == 10


def test_mnist_npz(tmp_path):
    x, y = digits(4)
    path = str(tmp_path / "mnist.npz")
    np.savez(path, x_train=x, y_train=y)
    data = load_mnist_like(path, "fashion-mnist")
    assert data.images.shape == (4, 4, 5, 1) and data.class_names == FASHION_CLASSES


def test_mnist_missing_folder_and_empty_path(tmp_path):
    where = str(tmp_path / "absent")
    with pytest.raises(ValueError) as e:
        load_mnist_like(where, "mnist")
    msg = str(e.value)
    assert msg.startswith("data.path: ") and where in msg and "does not exist" in msg
    assert "train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz" in msg
    assert "x_train and y_train" in msg and msg.endswith("nothing is downloaded")
    with pytest.raises(ValueError) as e:
        load_mnist_like("", "fashion-mnist")
    msg = str(e.value)
    assert "no path is set" in msg and "Fashion-MNIST needs" in msg and "nothing is downloaded" in msg


def test_mnist_folder_missing_label_file(tmp_path):
    folder = tmp_path / "m"
    write_mnist_folder(folder)
    os.remove(folder / "train-labels-idx1-ubyte.gz")
    with pytest.raises(ValueError) as e:
        load_mnist_like(str(folder), "mnist")
    msg = str(e.value)
    assert f"{folder} has no train-labels-idx1-ubyte.gz;" in msg
    assert "has no train-images" not in msg
    assert "nothing is downloaded" in msg and "\n" not in msg


def test_mnist_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match=r"'cifar' is not one of mnist, fashion-mnist"):
        load_mnist_like(str(tmp_path), "cifar")


# ---------------------------------------------------------------------------------------------
# Folders of pictures


def test_folder_with_class_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for cls, n in (("dog", 2), ("cat", 3)):
        for i in range(n):
            save_png(tmp_path / cls / f"{i}.png", rng.integers(0, 256, (12, 20, 3), np.uint8))
    (tmp_path / "cat" / "notes.txt").write_text("not a picture")
    (tmp_path / "dog" / ".hidden.png").write_bytes(b"junk that would fail if read")
    seen = []
    data = load_folder(str(tmp_path), 8, colour=True, progress=lambda d, t: seen.append((d, t)))
    assert data.images.shape == (5, 8, 8, 3) and data.images.dtype == np.uint8
    assert data.class_names == ("cat", "dog")
    assert list(data.labels) == [0, 0, 0, 1, 1] and data.labels.dtype == np.int64
    assert seen[-1] == (5, 5)
    grey = load_folder(str(tmp_path), 6, colour=False)
    assert grey.images.shape == (5, 6, 6, 1)


def test_folder_flat_is_unlabelled_and_loose_files_drop_labels(tmp_path):
    save_png(tmp_path / "a.png", np.full((4, 4), 200, np.uint8))
    PIL.Image.fromarray(np.full((6, 4, 3), 50, np.uint8)).save(tmp_path / "b.JPG", quality=95)
    data = load_folder(str(tmp_path), 4, colour=False)
    assert data.labels is None and data.class_names == ()
    assert data.images.shape == (2, 4, 4, 1)
    assert np.all(data.images[0] == 200) and np.all(np.abs(data.images[1].astype(int) - 50) <= 2)
    save_png(tmp_path / "sub" / "c.png", np.zeros((4, 4), np.uint8))
    mixed = load_folder(str(tmp_path), 4, colour=True)
    assert mixed.labels is None and mixed.images.shape == (3, 4, 4, 3)


def test_folder_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)  # black, fully transparent
    save_png(tmp_path / "t.png", rgba)
    assert np.all(load_folder(str(tmp_path), 4, colour=True).images == 255)


def test_folder_corrupt_image_named(tmp_path):
    save_png(tmp_path / "ok.png", np.zeros((4, 4), np.uint8))
    bad = tmp_path / "broken.png"
    bad.write_bytes(np.random.default_rng(1).bytes(200))
    with pytest.raises(ValueError) as e:
        load_folder(str(tmp_path), 4, colour=False)
    msg = str(e.value)
    assert msg.startswith(f"{bad}: not a readable image (") and "\n" not in msg
    assert msg.count(str(bad)) == 1  # Pillow's reason repeats the path; it is trimmed


def test_folder_empty_missing_and_non_images(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ValueError) as e:
        load_folder(str(tmp_path), 8, colour=True)
    assert str(e.value).startswith(f"{tmp_path}: no images found (looked for .png, .jpg,")
    assert all(s in str(e.value) for s in IMAGE_SUFFIXES)
    with pytest.raises(ValueError, match=r"absent: no such folder"):
        load_folder(str(tmp_path / "absent"), 8, colour=True)
    with pytest.raises(ValueError, match=r"readme\.txt: is a file; expected a folder"):
        load_folder(str(tmp_path / "readme.txt"), 8, colour=True)


def test_folder_cap_and_progress(tmp_path):
    for i in range(70):
        save_png(tmp_path / f"{i:03d}.png", np.full((2, 2), i, np.uint8))
    seen = []
    data = load_folder(str(tmp_path), 2, colour=False, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 70), (64, 70), (70, 70)]
    assert [int(v) for v in data.images[:3, 0, 0, 0]] == [0, 1, 2]  # sorted order
    with pytest.raises(ValueError) as e:
        load_folder(str(tmp_path), 2, colour=False, max_images=50)
    assert str(e.value).startswith(f"{tmp_path} holds 70 images; at most 50 ")


# ---------------------------------------------------------------------------------------------
# resize_square


def test_resize_square_shapes_and_constants():
    grey = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    assert resize_square(grey, 16).shape == (3, 16, 16, 1)
    assert resize_square(grey, 5).shape == (3, 5, 5, 1)
    assert resize_square(grey, 8) is grey
    colour = np.zeros((2, 28, 20, 3), np.uint8)
    assert resize_square(colour, 32).shape == (2, 32, 32, 3)
    for v in (0, 1, 128, 255):
        const = np.full((1, 8, 8, 3), v, np.uint8)
        for size in (3, 16, 28):
            assert np.all(resize_square(const, size) == v)
    with pytest.raises(ValueError, match=r"expected uint8 of shape \(N, H, W, C\)"):
        resize_square(np.zeros((8, 8), np.uint8), 4)

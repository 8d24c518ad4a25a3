"""Hostile files given to the engine's readers: FIFOs, devices, bombs, forged headers, fuzz.

Each reader must refuse quickly with a one-line ValueError naming the file, and never hang
or allocate what a file merely claims. Calls that could hang run under a deadline (a thread
that is abandoned if it overruns, so a regression fails instead of stalling the suite), and
the bombs run in a subprocess whose peak memory is measured and whose address space is
capped, so a regression fails fast instead of eating the machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine import Session, safeio
from engine.config import default_config, with_changes
from engine.imagefiles import MNIST_FILES, load_folder, load_mnist_like, load_npz, read_idx
from engine.presets import load_preset, save_preset

ROOT = Path(__file__).resolve().parents[2]
MiB, GiB = 1 << 20, 1 << 30
DEADLINE = 10.0  # seconds: every refusal here takes milliseconds; only a hang comes near it

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
needs_devzero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")


# ---------------------------------------------------------------------------------------------
# helpers


def within(seconds: float, fn: Callable[..., Any], *args: Any,
           unblock: Callable[[], None] | None = None) -> Any:
    """fn(*args) in a daemon thread: its result, or its exception re-raised; fails on a hang.

    ``unblock`` is called when the deadline passes, to release a reader stuck on a FIFO so
    that the abandoned thread does not outlive the test.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as e:  # handed back to the test thread
            box["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if unblock is not None:
            unblock()
        pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {seconds:.0f} s: it hung")
    if "error" in box:
        raise box["error"]
    return box["result"]


def refused(fn: Callable[..., Any], *args: Any, unblock: Callable[[], None] | None = None,
            seconds: float = DEADLINE) -> str:
    """The message of the ValueError fn(*args) must raise within the deadline, checked to be
    one line."""
    with pytest.raises(ValueError) as e:
        within(seconds, fn, *args, unblock=unblock)
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


def open_fifo_writer(path: Path) -> None:
    """Release a reader blocked opening ``path``: open and close its writing end."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def npy_header(d: dict[str, Any] | str, version: int = 1) -> bytes:
    """A .npy header for the dict (or the literal text) ``d``, padded as numpy pads it."""
    text = d if isinstance(d, str) else repr(d)
    pre = 10 if version == 1 else 12
    text += " " * (-(pre + len(text) + 1) % 64) + "\n"
    size = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text.encode("latin1")


def write_npz_members(path: Path, members: dict[str, bytes], deflate: bool = False) -> Path:
    """An .npz whose members hold exactly the given bytes (forged headers included)."""
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def mnist_folder(folder: Path, n: int = 4) -> Path:
    """A folder holding a small valid pair of MNIST files."""
    folder.mkdir(exist_ok=True)
    x = np.zeros((n, 28, 28), np.uint8)
    (folder / MNIST_FILES["mnist"][0]).write_bytes(zlib.compress(idx_bytes(x), wbits=31))
    (folder / MNIST_FILES["mnist"][1]).write_bytes(idx_bytes(np.arange(n, dtype=np.uint8)))
    return folder


# --- bombs: compressed runs of zeros, built in milliseconds by repeating one flushed block ---

_SEGMENT = 1 * MiB


def deflate_zeros(prefix: bytes, zeros: int) -> Iterator[bytes]:
    """Raw deflate of prefix + ``zeros`` zero bytes, ~1000x smaller, built without inflating.

    After a full flush the compressor refers to nothing before it, so the compressed form of
    one megabyte of zeros can be written again and again: each copy inflates to 1 MiB more.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    segment = c.compress(bytes(_SEGMENT)) + c.flush(zlib.Z_FULL_FLUSH)
    for _ in range(zeros // _SEGMENT):
        yield segment
    yield c.compress(bytes(zeros % _SEGMENT)) + c.flush()


def checksum_zeros(fn: Callable[[bytes, int], int], start: int, zeros: int) -> int:
    """crc32 or adler32 continued over ``zeros`` zero bytes (the bombs carry honest checksums)."""
    block = bytes(64 * MiB)
    for _ in range(zeros // len(block)):
        start = fn(block, start)
    return fn(bytes(zeros % len(block)), start)


def write_gzip_bomb(path: Path, prefix: bytes, zeros: int) -> Path:
    """A valid gzip file of prefix + zeros (CRC and length right), a few MB on disk."""
    crc = checksum_zeros(zlib.crc32, zlib.crc32(prefix), zeros)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        for part in deflate_zeros(prefix, zeros):
            f.write(part)
        f.write(struct.pack("<II", crc, (len(prefix) + zeros) & 0xFFFFFFFF))
    return path


def _zip_fields(name: str, crc: int, stored: int, size: int) -> bytes:
    """The fields a zip's local and central headers share, for a deflated member."""
    return struct.pack("<HHHHHIIIH", 20, 0, 8, 0, 0x21, crc, stored, size, len(name.encode()))


def write_zip(path: Path, blob: bytes, entries: list[tuple[str, int, int, int]]) -> Path:
    """A zip made by hand: ``blob`` (local headers and data, from offset 0), then a central
    directory of deflated entries (name, crc, compressed size, size), each pointing at 0.
    Several entries may share one member's data, as overlapping zip bombs do."""
    central = b"".join(b"PK\x01\x02" + struct.pack("<H", 20) + _zip_fields(*entry)
                       + struct.pack("<HHHHII", 0, 0, 0, 0, 0, 0) + entry[0].encode()
                       for entry in entries)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries),
                                      len(central), len(blob), 0)
    path.write_bytes(blob + central + end)
    return path


def write_zip_bomb(path: Path, name: str, prefix: bytes, zeros: int) -> Path:
    """A valid zip whose one deflated member is prefix + zeros (no zip64: under 4 GiB)."""
    data = b"".join(deflate_zeros(prefix, zeros))
    entry = (name, checksum_zeros(zlib.crc32, zlib.crc32(prefix), zeros), len(data),
             len(prefix) + zeros)
    local = b"PK\x03\x04" + _zip_fields(*entry) + b"\x00\x00" + name.encode()
    return write_zip(path, local + data, [entry])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: Path, width: int, height: int, pixels: bool = True) -> Path:
    """A grey PNG of width x height: all black (valid, ~1000x compressed) or header-only."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = b""
    if pixels:
        zeros = (width + 1) * height  # a filter byte and the pixels, each row
        adler = checksum_zeros(zlib.adler32, 1, zeros)
        raw = b"".join(deflate_zeros(b"", zeros))
        idat = png_chunk(b"IDAT", b"\x78\x9c" + raw + struct.pack(">I", adler))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + idat + png_chunk(b"IEND", b""))
    return path


# --- a subprocess with measured peak memory ---------------------------------------------------

_CHILD = r"""
import importlib, json, resource, signal, sys, time
sys.path.insert(0, sys.argv[1])
calls = json.loads(sys.argv[3])
deadline = float(sys.argv[4])
home = {"Session": "engine", "load_preset": "engine.presets"}
fns = [getattr(importlib.import_module(home.get(name, "engine.imagefiles")), name)
       for name, _ in calls]

def peak():
    # Linux: the high-water mark, reset before each call; elsewhere the process's peak
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

try:  # a regression that inflates a bomb gets a MemoryError, not the machine's memory
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(sys.argv[2]), resource.RLIM_INFINITY))
except (OSError, StopIteration, ValueError):
    pass

class Overrun(BaseException):  # not an OSError (as TimeoutError is): no loader catches it
    pass

def overrun(signum, frame):
    raise Overrun(f"still running after {deadline:.0f} s")

signal.signal(signal.SIGALRM, overrun)  # interrupts a blocking open or read, too
for (name, args), fn in zip(calls, fns):
    reset_peak()
    before, start = peak(), time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, deadline)
        try:
            fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        kind, msg = "ok", ""
    except BaseException as e:
        kind, msg = type(e).__name__, str(e)
    print(json.dumps({"name": name, "kind": kind, "msg": msg, "before": before,
                      "peak": peak(), "seconds": time.perf_counter() - start}), flush=True)
"""


def in_child(calls: list[tuple[str, list[Any]]],
             headroom: int = 2 * GiB) -> list[dict[str, Any]]:
    """Run engine calls by name (imagefiles' loaders, ``load_preset``, ``Session``) in one
    fresh process whose address space may grow ``headroom`` past its start, each call under
    the deadline; per call its outcome, message, seconds, and resident memory before it and
    at its peak."""
    pytest.importorskip("resource")
    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this OS")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(headroom), json.dumps(calls),
         str(DEADLINE)],
        capture_output=True, text=True, timeout=60 + 2 * DEADLINE * len(calls), env=env)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == len(calls), proc.stderr[-2000:]
    return rows


def assert_refused_cheaply(row: dict[str, Any], *fragments: str,
                           extra: int = 300 * MiB) -> None:
    assert row["kind"] == "ValueError", row
    assert "\n" not in row["msg"] and all(f in row["msg"] for f in fragments), row
    grew = row["peak"] - row["before"]
    assert grew < extra, f"peak memory grew {grew / MiB:.0f} MiB: {row}"
    assert row["seconds"] < DEADLINE, row


# ---------------------------------------------------------------------------------------------
# Only regular files are read: FIFOs, devices, sockets and folders are refused at once


@needs_fifo
@pytest.mark.parametrize("loader, what", [
    (load_preset, "a preset JSON file"),
    (read_idx, "an IDX file"),
    (load_npz, "an .npz archive"),
    (lambda p: load_mnist_like(p, "mnist"), "a folder of MNIST IDX files or a .npz"),
], ids=["preset", "idx", "npz", "mnist"])
def test_a_fifo_is_refused_without_hanging(tmp_path, loader, what):
    fifo = make_fifo(tmp_path / "data.npz")
    msg = refused(loader, str(fifo), unblock=lambda: open_fifo_writer(fifo))
    assert msg.startswith(f"{fifo}: not a regular file (a FIFO); expected {what}"), msg


@needs_fifo
def test_a_fifo_inside_an_image_folder_is_refused_by_name(tmp_path):
    PIL.Image.new("L", (4, 4)).save(tmp_path / "a.png")
    fifo = make_fifo(tmp_path / "b.png")
    msg = refused(load_folder, str(tmp_path), 4, False, unblock=lambda: open_fifo_writer(fifo))
    assert msg == (f"{fifo}: not a regular file (a FIFO); expected a picture file "
                   "(.png, .jpg, ...)")


@needs_fifo
def test_a_fifo_given_as_the_picture_folder_is_named_for_what_it_is(tmp_path):
    fifo = make_fifo(tmp_path / "pictures")
    assert refused(load_folder, str(fifo), 8, True) == (
        f"{fifo}: is a FIFO; expected a folder of images")


@needs_fifo
def test_a_fifo_in_place_of_an_mnist_file_is_refused_by_name(tmp_path):
    folder = mnist_folder(tmp_path / "m")
    labels = folder / MNIST_FILES["mnist"][1]
    labels.unlink()
    make_fifo(labels)
    msg = refused(load_mnist_like, str(folder), "mnist", unblock=lambda: open_fifo_writer(labels))
    assert msg.startswith(f"{labels}: not a regular file (a FIFO); expected an IDX file")


@needs_devzero
@pytest.mark.parametrize("case", ["preset", "idx", "npz", "mnist"])
def test_dev_zero_is_refused_not_read_forever(child_rows, case):
    """In the child process: a thread reading /dev/zero forever could not be stopped."""
    assert_refused_cheaply(child_rows[f"devzero_{case}"], "/dev/zero: not a regular file "
                           "(a character device); expected ", extra=20 * MiB)


@needs_devzero
def test_a_link_to_dev_zero_named_like_an_mnist_file_is_refused(tmp_path):
    folder = mnist_folder(tmp_path / "m")
    images = folder / MNIST_FILES["mnist"][0]
    images.unlink()
    images.symlink_to("/dev/zero")
    assert refused(load_mnist_like, str(folder), "mnist").startswith(
        f"{images}: not a regular file (a character device)")


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_a_socket_is_refused():
    with tempfile.TemporaryDirectory(dir="/tmp") as short:  # socket paths must be short
        path = os.path.join(short, "s.idx")
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(path)
            assert refused(read_idx, path) == (
                f"{path}: not a regular file (a socket); expected an IDX file "
                "(MNIST's format, gzipped or not)")


def test_a_folder_is_refused_as_a_file(tmp_path):
    (tmp_path / "p.json").mkdir()
    assert refused(load_preset, str(tmp_path / "p.json")) == (
        f"{tmp_path / 'p.json'}: is a folder; expected a preset JSON file")
    assert refused(read_idx, str(tmp_path)).startswith(f"{tmp_path}: is a folder; expected an IDX")


@needs_fifo
def test_a_fifo_is_refused_before_anything_opens_it(tmp_path, monkeypatch):
    fifo = make_fifo(tmp_path / "p.json")

    def no_open(*args: Any) -> int:
        raise AssertionError("opened")

    monkeypatch.setattr(safeio.os, "open", no_open)
    assert refused(safeio.read_capped, fifo, 10, "a preset JSON file") == (
        f"{fifo}: not a regular file (a FIFO); expected a preset JSON file")


@needs_fifo
def test_a_fifo_swapped_in_after_the_check_cannot_block_the_open(tmp_path, monkeypatch):
    """The race: the path was a regular file when stat'ed and is a FIFO when opened."""
    fifo = make_fifo(tmp_path / "p.json")
    monkeypatch.setattr(safeio, "check_regular", lambda path, what: None)
    msg = refused(safeio.open_regular, fifo, "a preset JSON file",
                  unblock=lambda: open_fifo_writer(fifo))
    assert msg == f"{fifo}: not a regular file (a FIFO); expected a preset JSON file"


@needs_fifo
@pytest.mark.parametrize("data", ["mnist", "folder"])
def test_a_session_on_a_fifo_refuses_quickly(tmp_path, data):
    fifo = make_fifo(tmp_path / ("x.png" if data == "folder" else "x.npz"))
    path = tmp_path if data == "folder" else fifo
    config = {"data": {"name": data, "path": str(path)}, "device": "cpu"}
    msg = refused(Session, config, unblock=lambda: open_fifo_writer(fifo))
    assert msg.startswith(f"{fifo}: not a regular file (a FIFO); expected ")


# ---------------------------------------------------------------------------------------------
# Presets: size-capped before reading, and one line for any JSON


def test_a_preset_over_the_cap_is_refused_naming_size_and_cap(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (safeio.PRESET_BYTES + 1))
    assert refused(load_preset, str(big)) == (
        f"{big}: 4,194,305 bytes (4.0 MiB), over the limit of 4 MiB; expected a preset JSON file")


def test_the_largest_drawn_preset_fits_the_cap_twice_over(tmp_path):
    """20,000 points (the most the app keeps) in the longest float spelling load fine."""
    points = [[-1.2345678901234567e-05, -9.876543210987654e-05]] * 20_000
    path = tmp_path / "drawn.json"
    save_preset(with_changes(default_config(), {"data.name": "points", "data.points": points}),
                str(path))
    assert path.stat().st_size < safeio.PRESET_BYTES / 2
    assert len(load_preset(str(path))["data"]["points"]) == 20_000


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"seed": ' + "7" * 5000 + "}", "Exceeds the limit (4300 digits)"),
], ids=["deep", "long-int"])
def test_pathological_json_is_one_line(tmp_path, text, reason):
    path = tmp_path / "p.json"
    path.write_text(text)
    assert refused(load_preset, str(path)).startswith(f"{path}: not valid JSON ({reason}")


# ---------------------------------------------------------------------------------------------
# IDX: declared sizes checked before allocating; gzip inflated in bounded steps


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """The bombs, built once (they take a second or two: honest checksums over gigabytes)."""
    d = tmp_path_factory.mktemp("bombs")
    mnist_header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28)
    n = 2_000_000_000 // (28 * 28 * 4)  # float32 images: ~2 GB, under the 2 GiB cap
    x_header = npy_header({"descr": "<f4", "fortran_order": False, "shape": (n, 28, 28)})
    return {
        # 4 GiB of zeros behind MNIST's header (which promises 47 MB)
        "idx_gz": write_gzip_bomb(d / "train-images-idx3-ubyte.gz", mnist_header, 4 * GiB),
        # a header that honestly declares 1.5 GiB of zeros: under the cap, but from 1.5 MB
        "idx_gz_true": write_gzip_bomb(d / "true.gz", bytes([0, 0, 8, 3])
                                       + struct.pack(">3I", 1536, 1024, 1024), 1536 * MiB),
        # 2 MB of zip holding a 2 GB float32 image array
        "npz": write_zip_bomb(d / "bomb.npz", "x.npy", x_header, n * 28 * 28 * 4),
        # a PNG of 12000 x 12000 black pixels (144 megapixels) in 150 KB
        "png": write_png(d / "pics" / "black.png", 12000, 12000),
    }


@pytest.fixture(scope="module")
def child_rows(bombs, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Every bomb through its loader and through a Session, and /dev/zero through each
    loader, in one child process (its start, importing torch, is most of the time); per case
    its outcome and peak memory. A regression there meets its address-space cap or its
    timeout; in a thread of the test process it would run on and take the machine's memory."""
    mnist = tmp_path_factory.mktemp("mnist")
    (mnist / MNIST_FILES["mnist"][0]).symlink_to(bombs["idx_gz"])
    (mnist / MNIST_FILES["mnist"][1]).write_bytes(idx_bytes(np.arange(4, dtype=np.uint8)))
    cases = {
        "idx_gz": ("read_idx", [str(bombs["idx_gz"])]),
        "idx_gz_true": ("read_idx", [str(bombs["idx_gz_true"])]),
        "npz": ("load_npz", [str(bombs["npz"])]),
        "npz_mnist": ("load_mnist_like", [str(bombs["npz"]), "mnist"]),
        "png": ("load_folder", [str(bombs["png"].parent), 8, True]),
        "session_idx": ("Session", [{"data": {"name": "mnist", "path": str(mnist)},
                                     "device": "cpu"}]),
        "session_npz": ("Session", [{"data": {"name": "mnist", "path": str(bombs["npz"])},
                                     "device": "cpu"}]),
        "session_png": ("Session", [{"data": {"name": "folder",
                                              "path": str(bombs["png"].parent)},
                                     "device": "cpu"}]),
    }
    if os.path.exists("/dev/zero"):
        cases.update({"devzero_preset": ("load_preset", ["/dev/zero"]),
                      "devzero_idx": ("read_idx", ["/dev/zero"]),
                      "devzero_npz": ("load_npz", ["/dev/zero"]),
                      "devzero_mnist": ("load_mnist_like", ["/dev/zero", "mnist"])})
    return dict(zip(cases, in_child(list(cases.values()))))


def test_idx_gzip_bomb_is_refused_once_it_inflates_past_its_header(bombs, child_rows):
    assert_refused_cheaply(child_rows["idx_gz"], str(bombs["idx_gz"]), "holds more than 47040000 bytes of data "
                           "but its header promises 47040000 (60000 x 28 x 28 of uint8)")


def test_idx_gzip_bomb_with_an_honest_header_is_refused_before_inflating(child_rows):
    assert_refused_cheaply(child_rows["idx_gz_true"], "that inflate to 1,610,612,736 bytes (1.5 GiB)",
                           "a compression bomb?), over the limit of 100x", extra=20 * MiB)


def test_idx_header_declaring_more_than_the_cap_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.idx.gz"
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 4_000_000_000, 4096, 4096)
    path.write_bytes(zlib.compress(header + bytes(1000), wbits=31))
    assert refused(read_idx, str(path)).startswith(
        f"{path}: declares 536,870,912,000,000,000 bytes (500,000,000 GiB) of data, over the "
        "limit of 2 GiB; expected an IDX file")
    plain = tmp_path / "huge.idx"
    plain.write_bytes(header + bytes(1000))
    assert refused(read_idx, str(plain)) == (
        f"{plain} holds 1000 bytes of data but its header promises 536870912000000000 "
        "(4000000000 x 4096 x 4096 of float64)")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_an_empty_idx_of_absurd_dimensions_is_refused_by_name(tmp_path, gz):
    """(0, 255, 2**31 - 1, 2**31 - 1) declares no data; numpy refuses to shape it."""
    raw = bytes([0, 0, 8, 4]) + struct.pack(">4I", 0, 255, 2**31 - 1, 2**31 - 1)
    path = tmp_path / "empty.idx"
    path.write_bytes(zlib.compress(raw, wbits=31) if gz else raw)
    assert refused(read_idx, str(path)) == (
        f"{path}: declares an empty array of shape (0, 255, 2147483647, 2147483647), whose "
        "other dimensions are over the limit of 2 GiB; expected an IDX file (MNIST's format, "
        "gzipped or not)")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_an_idx_header_of_255_huge_dimensions_gets_a_short_message(tmp_path, gz):
    """Declares 2^8160 bytes: more than a float holds, thousands of digits long."""
    raw = bytes([0, 0, 8, 255]) + b"\xff" * (4 * 255) + bytes(10)
    path = tmp_path / "many.idx"
    path.write_bytes(zlib.compress(raw, wbits=31) if gz else raw)
    msg = refused(read_idx, str(path))
    assert len(msg) < len(str(path)) + 250, msg
    assert ("declares over 2^8159 bytes of data, over the limit of 2 GiB" if gz else
            "holds 10 bytes of data but its header promises over 2^8159 bytes") in msg


def test_idx_gzip_short_of_its_header_is_refused(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(zlib.compress(idx_bytes(np.zeros((5, 4, 4), np.uint8))[:-16], wbits=31))
    assert refused(read_idx, str(path)) == (
        f"{path} holds 64 bytes of data but its header promises 80 (5 x 4 x 4 of uint8)")


def test_idx_gzip_members_and_padding_read_like_gzip(tmp_path):
    data = idx_bytes(np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4))
    path = tmp_path / "multi.gz"
    path.write_bytes(zlib.compress(data[:7], wbits=31) + zlib.compress(data[7:], wbits=31)
                     + bytes(10))
    got = read_idx(str(path))
    assert got.dtype == np.int16 and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, np.arange(24).reshape(2, 3, 4))


# ---------------------------------------------------------------------------------------------
# .npz: the zip's sizes and each .npy header checked before np.load-style allocation


def test_npz_zip_bomb_is_refused_before_inflating(bombs, child_rows):
    assert_refused_cheaply(child_rows["npz"], f"{bombs['npz']} (x.npy): ", "a compression bomb?",
                           extra=20 * MiB)


def test_npz_members_together_over_the_cap_are_refused(tmp_path):
    """30 directory entries share one megabyte, each claiming 100 MiB (100x, allowed alone):
    together they declare 3 GB, and nothing is read."""
    entries = [(f"m{i}.npy", 0, MiB, 100 * MiB) for i in range(30)]
    path = write_zip(tmp_path / "many.npz", bytes(MiB), entries)
    assert refused(load_npz, str(path)) == (
        f"{path}: declares 3,145,728,000 bytes (2.9 GiB) of data, over the limit of 2 GiB; "
        "expected an .npz archive of .npy arrays (as np.savez writes)")


def _valid_member(shape: tuple[int, ...] = (3, 2, 2), dtype: str = "|u1") -> bytes:
    header = npy_header({"descr": dtype, "fortran_order": False, "shape": shape})
    return header + bytes(int(np.prod(shape)) * np.dtype(dtype).itemsize)


@pytest.mark.parametrize("member, reason", [
    (npy_header({"descr": "|u1", "fortran_order": False, "shape": (10**6, 10**6)}),
     "declares 1,000,000,000,000 bytes (931.3 GiB) of data, over the limit of 2 GiB"),
    (npy_header({"descr": "|u1", "fortran_order": False, "shape": (100, 28, 28)}) + bytes(784),
     "its header declares (100, 28, 28) of uint8, 78400 bytes, but the member holds 784"),
    (npy_header({"descr": "<f8", "fortran_order": False, "shape": (0, 2**40, 2**40)}),
     "empty array of shape (0, 1099511627776, 1099511627776), whose other dimensions are "
     "over the limit of 2 GiB"),
    (npy_header({"descr": "|u1", "fortran_order": False, "shape": (1, -5)}),
     "its header declares (1, -5) of uint8; expected an array of numbers"),
    (npy_header({"descr": "|O", "fortran_order": False, "shape": (2,)}) + bytes(16),
     "it holds Python objects, which are never unpickled"),
    (npy_header({"descr": "<U3", "fortran_order": False, "shape": (2,)}) + bytes(24),
     "its header declares (2,) of <U3; expected an array of numbers"),
    (npy_header("[1, 2, 3]"), "not a .npy array: Header is not a dictionary"),
    (npy_header("{'descr': 'zz', 'fortran_order': False, 'shape': (2,)}"),
     "not a .npy array: descr is not a valid dtype descriptor"),
    (npy_header("{" * 5000), "not a .npy array: ('EOF in multi-line statement'"),
    (b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 100, "not a .npy array: EOF: reading array header"),
    (b"\x93NUMPY\x03\x00" + bytes(8), ".npy format version 3.0; expected 1.0 or 2.0"),
    (b"\x93NUM", "not a .npy array: EOF: reading magic string"),
    (b"just some bytes, not an array", "not a .npy array: the magic string is not correct"),
], ids=["huge", "short", "empty-absurd", "negative", "object", "text", "not-dict", "bad-descr", "unparsable",
        "header-past-end", "version-3", "cut-magic", "no-magic"])
@pytest.mark.parametrize("deflate", [False, True], ids=["stored", "deflated"])
def test_forged_npy_headers_are_one_line(tmp_path, member, reason, deflate):
    path = write_npz_members(tmp_path / "forged.npz", {"x.npy": member}, deflate)
    msg = refused(load_npz, str(path))
    assert msg.startswith(f"{path} (x): " if "limit" in reason else
                          f"{path}: array 'x' cannot be read (") and reason in msg, msg


def test_npz_member_with_a_damaged_local_header_is_refused_by_name(tmp_path):
    """The member's own header flags its name as UTF-8, and it is not: zipfile says so in a
    UnicodeDecodeError that names nothing."""
    path = write_npz_members(tmp_path / "names.npz", {"x.npy": _valid_member()})
    data = bytearray(path.read_bytes())
    data[6:8] = struct.pack("<H", 0x800)  # the local header's flags: the name is UTF-8
    data[30:31] = b"\xff"  # the local header's name: "\xff.npy"
    path.write_bytes(bytes(data))
    assert refused(load_npz, str(path)).startswith(
        f"{path}: array 'x' cannot be read (its zip entry is damaged: 'utf-8' codec can't decode")


def test_npz_header_version_2_and_fortran_order_still_load(tmp_path):
    x = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    header = npy_header({"descr": "|u1", "fortran_order": True, "shape": (3, 4, 5)}, version=2)
    path = write_npz_members(tmp_path / "v2.npz", {"x.npy": header + x.tobytes(order="F")})
    np.testing.assert_array_equal(load_npz(str(path)).images[..., 0], x)


def test_npz_member_of_another_zip_method_is_refused(tmp_path):
    path = tmp_path / "bz.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("x.npy", _valid_member())
    assert refused(load_npz, str(path)) == (
        f"{path} (x.npy): compressed with zip method 12; expected stored or deflated members, "
        "as np.savez and np.savez_compressed write")


def test_npz_bomb_through_the_mnist_loader(child_rows):
    assert_refused_cheaply(child_rows["npz_mnist"], "a compression bomb?", extra=20 * MiB)


# ---------------------------------------------------------------------------------------------
# Pictures: the header's size checked before decoding; Pillow's bomb check never surfaces


def test_a_picture_over_the_pixel_cap_is_refused_before_decoding(tmp_path):
    """8193 x 8192 is over our cap and under Pillow's; the file has no pixel data at all,
    so reaching the decoder would give "not a readable image" instead."""
    path = write_png(tmp_path / "big.png", 8193, 8192, pixels=False)
    assert refused(load_folder, str(tmp_path), 8, False) == (
        f"{path}: a picture of 67,117,056 pixels, over the limit of 67,108,864 "
        "(67 megapixels); expected a smaller picture (resize it first)")


@pytest.mark.parametrize("side", [10_000, 100_000])  # Pillow warns at the first, raises at the second
def test_pillow_bomb_warning_and_error_become_our_refusal(tmp_path, side):
    path = write_png(tmp_path / "bomb.png", side, side, pixels=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        msg = refused(load_folder, str(tmp_path), 8, False)
    assert msg == (f"{path}: a picture of {side * side:,} pixels, over the limit of 67,108,864 "
                   "(67 megapixels); expected a smaller picture (resize it first)")
    assert not [w for w in seen if issubclass(w.category, PIL.Image.DecompressionBombWarning)]


def test_png_bomb_is_refused_with_little_memory(child_rows):
    assert_refused_cheaply(child_rows["png"], "a picture of 144,000,000 pixels", extra=50 * MiB)


# ---------------------------------------------------------------------------------------------
# Through a Session, as the app reaches them


def test_a_session_refuses_each_bomb_quickly_and_cheaply(child_rows):
    assert_refused_cheaply(child_rows["session_idx"], "holds more than 47040000 bytes")
    assert_refused_cheaply(child_rows["session_npz"], "a compression bomb?")
    assert_refused_cheaply(child_rows["session_png"], "a picture of 144,000,000 pixels")


# ---------------------------------------------------------------------------------------------
# safeio itself


def test_a_file_that_grows_past_its_stat_size_is_still_capped(tmp_path, monkeypatch):
    """/proc files say 0 bytes; a file may grow after fstat: at most cap + 1 bytes are read."""
    path = tmp_path / "p.json"
    path.write_bytes(b"x" * 100)
    real = os.fstat
    monkeypatch.setattr(safeio.os, "fstat",
                        lambda fd: os.stat_result((*real(fd)[:6], 0, *real(fd)[7:])))
    assert refused(safeio.read_capped, path, 10, "a preset JSON file") == (
        f"{path}: more than 10 bytes, over the limit of 10 bytes; expected a preset JSON file")
    assert safeio.read_capped(path, 100, "a preset JSON file") == b"x" * 100


def test_gunzip_capped_bounds_output_and_reads_members(tmp_path):
    data = zlib.compress(b"abc" * 1000, wbits=31) + bytes(5) + zlib.compress(b"xyz", wbits=31)
    assert bytes(safeio.gunzip_capped(data, 3003, "x")) == b"abc" * 1000 + b"xyz"
    assert bytes(safeio.gunzip_capped(io.BytesIO(data), 3003, "x")) == b"abc" * 1000 + b"xyz"
    with pytest.raises(ValueError) as e:
        safeio.gunzip_capped(data, 3002, "some text", path="t.gz")
    assert str(e.value) == ("t.gz: gzip data inflates to more than 3,002 bytes (2.9 KiB); "
                            "expected some text")
    for broken in (data[:-12], b"", data + b"junk"):
        with pytest.raises(ValueError, match=r"^t\.gz: truncated or corrupt gzip data \(.*\); "
                                             r"expected some text$"):
            safeio.gunzip_capped(broken, 10**6, "some text", path="t.gz")


def test_gunzip_capped_never_holds_much_more_than_the_cap():
    """A 1 GiB run of zeros, capped at 1 MiB: the output never passes cap + one step."""
    bomb = b"".join(deflate_zeros(b"", GiB))
    gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + bomb + bytes(8)
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="inflates to more than 1,048,576 bytes"):
            safeio.gunzip_capped(gz, MiB, "x", path="z.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, peak


def test_check_declared_messages():
    safeio.check_declared("f", 64 * MiB, "x", stored=1)  # small data: any ratio
    safeio.check_declared("f", 100 * 10 * MiB, "x", stored=10 * MiB)  # 100x: allowed
    with pytest.raises(ValueError) as e:
        safeio.check_declared("f", 100 * 10 * MiB + 1, "x", stored=10 * MiB)
    assert str(e.value).startswith("f: 10,485,760 bytes (10 MiB) that inflate to ")
    with pytest.raises(ValueError, match=r"^f: declares 3 bytes of data, over the limit of 2 "
                                         r"bytes; expected x$"):
        safeio.check_declared("f", 3, "x", cap=2)


def test_check_regular_missing_and_unusable_paths(tmp_path):
    with pytest.raises(ValueError, match=r"nope: no such file; expected a thing$"):
        safeio.check_regular(tmp_path / "nope", "a thing")
    with pytest.raises(ValueError, match=r"no such file; expected a thing$"):
        safeio.check_regular(tmp_path / "nope" / "deeper", "a thing")
    with pytest.raises(ValueError, match=r"^'a\\x00b': not a usable path; expected a thing$"):
        safeio.check_regular("a\0b", "a thing")
    (tmp_path / "f").write_bytes(b"1")
    assert safeio.check_regular(tmp_path / "f", "a thing").st_size == 1


# ---------------------------------------------------------------------------------------------
# Fuzz: random damage to valid files gives a result or a one-line ValueError, never a hang

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    npz = io.BytesIO()
    np.savez(npz, x_train=x, y_train=np.arange(6, dtype=np.uint8))
    npz_z = io.BytesIO()
    np.savez_compressed(npz_z, images=x.astype(np.float32) / 255)
    png = io.BytesIO()
    PIL.Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(png, "PNG")
    preset = (ROOT / "presets" / "ring8.json").read_bytes()
    return {"idx": idx_bytes(x), "idx.gz": zlib.compress(idx_bytes(x), wbits=31),
            "npz": npz.getvalue(), "npz_z": npz_z.getvalue(), "png": png.getvalue(),
            "json": preset}


VALID = _valid_files()
_BIG = st.sampled_from([0, 1, 255, 65535, 2**31 - 1, 2**32 - 1]) | st.integers(0, 2**32 - 1)
_DIM = st.sampled_from([0, 1, 2**20, 2**31, 2**40]) | st.integers(-2, 2**40)
_SIDE = st.sampled_from([1, 8193, 10_000, 12_000, 65_535, 2**31 - 1]) | _BIG  # Pillow warns
_PATHOLOGICAL_JSON = st.sampled_from(["[" * 50_000 + "]" * 50_000, '{"seed": ' + "9" * 5000 + "}",
                                      '{"data": ' * 3000 + "1" + "}" * 3000])
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def forged_fields(draw: st.DrawFn, kind: str) -> bytes:
    """A valid file of ``kind`` with its size fields (or values) replaced: where bombs and
    forged headers live, and where random damage rarely lands."""
    if kind in ("idx", "idx.gz"):
        dims = draw(st.lists(_BIG, min_size=1, max_size=4))
        header = bytes([0, 0, draw(st.sampled_from([8, 9, 11, 12, 13, 14])), len(dims)])
        raw = header + struct.pack(f">{len(dims)}I", *dims) + bytes(draw(st.integers(0, 600)))
        return zlib.compress(raw, wbits=31) if kind == "idx.gz" else raw
    if kind in ("npz", "npz_z"):
        shape = tuple(draw(st.lists(_DIM, max_size=4)))
        descr = draw(st.sampled_from(["|u1", "<f4", ">i8", "|b1", "<c16", "|O", "<U4", "|V0"]))
        header = npy_header({"descr": descr, "fortran_order": draw(st.booleans()),
                             "shape": shape})
        data = header + bytes(draw(st.integers(0, 600)))
        return _zip_of(data, deflate=kind == "npz_z")
    if kind == "png":
        w, h = draw(_SIDE), draw(_SIDE)
        data = bytearray(VALID["png"])
        data[16:33] = struct.pack(">II", w, h) + data[24:29] + b"\0\0\0\0"
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
        return bytes(data)
    if draw(st.booleans()):
        return draw(_PATHOLOGICAL_JSON).encode()
    preset = json.loads(VALID["json"])
    section = draw(st.sampled_from(sorted(k for k, v in preset.items() if isinstance(v, dict))))
    if preset[section]:
        key = draw(st.sampled_from(sorted(preset[section])))
        preset[section][key] = draw(_JSON)
    return json.dumps(preset, allow_nan=True).encode()


def _zip_of(member: bytes, deflate: bool) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as zf:
        zf.writestr("x_train.npy", member)
        zf.writestr("y_train.npy", npy_header({"descr": "|u1", "fortran_order": False,
                                               "shape": (6,)}) + bytes(6))
    return out.getvalue()


@st.composite
def damaged(draw: st.DrawFn, kind: str) -> bytes:
    """A valid file of ``kind`` truncated, bit-flipped, overwritten with big numbers, with
    its size fields forged, or replaced by random bytes."""
    data = bytearray(VALID[kind])
    how = draw(st.sampled_from(["truncate", "flip", "overwrite", "fields", "fields", "random"]))
    if how == "random":
        return draw(st.binary(max_size=2000))
    if how == "fields":
        return draw(forged_fields(kind))
    if how == "truncate":
        return bytes(data[:draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        if how == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        else:  # a field turned into a huge or odd number
            data[at:at + 4] = struct.pack(">I", draw(_BIG))
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "pics").mkdir()
    return d


def _outcome(fn: Callable[..., Any], *args: Any) -> None:
    """fn(*args) gives a result or a one-line ValueError naming the file (args[0]), within
    the deadline, and no decompression-bomb warning reaches the user on the way."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", PIL.Image.DecompressionBombWarning)
        try:
            within(DEADLINE, fn, *args)
        except ValueError as e:
            assert "\n" not in str(e) and str(args[0]) in str(e), repr(str(e))
    assert not [w for w in seen if w.category is PIL.Image.DecompressionBombWarning]


# Known dangers run on every fuzz run, whatever the random draws: a header declaring
# exabytes, a forged .npy shape of a terabyte, a PNG in Pillow's warning range, deep JSON.
_HUGE_IDX = zlib.compress(bytes([0, 0, 8, 2]) + struct.pack(">2I", 2**31, 2**31), wbits=31)
_HUGE_NPY = _zip_of(npy_header({"descr": "|u1", "fortran_order": False, "shape": (2**40,)}),
                    deflate=False)
_WARNED_PNG = bytearray(VALID["png"])
_WARNED_PNG[16:24] = struct.pack(">II", 12_000, 12_000)
_WARNED_PNG[29:33] = struct.pack(">I", zlib.crc32(bytes(_WARNED_PNG[12:29])))


@FUZZ
@given(data=st.sampled_from(["idx", "idx.gz"]).flatmap(damaged))
@example(data=_HUGE_IDX)
def test_fuzz_idx(fuzz_dir, data):
    path = fuzz_dir / "f.idx"
    path.write_bytes(data)
    _outcome(read_idx, str(path))


@FUZZ
@given(data=st.sampled_from(["npz", "npz_z"]).flatmap(damaged))
@example(data=_HUGE_NPY)
def test_fuzz_npz(fuzz_dir, data):
    path = fuzz_dir / "f.npz"
    path.write_bytes(data)
    _outcome(load_npz, str(path))
    _outcome(load_mnist_like, str(path), "mnist")


@FUZZ
@given(data=damaged("png"))
@example(data=bytes(_WARNED_PNG))
def test_fuzz_png(fuzz_dir, data):
    (fuzz_dir / "pics" / "f.png").write_bytes(data)
    _outcome(load_folder, str(fuzz_dir / "pics"), 8, True)


@FUZZ
@given(data=damaged("json"))
@example(data=b"[" * 50_000 + b"]" * 50_000)
def test_fuzz_preset(fuzz_dir, data):
    path = fuzz_dir / "f.json"
    path.write_bytes(data)
    _outcome(load_preset, str(path))

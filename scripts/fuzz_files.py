#!/usr/bin/env python3
"""Throw random hostile files at every file reader of the engine; count what goes wrong.

Not run by CI (the tests hold a small, fixed fuzz); run it by hand after touching a reader::

    python scripts/fuzz_files.py --cases 5000 [--seed 1] [--keep failures/]

Each case writes a file (or a folder) made from a valid one by damage (truncation, bit flips,
big numbers over its fields, forged size fields, splices, random bytes) or puts a FIFO, a link
to /dev/zero, a folder or a small bomb where a file is expected, and hands it to one reader:
``read_idx``, ``load_npz``, ``load_mnist_like``, ``load_folder`` or ``load_preset``. A case
passes when the reader returns a result or raises a ValueError of one line that names the
path; anything else is a failure: another exception type, a message on several lines or not
naming the file, a case still running after ``--deadline`` seconds (it is interrupted), or
one that grows the process by more than ``--memory`` MiB. Prints the counts per reader and
outcome, the worst memory growth, and the first failures; exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402

from engine.imagefiles import (  # noqa: E402
    MNIST_FILES,
    load_folder,
    load_mnist_like,
    load_npz,
    read_idx,
)
from engine.presets import load_preset  # noqa: E402

MiB = 1 << 20


class Overrun(BaseException):
    """Raised by the alarm in a case that runs too long (no reader catches a BaseException)."""


# ---------------------------------------------------------------------------------------------
# valid files to start from


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def npy_header(d: dict[str, Any]) -> bytes:
    text = repr(d)
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def zip_of(members: dict[str, bytes], deflate: bool) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def picture(fmt: str, rng: np.random.Generator) -> bytes:
    out = io.BytesIO()
    arr = rng.integers(0, 256, (int(rng.integers(1, 40)), int(rng.integers(1, 40)), 3), np.uint8)
    PIL.Image.fromarray(arr).save(out, fmt)
    return out.getvalue()


def valid_files() -> dict[str, list[bytes]]:
    """Several valid files of each kind the readers take."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    y = np.arange(6, dtype=np.uint8)
    npz = []
    for deflate in (False, True):
        for layout in ({"x_train": x, "y_train": y}, {"images": x.astype(np.float32) / 255},
                       {"x": x[..., None].repeat(3, -1), "y": y}):
            out = io.BytesIO()
            (np.savez_compressed if deflate else np.savez)(out, **layout)
            npz.append(out.getvalue())
    presets = [p.read_bytes() for p in sorted((ROOT / "presets").glob("*.json"))]
    return {
        "idx": [idx_bytes(x), idx_bytes(y), idx_bytes(x.astype(np.int16))],
        "idx.gz": [zlib.compress(idx_bytes(a), wbits=31) for a in (x, y)],
        "npz": npz,
        "picture": [picture(f, rng) for f in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")],
        "json": presets,
    }


# ---------------------------------------------------------------------------------------------
# damage


def damage(data: bytes, r: random.Random, pool: list[bytes]) -> tuple[str, bytes]:
    """(how, damaged copy of data)."""
    how = r.choice(["truncate", "flip", "overwrite", "splice", "random", "zeros"])
    buf = bytearray(data)
    if how == "truncate":
        return how, bytes(buf[:r.randrange(len(buf) + 1)])
    if how == "random":
        return how, r.randbytes(r.randrange(4000))
    if how == "zeros":
        start = r.randrange(len(buf))
        buf[start:start + r.randrange(1, 64)] = bytes(64)
        return how, bytes(buf)
    if how == "splice":
        other = r.choice(pool)
        cut = r.randrange(len(buf) + 1)
        return how, bytes(buf[:cut] + other[r.randrange(len(other) + 1):])
    for _ in range(r.randint(1, 16)):
        at = r.randrange(len(buf))
        if how == "flip":
            buf[at] ^= 1 << r.randrange(8)
        else:
            value = r.choice([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF,
                              r.getrandbits(32)])
            buf[at:at + 4] = struct.pack(r.choice([">I", "<I"]), value)
    return how, bytes(buf)


def big(r: random.Random) -> int:
    return r.choice([0, 1, 255, 65535, 2**31 - 1, 2**32 - 1, r.getrandbits(32),
                     r.getrandbits(40), r.randrange(100)])


def forged(kind: str, r: random.Random, valid: dict[str, list[bytes]]) -> bytes:
    """A file of ``kind`` whose size fields (or values) are forged."""
    if kind in ("idx", "idx.gz"):
        dims = [big(r) % 2**32 for _ in range(r.randint(1, 5))]
        if r.random() < 0.2:  # an empty array of absurd dimensions
            dims[r.randrange(len(dims))] = 0
        raw = (bytes([0, 0, r.choice([8, 9, 11, 12, 13, 14]), len(dims)])
               + struct.pack(f">{len(dims)}I", *dims) + r.randbytes(r.randrange(2000)))
        return zlib.compress(raw, wbits=31) if kind == "idx.gz" else raw
    if kind == "npz":
        shape = tuple(r.choice([big(r), -1, 0, r.randrange(10)]) for _ in range(r.randint(0, 4)))
        if shape and r.random() < 0.2:  # an empty array of absurd dimensions
            shape = (0,) + tuple(2**40 for _ in shape)
        descr = r.choice(["|u1", "<f4", ">f8", "<i8", "|b1", "<c8", "|O", "<U4", "|V0", "|S3"])
        header = npy_header({"descr": descr, "fortran_order": r.random() < 0.3, "shape": shape})
        member = header + r.randbytes(r.randrange(2000))
        key = r.choice(["x_train", "images", "x"])
        return zip_of({f"{key}.npy": member, "y_train.npy": npy_header(
            {"descr": "|u1", "fortran_order": False, "shape": (6,)}) + bytes(6)},
            r.random() < 0.5)
    if kind == "picture":  # a PNG claiming another size (its header CRC made right)
        data = bytearray(valid["picture"][0])
        side = [r.choice([1, 8193, 10_000, 12_000, 65_535, 2**31 - 1, big(r)]) for _ in "wh"]
        data[16:24] = struct.pack(">II", *(s % 2**31 for s in side))
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
        return bytes(data)
    preset = json.loads(r.choice(valid["json"]))
    choice = r.random()
    if choice < 0.2:
        return ("[" * r.randrange(1, 200_000)).encode()
    if choice < 0.3:
        return ('{"seed": ' + "9" * r.randrange(1, 20_000) + "}").encode()
    sections = [k for k, v in preset.items() if isinstance(v, dict) and v]
    if sections:
        section = r.choice(sections)
        key = r.choice(sorted(preset[section]))
        preset[section][key] = r.choice([None, True, -1, 1e308, float("nan"), "x" * 1000, [],
                                         {}, [[1, 2]] * r.randrange(50), 2**70, "../../etc"])
    return json.dumps(preset, allow_nan=True).encode()


def gzip_bomb(header: bytes, zeros: int) -> bytes:
    """A gzip of header + zeros without ever holding the zeros (repeated flushed blocks). Its
    trailer is left zero: a reader that gets that far has already inflated the bomb."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)]
    segment = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    parts += [segment] * (zeros // MiB)
    parts.append(c.flush())
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"".join(parts) + bytes(8)


# ---------------------------------------------------------------------------------------------
# cases


Case = tuple[str, str, Callable[[], Any], str]  # reader, how, call, the path it must name


def make_case(i: int, r: random.Random, valid: dict[str, list[bytes]], work: Path) -> Case:
    """Case ``i``: lays out its files under ``work/i`` and returns how to run it."""
    d = work / str(i)
    d.mkdir()
    pool = [b for files in valid.values() for b in files]
    reader = r.choice(["read_idx", "load_npz", "load_mnist_like", "load_folder", "load_preset"])
    kind = {"read_idx": r.choice(["idx", "idx.gz"]), "load_npz": "npz",
            "load_mnist_like": r.choice(["idx.gz", "idx", "npz"]), "load_folder": "picture",
            "load_preset": "json"}[reader]
    special = r.random()
    if special < 0.06 and hasattr(os, "mkfifo"):
        how, data = "fifo", None
    elif special < 0.09 and os.path.exists("/dev/zero"):
        how, data = "dev-zero", None
    elif special < 0.11:
        how, data = "folder", None
    elif special < 0.14 and kind in ("idx", "idx.gz"):
        header = bytes([0, 0, 8, 3]) + struct.pack(">3I", big(r) % 2**32, 28, 28)
        how, data = "gzip-bomb", gzip_bomb(header, r.choice([64, 256, 1024]) * MiB)
    elif special < 0.45:
        how, data = "fields", forged(kind, r, valid)
    elif special < 0.55:
        how, data = "valid", r.choice(valid[kind])
    else:
        how, data = damage(r.choice(valid[kind]), r, pool)

    name = {"idx": "data.idx", "idx.gz": "data.gz", "npz": "data.npz",
            "picture": "p.png", "json": "p.json"}[kind]
    if reader == "load_mnist_like" and kind != "npz":
        name = MNIST_FILES["mnist"][0] if kind == "idx.gz" else MNIST_FILES["mnist"][0][:-3]
        labels = d / MNIST_FILES["mnist"][1]
        labels.write_bytes(idx_bytes(np.arange(6, dtype=np.uint8)))
    target = d / name
    if how == "fifo":
        os.mkfifo(target)
    elif how == "dev-zero":
        target.symlink_to("/dev/zero")
    elif how == "folder":
        target.mkdir()
    else:
        target.write_bytes(data)

    path, colour = str(target), r.random() < 0.5
    calls: dict[str, Callable[[], Any]] = {
        "read_idx": lambda: read_idx(path),
        "load_npz": lambda: load_npz(path),
        "load_mnist_like": lambda: load_mnist_like(path if kind == "npz" else str(d), "mnist"),
        "load_folder": lambda: load_folder(str(d), 8, colour),
        "load_preset": lambda: load_preset(path),
    }
    named = path if reader in ("read_idx", "load_npz", "load_preset") else str(d)
    return reader, how, calls[reader], named


def high_water() -> int:
    """Peak resident bytes since the last reset (Linux), else the process's peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def reset_high_water() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def judge(call: Callable[[], Any], named: str, deadline: float,
          memory: int) -> tuple[str, str, int, list[str]]:
    """(outcome, detail, memory growth, warnings) of one case: outcome is ok, refused, or a
    failure: the exception type, "multi-line", "unnamed", "overrun", "memory", or "bomb
    warning" (Pillow's DecompressionBombWarning reached the caller)."""
    reset_high_water()
    before = high_water()
    outcome, detail = "ok", ""
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            signal.setitimer(signal.ITIMER_REAL, deadline)
            try:
                call()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except ValueError as e:
        msg = str(e)
        outcome, detail = "refused", msg
        if "\n" in msg or not msg:
            outcome = "multi-line"
        elif named not in msg:
            outcome = "unnamed"
    except Overrun:
        outcome = "overrun"
    except BaseException as e:  # the failures this script is for
        outcome, detail = type(e).__name__, str(e)[:300]
    grew = high_water() - before
    if grew > memory and outcome in ("ok", "refused"):
        outcome, detail = "memory", f"grew {grew / MiB:.0f} MiB; {detail}"
    kinds = [w.category.__name__ for w in seen]
    if "DecompressionBombWarning" in kinds and outcome in ("ok", "refused"):
        outcome = "bomb warning"
    return outcome, detail, grew, kinds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="how many cases (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--deadline", type=float, default=10.0, help="seconds a case may take")
    ap.add_argument("--memory", type=int, default=512,
                    help="MiB a case may grow the process (default 512: a picture at the pixel "
                         "cap is decoded into up to 268 MB before it is found damaged)")
    ap.add_argument("--keep", type=Path, help="copy the failing cases' files into this folder")
    args = ap.parse_args(argv)

    def overrun(signum: int, frame: Any) -> None:
        raise Overrun()

    signal.signal(signal.SIGALRM, overrun)
    try:  # a runaway allocation becomes a MemoryError (a failure) instead of the machine's
        soft = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (soft + 4 * 1024 * MiB, resource.RLIM_INFINITY))
    except (OSError, IndexError, ValueError):
        pass

    r = random.Random(args.seed)
    valid = valid_files()
    counts: Counter[tuple[str, str]] = Counter()
    warned: Counter[str] = Counter()
    failures: list[tuple[int, str, str, str, str]] = []
    worst = (0, "")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-files-") as tmp:
        work = Path(tmp)
        for i in range(args.cases):
            reader, how, call, named = make_case(i, r, valid, work)
            outcome, detail, grew, kinds = judge(call, named, args.deadline, args.memory * MiB)
            counts[(reader, outcome)] += 1
            warned.update(kinds)
            if grew > worst[0]:
                worst = (grew, f"case {i}: {reader} on {how}")
            if outcome not in ("ok", "refused"):
                failures.append((i, reader, how, outcome, detail))
                if args.keep:
                    shutil.copytree(work / str(i), args.keep / str(i), symlinks=True,
                                    dirs_exist_ok=True)
            shutil.rmtree(work / str(i))
    took = time.perf_counter() - start

    print(f"{args.cases} cases (seed {args.seed}) in {took:.0f} s, {len(failures)} failures")
    for reader in sorted({k[0] for k in counts}):
        row = {o: n for (rd, o), n in sorted(counts.items()) if rd == reader}
        print(f"  {reader:16s} " + ", ".join(f"{o} {n}" for o, n in row.items()))
    print(f"largest memory growth in one case: {worst[0] / MiB:.0f} MiB ({worst[1]})")
    if warned:
        print("warnings raised by libraries (not failures unless a bomb warning): "
              + ", ".join(f"{k} {n}" for k, n in warned.most_common()))
    for i, reader, how, outcome, detail in failures[:20]:
        print(f"  FAIL case {i}: {reader} on {how}: {outcome}: {detail[:200]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

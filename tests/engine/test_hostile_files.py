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
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import safeio
from engine.config import default_config, with_changes
from engine.presets import load_preset, save_preset

MiB, GiB = 1 << 20, 1 << 30
DEADLINE = 10.0  # seconds: every refusal here takes milliseconds; only a hang comes near it

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")


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


# ---------------------------------------------------------------------------------------------
# Only regular files are read: FIFOs, devices, sockets and folders are refused at once


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

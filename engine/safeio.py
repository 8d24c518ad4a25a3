"""Reading files the user picked without hanging, and without running out of memory.

Every path the engine reads comes from the user, and so from whoever handed the user a file.
Three things go wrong with plain ``open(path).read()``:

* a FIFO (or a terminal, or a socket) makes ``open`` or ``read`` block forever, and a device
  such as ``/dev/zero`` never ends, so the app hangs;
* a small compressed file (a gzip or zip "bomb") inflates to many gigabytes;
* a header that declares a huge size makes the reader allocate it before reading anything.

So the readers here take regular files only: they check with ``os.stat`` before opening, open
with ``O_NONBLOCK`` (a FIFO swapped in after the check cannot block the open either) and check
again with ``fstat`` on what they opened. They never read more than a cap, inflate gzip data in
bounded steps, and check declared sizes against caps before anything is allocated.

Every refusal is a ``ValueError`` with one line of the same shape, what was found and then what
was expected, so the GUI can show it as is::

    {path}: not a regular file (a FIFO); expected a preset JSON file

Nothing here imports numpy or torch, so the checkpoint and preset readers can use it freely.
"""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Callable
from typing import BinaryIO

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

PRESET_BYTES = 4 * MiB
"""Largest preset file read. A preset is a few KB; the largest real one is a drawn point set:
the app keeps at most 20,000 points, which ``save_preset`` writes in about 1.6 MB even with
the longest float spelling (``-1.2345678901234567e-05``, indented), so 4 MiB is ample."""

DATA_BYTES = 2 * GiB
"""Most bytes one image-set file may declare (an IDX file's payload after gunzip, the sum of an
.npz's arrays). The largest set this app could use, EMNIST ``byclass``, is 550 MB of IDX; the
engine then holds the set as float32 (4x) and on the training device, so a bigger file is not
something it can train on anyway and is refused before anything is allocated."""

INFLATE_RATIO = 100
"""Most a compressed stream may inflate, as a multiple of its compressed size, once it is over
:data:`INFLATE_FLOOR`. Real image sets compress 2-10x (MNIST's gzip files about 5x); deflate's
ceiling is about 1030x, which only runs of one byte reach, as in a bomb of zeros."""

INFLATE_FLOOR = 64 * MiB
"""Inflated sizes up to this are allowed at any ratio: small files of constant data (a test
set of blank images) are legitimate, and 64 MiB cannot hurt."""

IMAGE_PIXELS = 8192 * 8192
"""Most pixels in one picture of an image folder (67 megapixels; a 61-megapixel camera photo
fits). Decoding one as RGBA takes 4 bytes a pixel and converting it holds about three copies,
so one picture stays under ~1 GiB; it is then shrunk to at most 32 pixels a side anyway. This
is below Pillow's own decompression-bomb threshold (89 megapixels), so the user sees this cap
and never Pillow's warning."""

CHUNK = 1 * MiB
"""Most bytes inflated or copied in one step: bounds the memory a step adds to the result."""

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib parses the gzip header and checks CRC-32 and length

_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def human_size(n: int) -> str:
    """A byte count for people: ``512 bytes``, ``4 MiB``, ``1.5 GiB``, ``2^80 bytes``.

    Exact in integers: a forged header can declare far more bytes than a float can hold.
    """
    if n >= 1 << 64:
        over = "" if n & (n - 1) == 0 else "over "  # exact only for a power of two
        return f"{over}2^{n.bit_length() - 1} bytes"
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        whole, rest = divmod(n, size)
        if whole:
            if rest == 0 or whole >= 1000:
                return f"{whole:,} {unit}"
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _sized(n: int) -> str:
    """An exact byte count with its human size: ``4,194,305 bytes (4.0 MiB)``; past 2^64,
    only the human size (a forged count can run to thousands of digits)."""
    if n < KiB:
        return f"{n:,} bytes"
    return human_size(n) if n >= 1 << 64 else f"{n:,} bytes ({human_size(n)})"


def _reason(exc: BaseException) -> str:
    """An exception as a short one-line reason (the OS's words when there are some)."""
    text = getattr(exc, "strerror", None) or str(exc)
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def refusal(path: object, found: str, what: str) -> ValueError:
    """The one-line error every reader here raises: ``{path}: {found}; expected {what}``."""
    return ValueError(f"{path}: {found}; expected {what}")


def kind_of(mode: int) -> str:
    """What an ``st_mode`` is, for messages: "a file", "a folder", "a FIFO", "a socket"..."""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "something other than a file"


def _check_mode(path: object, st: os.stat_result, what: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise refusal(path, "is a folder", what)
    raise refusal(path, f"not a regular file ({kind_of(st.st_mode)})", what)


def check_regular(path: str | os.PathLike[str], what: str) -> os.stat_result:
    """``os.stat(path)`` when it is a regular file (symbolic links followed); refuses the rest.

    Refuses a missing path ("no such file"), a folder ("is a folder"), a FIFO, a device or a
    socket ("not a regular file (a FIFO)"), and a path the OS will not stat ("cannot read
    (Permission denied)"). Nothing is opened, so this never blocks. ``what`` is what the
    caller expected, with its article: "a preset JSON file".
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise refusal(path, "no such file", what) from None
    except OSError as e:
        raise refusal(path, f"cannot read ({_reason(e)})", what) from None
    except ValueError:  # an embedded NUL character
        raise refusal(repr(os.fspath(path)), "not a usable path", what) from None
    _check_mode(path, st, what)
    return st


def _nonblocking(path: str, flags: int) -> int:
    """os.open for ``open(..., opener=)``: a FIFO or a terminal cannot block it or become ours."""
    extra = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    return os.open(path, flags | extra)


def open_regular(path: str | os.PathLike[str], what: str) -> BinaryIO:
    """An open binary file, checked to be a regular file before and after opening.

    Refuses what :func:`check_regular` refuses. The open itself uses ``O_NONBLOCK`` and the
    opened file is checked with ``fstat``, so a file swapped for a FIFO between the check and
    the open is refused too instead of blocking. (``O_NONBLOCK`` changes nothing for reads of
    a regular file.) The caller closes the file (use ``with``).
    """
    check_regular(path, what)
    try:
        f = open(path, "rb", opener=_nonblocking)  # the caller closes it
    except FileNotFoundError:
        raise refusal(path, "no such file", what) from None
    except OSError as e:
        raise refusal(path, f"cannot read ({_reason(e)})", what) from None
    try:
        _check_mode(path, os.fstat(f.fileno()), what)
    except BaseException:
        f.close()
        raise
    return f


def read_capped(path: str | os.PathLike[str], cap: int, what: str) -> bytes:
    """The whole of a regular file of at most ``cap`` bytes.

    Refuses what :func:`open_regular` refuses, and a file over ``cap`` bytes, naming its size
    and the cap. The size is checked before reading and then at most ``cap + 1`` bytes are
    read, so a file that lies about its size (``/proc``) or grows meanwhile is caught too.
    """
    with open_regular(path, what) as f:
        size = os.fstat(f.fileno()).st_size
        if size > cap:
            raise _too_big(path, size, cap, what)
        try:
            data = f.read(cap + 1)
        except OSError as e:
            raise refusal(path, f"cannot read ({_reason(e)})", what) from None
    if len(data) > cap:
        raise _too_big(path, len(data), cap, what, more=True)
    return data


def _too_big(path: object, size: int, cap: int, what: str, more: bool = False) -> ValueError:
    held = f"more than {_sized(cap)}" if more else _sized(size)
    return refusal(path, f"{held}, over the limit of {human_size(cap)}", what)


def check_declared(path: object, declared: int, what: str, *, cap: int = DATA_BYTES,
                   stored: int | None = None) -> None:
    """Refuse a size a file's header declares before anything of that size is allocated.

    Refuses ``declared`` over ``cap`` and, when the data is compressed into ``stored`` bytes,
    an inflation over :data:`INFLATE_RATIO` times (past :data:`INFLATE_FLOOR`): a few MB
    that claim gigabytes are a bomb, even when the claim is true.
    """
    if declared > cap:
        raise refusal(path, f"declares {_sized(declared)} of data, over the limit of "
                            f"{human_size(cap)}", what)
    if stored is not None and declared > max(INFLATE_FLOOR, INFLATE_RATIO * stored):
        ratio = declared / max(stored, 1)
        raise refusal(path, f"{_sized(stored)} that inflate to {_sized(declared)} "
                            f"({ratio:.0f}x; a compression bomb?), over the limit of "
                            f"{INFLATE_RATIO}x", what)


Source = bytes | bytearray | memoryview | BinaryIO


def _input(source: Source) -> Callable[[int], bytes]:
    """read(n) over bytes or a binary file: the compressed input, a bounded piece at a time."""
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source).cast("B")
        pos = 0

        def read(n: int) -> bytes:
            nonlocal pos
            piece = bytes(view[pos:pos + n])
            pos += len(piece)
            return piece

        return read
    return source.read


class GunzipReader:
    """Inflates gzip data a bounded step at a time, refusing it once it passes ``cap`` bytes.

    Reads the compressed input 64 KiB at a time and never asks zlib for more output than the
    caller's buffer (at most :data:`CHUNK`) or than ``cap + 1`` bytes in all, so memory is what
    the caller keeps plus about a megabyte, however far the data would inflate. Concatenated
    gzip members and zero padding after them are read as ``gzip`` reads them; the CRC and
    length of each member are checked. Refusals are one-line ValueErrors naming ``path``.
    """

    _IN_CHUNK = 64 * KiB

    def __init__(self, source: Source, cap: int, what: str, path: object = None) -> None:
        self._read_in = _input(source)
        self._cap = cap
        self._what = what
        self._path = path if path is not None else getattr(source, "name", "gzip data")
        self._zlib = zlib.decompressobj(_GZIP_WBITS)
        self._pending = b""       # compressed bytes read but not yet taken by zlib
        self._exhausted = False   # the source has no more bytes
        self._done = False        # the last member has ended
        self.total = 0            # bytes inflated so far

    def _corrupt(self, reason: str) -> ValueError:
        return refusal(self._path, f"truncated or corrupt gzip data ({reason})", self._what)

    def _fill(self) -> None:
        if not self._pending and not self._exhausted:
            try:
                self._pending = self._read_in(self._IN_CHUNK)
            except OSError as e:
                raise refusal(self._path, f"cannot read ({_reason(e)})", self._what) from None
            self._exhausted = not self._pending

    def _next_member(self) -> None:
        """After a member's end: skip zero padding, then start the next member or finish."""
        self._pending = self._zlib.unused_data
        while True:
            self._pending = self._pending.lstrip(b"\0")
            self._fill()
            if self._pending or self._exhausted:
                break
        if not self._pending:
            self._done = True
        else:
            self._zlib = zlib.decompressobj(_GZIP_WBITS)

    def _step(self, want: int) -> bytes:
        """Up to ``want`` (>= 1) inflated bytes; b"" when a step only consumed input."""
        if self._zlib.eof:
            self._next_member()
            return b""
        self._fill()
        want = max(1, min(want, CHUNK, self._cap + 1 - self.total))  # 0 would mean unlimited
        try:
            out = self._zlib.decompress(self._pending, want)
        except zlib.error as e:
            raise self._corrupt(_reason(e)) from None
        self._pending = self._zlib.unconsumed_tail
        if not out and not self._pending and self._exhausted and not self._zlib.eof:
            raise self._corrupt("the data ends early")
        self.total += len(out)
        if self.total > self._cap:
            raise refusal(self._path, f"gzip data inflates to more than {_sized(self._cap)}",
                          self._what)
        return out

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` (any writable bytes-like) as far as the data goes; the count filled."""
        view = memoryview(buffer).cast("B")
        pos = 0
        while pos < len(view) and not self._done:
            out = self._step(len(view) - pos)
            view[pos:pos + len(out)] = out
            pos += len(out)
        return pos

    def read(self, n: int) -> bytes:
        """Up to ``n`` inflated bytes; fewer only at the end of the data. Keep ``n`` small."""
        buf = bytearray(n)
        del buf[self.readinto(buf):]
        return bytes(buf)

    def at_end(self) -> bool:
        """True when nothing more inflates; inflates one byte to find out, so call it last."""
        return not self.read(1)


def gunzip_capped(source: Source, cap: int, what: str, path: object = None) -> bytearray:
    """All of ``source``'s gzip data (bytes or a binary file), refused past ``cap`` bytes.

    Refuses data that would inflate to more than ``cap`` bytes as soon as it passes ``cap``
    (so memory stays about ``cap``, never the bomb's size), and truncated or corrupt data.
    ``path`` names the data in errors (default: the file's name). Returns a bytearray (a
    writable bytes-like, so ``np.frombuffer`` on it needs no copy).
    """
    reader = GunzipReader(source, cap, what, path)
    out = bytearray()
    while True:
        piece = reader.read(max(1, min(CHUNK, cap + 1 - len(out))))
        if not piece:
            return out
        out += piece

"""The weight copies the engine hands its frame process, through a shared file.

Each frame's weights used to travel as a message: a copy into the message, an HMAC over it
and ZeroMQ's own copy. Since the engine's training thread tends its socket itself (see
``engine.server``), that work was training's: ~0.3 ms a frame for ring8, 2-3 ms for a
million weights (7% of training at 30 frames a second, GUI/headless 0.94 -> 0.915). Now
the engine copies the weights straight into a file both processes map (one fused copy)
and the message says only which slot to read.

The file lies in the engine's private folder (only this user can open it; the window
removes the folder whatever becomes of the engine). It holds two slots of the networks'
tensors, laid out by the spec's layout (name, shape, dtype), each aligned to 64 bytes. The
engine writes the slot it did not write last, and only when the frame process has answered
the draw before (or a change has made that frame stale): the frame process copies a slot
out as it reads the message that names it, so a slot it reads is never being written,
except for a frame the engine will drop as stale anyway.
"""

from __future__ import annotations

import contextlib
import errno
import math
import mmap
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

ALIGN = 64
SLOTS = 2
# what the wire carries (``protocol.DTYPES``), as torch names them
DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64,
          "int32": torch.int32, "uint8": torch.uint8, "bool": torch.bool}
MAX_TENSORS = 4096


def slot_layout(layout: Sequence[Sequence[Any]]) -> tuple[list[tuple[int, str, tuple[int, ...]]], int]:
    """(offset, dtype, shape) of each tensor of ``layout`` within a slot, and the slot's
    size in bytes; ValueError for a layout the file cannot hold (a dtype the wire does not
    carry, a malformed shape)."""
    if not isinstance(layout, list | tuple) or len(layout) > MAX_TENSORS:
        raise ValueError("a weights layout that is not a list of tensors")
    out, at = [], 0
    for entry in layout:
        if not isinstance(entry, list | tuple) or len(entry) != 3:
            raise ValueError("a weights layout entry that is not (name, shape, dtype)")
        _, shape, dtype = entry
        if dtype not in DTYPES:
            raise ValueError(f"cannot share {str(dtype)[:20]} weights")
        if (not isinstance(shape, list | tuple) or len(shape) > 8
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 1 << 40
                           for d in shape)):
            raise ValueError("a weights layout with a malformed shape")
        out.append((at, dtype, tuple(shape)))
        n = np.dtype(dtype).itemsize * math.prod(shape)
        at += -(-n // ALIGN) * ALIGN
    return out, max(at, ALIGN)


class WeightsOut:
    """The engine's end: a new file per spec, and ``write`` into a slot."""

    def __init__(self, folder: str, layout: Sequence[Sequence[Any]], spec: int) -> None:
        self.places, self.slot_bytes = slot_layout(layout)
        self.path = os.path.join(folder, f"weights-{spec}.bin")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                     0o600)
        try:
            try:
                _reserve(fd, SLOTS * self.slot_bytes)
                self._map = mmap.mmap(fd, SLOTS * self.slot_bytes)
            finally:
                os.close(fd)
            base = torch.frombuffer(self._map, dtype=torch.uint8)
            self._slots = [[self._view(base, k * self.slot_bytes + at, dtype, shape)
                            for at, dtype, shape in self.places] for k in range(SLOTS)]
        except BaseException:
            remove(self.path)
            raise

    @staticmethod
    def _view(base: torch.Tensor, at: int, dtype: str, shape: tuple[int, ...]) -> torch.Tensor:
        n = np.dtype(dtype).itemsize * math.prod(shape)
        return base[at:at + n].view(DTYPES[dtype]).view(shape)

    def write(self, slot: int, tensors: Sequence[torch.Tensor]) -> None:
        """Copy ``tensors`` (the layout's, in its order) into ``slot`` (one fused copy)."""
        with torch.no_grad():
            torch._foreach_copy_(self._slots[slot], list(tensors))

    def close(self) -> bool:
        """Unmap and remove the file; False when it could not be removed yet (Windows,
        while the frame process still maps it: ``remove`` it again later)."""
        self._slots = []
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()  # once the views above are gone; else when they are collected
        return remove(self.path)


def _reserve(fd: int, size: int) -> None:
    """Give the file its size, its room taken now where the system can: on a full disk
    (or tmpfs) that is an OSError here, not a SIGBUS in the middle of a copy."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    os.ftruncate(fd, size)


def remove(path: str) -> bool:
    """Remove a weights file; True when it is gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


class WeightsIn:
    """The frame process's end: the file a spec names, mapped once, read by slot."""

    def __init__(self, path: Any, layout: Sequence[Sequence[Any]]) -> None:
        self.places, self.slot_bytes = slot_layout(layout)
        if not isinstance(path, str):
            raise ValueError("a spec without its weights file")
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            size = os.fstat(fd).st_size  # checked before anything is mapped
            if size != SLOTS * self.slot_bytes:
                raise ValueError(f"a weights file of {size} bytes for slots of "
                                 f"{self.slot_bytes}")
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def arrays(self, slot: Any) -> list[np.ndarray]:
        """Views of ``slot``'s tensors (copy them out before answering the draw)."""
        if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < SLOTS:
            raise ValueError(f"no weights slot {str(slot)[:20]}")
        base = slot * self.slot_bytes
        return [np.frombuffer(self._map, dtype=dtype, count=math.prod(shape),
                              offset=base + at).reshape(shape)
                for at, dtype, shape in self.places]

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()

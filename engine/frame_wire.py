"""The messages between the engine and its frame process (``engine.drawer``): a JSON
header and raw array buffers, signed like the window's messages (``protocol.sign``), never
pickle. Both ends are this program, but the channel is a socket: what arrives is checked
(signature, sizes, dtypes) before anything is allocated from it."""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .protocol import DTYPES, MAX_HEADER, MAX_MESSAGE, ProtocolError, sign

MAX_PARTS = 4096  # a network's tensors, or a frame's own parts


def pack(key: bytes, header: dict[str, Any], buffers: Sequence[Any] = ()) -> list[Any]:
    """``[header, *buffers, signature]``."""
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    frames: list[Any] = [head, *buffers]
    frames.append(sign(key, frames))
    return frames


def unpack(key: bytes, frames: Sequence[Any]) -> tuple[dict[str, Any], list[Any]]:
    """The header and buffers of a packed message; ``ProtocolError`` for anything else."""
    if not 2 <= len(frames) <= MAX_PARTS + 2:
        raise ProtocolError(f"a frame-process message of {len(frames)} parts")
    if sum(len(f) for f in frames) > MAX_MESSAGE:
        raise ProtocolError("a frame-process message over the size limit")
    head, *buffers, sig = frames
    if not hmac.compare_digest(bytes(sig), sign(key, [head, *buffers])):
        raise ProtocolError("bad signature on a frame-process message")
    if len(head) > MAX_HEADER:
        raise ProtocolError("a frame-process header over the size limit")
    try:
        header = json.loads(bytes(head))
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"unreadable frame-process header ({str(e)[:60]})") from None
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise ProtocolError("a frame-process header without a kind")
    return header, buffers


def arrays_out(arrays: Sequence[np.ndarray]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Descriptions (dtype, shape) and buffers of ``arrays``; ValueError for a dtype the
    wire does not carry."""
    specs, buffers = [], []
    for a in arrays:
        a = np.ascontiguousarray(a)
        if a.dtype.name not in DTYPES:
            raise ValueError(f"cannot send a {a.dtype.name} array")
        specs.append({"dtype": a.dtype.name, "shape": list(a.shape)})
        buffers.append(memoryview(a).cast("B") if a.size else b"")
    return specs, buffers


def arrays_in(specs: Any, buffers: Sequence[Any]) -> list[np.ndarray]:
    """Writable copies of the arrays ``arrays_out`` described; ``ProtocolError`` when a
    description does not match its buffer."""
    if not isinstance(specs, list) or len(specs) != len(buffers):
        raise ProtocolError("the array descriptions do not match the buffers")
    out = []
    for spec, buf in zip(specs, buffers):
        dtype = spec.get("dtype") if isinstance(spec, dict) else None
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if dtype not in DTYPES:
            raise ProtocolError(f"dtype {str(dtype)[:20]!r} is not allowed")
        if (not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise ProtocolError("a malformed shape")
        if np.dtype(dtype).itemsize * math.prod(shape) != len(buf):
            raise ProtocolError("an array's buffer does not match its shape")
        out.append(np.frombuffer(buf, dtype=dtype).reshape(shape).copy())
    return out


def split(specs: Any, buffers: Sequence[Any]) -> list[Any]:
    """The one buffer that holds every array ``specs`` describes, cut into one per array
    (``ProtocolError`` when the sizes do not add up)."""
    if not isinstance(specs, list) or len(buffers) != 1:
        raise ProtocolError("arrays expected in one buffer")
    blob = memoryview(buffers[0]).cast("B")
    out, at = [], 0
    for spec in specs:
        dtype = spec.get("dtype") if isinstance(spec, dict) else None
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if dtype not in DTYPES or not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ProtocolError("a malformed array description")
        n = np.dtype(dtype).itemsize * math.prod(shape)
        if at + n > len(blob):
            raise ProtocolError("the arrays do not fit their buffer")
        out.append(blob[at:at + n])
        at += n
    if at != len(blob):
        raise ProtocolError("the arrays do not fill their buffer")
    return out

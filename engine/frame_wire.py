"""The messages between the engine and its frame process (``engine.drawer``): a JSON
header and raw array buffers, signed like the window's messages (``protocol.sign``), never
pickle. Both ends are this program, but the channel is a socket: what arrives is checked
(signature, sizes, dtypes) before anything is allocated from it."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .protocol import DTYPES, MAX_HEADER, MAX_MESSAGE, ProtocolError, cut, sign

MAX_PARTS = 4096  # a network's tensors, or a frame's own parts


def head_of(header: dict[str, Any]) -> bytes:
    """A header's bytes (ValueError for what JSON cannot say: NaN, inf)."""
    return json.dumps(header, separators=(",", ":"), allow_nan=False).encode()


def pack(key: bytes, header: dict[str, Any], buffers: Sequence[Any] = ()) -> list[Any]:
    """``[header, *buffers, signature]``."""
    return pack_head(key, head_of(header), buffers)


def pack_head(key: bytes, head: bytes, buffers: Sequence[Any] = ()) -> list[Any]:
    """``pack`` of a header already made into bytes (the engine makes the header of each
    frame's weights from parts it keeps, 30 times a second)."""
    frames: list[Any] = [head, *buffers]
    frames.append(sign(key, frames))
    return frames


def _sealed(key: bytes, head: Any, buffers: Sequence[Any]) -> bytes:
    return sign(key, [head, len(buffers).to_bytes(4, "little"), *buffers[-1:]])


def seal(key: bytes, header: dict[str, Any], message: Sequence[Any] = ()) -> list[Any]:
    """What the frame process sends: ``[header, *message, signature]``, where ``message``
    (if any) is a window message (``protocol.encode``) that is signed itself with the same
    key, its signature its last part. The signature covers the header, the number of parts
    and that last part: a frame's bytes are hashed once, by the window that reads them,
    not also here (the engine only forwards them)."""
    head = head_of(header)
    return [head, *message, _sealed(key, head, message)]


def unpack(key: bytes, frames: Sequence[Any], *, sealed: bool = False
           ) -> tuple[dict[str, Any], list[Any]]:
    """The header and buffers of a packed message (``seal``ed with ``sealed``);
    ``ProtocolError`` for anything else."""
    if not 2 <= len(frames) <= MAX_PARTS + 2:
        raise ProtocolError(f"a frame-process message of {len(frames)} parts")
    if sum(len(f) for f in frames) > MAX_MESSAGE:
        raise ProtocolError("a frame-process message over the size limit")
    head, *buffers, sig = frames
    expected = _sealed(key, head, buffers) if sealed else sign(key, [head, *buffers])
    if not hmac.compare_digest(bytes(sig), expected):
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


def arrays_out(arrays: Sequence[np.ndarray]) -> tuple[list[dict[str, Any]], bytes]:
    """Descriptions (dtype, shape) of ``arrays`` and one buffer holding them all (one part
    to send, not one per array); ValueError for a dtype the wire does not carry."""
    specs = []
    for a in arrays:
        if a.dtype.name not in DTYPES:
            raise ValueError(f"cannot send a {a.dtype.name} array")
        specs.append({"dtype": a.dtype.name, "shape": list(a.shape)})
    return specs, b"".join([memoryview(np.ascontiguousarray(a)).cast("B") if a.size else b""
                            for a in arrays])


def arrays_in(specs: Any, buffers: Sequence[Any]) -> list[np.ndarray]:
    """Writable copies of the arrays ``arrays_out`` packed; ``ProtocolError`` when the
    descriptions do not match the one buffer."""
    if not isinstance(specs, list) or len(specs) > MAX_PARTS or len(buffers) != 1:
        raise ProtocolError("arrays expected as a list of descriptions and one buffer")
    return cut(specs, buffers[0])

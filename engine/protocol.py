"""The wire between a window and an engine: messages as plain data, and their bytes.

A window and its engine live in different processes (a child of the window, or a remote
``serve`` process), the way a Jupyter kernel lives apart from its notebook. Everything that
crosses is one of the frozen dataclasses below, encoded as frames:

    frame 0   b"GANP" + version (1 byte) + flags (1 byte)
    frame 1   a small UTF-8 JSON header: {"type": ..., "fields": {...}, "arrays": [...]}
    frame 2…  one raw buffer per numpy array named in "arrays" (dtype, shape, field path)
    last      HMAC-SHA256 of all the frames above, keyed by the connection's secret

Never pickle: unpickling bytes from a socket runs code. Decoding refuses, with a
``ProtocolError`` and never a crash, anything unknown, truncated, oversized, unsigned or
signed with another key: the version, the type name, every field name, every dtype (a short
list of plain numeric types), every shape against its buffer's length, and the sizes
(``MAX_HEADER``, ``MAX_MESSAGE``). The module imports numpy only, so the window's process
can speak it without torch.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from .snapshot import Snapshot, ViewRequest

VERSION = 3  # 2: ResetDone.replay; 3: every array in one buffer
MAGIC = b"GANP"
MAX_HEADER = 16 << 20      # a config with 20,000 drawn points is ~1 MB of JSON
MAX_MESSAGE = 512 << 20    # a whole history of 200,000 rows is ~25 MB; images are less
MAX_ARRAYS = 64
DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")


class ProtocolError(ValueError):
    """A message that cannot be trusted or understood; the connection stays usable."""


# =========================================================================== commands


@dataclass(frozen=True)
class Apply:
    """Dotted-key changes, validated by the engine (rejected whole on any bad value)."""

    changes: dict[str, Any]


@dataclass(frozen=True)
class Play:
    pass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    """One update while paused: ``iteration`` (k D steps + G), ``d`` or ``g`` only."""

    kind: str = "iteration"


@dataclass(frozen=True)
class Reset:
    """Re-initialise both networks from the seed."""


@dataclass(frozen=True)
class SetSpeed:
    """Iterations per second; None runs at full speed."""

    steps_per_second: float | None


@dataclass(frozen=True)
class SetView:
    """What the live views want; None stops computing snapshots."""

    request: ViewRequest | None


@dataclass(frozen=True)
class FrameWanted:
    """The window has drawn a frame and can take ``credit`` more: the engine computes a
    snapshot only when one is wanted, so a slow screen gets fresh frames, never a queue."""

    credit: int = 1


@dataclass(frozen=True)
class LoadConfig:
    """Replace the session by a fresh one built from ``config`` (e.g. a preset)."""

    config: dict[str, Any]


@dataclass(frozen=True)
class SaveGenerator:
    path: str


@dataclass(frozen=True)
class SaveSession:
    path: str


@dataclass(frozen=True)
class LoadSession:
    """Resume a session checkpoint (replaces the current session)."""

    path: str


@dataclass(frozen=True)
class LoadGenerator:
    """Continue from a generator checkpoint with a fresh discriminator."""

    path: str


@dataclass(frozen=True)
class ExportSamples:
    """``n`` generated samples to ``path`` (.npy or .csv)."""

    path: str
    n: int = 2000


@dataclass(frozen=True)
class ExportMetrics:
    """The logged metrics to a CSV file."""

    path: str


@dataclass(frozen=True)
class Hello:
    """A window attaches: the engine answers with its whole state (config, history,
    status), so a window that attaches late, or again, shows everything so far."""

    client: str = "window"


@dataclass(frozen=True)
class Ping:
    """A window is still there (remote engines notice a window that went away)."""


@dataclass(frozen=True)
class Shutdown:
    """End the engine process (the window is closing)."""


@dataclass(frozen=True)
class FetchFile:
    """Send back a file's bytes instead of writing it on the engine's machine (a remote
    engine saves onto the window's disk): ``what`` is ``session``, ``generator``,
    ``samples`` (``suffix`` .npy, .csv or .png; ``n`` samples) or ``metrics``; the answer
    is ``FileData`` (or ``Failed``). ``tag`` comes back with it."""

    what: str
    tag: str = ""
    suffix: str = ""
    n: int = 2000


@dataclass(frozen=True)
class LoadData:
    """Open a session or generator checkpoint sent as bytes (from the window's disk)."""

    what: str
    name: str
    data: np.ndarray  # uint8


@dataclass(frozen=True)
class SetTensorBoard:
    """Write TensorBoard event files into ``folder`` (on the engine's machine; a subfolder
    per session), or stop (None). Answered ``Saved(folder, "tensorboard")`` or ``Failed``."""

    folder: str | None


@dataclass(frozen=True)
class Detach:
    """The window leaves; the engine keeps training (a remote ``serve`` engine)."""


# =========================================================================== events


@dataclass(frozen=True)
class Applied:
    """The engine's effective config after a change (or at start: ``changes`` empty);
    ``step``: the step at which it took effect (-1 from a sender that does not say)."""

    changes: dict[str, Any]
    config: dict[str, Any]
    step: int = -1


@dataclass(frozen=True)
class SwapLog:
    """The session's whole swap log: ``entries`` of (step, short text), one per change
    applied mid-run (``Session.swaps``). Sent whenever the log changes (a change applied, a
    rollback, a session loaded) and on attach; a ``ResetDone`` empties it."""

    entries: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        entries = []
        for entry in self.entries:  # decoded JSON gives lists: check and freeze them
            if (not isinstance(entry, list | tuple) or len(entry) != 2
                    or isinstance(entry[0], bool) or not isinstance(entry[0], int)
                    or not isinstance(entry[1], str)):
                raise TypeError(f"a swap log entry is not (step, text): {repr(entry)[:40]}")
            entries.append((entry[0], entry[1]))
        object.__setattr__(self, "entries", tuple(entries))


@dataclass(frozen=True)
class Rejected:
    """A change was refused; ``config`` is the (unchanged) effective config."""

    changes: dict[str, Any]
    message: str
    config: dict[str, Any]


@dataclass(frozen=True)
class Diverged:
    """Training diverged at ``step`` and went back to ``rolled_back_to`` (metric rows after
    it are gone from the history: views drop them too)."""

    step: int
    message: str
    rolled_back_to: int = -1


@dataclass(frozen=True)
class Failed:
    """An unexpected error in the engine; training paused, the session kept."""

    message: str
    details: str = ""


@dataclass(frozen=True)
class MetricsChunk:
    """New history rows (columns: ``engine.catalogue.COLUMNS``)."""

    rows: np.ndarray


@dataclass(frozen=True)
class ResetDone:
    """History restarted (reset, new seed or a new config): views clear their curves.
    ``replay``: the state replayed to a window that just attached, not a new run (a
    comparison started meanwhile must not take it for "A started afresh")."""

    config: dict[str, Any]
    replay: bool = False


@dataclass(frozen=True)
class Saved:
    path: str
    what: str


@dataclass(frozen=True)
class Progress:
    """Slow one-off work in the engine (reading an image folder, training the quality
    classifier): ``fraction`` in [0, 1]; 1 means done."""

    fraction: float
    text: str


@dataclass(frozen=True)
class Status:
    step: int
    steps_per_second: float
    running: bool
    device: str
    summary: str
    d_updates: int = 0
    g_updates: int = 0


@dataclass(frozen=True)
class Welcome:
    """The engine's answer to ``Hello``: who it is, and whether this window may steer it."""

    accepted: bool
    message: str = ""
    pid: int = 0
    version: int = VERSION
    devices: tuple[str, ...] = ()  # what ``device`` may be besides auto (empty: not told)


@dataclass(frozen=True)
class Frame:
    """A snapshot for the live views (the answer to ``FrameWanted``)."""

    snapshot: Snapshot


@dataclass(frozen=True)
class FileData:
    """The bytes a ``FetchFile`` asked for (uint8), with its ``tag``."""

    what: str
    tag: str
    data: np.ndarray


@dataclass(frozen=True)
class Bye:
    """The engine is going away (after ``Shutdown``, or a signal)."""

    reason: str = ""


@dataclass(frozen=True)
class Refused:
    """A message the engine could not trust or understand (``ProtocolError``)."""

    message: str


COMMANDS: tuple[type, ...] = (
    Apply, Play, Pause, Step, Reset, SetSpeed, SetView, FrameWanted, LoadConfig,
    SaveGenerator, SaveSession, LoadSession, LoadGenerator, ExportSamples, ExportMetrics,
    Hello, Ping, Shutdown, Detach, FetchFile, LoadData, SetTensorBoard)
EVENTS: tuple[type, ...] = (
    Applied, Rejected, Diverged, Failed, MetricsChunk, ResetDone, Saved, Progress, Status,
    Welcome, Frame, Bye, Refused, FileData, SwapLog)
MESSAGES: dict[str, type] = {cls.__name__: cls for cls in COMMANDS + EVENTS}
_NESTED: dict[str, type] = {"Snapshot": Snapshot, "ViewRequest": ViewRequest}


# =========================================================================== encoding


@dataclass
class _Writer:
    arrays: list[dict[str, Any]] = field(default_factory=list)
    buffers: list[memoryview] = field(default_factory=list)

    def value(self, v: Any, path: str) -> Any:
        if isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            if a.dtype.name not in DTYPES:
                a = a.astype(np.float64 if a.dtype.kind == "f" else np.int64)
            self.arrays.append({"path": path, "dtype": a.dtype.name, "shape": list(a.shape)})
            self.buffers.append(memoryview(a).cast("B") if a.size else memoryview(b""))
            return None
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            name = type(v).__name__
            if name not in _NESTED:
                raise ProtocolError(f"cannot send a {name} inside a message")
            return {"__type__": name, **{f.name: self.value(getattr(v, f.name), f"{path}.{f.name}")
                                         for f in dataclasses.fields(v)}}
        if isinstance(v, dict):
            return {str(k): self.value(x, f"{path}.{k}") for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [self.value(x, f"{path}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, np.generic):
            return v.item()
        if v is None or isinstance(v, bool | int | str):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        raise ProtocolError(f"cannot send a {type(v).__name__} ({path})")


def encode(message: Any, key: bytes = b"") -> list[bytes | memoryview]:
    """The frames of ``message`` (one of ``MESSAGES``), signed with ``key``."""
    name = type(message).__name__
    if MESSAGES.get(name) is not type(message):
        raise ProtocolError(f"not a protocol message: {name}")
    w = _Writer()
    fields = {f.name: w.value(getattr(message, f.name), f.name)
              for f in dataclasses.fields(message)}
    header = json.dumps({"type": name, "fields": fields, "arrays": w.arrays},
                        separators=(",", ":"), allow_nan=False).encode()
    if len(header) > MAX_HEADER:
        raise ProtocolError(f"{name}: header of {len(header):,} bytes is over the limit")
    # one buffer for all the arrays: each part is a call into ZeroMQ on both sides (and,
    # in the engine, a hand-over of the interpreter lock to the training thread and back)
    blob = w.buffers[0] if len(w.buffers) == 1 else b"".join(w.buffers)
    frames: list[bytes | memoryview] = [MAGIC + bytes([VERSION, 0]), header, blob]
    frames.append(sign(key, frames))
    return frames


def sign(key: bytes, frames: list[bytes | memoryview]) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for f in frames:
        mac.update(len(f).to_bytes(8, "little"))
        mac.update(f)
    return mac.digest()


def decode(frames: list[bytes | memoryview], key: bytes = b"") -> Any:
    """A message from its frames; ``ProtocolError`` (one line) for anything not right."""
    if len(frames) < 4:
        raise ProtocolError(f"truncated message ({len(frames)} frames)")
    if len(frames) > 4:
        raise ProtocolError(f"too many frames ({len(frames)})")
    total = sum(len(f) for f in frames)
    if total > MAX_MESSAGE:
        raise ProtocolError(f"message of {total:,} bytes is over the {MAX_MESSAGE:,}-byte limit")
    head, header, blob, sig = frames
    if not hmac.compare_digest(bytes(sig), sign(key, [head, header, blob])):
        raise ProtocolError("bad signature (a different key, or a damaged message)")
    head = bytes(head)
    if len(head) != 6 or head[:4] != MAGIC:
        raise ProtocolError("not a GAN Playground message")
    if head[4] != VERSION:
        raise ProtocolError(f"protocol version {head[4]}, this side speaks {VERSION}: "
                            "update both the window and the engine")
    if len(header) > MAX_HEADER:
        raise ProtocolError("header over the size limit")
    try:
        doc = json.loads(bytes(header))
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"unreadable header ({str(e)[:60]})") from None
    if not isinstance(doc, dict):
        raise ProtocolError("the header is not an object")
    cls = MESSAGES.get(doc.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError(f"unknown message type {str(doc.get('type'))[:40]!r}")
    specs = doc.get("arrays")
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise ProtocolError("the header's arrays are not a list of descriptions")
    if not all(isinstance(a, dict) and isinstance(a.get("path"), str) for a in specs):
        raise ProtocolError("a malformed array description")
    arrays = dict(zip((a["path"] for a in specs), cut(specs, blob)))
    fields = doc.get("fields")
    if not isinstance(fields, dict):
        raise ProtocolError("the header has no fields")
    try:
        return _build(cls, fields, arrays, cls.__name__)
    except RecursionError:  # json.loads takes ~600 levels that the fields' walk cannot
        raise ProtocolError("the header is nested too deeply") from None


def cut(specs: list[Any], blob: Any) -> list[np.ndarray]:
    """Writable copies of the arrays ``specs`` describes (``dtype``, ``shape``), one after
    another in ``blob``; ``ProtocolError`` for a description that is not allowed or sizes
    that do not add up to the buffer exactly. Nothing is allocated before it is checked."""
    view = memoryview(blob).cast("B") if len(blob) else memoryview(b"")
    out, at = [], 0
    for i, spec in enumerate(specs):
        name = str(spec.get("path", i))[:40] if isinstance(spec, dict) else str(i)
        dtype = spec.get("dtype") if isinstance(spec, dict) else None
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if dtype not in DTYPES:
            raise ProtocolError(f"array {name}: dtype {str(dtype)[:20]!r} is not allowed")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d
                           for d in shape)):
            raise ProtocolError(f"array {name}: a malformed shape")
        n = np.dtype(dtype).itemsize * math.prod(shape)
        if n > len(view) - at:
            raise ProtocolError(f"array {name}: {len(view) - at} bytes for a shape that "
                                f"needs {n}")
        out.append(np.frombuffer(view[at:at + n], dtype=dtype).reshape(shape).copy())
        at += n
    if at != len(view):
        raise ProtocolError(f"the header's arrays do not match the buffer ({len(view) - at} "
                            "bytes left over)")
    return out


# fields of these types must arrive as them (a float field may come as an int): a signed
# FrameWanted(credit=None) ended the engine at int(None)
_SIMPLE: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,),
                                        bool: (bool,)}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, fields: dict[str, Any], arrays: dict[str, np.ndarray], path: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(fields) - names - {"__type__"}
    if unknown:
        raise ProtocolError(f"{cls.__name__}: unknown field {sorted(unknown)[0][:40]!r}")
    hints = _hints(cls)
    kwargs = {}
    for name in names:
        fpath = name if path == cls.__name__ else f"{path}.{name}"
        if name in fields or fpath in arrays:
            value = _plain(fields.get(name), hints.get(name), arrays, fpath)
            want = _SIMPLE.get(hints.get(name))  # type: ignore[arg-type]
            if want is not None and (not isinstance(value, want) or (
                    isinstance(value, bool) and bool not in want)):
                raise ProtocolError(f"{fpath}: expected {hints[name].__name__}, got "
                                    f"{type(value).__name__}")
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ProtocolError(f"{cls.__name__}: {str(e)[:80]}") from None


def _plain(v: Any, hint: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if path in arrays:
        return arrays[path]
    if isinstance(v, dict):
        if "__float__" in v and len(v) == 1:
            try:
                return float(v["__float__"])
            except (TypeError, ValueError):
                raise ProtocolError(f"{path}: not a number") from None
        kind = v.get("__type__")
        if kind is not None:
            nested = _NESTED.get(kind)
            if nested is None:
                raise ProtocolError(f"{path}: unknown nested type {str(kind)[:40]!r}")
            return _build(nested, v, arrays, path)
        return {k: _plain(x, None, arrays, f"{path}.{k}") for k, x in v.items()}
    if isinstance(v, list):
        items = [_plain(x, None, arrays, f"{path}[{i}]") for i, x in enumerate(v)]
        return tuple(items) if _is_tuple(hint) else items
    return v


def _is_tuple(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return True
    if origin in (Union, types.UnionType):
        return any(_is_tuple(a) for a in typing.get_args(hint))
    return False

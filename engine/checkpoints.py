"""Generator and session checkpoints: safetensors tensors plus a JSON header.

Loading never unpickles: safetensors holds only tensors and strings, so a file cannot run
code. Files are written atomically (``engine.atomic``). A loader reads the header first
(``engine.stfile``), validates the stored config and checks that its networks fit in memory
(``engine.memory``) *before* it reads a tensor or builds a network, so a forged 1 KB file
cannot make it allocate gigabytes; then it refuses NaN/inf weights, optimizer state that
does not fit and a negative step, with one line naming the file.

A session file's metadata also holds its swap log (``swaps``: JSON ``[[step, text], ...]``,
the changes applied mid-run); a file written before the log existed loads with none.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import config as C
from .atomic import atomic_write_bytes, atomic_write_text  # noqa: F401 (re-exported)
from .catalogue import COLUMNS
from .memory import check_memory, check_samples, memory_limit
from .safeio import read_capped
from .stfile import read_metadata

if TYPE_CHECKING:
    from .session import Session

APP_VERSION = "0.1.0"
GENERATOR_KIND = "gan-playground/generator"
SESSION_KIND = "gan-playground/session"
WHAT = {GENERATOR_KIND: "a generator checkpoint", SESSION_KIND: "a session checkpoint"}


def _cpu(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.detach().cpu().contiguous() for k, v in sd.items()}


def _meta(state: dict[str, Any], kind: str) -> dict[str, str]:
    return {
        "kind": kind,
        "config": json.dumps(state["config"]),
        "step": str(state["step"]),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_version": APP_VERSION,
        "classes": str(state["classes"]),
        "class_names": json.dumps(state["class_names"]),
    }


def generator_bytes(session: Session) -> bytes:
    """A generator checkpoint's bytes (what ``save_generator`` writes)."""
    state = session.state_dict()
    tensors = _cpu(state["generator"], "generator.")
    return st_save(tensors, metadata=_meta(state, GENERATOR_KIND))


def save_generator(session: Session, path: str) -> None:
    atomic_write_bytes(path, generator_bytes(session))


def _flatten_optimizer(state: dict[str, Any], prefix: str) -> tuple[dict[str, torch.Tensor], Any]:
    """Split an optimizer state dict into tensors and a JSON-able skeleton."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for pid, st in state["state"].items():
        entry = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                name = f"{prefix}{pid}.{k}"
                tensors[name] = v.detach().cpu().contiguous()
                entry[k] = {"tensor": name}
            else:
                entry[k] = v
        skeleton["state"][str(pid)] = entry
    return tensors, skeleton


def _unflatten_optimizer(skeleton: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state = {}
    for pid, entry in skeleton["state"].items():
        if not (isinstance(pid, str) and pid.isascii() and pid.isdigit()):  # "0", "1", ...
            raise TypeError(f"optimizer state key {str(pid)[:20]!r} is not a parameter index")
        state[int(pid)] = {k: (tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v)
                           for k, v in entry.items()}
    groups = skeleton["param_groups"]
    for g in groups:
        if "betas" in g and isinstance(g["betas"], list):
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def save_session(session: Session, path: str) -> None:
    atomic_write_bytes(path, session_bytes(session))


def session_bytes(session: Session) -> bytes:
    """A session checkpoint's bytes (what ``save_session`` writes)."""
    state = session.state_dict()
    tensors = _cpu(state["generator"], "generator.")
    tensors.update(_cpu(state["discriminator"], "discriminator."))
    tg, skg = _flatten_optimizer(state["opt_g"], "opt_g.")
    td, skd = _flatten_optimizer(state["opt_d"], "opt_d.")
    tensors.update(tg)
    tensors.update(td)
    tensors["history"] = torch.from_numpy(np.ascontiguousarray(state["history"]))
    tensors["rng"] = state["rng"]
    meta = _meta(state, SESSION_KIND)
    meta["opt_g"] = json.dumps(skg)
    meta["opt_d"] = json.dumps(skd)
    meta["updates"] = json.dumps(list(state["updates"]))
    meta["columns"] = json.dumps(list(COLUMNS))
    meta["swaps"] = json.dumps(state["swaps"])  # [[step, text], ...]
    meta["noise_from"] = json.dumps(state.get("noise_from", 0))  # the anneal's start step
    return st_save(tensors, metadata=meta)


def _json(path: str, meta: dict[str, str], key: str, default: str | None = None) -> Any:
    text = meta.get(key, default)
    if text is None:
        raise ValueError(f"{path}: the checkpoint has no {key}")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{path}: the checkpoint's {key} is broken ({str(e)[:60]})") from None


def read_header(path: str, kind: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The metadata and the validated config of a checkpoint, reading no tensor."""
    what = WHAT[kind]
    meta = read_metadata(path, "a GAN Playground checkpoint")
    if meta.get("kind") != kind:
        other = meta.get("kind", "no kind")
        raise ValueError(f"{path}: expected {what}, found {other!r}")
    raw = _json(path, meta, "config")
    try:
        cfg = C.validate(raw)
    except ValueError as e:
        raise ValueError(f"{path}: the stored config is refused ({e})") from None
    try:
        step = int(meta.get("step", "0"))
    except ValueError:
        raise ValueError(f"{path}: the checkpoint's step is not a number") from None
    if step < 0:
        raise ValueError(f"{path}: the checkpoint's step is {step}; a step count is >= 0")
    return meta, cfg


def _read_tensors(path: str, kind: str, cfg: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The tensors, once the config is known to fit in memory."""
    try:
        check_memory(cfg, "cpu")
    except ValueError as e:
        raise ValueError(f"{path}: the stored config is refused: {e}") from None
    data = read_capped(path, memory_limit("cpu")[0], WHAT[kind])
    try:
        return st_load(data)
    except Exception as e:  # safetensors raises several types for a bad or truncated file
        first = (str(e).splitlines() or [type(e).__name__])[0][:80]
        raise ValueError(f"{path}: not a GAN Playground checkpoint (unreadable or truncated: "
                         f"{first})") from None


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _finite(path: str, tensors: dict[str, torch.Tensor], what: str) -> None:
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{path}: the stored {what} hold NaN or infinite values ({name}); "
                             "a diverged state cannot train")


class LoadedGenerator:
    """A generator rebuilt from its checkpoint: ``sample(n)``, ``generate(z)``, ``config``."""

    def __init__(self, net: torch.nn.Module, config: dict[str, Any], meta: dict[str, str],
                 device: torch.device) -> None:
        self.net = net
        self.config = config
        self.step = int(meta.get("step", 0))
        self.date = meta.get("date", "")
        self.app_version = meta.get("app_version", "")
        self.device = device
        self.classes = int(getattr(net, "classes", 0))
        try:
            self.class_names = tuple(json.loads(meta.get("class_names", "[]")))
        except (json.JSONDecodeError, RecursionError, TypeError):
            self.class_names = ()

    def generate(self, z: np.ndarray, labels: Any = None) -> np.ndarray:
        """G(z); a conditional generator takes ``labels`` (one class or one per row;
        default: the classes in turn). Images come as (n, C, H, W) in [-1, 1]."""
        dim = self.config["noise"]["dim"]
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != dim or len(z) == 0:
            raise ValueError(f"z: expected an array of shape (n, {dim}), got {z.shape}")
        from .models import label_tensor

        y = label_tensor(labels, len(z), self.classes, self.device)
        from .evaluation import generate_chunks

        self.net.eval()
        out: np.ndarray | None = None
        at = 0
        with torch.no_grad():  # in chunks into one array: many samples need not fit twice
            for part in generate_chunks(self.net, torch.as_tensor(z, device=self.device), y):
                if out is None:
                    check_samples(len(z), part[0].numel())
                    out = np.empty((len(z), *part.shape[1:]), np.float32)
                out[at:at + len(part)] = part.cpu().numpy()
                at += len(part)
        assert out is not None
        return out

    def sample(self, n: int, seed: int | None = None, labels: Any = None) -> np.ndarray:
        n = C.Param("int", 1, lo=1, hi=10**7).coerce("n", n)
        seed = C.Param("int", 0, lo=0, hi=2**63 - 1).coerce("seed", 0 if seed is None else seed)
        gen = torch.Generator().manual_seed(seed)
        dim = self.config["noise"]["dim"]
        if self.config["noise"]["dist"] == "uniform":
            z = torch.rand(n, dim, generator=gen) * 2 - 1
        else:
            z = torch.randn(n, dim, generator=gen)
        return self.generate(z.numpy(), labels)


def generator_state(path: str) -> tuple[dict[str, Any], dict[str, torch.Tensor], int]:
    """The config, generator weights and step stored in a generator checkpoint."""
    path = str(path)
    meta, cfg = read_header(path, GENERATOR_KIND)
    weights = _prefixed(_read_tensors(path, GENERATOR_KIND, cfg), "generator.")
    _finite(path, weights, "generator weights")
    return cfg, weights, int(meta.get("step", "0"))


def load_generator(path: str, device: str = "cpu") -> LoadedGenerator:
    from .models import build_network
    from .session import resolve_device

    path = str(path)
    meta, cfg = read_header(path, GENERATOR_KIND)
    dev = resolve_device(device)
    try:
        classes = int(meta.get("classes", "0")) if cfg["conditional"] else 0
    except ValueError:
        raise ValueError(f"{path}: the checkpoint's class count is not a number") from None
    if not 0 <= classes <= 10_000:
        raise ValueError(f"{path}: the checkpoint's class count {classes} is out of range")
    weights = _prefixed(_read_tensors(path, GENERATOR_KIND, cfg), "generator.")
    _finite(path, weights, "generator weights")
    net = build_network("generator", cfg, classes=classes)
    try:
        net.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).splitlines()[0] if str(e) else "mismatch"
        raise ValueError(f"{path}: the stored weights do not fit the stored architecture "
                         f"({first[:100]})") from None
    return LoadedGenerator(net.to(dev), cfg, meta, dev)


def _history_in_columns(hist: np.ndarray, meta: dict[str, str], path: str) -> np.ndarray:
    """The stored history under today's columns: a checkpoint from an older version (fewer
    metric columns) loads with the new columns empty."""
    stored = _json(path, meta, "columns", "null") or list(COLUMNS)
    if (not isinstance(stored, list) or hist.ndim != 2 or hist.shape[1] != len(stored)
            or "step" not in stored):
        raise ValueError(f"{path}: the stored history has an unexpected shape {tuple(hist.shape)}")
    if list(stored) == list(COLUMNS):
        return hist
    out = np.full((len(hist), len(COLUMNS)), np.nan)
    for j, name in enumerate(stored):
        if name in COLUMNS:
            out[:, COLUMNS.index(name)] = hist[:, j]
    return out


def load_session(path: str) -> Session:
    from .session import Session

    path = str(path)
    meta, cfg = read_header(path, SESSION_KIND)
    tensors = _read_tensors(path, SESSION_KIND, cfg)
    for prefix in ("generator.", "discriminator."):
        _finite(path, _prefixed(tensors, prefix), f"{prefix[:-1]} weights")
    _finite(path, _prefixed(tensors, "opt_"), "optimizer state")
    try:
        state = {
            "config": cfg,
            "generator": _prefixed(tensors, "generator."),
            "discriminator": _prefixed(tensors, "discriminator."),
            "opt_g": _unflatten_optimizer(_json(path, meta, "opt_g"), tensors),
            "opt_d": _unflatten_optimizer(_json(path, meta, "opt_d"), tensors),
            "step": int(meta["step"]),  # checked by read_header
            "updates": _json(path, meta, "updates", "[0, 0]"),
            "history": _history_in_columns(tensors["history"].numpy(), meta, path),
            "swaps": _json(path, meta, "swaps", "[]"),  # none in files from before the log
            "rng": tensors.get("rng"),
            "noise_from": _json(path, meta, "noise_from", "0"),  # 0 in older files
        }
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        raise ValueError(f"{path}: the session checkpoint is incomplete ({str(e)[:80]})") from None
    if not np.isfinite(state["history"][:, 0]).all():
        raise ValueError(f"{path}: the stored history has steps that are not numbers")
    try:
        return Session.from_state(state)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None

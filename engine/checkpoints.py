"""Generator and session checkpoints: safetensors tensors plus a JSON header.

Loading never unpickles: safetensors holds only tensors and strings, so a file cannot run
code. Files are written atomically (temp file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import config as C
from .metrics import COLUMNS

if TYPE_CHECKING:
    from .session import Session

APP_VERSION = "0.1.0"
GENERATOR_KIND = "gan-playground/generator"
SESSION_KIND = "gan-playground/session"


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so a crash mid-write leaves the old file intact."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _cpu(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.detach().cpu().contiguous() for k, v in sd.items()}


def _meta(session: Session, kind: str) -> dict[str, str]:
    return {
        "kind": kind,
        "config": json.dumps(session.config),
        "step": str(session.step),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_version": APP_VERSION,
        "classes": str(session.classes),
        "class_names": json.dumps(list(session.class_names) if session.classes else []),
    }


def save_generator(session: Session, path: str) -> None:
    tensors = _cpu(session.generator.state_dict(), "generator.")
    atomic_write_bytes(path, st_save(tensors, metadata=_meta(session, GENERATOR_KIND)))


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
        state[int(pid)] = {k: (tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v)
                           for k, v in entry.items()}
    groups = skeleton["param_groups"]
    for g in groups:
        if "betas" in g and isinstance(g["betas"], list):
            g["betas"] = tuple(g["betas"])
    return {"state": state, "param_groups": groups}


def save_session(session: Session, path: str) -> None:
    n = session._nets
    tensors = _cpu(n.generator.state_dict(), "generator.")
    tensors.update(_cpu(n.discriminator.state_dict(), "discriminator."))
    tg, skg = _flatten_optimizer(n.opt_g.state_dict(), "opt_g.")
    td, skd = _flatten_optimizer(n.opt_d.state_dict(), "opt_d.")
    tensors.update(tg)
    tensors.update(td)
    tensors["history"] = torch.from_numpy(session.history.rows)
    tensors["rng"] = session._rng.get_state().cpu()
    meta = _meta(session, SESSION_KIND)
    meta["opt_g"] = json.dumps(skg)
    meta["opt_d"] = json.dumps(skd)
    meta["updates"] = json.dumps([session.d_updates, session.g_updates])
    meta["columns"] = json.dumps(list(COLUMNS))
    atomic_write_bytes(path, st_save(tensors, metadata=meta))


def _read(path: str, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, str], dict[str, Any]]:
    what = "generator" if kind == GENERATOR_KIND else "session"
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, not a {what} checkpoint file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise ValueError(f"{path}: the file is empty, not a {what} checkpoint")
    try:
        tensors = st_load(data)
        meta = _header_metadata(data)
    except Exception as e:  # safetensors raises several types for a bad or truncated file
        first = (str(e).splitlines() or [type(e).__name__])[0][:80]
        raise ValueError(f"{path}: not a GAN Playground checkpoint (unreadable or truncated: "
                         f"{first})") from None
    if meta.get("kind") != kind:
        other = meta.get("kind", "no kind")
        raise ValueError(f"{path}: expected a {what} checkpoint, found {other!r}")
    try:
        cfg = C.validate(json.loads(meta["config"]))
    except (KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the checkpoint's config is missing or broken ({e})") from None
    return tensors, meta, cfg


def _header_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file: an 8-byte length, then a JSON header."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8: 8 + n])
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def _load_net(net: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str, path: str) -> None:
    sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        net.load_state_dict(sd)
    except RuntimeError as e:
        first = str(e).splitlines()[0] if str(e) else "mismatch"
        raise ValueError(f"{path}: the stored weights do not fit the stored architecture ({first[:100]})") from None


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
        except json.JSONDecodeError:
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
        self.net.eval()
        with torch.no_grad():
            return self.net(torch.as_tensor(z, device=self.device), y).float().cpu().numpy().copy()

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
    tensors, meta, cfg = _read(str(path), GENERATOR_KIND)
    state = {k[len("generator."):]: v for k, v in tensors.items() if k.startswith("generator.")}
    try:
        step = int(meta.get("step", "0"))
    except ValueError:
        raise ValueError(f"{path}: the checkpoint's step is not a number") from None
    return cfg, state, step


def load_generator(path: str, device: str = "cpu") -> LoadedGenerator:
    from .models import build_network
    from .session import resolve_device

    tensors, meta, cfg = _read(str(path), GENERATOR_KIND)
    dev = resolve_device(device)
    try:
        classes = int(meta.get("classes", "0")) if cfg["conditional"] else 0
    except ValueError:
        raise ValueError(f"{path}: the checkpoint's class count is not a number") from None
    net = build_network("generator", cfg, classes=classes)
    _load_net(net, tensors, "generator.", str(path))
    return LoadedGenerator(net.to(dev), cfg, meta, dev)


def _history_in_columns(hist: np.ndarray, meta: dict[str, str], path: str) -> np.ndarray:
    """The stored history under today's columns: a checkpoint from an older version (fewer
    metric columns) loads with the new columns empty."""
    try:
        stored = json.loads(meta.get("columns", "null")) or list(COLUMNS)
    except json.JSONDecodeError:
        stored = list(COLUMNS)
    if hist.ndim != 2 or hist.shape[1] != len(stored) or "step" not in stored:
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

    tensors, meta, cfg = _read(str(path), SESSION_KIND)
    s = Session(cfg)
    n = s._nets
    _load_net(n.generator, tensors, "generator.", str(path))
    _load_net(n.discriminator, tensors, "discriminator.", str(path))
    try:
        n.opt_g.load_state_dict(_unflatten_optimizer(json.loads(meta["opt_g"]), tensors))
        n.opt_d.load_state_dict(_unflatten_optimizer(json.loads(meta["opt_d"]), tensors))
        s.step = int(meta["step"])
        s.d_updates, s.g_updates = json.loads(meta.get("updates", "[0, 0]"))
        hist = tensors["history"].numpy()
        try:
            s._rng.set_state(tensors["rng"])
        except RuntimeError:  # saved on another device type: continue from a fresh stream
            pass
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the session checkpoint is incomplete ({str(e)[:80]})") from None
    hist = _history_in_columns(hist, meta, path)
    s.history.append(hist)
    s._cache_settings()
    s._make_view_batches()
    s._save_good()
    return s

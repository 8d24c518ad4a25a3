"""A training session: the networks, their optimizers, the data and the training loop.

The loop follows the seeds: k discriminator steps (fresh real batch, fresh z, G's output
detached), then a generator step on fresh z. Per-step figures stay on the device and are
fetched in bulk every ``FLUSH_EVERY`` iterations, so a CUDA step never waits on the host;
the same flush checks for divergence and keeps the last good state to roll back to.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import config as C
from .datasets import DATASETS, DataSet
from .divergences import Divergences, divergences
from .losses import LOSSES, Loss, LossSettings, clip_weights, gradient_penalty
from .metrics import COLUMNS, STEP_COLUMNS, History, ModeStats, mode_stats
from .models import build_network, class_count, label_tensor
from .networks import carry_weights
from .norms import NORMS
from .optimizers import build_optimizer, update_hyperparameters
from .snapshot import Snapshot, ViewRequest

FLUSH_EVERY = 32

RowListener = Callable[[np.ndarray], None]
Progress = Callable[[float, str], None]
Net = torch.nn.Module


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN/inf. The session was rolled back to its last good state."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"training diverged at step {step}: {reason}; "
                         "lower the learning rate or switch the loss")
        self.step = step
        self.reason = reason


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but CUDA is not available here; "
                         "allowed: auto, cpu")
    return torch.device(name)


def _seed_of(*parts: Any) -> int:
    """A stable 63-bit seed from parts (hash() of str is salted per process; this is not)."""
    h = 1469598103934665603
    for p in repr(parts).encode():
        h = ((h ^ p) * 1099511628211) % (1 << 64)
    return h % (1 << 63)


@dataclass
class _Nets:
    """The objects one swap may replace, grouped so a swap builds them all before committing."""

    generator: Net
    discriminator: Net
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


class Session:
    """One GAN training run. See README, "Scripting API"."""

    def __init__(self, config: dict[str, Any] | None = None, *,
                 progress: Progress | None = None) -> None:
        cfg = C.validate(config if config is not None else C.default_config())
        self._listeners: list[RowListener] = []
        # slow one-off work (reading an image folder, training the quality classifier)
        # reports progress(fraction, text) here
        self.on_progress: Progress | None = progress
        self._quality_meter: Any = None
        self._init(cfg)

    # ------------------------------------------------------------------ construction
    def _init(self, cfg: dict[str, Any]) -> None:
        device = resolve_device(cfg["device"])  # may refuse: before anything is assigned
        self._check(cfg)
        self._cfg = cfg
        self.device = device
        self.step = 0
        self.history = History()
        seed = cfg["seed"]
        self._rng = torch.Generator(self.device).manual_seed(seed)
        g = self._build_net("generator", cfg, _seed_of(seed, "G"))
        d = self._build_net("discriminator", cfg, _seed_of(seed, "D"))
        self._nets = _Nets(g, d, build_optimizer(g.parameters(), cfg["optim"]["g"]),
                           build_optimizer(d.parameters(), cfg["optim"]["d"]))
        self._fill_reference(g, "generator", cfg, _seed_of(seed, "zR"))
        self._fill_reference(d, "discriminator", cfg, _seed_of(seed, "xR"))
        self._cache_settings()
        self._make_view_batches()
        self._reset_step_state()
        self._save_good()

    def _reset_step_state(self) -> None:
        zero = torch.zeros((), device=self.device)
        self._last_d = (zero, zero, zero, zero)  # loss, D(real), D(fake), grad norm
        self._last_g = (zero, zero)              # loss, grad norm
        self._pending: list[torch.Tensor] = []
        self._pending_steps: list[int] = []
        self._cadence_rows: dict[int, dict[str, float]] = {}  # step -> slow metrics
        self.d_updates = 0
        self.g_updates = 0

    def _check(self, cfg: dict[str, Any]) -> None:
        """What one key cannot check alone: the networks against the data. Reads image files
        (cached), so a missing or broken file is refused before anything changes."""
        ds = self._dataset(cfg)
        if ds.prepare is not None:
            ds.prepare(cfg["data"], self.on_progress)
        for which in ("generator", "discriminator"):
            if cfg[which]["arch"] == "dcgan" and not ds.is_image:
                raise ValueError(f"{which}.arch: DCGAN needs image data and '{ds.name}' is "
                                 f"{ds.dim}-D points; allowed: mlp")
        if cfg["conditional"] and not ds.classes(cfg["data"]):
            raise ValueError(f"conditional: data set '{ds.name}' has no class labels; allowed: "
                             "false, or a labelled set (digits, mnist, fashion-mnist, a folder "
                             "with one subfolder per class)")

    def _build_net(self, which: str, cfg: dict[str, Any], seed: int) -> Net:
        """Build on the CPU under a private RNG, so init is the same on every device."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed % (1 << 63))
            net = build_network(which, cfg)
        return net.to(self.device)

    def _fill_reference(self, net: Net, which: str, cfg: dict[str, Any], seed: int) -> None:
        """Fix the reference batch R: noise vectors z_R (and labels) for G, real samples
        (and their labels) for D."""
        if not net.ref_count:
            return
        gen = torch.Generator(self.device).manual_seed(seed)
        m = net.ref_count
        with torch.no_grad():
            if which == "generator":
                net.reference.copy_(self._noise(m, cfg, gen))
                if net.classes:
                    net.reference_y.copy_(torch.randint(net.classes, (m,), generator=gen,
                                                        device=self.device))
            else:
                x, y = self._dataset(cfg).draw_labelled(cfg["data"], self.device)(m, gen)
                net.reference.copy_(x.reshape(net.reference.shape))  # an MLP D stores it flat
                if net.classes:
                    net.reference_y.copy_(y)

    def _cache_settings(self) -> None:
        """Derive the per-step constants once per config change, not once per step."""
        cfg = self._cfg
        self._loss: Loss = LOSSES[cfg["loss"]["name"]]
        lc = cfg["loss"]
        self._loss_settings = LossSettings(lc["real_label"], lc["fake_label"], lc["clip"], lc["gp_weight"])
        self._data: DataSet = self._dataset(cfg)
        self._draw_real = self._data.draw_labelled(cfg["data"], self.device)
        self._n_classes = self._nets.generator.classes
        self._autocast = cfg["train"]["precision"] == "bf16"
        self._g_params = list(self._nets.generator.parameters())
        self._d_params = list(self._nets.discriminator.parameters())

    def _make_view_batches(self) -> None:
        """Fixed noise and real batches for live views, drawn from their own RNGs so that
        views never disturb the training stream and fakes move smoothly between frames."""
        seed = self._cfg["seed"]
        self._view_z: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._view_real: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._view_seed = _seed_of(seed, "view", self.step)

    @staticmethod
    def _dataset(cfg: dict[str, Any]) -> DataSet:
        return DATASETS[cfg["data"]["name"]]

    def _noise(self, n: int, cfg: dict[str, Any] | None = None,
               gen: torch.Generator | None = None) -> torch.Tensor:
        cfg = cfg or self._cfg
        dim = cfg["noise"]["dim"]
        gen = gen or self._rng
        if cfg["noise"]["dist"] == "uniform":
            return torch.rand(n, dim, generator=gen, device=self.device) * 2 - 1
        return torch.randn(n, dim, generator=gen, device=self.device)

    def _real(self, n: int, gen: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A real minibatch and its labels (None for unlabelled data)."""
        return self._draw_real(n, gen or self._rng)

    def _labels(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor | None:
        """Class labels for fakes: uniform over the classes (None when not conditional)."""
        if not self._n_classes:
            return None
        return torch.randint(self._n_classes, (n,), generator=gen or self._rng, device=self.device)

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast around the networks when asked for; losses stay in fp32."""
        if self._autocast:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ public state
    @property
    def config(self) -> dict[str, Any]:
        """A copy of the effective config (loadable as a preset)."""
        return copy.deepcopy(self._cfg)

    @property
    def generator(self) -> Net:
        return self._nets.generator

    @property
    def discriminator(self) -> Net:
        return self._nets.discriminator

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The data's plotting box (xmin, xmax, ymin, ymax)."""
        return self._data.box(self._cfg["data"])

    def add_listener(self, fn: RowListener) -> None:
        """Call ``fn(rows)`` with each new block of history rows (headless CSV, the app)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: RowListener) -> None:
        self._listeners.remove(fn)

    # ------------------------------------------------------------------ training
    def _grad_norm(self, params: list[torch.Tensor]) -> torch.Tensor:
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return torch.zeros((), device=self.device)
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))

    def _d_update(self, bs: int) -> None:
        n = self._nets
        real, y = self._real(bs)
        y = y if self._n_classes else None  # a conditional D sees fakes with real labels
        with self._precision():
            with torch.no_grad():
                fake = n.generator(self._noise(bs), y)
            l_real = n.discriminator(real, y).float()
            l_fake = n.discriminator(fake, y).float()
        s = self._loss_settings
        loss = self._loss.d_loss(l_real, l_fake, s)
        if self._loss.penalty and s.gp_weight > 0:
            def critic(x: torch.Tensor) -> torch.Tensor:
                with self._precision():
                    return n.discriminator(x, y).float()

            loss = loss + s.gp_weight * gradient_penalty(critic, real, fake.float(), self._rng)
        n.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = self._grad_norm(self._d_params)
        n.opt_d.step()
        if self._loss.clips:
            clip_weights(n.discriminator, s.clip)
        with torch.no_grad():
            if self._loss.probability:
                dr, df = torch.sigmoid(l_real).mean(), torch.sigmoid(l_fake).mean()
            else:
                dr, df = l_real.mean(), l_fake.mean()
        self._last_d = (loss.detach(), dr, df, gnorm)
        self.d_updates += 1

    def _g_update(self, bs: int) -> None:
        n = self._nets
        n.discriminator.requires_grad_(False)  # G's step needs no gradient for D's weights
        try:
            y = self._labels(bs)
            with self._precision():
                l_fake = n.discriminator(n.generator(self._noise(bs), y), y).float()
            loss = self._loss.g_loss(l_fake)
            n.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            n.discriminator.requires_grad_(True)
        gnorm = self._grad_norm(self._g_params)
        n.opt_g.step()
        self._last_g = (loss.detach(), gnorm)
        self.g_updates += 1

    def _log(self) -> None:
        d, g = self._last_d, self._last_g
        self._pending.append(torch.stack([d[0], g[0], d[1], d[2], g[1], d[3]]))
        self._pending_steps.append(self.step)

    def _iteration(self) -> None:
        cfg = self._cfg["train"]
        bs = cfg["batch_size"]
        for _ in range(cfg["d_steps"]):
            self._d_update(bs)
        for _ in range(cfg["g_steps"]):
            self._g_update(bs)
        self.step += 1
        every = cfg["metrics_every"]
        due = bool(every) and self.step % every == 0
        if due:
            self._cadence_rows[self.step] = self.cadence_metrics(cfg["metrics_samples"])
        if due or self.step % cfg["log_every"] == 0:
            self._log()

    def train(self, steps: int, callback: Callable[[int], None] | None = None,
              deadline: float | None = None) -> dict[str, float]:
        """Run ``steps`` generator iterations; return the last logged metrics.

        Raises TrainingDiverged (after rolling back to the last good state) on NaN/inf.
        ``callback(step)`` runs after each flush, e.g. for a progress bar. With ``deadline``
        (a ``time.perf_counter()`` value) it stops early once that time has passed, so a
        front end stays responsive when a swap makes each step much slower.
        """
        steps = C.Param("int", 0, lo=0, hi=10**9).coerce("steps", steps)
        for i in range(steps):
            self._iteration()
            last = i == steps - 1 or (deadline is not None and time.perf_counter() > deadline)
            if len(self._pending) >= FLUSH_EVERY or last:
                self.flush()
                if callback is not None:
                    callback(self.step)
            if last:
                break
        return self.history.last()

    def iteration(self) -> None:
        """One full iteration (k D steps, then G), flushed at once: the app's "step" button."""
        self._iteration()
        self.flush()

    def d_step(self) -> None:
        """One discriminator update only (the generator iteration count does not move)."""
        self._d_update(self._cfg["train"]["batch_size"])
        self._log()
        self.flush()

    def g_step(self) -> None:
        """One generator update only."""
        self._g_update(self._cfg["train"]["batch_size"])
        self._log()
        self.flush()

    def flush(self) -> np.ndarray:
        """Fetch pending per-step figures from the device in one transfer, check them, append
        them to the history and hand them to listeners. Returns the new rows."""
        if not self._pending:
            return np.empty((0, len(COLUMNS)))
        vals = torch.stack(self._pending).cpu().numpy().astype(np.float64)
        steps = np.asarray(self._pending_steps, dtype=np.float64)
        self._pending.clear()
        self._pending_steps.clear()
        bad = ~np.isfinite(vals)
        if bad.any() or not self._weights_finite():
            self._diverged(steps, vals, bad)
        rows = np.full((len(vals), len(COLUMNS)), np.nan)
        rows[:, 0] = steps
        rows[:, 1:1 + len(STEP_COLUMNS)] = vals
        if self._cadence_rows:
            for i, st in enumerate(steps):
                for col, v in self._cadence_rows.pop(int(st), {}).items():
                    rows[i, COLUMNS.index(col)] = v
        self.history.append(rows)
        self._save_good()
        for fn in list(self._listeners):
            fn(rows)
        return rows

    def _weights_finite(self) -> bool:
        params = self._g_params + self._d_params
        return bool(torch.isfinite(torch.stack(torch._foreach_norm(params)).sum()))

    def _diverged(self, steps: np.ndarray, vals: np.ndarray, bad: np.ndarray) -> None:
        if bad.any():
            i, j = np.argwhere(bad)[0]
            what = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x) on real",
                    "d_fake": "D(G(z)) on fakes", "g_grad_norm": "G's gradient norm",
                    "d_grad_norm": "D's gradient norm"}[STEP_COLUMNS[j]]
            step = int(steps[i])
            reason = f"{what} became {'NaN' if np.isnan(vals[i, j]) else 'infinite'}"
        else:
            step = self.step
            reason = "a weight became NaN or infinite"
        self._restore_good()
        raise TrainingDiverged(step, reason)

    def _live_state(self) -> tuple[list[torch.Tensor], tuple[Any, ...]]:
        """Every tensor a rollback must restore (weights, buffers, optimizer state), in a
        fixed order, and a key describing that layout (it changes when a network is rebuilt
        or an optimizer creates its state on its first step)."""
        n = self._nets
        tensors: list[torch.Tensor] = []
        layout: list[Any] = []
        for net in (n.generator, n.discriminator):
            for name, t in net.state_dict(keep_vars=True).items():
                tensors.append(t)
                layout.append((id(net), name))
        for opt in (n.opt_g, n.opt_d):
            for group in opt.param_groups:
                for p in group["params"]:
                    for key, v in opt.state.get(p, {}).items():
                        if torch.is_tensor(v):
                            tensors.append(v)
                            layout.append((id(p), key))
        return tensors, tuple(layout)

    def _save_good(self) -> None:
        """Keep a rollback point. Buffers are allocated once per layout and refilled with one
        fused copy, so a checkpoint per flush costs a memcpy, not a deep copy."""
        live, layout = self._live_state()
        good = getattr(self, "_good", None)
        with torch.no_grad():
            if good is None or good["layout"] != layout:
                saved = [t.detach().clone() for t in live]
            else:
                saved = good["tensors"]
                torch._foreach_copy_(saved, [t.detach() for t in live])
        self._good = {
            "tensors": saved, "layout": layout,
            "step": self.step, "rng": self._rng.get_state(),
            "updates": (self.d_updates, self.g_updates), "rows": len(self.history),
        }

    def _restore_good(self) -> None:
        good = self._good
        live, layout = self._live_state()
        n = self._nets
        if layout != good["layout"]:
            # optimizer state created after the rollback point did not exist then: drop it
            had_state = {key[0] for key in good["layout"]}
            for opt in (n.opt_g, n.opt_d):
                for group in opt.param_groups:
                    for p in group["params"]:
                        if id(p) not in had_state:
                            opt.state.pop(p, None)
            live, layout = self._live_state()
        with torch.no_grad():
            torch._foreach_copy_([t.detach() for t in live], good["tensors"])
        self.step = good["step"]
        self._rng.set_state(good["rng"])
        self.d_updates, self.g_updates = good["updates"]
        self.history.truncate(good["rows"])  # rows logged after the rollback point
        self._pending.clear()
        self._pending_steps.clear()
        self._cadence_rows.clear()

    # ------------------------------------------------------------------ swaps
    def apply(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply dotted-key changes mid-run with DESIGN.md's swap meanings.

        Everything new is built before anything is replaced, so a ValueError leaves the
        session exactly as it was. Returns the keys that actually changed.
        """
        old = self._cfg
        new = C.validate(C.with_changes(old, changes))
        changed = C.diff(old, new)
        if not changed:
            return {}
        keys = set(changed)
        new_device = resolve_device(new["device"])
        self._check(new)
        if "seed" in keys:
            self.flush()
            self._init(new)
            return changed

        def touched(prefix: str) -> bool:
            return any(k == prefix or k.startswith(prefix + ".") for k in keys)

        n = self._nets
        step_seed = _seed_of(new["seed"], self.step, sorted(keys))
        rebuild_g = _architecture(old, "generator") != _architecture(new, "generator")
        rebuild_d = _architecture(old, "discriminator") != _architecture(new, "discriminator")
        g = n.generator
        d = n.discriminator
        if rebuild_g:
            g = self._build_net("generator", new, _seed_of(step_seed, "G"))
            carry_weights(n.generator, g)
        if rebuild_d:
            d = self._build_net("discriminator", new, _seed_of(step_seed, "D"))
            carry_weights(n.discriminator, d)
        # reference batches: fixed anew when a reference norm arrives or its inputs change
        if g.ref_count and (rebuild_g and (not n.generator.ref_count or "noise.dim" in keys
                                           or "generator.ref_size" in keys
                                           or g.classes != n.generator.classes)
                            or "noise.dist" in keys):
            self._fill_reference(g, "generator", new, _seed_of(step_seed, "zR"))
        elif g.ref_count and g is not n.generator:
            _copy_reference(n.generator, g)
        if d.ref_count and (touched("data") or (rebuild_d and (not n.discriminator.ref_count
                                                               or "discriminator.ref_size" in keys
                                                               or d.classes != n.discriminator.classes))):
            self._fill_reference(d, "discriminator", new, _seed_of(step_seed, "xR"))
        elif d.ref_count and d is not n.discriminator:
            _copy_reference(n.discriminator, d)
        opt_g = n.opt_g
        opt_d = n.opt_d
        if rebuild_g or "optim.g.name" in keys:
            opt_g = build_optimizer(g.parameters(), new["optim"]["g"])
        if rebuild_d or "optim.d.name" in keys:
            opt_d = build_optimizer(d.parameters(), new["optim"]["d"])
        # --- commit: nothing below can fail on user input
        self.flush()
        self._nets = _Nets(g, d, opt_g, opt_d)
        update_hyperparameters(opt_g, new["optim"]["g"])
        update_hyperparameters(opt_d, new["optim"]["d"])
        self._cfg = new
        if new_device != self.device:
            self._move_to(new_device)
        if touched("data"):
            self._quality_meter = None
        self._cache_settings()
        if touched("data") or touched("noise"):
            self._make_view_batches()
        self._save_good()
        return changed

    def _move_to(self, device: torch.device) -> None:
        n = self._nets
        og, od = n.opt_g.state_dict(), n.opt_d.state_dict()
        n.generator.to(device)
        n.discriminator.to(device)
        self.device = device
        n.opt_g = build_optimizer(n.generator.parameters(), self._cfg["optim"]["g"])
        n.opt_d = build_optimizer(n.discriminator.parameters(), self._cfg["optim"]["d"])
        n.opt_g.load_state_dict(og)
        n.opt_d.load_state_dict(od)
        self._rng = torch.Generator(device).manual_seed(_seed_of(self._cfg["seed"], self.step, "rng"))
        self._reset_step_state()

    def reset(self) -> None:
        """Re-initialise both networks and optimizers from the seed; step and history restart."""
        self._init(self._cfg)

    # ------------------------------------------------------------------ evaluation
    @contextlib.contextmanager
    def _looking(self) -> Any:
        """No gradients and eval mode (so spectral norm's power iteration does not advance):
        looking never changes training."""
        n = self._nets
        n.generator.eval()
        n.discriminator.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            n.generator.train()
            n.discriminator.train()

    def _eval(self, fn: Callable[[], torch.Tensor]) -> np.ndarray:
        """``fn()`` while looking (see ``_looking``), as a numpy copy."""
        with self._looking():
            return fn().detach().cpu().numpy().copy()

    @property
    def classes(self) -> int:
        """Class count the networks are conditioned on (0: unconditional)."""
        return self._n_classes

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the data set's classes ("0".."9" for digits); () when unlabelled."""
        if self._data.prepare is None:
            return ()
        return self._data.prepare(self._cfg["data"]).class_names

    def _label_tensor(self, labels: Any, n: int) -> torch.Tensor | None:
        return label_tensor(labels, n, self._n_classes, self.device)

    def sample(self, n: int, seed: int | None = None, labels: Any = None) -> np.ndarray:
        """``n`` generated samples; reproducible from ``seed`` (default: the config seed and
        step). Images come as (n, C, H, W) in [-1, 1]. A conditional session takes ``labels``
        (one class or one per sample; default: the classes in turn)."""
        return self._eval(lambda: self._sample_tensor(n, seed, labels))

    def _sample_tensor(self, n: int, seed: int | None, labels: Any) -> torch.Tensor:
        """``sample`` on the device (callers are already looking)."""
        n = C.Param("int", 1, lo=1, hi=10**7).coerce("n", n)
        y = self._label_tensor(labels, n)
        gen = torch.Generator(self.device).manual_seed(
            _seed_of(self._cfg["seed"], self.step, "sample") if seed is None else int(seed))
        return self._generate(self._noise(n, gen=gen), y)

    def _generate(self, z: torch.Tensor, y: torch.Tensor | None, chunk: int = 2048) -> torch.Tensor:
        """G(z, y) in chunks (many images at once need not fit in memory as one batch)."""
        g = self._nets.generator
        if len(z) <= chunk:
            return g(z, y).float()
        ys = torch.split(y, chunk) if y is not None else [None] * math.ceil(len(z) / chunk)
        return torch.cat([g(zc, yc).float() for zc, yc in zip(torch.split(z, chunk), ys)])

    def generate(self, z: np.ndarray, labels: Any = None) -> np.ndarray:
        """Samples G(z) for the given noise, shape (n, noise.dim) (and ``labels``, see
        ``sample``)."""
        dim = self._cfg["noise"]["dim"]
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != dim or len(z) == 0:
            raise ValueError(f"z: expected an array of shape (n, {dim}), got {z.shape}")
        y = self._label_tensor(labels, len(z))
        zt = torch.as_tensor(z, device=self.device)
        return self._eval(lambda: self._generate(zt, y))

    def discriminate(self, x: np.ndarray, labels: Any = None) -> np.ndarray:
        """D's raw output (logit for the BCE losses, score otherwise), shape (n,). Points are
        (n, dim), images (n, C, H, W) in [-1, 1]; a conditional D needs ``labels``."""
        shape = self._data.data_shape(self._cfg["data"])
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != shape or len(x) == 0:
            raise ValueError(f"x: expected an array of shape (n, {', '.join(map(str, shape))}), "
                             f"got {x.shape}")
        if self._n_classes and labels is None:
            raise ValueError("labels: a conditional discriminator needs the class of each x")
        y = self._label_tensor(labels, len(x))
        xt = torch.as_tensor(x, device=self.device)
        return self._eval(lambda: self._nets.discriminator(xt, y)[:, 0].float())

    def mode_stats(self, n: int = 2500) -> ModeStats | None:
        """Mode metrics on ``n`` fresh samples, for data sets made of modes (else None)."""
        modes = self._data.modes(self._cfg["data"])
        if modes is None:
            return None
        return mode_stats(self.sample(n, seed=_seed_of(self._cfg["seed"], self.step, "modes")), modes)

    def divergences(self, n: int = 2500, w1_points: int = 256) -> Divergences:
        """JS/KL (grid histograms over the data box), exact W1 and RBF MMD between ``n`` fresh
        real and generated samples (W1 and MMD on the first ``w1_points``: their cost grows
        fast). The samples come from their own RNG, so measuring never changes training."""
        if self._data.is_image:
            raise ValueError("divergences: for 1-D and 2-D data; images are measured by "
                             "quality_scores() (FID and IS)")
        gen = torch.Generator(self.device).manual_seed(_seed_of(self._cfg["seed"], self.step, "div"))
        real = self._real(n, gen=gen)[0].cpu().numpy()
        fake = self.sample(n, seed=_seed_of(self._cfg["seed"], self.step, "divz"))
        return divergences(real, fake, self.box, w1_points=w1_points)

    def cadence_metrics(self, n: int = 2500) -> dict[str, float]:
        """The slow metrics logged every ``train.metrics_every`` steps: mode metrics for
        mixture data, divergences for all toy data."""
        out: dict[str, float] = {}
        if self._data.is_image:
            q = self.quality_scores(n)
            if q is not None:
                out.update(fid=q.fid, inception_score=q.inception, modes=q.classes_seen,
                           high_quality=q.confident, mode_kl=q.class_kl)
            return out
        ms = self.mode_stats(n)
        if ms is not None:
            out.update(modes=ms.captured, high_quality=ms.high_quality, mode_kl=ms.kl)
        d = self.divergences(n)
        out.update(js=d.js, kl=d.kl, w1=d.w1, mmd=d.mmd)
        return out

    def quality_meter(self) -> Any:
        """The classifier behind FID/IS for this data set (trained once, cached on disk;
        ``on_progress`` hears about the training). None for unlabelled or point data."""
        ds = self._data
        if not ds.is_image or not ds.classes(self._cfg["data"]):
            return None
        if self._quality_meter is None:
            from .imagedata import load_images
            from .quality import QualityMeter

            loaded = load_images(ds.name, self._cfg["data"])
            self._quality_meter = QualityMeter.for_data(
                loaded.key, loaded.images, loaded.labels, loaded.classes,
                progress=self.on_progress)
        return self._quality_meter

    def quality_scores(self, n: int = 2500) -> Any:
        """Classifier-based FID and Inception-style score of ``n`` fresh images (with classes
        seen, confident fraction and class imbalance); None where no classifier applies."""
        meter = self.quality_meter()
        if meter is None:
            return None
        with self._looking():  # the fakes stay on the device for the classifier
            fake = self._sample_tensor(n, _seed_of(self._cfg["seed"], self.step, "quality"), None)
        return meter.scores(fake)

    def snapshot(self, request: ViewRequest | None = None) -> Snapshot:
        """Everything a live view draws, as numpy copies (see ``engine.views``). Costs one G
        pass on the fixed view noise, plus whatever extra the request asks for."""
        from .views import build_snapshot

        self.flush()
        return build_snapshot(self, request or ViewRequest())

    def view_batches(self, n_fake: int, n_real: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed noise and real batches of the live views (drawn once per size)."""
        z, _ = self.view_batches_labelled(n_fake, n_real)
        return z[0], self._view_real[n_real][0]

    def view_batches_labelled(self, n_fake: int, n_real: int
                              ) -> tuple[tuple[torch.Tensor, torch.Tensor | None],
                                         tuple[torch.Tensor, torch.Tensor | None]]:
        """As ``view_batches`` with labels: a conditional view asks for the classes in rows
        (fake i has class i * K // n_fake), real images come sorted by class."""
        if n_fake not in self._view_z:
            gen = torch.Generator(self.device).manual_seed(_seed_of(self._view_seed, "z", n_fake))
            y = None
            if self._n_classes:
                y = torch.arange(n_fake, device=self.device) * self._n_classes // max(n_fake, 1)
            self._view_z[n_fake] = (self._noise(n_fake, gen=gen), y)
        if n_real not in self._view_real:
            gen = torch.Generator(self.device).manual_seed(_seed_of(self._view_seed, "x", n_real))
            k = self._data.classes(self._cfg["data"]) if self._data.is_image else 0
            if k:  # as many of each class as the data hold, in class order
                x, y = self._real(max(4 * n_real, 64 * k), gen=gen)
                per = n_real // k
                pick = torch.cat([torch.nonzero(y == c)[:per, 0] for c in range(k)])
                rest = torch.ones(len(y), dtype=torch.bool, device=y.device)
                rest[pick] = False
                pick = torch.cat([pick, torch.nonzero(rest)[:n_real - len(pick), 0]])
                order = torch.argsort(y[pick], stable=True)
                x, y = x[pick][order], y[pick][order]
            else:
                x, y = self._real(n_real, gen=gen)
            self._view_real[n_real] = (x, y)
        return self._view_z[n_fake], self._view_real[n_real]

    @property
    def loss(self) -> Loss:
        return self._loss

    @property
    def dataset(self) -> DataSet:
        return self._data

    # ------------------------------------------------------------------ files
    def save(self, path: str) -> None:
        """A session checkpoint: both networks, optimizers, step, history (resumable)."""
        from .checkpoints import save_session

        self.flush()
        save_session(self, path)

    @classmethod
    def load(cls, path: str) -> Session:
        from .checkpoints import load_session

        return load_session(path)

    @classmethod
    def from_generator(cls, path: str) -> Session:
        """Continue training a saved generator: its config and weights (reference batch
        included), a fresh discriminator and optimizers."""
        from .checkpoints import generator_state

        cfg, state, step = generator_state(path)
        s = cls(cfg)
        try:
            s._nets.generator.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"{path}: the stored weights do not fit the stored architecture "
                             f"({str(e).splitlines()[0][:100]})") from None
        s.step = step
        s._save_good()
        return s

    def save_generator(self, path: str) -> None:
        from .checkpoints import save_generator

        save_generator(self, path)

    def summary(self) -> str:
        """One line for status bars and logs: step, device, loss and norms."""
        c = self._cfg
        arch = "/".join(c[w]["arch"].upper() for w in ("generator", "discriminator"))
        return (f"step {self.step} · {self.device.type} · {c['loss']['name']} · {arch} · "
                f"G {c['generator']['norm']} / D {c['discriminator']['norm']}"
                + (" · conditional" if self._n_classes else "")
                + (" · bf16" if self._autocast else ""))


def _copy_reference(old: Net, new: Net) -> None:
    new.reference.copy_(old.reference.reshape(new.reference.shape))  # MLP flat, DCGAN (C, H, W)
    if new.classes and old.classes == new.classes:
        new.reference_y.copy_(old.reference_y)


def _architecture(cfg: dict[str, Any], which: str) -> tuple[Any, ...]:
    """What a network is built from: settings that do not change the build (a reference
    size without a reference norm, kernels without minibatch discrimination, MLP widths
    under DCGAN) leave it alone."""
    net = cfg[which]
    ref = net["ref_size"] if NORMS[net["norm"]].needs_reference else None
    ds = DATASETS[cfg["data"]["name"]]
    classes = class_count(cfg)
    size = (net["width"], net["depth"]) if net["arch"] == "dcgan" else tuple(net["hidden"])
    arch: tuple[Any, ...] = (net["arch"], size, net["activation"], net["norm"], ref,
                             ds.data_shape(cfg["data"]), classes)
    if which == "generator":
        return arch + (cfg["noise"]["dim"],)
    mb = net["minibatch"]
    return arch + (mb, (net["mb_kernels"], net["mb_dim"]) if mb == "discrimination" else None)


__all__ = ["Session", "TrainingDiverged", "resolve_device"]

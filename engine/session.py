"""A training session: the scripting API over the networks, their optimizers and the data.

The work is split by concern: ``training`` (one iteration), ``rollback`` (the points a
divergence goes back to), ``swaps`` (what each mid-run change means), ``evaluation``
(samples, D's output, the quality metrics), ``views`` (live frames) and ``checkpoints``
(files, through ``state_dict``/``from_state``). This class holds the state they share and
keeps the order that makes training trustworthy: per-step figures stay on the device and
are checked in bulk at least every ``CHECK_EVERY`` iterations, and every reader (a metric, a
view, an export, a save) first passes that check, so nothing ever reads NaN weights.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import config as C
from . import evaluation as E
from .catalogue import COLUMN_TITLES, COLUMNS, STEP_COLUMNS
from .datasets import DATASETS, DataSet
from .divergences import Divergences
from .figures import DFigures, GFigures, Row
from .figures import reduce as reduce_figures
from .losses import Loss
from .memory import check_memory
from .metrics import History, ModeStats
from .models import build_network, code_tensor, label_tensor
from .optimizers import build_optimizer
from .rollback import CHECK_EVERY, Ladder, Point
from .seeds import seed_of
from .snapshot import Snapshot, ViewRequest
from .state import Nets
from .training import (
    StepSettings,
    d_update,
    g_update,
    instance_noise_std,
    noise,
    step_settings,
)

FLUSH_EVERY = CHECK_EVERY  # kept for callers of the old name
PROBE = 64  # noise vectors and real samples the health check runs G and D on
OUTPUT_LIMIT = 1e18  # |G(z)| beyond this is a blow-up: see Session._probe_problem

RowListener = Callable[[np.ndarray], None]
Progress = Callable[[float, str], None]
Net = torch.nn.Module


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN/inf. The session was rolled back to a point taken before
    the blow-up (``rolled_back_to``)."""

    def __init__(self, step: int, reason: str, rolled_back_to: int | None = None) -> None:
        back = ("" if rolled_back_to is None
                else f"; rolled back to step {rolled_back_to}, before the weights blew up")
        super().__init__(f"training diverged at step {step}: {reason}{back}; "
                         "lower the learning rates (e.g. 10×) or switch the loss")
        self.step = step
        self.reason = reason
        self.rolled_back_to = step if rolled_back_to is None else rolled_back_to


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but CUDA is not available here; "
                         "allowed: auto, cpu")
    return torch.device(name)


def _seed_of(*parts: Any) -> int:  # kept for callers of the old name
    return seed_of(*parts)


class Session:
    """One GAN training run. See README, "Scripting API"."""

    def __init__(self, config: dict[str, Any] | None = None, *,
                 progress: Progress | None = None) -> None:
        cfg = C.validate(config if config is not None else C.default_config())
        self._listeners: list[RowListener] = []
        # slow one-off work (reading an image folder, training the quality classifier)
        # reports progress(fraction, text) here
        self.on_progress: Progress | None = progress
        self._quality = E.QualityMeters()
        self._ladder = Ladder()
        self._init(cfg)

    # ------------------------------------------------------------------ construction
    def _init(self, cfg: dict[str, Any]) -> None:
        """Build everything from ``cfg`` and its seed (a new session, Reset, a new seed).
        Nothing is assigned until everything is built, so a failure leaves the old state."""
        device = resolve_device(cfg["device"])  # may refuse: before anything is assigned
        self._check(cfg, device)
        seed = cfg["seed"]
        g = self._build_net("generator", cfg, seed_of(seed, "G"), device)
        d = self._build_net("discriminator", cfg, seed_of(seed, "D"), device)
        nets = Nets(g, d, build_optimizer(g.parameters(), cfg["optim"]["g"]),
                    build_optimizer(d.parameters(), cfg["optim"]["d"]))
        self._cfg = cfg
        self.device = device
        self.step = 0
        self._noise_from = 0  # the step the instance noise was set (its anneal starts there)
        self.history = History()
        # the changes applied mid-run, as (step, short text): "loss → wgan-gp" at step 1200
        self.swaps: list[tuple[int, str]] = []
        self._rng = torch.Generator(device).manual_seed(seed)
        self._nets = nets
        self.fill_reference("generator", seed_of(seed, "zR"))
        self.fill_reference("discriminator", seed_of(seed, "xR"))
        self._ladder.clear()
        self._after_change(views=True)
        self._reset_step_state()
        self._save_point()

    def _reset_step_state(self) -> None:
        # logged rows not yet checked: raw figures, reduced in bulk by the health check
        self._pending: list[Row] = []
        self._pending_steps: list[int] = []
        self._since_check = 0
        self.d_updates = 0
        self.g_updates = 0

    def _check(self, cfg: dict[str, Any], device: torch.device) -> None:
        """What one key cannot check alone: the networks against the data, and their size
        against memory. Reads image files (cached), so a missing or broken file is refused
        before anything changes."""
        ds = DATASETS[cfg["data"]["name"]]
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
        check_memory(cfg, device.type)

    @staticmethod
    def _build_net(which: str, cfg: dict[str, Any], seed: int, device: torch.device) -> Net:
        """Build on the CPU under a private RNG, so init is the same on every device."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed % (1 << 63))
            net = build_network(which, cfg)
        return net.to(device)

    def fill_reference(self, which: str, seed: int, net: Net | None = None,
                       cfg: dict[str, Any] | None = None) -> None:
        """Fix the reference batch R of ``net`` (default: the live one): noise vectors z_R
        (and labels) for G, real samples (and their labels) for D."""
        net = net if net is not None else getattr(self._nets, which)
        cfg = cfg if cfg is not None else self._cfg
        if not net.ref_count:
            return
        gen = torch.Generator(self.device).manual_seed(seed)
        m = net.ref_count
        with torch.no_grad():
            if which == "generator":
                net.reference.copy_(noise(m, cfg, gen, self.device))
                if net.classes:
                    net.reference_y.copy_(torch.randint(net.classes, (m,), generator=gen,
                                                        device=self.device))
            else:
                x, y = DATASETS[cfg["data"]["name"]].draw_labelled(cfg["data"], self.device)(m, gen)
                net.reference.copy_(x.reshape(net.reference.shape))  # an MLP D stores it flat
                if net.classes:
                    net.reference_y.copy_(y)

    def _after_change(self, views: bool) -> None:
        """Derive the per-step constants once per config change, not once per step."""
        n = self._nets
        self._steps: StepSettings = step_settings(self._cfg, n.generator, n.discriminator,
                                                  self.device)
        stale = getattr(self, "_views", None)
        if views or stale is None or stale.classes != self.classes:
            from .views import ViewBatches

            self._views = ViewBatches(self)
        # the health check's probe: fixed noise (with labels) and real samples, own RNG
        gen = torch.Generator(self.device).manual_seed(seed_of(self._cfg["seed"], "probe"))
        k = self._steps.classes
        y = torch.arange(PROBE, device=self.device) % k if k else None
        x, y_real = self._steps.draw_real(PROBE, gen)
        self._probe = (noise(PROBE, self._cfg, gen, self.device), y, x, y_real if k else None)

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
        return self.dataset.box(self._cfg["data"])

    @property
    def loss(self) -> Loss:
        return self._steps.loss

    @property
    def dataset(self) -> DataSet:
        return DATASETS[self._cfg["data"]["name"]]

    @property
    def classes(self) -> int:
        """Class count the networks are conditioned on (0: unconditional)."""
        return self._steps.classes

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the data set's classes ("0".."9" for digits); () when unlabelled."""
        if self.dataset.prepare is None:
            return ()
        return self.dataset.prepare(self._cfg["data"]).class_names

    @property
    def instance_noise(self) -> float:
        """The instance noise's std at the current step (0: off): ``data.instance_noise``,
        annealed over ``data.instance_noise_steps`` iterations from the step it was set."""
        st = self._steps
        return instance_noise_std(st.noise_std, st.noise_steps, self.step - self._noise_from)

    @property
    def codes(self) -> int:
        """K of the generator's InfoGAN code (0: none)."""
        return self._steps.codes

    def add_listener(self, fn: RowListener) -> None:
        """Call ``fn(rows)`` with each new block of history rows (headless CSV, the app)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: RowListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    # ------------------------------------------------------------------ training
    def _log(self, d: DFigures | None, g: GFigures | None) -> None:
        """A row for this step from what each network's last update left (None: it did not
        step, frozen or D under MMD, and its columns are NaN, not a stale value or a fake
        zero; the health check does not take those NaNs for a divergence)."""
        self._pending.append((d, g))
        self._pending_steps.append(self.step)

    def _d_step(self, figures: bool = True) -> DFigures | None:
        """One D update; none when D is frozen (lr 0) or not trained (MMD): its step is not
        run at all. Returns its figures; none when ``figures`` is False (a step no row will
        show: not the last of its iteration, or an iteration not logged)."""
        if not self._steps.d_trains:
            return None
        out = d_update(self, figures)
        self.d_updates += 1
        return out

    def _g_step(self, figures: bool = True) -> GFigures | None:
        """One G update (none when G is frozen: lr 0); its figures as for ``_d_step``."""
        if not self._steps.g_trains:
            return None
        out = g_update(self, figures)
        self.g_updates += 1
        return out

    def _iteration(self) -> None:
        st = self._steps
        every = st.metrics_every
        after = self.step + 1
        cadence = bool(every and after % every == 0)
        logged = cadence or after % st.log_every == 0
        d = g = None  # the figures of the last update of each network, if it stepped
        for i in range(st.d_steps):
            d = self._d_step(logged and i == st.d_steps - 1)
        for i in range(st.g_steps):
            g = self._g_step(logged and i == st.g_steps - 1)
        self.step += 1
        self._since_check += 1
        if logged:
            self._log(d, g)
        if cadence:
            self.flush(cadence=True)  # checked before the slow metrics read the weights

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run training work; an unexpected error rolls back to the newest point first, so
        no half-applied iteration (D stepped, G not) is ever left behind."""
        try:
            work()
        except TrainingDiverged:
            raise
        except BaseException:
            self._rollback_quietly()
            raise

    def train(self, steps: int, callback: Callable[[int], None] | None = None,
              deadline: float | None = None, check: bool = True,
              until: Callable[[], bool] | None = None) -> dict[str, float]:
        """Run ``steps`` generator iterations; return the last logged metrics.

        Raises TrainingDiverged (after rolling back to a point before the blow-up) on
        NaN/inf. ``callback(step)`` runs after each health check, e.g. for a progress bar.
        With ``deadline`` (a ``time.perf_counter()`` value) it stops early once that time
        has passed, so a front end stays responsive when a swap makes each step slower.
        ``check=False`` leaves the last iterations to the next health check (at most
        ``CHECK_EVERY`` iterations away, and before anything reads the state): a caller
        that trains in many short chunks (the engine process) need not pay one per chunk.
        ``until()`` is asked after every iteration; True ends the call early (the engine
        process stops for a wanted frame within an iteration, not a chunk).
        """
        steps = C.Param("int", 0, lo=0, hi=10**9).coerce("steps", steps)

        def run() -> None:
            for i in range(steps):
                self._iteration()
                last = (i == steps - 1 or (deadline is not None and time.perf_counter() > deadline)
                        or (until is not None and until()))
                due = len(self._pending) >= CHECK_EVERY or self._since_check >= CHECK_EVERY
                if due or (last and check):
                    self.flush()
                    if callback is not None:
                        callback(self.step)
                if last:
                    break

        self._guarded(run)
        return self.history.last()

    def iteration(self) -> None:
        """One full iteration (k D steps, then G), checked at once: the app's "step" button."""
        self._guarded(lambda: (self._iteration(), self.flush()))

    def d_step(self) -> None:
        """One discriminator update only (the generator iteration count does not move). Its
        row holds D's figures; G's columns are NaN (G did not step), never the figures of
        an earlier G step."""
        self._guarded(lambda: (self._log(self._d_step(), None), self.flush()))

    def g_step(self) -> None:
        """One generator update only; its row holds G's figures, D's columns NaN."""
        self._guarded(lambda: (self._log(None, self._g_step()), self.flush()))

    # ------------------------------------------------------------------ health checks
    def flush(self, cadence: bool = False) -> np.ndarray:
        """The health check: fetch pending per-step figures from the device in one
        transfer, check them and the weights, then (``cadence``: with the slow metrics of
        this step) append them to the history, hand them to listeners and keep a rollback
        point. Raises TrainingDiverged after rolling back. Returns the new rows."""
        vals, skipped = reduce_figures(self._pending, self.device)
        steps = np.asarray(self._pending_steps, dtype=np.float64)
        self._pending.clear()
        self._pending_steps.clear()
        bad = ~np.isfinite(vals) & ~skipped
        if bad.any() or not self._weights_finite():
            self._diverged(steps, vals, bad)
        problem = self._probe_problem() or self._optimizer_problem()
        if problem:
            self._diverged(steps, vals, bad, problem)
        vals[skipped] = np.nan
        rows = np.full((len(vals), len(COLUMNS)), np.nan)
        rows[:, 0] = steps
        rows[:, 1:1 + len(STEP_COLUMNS)] = vals
        if cadence and len(rows) and rows[-1, 0] == self.step:
            for col, v in E.cadence_metrics(self, self._cfg["train"]["metrics_samples"]).items():
                rows[-1, COLUMNS.index(col)] = v
        if len(rows):
            self.history.append(rows)
        if self._since_check or len(rows) or cadence:
            self._save_point()
        self._since_check = 0
        for fn in list(self._listeners):
            if len(rows):
                fn(rows)
        return rows

    def _checked(self) -> None:
        """Run the health check when training happened since the last one: a reader (view,
        metric, export, save) never sees the weights of a step nobody has checked."""
        if self._pending or self._since_check:
            self.flush()

    def _weights_finite(self) -> bool:
        params = list(self._steps.g_params) + list(self._steps.d_params)
        return bool(torch.isfinite(torch.stack(torch._foreach_norm(params)).sum()))

    def _probe_problem(self) -> str | None:
        """A step's figures are computed before its updates, so an update that makes the
        networks overflow (weights of ~1e17, still finite; every sample inf) would pass the
        checks above until the next step. So G and D also run on a fixed probe batch. G's
        output beyond ``OUTPUT_LIMIT`` counts too: a sample there is 1e12 times the widest
        data, and squaring it (norms, variances, views) overflows float32, so its
        neighbours in z are already NaN (seen: a virtual-norm G at 1e20)."""
        z, y, x, y_real = self._probe
        n = self._nets
        with E.looking(self):
            fake = n.generator(z, y)
            big = float(torch._foreach_norm([fake.float()], math.inf)[0])  # NaN stays NaN
            if not math.isfinite(big):
                return "G's output overflowed (to NaN or infinity)"
            if big > OUTPUT_LIMIT:
                return f"G's output reached {big:.1e}, beyond {OUTPUT_LIMIT:.0e}"
            outs = (n.discriminator(fake, y), n.discriminator(x, y_real))
            if not bool(torch.stack([torch.isfinite(t).all() for t in outs]).all()):
                return "D's output overflowed (to NaN or infinity)"
        return None

    def _optimizer_problem(self) -> str | None:
        """Adam's squared-gradient average overflows before the weights do (a gradient of
        2e19 at a step that was not logged); the weights then stop moving and a checkpoint
        of the state is refused, so it counts as a divergence here, as it does there."""
        n = self._nets
        state = [v for opt in (n.opt_g, n.opt_d) for st in opt.state.values()
                 for v in st.values() if torch.is_tensor(v) and v.is_floating_point() and v.dim()]
        if state and not bool(torch.isfinite(torch.stack(
                torch._foreach_norm(state, math.inf))).all()):
            return "the optimizer state became NaN or infinite (gradients too large to square)"
        return None

    def _save_point(self) -> None:
        n = self._nets
        self._ladder.save((n.generator, n.discriminator), (n.opt_g, n.opt_d), step=self.step,
                          rng=self._rng.get_state(), updates=(self.d_updates, self.g_updates),
                          rows=len(self.history))

    def _diverged(self, steps: np.ndarray, vals: np.ndarray, bad: np.ndarray,
                  reason: str = "a weight became NaN or infinite") -> None:
        if bad.any():
            i, j = np.argwhere(bad)[0]
            what = COLUMN_TITLES[STEP_COLUMNS[j]]
            step = int(steps[i])
            reason = f"{what} became {'NaN' if np.isnan(vals[i, j]) else 'infinite'}"
        else:
            step = self.step
        point = self._rollback()
        raise TrainingDiverged(step, reason, point.step)

    def _rollback(self, newest: bool = False) -> Point:
        """Restore a point taken before the blow-up (``newest``: simply the last one)."""
        n = self._nets
        nets, opts = (n.generator, n.discriminator), (n.opt_g, n.opt_d)
        candidates = self._ladder.usable(nets, opts)
        point = candidates[0] if newest else self._ladder.choose(candidates)
        Ladder.restore(point, nets, opts)
        from .optimizers import ensure_state

        ensure_state(n.opt_g)
        ensure_state(n.opt_d)
        self.step = point.step
        self._rng.set_state(point.rng)
        self.d_updates, self.g_updates = point.updates
        self.history.truncate(point.rows)  # rows logged after the point
        # a change applied after the point still holds (the config is not rolled back):
        # from here on it governs training from the point's step
        self.swaps = [(min(step, point.step), text) for step, text in self.swaps]
        self._ladder.forget_after(point.step)
        self._pending.clear()
        self._pending_steps.clear()
        self._since_check = 0
        return point

    def _rollback_quietly(self) -> None:
        try:
            self._rollback(newest=True)
        except Exception:  # the error being raised matters more than a failed cleanup
            pass

    # ------------------------------------------------------------------ swaps
    def apply(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply dotted-key changes mid-run with DESIGN.md's swap meanings (``engine.swaps``).

        Everything new is built before anything is replaced, so a ValueError leaves the
        session exactly as it was. Returns the keys that actually changed; a change that
        took effect is logged in ``swaps`` as ``(step, short text)`` (a new seed restarts
        the run and clears the log).
        """
        from .swaps import apply_changes

        return apply_changes(self, changes)

    def reset(self) -> None:
        """Re-initialise both networks and optimizers from the seed; step, history and the
        swap log restart."""
        self._init(self._cfg)

    # ------------------------------------------------------------------ evaluation
    def sample(self, n: int, seed: int | None = None, labels: Any = None,
               codes: Any = None) -> np.ndarray:
        """``n`` generated samples; reproducible from ``seed`` (default: the config seed and
        step). Images come as (n, C, H, W) in [-1, 1]. A conditional session takes ``labels``
        (one class or one per sample; default: the classes in turn); an InfoGAN generator
        takes ``codes`` the same way (default: the codes in turn, 0, 1, ..., K-1, 0, ...)."""
        self._checked()
        return E.as_numpy(self, lambda: E.sample_tensor(self, n, seed, labels, codes))

    def generate(self, z: np.ndarray, labels: Any = None, codes: Any = None) -> np.ndarray:
        """Samples G(z) for the given noise, shape (n, noise.dim) (and ``labels`` and
        ``codes``, see ``sample``)."""
        dim = self._cfg["noise"]["dim"]
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != dim or len(z) == 0:
            raise ValueError(f"z: expected an array of shape (n, {dim}), got {z.shape}")
        if not np.isfinite(z).all():
            raise ValueError("z: holds NaN or infinite values")
        self._checked()
        y = label_tensor(labels, len(z), self.classes, self.device)
        c = code_tensor(codes, len(z), self.codes, self.device)
        zt = torch.as_tensor(z, device=self.device)
        return E.as_numpy(self, lambda: E.generate_tensor(self, zt, y, c, asked=True))

    def discriminate(self, x: np.ndarray, labels: Any = None) -> np.ndarray:
        """D's raw output (logit for the BCE losses, score otherwise), shape (n,). Points are
        (n, dim), images (n, C, H, W) in [-1, 1]; a conditional D needs ``labels``."""
        shape = self.dataset.data_shape(self._cfg["data"])
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != shape or len(x) == 0:
            raise ValueError(f"x: expected an array of shape (n, {', '.join(map(str, shape))}), "
                             f"got {x.shape}")
        if self.classes and labels is None:
            raise ValueError("labels: a conditional discriminator needs the class of each x")
        self._checked()
        y = label_tensor(labels, len(x), self.classes, self.device)
        xt = torch.as_tensor(x, device=self.device)
        return E.as_numpy(self, lambda: self._nets.discriminator(xt, y)[:, 0].float())

    def mode_stats(self, n: int = 2500) -> ModeStats | None:
        """Mode metrics on ``n`` fresh samples, for data sets made of modes (else None)."""
        return E.session_mode_stats(self, n)

    def divergences(self, n: int = 2500, w1_points: int = 256) -> Divergences:
        """JS/KL (grid histograms over the data box), exact W1 and RBF MMD between ``n`` fresh
        real and generated samples (W1 and MMD on the first ``w1_points``: their cost grows
        fast). The samples come from their own RNG, so measuring never changes training."""
        return E.session_divergences(self, n, w1_points)

    def mutual_info(self, n: int = 2500) -> float | None:
        """InfoGAN's lower bound on I(c; G(z, c)) in nats: log K - E CE(Q(G(z, c)), c) over
        ``n`` fresh fakes, the codes in turn (at most log K); None without a code."""
        self._checked()
        return E.session_mutual_info(self, n)

    def cadence_metrics(self, n: int = 2500) -> dict[str, float]:
        """The slow metrics logged every ``train.metrics_every`` steps."""
        self._checked()
        return E.cadence_metrics(self, n)

    def quality_meter(self) -> Any:
        """The classifier behind FID/IS for this data set (trained once, cached on disk;
        ``on_progress`` hears about the training). None for unlabelled or point data."""
        return self._quality.meter(self)

    def quality_scores(self, n: int = 2500) -> Any:
        """Classifier-based FID and Inception-style score of ``n`` fresh images (with classes
        seen, confident fraction and class imbalance); None where no classifier applies."""
        meter = self.quality_meter()
        if meter is None:
            return None
        self._checked()
        with E.looking(self):  # the fakes stay on the device for the classifier
            fake = E.sample_tensor(self, n, seed_of(self._cfg["seed"], self.step, "quality"), None)
        return meter.scores(fake)

    def snapshot(self, request: ViewRequest | None = None) -> Snapshot:
        """Everything a live view draws, as numpy copies (see ``engine.views``). Costs one G
        pass on the fixed view noise, plus whatever extra the request asks for."""
        from .views import build_snapshot

        self._checked()
        return build_snapshot(self, request or ViewRequest())

    def view_batches(self, n_fake: int, n_real: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed noise and real batches of the live views (drawn once per size)."""
        (z, _), (x, _) = self._views.get(n_fake, n_real)
        return z, x

    def view_batches_labelled(self, n_fake: int, n_real: int) -> Any:
        """As ``view_batches`` with labels (see ``engine.views.ViewBatches``)."""
        return self._views.get(n_fake, n_real)

    # ------------------------------------------------------------------ files
    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: config, networks, optimizers, step, counters,
        history, swap log and RNG state (tensors on the CPU). ``from_state`` rebuilds a
        session."""
        self._checked()
        n = self._nets
        return {
            "config": self.config,
            "generator": {k: v.detach().cpu() for k, v in n.generator.state_dict().items()},
            "discriminator": {k: v.detach().cpu() for k, v in n.discriminator.state_dict().items()},
            "opt_g": n.opt_g.state_dict(),
            "opt_d": n.opt_d.state_dict(),
            "step": self.step,
            "updates": (self.d_updates, self.g_updates),
            "history": self.history.rows,
            "swaps": [list(entry) for entry in self.swaps],
            "rng": self._rng.get_state().cpu(),
            "noise_from": self._noise_from,
            "classes": self.classes,
            "class_names": list(self.class_names) if self.classes else [],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], *, progress: Progress | None = None) -> Session:
        """A session from ``state_dict()`` output. Raises ValueError (one line) when the
        parts do not fit together or hold NaN/inf; the caller names the file."""
        s = cls(state["config"], progress=progress)
        n = s._nets
        for which, net in (("generator", n.generator), ("discriminator", n.discriminator)):
            if which not in state:
                continue
            _finite(state[which], which)
            try:
                net.load_state_dict(state[which])
            except RuntimeError as e:
                first = str(e).splitlines()[0] if str(e) else "mismatch"
                raise ValueError(f"the stored {which} weights do not fit the stored "
                                 f"architecture ({first[:100]})") from None
        from .optimizers import load_checked

        for key, opt in (("opt_g", n.opt_g), ("opt_d", n.opt_d)):
            if key in state:
                entries = state[key].get("state", {}) if isinstance(state[key], dict) else {}
                _finite({k: v for st in entries.values() if isinstance(st, dict)
                         for k, v in st.items() if torch.is_tensor(v)}, "optimizer state")
                load_checked(opt, state[key])
        step = state.get("step", 0)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"the stored step {step!r} is not a step count (a whole number "
                             ">= 0)")
        s.step = step
        updates = state.get("updates", (0, 0))
        counts = list(updates) if isinstance(updates, list | tuple) else []
        if len(counts) != 2 or any(isinstance(u, bool) or not isinstance(u, int) or u < 0
                                   for u in counts):
            raise ValueError(f"the stored update counts {str(updates)[:60]} are not two whole "
                             "numbers >= 0")
        s.d_updates, s.g_updates = counts
        noise_from = state.get("noise_from", 0)
        if isinstance(noise_from, bool) or not isinstance(noise_from, int) or noise_from < 0:
            raise ValueError(f"the stored instance-noise start {noise_from!r} is not a step")
        s._noise_from = noise_from
        if "history" in state:
            s.history.append(state["history"])
        from .swaps import swap_entries

        s.swaps = swap_entries(state.get("swaps", []))  # an older file has none
        if state.get("rng") is not None:
            try:
                s._rng.set_state(state["rng"])
            except (RuntimeError, TypeError, ValueError):  # saved on another device type
                pass
        s._after_change(views=True)
        s._ladder.clear()
        s._save_point()
        return s

    def save(self, path: str) -> None:
        """A session checkpoint: both networks, optimizers, step, history (resumable)."""
        from .checkpoints import save_session

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

        cfg, weights, step = generator_state(path)
        try:
            return cls.from_state({"config": cfg, "generator": weights, "step": step})
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def save_generator(self, path: str) -> None:
        from .checkpoints import save_generator

        save_generator(self, path)

    def summary(self) -> str:
        """One line for status bars and logs: step, device, loss and norms."""
        c = self._cfg
        arch = "/".join(c[w]["arch"].upper() for w in ("generator", "discriminator"))
        return (f"step {self.step} · {self.device.type} · {c['loss']['name']} · {arch} · "
                f"G {c['generator']['norm']} / D {c['discriminator']['norm']}"
                + (" · conditional" if self.classes else "")
                + (" · bf16" if self._steps.autocast else ""))


def _finite(tensors: dict[str, Any], what: str) -> None:
    for name, t in tensors.items():
        if torch.is_tensor(t) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"the stored {what} holds NaN or infinite values ({name}); "
                             "it cannot train")


__all__ = ["Session", "TrainingDiverged", "resolve_device"]

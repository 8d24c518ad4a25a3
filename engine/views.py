"""What the live views draw, computed on request from a session (numpy out, no Qt).

Only what a ``ViewRequest`` asks for is computed: a frame with just samples and the heatmap
costs one G pass and one D pass over the grid; D*, gradient arrows, D's gradient field and
the generator manifold are extra passes a view turns on when it shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from .divergences import cell_dstar, cell_edges, mixture_cell_mass, sample_cell_mass
from .evaluation import as_numpy, eval_mode, generate_tensor
from .seeds import seed_of
from .snapshot import Snapshot, ViewRequest
from .training import noise

MB_CONTEXT = 64  # fakes each grid point is compared with when D has minibatch features
# fixed samples behind D*'s per-cell masses: P_g (and P_data for sets without modes) is the
# share of them in each cell; enough that a 64x64 grid's busy cells hold dozens
DSTAR_SAMPLES = 8192

if TYPE_CHECKING:
    from .session import Session


class ViewBatches:
    """Fixed noise and real batches for live views, drawn once per size from their own
    RNGs, so that views never disturb the training stream and fakes move smoothly between
    frames. A conditional view asks for the classes in rows (fake i has class
    i * K // n_fake); real images come sorted by class, as many of each as the data hold.

    It keeps what it draws from (not the session), so a frame thread may extend it while
    training goes on."""

    def __init__(self, s: Session) -> None:
        self._seed = seed_of(s._cfg["seed"], "view", s.step)
        self._cfg = s._cfg
        self._device = s.device
        self._classes = s.classes
        self._draw = s._steps.draw_real
        self._data_classes = s.dataset.classes(s._cfg["data"]) if s.dataset.is_image else 0
        self._z: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._real: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}

    @property
    def classes(self) -> int:
        """The class count the fake labels were drawn for (0: unconditional)."""
        return self._classes

    def get(self, n_fake: int, n_real: int) -> tuple[tuple[torch.Tensor, torch.Tensor | None],
                                                    tuple[torch.Tensor, torch.Tensor | None]]:
        dev = self._device
        if n_fake not in self._z:
            gen = torch.Generator(dev).manual_seed(seed_of(self._seed, "z", n_fake))
            y = None
            if self._classes:
                y = torch.arange(n_fake, device=dev) * self._classes // max(n_fake, 1)
            self._z[n_fake] = (noise(n_fake, self._cfg, gen, dev), y)
        if n_real not in self._real:
            gen = torch.Generator(dev).manual_seed(seed_of(self._seed, "x", n_real))
            k = self._data_classes
            if k:  # as many of each class as the data hold, in class order
                x, y = self._draw(max(4 * n_real, 64 * k), gen)
                per = n_real // k
                pick = torch.cat([torch.nonzero(y == c)[:per, 0] for c in range(k)])
                rest = torch.ones(len(y), dtype=torch.bool, device=y.device)
                rest[pick] = False
                pick = torch.cat([pick, torch.nonzero(rest)[:n_real - len(pick), 0]])
                order = torch.argsort(y[pick], stable=True)
                x, y = x[pick][order], y[pick][order]
            else:
                x, y = self._draw(n_real, gen)
            self._real[n_real] = (x, y)
        return self._z[n_fake], self._real[n_real]


def _heat_box(req: ViewRequest, box: tuple[float, ...]) -> tuple[float, ...]:
    """The region the window asked the heatmap to cover, if it is a sane one (it comes
    off a socket): finite, not inverted, and not absurdly far from the data."""
    hb = req.heat_box
    if hb is None or len(hb) != 4:
        return box
    try:
        x0, x1, y0, y1 = (float(v) for v in hb)
    except (TypeError, ValueError):
        return box
    span = max(box[1] - box[0], box[3] - box[2], 1e-6)
    ok = all(np.isfinite(v) and abs(v) < 1e6 for v in (x0, x1, y0, y1))
    if not ok or not (x0 < x1 and y0 < y1) or max(x1 - x0, y1 - y0) > 1000 * span:
        return box
    return (x0, x1, y0, y1)


def _grid(box: tuple[float, ...], r: int, dim: int, device: torch.device) -> torch.Tensor:
    xs = torch.linspace(box[0], box[1], r, device=device)
    if dim == 1:
        return xs[:, None]
    ys = torch.linspace(box[2], box[3], r, device=device)
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def _d_in_context(s: Session, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """D (probability for BCE losses) at each point of ``x`` as one more member of a batch
    of the current fakes (see ``MLP.forward_in_context``), in chunks."""
    d = s.discriminator
    size = max(2, s.config["train"]["batch_size"])
    out = torch.cat([d.forward_in_context(xc, context, size)[:, 0]
                     for xc in torch.split(x, 1024)]).float()
    return torch.sigmoid(out) if s.loss.probability else out


def _d_out(s: Session, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """D (probability for BCE losses) at x (with labels y for a conditional D). With
    minibatch features D's output depends on its batch, and their cost grows with its
    square: the input goes through in training-size batches instead of as one huge batch."""
    d = s.discriminator
    if d.minibatch is not None:
        size = max(2, s.config["train"]["batch_size"])
        ys = torch.split(y, size) if y is not None else [None] * -(-len(x) // size)
        out = torch.cat([d(xc, yc)[:, 0] for xc, yc in zip(torch.split(x, size), ys)])
    else:
        out = d(x, y)[:, 0]
    out = out.float()
    return torch.sigmoid(out) if s.loss.probability else out


def _view_codes(s: Session, n: int) -> torch.Tensor | None:
    """InfoGAN: the code of each view fake, the codes in turn (None without a code)."""
    return torch.arange(n, device=s.device) % s.codes if s.codes else None


def _generate_in_batches(s: Session, z: torch.Tensor,
                         c: torch.Tensor | None = None) -> torch.Tensor:
    """G on the view noise (and codes). With batch norm in G a fake depends on its
    batch-mates, so the view draws the fakes in training-size batches: what G makes in
    training, and the reason batch-norm fakes visibly move in groups (the
    batchnorm_generator preset)."""
    if s.config["generator"]["norm"] != "batch":
        return s.generator(z, None, c)
    size = max(2, s.config["train"]["batch_size"])
    cs = torch.split(c, size) if c is not None else [None] * -(-len(z) // size)
    return torch.cat([s.generator(chunk, None, cc) for chunk, cc in zip(torch.split(z, size), cs)])


def _with_grad(s: Session, x: torch.Tensor, fn) -> np.ndarray:
    """d fn(x).sum() / dx in eval mode (spectral norm frozen), weights untouched."""
    with eval_mode(s.generator, s.discriminator), torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad.detach().cpu().numpy().copy()


def _cell_masses(s: Session, box: tuple[float, ...], r: int, dim: int
                 ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """P_data and P_g per grid cell (the cell around each heatmap point), the floor below
    which a data mass counts as none, and the cell's area (length in 1-D).

    P_data is exact for the mixture sets (normal CDF differences) and the share of
    ``DSTAR_SAMPLES`` fixed real samples otherwise; P_g is the share of as many fakes from
    fixed noise, so frames change smoothly as G moves."""
    edges = [cell_edges(box[0], box[1], r)]
    if dim == 2:
        edges.append(cell_edges(box[2], box[3], r))
    area = float(np.prod([e[1] - e[0] for e in edges]))
    modes = s.dataset.modes(s.config["data"])
    n = DSTAR_SAMPLES
    z, real_t = s.view_batches(n, 0 if modes is not None else n)
    fake = as_numpy(s, lambda: _generate_in_batches(s, z))
    p_g = sample_cell_mass(fake, edges)
    if modes is not None:
        p_data = mixture_cell_mass(edges, modes)
    else:
        p_data = sample_cell_mass(real_t.cpu().numpy(), edges)
    return p_data, p_g, 0.5 / n, area


def _batch_mates(s: Session, z: torch.Tensor, k: int) -> np.ndarray:
    """Each of the first ``k`` view noise vectors drawn by G twice, among two different
    sets of batch-mates (fixed, so the picture is steady): with batch norm in G a fake
    depends on the rest of its batch and its two positions differ; with reference or
    virtual norm (or none) they coincide. (k, 2, dim)."""
    size = max(2, s.config["train"]["batch_size"])
    k = max(1, min(k, len(z), size // 2))
    gen = torch.Generator(s.device).manual_seed(seed_of(s.config["seed"], "batch-mates"))
    others = [noise(size - k, s.config, gen, s.device) for _ in range(2)]
    return as_numpy(s, lambda: torch.stack(
        [s.generator(torch.cat([z[:k], o]))[:k] for o in others], 1))


def _manifold(s: Session, m: int) -> np.ndarray:
    cfg = s.config["noise"]
    lim = 1.0 if cfg["dist"] == "uniform" else 2.0
    axis = torch.linspace(-lim, lim, m, device=s.device)
    if cfg["dim"] == 1:
        z = axis[:, None]
        rows, cols = 1, m
    else:
        gx, gy = torch.meshgrid(axis, axis, indexing="ij")
        z = torch.zeros(m * m, cfg["dim"], device=s.device)
        z[:, 0], z[:, 1] = gx.reshape(-1), gy.reshape(-1)
        rows, cols = m, m
    out = as_numpy(s, lambda: s.generator(z))
    return out.reshape(rows, cols, -1)


def _image_snapshot(s: Session, req: ViewRequest) -> Snapshot:
    """Image data: a grid of fakes from fixed noise (the classes in rows when conditional),
    real images (as many of each class), and D on a fixed batch of both: the histograms
    that take the heatmap's place."""
    one_class = s.classes and 0 <= req.only_class < s.classes
    n_images = (req.images if one_class or not (s.classes and req.per_class)
                else s.classes * req.per_class)
    empty = np.empty((0, 2))
    fake_images = labels_fake = real_images = labels_real = d_fake = d_real = None
    codes_fake = None
    if n_images or req.real_images:
        (z, y_fake), (real_t, y_real) = s.view_batches_labelled(n_images, req.real_images)
        if n_images:
            if one_class:  # "show me sevens": the same fixed noise, every label the one asked
                y_fake = torch.full_like(y_fake, req.only_class)
            c = _view_codes(s, n_images)
            codes_fake = c.cpu().numpy() if c is not None else None
            fake_images = as_numpy(s, lambda: generate_tensor(s, z, y_fake, c))
            labels_fake = y_fake.cpu().numpy() if y_fake is not None else None
        if req.real_images:
            real_images = real_t.cpu().numpy().copy()
            labels_real = y_real.cpu().numpy() if y_real is not None else None
    if req.d_histogram:
        k = req.d_histogram
        (z, y_f), (real_t, y_r) = s.view_batches_labelled(k, k)
        if not s.classes:
            y_f = y_r = None
        d_fake = as_numpy(s, lambda: _d_out(s, generate_tensor(s, z, y_f), y_f))  # fakes stay on the device
        d_real = as_numpy(s, lambda: _d_out(s, real_t, y_r))
    return Snapshot(
        step=s.step, fake=empty, real=empty, heatmap=None, box=s.box,
        heatmap_is_probability=s.loss.probability, d_updates=s.d_updates, g_updates=s.g_updates,
        loss_name=s.loss.name, dim=0, d_fake=d_fake, d_real=d_real,
        images_fake=fake_images, images_real=real_images, labels_fake=labels_fake,
        labels_real=labels_real, class_names=s.class_names if s.classes else (),
        codes_fake=codes_fake, codes=s.codes,
    )


def build_snapshot(s: Session, req: ViewRequest) -> Snapshot:
    if s.dataset.is_image:
        return _image_snapshot(s, req)
    box = s.box
    dim = s.dataset.dim
    z, real_t = s.view_batches(req.n_fake, req.n_real)
    fake_t = None
    fake = np.empty((0, dim))
    codes = _view_codes(s, req.n_fake) if req.n_fake else None
    if req.n_fake:
        fake = as_numpy(s, lambda: _generate_in_batches(s, z, codes))
        fake_t = torch.as_tensor(fake, device=s.device)
    real = real_t.cpu().numpy().copy()
    heat = dstar = p_data = p_g = None
    gap = None
    grid_t = None
    heat_box = _heat_box(req, box) if dim == 2 else box
    if req.heatmap or req.dstar:
        grid_t = _grid(heat_box, req.grid, dim, s.device)
        shape = (req.grid,) if dim == 1 else (req.grid, req.grid)
        mb = getattr(s.discriminator, "minibatch", None) is not None
        if mb and fake_t is not None and len(fake_t) > 1 and hasattr(s.discriminator,
                                                                     "forward_in_context"):
            context = fake_t[:MB_CONTEXT]
            heat = as_numpy(s, lambda: _d_in_context(s, grid_t, context)).reshape(shape)
        else:
            heat = as_numpy(s, lambda: _d_out(s, grid_t)).reshape(shape)
        if req.dstar or dim == 1:
            # D* from the probability mass in each cell, not densities at its centre
            mass_data, mass_g, floor, area = _cell_masses(s, heat_box, req.grid, dim)
            cells = cell_dstar(mass_data, mass_g, floor)
            p_data, p_g = cells.p_data / area, cells.p_g / area  # mean density in each cell
            if s.loss.probability:
                dstar = cells.dstar
                gap = cells.gap(heat)
    arrows = None
    if req.arrows and fake_t is not None and len(fake):
        g_loss = s.loss.g_loss
        n = len(fake)
        arrows = -n * _with_grad(s, fake_t, lambda x: g_loss(s.discriminator(x)))
    field = None
    if req.d_field and dim == 2:
        k = req.d_field
        pts = _grid(box, k, 2, s.device)
        field = _with_grad(s, pts, lambda x: _d_out(s, x)).reshape(k, k, 2)
    manifold = _manifold(s, req.manifold) if req.manifold else None
    mates = _batch_mates(s, z, req.batch_mates) if req.batch_mates and req.n_fake else None
    d_fake = None
    if req.d_on_fake and fake_t is not None and len(fake):
        d_fake = as_numpy(s, lambda: _d_out(s, fake_t))
    return Snapshot(
        step=s.step, fake=fake, real=real, heatmap=heat, box=box,
        heat_box=heat_box if heat_box != box else None, batch_mates=mates,
        heatmap_is_probability=s.loss.probability, d_updates=s.d_updates, g_updates=s.g_updates,
        loss_name=s.loss.name, dim=dim, view_z=z.cpu().numpy().copy() if req.n_fake else None,
        dstar=dstar, dstar_gap=gap, p_data=p_data, p_g=p_g, arrows=arrows, d_field=field,
        manifold=manifold, d_fake=d_fake,
        codes_fake=codes.cpu().numpy() if codes is not None else None, codes=s.codes,
    )

"""TensorBoard event files for a run, so researchers can watch it where they watch the rest.

Written with tensorboardX (a small pure-Python writer: protobuf and numpy; torch's own
``torch.utils.tensorboard`` needs the whole ``tensorboard`` package installed to *write*,
which is far heavier). A ``TensorBoardLog`` is a session listener:

* every logged row: each ``metrics.csv`` column as a scalar (``loss/d``, ``quality/fid``…);
* every ``train.metrics_every`` steps (the rows that carry the slow metrics): a picture of
  the samples (an image grid for image data; for points, real and generated samples drawn
  over the data's box);
* at the end: the run's settings as hparams, with its final metrics.

Reading the files back needs no TensorBoard either: ``read_events`` parses them with the
same protobuf messages (tests use it).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .catalogue import CADENCE_COLUMNS, COLUMNS

if TYPE_CHECKING:
    from .session import Session

TAGS = {
    "d_loss": "loss/d", "g_loss": "loss/g", "d_real": "d_output/real", "d_fake": "d_output/fake",
    "g_grad_norm": "grad_norm/g", "d_grad_norm": "grad_norm/d", "modes": "modes/captured",
    "high_quality": "modes/high_quality", "mode_kl": "modes/kl", "js": "divergence/js",
    "kl": "divergence/kl", "w1": "divergence/w1", "mmd": "divergence/mmd",
    "fid": "quality/fid", "inception_score": "quality/inception_score", "kid": "quality/kid",
}
HPARAM_KEYS = ("seed", "data.name", "loss.name", "generator.norm", "discriminator.norm",
               "discriminator.minibatch", "optim.g.name", "optim.g.lr", "optim.d.name",
               "optim.d.lr", "train.batch_size", "train.d_steps", "noise.dim")
PICTURE = 256


def available() -> bool:
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardLog:
    """Writes a session's rows (and pictures) as TensorBoard events into ``logdir``."""

    def __init__(self, session: Session, logdir: str | Path) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ValueError("--tensorboard: tensorboardX is not installed; install it with "
                             "python -m pip install tensorboardX") from None
        self.session = session
        self.logdir = str(logdir)
        try:
            self.writer = SummaryWriter(logdir=self.logdir, flush_secs=5)
        except OSError as e:
            raise ValueError(f"--tensorboard: cannot write in {logdir}: {e.strerror or e}") \
                from None
        self.writer.add_text("config", "```\n" + _config_text(session.config) + "\n```", 0)
        self._cadence = [COLUMNS.index(c) for c in CADENCE_COLUMNS]

    def __call__(self, rows: np.ndarray) -> None:
        for row in rows:
            step = int(row[0])
            for j, column in enumerate(COLUMNS[1:], start=1):
                v = float(row[j])
                if math.isfinite(v):
                    self.writer.add_scalar(TAGS.get(column, column), v, step)
        last = rows[-1] if len(rows) else None
        if last is not None and np.isfinite(last[self._cadence]).any():
            self.picture(int(last[0]))

    def picture(self, step: int) -> None:
        """The samples as a picture (HWC uint8)."""
        s = self.session
        if s.dataset.is_image:
            from .exports import image_grid

            k = s.classes
            x = s.sample(k * 8, labels=np.arange(k * 8) // 8) if k else s.sample(64)
            self.writer.add_image("samples", image_grid(x, cols=8 if k else None), step,
                                  dataformats="HWC")
        elif s.dataset.dim == 2:
            fake = s.sample(1000)
            real = s.snapshot(_real_request()).real
            self.writer.add_image("samples", scatter_picture(real, fake, s.box), step,
                                  dataformats="HWC")

    def close(self, final: dict[str, float] | None = None) -> None:
        """The run's settings as hparams (with its final metrics), then flush and close."""
        from .config import flatten

        flat = flatten(self.session.config)
        hparams = {k: _hparam(flat[k]) for k in HPARAM_KEYS if k in flat}
        metrics = {f"final/{k}": float(v) for k, v in (final or {}).items()
                   if isinstance(v, int | float) and math.isfinite(float(v))}
        if metrics:
            # its own folder: a second writer in the same one, started within the same
            # second, would overwrite the first's event file (same name)
            self.writer.add_hparams(hparams, metrics, name="hparams")
        self.writer.flush()
        self.writer.close()


def _real_request() -> Any:
    from .snapshot import ViewRequest

    return ViewRequest(n_fake=0, n_real=1000, heatmap=False)


def _hparam(v: Any) -> Any:
    return v if isinstance(v, int | float | str | bool) else str(v)


def _config_text(config: dict[str, Any]) -> str:
    import json

    return json.dumps(config, indent=2)[:20_000]


def scatter_picture(real: np.ndarray, fake: np.ndarray, box: tuple[float, ...],
                    size: int = PICTURE) -> np.ndarray:
    """Real (green) and generated (violet) 2-D points over ``box`` on a dark square, as an
    (size, size, 3) uint8 picture, y up. Points outside the box are left out."""
    img = np.full((size, size, 3), (23, 24, 28), dtype=np.uint8)
    for pts, colour in ((fake, (192, 132, 252)), (real, (74, 222, 128))):
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        p = p[np.isfinite(p).all(1)]
        col = ((p[:, 0] - box[0]) / (box[1] - box[0]) * (size - 1)).round().astype(int)
        row = ((box[3] - p[:, 1]) / (box[3] - box[2]) * (size - 1)).round().astype(int)
        ok = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        for dr in (0, 1):
            for dc in (0, 1):
                img[np.clip(row[ok] + dr, 0, size - 1), np.clip(col[ok] + dc, 0, size - 1)] = colour
    return img


def read_events(logdir: str | Path) -> list[Any]:
    """Every event in ``logdir``'s event files (tensorboardX's protobuf ``Event``s)."""
    from tensorboardX.proto import event_pb2

    events = []
    for path in sorted(Path(logdir).glob("**/events.out.tfevents.*")):
        data = path.read_bytes()
        i = 0
        while i + 12 <= len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            start = i + 12
            record = data[start:start + n]
            if len(record) < n:
                break
            ev = event_pb2.Event()
            ev.ParseFromString(record)
            events.append(ev)
            i = start + n + 4
    return events

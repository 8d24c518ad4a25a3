"""TensorBoard event files beside the CSV: every metrics column as scalars, a picture of
the samples at the slow-metrics cadence, and the run's settings as hparams; read back here
without TensorBoard."""

from __future__ import annotations

import builtins
import csv

import numpy as np
import pytest

from engine.headless import run_headless
from engine.tensorboard import TAGS, read_events, scatter_picture


def _scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for ev in read_events(logdir):
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return out


def test_a_headless_run_writes_every_column_as_scalars_with_pictures_and_hparams(
        tmp_path, make_config):
    cfg = make_config({"train.metrics_every": 10, "train.metrics_samples": 200})
    run_headless(cfg, 30, tmp_path / "out", tensorboard=tmp_path / "tb")
    scalars = _scalars(tmp_path / "tb")
    with (tmp_path / "out" / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(scalars[TAGS["d_loss"]]) == len(rows) == 30
    for column, tag in TAGS.items():
        logged = [(int(r["step"]), float(r[column])) for r in rows if r[column] != ""]
        got = sorted(scalars.get(tag, []))
        assert [s for s, _ in got] == [s for s, _ in logged], column
        np.testing.assert_allclose([v for _, v in got], [v for _, v in logged], rtol=1e-6)
    images = [(ev.step, v) for ev in read_events(tmp_path / "tb") for v in ev.summary.value
              if v.HasField("image")]
    assert [s for s, _ in images] == [10, 20, 30]
    assert images[0][1].image.width == images[0][1].image.height == 256
    hparam_tags = {v.tag for ev in read_events(tmp_path / "tb") for v in ev.summary.value}
    assert "_hparams_/experiment" in hparam_tags and "final/d_loss" in hparam_tags


def test_image_runs_log_a_grid_of_samples(tmp_path, make_config):
    cfg = make_config({"data.name": "digits", "data.size": 8, "generator.arch": "dcgan",
                       "discriminator.arch": "dcgan", "generator.width": 4,
                       "discriminator.width": 4, "train.batch_size": 16, "noise.dim": 4,
                       "train.metrics_every": 0})
    from engine import Session
    from engine.tensorboard import TensorBoardLog

    s = Session(cfg)
    log = TensorBoardLog(s, tmp_path / "tb")
    log.picture(0)
    log.close()
    images = [v.image for ev in read_events(tmp_path / "tb") for v in ev.summary.value
              if v.HasField("image")]
    assert len(images) == 1 and images[0].width == 8 * 8 + 9  # 8 columns of 8 px, 1 px gaps


def test_the_scatter_picture_puts_points_where_they_are():
    img = scatter_picture(np.array([[0.9, 0.9]]), np.array([[-0.9, -0.9]]), (-1, 1, -1, 1), 64)
    assert tuple(img[3, 60]) == (74, 222, 128)       # real: top right (y up)
    assert tuple(img[60, 3]) == (192, 132, 252)      # fake: bottom left


def test_without_tensorboardx_the_flag_says_what_to_install(tmp_path, make_config, monkeypatch):
    real_import = builtins.__import__

    def no_tbx(name, *a, **k):
        if name.startswith("tensorboardX"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tbx)
    with pytest.raises(ValueError, match="pip install tensorboardX"):
        run_headless(make_config(), 2, tmp_path / "out", tensorboard=tmp_path / "tb")

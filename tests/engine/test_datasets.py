"""Data sets, their parameters, mode positions, mode metrics and CSV import."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import default_config, with_changes
from engine.datasets import DATASETS, Modes, load_points_csv
from engine.metrics import mode_stats

CONTRACT_2D = {"ring8", "grid25", "spiral", "moons", "circles", "gaussian", "lines"}
POINT_SETS = sorted(n for n, ds in DATASETS.items() if not ds.is_image)  # images: test_images.py


def _defaults(name):
    return {k: p.default for k, p in DATASETS[name].params.items()}


def _sample(name, n=2000, params=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return DATASETS[name].sample(n, params or _defaults(name), gen, torch.device("cpu")).numpy()


def test_the_contract_2d_data_sets_are_all_there():
    assert CONTRACT_2D <= set(DATASETS)


@pytest.mark.parametrize("name", POINT_SETS)
def test_every_data_set_samples_finite_points(name):
    ds = DATASETS[name]
    x = _sample(name, 500)
    assert x.shape == (500, ds.dim)
    assert np.isfinite(x).all()
    assert x.std(0).min() > 0, "all samples identical"
    # reproducible from the generator's seed
    np.testing.assert_array_equal(_sample(name, 500, seed=1), _sample(name, 500, seed=1))
    box = ds.box(_defaults(name))
    assert len(box) == 4 and all(math.isfinite(v) for v in box)
    assert box[0] < box[1] and box[2] < box[3]
    if ds.dim == 2:  # the plotting box holds (nearly) all of the data
        inside = ((x[:, 0] >= box[0]) & (x[:, 0] <= box[1]) & (x[:, 1] >= box[2]) & (x[:, 1] <= box[3]))
        assert inside.mean() > 0.99


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_data_set_has_valid_parameters_and_a_working_config(name):
    for key, p in DATASETS[name].params.items():
        assert p.coerce(f"data.{key}", p.default) == p.default
        assert p.help, f"data.{key} has no help text"
    cfg = with_changes(default_config(), {"data.name": name})
    # the set's own parameters, plus the training settings kept under data. (instance noise)
    assert cfg["data"] == {"name": name, "instance_noise": 0.0, "instance_noise_steps": 0,
                           **_defaults(name)}


@pytest.mark.parametrize("name", POINT_SETS)
def test_every_data_set_trains(make_session, finite, name):
    s = make_session({"data.name": name})
    s.train(2)
    assert finite(s)


def test_ring8_modes_match_the_reference():
    modes = DATASETS["ring8"].modes(_defaults("ring8"))
    ang = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(modes.centers, 2.0 * np.stack([np.cos(ang), np.sin(ang)], 1), atol=1e-12)
    assert modes.std == pytest.approx(0.02)
    x = _sample("ring8", 20000)
    _check_mixture(x, modes)


def test_grid25_modes_match_the_reference():
    modes = DATASETS["grid25"].modes(_defaults("grid25"))
    axis = [-4.0, -2.0, 0.0, 2.0, 4.0]
    want = {(a, b) for a in axis for b in axis}
    assert {tuple(np.round(c, 12)) for c in modes.centers} == want
    assert len(modes.centers) == 25
    assert modes.std == pytest.approx(0.05)
    x = _sample("grid25", 25000)
    _check_mixture(x, modes)


def _check_mixture(x, modes):
    """Samples sit around the centres with the stated std, all modes about equally used."""
    c = modes.centers
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    resid = x - c[nearest]
    assert resid.std() == pytest.approx(modes.std, rel=0.05)
    assert abs(resid.mean()) < 0.1 * modes.std
    counts = np.bincount(nearest, minlength=len(c))
    expected = len(x) / len(c)
    assert counts.min() > 0.8 * expected and counts.max() < 1.2 * expected


def test_lines_are_two_parallel_segments_away_from_the_origin():
    x = _sample("lines", 2000)
    xs = np.unique(np.round(x[:, 0], 6))
    assert len(xs) == 2  # two vertical segments, no jitter by default
    assert abs(xs[1] - xs[0]) > 0.5
    assert (xs > 0.5).all() or (xs < -0.5).all()  # G starts near 0, off the data
    assert x[:, 1].max() - x[:, 1].min() > 1.5  # segments, not points


def test_default_config_is_the_reference_ring():
    data = default_config()["data"]
    assert data["name"] == "ring8"
    assert (data["modes"], data["radius"], data["std"]) == (8, 2.0, 0.02)


# --------------------------------------------------------------------------- mode metrics

def test_mode_stats_on_real_data_captures_every_mode():
    for name in ("ring8", "grid25"):
        modes = DATASETS[name].modes(_defaults(name))
        ms = mode_stats(_sample(name, 5000), modes)
        assert ms.captured == ms.total == len(modes.centers)
        assert ms.high_quality > 0.97  # P(chi2_2 < 9) = 1 - e^-4.5 = 0.989
        assert ms.kl < 0.02


def test_mode_stats_on_a_collapsed_generator_finds_one_mode():
    modes = DATASETS["ring8"].modes(_defaults("ring8"))
    rng = np.random.default_rng(0)
    collapsed = modes.centers[3] + 0.01 * rng.normal(size=(1000, 2))
    ms = mode_stats(collapsed, modes)
    assert ms.captured == 1 and ms.total == 8
    assert ms.high_quality > 0.99
    assert ms.kl == pytest.approx(math.log(8), rel=1e-9)


def test_mode_stats_counts_far_samples_as_low_quality():
    modes = Modes(np.array([[0.0, 0.0], [10.0, 0.0]]), 0.1)
    x = np.array([[0.05, 0.0], [0.0, 0.5], [5.0, 5.0], [10.0, 0.29]])
    ms = mode_stats(x, modes)
    assert ms.high_quality == pytest.approx(0.5)  # 0.5 and 0.29 away: only < 3 std counts
    assert ms.captured == 2
    nothing = mode_stats(np.array([[50.0, 50.0]]), modes)
    assert nothing.captured == 0 and nothing.high_quality == 0.0 and math.isnan(nothing.kl)


def test_session_mode_stats(make_session):
    s = make_session()
    ms = s.mode_stats(500)
    assert ms.total == 8 and 0 <= ms.captured <= 8 and 0.0 <= ms.high_quality <= 1.0
    assert make_session({"data.name": "moons"}).mode_stats(200) is None


def test_mode_metrics_are_logged_every_n_steps(make_session):
    s = make_session({"train.metrics_every": 2, "train.metrics_samples": 200})
    s.train(4)
    modes = s.history["modes"]
    assert np.isnan(modes[0]) and np.isnan(modes[2])
    assert not np.isnan(modes[1]) and not np.isnan(modes[3])
    assert 0 <= modes[3] <= 8


# --------------------------------------------------------------------------- CSV points

def test_load_points_csv_reads_a_file_with_a_header(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("x,y\n1,2\n3.5,-4\n\n-0.25, 1e-3\n")
    assert load_points_csv(str(p)) == [[1.0, 2.0], [3.5, -4.0], [-0.25, 0.001]]


def test_load_points_csv_without_a_header(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("1,2\n3,4\n")
    assert load_points_csv(str(p)) == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("content", [
    "x,y\n1,2\nfoo,bar\n",
    "x,y\n1,2\n3\n",
    "1,nan\n",
    "1,inf\n",
    "",
    "x,y\n",
    "\n\n",
    b"\xff\xfe\x00\x01\x80\x81binary",
])
def test_load_points_csv_rejects_junk(tmp_path, content):
    p = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    with pytest.raises(ValueError):
        load_points_csv(str(p))


@pytest.mark.parametrize("ends", ["\r", "\r\n", "\n"])  # old Mac, Windows, Unix
def test_load_points_csv_reads_every_kind_of_line_end(tmp_path, ends):
    p = tmp_path / "pts.csv"
    p.write_bytes(ends.join(["x,y", "1,2", "3,4", ""]).encode())
    assert load_points_csv(str(p)) == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("content", [b"x" * 200_000 + b"\n1,2\n", b'1,2\n"3,4\n' + b"5" * 140_000],
                         ids=["a long header cell", "a quote left open"])
def test_a_csv_the_csv_module_refuses_is_a_one_line_value_error(tmp_path, content):
    """A cell over the csv module's field limit raised csv.Error, which the window's
    Import points (it catches ValueError) let escape."""
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="bad.csv") as got:
        load_points_csv(str(p))
    assert "\n" not in str(got.value)


def test_load_points_csv_on_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(ValueError):
        load_points_csv(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError):
        load_points_csv(str(tmp_path))


def test_loaded_points_become_a_data_set(tmp_path, make_session):
    p = tmp_path / "pts.csv"
    p.write_text("x,y\n-1,-1\n1,1\n")
    pts = load_points_csv(str(p))
    s = make_session({"data.name": "points", "data.points": pts, "data.std": 0.01})
    real = s.snapshot().real
    d = np.minimum(np.linalg.norm(real - [-1, -1], axis=1), np.linalg.norm(real - [1, 1], axis=1))
    assert d.max() < 0.1
    s.train(2)

"""Image-quality scores from a classifier trained on the data set: statistics, meter, cache."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import quality as q
from engine.quality import (
    FEATURES,
    Classifier,
    QualityMeter,
    Scores,
    default_cache_dir,
    frechet_distance,
    gaussian_fit,
    inception_score,
)

K = 3  # horizontal bar, vertical bar, blank


def bars(n: int, seed: int, classes: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 images in [-1, 1]: class 0 a horizontal bar, 1 a vertical bar, 2 blank; with noise."""
    g = torch.Generator().manual_seed(seed)
    pool = torch.tensor(classes if classes is not None else list(range(K)))
    labels = pool[torch.arange(n) % len(pool)]
    labels = labels[torch.randperm(n, generator=g)]
    x = torch.full((n, 1, 8, 8), -1.0)
    pos = torch.randint(1, 7, (n,), generator=g)
    for i in range(n):
        if labels[i] == 0:
            x[i, 0, pos[i], :] = 1.0
        elif labels[i] == 1:
            x[i, 0, :, pos[i]] = 1.0
    x = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return x, labels.long()


class Counter:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, frac: float, msg: str) -> None:
        self.calls.append((frac, msg))


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch, tmp_path):
    """Each test starts with an empty in-process cache and a private cache folder."""
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path / "cache"))
    q.clear_memory_cache()
    yield
    q.clear_memory_cache()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> QualityMeter:
    x, y = bars(300, seed=0)
    return QualityMeter.for_data("bars|n=300", x, y, K, cache_dir=tmp_path_factory.mktemp("q"))


# --- statistics -------------------------------------------------------------------------------


def test_frechet_identical_stats_is_zero():
    rng = np.random.default_rng(0)
    mu, cov = gaussian_fit(rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8)))
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)


def test_frechet_diagonal_closed_form_symmetric_non_negative():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 3.0, 5), rng.uniform(0.1, 3.0, 5)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    d12 = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    d21 = frechet_distance(mu2, np.diag(s2), mu1, np.diag(s1))
    assert d12 == pytest.approx(want, rel=1e-9)
    assert d21 == pytest.approx(d12, rel=1e-9)
    # one dimension, plain scalars
    assert frechet_distance(0.0, 4.0, 1.0, 1.0) == pytest.approx(1.0 + 1.0)
    # full covariances, including singular ones (fewer samples than dimensions)
    for n in (3, 50):
        a, b = gaussian_fit(rng.normal(size=(n, 10))), gaussian_fit(rng.normal(size=(n, 10)) + 1)
        d_ab, d_ba = frechet_distance(*a, *b), frechet_distance(*b, *a)
        assert np.isfinite(d_ab) and d_ab >= 0
        assert d_ab == pytest.approx(d_ba, rel=1e-4, abs=1e-6)


def test_frechet_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


def test_gaussian_fit_rows_are_samples():
    f = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    mu, cov = gaussian_fit(f)
    np.testing.assert_allclose(mu, [2.0, 1.0])
    np.testing.assert_allclose(cov, [[4.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError):
        gaussian_fit(np.zeros((1, 4)))


def test_inception_score_limits():
    k = 7
    assert inception_score(np.eye(k)[np.arange(70) % k]) == pytest.approx(k)
    assert inception_score(np.tile(np.eye(k)[2], (50, 1))) == pytest.approx(1.0)
    assert inception_score(np.full((40, k), 1.0 / k)) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(k), size=100)
    assert 1.0 <= inception_score(p) <= k


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("GAN_PLAYGROUND_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "gan-playground"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "gan-playground"


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_classifier_shapes(size):
    net = Classifier(3, size, 5)
    x = torch.rand(4, 3, size, size) * 2 - 1
    assert net.features(x).shape == (4, FEATURES)
    assert net(x).shape == (4, 5)


# --- the meter --------------------------------------------------------------------------------


def test_meter_learns_a_separable_set(trained):
    assert trained.classes == K
    assert trained.accuracy > 0.9
    x, y = bars(150, seed=5)
    p = trained.predict_proba(x)
    assert p.shape == (150, K)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert (p.argmax(1) == y.numpy()).mean() > 0.9


def test_scores_see_missing_modes_and_noise(trained):
    balanced = trained.scores(bars(300, seed=7)[0])
    only0 = trained.scores(bars(300, seed=8, classes=[0])[0])
    noise = trained.scores(torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(9)) * 2 - 1)
    real = trained.real_scores()
    assert isinstance(balanced, Scores)
    assert balanced.classes_seen == K
    assert balanced.inception == pytest.approx(K, abs=0.3)
    assert balanced.class_kl < 0.05
    assert balanced.confident > 0.9
    assert only0.classes_seen == 1
    assert only0.class_kl == pytest.approx(np.log(K), abs=0.05)
    assert only0.inception < 1.2
    assert only0.fid > 5 * balanced.fid
    assert real.fid < 0.2 * noise.fid
    assert real.classes_seen == K and real.inception > K - 0.5
    assert trained.real_scores() is real  # computed once


def test_scores_reject_wrong_shapes(trained):
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        trained.scores(torch.zeros(10, 1, 16, 16))
    with pytest.raises(ValueError, match="at least 2"):
        trained.scores(torch.zeros(1, 1, 8, 8))


@pytest.fixture
def quick(monkeypatch):
    """Cache tests need a classifier, not a good one: train for a few steps only."""
    monkeypatch.setattr(q, "MIN_STEPS", 5)
    monkeypatch.setattr(q, "BASE_EPOCHS", 3)


def _tmp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".tmp")]


def test_cache_roundtrip_and_retrain(tmp_path, quick):
    cache = tmp_path / "cache"
    x, y = bars(200, seed=1)
    probe = bars(60, seed=2)[0]

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = Counter()
    m1 = QualityMeter.for_data("bars", x, y, K, progress=first)  # cache dir from the env
    assert torch.equal(torch.rand(3), expected), "training must not move the caller's RNG"

    fracs = [f for f, _ in first.calls]
    assert len(fracs) >= 4 and fracs[-1] == 1.0 and fracs == sorted(fracs)
    assert all(0.0 <= f <= 1.0 for f in fracs)
    assert any("epoch" in msg for _, msg in first.calls)
    assert m1.path is not None and m1.path.parent == cache and m1.path.is_file()
    assert m1.path.name.startswith("classifier-") and m1.path.suffix == ".safetensors"
    assert not _tmp_files(cache)

    # same process: the very same meter, instantly
    assert QualityMeter.for_data("bars", x, y, K) is m1

    # a new process (memory cleared): loaded from disk, no training, same predictions
    q.clear_memory_cache()
    second = Counter()
    m2 = QualityMeter.for_data("bars", x, y, K, progress=second)
    assert m2 is not m1 and not second.calls
    assert m2.accuracy == m1.accuracy
    np.testing.assert_array_equal(m2.predict_proba(probe), m1.predict_proba(probe))
    assert m2.real_scores() == m1.real_scores()
    assert m2.holdout == m1.holdout == 20

    # other images under the same key: a different file, trained anew
    x2 = x.clone()
    x2[:, :, 0, 0] = -x2[:, :, 0, 0]
    third = Counter()
    m3 = QualityMeter.for_data("bars", x2, y, K, progress=third)
    assert third.calls and m3.path != m1.path and m1.path.is_file() and m3.path.is_file()

    # the same images with another seed: another classifier too
    fourth = Counter()
    assert QualityMeter.for_data("bars", x, y, K, progress=fourth, seed=1).path != m1.path
    assert fourth.calls
    assert not _tmp_files(cache)


def test_corrupt_or_stale_cache_is_trained_over(tmp_path, monkeypatch, quick):
    x, y = bars(200, seed=3)
    m1 = QualityMeter.for_data("bars", x, y, K, cache_dir=tmp_path)
    path = m1.path
    probe = bars(40, seed=4)[0]

    path.write_bytes(np.random.default_rng(0).bytes(5000))
    q.clear_memory_cache()
    calls = Counter()
    m2 = QualityMeter.for_data("bars", x, y, K, cache_dir=tmp_path, progress=calls)
    assert calls.calls and m2.path == path
    # deterministic from the seed: the retrained classifier is the same one
    np.testing.assert_allclose(m2.predict_proba(probe), m1.predict_proba(probe), atol=1e-6)

    q.clear_memory_cache()
    quiet = Counter()
    QualityMeter.for_data("bars", x, y, K, cache_dir=tmp_path, progress=quiet)
    assert not quiet.calls, "the rewritten file is valid"

    # a file from an older classifier version is stale
    monkeypatch.setattr(q, "CLASSIFIER_VERSION", q.CLASSIFIER_VERSION + 1)
    q.clear_memory_cache()
    stale = Counter()
    QualityMeter.for_data("bars", x, y, K, cache_dir=tmp_path, progress=stale)
    assert stale.calls

    path.write_bytes(b"")  # empty
    q.clear_memory_cache()
    empty = Counter()
    QualityMeter.for_data("bars", x, y, K, cache_dir=tmp_path, progress=empty)
    assert empty.calls and not _tmp_files(tmp_path)


def test_unlabelled_or_tiny_sets_are_refused(tmp_path):
    x, y = bars(60, seed=0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        QualityMeter.for_data("one", x, torch.zeros(60, dtype=torch.long), 1, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="at least 2 distinct labels"):
        QualityMeter.for_data("same", x, torch.zeros(60, dtype=torch.long), K, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="at least 20 images"):
        QualityMeter.for_data("tiny", x[:10], y[:10], K, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        QualityMeter.for_data("range", x, y + 5, K, cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_sklearn_digits_accuracy(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x8 = torch.from_numpy(d.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    y = torch.from_numpy(d.target).long()
    for size, x in ((8, x8), (16, x8.repeat_interleave(2, 2).repeat_interleave(2, 3))):
        t0 = time.perf_counter()
        m = QualityMeter.for_data(f"digits|size={size}", x, y, 10, cache_dir=tmp_path)
        dt = time.perf_counter() - t0
        real = m.real_scores()
        print(f"\ndigits {size}x{size}: held-out accuracy {m.accuracy:.3f}, trained in {dt:.2f}s "
              f"({torch.get_num_threads()} threads); real IS {real.inception:.2f}, "
              f"FID {real.fid:.2f}")
        assert m.accuracy > 0.95
        assert real.classes_seen == 10 and real.inception > 8

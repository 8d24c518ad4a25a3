"""The image presets do what their descriptions say, headless, on fixed seeds: DCGAN on the
digits improves FID/IS quickly and covers every class; the conditional one draws the class
it is asked for. ``pytest -s`` prints the measured figures."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from engine import Session


def report(text: str) -> None:
    print(f"\n    {text}", end="")


@pytest.fixture(scope="module", autouse=True)
def classifier_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One quality classifier for the module (trained once, as the app does), never in the
    user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path_factory.mktemp("classifiers")))
    yield
    mp.undo()


def test_dcgan_digits_gets_better_and_covers_every_digit(session_of):
    s: Session = session_of("dcgan_digits", {"train.metrics_every": 0})
    start = s.quality_scores(1000)
    s.train(600)
    end = s.quality_scores(1000)
    report(f"dcgan_digits FID {start.fid:.1f} -> {end.fid:.1f} at step 600, IS "
           f"{start.inception:.2f} -> {end.inception:.2f}, classes seen {end.classes_seen}")
    assert end.fid < 0.4 * start.fid
    assert end.inception > start.inception + 1.0
    assert end.classes_seen == 10  # no mode collapse onto a few digits
    x = s.sample(16)
    assert x.shape == (16, 1, 16, 16) and x.min() >= -1 and x.max() <= 1


def test_dcgan_digits_conditional_draws_the_digit_asked_for(session_of):
    s: Session = session_of("dcgan_digits_conditional", {"train.metrics_every": 0})
    s.train(1000)
    meter = s.quality_meter()
    hits = []
    for k in range(10):
        x = s.sample(50, labels=k)
        pred = meter.predict_proba(torch.as_tensor(x)).argmax(1)
        hits.append(float(np.mean(pred == k)))
    q = s.quality_scores(1000)
    report(f"dcgan_digits_conditional at step 1000: requested class seen in "
           f"{100 * np.mean(hits):.0f}% (worst digit {100 * min(hits):.0f}%); FID {q.fid:.1f}, "
           f"IS {q.inception:.2f}")
    assert np.mean(hits) > 0.8
    assert min(hits) > 0.5

"""The default preset must learn: a new user's first run has to work."""

import pytest
import torch

from engine import Session, load_preset


@pytest.mark.slow
def test_ring8_default_captures_the_modes_with_mostly_high_quality_samples():
    """ring8 as shipped (non-saturating, [128, 128] MLPs, Adam 2e-4, batch 256), seed 0:
    measured 8/8 modes from step 1500 and 62% high quality at step 5000 (seed 1: 72%)."""
    torch.set_num_threads(1)
    s = Session(load_preset("ring8"))
    s.train(5000)
    stats = s.mode_stats(2500)
    assert stats.captured >= 7
    assert stats.high_quality > 0.5

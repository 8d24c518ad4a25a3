"""The Divergences tab's header: each estimate to its digits, and an estimate that rounds
to zero from below (the unbiased MMD² near a match) read as 0, never as -0.000."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics import COLUMNS

NBSP = "\u00a0"


@pytest.mark.parametrize("mmd, shown", [(-0.0003, "0.000"), (-0.02, "-0.020"),
                                        (0.0004, "0.000"), (0.1234, "0.123")])
def test_the_header_shows_each_estimate_and_no_negative_zero(qtbot, mmd, shown):
    from gui.insight.divergence_view import DivergenceView

    view = DivergenceView()
    qtbot.addWidget(view)
    row = np.full((1, len(COLUMNS)), np.nan)
    row[0, 0] = 500
    row[0, COLUMNS.index("js")] = -1e-9   # a float's rounding below an exact 0
    row[0, COLUMNS.index("kl")] = 0.456
    row[0, COLUMNS.index("mmd")] = mmd
    view.add_rows(row)
    view.refresh(force=True)
    text = view.readout.text()
    assert f"MMD²{NBSP}{shown}" in text
    assert f"JS{NBSP}0.000" in text and f"KL{NBSP}0.46" in text
    assert "-0.000" not in text

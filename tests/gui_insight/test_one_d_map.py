"""The 1-D view's inverse-transform overlay (issue 14): G(z) against the ideal map
T(z) = F_data⁻¹(F_z(z)), and p_g by the change of variables.

Driven with hand-built frames; every expected value is computed here from scipy's normal
distribution (the mixture's CDF inverted by brentq), not by ``engine.transport_map``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from engine.config import default_config, with_changes
from engine.snapshot import Snapshot

GRID = 160


def config(**changes: Any) -> dict[str, Any]:
    return with_changes(default_config(), {"data.name": "mixture1d", "noise.dim": 1,
                                           **changes})


def centers_of(cfg: dict[str, Any]) -> np.ndarray:
    d = cfg["data"]
    k = d["modes"]
    return d["offset"] + d["spacing"] * (np.arange(k) - (k - 1) / 2)


def box_of(cfg: dict[str, Any]) -> tuple[float, float, float, float]:
    c, pad = centers_of(cfg), 4 * cfg["data"]["std"] + 1.0
    return (min(c.min() - pad, -1.0), max(c.max() + pad, 1.0), 0.0, 1.0)


def mixture_pdf(x: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    s = cfg["data"]["std"]
    return norm.pdf((np.asarray(x)[:, None] - centers_of(cfg)) / s).mean(axis=1) / s


def ideal(z: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """F_data⁻¹(Φ(z)) by bracketing root finding on the mixture's CDF."""
    c, s = centers_of(cfg), cfg["data"]["std"]

    def excess(x: float, u: float) -> float:
        return float(norm.cdf((x - c) / s).mean()) - u

    lo, hi = c.min() - 40 * s, c.max() + 40 * s
    return np.array([brentq(excess, lo, hi, args=(float(norm.cdf(v)),), xtol=1e-12)
                     for v in np.ravel(z)])


def frame(z: np.ndarray, fake: np.ndarray, cfg: dict[str, Any]) -> Snapshot:
    box = box_of(cfg)
    x = np.linspace(box[0], box[1], GRID)
    p = mixture_pdf(x, cfg)
    return Snapshot(step=10, fake=np.asarray(fake, np.float32).reshape(-1, 1),
                    real=np.zeros((4, 1)), heatmap=np.full(GRID, 0.5), box=box,
                    heatmap_is_probability=True, dim=1, view_z=z.reshape(-1, 1),
                    dstar=np.full(GRID, 0.5), p_data=p, p_g=p, loss_name="non-saturating")


@pytest.fixture
def view(qtbot: Any) -> Any:
    from gui.insight.one_d_view import OneDView

    v = OneDView()
    qtbot.addWidget(v)
    v.resize(420, 650)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def noise() -> np.ndarray:
    return np.random.default_rng(3).normal(size=300)   # unsorted, as the engine's fixed noise


def test_a_generator_equal_to_the_ideal_map_lies_on_it_with_zero_gap(view, noise):
    cfg = config()
    view.set_config(cfg)
    t = ideal(noise, cfg)
    view.show_snapshot(frame(noise, t, cfg))
    zs = np.sort(noise)
    gx, gy = view.g_curve.getData()
    tx, ty = view.t_curve.getData()
    np.testing.assert_allclose(gx, zs)
    np.testing.assert_allclose(tx, zs)
    np.testing.assert_allclose(ty, ideal(zs, cfg), atol=1e-6)       # T itself
    np.testing.assert_allclose(ty, gy, atol=1e-5)                    # G lies on it
    np.testing.assert_allclose(view.t_mirror.getData()[1], ideal(-zs, cfg), atol=1e-6)
    assert view.gap_value is not None and view.gap_value < 1e-5
    assert "T(z)" in view.gap_text.toPlainText()
    assert view.gap_text.toPlainText() in view.map_item.titleLabel.text
    # G is the ideal map, so the change of variables gives back the data's density (to the
    # finite differences' accuracy), on the same scale as p_data
    assert not view.cov_note.isVisible()
    x, y = view.p_g_cov.getData()
    assert len(x) > 50
    scale = 0.9 / mixture_pdf(np.linspace(*box_of(cfg)[:2], GRID), cfg).max()
    inner = slice(5, -5)   # atol: in the trough between the modes T is steep
    np.testing.assert_allclose(y[inner], scale * mixture_pdf(x, cfg)[inner], rtol=0.1,
                               atol=0.04)


def test_a_wrong_generator_has_a_gap_and_the_box_hides_the_ideal_curves(view, noise):
    cfg = config()
    view.set_config(cfg)
    zs = np.sort(noise)
    view.show_snapshot(frame(noise, noise + 1.0, cfg))
    t = ideal(zs, cfg)
    weights = norm.pdf(zs) * np.gradient(zs)
    expected = np.sum(weights * np.abs(zs + 1.0 - t)) / np.sum(weights)
    assert view.gap_value == pytest.approx(expected, rel=0.05)
    view.ideal_box.setChecked(False)
    assert len(view.t_curve.getData()[0] or []) == 0 and view.gap_text.toPlainText() == ""
    assert len(view.g_curve.getData()[0]) == len(zs)                  # G stays
    view.ideal_box.setChecked(True)
    np.testing.assert_allclose(view.t_curve.getData()[1], t, atol=1e-6)


def test_a_non_monotone_generator_gets_a_note_and_no_change_of_variables(view, noise):
    cfg = config()
    view.set_config(cfg)
    view.show_snapshot(frame(noise, noise ** 2 - 1.0, cfg))
    assert view.cov_note.isVisible()
    assert "not monotone" in view.cov_note.toPlainText()
    assert len(view.p_g_cov.getData()[0] or []) == 0
    view.show_snapshot(frame(noise, -2.0 * noise, cfg))   # decreasing is one-to-one too
    assert not view.cov_note.isVisible()
    x, y = view.p_g_cov.getData()
    scale = 0.9 / mixture_pdf(np.linspace(*box_of(cfg)[:2], GRID), cfg).max()
    np.testing.assert_allclose(y, scale * norm.pdf(x / 2.0) / 2.0, rtol=0.02, atol=1e-3)


def test_changing_the_data_changes_the_ideal_curve_and_leaves_nothing_stale(view, noise):
    cfg = config()
    view.set_config(cfg)
    view.show_snapshot(frame(noise, noise, cfg))
    zs = np.sort(noise)
    before = view.t_curve.getData()[1].copy()
    # three modes 2 apart around 1: the same box, another mixture; redrawn at once
    three = config(**{"data.modes": 3, "data.spacing": 2.0})
    assert box_of(three) == box_of(cfg)
    view.set_config(three)
    after = view.t_curve.getData()[1]
    np.testing.assert_allclose(after, ideal(zs, three), atol=1e-6)
    assert np.abs(after - before).max() > 0.5
    # a data change that moves the box: the last frame belongs to the old data, so no
    # overlay is computed from the new one until a frame of it arrives
    wide = config(**{"data.std": 1.0})
    view.set_config(wide)
    assert not view.map_shown and view.gap_value is None
    assert len(view.t_curve.getData()[0] or []) == 0
    assert len(view.p_g_cov.getData()[0] or []) == 0
    view.show_snapshot(frame(noise, noise, wide))
    np.testing.assert_allclose(view.t_curve.getData()[1], ideal(zs, wide), atol=1e-6)
    # noise with two dimensions, then 2-D data: nothing of the overlay remains
    view.set_config(config(**{"data.std": 1.0, "noise.dim": 2}))
    assert not view.map_shown and view.map_plot.isHidden()
    assert "noise dimension 1" in view.map_note.text()
    assert len(view.g_curve.getData()[0] or []) == 0
    view.set_config(wide)
    assert view.map_shown
    view.set_config(with_changes(default_config(), {"data.name": "ring8"}))
    assert not view.map_shown and len(view.t_curve.getData()[0] or []) == 0
    assert not view.cov_note.isVisible()


def test_the_paper_picture_keeps_its_colours_in_the_dark_theme_and_zooms(view, tmp_path):
    """The appearance manager painted the 1-D plots dark, with their dark titles and legend
    text on top: unreadable. The paper's plots now keep their colours; zoom still applies."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui import appearance as A

    app = QApplication.instance()
    font, palette = app.font(), app.palette()
    look = A.Appearance(QSettings(str(tmp_path / "look.ini"), QSettings.Format.IniFormat))
    axis = view.map_item.getAxis("bottom")
    tick = axis.style["tickFont"].pointSizeF() if axis.style["tickFont"] else None
    try:
        look.theme, look.zoom = "dark", 1.5
        look.apply(view)
        for plot in (view.plot, view.map_plot):
            assert plot.backgroundBrush().color().name() == "#ffffff"
        assert axis.pen().color().name() == "#374151"
        if tick:
            assert axis.style["tickFont"].pointSizeF() == pytest.approx(1.5 * tick, rel=0.05)
    finally:
        app.setFont(font)
        app.setPalette(palette)

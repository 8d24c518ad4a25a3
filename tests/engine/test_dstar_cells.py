"""D* from the probability mass per grid cell (issue #12, item 16).

On the default preset (ring8, std 0.02) the modes are far narrower than a cell of a 64x64
grid over the ring's box (spacing ~0.1): densities at the cell centres miss them and D*
read ~0 everywhere. The data's mass in a cell is exact for the Gaussian mixtures, and
P_g(cell) is the share of G's samples in it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from engine import Session, ViewRequest
from engine.config import default_config, with_changes
from engine.datasets import Modes
from engine.dataspecs import ring_centers
from engine.divergences import (
    cell_dstar,
    cell_edges,
    mixture_cell_mass,
    mixture_density,
    normal_interval,
    sample_cell_mass,
)

TINY = {"device": "cpu", "generator.hidden": [32, 32], "discriminator.hidden": [32, 32],
        "train.batch_size": 64, "train.metrics_every": 0}


def test_cell_edges_centre_each_cell_on_its_grid_point():
    edges = cell_edges(-3.0, 3.0, 7)
    assert len(edges) == 8
    np.testing.assert_allclose((edges[:-1] + edges[1:]) / 2, np.linspace(-3, 3, 7))


def test_normal_interval_is_accurate_in_both_tails():
    assert normal_interval(np.array(-np.inf), np.array(np.inf)) == pytest.approx(1.0)
    far = normal_interval(np.array(9.0), np.array(10.0))  # 1 - Φ would cancel to 0 here
    assert far == pytest.approx(1.1285884059538e-19, rel=1e-6)
    assert normal_interval(np.array(-10.0), np.array(-9.0)) == pytest.approx(far, rel=1e-9)


def test_mixture_cell_mass_matches_numerical_integration_in_2d():
    """Independent check: integrate the closed-form density over single cells with scipy's
    adaptive quadrature (near a narrow mode, in its tail, and far away)."""
    modes = Modes(np.array([[2.0, 0.0], [-1.0, 1.5]]), 0.02)
    ex, ey = cell_edges(-3.06, 3.06, 64), cell_edges(-3.06, 3.06, 64)
    mass = mixture_cell_mass([ex, ey], modes)
    assert mass.shape == (64, 64)
    assert mass.sum() == pytest.approx(1.0, abs=1e-9)  # both modes lie well inside the grid

    def density(y: float, x: float) -> float:
        return float(mixture_density(np.array([[x, y]]), modes)[0])

    i0 = int(np.searchsorted(ex, 2.0) - 1)
    j0 = int(np.searchsorted(ey, 0.0) - 1)
    cells = [(i0, j0), (i0 + 1, j0), (i0, j0 - 1), (i0 - 1, j0 + 1), (10, 50)]
    for i, j in cells:
        got = mass[i, j]
        ref, err = integrate.dblquad(density, ex[i], ex[i + 1], ey[j], ey[j + 1],
                                     epsabs=1e-14, epsrel=1e-10)
        assert got == pytest.approx(ref, rel=1e-6, abs=1e-13), (i, j, got, ref, err)
    assert mass[i0, j0] > 0.2  # most of one mode's 1/2 share sits in its cell


def test_mixture_cell_mass_matches_numerical_integration_in_1d():
    modes = Modes(np.array([[-1.0], [3.0]]), 0.5)
    edges = cell_edges(-4.0, 6.0, 41)
    mass = mixture_cell_mass([edges], modes)
    for i in (0, 5, 12, 20, 33, 40):
        ref, _ = integrate.quad(lambda x: float(mixture_density(np.array([[x]]), modes)[0]),
                                edges[i], edges[i + 1], epsabs=1e-14, epsrel=1e-12)
        assert mass[i] == pytest.approx(ref, rel=1e-8, abs=1e-14)


def test_sample_cell_mass_is_the_share_of_the_samples():
    edges = [cell_edges(0.0, 1.0, 2), cell_edges(0.0, 1.0, 2)]  # cells around 0 and 1
    pts = np.array([[0.1, 0.1], [0.2, -0.1], [0.9, 0.1], [5.0, 5.0]])  # the last: outside
    mass = sample_cell_mass(pts, edges)
    np.testing.assert_allclose(mass, [[0.5, 0.0], [0.25, 0.0]])


def test_dstar_is_a_half_where_g_matches_the_data_and_undefined_cells_read_a_half():
    """G = the data (samples of the same mixture): the share estimate is unbiased, so D* is
    ~0.5 where the mass is (a kernel estimate of p_g, smoothed far wider than a 0.02 mode,
    would put D* near 1 there). A cell with only a tail of data mass below half a sample's
    share and no sample is undefined, drawn at 0.5, not 1."""
    rng = np.random.default_rng(0)
    modes = Modes(ring_centers({"modes": 8, "radius": 2.0}), 0.02)
    edges = [cell_edges(-3.06, 3.06, 64)] * 2
    n = 8192
    fakes = modes.centers[rng.integers(0, 8, n)] + 0.02 * rng.standard_normal((n, 2))
    cells = cell_dstar(mixture_cell_mass(edges, modes), sample_cell_mass(fakes, edges),
                       floor=0.5 / n)
    w = cells.p_data + cells.p_g
    assert (np.abs(cells.dstar - 0.5) * w).sum() / w.sum() < 0.08
    undefined = (cells.p_data == 0) & (cells.p_g == 0)
    assert undefined.sum() > 3000 and np.all(cells.dstar[undefined] == 0.5)


# the region the window's plane asks the heatmap (and D*) to cover at 1280x720: its
# visible range, snapped to a sixteenth of the data box (gui/views/plane.py)
PLANE_BOX = (-3.4425, 3.4425, -4.9725, 4.9725)


@pytest.mark.parametrize("heat_box", [None, PLANE_BOX], ids=["data box", "plane's box"])
def test_ring8_default_std_on_a_64_grid_has_dstar_near_one_on_the_modes(heat_box):
    """The default preset's data (ring8, std 0.02) on the default 64x64 grid, G spread out
    but not yet on the ring: D* is ~1 in the cell holding each mode, ~0 where only fakes
    are, and the gap between the trained D and D* is neither ~0 nor ~1. (Densities at the
    cell centres gave D* ~0 at every mode the grid points missed by a few std, i.e. over
    most of the plane the window shows, and ~1 on wide halos where G's kernel estimate
    underflowed.)"""
    s = Session(with_changes(default_config(), TINY))
    assert s.config["data"]["name"] == "ring8" and s.config["data"]["std"] == 0.02
    s.train(300)
    snap = s.snapshot(ViewRequest(grid=64, dstar=True, heat_box=heat_box))
    box = heat_box or snap.box
    ex, ey = cell_edges(box[0], box[1], 64), cell_edges(box[2], box[3], 64)
    at_modes = [snap.dstar[np.searchsorted(ex, cx) - 1, np.searchsorted(ey, cy) - 1]
                for cx, cy in ring_centers(s.config["data"])]
    assert min(at_modes) > 0.9, np.round(at_modes, 2)
    mass = snap.p_data / snap.p_data.sum()
    assert mass[snap.dstar > 0.9].sum() > 0.95  # nearly all the data's mass reads D* ~ 1
    assert (snap.dstar > 0.9).sum() <= 9 * 8    # ... in the few cells around the modes
    assert (snap.dstar < 0.1).sum() > 100       # where only fakes are, D* ~ 0
    assert 0.1 < snap.dstar_gap < 0.9


def test_dstar_gap_follows_the_heatmap_grid_and_its_box():
    s = Session(with_changes(default_config(), TINY))
    snap = s.snapshot(ViewRequest(grid=32, dstar=True, heat_box=(-4.0, 4.0, -6.0, 6.0)))
    assert snap.heat_box == (-4.0, 4.0, -6.0, 6.0)
    assert snap.dstar.shape == snap.heatmap.shape == snap.p_data.shape == (32, 32)
    cell = (8.0 / 31) * (12.0 / 31)
    # densities per cell (masses below half a sample's share count as none: a little is lost)
    assert (snap.p_data * cell).sum() == pytest.approx(1.0, abs=1e-3)
    assert (snap.p_g * cell).sum() == pytest.approx(1.0, abs=0.01)

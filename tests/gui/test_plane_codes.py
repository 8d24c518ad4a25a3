"""InfoGAN on the plane (issue 14): each fake in the colour of its code, the legend says so,
and a run without codes is drawn in one colour again."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from engine.snapshot import Snapshot

BOX = (-3.0, 3.0, -3.0, 3.0)


def frame(step: int, k: int = 0, n: int = 64) -> Snapshot:
    rng = np.random.default_rng(step)
    fake = rng.uniform(-2, 2, (n, 2))
    codes = (np.arange(n) % k) if k else None
    return Snapshot(step=step, fake=fake, real=rng.uniform(-2, 2, (n, 2)), heatmap=None,
                    box=BOX, heatmap_is_probability=True, loss_name="non-saturating",
                    codes_fake=codes, codes=k)


@pytest.fixture
def window(qtbot: Any, tmp_path: Any) -> Any:
    """The main window, its engine not started: frames are fed to its link by hand."""
    from engine.presets import load_preset
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "win.ini"), QSettings.Format.IniFormat)
    w = MainWindow(load_preset("ring8"), "ring8", settings=settings, start=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def legend_texts(plane: Any) -> list[str]:
    return [label.text for _, label in plane.legend.items]


def test_fakes_take_the_colour_of_their_code_and_the_legend_says_so(window: Any) -> None:
    plane = window.plane
    snap = frame(1, k=8)
    window.link.snapshot_ready.emit(snap)
    clouds = plane.codes.clouds
    assert len(clouds) == 8 and plane.fake.count == 0
    assert len({c._color for c in clouds}) == 8  # eight different colours
    for i, cloud in enumerate(clouds):
        np.testing.assert_allclose(cloud._pos, snap.fake[snap.codes_fake == i])
    assert any("code" in t for t in legend_texts(plane))
    plane.toggle_layer("fake")  # hiding the generated layer hides every code's cloud
    assert not any(c.isVisible() for c in clouds)
    plane.toggle_layer("fake")
    assert all(c.isVisible() for c in clouds)


def test_a_run_without_codes_is_one_colour_again(window: Any) -> None:
    plane = window.plane
    window.link.snapshot_ready.emit(frame(1, k=4))
    window.link.snapshot_ready.emit(frame(2))
    assert plane.codes.count == 0 and plane.fake.count == 64
    assert "generated" in legend_texts(plane)
    assert not any("code" in t for t in legend_texts(plane))


def test_the_legend_box_shrinks_back_when_the_codes_go(window: Any, qtbot: Any) -> None:
    """The box kept the width of "generated (colour: code, 4 values)" after the codes were
    turned off, an empty band over the data."""
    plane = window.plane
    qtbot.wait(20)
    plain = plane.legend.boundingRect().width()
    window.link.snapshot_ready.emit(frame(1, k=4))
    qtbot.wait(20)
    assert plane.legend.boundingRect().width() > 1.5 * plain
    window.link.snapshot_ready.emit(frame(2))
    qtbot.wait(20)
    assert plane.legend.boundingRect().width() <= plain + 1
    assert legend_texts(plane) == ["real", "generated"]

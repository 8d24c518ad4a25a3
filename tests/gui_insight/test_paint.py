"""Every tab of the insight panel paints something (grabbed offscreen, checked not blank)."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtGui import QImage

from engine.protocol import Play

from .conftest import TIMEOUT


def distinct_colours(image: QImage, step: int = 4) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() // 4 * h)
    pixels = buf.reshape(h, -1)[:, :w]
    return len(np.unique(pixels[::step, ::step]))


def test_every_tab_paints(qtbot, make_panel, tmp_path):
    from PySide6.QtWidgets import QApplication

    from gui.theme import apply_theme

    apply_theme(QApplication.instance())
    panel, link = make_panel()
    panel.resize(1000, 700)
    link.send(Play())
    qtbot.waitUntil(lambda: link.state.step >= 5, timeout=TIMEOUT)
    out = os.environ.get("INSIGHT_SHOTS") or str(tmp_path)
    drawn = {  # what each tab shows once it has had a frame with its extras
        "D vs D*": lambda: panel.dstar.gap_value is not None,
        "Arrows & manifold": lambda: panel.field.canvas.arrows.xData is not None
        and len(panel.field.canvas.arrows.xData) > 0,
        "Generator loss": lambda: len(panel.gen_loss.dots.data) > 0,
        "Timeline": lambda: panel.timeline.shown_step is not None,
    }
    seen = []
    for name in panel.views:
        panel.show_tab(name)
        if name in drawn:
            qtbot.waitUntil(drawn[name], timeout=TIMEOUT)
        pixmap = panel.grab()
        assert not pixmap.isNull(), name
        image = pixmap.toImage()
        assert image.width() >= 900 and image.height() >= 600
        colours = distinct_colours(image)
        assert colours > 20, f"{name}: looks blank ({colours} colours)"
        path = os.path.join(out, name.replace(" ", "_").replace("&", "and").replace("*", "star")
                            + ".png")
        assert pixmap.save(path)
        seen.append(name)
    assert seen == list(panel.views)

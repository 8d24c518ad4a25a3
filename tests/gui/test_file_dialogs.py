"""File dialogs start where the user last was for that kind of file (remembered across
launches), never in whatever folder the app was started from; the device list offers only
what the engine has."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from engine import protocol as P

TIMEOUT = 10_000


class FakeFileDialog:
    """Stands in for QFileDialog in ``gui.file_actions``: answers with ``answer`` and
    records (title, start) of every question."""

    def __init__(self) -> None:
        self.answer = ""
        self.asked: list[tuple[str, str]] = []

    def _ask(self, parent: Any, title: str, start: str, filters: str = "") -> tuple[str, str]:
        self.asked.append((title, start))
        return self.answer, ""

    getSaveFileName = _ask  # noqa: N815 (Qt's names)
    getOpenFileName = _ask  # noqa: N815


@pytest.fixture
def fake_dialog(monkeypatch: pytest.MonkeyPatch) -> FakeFileDialog:
    from gui import file_actions

    fake = FakeFileDialog()
    monkeypatch.setattr(file_actions, "QFileDialog", fake)
    return fake


def test_each_kind_of_file_dialog_starts_in_its_last_folder(qtbot, make_window, tmp_path,
                                                             fake_dialog, answers,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the app was started: never a dialog's start
    settings = QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
    window = make_window(settings=settings)
    files = window.files
    home = str(Path.home())

    sessions, presets, points = (tmp_path / d for d in ("sessions", "presets", "points"))
    for d in (sessions, presets, points):
        d.mkdir()
    fake_dialog.answer = str(sessions / "run.safetensors")
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT):
        files.save_session()
    assert fake_dialog.asked[-1] == ("Save session", os.path.join(home, "session.safetensors"))

    fake_dialog.answer = str(presets / "mine.json")
    assert files.save_preset_as()
    assert fake_dialog.asked[-1][1] == os.path.join(home, "ring8.json")  # the config's name

    fake_dialog.answer = ""  # cancelled: nothing is remembered from it
    files.open_session()
    assert fake_dialog.asked[-1] == ("Open session", str(sessions))
    files.open_preset()
    assert fake_dialog.asked[-1] == ("Open preset", str(presets))
    files.import_points_csv()
    assert fake_dialog.asked[-1] == ("Import points", home)
    files.save_generator()
    assert fake_dialog.asked[-1][1] == os.path.join(home, "generator.safetensors")

    fake_dialog.answer = str(points / "drawn.csv")
    (points / "drawn.csv").write_text("x,y\n0,0\n1,1\n")
    files.import_points_csv()
    fake_dialog.answer = ""
    files.import_points_csv()
    assert fake_dialog.asked[-1] == ("Import points", str(points))
    window.close()

    # remembered across launches (the settings file)
    again = make_window(settings=QSettings(str(tmp_path / "app.ini"),
                                           QSettings.Format.IniFormat))
    again.files.open_session()
    assert fake_dialog.asked[-1] == ("Open session", str(sessions))
    again.files.save_preset_as()
    assert fake_dialog.asked[-1][1].startswith(str(presets))


def test_the_device_list_offers_only_what_the_engine_has(qtbot, make_window):
    window = make_window()
    devices = window.link.state.devices
    assert "cpu" in devices  # the engine said what it has (its Welcome)
    combo = window.panel.fields["device"].widget
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered == ["auto", *[d for d in ("cpu", "cuda") if d in devices]]
    auto = "CUDA" if "cuda" in devices else "CPU"
    assert combo.itemText(0) == f"auto ({auto} here)"
    assert combo.currentData() == "cpu"  # the small test config's device stays shown
    # a machine without CUDA: no cuda to pick, and the tooltip says why
    window.panel.set_devices(("cpu",))
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "cpu"]
    assert "no cuda" in combo.toolTip()
    assert combo.currentData() == "cpu"


def test_welcome_carries_the_engines_devices():
    key = b"k" * 32
    msg = P.decode(P.encode(P.Welcome(True, "", 7, devices=("cpu", "cuda")), key), key)
    assert msg.devices == ("cpu", "cuda")
    old = P.decode(P.encode(P.Welcome(True, "", 7), key), key)  # an engine that does not say
    assert old.devices == ()

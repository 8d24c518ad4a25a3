"""The window on image data: grids instead of the plane, the Insight tab off, FID/IS, the
data set's own controls, MNIST files picked (and refused) through the file dialog, the
progress bar for slow engine work, conditional rows and sample grids as PNG. Tiny DCGANs on
scikit-learn's 8x8 digits keep every test in the seconds; nothing is ever downloaded."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.config import with_changes
from engine.imagefiles import MNIST_FILES
from engine.presets import load_preset
from engine.protocol import Progress

TIMEOUT = 10_000
TINY: dict[str, Any] = {
    "generator.width": 4, "discriminator.width": 4,
    "generator.hidden": [16], "discriminator.hidden": [16],
    "data.size": 8, "train.batch_size": 16, "train.metrics_every": 0,
    "train.metrics_samples": 200, "device": "cpu",
}


def digits_config(**changes: Any) -> dict[str, Any]:
    """The built-in DCGAN on digits, made tiny; another data set drops the digits' size."""
    tiny = dict(TINY)
    if changes.get("data.name", "digits") != "digits":
        del tiny["data.size"]
    return with_changes(load_preset("dcgan_digits"), {**tiny, **changes})


@pytest.fixture
def open_window(make_window: Callable[..., Any], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """A shown MainWindow on the tiny digits DCGAN (engine ready), with a fresh classifier
    cache; conftest's ``make_window`` closes it and checks its worker and timer."""
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path / "cache"))
    return lambda **changes: make_window(config=digits_config(**changes), name="dcgan_digits")


# ---------------------------------------------------------------------------- helpers
def session_config(window: Any) -> dict[str, Any]:
    return window.link.state.config


def applied_with(key: str) -> Callable[[Any], bool]:
    return lambda ev: key in ev.changes


def apply(qtbot: Any, window: Any, changes: dict[str, Any]) -> None:
    """Apply through the window and wait for the engine's answer (the window has redrawn)."""
    key = next(iter(changes))
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with(key)):
        window.apply_changes(changes)


def choose(window: Any, key: str, value: Any) -> None:
    """Pick ``value`` in the combo box of config ``key`` as a user would (emits activated)."""
    combo = window.panel.fields[key].widget
    i = combo.findData(value)
    assert i >= 0, f"{value!r} is not offered for {key}"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def play_steps(qtbot: Any, window: Any, more: int = 5) -> None:
    start = window.link.state.step
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: window.link.state.step >= start + more, timeout=TIMEOUT)


def visible(window: Any, key: str) -> bool:
    return window.panel.fields[key].widget.isVisibleTo(window.panel)


def insight_tab(window: Any) -> int:
    return window.right_tabs.indexOf(window.insight)


def assert_image_mode(window: Any) -> None:
    assert window.showing_images
    assert window.data_view.currentWidget() is window.images
    index = insight_tab(window)
    assert window.right_tabs.isTabEnabled(index)  # its Timeline and Compare apply
    assert "image set" in window.right_tabs.tabToolTip(index)
    tabs = window.insight.tabs
    enabled = {tabs.tabText(i).replace("&&", "&"): tabs.isTabEnabled(i)
               for i in range(tabs.count())}
    assert enabled == {"Divergences": False, "D vs D*": False, "Arrows": False,
                       "G loss": False, "1-D": False, "Timeline": True, "Compare": True}
    assert window.curves.plots["quality"].isVisibleTo(window.curves)


def assert_plane_mode(window: Any) -> None:
    assert not window.showing_images
    assert window.data_view.currentWidget() is window.plane
    index = insight_tab(window)
    assert window.right_tabs.isTabEnabled(index)
    assert "image set" not in window.right_tabs.tabToolTip(index)
    assert not window.curves.plots["quality"].isVisibleTo(window.curves)


def idx_bytes(arr: np.ndarray) -> bytes:
    """IDX: zero, zero, type code 0x08 (uint8), ndim, big-endian dims, then the bytes."""
    assert arr.dtype == np.uint8
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_mnist(folder: Path, n: int = 30, labels: bool = True) -> Path:
    """A tiny MNIST folder (gzipped IDX, 28x28); returns the images file (what one picks)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images_name, labels_name = MNIST_FILES["mnist"][:2]
    images = folder / images_name
    images.write_bytes(gzip.compress(idx_bytes(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))))
    if labels:
        (folder / labels_name).write_bytes(
            gzip.compress(idx_bytes((np.arange(n) % 10).astype(np.uint8))))
    return images


class FakeDialog:
    """Stands in for QFileDialog in ``gui.main_window``: answers ``getOpenFileName`` with
    ``answer`` and records what it was asked."""

    def __init__(self) -> None:
        self.answer: tuple[str, str] = ("", "")
        self.asked: list[tuple[Any, ...]] = []

    def getOpenFileName(self, *args: Any) -> tuple[str, str]:  # noqa: N802 (Qt's name)
        self.asked.append(args)
        return self.answer


# ---------------------------------------------------------------------------- the views
def test_image_data_shows_grids_and_the_plane_comes_back_for_points(qtbot, open_window):
    window = open_window()
    assert_image_mode(window)
    play_steps(qtbot, window, 5)
    qtbot.waitUntil(lambda: window.images.frames > 0
                    and window.images.caption.text().startswith("step ")
                    and not window.images.caption.text().startswith("step 0 "),
                    timeout=TIMEOUT)
    assert window.images.fake_grid.image.image is not None
    assert window.images.real_grid.image.image is not None
    shot = window.grab().toImage()
    assert shot.width() > 800 and shot.height() > 500

    apply(qtbot, window, {"data.name": "ring8"})
    assert session_config(window)["data"]["name"] == "ring8"
    assert_plane_mode(window)
    qtbot.waitUntil(lambda: window.plane.frames > 0, timeout=TIMEOUT)

    apply(qtbot, window, {"data.name": "digits"})
    assert session_config(window)["data"]["name"] == "digits"
    assert_image_mode(window)
    frames = window.images.frames
    qtbot.waitUntil(lambda: window.images.frames > frames, timeout=TIMEOUT)


def test_insight_stays_on_its_timeline_when_images_arrive_and_scrubs_the_grids(qtbot,
                                                                              open_window):
    """Image data keeps the Insight tab for what applies to images: the Timeline scrubs the
    image grids back through the run (and Compare shows B's grid beside A's)."""
    window = open_window(**{"data.name": "ring8", "generator.arch": "mlp",
                            "discriminator.arch": "mlp"})
    assert_plane_mode(window)
    window.right_tabs.setCurrentWidget(window.insight)
    window.insight.show_tab("Divergences")
    apply(qtbot, window, {"data.name": "digits"})
    assert_image_mode(window)
    assert window.right_tabs.currentWidget() is window.insight
    assert window.insight.current_name() == "Timeline"
    ring = window.insight.timeline.ring
    ring.min_interval = 0.0
    window.transport.actions["play"].trigger()
    qtbot.waitUntil(lambda: len(ring) >= 3 and ring[len(ring) - 1].step > ring[0].step,
                    timeout=TIMEOUT)
    window.transport.actions["play"].trigger()  # pause: the live grid stops moving
    first = ring[0]
    assert first.images_fake is not None
    qtbot.keyClick(window.insight.timeline.slider, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: window.images.caption.text().startswith(f"step {first.step:,} "),
                    timeout=TIMEOUT)
    assert f"{first.step:,}" in window.statusBar().currentMessage()


# ---------------------------------------------------------------------------- controls
def test_controls_follow_the_kind_of_data_and_the_size_combo_applies(qtbot, open_window):
    window = open_window(**{"data.size": 16})
    for key in ("generator.arch", "discriminator.arch", "conditional", "generator.width",
                "discriminator.width", "generator.depth", "data.size"):
        assert visible(window, key), key
    for key in ("generator.hidden", "discriminator.hidden"):
        assert not visible(window, key), key
    assert window.panel.fields["data.size"].value() == 16

    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.size")) as blocker:
        choose(window, "data.size", 8)
    assert blocker.args[0].config["data"]["size"] == 8
    assert session_config(window)["data"]["size"] == 8
    assert window.panel.fields["data.size"].value() == 8

    # an MLP on images: hidden widths instead of channels
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("generator.arch")):
        choose(window, "generator.arch", "mlp")
    assert visible(window, "generator.hidden") and not visible(window, "generator.width")
    assert visible(window, "discriminator.width")  # D is still a DCGAN

    apply(qtbot, window, {"data.name": "ring8"})
    for key in ("generator.arch", "discriminator.arch", "conditional", "generator.width",
                "discriminator.width", "generator.depth", "discriminator.depth"):
        assert not visible(window, key), key
    for key in ("generator.hidden", "discriminator.hidden"):
        assert visible(window, key), key
    assert "data.size" not in window.panel.fields
    # the set's own rows are new widgets: shown once the event loop has run
    qtbot.waitUntil(lambda: visible(window, "data.radius"), timeout=TIMEOUT)


# ---------------------------------------------------------------------------- MNIST files
def test_mnist_asks_for_files_cancel_refusal_and_success(qtbot, open_window, tmp_path,
                                                          monkeypatch):
    from gui import main_window

    dialog = FakeDialog()
    monkeypatch.setattr(main_window, "QFileDialog", dialog)
    window = open_window()
    sent: list[Any] = []
    send = window.link.send
    monkeypatch.setattr(window.link, "send", lambda cmd: (sent.append(cmd), send(cmd)))
    requests: list[tuple[str, str]] = []
    window.panel.path_needed.connect(lambda name, key: requests.append((name, key)))
    name_field = window.panel.fields["data.name"]

    # cancel: nothing is applied, the combo goes back to the running set
    choose(window, "data.name", "mnist")
    assert requests == [("mnist", "data.path")]
    assert len(dialog.asked) == 1
    assert sent == []
    assert name_field.value() == "digits"
    assert window.config["data"]["name"] == "digits"
    assert not window.settings.contains("data_paths/mnist")

    # a folder without the labels file: refused, explained, nothing changes
    bad = write_mnist(tmp_path / "no_labels", labels=False)
    dialog.answer = (str(bad), "")
    with qtbot.waitSignal(window.link.rejected, timeout=TIMEOUT) as blocker:
        choose(window, "data.name", "mnist")
    assert blocker.args[0].changes == {"data.name": "mnist", "data.path": str(bad)}
    text = window.message.text()
    assert MNIST_FILES["mnist"][1] in text and "nothing is downloaded" in text
    assert {k: v for k, v in session_config(window)["data"].items()
            if not k.startswith("instance_noise")} == {"name": "digits", "size": 8}
    assert name_field.value() == "digits"
    assert "data.path" not in window.panel.fields
    assert_image_mode(window)

    # a real (tiny) MNIST: applied with its path, and the path is remembered
    good = write_mnist(tmp_path / "mnist")
    dialog.answer = (str(good), "")
    with qtbot.waitSignal(window.link.applied, timeout=TIMEOUT,
                          check_params_cb=applied_with("data.path")):
        choose(window, "data.name", "mnist")
    data = session_config(window)["data"]
    assert (data["name"], data["path"]) == ("mnist", str(good))
    assert window.settings.value("data_paths/mnist") == str(good)
    assert name_field.value() == "mnist"
    assert window.panel.fields["data.path"].value() == str(good)
    assert_image_mode(window)
    # the first frame of the new set may come in the same poll as its Applied
    qtbot.waitUntil(lambda: window.images.fake_grid.image.image.shape[0] > 28 * 5,
                    timeout=TIMEOUT)

    # the "…" button asks again, starting from the current file
    dialog.answer = ("", "")
    window.panel.fields["data.path"].button.click()
    assert dialog.asked[-1][2] == str(good)
    assert session_config(window)["data"]["path"] == str(good)


# ---------------------------------------------------------------------------- progress
def test_progress_events_show_and_hide_the_bar(qtbot, open_window):
    window = open_window()
    bar = window.progress
    assert not bar.isVisibleTo(window)
    window.link.progress_reported.emit(Progress(0.4, "Training the quality classifier (epoch 2/5)"))
    assert bar.isVisibleTo(window) and bar.value() == 40
    # the words sit beside the bar, never over it (a long text once wrapped over the chunk)
    text = window.progress_label
    assert "epoch 2/5" in text.text() and "epoch 2/5" in bar.toolTip()
    assert bar.format() == "%p%" and text.isVisibleTo(window)
    assert not text.geometry().intersects(bar.geometry())
    window.link.progress_reported.emit(Progress(1.0, "Quality classifier ready (99% accuracy)"))
    assert not bar.isVisibleTo(window) and not text.isVisibleTo(window)
    assert window.statusBar().currentMessage() == "Quality classifier ready: done"


def test_training_the_quality_classifier_reports_progress_then_fid(qtbot, open_window):
    window = open_window(**{"train.metrics_every": 3})
    seen: list[Progress] = []
    bar_shown: list[bool] = []

    def heard(ev: Progress) -> None:  # after the window's own slot (connected first)
        seen.append(ev)
        bar_shown.append(window.progress.isVisibleTo(window))

    window.link.progress_reported.connect(heard)
    with qtbot.waitSignal(window.link.progress_reported, timeout=TIMEOUT):
        window.transport.actions["play"].trigger()
    # the classifier trains once on the digits (about 2 s on one core): generous timeout
    qtbot.waitUntil(lambda: window.readout.labels["modes"].text().startswith("FID"),
                    timeout=3 * TIMEOUT)
    assert any("classifier" in p.text for p in seen)
    assert any(bar_shown)
    assert seen[-1].fraction == 1.0 and not window.progress.isVisibleTo(window)
    assert window.readout.labels["modes"].isVisibleTo(window)
    assert np.isfinite(window.curves.series.last_valid("fid"))

    # points now, no slow metrics: the digits' FID (or the classes seen, logged as "modes")
    # must not stay on or come back as ring8's modes
    label = window.readout.labels["modes"]
    apply(qtbot, window, {"data.name": "ring8", "train.metrics_every": 0})
    assert not label.isVisibleTo(window)
    batches: list[int] = []
    window.link.metrics_received.connect(lambda rows: batches.append(len(rows)))
    start = window.link.state.step
    qtbot.waitUntil(lambda: len(batches) >= 3 and window.link.state.step > start + 10,
                    timeout=TIMEOUT)
    assert not label.isVisibleTo(window), label.text()
    # ring8's own mode metrics come back
    window.apply_changes({"train.metrics_every": 2})
    qtbot.waitUntil(lambda: label.text().startswith("modes ") and "/8" in label.text(),
                    timeout=TIMEOUT)


# ---------------------------------------------------------------------------- conditional
def test_conditional_grid_has_a_row_per_class_named(qtbot, open_window):
    window = open_window()
    assert window.images.fake_grid.row_labels == []
    apply(qtbot, window, {"conditional": True})
    assert session_config(window)["conditional"] is True
    with qtbot.waitSignal(window.link.snapshot_ready, timeout=TIMEOUT,
                          check_params_cb=lambda snap: snap.labels_fake is not None) as blocker:
        window.transport.actions["step"].trigger()
    snap = blocker.args[0]
    assert set(np.unique(snap.labels_fake)) == set(range(10))
    assert tuple(snap.class_names) == tuple(str(k) for k in range(10))
    names = [str(k) for k in range(10)]
    assert window.images.fake_grid.row_labels == names
    assert window.images.real_grid.row_labels == names
    assert "one row per class" in window.images.caption.text()


# ---------------------------------------------------------------------------- exports
def test_samples_export_as_png_for_images_only(qtbot, open_window, tmp_path):
    window = open_window()
    path = tmp_path / "samples.png"
    with qtbot.waitSignal(window.link.saved, timeout=TIMEOUT) as blocker:
        assert window.files.export_samples(str(path), n=64)
    assert blocker.args[0].what == "samples"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(path) in window.message.text()

    apply(qtbot, window, {"data.name": "ring8"})
    points = tmp_path / "points.png"
    with qtbot.waitSignal(window.link.failed, timeout=TIMEOUT):
        assert window.files.export_samples(str(points), n=64)
    assert not points.exists()
    assert window.message.level == "error"
    assert "points.png" in window.message.text() and "images" in window.message.text()

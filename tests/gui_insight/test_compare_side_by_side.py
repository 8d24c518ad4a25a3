"""Compare, as a lecturer shows two runs side by side: B's samples beside A's, "Stop B"
stops only B, a reset or a loaded preset clears the comparison, and B's speed shows."""

from __future__ import annotations

from .conftest import START_TIMEOUT, TIMEOUT, wait_ready
from .test_panel import curve_len


def _plain(label) -> str:
    return label.text().replace("&nbsp;", " ")


def _start(qtbot, panel):
    compare = panel.compare
    qtbot.waitUntil(lambda: compare.compare_button.isEnabled(), timeout=TIMEOUT)
    compare.start("loss.name", "least-squares", restart_a=False)
    b = compare.link_b
    died: list = []
    b.engine_died.connect(died.append)
    wait_ready(qtbot, b, died)
    assert not died, died[0].describe()
    return compare, b


def test_b_plane_draws_b_frames_beside_a(qtbot, make_panel):
    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    planes = compare.planes
    assert planes.isVisible()
    with qtbot.waitSignal(b.snapshot_ready, timeout=TIMEOUT) as got:
        pass
    snap_b = got.args[0]
    assert snap_b.fake.shape[0] > 0  # B's engine makes frames with samples now
    qtbot.waitUntil(lambda: planes.frames["B"] >= 2 and planes.frames["A"] >= 2,
                    timeout=TIMEOUT)
    assert planes.point_count("B") > 0 and planes.point_count("A") > 0
    # B's side shows B's samples, not A's (the same seed: compare with B's own frame)
    qtbot.waitUntil(lambda: planes._drawn["B"] is not None, timeout=TIMEOUT)
    drawn = planes._drawn["B"]
    assert planes.fake["B"].count == len(drawn.fake)
    assert compare.change == ("loss.name", "least-squares")
    assert "loss.name = least-squares" in planes.plots["B"].titleLabel.text
    # the runs' colours are named in the first plot's title, not in a box over its curves
    from gui.insight.style import RUN_COLORS

    first = compare.plots["d_loss"]
    assert first.legend is None
    for run, color in RUN_COLORS.items():
        assert f"<span style='color:{color}'>━&nbsp;{run}</span>" in first.titleLabel.text
    # the two sides show the same region of the plane
    va, vb = planes.plots["A"].getViewBox(), planes.plots["B"].getViewBox()
    assert va.viewRange() == vb.viewRange()
    assert abs(planes.widgets["A"].width() - planes.widgets["B"].width()) <= 1  # no stretch
    frames = planes.frames["B"]
    qtbot.waitUntil(lambda: planes.frames["B"] > frames + 2, timeout=TIMEOUT)  # live


def test_stop_b_keeps_a_growing(qtbot, make_panel):
    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: compare.point_count("A") >= 3 and compare.point_count("B") >= 3,
                    timeout=TIMEOUT)
    compare.stop_button.click()
    assert compare.link_b is None and not b.alive
    b_points = compare.point_count("B")
    a_points = compare.point_count("A")
    a_frames = compare.planes.frames["A"]
    qtbot.waitUntil(lambda: compare.point_count("A") >= a_points + 3, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: compare.planes.frames["A"] >= a_frames + 3, timeout=TIMEOUT)
    n = curve_len(compare.curves[("g_loss", "A")])
    qtbot.waitUntil(lambda: curve_len(compare.curves[("g_loss", "A")]) > n, timeout=TIMEOUT)
    assert compare.point_count("B") == b_points  # B's curves stay as they were
    assert "B stopped" in _plain(compare.steps)


def test_reset_of_a_ends_the_comparison_and_clears_it(qtbot, make_panel):
    from engine.protocol import Reset

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: compare.point_count("A") >= 3 and compare.point_count("B") >= 3
                    and compare.planes.point_count("B") > 0, timeout=TIMEOUT)
    with qtbot.waitSignal(compare.ended, timeout=TIMEOUT) as got:
        link.send(Reset())
    assert got.args[0] == "Compare ended: B stopped (A started afresh)"
    assert compare.link_b is None and not b.alive
    assert "run B was stopped" in compare.note.text() and compare.note.isVisibleTo(compare)
    qtbot.waitUntil(lambda: link.state.step > 30, timeout=TIMEOUT)  # A trains on
    for run in ("A", "B"):
        assert compare.point_count(run) == 0
        assert curve_len(compare.curves[("g_loss", run)]) == 0
        assert compare.planes.point_count(run) == 0
    assert not compare.planes.isVisible() and compare.hint.isVisible()


def test_b_speed_in_the_compare_header(qtbot, make_panel):
    panel, link = make_panel(tab="Compare")
    rates: list[str] = []
    panel.compare.rates_changed.connect(rates.append)  # before B starts: no rate missed
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: b.state.running and b.state.steps_per_second > 0,
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "it/s" in _plain(compare.steps).split("B ", 1)[-1],
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: any(r.startswith("B ") and "it/s" in r for r in rates),
                    timeout=TIMEOUT)


def test_image_data_compares_two_image_grids(qtbot, make_panel):
    """Image data: the Compare tab stays available and shows B's generated images beside
    A's (a grid each, from each run's own frames)."""
    panel, link = make_panel(**{"data.name": "digits", "generator.arch": "mlp",
                                "discriminator.arch": "mlp", "data.size": 16})
    idx = list(panel.views).index("Compare")
    assert panel.tabs.isTabEnabled(idx)
    panel.show_tab("Compare")
    compare, b = _start(qtbot, panel)
    planes = compare.planes
    qtbot.waitUntil(lambda: planes.images["A"].image is not None
                    and planes.images["B"].image is not None, timeout=START_TIMEOUT)
    assert planes.images["A"].isVisible() and planes.images["B"].isVisible()
    assert planes.images["B"].image.shape == planes.images["A"].image.shape
    assert planes.point_count("A") == planes.point_count("B") == 1  # a grid, not points
    # B's long title ("B: loss.name = least-squares") is clipped, never widening B's plot
    # past its cell (its picture was cut off at the right)
    panel.resize(360, 700)  # each side narrower than B's title (~200 px at 1280x720)
    qtbot.wait(100)
    for run in ("A", "B"):
        assert planes.plots[run].width() <= planes.widgets[run].width() + 1, run
    assert abs(planes.plots["A"].vb.width() - planes.plots["B"].vb.width()) <= 2


def test_the_js_log2_label_lies_inside_a_short_plot(qtbot, make_panel):
    """At 1280x720 the comparison's JS plot is ~60 px tall: the "log 2" label must lie whole
    inside it (above its line it was cut off at the top)."""
    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    panel.resize(400, 560)
    qtbot.waitUntil(lambda: compare.planes.frames["B"] >= 1, timeout=TIMEOUT)
    qtbot.wait(200)
    line = compare.log2_line
    area = compare.plots["js"].getViewBox().sceneBoundingRect()
    assert area.height() < 120  # the case in question: a short plot
    label = line.label.sceneBoundingRect()
    assert line.label.isVisible() and area.contains(label), (label, area)


def test_a_replay_of_as_state_does_not_end_the_comparison(qtbot, make_panel):
    """A window that attaches gets the engine's state replayed, starting with a
    ``ResetDone(replay=True)``; one that arrives after B started (a test, or a user faster
    than the replay) is the same run going on, not "A started afresh"."""
    from engine.protocol import ResetDone

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    ended: list[str] = []
    compare.ended.connect(ended.append)
    link.reset_done.emit(ResetDone(link.state.config, replay=True))
    assert compare.link_b is b and b.alive and not ended
    link.reset_done.emit(ResetDone(link.state.config))  # a real reset still ends it
    assert compare.link_b is None and ended


def test_a_data_change_on_a_reaches_b(qtbot, make_panel):
    """With changes mirrored, A moving to another data set moves B too (B refused the
    change: it was sent the old set's parameters as removed keys, and trained on ring8
    beside A on moons)."""
    from engine.protocol import Apply

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    compare.mirror = True
    said: list[str] = []
    compare.message.connect(said.append)
    link.send(Apply({"data.name": "moons"}))
    qtbot.waitUntil(lambda: b.state.config["data"]["name"] == "moons", timeout=TIMEOUT)
    assert link.state.config["data"]["name"] == "moons"
    assert b.state.config["loss"]["name"] == "least-squares"  # B's own difference stays
    assert not [m for m in said if "refused" in m], said


def test_a_rollback_of_either_run_drops_its_later_rows_from_the_comparison(qtbot, make_panel):
    """A divergence takes a run back to an earlier step and its history loses the rows
    after it; the comparison's curves lose them too (A's kept them, and its curve stepped
    back once training went on)."""
    from engine.protocol import Diverged

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: len(compare.series["A"].column("step")) > 10
                    and len(compare.series["B"].column("step")) > 10, timeout=TIMEOUT)
    for run, source in (("A", link), ("B", b)):
        steps = compare.series[run].column("step")
        keep = float(steps[len(steps) // 2])
        origin = compare._origin_a if run == "A" else 0
        source.diverged.emit(Diverged(int(steps[-1] + origin), "diverged", int(keep + origin)))
        assert compare.series[run].column("step").max() <= keep, run


def test_a_long_title_is_elided_to_its_plot_and_whole_again_when_there_is_room(qtbot):
    """B's change can be longer than its plot is wide: its title ends in an ellipsis
    (it was cut mid-letter), says the whole change in its tooltip, stays elided through a
    zoom (which sets the shown text again, bigger), and comes back whole when widened."""
    from gui.appearance import DARK, restyle_view
    from gui.insight.compare_planes import ComparePlanes

    planes = ComparePlanes()
    qtbot.addWidget(planes)
    planes.resize(360, 300)
    planes.show()
    change = "discriminator.normalization = spectral, and a long value besides"
    planes.set_titles("this session", change)
    label = planes.plots["B"].titleLabel

    def fits() -> bool:
        return label.itemRect().width() <= planes.plots["B"].width()

    qtbot.waitUntil(lambda: label.text.endswith("…"), timeout=5000)
    assert label.text.startswith("B: discrim") and fits()
    assert label.toolTip() == f"B: {change}"
    assert planes.plots["A"].titleLabel.text == "A: this session"  # short: whole
    shown = label.text
    restyle_view(planes.widgets["B"], DARK, 2.0, "dark")  # the zoom a projector wants
    assert label.text.endswith("…") and len(label.text) < len(shown) and fits()
    restyle_view(planes.widgets["B"], DARK, 1.0, "dark")
    planes.resize(1800, 300)
    qtbot.waitUntil(lambda: label.text == f"B: {change}", timeout=5000)
    assert label.toolTip() == "" and fits()


def test_titles_set_after_a_zoom_wear_it(qtbot, tmp_path, monkeypatch):
    """A comparison started after zooming in to 2x titled its planes at 10 pt."""
    from PySide6.QtCore import QSettings

    from gui import appearance as A
    from gui.insight.compare_planes import ComparePlanes

    look = A.Appearance(QSettings(str(tmp_path / "look.ini"), QSettings.Format.IniFormat))
    look.zoom = 2.0
    monkeypatch.setattr(A, "_INSTANCE", look)
    planes = ComparePlanes()
    qtbot.addWidget(planes)
    planes.set_titles("this session", "loss.name = hinge")
    assert planes.plots["B"].titleLabel.opts["size"] == "20.0pt"
    # built at 2x, then restyled at 2x (a window built after the zoom): not 40 pt
    A.restyle_view(planes.widgets["B"], A.DARK, 2.0, "dark")
    assert planes.plots["B"].titleLabel.opts["size"] == "20.0pt"


def test_when_b_s_engine_dies_compare_says_so_and_a_plays_on(qtbot, make_panel):
    """Found by a fault hunt: B's steps line went on reading "B 217 · 132 it/s" for ever."""
    import os
    import signal

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: compare.point_count("B") >= 2, timeout=TIMEOUT)
    os.kill(b.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: compare.link_b is None, timeout=TIMEOUT)
    assert "Run B's engine stopped" in compare.note.text() and "SIGKILL" in compare.note.text()
    assert "B's engine stopped" in _plain(compare.steps)
    a_points = compare.point_count("A")
    qtbot.waitUntil(lambda: compare.point_count("A") > a_points, timeout=TIMEOUT)


def test_when_a_s_engine_dies_the_comparison_ends_and_keeps_its_curves(qtbot, make_panel):
    """A restarted A used to carry on the comparison from step 1 beside step 2,680; and a
    comparison started with A dead waited for A's lost Reset for ever."""
    import os
    import signal

    import pytest

    panel, link = make_panel(tab="Compare")
    compare, b = _start(qtbot, panel)
    qtbot.waitUntil(lambda: compare.point_count("A") >= 2 and compare.point_count("B") >= 2,
                    timeout=TIMEOUT)
    with qtbot.waitSignal(compare.ended, timeout=TIMEOUT) as ended:
        os.kill(link.pid, signal.SIGKILL)
    assert "A's engine stopped" in ended.args[0]
    assert not compare.comparing and compare.link_b is None
    qtbot.waitUntil(lambda: not b.alive, timeout=TIMEOUT)
    assert compare.point_count("A") >= 2 and compare.point_count("B") >= 2  # kept, frozen
    with pytest.raises(ValueError, match="restart it first"):
        compare.start("loss.name", "hinge", restart_a=True)
    compare.open_dialog()  # refused, and said in the tab
    assert "restart it first" in compare.note.text()
    link.restart()  # A's engine is back: the refusal no longer holds, and goes
    qtbot.waitUntil(lambda: link.state.ready and "restart it first" not in compare.note.text(),
                    timeout=TIMEOUT)

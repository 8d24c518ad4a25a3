"""The insight panel on a live engine: every view gets its data, extras only while shown."""

from __future__ import annotations

import math
import re

import numpy as np

from engine.protocol import Apply, Play
from gui.insight.dstar_view import BCE_NOTE

from .conftest import TIMEOUT, small_config, wait_ready


def play(qtbot, link, steps: int = 1) -> None:
    link.send(Play())
    qtbot.waitUntil(lambda: link.state.step >= steps, timeout=TIMEOUT)


def curve_len(curve) -> int:
    x = curve.xData
    return 0 if x is None else int(np.isfinite(x).sum())


def test_panel_builds_and_receives_snapshots(qtbot, make_panel):
    panel, link = make_panel()
    assert list(panel.views) == ["Divergences", "D vs D*", "Arrows & manifold",
                                 "Generator loss", "1-D", "Timeline", "Compare"]
    assert [panel.tabs.tabText(i) for i in range(panel.tabs.count())] == [
        "Divergences", "D vs D*", "Arrows", "G loss", "1-D", "Timeline", "Compare"]
    for i, name in enumerate(panel.views):  # the full name heads the tooltip
        assert panel.tabs.tabToolTip(i).startswith(f"{name}: ")
    play(qtbot, link)
    qtbot.waitUntil(lambda: panel.latest is not None and panel.latest.step > 0, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: len(panel.timeline.ring) >= 2, timeout=TIMEOUT)
    assert panel.config is not None and panel.compare.compare_button.isEnabled()


def test_dstar_tab_shows_a_gap_and_asks_for_dstar_only_while_shown(qtbot, make_panel):
    panel, link = make_panel(tab="D vs D*")
    qtbot.waitUntil(lambda: link.view.dstar, timeout=TIMEOUT)
    play(qtbot, link, steps=20)
    qtbot.waitUntil(lambda: panel.dstar.gap_value is not None, timeout=TIMEOUT)
    assert 0.0 <= panel.dstar.gap_value <= 1.0
    assert re.fullmatch(r"gap \d\.\d{3}", panel.dstar.gap_label.text())
    assert panel.dstar.stack.currentIndex() == 0  # two heatmaps for 2-D data
    assert panel.dstar.d_image.image is not None and panel.dstar.dstar_image.image is not None
    assert panel.dstar.d_image.levels is not None and list(panel.dstar.d_image.levels) == [0, 1]
    panel.show_tab("Divergences")
    assert not link.view.dstar  # extras only while their view is on screen
    panel.show_tab("D vs D*")
    assert link.view.dstar
    # a critic has no D*: said so instead of a map
    link.send(Apply({"loss.name": "wgan-gp"}))
    qtbot.waitUntil(lambda: panel.dstar.stack.currentIndex() == 2, timeout=TIMEOUT)
    assert BCE_NOTE in panel.dstar.explanation.text()
    assert panel.dstar.gap_label.text() == "gap —"
    panel.hide()
    assert not link.view.dstar


def test_arrows_field_and_manifold_get_data(qtbot, make_panel):
    panel, link = make_panel(tab="Arrows & manifold")
    panel.field.field_box.setChecked(True)
    qtbot.waitUntil(lambda: link.view.arrows and link.view.d_field > 0
                    and link.view.manifold > 0, timeout=TIMEOUT)
    play(qtbot, link, steps=5)
    canvas = panel.field.canvas
    qtbot.waitUntil(lambda: curve_len(canvas.arrows) > 0 and curve_len(canvas.field) > 0
                    and curve_len(canvas.mesh) > 0, timeout=TIMEOUT)
    assert 0 < curve_len(canvas.arrows) <= 6 * panel.field.count.value()  # 3 segments each
    assert len(canvas.fake.data) == 512
    panel.field.field_box.setChecked(False)
    assert link.view.d_field == 0
    qtbot.waitUntil(lambda: curve_len(canvas.field) == 0, timeout=TIMEOUT)


def test_generator_loss_curve_changes_shape_with_the_loss(qtbot, make_panel):
    panel, link = make_panel(tab="Generator loss")
    qtbot.waitUntil(lambda: link.view.d_on_fake, timeout=TIMEOUT)
    view = panel.gen_loss
    qtbot.waitUntil(lambda: view.loss_name == "non-saturating" and len(view.dots.data) > 0,
                    timeout=TIMEOUT)
    before = np.array(view.curve.yData, copy=True)
    assert before[0] > before[-1]  # -log D: steep and high where D rejects the fakes
    link.send(Apply({"loss.name": "minimax"}))
    qtbot.waitUntil(lambda: view.loss_name == "minimax", timeout=TIMEOUT)
    after = np.array(view.curve.yData, copy=True)
    assert after.shape == before.shape and not np.allclose(after, before)
    assert abs(after[0]) < 0.01 and after[-1] < -5  # log(1 - D): flat near 0, falls at 1
    shown = view.formula.text().replace("\u2060", "").replace("\u00a0", " ")  # as read
    assert "log(1 − D(G(z)))" in shown
    link.send(Apply({"loss.name": "wgan-gp"}))
    qtbot.waitUntil(lambda: view.loss_name == "wgan-gp", timeout=TIMEOUT)
    x = view.curve.xData
    assert x.min() < 0 < x.max()  # a range of raw scores, not (0, 1)
    assert np.allclose(view.curve.yData, -x)


def test_one_d_view_offers_1d_data_then_draws_the_classic_picture(qtbot, make_panel):
    panel, link = make_panel(tab="1-D")
    view = panel.one_d
    qtbot.waitUntil(lambda: panel.latest is not None, timeout=TIMEOUT)
    assert view.stack.currentIndex() == 1  # 2-D data: a note and a switch button
    assert not link.view.dstar  # nothing asked for while it cannot be drawn
    with qtbot.waitSignal(link.applied, timeout=TIMEOUT,
                          check_params_cb=lambda ev: "data.name" in ev.changes):
        view.switch_button.click()
    config = link.state.config
    assert config["data"]["name"] == "mixture1d" and config["noise"]["dim"] == 1
    qtbot.waitUntil(lambda: link.view.dstar and link.view.grid >= 160, timeout=TIMEOUT)
    play(qtbot, link, steps=5)
    qtbot.waitUntil(lambda: view.curves_drawn and curve_len(view.dstar) >= 160, timeout=TIMEOUT)
    assert view.stack.currentIndex() == 0
    for curve in (view.p_data, view.p_g, view.d_curve, view.dstar):
        assert curve_len(curve) >= 160
    assert curve_len(view.maps) == 2 * view.lines_spin.value()  # z -> G(z) segments
    assert view.p_data.opts["pen"].color().name() == "#000000"
    assert view.p_data.opts["pen"].style().name == "DotLine"
    assert view.d_curve.opts["pen"].style().name == "DashLine"


def test_divergence_curves_receive_points(qtbot, make_panel):
    panel, link = make_panel(**{"data.name": "lines"})
    view = panel.divergences
    play(qtbot, link, steps=60)
    qtbot.waitUntil(lambda: view.point_count >= 2 and curve_len(view.curves["js"]) >= 2,
                    timeout=TIMEOUT)
    for column in ("js", "kl", "w1", "mmd"):
        assert curve_len(view.curves[column]) >= 2, column
    assert math.isclose(view.log2_line.value(), math.log(2))
    js = view.curves["js"].yData
    assert np.all(js <= math.log(2) + 1e-6)
    assert view.curves["modes"].xData is None or curve_len(view.curves["modes"]) == 0
    assert not view.mode_plots_shown  # lines has no modes: no mode plots to leave empty
    assert "JS" in view.readout.text() and "modes" not in view.readout.text()


def test_timeline_scrubs_back_and_returns_to_live(qtbot, make_panel):
    panel, link = make_panel(tab="Timeline")
    view = panel.timeline
    view.ring.min_interval = 0.0
    play(qtbot, link)
    qtbot.waitUntil(lambda: len(view.ring) >= 5, timeout=TIMEOUT)
    assert view.live and view.shown_step == view.ring[len(view.ring) - 1].step
    view.scrub_to(0)
    assert not view.live
    assert view.shown_step < view.latest_step
    assert f"step {view.shown_step}" in view.step_label.text()
    qtbot.waitUntil(lambda: view.latest_step > view.ring[0].step + 5, timeout=TIMEOUT)
    assert view.shown_step == view.ring[view.slider.value()].step  # scrubbed stays put
    view.replay_button.click()
    assert view.replay_timer.isActive()
    qtbot.waitUntil(lambda: view.live and not view.replay_timer.isActive(), timeout=TIMEOUT)
    assert view.slider.value() == len(view.ring) - 1


def test_compare_runs_a_changed_copy_and_shutdown_stops_it(qtbot, make_panel):
    panel, link = make_panel(tab="Compare")
    qtbot.waitUntil(lambda: panel.compare.compare_button.isEnabled(), timeout=TIMEOUT)
    compare = panel.compare
    compare.start("loss.name", "minimax")
    b = compare.link_b
    assert b is not None
    assert "A 0 · waits for B" in compare.steps.text().replace("&nbsp;", " ")
    a_steps_when_b_answered: list[int] = []
    b.applied.connect(lambda _ev: a_steps_when_b_answered.append(link.state.step))
    wait_ready(qtbot, b)
    assert a_steps_when_b_answered[0] == 0  # A waited for B: both start together
    assert b.state.config["loss"]["name"] == "minimax"
    assert b.state.config["seed"] == link.state.config["seed"]
    assert link.state.config["loss"]["name"] == "non-saturating"
    qtbot.waitUntil(lambda: compare.point_count("A") >= 5 and compare.point_count("B") >= 5,
                    timeout=TIMEOUT)
    qtbot.waitUntil(lambda: curve_len(compare.curves[("g_loss", "B")]) >= 5, timeout=TIMEOUT)
    assert "loss.name = minimax" in compare.title.text()
    assert b.alive and b.pid != link.pid  # B trains in its own process
    panel.shutdown()
    assert not b.alive and b.process.proc.poll() is not None
    assert compare.link_b is None


def test_a_replay_still_on_its_way_does_not_end_a_comparison_started_meanwhile(
        qtbot, make_panel):
    """The engine replays its state to a window that attaches (a ResetDone marked replay);
    Compare may start before that replay arrives. It is not the answer to Compare's own
    Reset of A: taking it for one made that answer end the comparison (B stopped, never
    ready; CI saw it twice)."""
    from engine.protocol import ResetDone

    panel, link = make_panel(tab="Compare")
    qtbot.waitUntil(lambda: panel.compare.compare_button.isEnabled(), timeout=TIMEOUT)
    compare = panel.compare
    compare.start("loss.name", "minimax")
    b = compare.link_b
    compare._on_reset_a(ResetDone(link.state.config, replay=True))  # the late replay
    assert compare._await_a_reset  # still waiting for A's answer to the Reset
    qtbot.waitUntil(lambda: not compare._await_a_reset, timeout=TIMEOUT)  # A's answer
    assert compare.link_b is b and compare.comparing
    wait_ready(qtbot, b)


def test_compare_dialog_validates_the_value(qtbot):
    from gui.insight.compare_dialog import CompareDialog

    dialog = CompareDialog(small_config())
    qtbot.addWidget(dialog)
    dialog.key_combo.setCurrentIndex(dialog.key_combo.findData("optim.d.lr"))
    dialog.editors["optim.d.lr"].setText("abc")
    dialog._try_accept()
    assert dialog.error.isVisibleTo(dialog) and "optim.d.lr" in dialog.error.text()
    assert dialog.result() == 0
    dialog.editors["optim.d.lr"].setText("0.0002")
    dialog._try_accept()
    assert dialog.result() == 1 and dialog.choice() == ("optim.d.lr", "0.0002")
    dialog.key_combo.setCurrentIndex(dialog.key_combo.findData("loss.name"))
    assert dialog.choice()[1] != "non-saturating"  # offers a different value first
    for key, editor in dialog.editors.items():
        assert editor.toolTip(), key


def test_a_rollback_takes_the_estimates_after_it_out_of_the_divergences_tab(qtbot, make_panel):
    """The curves dropped the rows after a rollback; the Divergences tab kept its estimates
    and drew the re-logged steps a second time beside them (found by a stale-views hunt)."""
    from engine.metrics import COLUMNS
    from engine.protocol import Diverged

    panel, link = make_panel(tab="Divergences")
    rows = np.full((3, len(COLUMNS)), np.nan)
    rows[:, 0] = [10_500, 11_000, 11_500]  # past anything the small engine logs meanwhile
    rows[:, COLUMNS.index("js")] = [0.5, 0.4, 0.3]
    link.metrics_received.emit(rows)
    mine = lambda: [s for s in panel.divergences.rows.column("step") if s >= 10_000]  # noqa: E731
    assert mine() == [10_500, 11_000, 11_500]
    link.diverged.emit(Diverged(11_510, "D loss became NaN", 10_990))
    assert mine() == [10_500]
    link.metrics_received.emit(rows[1:2])  # the step logged again after the rollback
    assert mine() == [10_500, 11_000]

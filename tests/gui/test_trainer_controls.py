"""The controls for R1/R2, instance noise, MMD and InfoGAN show only where they apply."""

from __future__ import annotations

from engine.config import default_config, with_changes
from gui.controls import ControlPanel


def _visible(panel: ControlPanel, key: str) -> bool:
    return panel.fields[key].widget.isVisibleTo(panel)


def test_new_keys_have_controls_shown_where_they_apply(qtbot):
    panel = ControlPanel(default_config())
    qtbot.addWidget(panel)
    for key in ("loss.r1", "loss.r2", "data.instance_noise", "loss.mmd_bandwidths",
                "loss.info_weight", "generator.codes", "data.instance_noise_steps"):
        assert key in panel.fields
    assert _visible(panel, "loss.r1") and _visible(panel, "data.instance_noise")
    assert not _visible(panel, "loss.mmd_bandwidths")
    assert not _visible(panel, "loss.info_weight")
    assert not _visible(panel, "data.instance_noise_steps")
    panel.show_config(with_changes(default_config(), {"loss.name": "mmd"}))
    assert _visible(panel, "loss.mmd_bandwidths")
    assert not _visible(panel, "loss.r1") and not _visible(panel, "data.instance_noise")
    panel.show_config(with_changes(default_config(), {"generator.codes": 8,
                                                      "data.instance_noise": 0.1}))
    assert _visible(panel, "loss.info_weight") and _visible(panel, "data.instance_noise_steps")
    # a change of data set rebuilds the data rows; the instance noise row stays
    panel.show_config(with_changes(default_config(), {"data.name": "grid25"}))
    assert "data.instance_noise" in panel.fields


def test_an_edit_sends_the_dotted_key(qtbot):
    panel = ControlPanel(default_config())
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.changes_requested) as sig:
        panel.fields["loss.r1"].widget.setValue(2.0)
    assert sig.args[0] == {"loss.r1": 2.0}


def test_the_plane_says_when_d_is_not_trained():
    from gui.views.plane import heatmap_note

    assert heatmap_note(default_config()) == ""
    assert "not trained" in heatmap_note(with_changes(default_config(), {"loss.name": "mmd"}))
    mb = with_changes(default_config(), {"discriminator.minibatch": "stddev"})
    assert "minibatch" in heatmap_note(mb)

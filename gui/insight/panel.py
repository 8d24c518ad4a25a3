"""The insight panel: every insight view in one tabbed widget, wired to an ``EngineLink``.

Usage (the main window)::

    from gui.insight import InsightPanel
    self.insight = InsightPanel(self.link, config=self.config,
                                torch_threads=torch_threads)  # connects to the link itself
    ...                          # place it: a tab next to the plots, or a dock
    self.insight.shutdown()      # in closeEvent, before self.link.stop()

``config`` (the session's config, optional) enables "Compare…" before the engine's first
``Applied`` arrives; ``torch_threads`` is what the comparison's second engine uses.

The panel asks the engine for extras (D*, arrows, D's field, the manifold, D on the fakes,
a finer 1-D grid) only while the tab that draws them is on screen: it declares them as its
own need (``link.set_view_need("insight", ...)``) and the link merges every owner's need
into the one request the engine computes.

Scrubbing the timeline. The timeline's controls (Replay, a slider, Live, one status line)
sit under every tab that draws frames (D vs D*, Arrows, G loss, 1-D, Timeline); dragging the
slider replays the recorded frame in the view on screen. Each frame carries the extras that
were asked for when it was recorded, so a tab replays what it drew live: scrub the D vs D*
tab to see D* back in time. The rest of the window can follow with two signals:

* ``frame_scrubbed(snapshot)``: a recorded ``engine.snapshot.Snapshot`` is now shown instead
  of the live frame (every slider move and replay tick). Draw it in the data plane or the
  image grids as if it had just arrived, and leave the live ``link.snapshot_ready`` frames
  undrawn meanwhile (``panel.scrubbing`` is True).
* ``returned_to_live()``: draw live frames again (the slider reached the end, Live was
  pressed, a replay ended, the panel or its frame tabs were left, a reset cleared it).

For example::

    self.insight.frame_scrubbed.connect(self._show_frame)      # plane / image view
    self.insight.returned_to_live.connect(self._redraw_latest)
    # and in the window's own snapshot slot: ``if self.insight.scrubbing: return``

Image data records frames too; the panel then offers only the Timeline tab (the other views
need densities an image set does not have), whose scrubbing drives the image view through
the same two signals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QProxyStyle, QStyle, QTabBar, QTabWidget, QVBoxLayout, QWidget

from engine.dataspecs import DATA_SPECS
from engine.protocol import Applied, Apply
from engine.snapshot import Snapshot, ViewRequest

from ..engine_link import EMPTY_VIEW, EngineLink
from ..views.pacing import FramePacer
from .compare import CompareView
from .compare_planes import run_view_request
from .divergence_view import DivergenceView
from .dstar_view import DStarView
from .field_view import FieldView
from .gen_loss_view import GenLossView
from .one_d_view import OneDView
from .requests import merge_view
from .timeline_view import TimelineView

TAB_TIPS = {
    "Divergences": "JS, KL, Wasserstein-1, MMD and the mode metrics over training steps",
    "D vs D*": "The learned discriminator next to the optimal one for the current generator",
    "Arrows & manifold": "Where G's loss pushes each fake, D's gradient field, and how G "
                         "warps a grid of noise",
    "Generator loss": "L_G as a function of D(G(z)), with this batch marked on the curve",
    "1-D": "The picture of the original GAN paper: densities, D, D* and z → G(z)",
    "Timeline": "Scrub back through recent frames and replay them",
    "Compare": "Train a copy of this session with one setting changed, side by side",
}
# what the tab bar shows: short enough for every tab to fit beside the plane at 1280x720
# (the names above stay the views' keys and head their tooltips)
TAB_TITLES = {
    "Divergences": "Divergences",
    "D vs D*": "D vs D*",
    "Arrows & manifold": "Arrows",
    "Generator loss": "G loss",
    "1-D": "1-D",
    "Timeline": "Timeline",
    "Compare": "Compare",
}
TAB_PADDING = 10  # px of room beside a tab's title (Fusion's own is 24)


class _CompactTabStyle(QProxyStyle):
    """The application's style with less room beside each tab's title: the size hint and
    the painted title both follow it, so a title is never elided while there is room."""

    def pixelMetric(self, metric: QStyle.PixelMetric, option: Any = None,  # noqa: N802
                    widget: Any = None) -> int:
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return TAB_PADDING
        return super().pixelMetric(metric, option, widget)


class CompactTabBar(QTabBar):
    """Tabs with less padding; never scroll arrows: when even that is too wide, the titles
    are elided (every tab stays one click away)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._style = _CompactTabStyle()  # kept: a widget does not own its style
        self.setStyle(self._style)
        self.setUsesScrollButtons(False)
        self.setElideMode(Qt.TextElideMode.ElideRight)
        self.setExpanding(False)


FRAME_VIEWS = ("D vs D*", "Arrows & manifold", "Generator loss", "1-D")
IMAGE_VIEWS = ("Timeline", "Compare")  # the views that apply to image data
IMAGE_OFF_TIP = ("Off for image data: this view needs densities (1-D or 2-D points); the "
                 "Timeline and Compare work with images")


def frame_signature(snap: Snapshot) -> tuple:
    """What tells two frames apart cheaply: the updates done, the loss, the data (a few
    real samples) and which extras the frame carries."""
    extras = tuple(getattr(snap, k) is not None for k in (
        "heatmap", "dstar", "arrows", "d_field", "manifold", "d_fake", "p_data"))
    return (snap.step, snap.d_updates, snap.g_updates, snap.loss_name, snap.dim, snap.box,
            snap.heat_box, snap.real[:8].tobytes(), snap.fake.shape, extras)


class InsightPanel(QWidget):
    """Tabs of insight views fed by ``link``; call ``shutdown()`` before the link stops."""

    frame_scrubbed = Signal(object)  # a recorded Snapshot is shown instead of the live one
    returned_to_live = Signal()      # live frames are drawn again

    def __init__(self, link: EngineLink, parent: QWidget | None = None, *,
                 torch_threads: int | None = 1,
                 config: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insight_panel")
        self.link = link
        self.config: dict[str, Any] | None = None
        self.latest: Snapshot | None = None
        self.pacer = FramePacer(self._draw_moved_tab, self)
        self._dim: int | None = None
        self._sent: ViewRequest | None = None
        self._closed = False
        self._drawn: tuple | None = None
        self._scrubbed: Snapshot | None = None
        self._row_step = 0.0  # the newest logged step (rows arrive in order with events)

        self.divergences = DivergenceView()
        self.dstar = DStarView()
        self.field = FieldView()
        self.gen_loss = GenLossView()
        self.one_d = OneDView()
        self.timeline = TimelineView()
        self.compare = CompareView(link, torch_threads=torch_threads)
        self.views: dict[str, QWidget] = {
            "Divergences": self.divergences,
            "D vs D*": self.dstar,
            "Arrows & manifold": self.field,
            "Generator loss": self.gen_loss,
            "1-D": self.one_d,
            "Timeline": self.timeline,
            "Compare": self.compare,
        }
        self.tabs = QTabWidget()
        self.tabs.setObjectName("insight_tabs")
        self.tabs.setTabBar(CompactTabBar())
        self.tabs.setDocumentMode(True)
        self._names = {id(view): name for name, view in self.views.items()}
        for i, (name, view) in enumerate(self.views.items()):
            self.tabs.addTab(view, TAB_TITLES[name].replace("&", "&&"))  # no mnemonic
            self.tabs.setTabToolTip(i, f"{name}: {TAB_TIPS[name]}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs, 1)
        # the timeline's scrub controls, under every tab that draws frames
        layout.addWidget(self.timeline.controls)

        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.field.extras_changed.connect(self.sync_view)
        self.one_d.switch_requested.connect(lambda changes: link.send(Apply(changes)))
        self.timeline.frame_scrubbed.connect(self._on_scrubbed)
        self.timeline.returned_to_live.connect(self._on_returned_to_live)
        self._connections = [
            (link.snapshot_ready, self._on_snapshot),
            (link.metrics_received, self._on_rows),
            (link.applied, self._on_config_event),
            (link.rejected, self._on_config_event),
            (link.reset_done, self._on_reset),
            (link.status_changed, self._on_status),
            (link.diverged, self._on_diverged),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)
        if config is not None:
            self._set_config(config)
        self._show_controls()

    # ------------------------------------------------------------------ public
    def current_name(self) -> str:
        """The name (a key of ``views``) of the tab on screen."""
        return self._names.get(id(self.tabs.currentWidget()), "")

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.views[name])

    @property
    def scrubbing(self) -> bool:
        """Whether a recorded frame is shown instead of the live one (see the module's
        docstring: ``frame_scrubbed`` / ``returned_to_live``)."""
        return self._scrubbed is not None

    @property
    def frame(self) -> Snapshot | None:
        """The frame the frame views draw: the scrubbed one, else the newest live one."""
        return self._scrubbed if self._scrubbed is not None else self.latest

    def extras(self) -> dict[str, Any]:
        """What the tab on screen needs from the engine beyond the base request."""
        name = self.current_name()
        dim = self.dim
        if name == "Compare":
            # A's side of a comparison, whatever the window itself shows
            view = run_view_request(dim)
            return {"images": view.images} if dim == 0 else {"n_fake": view.n_fake,
                                                              "n_real": view.n_real}
        if dim == 0:
            return {}
        if name == "D vs D*":
            return {"dstar": True, **(self.one_d.extras(self.config) if dim == 1 else {})}
        if name == "Arrows & manifold":
            return self.field.extras() if dim == 2 else {}
        if name == "Generator loss":
            return self.gen_loss.extras()
        if name in ("1-D", "Timeline") and dim == 1:
            return self.one_d.extras(self.config)
        return {}

    def need(self) -> ViewRequest | None:
        """What the panel needs from the engine now (None while it is hidden or closed)."""
        if self._closed or not self.isVisible():
            return None
        extras = self.extras()
        return merge_view(EMPTY_VIEW, extras) if extras else None

    def sync_view(self) -> None:
        """Tell the link what the tab on screen needs (it merges it with the others')."""
        if self._closed:
            return
        want = self.need()
        if want != self._sent:
            self._sent = want
            self.link.set_view_need("insight", want)

    @property
    def step(self) -> int:
        """The engine's step as far as the panel knows (the newest of its status, frames
        and metric rows)."""
        latest = self.latest.step if self.latest is not None else 0
        row = int(self._row_step) if np.isfinite(self._row_step) else 0
        return max(self.link.state.step, latest, row)

    @property
    def dim(self) -> int:
        """The data's dimension: 1 or 2 for points, 0 for images."""
        if self.config is not None:
            ds = DATA_SPECS.get(self.config.get("data", {}).get("name", ""))
            if ds is not None:
                return ds.dim
        return self._dim if self._dim is not None else 2

    def shutdown(self) -> None:
        """Stop the comparison run (worker joined) and the replay timer; disconnect; give
        the link back its base request. Safe to call twice."""
        if self._closed:
            return
        self.compare.shutdown()
        self.timeline.stop_replay()
        for signal, slot in self._connections:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        self.link.set_view_need("insight", None)
        self._sent = None
        self._closed = True

    # ------------------------------------------------------------------ Qt events
    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._on_tab_changed()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().hideEvent(event)
        self.timeline.set_active(False)
        self.timeline.go_live()  # no frozen frame anywhere without its controls in sight
        self.sync_view()

    # ------------------------------------------------------------------ tabs
    def scrubs(self, name: str) -> bool:
        """Whether tab ``name`` replays recorded frames (and shows the scrub controls): the
        timeline, and the frame views that apply to the current data."""
        dim = self.dim
        if name == "Timeline":
            return True
        if dim == 0 or name not in FRAME_VIEWS:
            return False
        return {"1-D": dim == 1, "Arrows & manifold": dim == 2}.get(name, True)

    def _on_tab_changed(self, *_: Any) -> None:
        name = self.current_name()
        self._show_controls()
        if not self.scrubs(name):
            self.timeline.go_live()
        self.timeline.set_active(self.isVisible() and name == "Timeline")
        self.sync_view()
        if self.isVisible():
            self._draw_current(force=True)

    def _show_controls(self) -> None:
        self.timeline.controls.setVisible(self.scrubs(self.current_name()))

    def _on_scrubbed(self, snap: Snapshot) -> None:
        self._scrubbed = snap
        if self.isVisible():
            self._draw_current()
        self.frame_scrubbed.emit(snap)

    def _on_returned_to_live(self) -> None:
        self._scrubbed = None
        if self.isVisible():
            self._draw_current(force=True)
        self.returned_to_live.emit()

    # ------------------------------------------------------------------ link events
    def _on_snapshot(self, snap: Snapshot) -> None:
        if snap.dim == self.dim and (snap.dim != 0 or snap.images_fake is not None):
            # image frames too (the timeline scrubs the image view); not a frame of the
            # other kind, nor an image frame asked for before the request caught up (empty)
            self.timeline.record(snap)
        if snap.dim == 0:
            return  # image data: no other view here applies
        self.pacer.frame_shown()  # the tabs that rows also move redraw with frames
        self.latest = snap
        self._dim = snap.dim
        if self.isVisible() and self._scrubbed is None:
            self._draw_current()
        self.sync_view()

    def _draw_current(self, force: bool = False) -> None:
        name = self.current_name()
        snap = self.frame
        if name == "Divergences":
            self.divergences.refresh(force=force)
        elif name == "Compare":
            self.compare.refresh(force=force)
        elif name in FRAME_VIEWS and snap is not None and snap.dim != 0:
            live = self._scrubbed is None
            key = (name, live, frame_signature(snap))
            if force or key != self._drawn:  # a paused engine re-sends the same frame
                self._drawn = key
                self.views[name].show_snapshot(snap, live=live)  # type: ignore[attr-defined]

    def _on_rows(self, rows: np.ndarray) -> None:
        if len(rows):
            self._row_step = max(self._row_step, float(np.nanmax(rows[:, 0])))
        self.divergences.add_rows(rows)
        self.pacer.request()

    def _on_diverged(self, ev: Any) -> None:
        """A rollback to ``ev.rolled_back_to``: the estimates logged after it are gone from
        the engine's history, so they go from the Divergences tab too (it drew the re-logged
        steps twice, beside the old run's); -1: nothing to drop."""
        back = int(ev.rolled_back_to)
        if back < 0:
            return
        self._row_step = min(self._row_step, float(back))
        self.divergences.drop_after(back)

    def _on_status(self, _status: Any) -> None:
        self.pacer.request()

    def _draw_moved_tab(self) -> None:
        """Redraw the tab on show, if it is one that rows and status move."""
        if self.isVisible() and self.current_name() in ("Divergences", "Compare"):
            self._draw_current()

    def _on_config_event(self, ev: Any) -> None:
        changes = getattr(ev, "changes", {}) or {}
        if isinstance(ev, Applied) and any(str(k).startswith("data.") for k in changes):
            # a new data set: the old one's divergences and modes describe something else
            self.divergences.restart(ev.config, self.step)
        self._set_config(ev.config)
        self.sync_view()

    def _set_config(self, config: dict[str, Any]) -> None:
        before = self.dim if self.config is not None else None
        self.config = config
        if before is not None and self.dim != before:
            # points and images (or 1-D and 2-D) draw in different views: a frame of the
            # other kind cannot be replayed, so the timeline starts again
            self.timeline.clear()
        self.divergences.set_config(config)
        self.dstar.set_config(config)
        self.compare.set_config(config)
        self.one_d.set_config(config)
        self.timeline.one_d.set_config(config)  # replays 1-D frames through its own view
        images = self.dim == 0
        for i, name in enumerate(self.views):
            # image data: the timeline (it scrubs the image view) and Compare (two image
            # grids) apply; the others need densities
            on = not images or name in IMAGE_VIEWS
            self.tabs.setTabEnabled(i, on)
            self.tabs.setTabToolTip(i, f"{name}: {TAB_TIPS[name]}" if on else IMAGE_OFF_TIP)
        if images and self.current_name() not in IMAGE_VIEWS:
            self.show_tab("Timeline")
        self._show_controls()
        if not self.scrubs(self.current_name()):
            self.timeline.go_live()

    def _on_reset(self, ev: Any) -> None:
        self._row_step = 0.0
        self.divergences.clear()
        self.dstar.clear()
        self.timeline.clear()
        self._set_config(ev.config)

"""The lecture layout: the plane beside one chosen plot, nothing else.

In front of a class the controls are noise and every pixel counts: the layout hides the
control panel, the right side's tab bar and every plot but the one chosen in the toolbar's
"Beside the plane" box (the curves one at a time, or an Insight view), and gives the plane
and that plot the whole width. Leaving it puts everything back as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

if TYPE_CHECKING:
    from .main_window import MainWindow

CURVE_CHOICES = (("loss", "Losses"), ("outputs", "D outputs"), ("grads", "Gradient norms"),
                 ("quality", "FID / IS"))


class LectureLayout:
    def __init__(self, window: MainWindow, toolbar: QToolBar) -> None:
        self.w = window
        self.active = False
        self.label = QLabel("  Beside the plane: ")
        self.chooser = QComboBox()
        self.chooser.setObjectName("lecture_plot")
        self.chooser.setToolTip("The one plot shown beside the plane in the lecture layout")
        for key, title in CURVE_CHOICES:
            self.chooser.addItem(title, ("curves", key))
        for name in window.insight.views:
            self.chooser.addItem(f"Insight: {name}", ("insight", name))
        self.chooser.currentIndexChanged.connect(lambda _: self._show_choice())
        self._actions = [toolbar.addWidget(self.label), toolbar.addWidget(self.chooser)]
        for a in self._actions:
            a.setVisible(False)
        self._saved: dict[str, object] = {}

    def toggle(self) -> None:
        self.set_active(not self.active)

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        w = self.w
        if on:
            self._saved = {
                "controls": w.scroll.isVisible(),
                "tab": w.right_tabs.currentIndex(),
                "tabbar": w.right_tabs.tabBar().isVisible(),
                "plots": {k: p.isVisibleTo(w.curves) for k, p in w.curves.plots.items()},
                "sizes": w.main_splitter.sizes(),
            }
            w.scroll.hide()
            w.right_tabs.tabBar().hide()
            self.active = True
            if w.showing_images and self.chooser.currentData() == ("curves", "loss"):
                self.chooser.setCurrentIndex(3)  # FID / IS: what an image run is judged by
            self._show_choice()
        else:
            self.active = False
            w.scroll.setVisible(bool(self._saved.get("controls", True)))
            w.right_tabs.tabBar().setVisible(bool(self._saved.get("tabbar", True)))
            for key, shown in dict(self._saved.get("plots", {})).items():  # type: ignore[arg-type]
                w.curves.plots[key].setVisible(bool(shown))
            w.right_tabs.setCurrentIndex(int(self._saved.get("tab", 0)))  # type: ignore[arg-type]
            sizes = self._saved.get("sizes")
            if sizes:
                w.main_splitter.setSizes(list(sizes))  # type: ignore[arg-type]
        for a in self._actions:
            a.setVisible(self.active)
        action = getattr(w, "lecture_action", None)
        if action is not None:
            action.setChecked(self.active)
        w.statusBar().showMessage("Lecture layout: the plane beside one plot (Ctrl+Shift+L to "
                                  "leave)" if self.active else "Lecture layout off", 4000)

    def _show_choice(self) -> None:
        if not self.active:
            return
        w = self.w
        kind, key = self.chooser.currentData()
        if kind == "curves":
            w.right_tabs.setCurrentWidget(w.curves)
            for k, plot in w.curves.plots.items():
                plot.setVisible(k == key)
        else:
            if not w.right_tabs.isTabEnabled(w.right_tabs.indexOf(w.insight)):
                w.statusBar().showMessage("The Insight views are for 1-D and 2-D data", 4000)
                return
            w.right_tabs.setCurrentWidget(w.insight)
            w.insight.show_tab(key)

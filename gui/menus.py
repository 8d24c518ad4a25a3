"""The menu bar. Every action has a status tip (shown as its help) and, where it is used
often, a shortcut; the Help ▸ Keyboard shortcuts table is generated from these actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

from .file_actions import EXPORT_SAMPLES

if TYPE_CHECKING:
    from .main_window import MainWindow


def make_action(parent: QWidget, text: str, slot: Callable[..., Any], shortcut: str = "",
                tip: str = "") -> QAction:
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    tip = tip or text.rstrip(".…")
    action.setStatusTip(tip)
    action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
    action.triggered.connect(lambda _=False: slot())
    return action


def build_menus(w: MainWindow) -> None:
    bar = w.menuBar()
    files = w.files

    file = bar.addMenu("&File")
    file.addAction(make_action(w, "Open preset…", files.open_preset, "Ctrl+O",
                               "Load a preset JSON file (after training: keep the networks "
                               "or start fresh)"))
    files.recent_menu = file.addMenu("Recent presets")
    files.recent_menu.aboutToShow.connect(lambda: files.populate_recent(prune=True))
    files.populate_recent()
    files.builtin_menu = file.addMenu("Built-in presets")
    files.builtin_menu.aboutToShow.connect(files.populate_builtin)
    files.populate_builtin()
    library = make_action(w, "Preset library…", files.show_library, "Ctrl+L",
                          "Browse the built-in presets with their descriptions")
    file.addAction(library)
    file.addAction(make_action(w, "Save preset", files.save_preset, "Ctrl+S",
                               "Save the settings to the current preset file (a built-in: "
                               "Save preset as)"))
    file.addAction(make_action(w, "Save preset as…", files.save_preset_as, "Ctrl+Shift+S",
                               "Save the settings as a new preset JSON file"))
    file.addSeparator()
    file.addAction(make_action(w, "Open session…", files.open_session, "Ctrl+Alt+O",
                               "Resume a saved session exactly (replaces the current one)"))
    file.addAction(make_action(w, "Open sweep…", files.open_sweep,
                               tip="Compare the runs of a sweep folder (main.py sweep); "
                                   "open one run's session here"))
    file.addAction(make_action(w, "Save session…", files.save_session, "Ctrl+Alt+S",
                               "Save both networks and optimizers, to resume later"))
    file.addAction(make_action(w, "Open generator…", files.open_generator, "Ctrl+Shift+G",
                               "Continue from a saved generator with a fresh discriminator"))
    file.addAction(make_action(w, "Save generator…", files.save_generator, "Ctrl+G",
                               "Save the generator (weights + config) for sampling"))
    file.addSeparator()
    file.addAction(make_action(w, "Import points CSV…", files.import_points_csv, "Ctrl+I",
                               "Use x,y rows of a CSV file as the real data"))
    export = file.addMenu("Export")
    export.addAction(make_action(w, "View as PNG…", files.export_view_png, "Ctrl+E",
                                 "Save the plots as a PNG image"))
    export.addAction(make_action(w, "Samples…", files.export_samples,
                                 tip=f"Save {EXPORT_SAMPLES:,} generated samples as .npy "
                                     "or .csv"))
    export.addAction(make_action(w, "Metrics CSV…", files.export_metrics,
                                 tip="Save the logged metrics (a row per logged step) as CSV"))
    board = make_action(w, "Log to TensorBoard…", w.toggle_tensorboard,
                        tip="Also write TensorBoard event files (scalars, sample pictures, "
                            "hparams) into a folder, a subfolder per session")
    board.setCheckable(True)
    w.tensorboard_action = board
    file.addAction(board)
    file.addSeparator()
    file.addAction(make_action(w, "Attach to engine…", w.attach_engine,
                               tip="Steer an engine started elsewhere with “python main.py "
                                   "serve” (through an ssh tunnel for another machine)"))
    file.addAction(make_action(w, "Detach from engine", w.detach_engine,
                               tip="Leave the attached engine training on its own; this "
                                   "window starts its own engine again"))
    file.addSeparator()
    quit_action = make_action(w, "Quit", w.close, "Ctrl+Q", "Stop training and quit")
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    file.addAction(quit_action)

    training = bar.addMenu("&Training")
    for name in ("play", "step", "step_d", "step_g", "reset"):
        training.addAction(w.transport.actions[name])
    training.addSeparator()
    training.addAction(w.transport.actions["slower"])
    training.addAction(w.transport.actions["faster"])
    training.addSeparator()
    for action in w.freeze.actions.values():
        training.addAction(action)

    view = bar.addMenu("&View")
    for i, (key, box) in enumerate(w.plane.layer_boxes.items(), start=1):
        view.addAction(make_action(w, f"Show {box.text()}",
                                   lambda k=key: w.plane.toggle_layer(k), str(i), box.toolTip()))
    view.addAction(make_action(w, "Draw points", w.plane.draw_button.toggle, "B",
                               "Toggle draw mode: paint real points on the plane"))
    view.addAction(make_action(w, "Fit plane", w.plane.fit, "F",
                               "Fit the plane view to the data box"))
    view.addAction(make_action(w, "Dismiss message", w.message.dismiss, "Esc",
                               "Hide the message line"))
    view.addSeparator()
    look = w.appearance
    zoom_in = make_action(w, "Zoom in", look.zoom_in, "Ctrl+=",
                          "Larger text, lines and markers in every view (for a projector)")
    zoom_in.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
    view.addAction(zoom_in)
    view.addAction(make_action(w, "Zoom out", look.zoom_out, "Ctrl+-",
                               "Smaller text, lines and markers in every view"))
    view.addAction(make_action(w, "Actual size", lambda: look.set_zoom(1.0), "Ctrl+0",
                               "Text, lines and markers at their normal size"))
    themes = view.addMenu("Theme")
    group = QActionGroup(w)
    for name, title in (("system", "Follow the system"), ("dark", "Dark"), ("light", "Light")):
        action = make_action(w, title, lambda n=name: look.set_theme(n),
                             tip=f"{title} colours (remembered)")
        action.setCheckable(True)
        action.setChecked(look.theme == name)
        action.setObjectName(f"theme_{name}")
        group.addAction(action)
        themes.addAction(action)
    full = make_action(w, "Full screen", w.toggle_full_screen, "F11",
                       "Fill the screen with the window (F11 again to leave)")
    full.setCheckable(True)
    w.full_screen_action = full
    view.addAction(full)
    lecture = make_action(w, "Lecture layout", w.lecture.toggle, "Ctrl+Shift+L",
                          "Hide the controls: the plane beside one chosen plot")
    lecture.setCheckable(True)
    w.lecture_action = lecture
    view.addAction(lecture)
    view.addSeparator()
    view.addAction(make_action(w, "Curves", lambda: w.right_tabs.setCurrentIndex(0), "Ctrl+1",
                               "Show the loss, D output and gradient-norm curves"))
    view.addAction(make_action(w, "Insight views", lambda: w.right_tabs.setCurrentIndex(1),
                               "Ctrl+2", "Show divergences, D vs D*, arrows, the generator "
                                         "loss, the 1-D picture, the timeline and Compare"))

    labs = bar.addMenu("&Labs")
    labs.addAction(make_action(w, "Games lab…", w.open_games_lab, "Ctrl+Alt+G",
                               "Gradient play on two-parameter games and the Dirac-GAN, "
                               "in a window of its own"))
    labs.addAction(make_action(w, "Divergences lab…", w.open_divergence_lab, "Ctrl+Alt+D",
                               "Fit one Gaussian to a two-Gaussian mixture by KL, reverse "
                               "KL, JS, W₁ and MMD², in a window of its own"))

    helpm = bar.addMenu("&Help")
    helpm.addAction(library)
    helpm.addAction(make_action(w, "Keyboard shortcuts", w.show_shortcuts, "F1",
                                "List every keyboard shortcut"))
    helpm.addAction(make_action(w, "About GAN Playground", w.show_about))

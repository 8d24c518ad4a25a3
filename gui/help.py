"""Help texts: the keyboard-shortcut table is generated from the window's own actions, so it
can never disagree with what the keys really do."""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

ABOUT = (
    "<h3>GAN Playground</h3>"
    "<p>Watch and steer GAN training by hand: swap the loss, normalization and architecture "
    "while training runs, draw your own data, and see D's view of the plane live.</p>"
    "<p>The engine trains on a worker thread (CUDA when present); this window only draws "
    "and sends commands.</p>"
)

EXTRA_SHORTCUTS = (
    ("Mouse wheel / right-drag", "Zoom a plot"),
    ("Left-drag", "Pan a plot (paint points in draw mode)"),
    ("Enter / Tab", "Apply an edited field"),
)


def shortcuts_html(window: QWidget) -> str:
    rows = []
    seen = set()
    for action in window.findChildren(QAction):
        seq = action.shortcut()
        if seq.isEmpty():
            continue
        key = seq.toString(QKeySequence.SequenceFormat.NativeText)
        name = action.text().replace("&", "").rstrip(".…")
        if (key, name) in seen:
            continue
        seen.add((key, name))
        rows.append((key, name, action.statusTip()))
    rows.sort(key=lambda r: r[1].lower())
    body = "".join(
        f"<tr><td><b>{escape(k)}</b></td><td>{escape(n)}</td>"
        f"<td style='color:#aab0ba'>{escape(t)}</td></tr>" for k, n, t in rows)
    body += "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(n)}</td><td></td></tr>"
                    for k, n in EXTRA_SHORTCUTS)
    return ("<table cellspacing='0' cellpadding='4'>"
            "<tr><th align='left'>Key</th><th align='left'>Action</th><th></th></tr>"
            f"{body}</table>")

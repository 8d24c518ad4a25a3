"""Insight views: what the lecture notes explain about GAN training, drawn live.

The entry point is ``InsightPanel(link)`` (``panel.py``): one widget with a tab per view
(divergences, D vs D*, gradient arrows and the generator manifold, the generator-loss
curve, the 1-D picture of the original GAN paper, a timeline of recent frames, and a
side-by-side comparison of two runs). Each view asks the engine for the extras it draws
(through the link's ``ViewRequest``) only while it is on screen.
"""

from .panel import InsightPanel

__all__ = ["InsightPanel"]

"""Live views: the data plane, the metric curves and the message line.

Every view builds its pyqtgraph items once and only updates them (``setData``/``setImage``)
from plain numpy data handed in by the main window's frame timer.
"""

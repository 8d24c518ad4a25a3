"""GAN Playground's desktop front end: PySide6 + pyqtgraph.

The GUI never imports torch. It drives training only through ``engine.runner.Runner``
(frozen commands in, plain-data events and snapshots out) and reads plain-data specs
(``engine.config.SCHEMA``, ``engine.datasets.DATA_SPECS``, ``engine.losses.LOSS_INFO`` ...) to
build its widgets, so a new loss or data set appears here without GUI changes.

Entry point: ``gui.app.run_app(config, preset_name)``.
"""

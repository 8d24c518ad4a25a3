"""The built-in presets, shipped as package data (``gan_playground_presets`` once installed).

Only JSON files live here; this file exists so that ``importlib.resources`` finds them in a
wheel install as in a clone (``engine.presets.PRESET_DIR``).
"""

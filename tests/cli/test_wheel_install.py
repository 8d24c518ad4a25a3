"""A normal (wheel) install works anywhere (issue #16): the built wheel carries every module
and the built-in presets, and its console script runs a preset from a folder far from the
clone.

The fresh venv sees the machine's site-packages (``--system-site-packages``) so that torch and
the other dependencies are not downloaded again; the project itself comes from the wheel only
(the test checks that the modules it ran are the wheel's, not the clone's)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", str(ROOT), "-w", str(out)], check=True, capture_output=True,
                   timeout=300)
    (found,) = out.glob("gan_playground-*.whl")
    return found


def _repo_files(*patterns: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for pat in patterns for p in ROOT.glob(pat)
            if "__pycache__" not in p.parts}


def test_the_wheel_holds_every_module_and_every_builtin_preset(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = _repo_files("engine/**/*.py", "gui/**/*.py") | {"main.py"}
    assert modules - names == set(), "modules missing from the wheel"
    presets = {"gan_playground_presets/" + p.removeprefix("presets/")
               for p in _repo_files("presets/*.json", "presets/games/*.json")}
    assert len(presets) > 10
    assert presets - names == set(), "built-in presets missing from the wheel"
    assert "gui/resources/icon.svg" in names


@pytest.mark.slow
def test_the_installed_console_script_runs_a_preset_from_any_folder(
        wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    run = subprocess.run(
        [str(bindir / "gan-playground"), "--headless", "--preset", "ring8", "--steps", "5",
         "--samples", "10", "--set", "train.metrics_every=0", "--out", "run"],
        cwd=away, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (away / "run" / "metrics.csv").stat().st_size > 0
    assert '"name": "ring8"' in (away / "run" / "preset.json").read_text()
    where = subprocess.run(
        [str(bindir / "python"), "-c",
         "import engine.presets as p; print(p.__file__); print(p.PRESET_DIR)"],
        cwd=away, env=env, capture_output=True, text=True, check=True, timeout=120)
    module, presets = where.stdout.split("\n")[:2]
    assert str(venv) in module and str(venv) in presets, where.stdout  # the wheel's, not the clone's
    games = subprocess.run(
        [str(bindir / "python"), "-c",
         "from engine.games import builtin_game_presets as b; print(len(b()))"],
        cwd=away, env=env, capture_output=True, text=True, check=True, timeout=120)
    assert int(games.stdout) >= 6

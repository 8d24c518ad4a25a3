"""``python main.py game ...``: one games-lab trajectory written as ``step,x,y`` CSV.

Flags are ``GameSettings``'s fields with ``-`` for ``_``, so the CSV equals
``engine.games.run`` with the same arguments. Bad input exits 2 with one line on stderr; a
trajectory that diverges (or a flow the solver cannot follow) writes the rows before it and exits
3, like a diverged headless run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from ..cliargs import OneLineParser as _Parser
from ..cliargs import fail as _fail
from .fields import GAMES, LOSSES, REGULARIZERS
from .player import MAX_STEPS, GamePlayer, GameStopped
from .presets import load_game_preset
from .rules import OPTIMIZERS, UPDATES
from .settings import NOISE_MODES, GameSettings, SettingError

DEFAULT_STEPS = 100
# flags whose value may start with "-" (a negative number), joined to them before parsing
_VALUE_FLAGS = ("--start", "--betas")


def parser() -> argparse.ArgumentParser:
    d = GameSettings()
    p = _Parser(prog="main.py game",
                description="Play a two-parameter game (x = G's θ minimises, y = D's ψ maximises) "
                            "and write its trajectory as step,x,y CSV.")
    add = p.add_argument
    add("--preset", default=None, help="a game preset (name or JSON path); flags override it")
    add("--game", choices=tuple(GAMES), default=None, help=f"default {d.game}")
    add("--loss", choices=tuple(LOSSES), default=None,
        help=f"Dirac-GAN loss (ignored by quadratic and bilinear); default {d.loss}")
    add("--reg", choices=tuple(REGULARIZERS), default=None,
        help=f"Dirac-GAN regularizer; default {d.reg}")
    add("--gamma", type=float, default=None, help=f"γ of r1/r2, λ of gp; default {d.gamma:g}")
    add("--clip", type=float, default=None, help=f"c of --reg clip; default {d.clip:g}")
    add("--noise-std", type=float, default=None,
        help=f"σ of --reg noise; default {d.noise_std:g}")
    add("--noise-mode", choices=NOISE_MODES, default=None,
        help=f"instance noise: exact expectation or one draw per gradient; default {d.noise_mode}")
    add("--gp-weight", type=float, default=None,
        help=f"λ of the wgan-gp loss's own penalty; default {d.gp_weight:g}")
    add("--update", choices=tuple(UPDATES), default=None, help=f"default {d.update}")
    add("--optim", choices=tuple(OPTIMIZERS), default=None, help=f"default {d.optim}")
    add("--lr", type=float, default=None, help=f"G's step η; default {d.lr:g}")
    add("--lr-d", type=float, default=None, help="D's step; default: --lr")
    add("--d-steps", type=int, default=None,
        help="D steps per G step (--update alternating); default 1")
    add("--momentum", type=float, default=None, help=f"heavy-ball β; default {d.momentum:g}")
    add("--betas", default=None, metavar="B1,B2",
        help=f"Adam's betas; default {d.betas[0]:g},{d.betas[1]:g}")
    add("--steps", type=int, default=None, help=f"steps after the start; default {DEFAULT_STEPS}")
    add("--start", default=None, metavar="X,Y",
        help="start point; default 1,1 (negative: --start=-1,0.5)")
    add("--seed", type=int, default=None, help=f"seed of sampled noise; default {d.seed}")
    add("--out", required=True, help="output CSV file (step,x,y; written atomically)")
    return p


def main(argv: list[str]) -> int:
    a = parser().parse_args(_join_values(argv))
    try:
        out = _check_out(a.out)
        preset = load_game_preset(a.preset) if a.preset is not None else None
    except ValueError as e:
        return _fail(str(e))
    base = preset.settings if preset else GameSettings()
    steps = a.steps if a.steps is not None else (preset.steps if preset else DEFAULT_STEPS)
    if not 0 <= steps <= MAX_STEPS:
        return _fail(f"--steps: got {steps}; allowed: an integer in [0, {MAX_STEPS}]")
    changes = {k: v for k, v in vars(a).items()
               if v is not None and k not in ("preset", "steps", "out")}
    try:
        player = GamePlayer(base.with_changes(**changes))
    except SettingError as e:
        return _fail(f"--{e.key.replace('_', '-')}: {str(e).split(': ', 1)[1]}")
    code, note = 0, ""
    try:
        player.step(steps)
    except GameStopped as e:
        code, note = 3, str(e)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    try:
        _atomic_write_text(out, csv_text(player.trajectory))
    except OSError as e:
        return _fail(f"--out: cannot write {out} ({e.strerror or e})")
    if code:
        return _fail(f"{note}, written to {out}", code)
    print(f"wrote {player.steps_done + 1} rows (step,x,y) to {out}")
    return 0


def csv_text(trajectory: np.ndarray) -> str:
    """``step,x,y`` then one row per point, floats as repr (shortest exact round trip)."""
    lines = ["step,x,y"]
    lines += [f"{i},{float(x)!r},{float(y)!r}" for i, (x, y) in enumerate(trajectory)]
    return "\n".join(lines) + "\n"


def _join_values(argv: list[str]) -> list[str]:
    """``--start -1,2`` → ``--start=-1,2``: argparse takes "-1,2" for a flag otherwise."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in _VALUE_FLAGS and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _check_out(out: str) -> Path:
    """Refuse an output path that cannot be a file before spending any time on the run."""
    path = Path(out)
    if not out.strip():
        raise ValueError("--out: got an empty path; allowed: a CSV file path")
    if path.is_dir():
        raise ValueError(f"--out: {out} is a folder; allowed: a CSV file path")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"--out: the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out: cannot write into the folder {str(parent)!r}")
    return path


def _atomic_write_text(path: Path, text: str) -> None:
    """A temporary file in the same folder, then ``os.replace``: readers never see half a file.

    Local on purpose: ``engine.checkpoints`` has the same helper but imports torch.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

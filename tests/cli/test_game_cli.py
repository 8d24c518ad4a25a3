"""``python main.py game``: the games lab's trajectory as step,x,y CSV.

Most cases call ``main.main()`` in this process (an uncaught exception fails the test as a
traceback would fail the user, and warnings are errors, so nothing stray reaches stderr); one
runs ``main.py`` in a subprocess to see exactly what a user sees.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import main as cli
from engine import games

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def call(*args: str) -> int:
    """main.main() as the command line runs it: argparse's exits become return codes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return cli.main(["game", *args])
        except SystemExit as e:
            return int(e.code or 0)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def as_array(rows: list[list[str]]) -> np.ndarray:
    return np.array([[float(x), float(y)] for _, x, y in rows])


def test_defaults_write_n_plus_one_rows_in_full_precision(tmp_path, capsys):
    out = tmp_path / "q.csv"
    assert call("--out", str(out)) == 0
    header, rows = read_csv(out)
    assert header == ["step", "x", "y"]
    assert len(rows) == 101 and [r[0] for r in rows] == [str(i) for i in range(101)]
    assert rows[0] == ["0", "1.0", "1.0"]
    expected = games.run()  # quadratic, lr 0.1, 100 steps, start (1, 1)
    for (_, x, y), (ex, ey) in zip(rows, expected):
        assert x == repr(float(ex)) and y == repr(float(ey))  # shortest exact round trip
    assert np.array_equal(as_array(rows), expected)
    captured = capsys.readouterr()
    assert captured.out == f"wrote 101 rows (step,x,y) to {out}\n" and captured.err == ""


def test_documented_defaults(tmp_path):
    out = tmp_path / "d.csv"
    assert call("--game", "dirac", "--steps", "40", "--out", str(out)) == 0
    expected = games.run(game="dirac", loss="non-saturating", reg="none", optim="sgd",
                         update="simultaneous", lr=0.1, lr_d=0.1, d_steps=1, start=(1.0, 1.0),
                         steps=40)
    assert np.array_equal(as_array(read_csv(out)[1]), expected)


@pytest.mark.parametrize("args,kw", [
    (["--game", "dirac", "--reg", "r1", "--gamma", "0.3", "--lr", "0.05", "--steps", "60"],
     dict(game="dirac", reg="r1", gamma=0.3, lr=0.05, steps=60)),
    (["--game", "bilinear", "--update", "alternating", "--d-steps", "3", "--lr-d", "0.02",
      "--start", "-0.5,2", "--steps", "30"],
     dict(game="bilinear", update="alternating", d_steps=3, lr_d=0.02, start=(-0.5, 2.0),
          steps=30)),
    (["--game", "dirac", "--loss", "hinge", "--update", "flow", "--steps", "10"],
     dict(game="dirac", loss="hinge", update="flow", steps=10)),
    (["--game", "dirac", "--reg", "noise", "--noise-mode", "sampled", "--noise-std", "0.5",
      "--seed", "4", "--steps", "25"],
     dict(game="dirac", reg="noise", noise_mode="sampled", noise_std=0.5, seed=4, steps=25)),
    (["--game", "dirac", "--optim", "adam", "--betas", "0.9,0.999", "--loss", "wgan-gp",
      "--gp-weight", "2", "--steps", "25"],
     dict(game="dirac", optim="adam", betas=(0.9, 0.999), loss="wgan-gp", gp_weight=2.0,
          steps=25)),
    (["--game", "dirac", "--optim", "momentum", "--momentum", "0.5", "--reg", "clip", "--clip",
      "0.2", "--update", "optimistic", "--steps", "25"],
     dict(game="dirac", optim="momentum", momentum=0.5, reg="clip", clip=0.2,
          update="optimistic", steps=25)),
])
def test_csv_equals_run_with_the_same_arguments(tmp_path, args, kw):
    out = tmp_path / "t.csv"
    assert call(*args, "--out", str(out)) == 0
    rows = read_csv(out)[1]
    assert len(rows) == kw["steps"] + 1
    assert np.array_equal(as_array(rows), games.run(**kw))


def test_preset_with_flags_on_top(tmp_path):
    out = tmp_path / "p.csv"
    assert call("--preset", "dirac_r1", "--out", str(out)) == 0
    preset = games.load_game_preset("dirac_r1")
    expected = games.run(steps=preset.steps, **preset.settings.as_dict())
    assert np.array_equal(as_array(read_csv(out)[1]), expected)
    assert call("--preset", "dirac_r1", "--gamma", "1", "--steps", "5", "--out", str(out)) == 0
    expected = games.run(steps=5, **{**preset.settings.as_dict(), "gamma": 1.0})
    assert np.array_equal(as_array(read_csv(out)[1]), expected)


BAD = [
    (["--game", "tennis"], "--game"),
    (["--steps", "-1"], "--steps"),
    (["--steps", "many"], "--steps"),
    (["--start", "1;x"], "--start"),
    (["--start", "1"], "--start"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr-d", "0"], "--lr-d"),
    (["--d-steps", "0", "--update", "alternating"], "--d-steps"),
    (["--reg", "r1"], "--reg"),  # the quadratic game has no discriminator input
    (["--preset", "no_such_game"], "no_such_game"),
]


@pytest.mark.parametrize("args,names", BAD)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, names):
    out = tmp_path / "bad.csv"
    assert call(*args, "--out", str(out)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert names in captured.err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_output_paths(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for out in (tmp_path, tmp_path / "missing" / "t.csv", a_file / "t.csv", ""):
        assert call("--steps", "3", "--out", str(out)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out") and err.count("\n") == 1, err


def test_output_is_replaced_whole_and_no_temp_file_is_left(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("old contents\n" * 1000)
    assert call("--steps", "2", "--out", str(out)) == 0
    assert read_csv(out)[0] == ["step", "x", "y"] and len(read_csv(out)[1]) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_divergence_writes_the_good_rows_and_exits_3(tmp_path, capsys):
    out = tmp_path / "div.csv"
    assert call("--game", "bilinear", "--lr", "5", "--steps", "10000", "--out", str(out)) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: diverged at step") and err.count("\n") == 1
    rows = read_csv(out)[1]
    assert 1 < len(rows) < 10001 and np.all(np.isfinite(as_array(rows)))


def test_help_exits_0(capsys):
    assert call("--help") == 0
    assert "--d-steps" in capsys.readouterr().out


def test_as_a_user_sees_it(tmp_path):
    # one subprocess (it pays for the torch import engine/__init__ still does); the good runs
    # above check stdout in-process, with warnings turned into errors
    bad = tmp_path / "bad.csv"
    fail = subprocess.run([sys.executable, "main.py", "game", "--lr", "0", "--out", str(bad)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert fail.returncode == 2 and fail.stdout == "" and "Traceback" not in fail.stderr
    assert fail.stderr == "error: --lr: got 0; allowed: a number in (0, 10]\n"
    assert not bad.exists()

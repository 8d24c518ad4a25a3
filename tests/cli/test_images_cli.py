"""The command line with image data: headless DCGAN runs, image samples, class labels, and
image files that are missing or broken (one line, exit 2, no traceback).

Headless runs and the contract's bad inputs run ``main.py`` in subprocesses, side by side;
the quality classifier's cache goes to a temporary folder.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120

DCGAN = ["--preset", "ring8", "--set", "data.name=digits", "--set", "data.size=8",
         "--set", "generator.arch=dcgan", "--set", "discriminator.arch=dcgan",
         "--set", "generator.width=4", "--set", "discriminator.width=4",
         "--set", "noise.dim=8", "--set", "train.batch_size=8",
         "--set", "train.metrics_every=0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("classifier-cache")
    return {**os.environ, "OMP_NUM_THREADS": "1", "GAN_PLAYGROUND_CACHE_DIR": str(cache)}


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, env):
    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", env["GAN_PLAYGROUND_CACHE_DIR"])


def run_all(env: dict[str, str], arg_lists: list[list[str]]) -> list[subprocess.CompletedProcess]:
    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(run, arg_lists))


def call_main(argv, capsys):
    """``main.main(argv)`` in this process: (exit status, stdout, stderr)."""
    import main

    try:
        rc = main.main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc: int, stdout: str, stderr: str) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert rc == 2, (rc, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {stderr!r}"
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, env):
    """In subprocesses, side by side: a tiny conditional digits DCGAN run, and a run asking
    for MNIST without saying where its files are."""
    base = tmp_path_factory.mktemp("runs")
    cond, mnist = base / "cond", base / "mnist"
    procs = run_all(env, [
        ["--headless", *DCGAN, "--set", "conditional=true", "--steps", "4", "--out", cond,
         "--samples", "12"],
        ["--headless", *DCGAN, "--set", "data.name=mnist", "--set", "data.size=16",
         "--steps", "3", "--out", mnist],
    ])
    return {"cond": (procs[0], cond), "mnist": (procs[1], mnist)}


def check_outputs(out: Path, png_size: tuple[int, int]) -> None:
    x = np.load(out / "samples.npy", allow_pickle=False)
    assert x.shape == (12, 1, 8, 8) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    with PIL.Image.open(out / "samples.png") as im:
        assert im.format == "PNG" and im.mode == "L"
        assert im.size == png_size
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1)) and rows
    assert {"fid", "inception_score", "modes"} <= set(rows[0])
    for name in ("preset.json", "generator.safetensors", "session.safetensors"):
        assert (out / name).stat().st_size > 0


def test_a_headless_conditional_dcgan_run_writes_images(runs):
    proc, out = runs["cond"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "samples.png" in proc.stdout
    # ten images of each class, a row per class: 10 x 10 tiles of 9 pixels, twice the size
    check_outputs(out, (182, 182))


def test_mnist_without_a_path_says_what_is_needed_and_trains_nothing(runs):
    proc, out = runs["mnist"]
    line = one_line_error(proc.returncode, proc.stdout, proc.stderr)
    assert "data.path" in line and "train-images-idx3-ubyte.gz" in line
    assert not (out / "metrics.csv").exists()


def test_sample_draws_the_asked_class(runs, env, tmp_path, capsys):
    from engine import load_generator

    _, cond = runs["cond"]
    gen = cond / "generator.safetensors"
    png = tmp_path / "x.png"
    (p,) = run_all(env, [["sample", gen, "--n", "20", "--out", png, "--label", "2"]])
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "20" in p.stdout
    with PIL.Image.open(png) as im:  # 20 images on 5 x 4 tiles, twice the size
        assert im.format == "PNG" and im.mode == "L" and im.size == (92, 74)
    # the images are the generator's for class 2
    npy = tmp_path / "x.npy"
    rc, _, err = call_main(["sample", gen, "--n", "20", "--out", npy, "--label", "2",
                            "--seed", "4"], capsys)
    assert rc == 0, err
    g = load_generator(str(gen))
    np.testing.assert_array_equal(np.load(npy), g.sample(20, seed=4, labels=2))
    assert not np.array_equal(np.load(npy), g.sample(20, seed=4, labels=3))


def test_an_unconditional_run_and_label_on_its_generator(tmp_path, capsys):
    out = tmp_path / "plain"
    rc, _, err = call_main(["--headless", *DCGAN, "--steps", "2", "--out", out,
                            "--samples", "12"], capsys)
    assert rc == 0, err
    check_outputs(out, (74, 56))  # the 12 samples on 4 x 3 tiles
    x = tmp_path / "x.png"
    rc, stdout, stderr = call_main(["sample", out / "generator.safetensors", "--n", "5",
                                    "--out", x, "--label", "2"], capsys)
    line = one_line_error(rc, stdout, stderr)
    assert "--label" in line and "not conditional" in line
    assert not x.exists()


def test_bad_labels_and_broken_image_files_exit_2_with_one_line(runs, tmp_path, capsys):
    _, cond = runs["cond"]
    pics = tmp_path / "pics" / "a"
    pics.mkdir(parents=True)
    PIL.Image.fromarray(np.zeros((8, 8), np.uint8)).save(pics / "fine.png")
    (pics / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    x = tmp_path / "x.png"
    cases = {
        "a label beyond the classes": (["sample", cond / "generator.safetensors", "--n", "5",
                                        "--out", x, "--label", "10"], ["labels", "0..9"]),
        "a negative label": (["sample", cond / "generator.safetensors", "--n", "5",
                              "--out", x, "--label", "-1"], ["--label", "0"]),
        "a broken picture": (["--headless", *DCGAN, "--set", "data.name=folder",
                              "--set", f"data.path={tmp_path / 'pics'}", "--set", "data.size=16",
                              "--steps", "3", "--out", out], ["broken.png"]),
        "conditional on points": (["--headless", "--preset", "ring8", "--set",
                                   "conditional=true", "--steps", "3", "--out", out],
                                  ["conditional", "labels"]),
        "DCGAN on points": (["--headless", "--preset", "ring8", "--set", "generator.arch=dcgan",
                             "--steps", "3", "--out", out], ["DCGAN", "image"]),
        "digits at a size it lacks": (["--headless", *DCGAN, "--set", "data.size=28",
                                       "--steps", "3", "--out", out], ["data.size"]),
    }
    for what, (argv, words) in cases.items():
        rc, stdout, stderr = call_main(argv, capsys)
        line = one_line_error(rc, stdout, stderr)
        for w in words:
            assert w in line, f"{what}: {w!r} not in {line!r}"
    assert not x.exists()
    assert not (out / "metrics.csv").exists(), "a rejected run started training"

"""The command line of DESIGN.md's contract: headless runs, scripted swaps, sampling, bad input.

The main run, ``sample`` and the bad inputs the contract names run ``main.py`` in a subprocess, as
a user would, so a traceback or a stray line on stderr is caught (side by side, to keep the suite
fast). Further cheap cases call ``main.main()`` in this process, where an uncaught exception
fails the test just as a traceback would fail the user.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

CONTRACT_COLUMNS = ["step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"]
TINY = ["--set", "generator.hidden=[16]", "--set", "discriminator.hidden=[16]",
        "--set", "train.batch_size=32"]
TIMEOUT = 120

# one intra-op thread: tiny networks gain nothing from more, and a busy machine punishes them
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=TIMEOUT)


def run_all(arg_lists):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda a: run(*a), arg_lists))


def _torch_has_cuda() -> bool:
    return torch.cuda.is_available()


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory):
    """One tiny headless run with a scripted swap at step 10, shared by the output checks."""
    out = tmp_path_factory.mktemp("run") / "out"
    proc = run("--headless", "--preset", "ring8", "--steps", "30", "--out", str(out), *TINY,
               "--at", "10:loss.name=minimax")
    return proc, out


def test_headless_run_succeeds_quietly(headless_run):
    proc, out = headless_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip() == "", proc.stderr
    assert str(out) in proc.stdout


def test_headless_run_writes_every_output(headless_run):
    _, out = headless_run
    for name in ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors",
                 "session.safetensors"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp")]


def test_metrics_csv_has_the_contract_columns_and_a_row_per_step(headless_run):
    _, out = headless_run
    with (out / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    with (out / "metrics.csv").open(newline="") as f:
        header = next(csv.reader(f))
    for col in CONTRACT_COLUMNS:
        assert col in header, col
    assert len(rows) == 30
    assert [int(r["step"]) for r in rows] == list(range(1, 31))
    for r in rows:
        vals = [float(r[c]) for c in CONTRACT_COLUMNS[1:]]
        assert all(np.isfinite(vals))
        # BCE losses throughout (non-saturating, then minimax): D's outputs are probabilities
        assert 0.0 <= float(r["d_real"]) <= 1.0 and 0.0 <= float(r["d_fake"]) <= 1.0


def test_samples_npy_holds_generated_points(headless_run):
    _, out = headless_run
    x = np.load(out / "samples.npy", allow_pickle=False)
    assert x.ndim == 2 and x.shape[1] == 2 and x.shape[0] >= 1
    assert np.isfinite(x).all()


def test_preset_json_is_the_effective_config_and_loads_as_a_preset(headless_run):
    from engine import load_preset

    _, out = headless_run
    cfg = load_preset(str(out / "preset.json"))
    assert cfg["generator"]["hidden"] == [16]
    assert cfg["discriminator"]["hidden"] == [16]
    assert cfg["train"]["batch_size"] == 32
    assert cfg["loss"]["name"] == "minimax"  # the --at swap was applied
    json.loads((out / "preset.json").read_text())


def test_a_headless_run_is_reproducible_in_another_process(headless_run):
    """The subprocess's samples equal the same run scripted in this process (CPU runs)."""
    if _torch_has_cuda():
        pytest.skip("device auto picks CUDA here; bitwise equality is only promised on CPU")
    from engine import Session, load_preset
    from engine.config import with_changes

    _, out = headless_run
    cfg = with_changes(load_preset("ring8"), {"generator.hidden": [16], "discriminator.hidden": [16],
                                              "train.batch_size": 32})
    s = Session(cfg)
    s.train(10)
    s.apply({"loss.name": "minimax"})
    s.train(20)
    np.testing.assert_array_equal(s.sample(2000), np.load(out / "samples.npy"))


def test_a_written_preset_runs_again(headless_run, tmp_path, capsys):
    _, out = headless_run
    again = tmp_path / "again"
    rc, _, err = call_main(["--headless", "--preset", out / "preset.json", "--steps", "2",
                            "--out", again], capsys)
    assert rc == 0, err
    from engine import load_preset

    assert load_preset(str(again / "preset.json")) == load_preset(str(out / "preset.json"))


def test_checkpoints_load_and_resume(headless_run):
    from engine import Session, load_generator

    _, out = headless_run
    s = Session.load(str(out / "session.safetensors"))
    assert s.step == 30
    assert s.config["loss"]["name"] == "minimax"
    assert len(s.history) == 30
    g = load_generator(str(out / "generator.safetensors"))
    z = np.random.default_rng(0).normal(size=(9, 2)).astype(np.float32)
    np.testing.assert_array_equal(g.generate(z), s.generate(z))
    s.train(2)


def call_main(argv, capsys):
    """``main.main(argv)`` in this process: (exit status, stdout, stderr). An uncaught exception
    fails the test, which is what a traceback would be for a user."""
    import main

    try:
        rc = main.main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_sample_command_writes_the_asked_number_of_points(headless_run, tmp_path):
    _, out = headless_run
    f = tmp_path / "a.npy"
    p = run("sample", str(out / "generator.safetensors"), "--n", "7", "--out", str(f))
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.strip() == ""
    a = np.load(f, allow_pickle=False)
    assert a.shape == (7, 2) and np.isfinite(a).all()


def test_sample_command_is_reproducible_from_its_seed(headless_run, tmp_path, capsys):
    _, out = headless_run
    gen = out / "generator.safetensors"
    files = [tmp_path / f"{i}.npy" for i in range(3)]
    for f, seed in zip(files, ["0", "0", "5"]):
        rc, _, err = call_main(["sample", gen, "--n", "50", "--out", f, "--seed", seed], capsys)
        assert rc == 0, err
    a, b, c = (np.load(f) for f in files)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def _head(out):
    return ["--headless", "--preset", "ring8", "--steps", "30", "--out", out, *TINY]


def test_bad_input_exits_non_zero_with_one_line_and_no_traceback(headless_run, tmp_path):
    """The bad inputs the contract names, each in a real subprocess."""
    _, good_dir = headless_run
    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint\n")
    out = str(tmp_path / "out")
    head = _head(out)
    cases = {
        "unknown preset": ["--headless", "--preset", "no-such-preset", "--steps", "5", "--out", out],
        "bad --set syntax": [*head, "--set", "generator.hidden"],
        "bad --at syntax": [*head, "--at", "loss.name=minimax"],
        "out-of-range value": [*head, "--set", "train.batch_size=0"],
        "--at beyond --steps": [*head, "--at", "40:loss.name=minimax"],
        "sample on a non-checkpoint file": ["sample", str(notes), "--n", "7",
                                            "--out", str(tmp_path / "x.npy")],
    }
    if not _torch_has_cuda():
        cases["--device cuda without CUDA"] = [*head, "--device", "cuda"]
    results = dict(zip(cases, run_all(list(cases.values()))))
    problems = [msg for what, p in results.items()
                for msg in _problems(what, p.returncode, p.stdout, p.stderr)]
    assert not problems, "\n".join(problems)
    assert not (tmp_path / "x.npy").exists()
    assert not (Path(out) / "metrics.csv").exists(), "a rejected run started training"
    # the message says what was wrong
    assert "no-such-preset" in results["unknown preset"].stderr
    assert "generator.hidden" in results["bad --set syntax"].stderr
    assert "--at" in results["bad --at syntax"].stderr
    assert "train.batch_size" in results["out-of-range value"].stderr
    assert "40" in results["--at beyond --steps"].stderr
    if "--device cuda without CUDA" in results:
        assert "cuda" in results["--device cuda without CUDA"].stderr.lower()


def _problems(what, rc, stdout, stderr):
    lines = stderr.strip().splitlines()
    if rc == 0:
        yield f"{what}: exit status 0"
    if "Traceback" in stderr + stdout:
        yield f"{what}: traceback:\n{stderr}"
    elif len(lines) != 1 or not lines[0].strip():
        yield f"{what}: expected one line on stderr, got {len(lines)}: {stderr!r}"


BAD_PRESETS = {
    "wrong types": '{"loss": {"name": 3}}',
    "unknown keys": '{"loss": {"nmae": "hinge"}}',
    "out-of-range values": '{"train": {"batch_size": 0}}',
    "a newer format": '{"format": 99}',
    "no content": "",
    "a list": "[1, 2]",
}


def test_more_bad_input_in_process(headless_run, tmp_path, capsys):
    """More bad inputs, through main.main() in this process (no interpreter start-up each)."""
    _, good_dir = headless_run
    notes = tmp_path / "notes.txt"
    notes.write_text("not a checkpoint\n")
    out = str(tmp_path / "out")
    head = _head(out)
    gen = str(good_dir / "generator.safetensors")
    x = str(tmp_path / "x.npy")
    cases = {
        "missing preset file": ["--headless", "--preset", str(tmp_path / "missing.json"),
                                "--steps", "5", "--out", out],
        "preset that is not JSON": ["--headless", "--preset", str(notes), "--steps", "5", "--out", out],
        **{f"preset with {name}": ["--headless", "--preset", str(tmp_path / f"{name}.json"),
                                   "--steps", "5", "--out", out] for name in BAD_PRESETS},
        "a folder as preset": ["--headless", "--preset", str(tmp_path) + "/", "--steps", "5",
                               "--out", out],
        "unknown --set key": [*head, "--set", "bogus.key=1"],
        "bad --at step": [*head, "--at", "ten:loss.name=minimax"],
        "negative --at step": [*head, "--at", "-3:loss.name=minimax"],
        "bad --at value": [*head, "--at", "5:loss.name=vanilla"],
        "bad --at key": [*head, "--at", "5:loss.nme=hinge"],
        "label above 1": [*head, "--set", "loss.real_label=1.5"],
        "empty hidden": [*head, "--set", "generator.hidden=[]"],
        "unknown loss": [*head, "--set", "loss.name=vanilla"],
        "unknown data set": [*head, "--set", "data.name=mnist"],
        "negative --steps": ["--headless", "--preset", "ring8", "--steps", "-5", "--out", out],
        "non-numeric --steps": ["--headless", "--preset", "ring8", "--steps", "abc", "--out", out],
        "--headless without --steps": ["--headless", "--preset", "ring8"],
        "--out is a file": ["--headless", "--preset", "ring8", "--steps", "3", "--out", str(notes)],
        "--device tpu": [*head, "--device", "tpu"],
        "unknown option": [*head, "--frobnicate"],
        "sample on a folder": ["sample", str(tmp_path), "--n", "7", "--out", x],
        "sample on a missing file": ["sample", str(tmp_path / "nope.safetensors"), "--n", "7", "--out", x],
        "sample on a session checkpoint": ["sample", str(good_dir / "session.safetensors"),
                                           "--n", "7", "--out", x],
        "sample on an empty file": ["sample", str(tmp_path / "empty.safetensors"), "--n", "7", "--out", x],
        "sample --n 0": ["sample", gen, "--n", "0", "--out", x],
        "sample --n abc": ["sample", gen, "--n", "abc", "--out", x],
        "sample without --out": ["sample", gen, "--n", "3"],
        "sample into a folder": ["sample", gen, "--n", "3", "--out", str(tmp_path)],
    }
    (tmp_path / "empty.safetensors").write_bytes(b"")
    for name, text in BAD_PRESETS.items():
        (tmp_path / f"{name}.json").write_text(text)
    problems = []
    for what, argv in cases.items():
        rc, stdout, stderr = call_main(argv, capsys)
        problems.extend(_problems(what, rc, stdout, stderr))
    assert not problems, "\n".join(problems)
    assert not Path(x).exists()
    assert not (Path(out) / "metrics.csv").exists(), "a rejected run started training"


def test_help_works():
    p = run("--help")
    assert p.returncode == 0 and "--headless" in p.stdout
    for command in ("sample", "serve", "game", "sweep"):  # the other commands are named
        assert f"main.py {command} " in p.stdout, command


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_scripted_swap_to_an_unavailable_device_fails_before_training(tmp_path, capsys):
    """run_headless: "Raises ValueError for bad input (before any training)"."""
    out = tmp_path / "out"
    rc, stdout, err = call_main([*_head(out), "--steps", "10", "--at", "5:device=cuda"], capsys)
    assert rc not in (0, None)
    assert list(_problems("--at 5:device=cuda", rc, stdout, err)) == []
    assert not (out / "metrics.csv").exists(), "training ran before the bad swap was refused"


def test_zero_steps_with_a_swap_at_step_zero(tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = call_main(["--headless", "--preset", "ring8", "--steps", "0", "--out", out,
                                 *TINY, "--at", "0:loss.name=hinge", "--samples", "5"], capsys)
    assert rc == 0, err
    from engine import load_preset

    assert load_preset(str(out / "preset.json"))["loss"]["name"] == "hinge"
    assert np.load(out / "samples.npy").shape == (5, 2)
    with (out / "metrics.csv").open() as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].split(",")[:7] == CONTRACT_COLUMNS


def test_a_swap_at_the_last_step_still_lands_in_preset_json(tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = call_main(["--headless", "--preset", "ring8", "--steps", "3", "--out", out, *TINY,
                            "--at", "3:optim.d.lr=0.0002", "--at", "1:train.d_steps=2"], capsys)
    assert rc == 0, err
    from engine import Session, load_preset

    cfg = load_preset(str(out / "preset.json"))
    assert cfg["optim"]["d"]["lr"] == 0.0002 and cfg["train"]["d_steps"] == 2
    s = Session.load(str(out / "session.safetensors"))
    assert (s.step, s.d_updates, s.g_updates) == (3, 5, 3)  # 1 + 2 + 2 D steps


def test_divergence_exits_3_with_one_line_and_writes_the_last_good_state(tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = call_main([
        "--headless", "--preset", "ring8", "--steps", "300", "--out", out, *TINY,
        "--set", "loss.name=least-squares", "--set", "optim.d.name=sgd", "--set", "optim.g.name=sgd",
        "--set", "optim.d.lr=1", "--set", "optim.g.lr=1"], capsys)
    assert rc == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "diverged" in lines[0] and "step" in lines[0]
    from engine import Session

    for name in ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors",
                 "session.safetensors"):
        assert (out / name).is_file(), name
    assert np.isfinite(np.load(out / "samples.npy")).all()
    s = Session.load(str(out / "session.safetensors"))
    for net in (s.generator, s.discriminator):
        assert all(bool(torch.isfinite(t).all()) for t in net.state_dict().values())

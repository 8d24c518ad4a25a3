"""The command line never prints a traceback: every refused input is one line and exit 2,
anything unexpected is one line and exit 1 naming the crash report, and interrupted or
diverged runs write the last good state's outputs."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "generator.hidden=[8]", "--set", "discriminator.hidden=[8]",
        "--set", "train.batch_size=16", "--set", "train.metrics_every=0"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def headless(out, steps=3, *extra):
    return ["--headless", "--steps", steps, "--out", out, *TINY, *extra]


@pytest.mark.parametrize("argv, words", [
    (["--set", "optim.d.lr=1" + "0" * 400], ["optim.d.lr"]),
    (["--set", "seed=" + "[" * 5000 + "]" * 5000], ["nested"]),
    (["--samples", "-1"], ["--samples"]),
    (["--samples", "10000001"], ["--samples"]),
    (["--threads", "0"], ["--threads"]),
    (["--seed", "1" + "0" * 40], ["--seed"]),
    (["--at", "2:loss.name=" + "[" * 3000], ["nested"]),
])
def test_absurd_command_line_values_are_one_line(cli, tmp_path, argv, words):
    line = cli.refused(*headless(tmp_path / "o"), *argv)
    for w in words:
        assert w in line, line


def test_a_deeply_nested_preset_file_is_one_line(cli, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"loss": ' + "[" * 5000 + "]" * 5000 + "}")
    assert "deep.json" in cli.refused(*headless(tmp_path / "o"), "--preset", deep)


def test_an_unwritable_out_folder_is_one_line(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        line = cli.refused(*headless(locked / "run"))
    finally:
        locked.chmod(0o700)
    assert "--out" in line and "run" in line


def test_an_out_path_under_a_file_is_one_line(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    line = cli.refused(*headless(tmp_path / "file" / "run"))
    assert "--out" in line


def test_sampling_into_a_folder_names_the_folder_not_a_temp_file(cli, tmp_path):
    rc, _, err = cli(*headless(tmp_path / "run"))
    assert rc == 0, err
    (tmp_path / "samples.npy").mkdir()
    line = cli.refused("sample", tmp_path / "run" / "generator.safetensors", "--n", "5",
                       "--out", tmp_path / "samples.npy")
    assert str(tmp_path / "samples.npy") in line and ".tmp" not in line


def test_sampling_a_fifo_is_refused_at_once(cli, tmp_path):
    fifo = tmp_path / "g.safetensors"
    os.mkfifo(fifo)
    assert "not a regular file" in cli.refused("sample", fifo, "--n", "5", "--out",
                                               tmp_path / "x.npy")


def test_an_unexpected_error_is_one_line_naming_the_crash_report(cli, tmp_path, monkeypatch):
    import engine.headless

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setenv("GAN_PLAYGROUND_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(engine.headless, "run_headless", boom)
    line = cli.refused(*headless(tmp_path / "o"), code=1)
    assert "ZeroDivisionError" in line and "full traceback in" in line
    report = Path(line.rsplit("full traceback in ", 1)[1].rstrip(")"))
    assert report.is_file() and "Traceback" in report.read_text()


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_a_new_run_keeps_the_older_runs_files_until_its_own_replace_them(cli, tmp_path):
    out = tmp_path / "run"
    rc, _, err = cli(*headless(out, 5))
    assert rc == 0, err
    old_metrics = (out / "metrics.csv").read_bytes()
    old_session = (out / "session.safetensors").read_bytes()
    proc = subprocess.Popen([sys.executable, "main.py", *map(str, headless(out, 10**6))],
                            cwd=ROOT, env=ENV, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    partial = out / "metrics.csv.partial"
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 300):
        time.sleep(0.05)
    assert partial.exists(), "the new run never started logging"
    assert (out / "metrics.csv").read_bytes() == old_metrics  # untouched while it runs
    proc.kill()
    proc.wait(30)
    assert (out / "metrics.csv").read_bytes() == old_metrics  # and after a kill -9
    assert (out / "session.safetensors").read_bytes() == old_session


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_write_the_last_good_states_outputs(tmp_path, sig, code):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "main.py", *map(str, headless(out, 10**6))],
                            cwd=ROOT, env=ENV, stderr=subprocess.PIPE, text=True)
    partial = out / "metrics.csv.partial"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 300):
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "outputs of the last good state written" in err
    for name in ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors",
                 "session.safetensors"):
        assert (out / name).is_file(), name
    assert not partial.exists()
    from engine import Session

    s = Session.load(str(out / "session.safetensors"))
    rows = _rows(out / "metrics.csv")
    assert int(rows[-1][0]) == s.step > 0
    assert np.isfinite(np.load(out / "samples.npy")).all()


def test_a_diverged_run_exits_3_with_a_log_that_ends_at_the_rollback(cli, tmp_path):
    out = tmp_path / "run"
    line = cli.refused("--headless", "--steps", "200", "--out", out,
                       "--set", "data.name=gaussian", "--set", "data.mean_x=100",
                       "--set", "data.mean_y=100", "--set", "data.std=100",
                       "--set", "train.metrics_every=1", "--set", "train.metrics_samples=100",
                       *TINY[:6], "--at", "20:optim.d.name=sgd", "--at", "20:optim.d.lr=1",
                       "--at", "20:optim.g.name=sgd", "--at", "20:optim.g.lr=1",
                       "--at", "20:loss.name=least-squares", code=3)
    assert "diverged" in line and "rolled back to step" in line
    back = int(line.split("rolled back to step ")[1].split(",")[0])
    rows = _rows(out / "metrics.csv")
    assert int(rows[-1][0]) == back
    from engine import Session

    assert Session.load(str(out / "session.safetensors")).step == back


def test_stale_temp_files_of_killed_writers_are_swept(tmp_path):
    from engine.atomic import TEMP_PREFIX, atomic_write_bytes

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{dead.pid}-abc"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f"{TEMP_PREFIX}{os.getppid()}-def"  # a live process's write in flight
    live.write_bytes(b"y")
    atomic_write_bytes(str(tmp_path / "file.bin"), b"data")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "file.bin").read_bytes() == b"data"

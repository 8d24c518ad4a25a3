"""``main.py sweep``: bad input refused in one line before anything runs; a tiny sweep on the
process pool writes every run, sweep.csv and sweep.png; rerunning resumes; another sweep's
folder is refused; failed, diverged and interrupted runs are handled run by run."""

from __future__ import annotations

import csv
import json
import signal
import sys
from pathlib import Path

import pytest

OUTPUTS = ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors",
           "session.safetensors", "run.json")
TINY = ["--set", "generator.hidden=[8]", "--set", "discriminator.hidden=[8]",
        "--set", "train.batch_size=32", "--set", "train.metrics_every=10",
        "--set", "train.metrics_samples=100", "--device", "cpu", "--samples", "50"]
GRID = ["--grid", "loss.name=minimax,non-saturating", "--grid", "generator.norm=none,batch"]


def sweep_args(out: Path, *extra: str, grid=GRID, seeds="0-1", steps="20") -> list[str]:
    return ["sweep", "--preset", "ring8", *grid, "--seeds", seeds, "--steps", steps,
            "--out", str(out), *TINY, *extra]


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "sweep.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: (p / "session.safetensors").stat().st_mtime_ns
            for p in (out / "runs").iterdir() if (p / "session.safetensors").exists()}


@pytest.mark.parametrize("argv, expected", [
    (["--grid", "loss.nam=minimax"], "loss.nam: unknown key"),
    (["--grid", "loss.name=minimax,nope"], "--grid loss.name: got 'nope'"),
    (["--grid", "generator.norm=none,batchy"], "--grid generator.norm: got 'batchy'"),
    ([], "an empty grid"),
    (["--grid", "loss.name="], "--grid loss.name: no values"),
    (["--grid", "loss.name"], "expected key=v1,v2"),
    (["--grid", "loss.name=minimax", "--seeds", "4-0"], "--seeds: the range 4-0 runs "
                                                        "backwards"),
    (["--grid", "loss.name=minimax", "--seeds", "a-b"], "--seeds: expected a range"),
    (["--grid", "loss.name=minimax", "--seeds", "0-2,1"], "seed 1 is given twice"),
    (["--grid", "loss.name=minimax", "--seeds", ""], "--seeds"),
    (["--grid", "loss.name=minimax", "--steps", "-5"], "--steps"),
    (["--grid", "loss.name=minimax", "--workers", "0"], "--workers"),
    (["--grid", "loss.name=minimax", "--preset", "no-such-preset"], "no built-in preset named"),
    (["--grid", "loss.name=minimax", "--scheduler", "http://x:1"],
     "--scheduler: expected local or tcp://HOST:PORT"),
    (["--grid", "loss.name=minimax", "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
     "--workers: a cluster's size"),
])
def test_bad_input_exits_2_in_one_line_before_anything_runs(cli, tmp_path, argv, expected):
    out = tmp_path / "sweep"
    base = ["sweep", "--steps", "20", "--out", str(out)]
    line = cli.refused(*base, *argv)
    assert expected in line, line
    assert not out.exists()


def test_an_unreachable_scheduler_is_named(cli, tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "sweep"
    line = cli.refused("sweep", "--grid", "loss.name=minimax", "--steps", "5", "--out", out,
                       "--scheduler", f"tcp://127.0.0.1:{port}")
    assert f"cannot reach a Dask scheduler at tcp://127.0.0.1:{port}" in line
    assert not out.exists()


def test_without_dask_the_scheduler_says_what_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    line = cli.refused("sweep", "--grid", "loss.name=minimax", "--steps", "5", "--out",
                       tmp_path / "s", "--scheduler", "local")
    assert "needs Dask" in line and '.[cluster]' in line


@pytest.fixture(scope="module")
def pool_sweep(tmp_path_factory) -> tuple[Path, int, str]:
    """2 x 2 settings x 2 seeds x 20 steps on a pool of 2 worker processes."""
    import main

    out = tmp_path_factory.mktemp("pool") / "sweep"
    rc = main.main(sweep_args(out, "--workers", "2"))
    return out, rc, ""


def test_a_tiny_sweep_writes_every_run_and_its_tables(pool_sweep):
    out, rc, _ = pool_sweep
    assert rc == 0
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 8
    for name in runs:
        for f in OUTPUTS:
            assert (out / "runs" / name / f).is_file(), (name, f)
        assert json.loads((out / "runs" / name / "run.json").read_text())["status"] == "done"
    table = rows(out)
    assert [r["run"] for r in table] == runs
    assert {(r["loss.name"], r["generator.norm"], r["seed"]) for r in table} == {
        (loss, norm, seed) for loss in ("minimax", "non-saturating")
        for norm in ("none", "batch") for seed in ("0", "1")}
    for r in table:
        assert r["status"] == "done" and r["message"] == "" and r["step"] == "20"
        for metric in ("modes", "high_quality", "js", "w1", "mmd"):
            assert r[metric] != "", (r["run"], metric)
        assert float(r["wall_s"]) > 0
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    definition = json.loads((out / "sweep.json").read_text())
    assert definition["seeds"] == [0, 1] and definition["steps"] == 20
    assert [g["key"] for g in definition["grid"]] == ["loss.name", "generator.norm"]
    # each run's preset.json is its own setting and seed
    preset = json.loads((out / "runs" / runs[7] / "preset.json").read_text())
    assert (preset["loss"]["name"], preset["generator"]["norm"], preset["seed"]) == (
        "non-saturating", "batch", 1)


def test_rerunning_the_same_command_skips_finished_runs(cli, pool_sweep):
    out, rc, _ = pool_sweep
    assert rc == 0
    before = mtimes(out)
    table = (out / "sweep.csv").read_text()
    rc, stdout, _ = cli(*sweep_args(out, "--workers", "2"))
    assert rc == 0
    assert "8 runs (8 finished before)" in stdout
    assert mtimes(out) == before
    assert (out / "sweep.csv").read_text() == table


@pytest.mark.parametrize("change, why", [
    (dict(steps="30"), "its steps are 20"),
    (dict(seeds="0-2"), "its seeds are 0-1"),
    (dict(grid=["--grid", "loss.name=minimax,hinge"]), "its grid is loss.name="),
])
def test_an_out_holding_another_sweep_is_refused(cli, pool_sweep, change, why):
    out, rc, _ = pool_sweep
    before = mtimes(out)
    definition = (out / "sweep.json").read_text()
    line = cli.refused(*sweep_args(out, **change))
    assert "holds a different sweep" in line and why in line, line
    assert mtimes(out) == before and (out / "sweep.json").read_text() == definition


def test_an_out_holding_other_files_is_refused(cli, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    line = cli.refused(*sweep_args(out))
    assert "holds files but no sweep.json" in line
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_failing_run_is_recorded_while_the_others_finish(cli, tmp_path, workers):
    """DCGAN on 2-D points fails when the run builds its networks (in this process with
    --workers 1, in a pool worker with 2); the MLP runs finish; rerunning tries only the
    failed runs again."""
    out = tmp_path / "sweep"
    args = sweep_args(out, "--workers", workers, grid=["--grid", "generator.arch=mlp,dcgan"])
    rc, stdout, err = cli(*args)
    assert rc == 1
    assert err.strip().splitlines()[-1].startswith("error: 2 of 4 runs failed")
    assert "Traceback" not in err
    table = rows(out)
    assert [r["status"] for r in table] == ["done", "done", "failed", "failed"]
    assert all("DCGAN needs image data" in r["message"] for r in table[2:])
    assert all(r["w1"] == "" for r in table[2:]) and all(r["w1"] for r in table[:2])
    before = mtimes(out)
    assert len(before) == 2
    rc, stdout, _ = cli(*args)
    assert rc == 1 and "(2 finished before)" in stdout
    assert mtimes(out) == before


def test_a_diverged_run_is_finished_with_its_last_good_state(cli, tmp_path, monkeypatch):
    import engine.headless as H
    from engine.session import TrainingDiverged

    real = H.run_headless

    def maybe_diverge(cfg, steps, out, *args, **kwargs):
        if cfg["loss"]["name"] == "minimax":
            real(cfg, 10, out, *args, **kwargs)
            raise TrainingDiverged(13, "g_loss is inf", rolled_back_to=10)
        return real(cfg, steps, out, *args, **kwargs)

    monkeypatch.setattr(H, "run_headless", maybe_diverge)
    out = tmp_path / "sweep"
    args = sweep_args(out, "--workers", "1", grid=["--grid", "loss.name=minimax,hinge"])
    rc, stdout, _ = cli(*args)
    assert rc == 0 and "2 done, 2 diverged, 0 failed" in stdout
    table = rows(out)
    assert [(r["status"], r["step"]) for r in table] == [
        ("diverged", "10"), ("diverged", "10"), ("done", "20"), ("done", "20")]
    assert "diverged at step 13" in table[0]["message"]
    rc, stdout, _ = cli(*args)  # diverged runs are finished: nothing runs again
    assert rc == 0 and "(4 finished before)" in stdout


def test_ctrl_c_stops_the_sweep_and_the_rerun_resumes(cli, tmp_path, monkeypatch):
    """The third run is interrupted (as run_headless reports Ctrl+C): the sweep stops with
    130, sweep.csv holds the two finished runs, and the rerun trains only the other two."""
    import engine.headless as H

    real = H.run_headless
    calls: list[int] = []

    def interrupt_third(cfg, steps, out, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise H.Interrupted(signal.SIGINT, 7)
        return real(cfg, steps, out, *args, **kwargs)

    monkeypatch.setattr(H, "run_headless", interrupt_third)
    out = tmp_path / "sweep"
    args = sweep_args(out, "--workers", "1", grid=["--grid", "loss.name=minimax,hinge"])
    rc, stdout, err = cli(*args)
    assert rc == 130
    assert "interrupted; 2 runs unfinished" in err.strip().splitlines()[-1]
    assert [r["status"] for r in rows(out)] == ["done", "done"]
    assert len(calls) == 3  # the fourth run never started
    before = mtimes(out)
    calls.clear()
    rc, stdout, _ = cli(*args)
    assert rc == 0 and "(2 finished before)" in stdout and len(calls) == 2
    assert len(rows(out)) == 4
    after = mtimes(out)
    assert all(after[k] == v for k, v in before.items())


@pytest.mark.parametrize("where", ["under-a-file", "a-file"])
def test_an_unwritable_out_exits_2_in_one_line(cli, tmp_path, where):
    """An --out that cannot be a folder (it is a file, or lies under one) is refused in one
    line naming --out, before any run starts."""
    blocker = tmp_path / "blocker"
    blocker.write_text("mine")
    out = blocker / "sweep" if where == "under-a-file" else blocker
    line = cli.refused(*sweep_args(out, "--workers", "2"))
    assert line.startswith("error: --out:") and str(blocker) in line, line
    assert blocker.read_text() == "mine"


def test_tensorboard_gets_a_folder_per_run(cli, tmp_path):
    from engine.tensorboard import read_events

    out, board = tmp_path / "sweep", tmp_path / "tb"
    rc, _, _ = cli(*sweep_args(out, "--workers", "1", "--tensorboard", str(board),
                               grid=["--grid", "loss.name=minimax,hinge"], seeds="0"))
    assert rc == 0
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert sorted(p.name for p in board.iterdir()) == runs
    for name in runs:
        tags = {v.tag for ev in read_events(board / name) for v in ev.summary.value}
        assert "loss/g" in tags, (name, sorted(tags)[:10])
    line = cli.refused(*sweep_args(tmp_path / "other", "--tensorboard",
                                   str(out / "sweep.csv")))
    assert line.startswith("error: --tensorboard:") and not (tmp_path / "other").exists()

"""Sweeps: the definition (grid, seeds), one run in a worker, the resume rule, the summaries,
and a Dask LocalCluster that loses a worker mid-run."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import string
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sweep import build_sweep, run_sweep
from engine.sweep.report import csv_text, png_bytes
from engine.sweep.spec import format_seeds, parse_grid_arg, parse_seeds, split_values
from engine.sweep.worker import MARKER, finished_result, run_one

TINY = ["generator.hidden=[8]", "discriminator.hidden=[8]", "train.batch_size=32",
        "train.metrics_every=10", "train.metrics_samples=100", 'device="cpu"']
OUTPUTS = ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors",
           "session.safetensors")


def tiny_sweep(grid, seeds="0-1", steps=20, sets=()):
    return build_sweep("ring8", list(grid), seeds, steps, [*TINY, *sets], None, 50)


# --------------------------------------------------------------------------- parsing
def _json_or_text(v) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


grid_values = st.one_of(
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.lists(st.integers(1, 1024), min_size=1, max_size=4),
    st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12)
    .filter(_not_json),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(grid_values, min_size=1, max_size=6))
def test_grid_values_round_trip(values):
    """Whatever the values (lists with their own commas included), key=v1,v2 reads back."""
    key, got = parse_grid_arg("some.key=" + ",".join(_json_or_text(v) for v in values))
    assert key == "some.key"
    assert got == values


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_grid_text_never_breaks_the_parser(text):
    try:
        key, values = parse_grid_arg(text)
    except ValueError as e:
        assert "\n" not in str(e)
    else:
        assert key and values
        assert len(split_values(text.partition("=")[2])) == len(values)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=30, unique=True))
def test_seeds_round_trip(seeds):
    assert parse_seeds(format_seeds(seeds)) == seeds


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_seed_text_is_read_or_refused_in_one_line(text):
    try:
        seeds = parse_seeds(text)
    except ValueError as e:
        assert str(e).startswith("--seeds") and "\n" not in str(e)
    else:
        assert seeds and len(set(seeds)) == len(seeds)


def test_seed_ranges():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("7") == [7]
    assert parse_seeds("0-2, 10") == [0, 1, 2, 10]
    for bad in ("4-0", "-1", "a", "", "0-2,2", "0-99999999999", "1.5"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


# --------------------------------------------------------------------------- the definition
def test_the_grid_is_every_combination_with_valid_configs():
    sw = tiny_sweep(["loss.name=minimax,wgan-gp", "generator.hidden=[8],[8,8]"], seeds="3-4")
    runs = sw.runs()
    assert len(runs) == sw.size == 8
    assert len({r.name for r in runs}) == 8
    assert [r.seed for r in runs[:2]] == [3, 4]
    for r in runs:
        assert r.config["seed"] == r.seed
        assert r.config["loss"]["name"] == r.setting[0]
        assert r.config["generator"]["hidden"] == r.setting[1]
        assert r.config["discriminator"]["hidden"] == [8]  # --set applies to every run
    assert runs[7].name.endswith("wgan-gp-8_8-seed4")
    assert sw.metric_columns() == ("modes", "high_quality", "mode_kl", "js", "kl", "w1", "mmd")


@pytest.mark.parametrize("grid, match", [
    ([], "empty grid"),
    (["loss.nam=minimax"], "loss.nam: unknown key"),
    (["loss.name=minimax,nope"], "--grid loss.name: got 'nope'"),
    (["loss.name="], "no values"),
    (["loss.name=minimax,,hinge"], "an empty value"),
    (["loss.name=minimax", "loss.name=hinge"], "given twice"),
    (["optim.d.lr=1e-3,0.001"], "given twice"),  # one value once normalised
    (["seed=1,2"], "--seeds"),
    (["train.batch_size=0"], "out of range"),
    (["data.turns=2,3"], "not a parameter of data set 'ring8'"),
    (["data.name=ring8,spiral", "data.std=0.01,0.05"], "in the setting data.name=spiral"),
])
def test_bad_grids_are_refused(grid, match):
    with pytest.raises(ValueError, match=match):
        tiny_sweep(grid)


def test_a_data_key_may_follow_a_data_name_in_the_grid():
    sw = tiny_sweep(["data.name=ring8,grid25", "data.std=0.01,0.05"], seeds="0")
    assert {(r.config["data"]["name"], r.config["data"]["std"]) for r in sw.runs()} == {
        ("ring8", 0.01), ("ring8", 0.05), ("grid25", 0.01), ("grid25", 0.05)}


def test_a_stored_definition_is_compared():
    sw = tiny_sweep(["loss.name=minimax,hinge"])
    stored = json.loads(json.dumps(sw.to_json()))
    assert sw.differs_from(stored) is None
    assert sw.differs_from({**stored, "preset": "elsewhere.json"}) is None
    assert "seeds are 0-4" in sw.differs_from({**stored, "seeds": [0, 1, 2, 3, 4]})
    assert "steps" in tiny_sweep(["loss.name=minimax,hinge"], steps=30).differs_from(stored)
    assert "grid" in tiny_sweep(["loss.name=minimax"]).differs_from(stored)
    other = tiny_sweep(["loss.name=minimax,hinge"], sets=["train.batch_size=64"])
    assert "train.batch_size" in other.differs_from(stored)


# --------------------------------------------------------------------------- one run
def _spec(sw, run, folder: Path):
    return {"index": run.index, "name": run.name, "folder": str(folder / run.name),
            "config": run.config, "steps": sw.steps, "samples": sw.samples, "seed": run.seed,
            "setting": dict(zip(sw.keys, run.setting))}


def test_a_run_writes_its_outputs_then_its_marker(tmp_path):
    sw = tiny_sweep(["loss.name=minimax"], seeds="0")
    run = sw.runs()[0]
    r = run_one(_spec(sw, run, tmp_path))
    folder = tmp_path / run.name
    assert r["status"] == "done" and r["step"] == 20
    assert sorted(r["outputs"]) == sorted(OUTPUTS)
    assert r["metrics"]["w1"] > 0 and r["metrics"]["modes"] is not None
    assert r["metrics"]["fid"] is None
    assert finished_result(folder)["status"] == "done"
    # the resume rule: all outputs and a finished marker, nothing less
    (folder / "samples.npy").unlink()
    assert finished_result(folder) is None


def test_final_metrics_are_measured_at_the_last_step(tmp_path):
    """25 steps with metrics every 10: the log's last slow metrics are from step 20, the
    sweep's are measured at step 25."""
    sw = tiny_sweep(["loss.name=minimax"], seeds="0", steps=25)
    run = sw.runs()[0]
    r = run_one(_spec(sw, run, tmp_path))
    import csv

    rows = list(csv.DictReader((tmp_path / run.name / "metrics.csv").open()))
    logged = [row for row in rows if row["w1"]]
    assert int(logged[-1]["step"]) == 20
    assert r["step"] == 25 and r["metrics"]["w1"] is not None
    assert r["metrics"]["w1"] != pytest.approx(float(logged[-1]["w1"]), rel=1e-9)


def test_a_failed_run_is_recorded_and_not_finished(tmp_path):
    sw = tiny_sweep(["generator.arch=dcgan"], seeds="0")
    run = sw.runs()[0]
    r = run_one(_spec(sw, run, tmp_path))
    assert r["status"] == "failed"
    assert "DCGAN needs image data" in r["message"] and "\n" not in r["message"]
    marker = json.loads((tmp_path / run.name / MARKER).read_text())
    assert marker["status"] == "failed" and "Traceback" in marker["traceback"]
    assert finished_result(tmp_path / run.name) is None


def test_a_diverged_run_keeps_its_last_good_state_and_is_finished(tmp_path, monkeypatch):
    import engine.headless as H
    from engine.session import TrainingDiverged

    real = H.run_headless

    def diverging(cfg, steps, out, *args, **kwargs):
        real(cfg, 10, out, *args, **kwargs)  # the outputs of the last good state: step 10
        raise TrainingDiverged(14, "d_loss is nan", rolled_back_to=10)

    monkeypatch.setattr(H, "run_headless", diverging)
    sw = tiny_sweep(["loss.name=minimax"], seeds="0")
    run = sw.runs()[0]
    r = run_one(_spec(sw, run, tmp_path))
    assert r["status"] == "diverged" and r["step"] == 10
    assert "diverged at step 14" in r["message"]
    assert r["metrics"]["w1"] is not None  # the last logged value (step 10)
    assert finished_result(tmp_path / run.name)["status"] == "diverged"


def test_an_interrupted_run_is_not_finished(tmp_path, monkeypatch):
    import engine.headless as H

    def interrupted(cfg, steps, out, *args, **kwargs):
        raise H.Interrupted(signal.SIGINT, 7)

    monkeypatch.setattr(H, "run_headless", interrupted)
    sw = tiny_sweep(["loss.name=minimax"], seeds="0")
    run = sw.runs()[0]
    r = run_one(_spec(sw, run, tmp_path))
    assert r["status"] == "interrupted" and r["signum"] == signal.SIGINT
    assert not (tmp_path / run.name / MARKER).exists()


# --------------------------------------------------------------------------- summaries
def _fake_results(sw):
    results = {}
    for i, r in enumerate(sw.runs()):
        status = ("done", "diverged", "failed")[i % 3]
        metrics = None if status == "failed" else {"modes": i, "high_quality": 0.1 * i,
                                                    "js": 0.5, "w1": 1.0 + i, "mmd": 0.01}
        results[r.name] = {"status": status, "step": 20, "metrics": metrics, "wall_s": 1.234,
                           "message": "boom" if status == "failed" else ""}
    return results


def test_sweep_csv_has_a_row_per_result_in_the_sweeps_order():
    import csv

    sw = tiny_sweep(["loss.name=minimax,hinge", "generator.hidden=[8],[8,8]"], seeds="0")
    runs = sw.runs()
    results = _fake_results(sw)
    del results[runs[1].name]  # not finished yet: no row
    rows = list(csv.DictReader(io.StringIO(csv_text(sw, runs, results))))
    assert [r["run"] for r in rows] == [runs[0].name, runs[2].name, runs[3].name]
    assert rows[1]["loss.name"] == "hinge" and rows[1]["generator.hidden"] == "[8]"
    assert rows[2]["generator.hidden"] == "[8,8]"
    assert rows[1]["status"] == "failed" and rows[1]["message"] == "boom"
    assert rows[1]["w1"] == "" and rows[0]["w1"] == "1" and rows[2]["w1"] == "4"
    assert rows[0]["wall_s"] == "1.23"


def test_sweep_png_shows_each_metric():
    from PIL import Image

    sw = tiny_sweep(["loss.name=minimax,hinge", "generator.hidden=[8],[8,8]"], seeds="0-2")
    runs = sw.runs()
    img = Image.open(io.BytesIO(png_bytes(sw, runs, _fake_results(sw))))
    empty = Image.open(io.BytesIO(png_bytes(sw, runs, {})))
    assert img.format == "PNG"
    assert img.height > empty.height  # a panel per metric with values (modes, hq, js, w1, mmd)
    assert img.convert("L").getextrema()[0] < 100  # dots and text drawn


# --------------------------------------------------------------------------- Dask
def _child_writing(folder: Path) -> int | None:
    """The pid of a process below this one with a run's log open in ``folder``."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            for f in child.open_files():
                if f.path.startswith(str(folder)) and f.path.endswith("metrics.csv.partial"):
                    return child.pid
        except (psutil.Error, OSError):
            continue
    return None


@pytest.mark.slow
def test_dask_local_cluster_reruns_a_killed_workers_run_and_records_failures(tmp_path):
    """Two worker processes; one is killed (SIGKILL) in the middle of a run: that run is done
    again elsewhere, a failing setting is recorded with its message, the rest finish."""
    pytest.importorskip("distributed")
    sw = tiny_sweep(["generator.arch=mlp,dcgan"], seeds="0-1", steps=400)
    out = tmp_path / "sweep"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not killed:
            pid = _child_writing(out / "runs")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    outcome = run_sweep(sw, out, workers=2, scheduler="local", progress=False,
                        log=io.StringIO())
    t.join(5)
    assert killed, "no run was seen in progress"
    statuses = {name: r["status"] for name, r in outcome.results.items()}
    assert len(statuses) == 4
    mlp = [r for r in sw.runs() if r.setting == ("mlp",)]
    dcgan = [r for r in sw.runs() if r.setting == ("dcgan",)]
    for r in mlp:
        marker = finished_result(out / "runs" / r.name)
        assert marker is not None and marker["status"] == "done" and marker["step"] == 400
        assert marker["pid"] != killed[0]
    for r in dcgan:
        assert statuses[r.name] == "failed"
        assert "DCGAN needs image data" in outcome.results[r.name]["message"]
    text = (out / "sweep.csv").read_text()
    assert text.count(",done,") == 2 and text.count(",failed,") == 2
    assert not math.isnan(outcome.wall_s)

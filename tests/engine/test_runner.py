"""The Runner: a session on a worker thread driven by commands, observed through events."""

from __future__ import annotations

import math
import time

import pytest

from engine import Snapshot, ViewRequest
from engine.runner import (
    Applied,
    Apply,
    Diverged,
    Failed,
    LoadConfig,
    Pause,
    Play,
    RateMeter,
    Rejected,
    Reset,
    ResetDone,
    Runner,
    Saved,
    SaveGenerator,
    SetView,
    Status,
    Step,
)

DEADLINE = 20.0  # generous: a busy CI machine; tests poll and finish as soon as they can


class Events:
    """Collects every event the runner emits and waits for one that matches."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.seen: list = []

    def wait_for(self, pred, what: str, timeout: float = DEADLINE):
        end = time.monotonic() + timeout
        start = 0  # self.seen holds only the events not consumed yet
        while True:
            self.seen.extend(self.runner.poll())
            for ev in self.seen[start:]:
                if pred(ev):
                    self.seen = self.seen[self.seen.index(ev) + 1:]
                    return ev
            start = len(self.seen)
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; last events: {self.seen[-5:]}")
            time.sleep(0.005)

    def status(self, pred, what):
        return self.wait_for(lambda e: isinstance(e, Status) and pred(e), what)


@pytest.fixture
def runner(make_config):
    made: list[Runner] = []

    def make(changes=None, **kw):
        kw.setdefault("torch_threads", 1)  # as the app does; tiny nets gain nothing from more
        r = Runner(make_config(changes), **kw)
        made.append(r)
        r.start()
        assert r.ready.wait(DEADLINE), "runner never became ready"
        return r, Events(r)

    yield make
    for r in made:
        assert r.stop(timeout=10.0), "worker thread still alive at teardown"
        assert not r.alive


def test_play_pause_and_single_steps(runner):
    r, ev = runner({"train.d_steps": 2})
    first = ev.wait_for(lambda e: isinstance(e, Applied), "the initial Applied")
    assert first.config["train"]["d_steps"] == 2
    r.send(Play())
    ev.status(lambda s: s.running and s.step >= 5, "training to reach step 5")
    r.send(Pause())
    paused = ev.status(lambda s: not s.running, "the paused status")
    d0, g0, step0 = paused.d_updates, paused.g_updates, paused.step
    assert (d0, g0) == (2 * step0, step0)
    # nothing moves while paused
    r.send(Step("d"))
    st = ev.status(lambda s: s.d_updates != d0, "a D step")
    assert (st.d_updates, st.g_updates, st.step) == (d0 + 1, g0, step0)
    assert not st.running
    r.send(Step("g"))
    st = ev.status(lambda s: s.g_updates != g0, "a G step")
    assert (st.d_updates, st.g_updates, st.step) == (d0 + 1, g0 + 1, step0)
    r.send(Step("iteration"))
    st = ev.status(lambda s: s.step != step0, "a full iteration")
    assert (st.d_updates, st.g_updates, st.step) == (d0 + 3, g0 + 2, step0 + 1)
    assert r.session.d_updates == d0 + 3 and r.session.g_updates == g0 + 2


def test_a_bad_apply_is_rejected_and_leaves_the_config_unchanged(runner):
    r, ev = runner()
    start = ev.wait_for(lambda e: isinstance(e, Applied), "the initial Applied").config
    r.send(Apply({"optim.d.lr": 1e-4, "loss.name": "vanilla"}))
    rej = ev.wait_for(lambda e: isinstance(e, Rejected), "Rejected")
    assert "loss.name" in rej.message
    assert rej.config == start
    assert r.session.config == start
    r.send(Apply({"optim.d.lr": 1e-4}))
    ok = ev.wait_for(lambda e: isinstance(e, Applied) and e.changes, "Applied")
    assert ok.changes == {"optim.d.lr": 1e-4}
    assert ok.config["optim"]["d"]["lr"] == 1e-4


def test_apply_while_playing(runner):
    r, ev = runner()
    r.send(Play())
    ev.status(lambda s: s.step >= 2, "training")
    r.send(Apply({"loss.name": "hinge", "generator.norm": "layer"}))
    ok = ev.wait_for(lambda e: isinstance(e, Applied) and e.changes, "Applied")
    assert ok.config["loss"]["name"] == "hinge"
    step = ev.status(lambda s: True, "a status").step
    ev.status(lambda s: s.step >= step + 3, "training to go on after the swap")


def test_reset_restarts_from_step_zero(runner):
    r, ev = runner()
    r.send(Step("iteration"))
    r.send(Step("iteration"))
    ev.status(lambda s: s.step == 2, "two iterations")
    r.send(Reset())
    ev.wait_for(lambda e: isinstance(e, ResetDone), "ResetDone")
    ev.status(lambda s: s.step == 0, "step 0 after reset")


def test_snapshots_reach_the_mailbox(runner):
    r, ev = runner()
    r.send(SetView(ViewRequest(n_fake=16, n_real=16, grid=8)))
    r.send(Step("iteration"))
    end = time.monotonic() + DEADLINE
    snap = None
    while snap is None and time.monotonic() < end:
        snap = r.take_snapshot()
        time.sleep(0.005)
    assert isinstance(snap, Snapshot)
    assert snap.fake.shape == (16, 2) and snap.heatmap.shape == (8, 8)


def test_stop_while_playing_ends_the_thread(make_config):
    r = Runner(make_config(), torch_threads=1)
    r.start()
    assert r.ready.wait(DEADLINE)
    ev = Events(r)
    r.send(Play())
    ev.status(lambda s: s.running and s.step >= 3, "training")
    assert r.stop(timeout=10.0)
    assert not r.alive


def test_stop_while_paused_ends_the_thread(make_config):
    r = Runner(make_config(), torch_threads=1)
    r.start()
    assert r.ready.wait(DEADLINE)
    assert r.stop(timeout=10.0)
    assert not r.alive
    assert r.stop(timeout=1.0)  # stopping twice is harmless


def test_divergence_pauses_the_worker_and_is_reported_as_data(runner):
    r, ev = runner({"loss.name": "least-squares", "optim.d.name": "sgd", "optim.g.name": "sgd",
                    "optim.d.lr": 1.0, "optim.g.lr": 1.0})
    r.send(Play())
    div = ev.wait_for(lambda e: isinstance(e, Diverged), "Diverged")
    assert "step" in div.message and ("NaN" in div.message or "inf" in div.message)
    ev.status(lambda s: not s.running, "the worker to pause")
    assert r.alive
    # the user lowers the learning rates and plays on
    r.send(Apply({"optim.d.lr": 1e-4, "optim.g.lr": 1e-4}))
    ev.wait_for(lambda e: isinstance(e, Applied) and e.changes, "Applied")
    r.send(Play())
    st = ev.status(lambda s: s.running, "running again")
    ev.status(lambda s: s.step >= st.step + 5, "training after the fix")
    r.send(Pause())
    ev.status(lambda s: not s.running, "paused")
    for net in (r.session.generator, r.session.discriminator):
        assert all(bool(t.isfinite().all()) for t in net.state_dict().values())


def test_bad_commands_are_reported_and_the_worker_lives_on(runner, tmp_path):
    r, ev = runner()
    r.send(Step("sideways"))
    failed = ev.wait_for(lambda e: isinstance(e, Failed), "Failed for a bad step kind")
    assert "sideways" in failed.message
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r.send(SaveGenerator(str(blocker / "g.safetensors")))  # a folder that is a file
    ev.wait_for(lambda e: isinstance(e, Failed), "Failed for an unwritable path")
    r.send(LoadConfig({"loss": {"name": "vanilla"}}))
    rej = ev.wait_for(lambda e: isinstance(e, Rejected), "Rejected for a bad config")
    assert "loss.name" in rej.message
    r.send(Step("iteration"))
    ev.status(lambda s: s.step == 1, "a step after the bad commands")
    assert r.alive


def test_load_config_and_save(runner, make_config, tmp_path):
    r, ev = runner()
    r.send(Step("iteration"))
    ev.status(lambda s: s.step == 1, "one iteration")
    r.send(LoadConfig(make_config({"loss.name": "hinge"})))
    ev.wait_for(lambda e: isinstance(e, ResetDone), "ResetDone")
    applied = ev.wait_for(lambda e: isinstance(e, Applied), "Applied")
    assert applied.config["loss"]["name"] == "hinge"
    ev.status(lambda s: s.step == 0, "a fresh session")
    path = tmp_path / "g.safetensors"
    r.send(SaveGenerator(str(path)))
    saved = ev.wait_for(lambda e: isinstance(e, Saved), "Saved")
    assert saved.path == str(path) and path.is_file()


def test_a_bad_start_config_falls_back_to_defaults_and_says_so():
    r = Runner({"loss": {"name": "vanilla"}, "generator": {"hidden": [16]},
                "discriminator": {"hidden": [16]}}, torch_threads=1)
    r.start()
    try:
        assert r.ready.wait(DEADLINE)
        ev = Events(r)
        failed = ev.wait_for(lambda e: isinstance(e, Failed), "Failed")
        assert "loss.name" in failed.message
        ev.wait_for(lambda e: isinstance(e, Applied), "Applied")
    finally:
        assert r.stop(timeout=10.0)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_rate_meter_counts_iterations_and_restarts():
    clock = FakeClock()
    m = RateMeter(clock)
    m.count(300)
    clock.t += 0.5
    assert m.update(True) == pytest.approx(600.0)
    m.count(-50)                    # a rollback: no work counted, nothing subtracted
    m.restart()                     # a reset: the measurement under way is dropped
    m.count(100)
    clock.t += 0.5
    assert m.update(True) == pytest.approx(200.0)  # the new run alone, not smoothed with the old
    m.count(200)
    clock.t += 0.5
    assert m.update(True) == pytest.approx(300.0)  # then smoothed
    clock.t += 0.25
    assert m.update(True) == pytest.approx(300.0)  # no measurement closed yet


def test_the_speed_never_goes_negative_after_a_reset_or_a_new_seed(runner):
    """The issue's -1,063 it/s: the old estimate took step differences, and a reset moves
    the step back to 0 while training runs on."""
    r, ev = runner()
    rates: list[float] = []

    def status(pred):
        def check(e):
            if isinstance(e, Status):
                rates.append(e.steps_per_second)
                return pred(e)
            return False
        return check

    r.send(Play())
    # run long enough that the step is several measurement windows' worth of iterations
    ev.wait_for(status(lambda e: e.steps_per_second > 0 and e.step > 4 * e.steps_per_second),
                "a few windows of training")
    for command in (Reset(), Apply({"seed": 3})):
        r.send(command)
        ev.wait_for(lambda e: isinstance(e, ResetDone), "the restart")
        first = ev.wait_for(status(lambda e: e.running), "a status")
        # two measurements after the restart
        second = ev.wait_for(status(lambda e, f=first: e.steps_per_second != f.steps_per_second),
                             "a new measurement")
        ev.wait_for(status(lambda e, s=second: e.steps_per_second != s.steps_per_second),
                    "another")
    assert all(math.isfinite(v) for v in rates) and min(rates) >= 0, min(rates)

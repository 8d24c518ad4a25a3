"""The worker never dies: whatever a command or a training step throws becomes an event,
the session is kept, and later commands work."""

from __future__ import annotations

import time

import pytest

from engine.runner import Apply, Failed, LoadConfig, Pause, Play, Rejected, Runner, Status, Step

DEADLINE = 20.0


def deep(n: int) -> dict:
    out: dict = {}
    cur = out
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]
    return out


class Watch:
    def __init__(self, runner: Runner) -> None:
        self.r = runner
        self.events: list = []

    def wait(self, pred, what: str):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            for i, e in enumerate(self.events):
                if pred(e):
                    del self.events[: i + 1]
                    return e
            self.events.extend(self.r.poll())
            time.sleep(0.005)
        raise AssertionError(f"no {what}; last events {self.events[-4:]}")

    def stepped_to(self, n: int) -> None:
        self.wait(lambda e: isinstance(e, Status) and e.step >= n, f"step {n}")


@pytest.fixture
def worker(make_config):
    r = Runner(make_config(), torch_threads=1)
    r.start()
    assert r.ready.wait(DEADLINE)
    yield r, Watch(r)
    assert r.stop(10.0)


@pytest.mark.parametrize("changes, words", [
    ({"optim.d.lr": 10**400}, ["optim.d.lr"]),
    ({"train.batch_size": 10**400}, ["train.batch_size", "out of range"]),
    ({"optim": deep(5000)}, ["nested deeper"]),
    ({"loss.real_label": float("nan")}, ["loss.real_label"]),
    ({"loss.gp_weight": float("inf")}, ["loss.gp_weight"]),
    ({"generator.hidden": [1024] * 8, "train.batch_size": 65536,
      "discriminator.minibatch": "discrimination"}, ["would need about", "GAN_PLAYGROUND_MEMORY_LIMIT"]),
    ({"data.points": [[0.0, 0.0]] * 20_001}, ["data.points"]),
    ("not a dict", ["mapping"]),
])
def test_hostile_changes_are_rejected_with_a_line_naming_the_problem(worker, changes, words):
    r, w = worker
    r.send(Apply(changes))
    rej = w.wait(lambda e: isinstance(e, Rejected | Failed), "a refusal")
    assert isinstance(rej, Rejected), rej
    assert "\n" not in rej.message and len(rej.message) < 400
    for word in words:
        assert word in rej.message, rej.message
    r.send(Step())
    w.stepped_to(1)
    assert r.alive


def test_an_unexpected_error_in_a_command_is_a_failed_event_and_the_worker_lives(worker,
                                                                                 monkeypatch):
    r, w = worker
    w.stepped_to(0)

    def broken(changes):
        raise RecursionError("deep inside a swap")

    monkeypatch.setattr(r.session, "apply", broken)
    r.send(Apply({"optim.d.lr": 1e-3}))
    failed = w.wait(lambda e: isinstance(e, Failed | Rejected), "an event for the error")
    assert "RecursionError" in failed.message or "deep inside" in failed.message
    monkeypatch.undo()
    r.send(Step())
    w.stepped_to(1)
    r.send(Apply({"optim.d.lr": 1e-3}))
    w.wait(lambda e: getattr(e, "changes", None) == {"optim.d.lr": 1e-3}, "the change applied")


def test_an_error_while_training_pauses_and_the_next_play_trains(worker, monkeypatch):
    r, w = worker
    import engine.session as session_module

    real = session_module.g_update
    calls = {"n": 0}

    def flaky(s, figures=True):
        calls["n"] += 1
        if calls["n"] == 3:
            raise MemoryError("the allocator said no")
        return real(s, figures)

    monkeypatch.setattr(session_module, "g_update", flaky)
    r.send(Play())
    failed = w.wait(lambda e: isinstance(e, Failed), "Failed from training")
    assert "MemoryError" in failed.message
    w.wait(lambda e: isinstance(e, Status) and not e.running, "paused after the error")
    step = r.session.step
    r.send(Play())
    w.stepped_to(step + 5)
    r.send(Pause())
    assert r.alive


def test_a_huge_network_in_a_new_config_is_refused_and_the_session_kept(worker, make_config):
    r, w = worker
    r.send(Step())
    w.stepped_to(1)
    huge = make_config({"discriminator.hidden": [1024] * 8, "generator.hidden": [1024] * 8,
                        "train.batch_size": 65536, "discriminator.minibatch": "discrimination"})
    r.send(LoadConfig(huge))
    rej = w.wait(lambda e: isinstance(e, Rejected), "Rejected")
    assert "would need about" in rej.message
    r.send(Step())
    w.stepped_to(2)


@pytest.mark.parametrize("what", ["session", "metrics", "apply"])
def test_a_command_that_meets_unchecked_iterations_that_diverged_reports_the_divergence(
        worker, tmp_path, what):
    """A save (or a change) landing on iterations no health check has seen, which diverged:
    the window hears Diverged, as from training (its views are cut back), then the command's
    own answer on the rolled-back state. It used to be a bare Failed("TrainingDiverged"),
    with no Saved for the window's save bookkeeping to wait on (found by a fault hunt)."""
    from engine.runner import Applied, Diverged, ExportMetrics, Saved, SaveSession
    from engine.session import TrainingDiverged

    r, w = worker
    r.send(Step())
    w.stepped_to(1)
    s = r.session
    real_flush, raised = s.flush, []

    def diverging_flush(*args, **kwargs):
        if not raised:
            raised.append(True)
            raise TrainingDiverged(9, "D loss became NaN", 1)
        return real_flush(*args, **kwargs)

    s.flush = diverging_flush
    s._since_check = 1  # as if iterations ran since the last check
    path = tmp_path / f"{what}.out"
    r.send({"session": SaveSession(str(path)), "metrics": ExportMetrics(str(path)),
            "apply": Apply({"optim.d.lr": 1e-4})}[what])
    got = w.wait(lambda e: isinstance(e, Diverged | Failed), "the divergence")
    assert isinstance(got, Diverged) and got.rolled_back_to == 1, got
    answer = w.wait(lambda e: isinstance(e, Saved | Applied | Failed | Rejected), "an answer")
    assert isinstance(answer, Applied if what == "apply" else Saved), answer
    if what != "apply":
        assert path.is_file()
    assert r.alive

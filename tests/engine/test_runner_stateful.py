"""Issue #10: a stateful test of the Runner — random commands at random moments, as a window
sends them while training runs — never kills the worker or leaves it unresponsive.

Rules send the transport (Play, Pause, Step of each kind, Reset, SetSpeed), valid changes
drawn from the config schema (``spec_draws``) and invalid ones, with short random waits
between, while the worker trains on a thread. Invariants: the worker is alive; no ``Failed``
event (an unexpected error) ever appears; every refused change names its key in one line
and leaves the config as it was; after every rule a Step is answered by a Status within the
deadline (the worker still listens)."""

from __future__ import annotations

import tempfile
import time
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine.runner import (
    Applied,
    Apply,
    Diverged,
    Failed,
    Pause,
    Play,
    Rejected,
    Reset,
    Runner,
    SetSpeed,
    Status,
    Step,
)

from .conftest import tiny
from .spec_draws import RandomSource, invalid_change, valid_change

DEADLINE = 30.0


class RunnerMachine(RuleBasedStateMachine):
    """One Runner on a tiny config, driven like a window would drive it."""

    def __init__(self) -> None:
        super().__init__()
        self.r: Runner | None = None
        self.config: dict[str, Any] = {}
        self.events: list[Any] = []

    @initialize()
    def start(self) -> None:
        self.r = Runner(tiny({"train.metrics_every": 0}), torch_threads=1)
        self.r.start()
        assert self.r.ready.wait(DEADLINE)
        self.wait_for(lambda e: isinstance(e, Applied), "the starting config")

    def teardown(self) -> None:
        if self.r is not None:
            assert self.r.stop(10.0), "the worker did not stop"

    # ------------------------------------------------------------------ helpers
    def drain(self, seconds: float = 0.0) -> None:
        end = time.monotonic() + seconds
        while True:
            for ev in self.r.poll():
                self.events.append(ev)
                if isinstance(ev, Applied):
                    self.config = ev.config
                assert not isinstance(ev, Failed), f"unexpected error: {ev.message}"
            if time.monotonic() >= end:
                return
            time.sleep(0.005)

    def wait_for(self, pred: Any, what: str) -> Any:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            for i, ev in enumerate(self.events):
                if pred(ev):
                    del self.events[: i + 1]
                    return ev
            self.drain(0.01)
        raise AssertionError(f"no {what} within {DEADLINE} s; last {self.events[-4:]}")

    # ------------------------------------------------------------------ rules
    @rule(wait=st.floats(0, 0.05))
    def play(self, wait: float) -> None:
        self.r.send(Play())
        self.drain(wait)

    @rule(wait=st.floats(0, 0.05))
    def pause(self, wait: float) -> None:
        self.r.send(Pause())
        self.drain(wait)

    @rule(kind=st.sampled_from(["iteration", "d", "g"]))
    def step(self, kind: str) -> None:
        self.r.send(Step(kind))
        self.drain(0.01)

    @rule()
    def reset(self) -> None:
        self.r.send(Reset())
        self.drain(0.01)

    @rule(speed=st.one_of(st.none(), st.floats(1.0, 500.0)))
    def speed(self, speed: float | None) -> None:
        self.r.send(SetSpeed(speed))
        self.drain(0.005)

    @precondition(lambda self: bool(self.config))
    @rule(seed=st.integers(0, 2**31 - 1))
    def valid(self, seed: int) -> None:
        changes = valid_change(RandomSource(seed), self.config)
        self.r.send(Apply(changes))
        ev = self.wait_for(lambda e: isinstance(e, Applied | Rejected | Diverged),
                           f"an answer to {changes}")
        if isinstance(ev, Rejected):  # e.g. a network too big for the memory limit
            assert "\n" not in ev.message

    @precondition(lambda self: bool(self.config))
    @rule(seed=st.integers(0, 2**31 - 1))
    def invalid(self, seed: int) -> None:
        with tempfile.TemporaryDirectory() as empty:
            _kind, changes = invalid_change(RandomSource(seed), self.config, empty)
            before = self.config
            self.r.send(Apply(changes))
            ev = self.wait_for(lambda e: isinstance(e, Rejected), f"a refusal of {changes}")
        assert "\n" not in ev.message, ev.message
        assert ev.config == before  # nothing of a refused change applied

    # ------------------------------------------------------------------ invariants
    @invariant()
    def alive_and_listening(self) -> None:
        if self.r is None:
            return
        assert self.r.alive
        self.r.send(Pause())
        self.r.send(Step())
        self.wait_for(lambda e: isinstance(e, Status) and not e.running, "a paused Status")


RunnerMachine.TestCase.settings = settings(max_examples=6, stateful_step_count=8,
                                          deadline=None)
TestRunnerMachine = RunnerMachine.TestCase

"""The parts of ``python -m gui.bench`` that decide its figures: each window slice is set
against the headless slices on either side of it, the kernel's counts of the training
thread add up, and the headless process trains for the slices it is given."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from gui.bench import GuiRound, Headless, ThreadUse


def test_each_window_slice_is_set_against_the_mean_of_its_neighbours():
    r = GuiRound(gui=[90.0, 100.0], headless=[100.0, 80.0, 120.0])
    assert r.ratios == pytest.approx([90 / 90, 100 / 100])


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_busiest_thread_is_the_one_measured_and_its_shares_add_up():
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    worker = threading.Thread(target=spin)
    worker.start()
    try:
        use = ThreadUse(__import__("os").getpid())
        time.sleep(0.5)  # this thread sleeps: the spinning one is the busiest
        got = use.since()
    finally:
        stop.set()
        worker.join()
    # the spinning thread wants a CPU the whole time (on one, or waiting for one on a
    # loaded machine); this one sleeps
    assert got["cpu"] + got["runqueue"] > 0.8
    assert got["cpu"] > got["others_cores"]
    assert got["cpu"] + got["runqueue"] + got["other"] == pytest.approx(1.0, abs=0.05)
    assert got["others_cores"] < 0.2  # this thread, asleep


def test_headless_trains_for_each_slice_it_is_given():
    h = Headless("ring8", 1)
    try:
        t0 = time.perf_counter()
        rates = [h.rate(0.3), h.rate(0.3)]
        took = time.perf_counter() - t0
    finally:
        h.close()
    assert all(r > 0 for r in rates)
    assert took >= 0.6
    assert h.proc.returncode == 0

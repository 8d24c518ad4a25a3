"""A signal can reach a headless run anywhere: metrics.csv must still end where the saved
session does, every step once, whatever the log was doing when it came."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from engine import Session
from engine import headless as H


def _read(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("call, written, torn", [
    (2, 0, False),    # the check logged step 64 and saved it; the signal came before the log got it
    (2, 11, False),   # ... came after the log wrote 11 of the 32 rows
    (3, 32, True),    # ... came after all rows, with a half-written line at the file's end
    (1, 0, False),    # ... came at the very first rows
])
def test_an_interrupt_while_rows_are_handed_to_the_log_leaves_no_step_out(
        tmp_path, make_config, monkeypatch, call, written, torn):
    calls = []
    write = H._CsvLog.__call__

    def interrupted(self, rows):
        calls.append(len(rows))
        if len(calls) < call:
            return write(self, rows)
        write(self, rows[:written])
        if torn:  # the last row again, one figure cut short, and its line never ended
            cells = H.format_row(rows[-1])
            cells[1] = cells[1][:4]
            self.file.write(",".join(cells))
            self.file.flush()
        raise KeyboardInterrupt  # what the run's SIGINT/SIGTERM handler raises

    monkeypatch.setattr(H._CsvLog, "__call__", interrupted)
    out = tmp_path / "run"
    with pytest.raises(H.Interrupted) as got:
        H.run_headless(make_config({"train.metrics_every": 0}), 10**6, out, n_samples=10)
    saved = Session.load(str(out / "session.safetensors"))
    rows = _read(out / "metrics.csv")
    assert rows[0][0] == "step"
    steps = [int(r[0]) for r in rows[1:]]
    assert steps == list(range(1, saved.step + 1))  # each step once, none past the session's
    assert saved.step == got.value.step > 0
    assert all(len(r) == len(rows[0]) for r in rows)
    logged = np.array([[float(c) if c else np.nan for c in r] for r in rows[1:]])
    np.testing.assert_array_equal(logged, saved.history.rows)  # the figures, not only steps
    assert not (out / "metrics.csv.partial").exists()

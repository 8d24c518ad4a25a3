"""Headless runs: a preset trained for N steps with scripted swaps, written to a folder.

Shared by ``main.py --headless`` and notebooks (``run_headless``). Every user error is a
ValueError whose message is the one line the command line prints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import config as C
from .atomic import atomic_write_bytes
from .metrics import COLUMNS, format_row
from .presets import load_preset, save_preset
from .session import Session, TrainingDiverged, resolve_device

OUTPUTS = ("metrics.csv", "samples.npy", "preset.json", "generator.safetensors", "session.safetensors")


@dataclass(frozen=True)
class Scheduled:
    """A scripted swap: ``changes`` applied once ``step`` generator iterations are done."""

    step: int
    changes: dict[str, Any]


def parse_at(text: str) -> Scheduled:
    """``STEP:key=value`` from ``--at``."""
    head, sep, rest = text.partition(":")
    if not sep:
        raise ValueError(f"--at: expected STEP:key=value, got {text!r}")
    try:
        step = int(head)
    except ValueError:
        raise ValueError(f"--at: STEP must be a whole number, got {head!r} in {text!r}") from None
    if step < 0:
        raise ValueError(f"--at: STEP must be >= 0, got {step}")
    key, value = C.parse_assignment(rest)
    return Scheduled(step, {key: value})


def build_config(preset: str, sets: Iterable[str] = (), seed: int | None = None,
                 device: str | None = None) -> dict[str, Any]:
    cfg = load_preset(preset)
    changes: dict[str, Any] = {}
    for text in sets:
        k, v = C.parse_assignment(text)
        changes[k] = v
    if seed is not None:
        changes["seed"] = seed
    if device is not None:
        changes["device"] = device
    return C.with_changes(cfg, changes)


def check_schedule(cfg: dict[str, Any], schedule: list[Scheduled], steps: int) -> None:
    """Validate every scripted swap before training starts, so a typo fails at once."""
    for item in schedule:
        if item.step > steps:
            raise ValueError(f"--at {item.step}: the run stops at step {steps}, so this never applies")
    probe = cfg
    for item in sorted(schedule, key=lambda s: s.step):
        if "seed" in C.flatten(item.changes):
            raise ValueError(f"--at {item.step}: a new seed restarts the run from step 0; "
                             "give it with --seed instead")
        probe = C.with_changes(probe, item.changes)
        resolve_device(probe["device"])  # refuse a missing device now, not mid-run


class _CsvLog:
    """metrics.csv, written as rows arrive so a long run can be watched (and survives a kill).

    Rows go to ``metrics.csv.partial``; the finished log replaces ``metrics.csv`` only when
    the run ends (finished, diverged or interrupted), together with the other outputs. So a
    run started in a folder that holds an older run never destroys the older files before
    its own replace them, and a killed run leaves them intact beside its partial log.
    """

    def __init__(self, out: Path) -> None:
        self.final = out / "metrics.csv"
        self.path = out / "metrics.csv.partial"
        try:
            self.file = self.path.open("w", newline="")
        except OSError as e:
            raise ValueError(f"--out: cannot write in {out}: {e.strerror or e}") from None
        self.writer = csv.writer(self.file)
        self.writer.writerow(COLUMNS)

    def __call__(self, rows: np.ndarray) -> None:
        for row in rows:
            self.writer.writerow(format_row(row))
        self.file.flush()

    def close(self) -> None:
        self.file.close()

    def finish(self, last_step: int, history: np.ndarray) -> None:
        """Put the log in place: the rows up to ``last_step`` (a rollback undid later ones),
        with any the session logged but the file never got appended from ``history``.

        A signal turns into an exception wherever the run is, also between the health
        check that logged a step and the call that hands its rows to this log, or halfway
        through writing them; the session then stands at that step while the file ends one
        check earlier, or mid-row. So a line without its terminator is dropped, and the
        rows after the file's last whole one come from the session's history (its recent
        rows are exact: only the older half of a long history is thinned).
        """
        self.close()
        with self.path.open(newline="") as f:
            text = f.read()
        whole = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
        rows = list(csv.reader(io.StringIO(whole, newline="")))
        body = [r for r in rows[1:] if len(r) == len(COLUMNS)]  # rows[0]: the header
        kept = [r for r in body if int(r[0]) <= last_step]
        newest = int(kept[-1][0]) if kept else -1
        tail = [format_row(r) for r in history if newest < r[0] <= last_step]
        if whole != text or len(kept) != max(len(rows) - 1, 0) or tail:
            buf = io.StringIO(newline="")
            csv.writer(buf).writerows([COLUMNS, *kept, *tail])
            atomic_write_bytes(str(self.path), buf.getvalue().encode())
        os.replace(self.path, self.final)


class Interrupted(Exception):
    """SIGINT or SIGTERM during a headless run; the last good state's outputs are written."""

    def __init__(self, signum: int, step: int, written: bool = True) -> None:
        name = {signal.SIGINT: "interrupted (Ctrl+C)", signal.SIGTERM: "terminated (SIGTERM)"}
        where = f"at step {step}" if written else "before training started (nothing written)"
        super().__init__(f"{name.get(signum, f'signal {signum}')} {where}")
        self.written = written
        self.signum = signum
        self.step = step
        self.exit_code = 128 + int(signum)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM become KeyboardInterrupt in the main thread (SIGTERM has no
    Python handler by default: it would end the run without writing anything)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: dict[str, int] = {}

    def handler(signum: int, frame: Any) -> None:
        got["signum"] = signum
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        raise _Signalled(got.get("signum", signal.SIGINT)) from None
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


class _Signalled(Exception):
    def __init__(self, signum: int) -> None:
        self.signum = signum


def write_outputs(session: Session, out: Path, n_samples: int) -> None:
    buf = io.BytesIO()
    samples = session.sample(n_samples)
    np.save(buf, samples)
    atomic_write_bytes(str(out / "samples.npy"), buf.getvalue())
    if samples.ndim == 4:  # images: a picture to look at, one row per class when conditional
        from .exports import write_samples

        k = session.classes
        grid = session.sample(k * 10, labels=np.arange(k * 10) // 10) if k else samples[:100]
        write_samples(grid, str(out / "samples.png"))
    save_preset(session.config, str(out / "preset.json"))
    session.save_generator(str(out / "generator.safetensors"))
    session.save(str(out / "session.safetensors"))


def run_headless(cfg: dict[str, Any], steps: int, out: str | Path,
                 schedule: list[Scheduled] | None = None, n_samples: int = 2000,
                 progress: bool | None = None, log: TextIO | None = None,
                 tensorboard: str | Path | None = None) -> Session:
    """Train ``cfg`` for ``steps`` iterations, applying ``schedule``, and write the outputs
    (and, with ``tensorboard``, TensorBoard event files into that folder).

    Raises ValueError for bad input (before any training), TrainingDiverged after writing
    the outputs of the last good state, and ``Interrupted`` (SIGINT/SIGTERM) likewise.
    """
    schedule = sorted(schedule or [], key=lambda s: s.step)
    steps = C.Param("int", 0, lo=0, hi=10**9).coerce("--steps", steps)
    n_samples = C.Param("int", 2000, lo=1, hi=10**6).coerce("--samples", n_samples)
    check_schedule(cfg, schedule, steps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--out: cannot create {out}: {e.strerror or e}") from None
    session: Session | None = None
    log_csv: _CsvLog | None = None
    board = None
    bar = None
    try:
        with _signals_raise():
            session = Session(cfg, progress=_work_reporter(log))
            log_csv = _CsvLog(out)
            session.add_listener(log_csv)
            if tensorboard is not None:
                from .tensorboard import TensorBoardLog

                board = TensorBoardLog(session, tensorboard)
                session.add_listener(board)
            bar = _progress(steps, progress)
            _train(session, steps, schedule, bar, log)
    except TrainingDiverged as e:
        assert session is not None and log_csv is not None
        _finish(session, out, n_samples, log_csv, e.rolled_back_to)
        raise
    except _Signalled as sig:
        if session is None or log_csv is None:
            raise Interrupted(sig.signum, 0, written=False) from None
        _finish(session, out, n_samples, log_csv, session.step)
        raise Interrupted(sig.signum, session.step) from None
    except BaseException:
        if log_csv is not None:
            log_csv.close()
        raise
    finally:
        if bar is not None:
            bar.close()
        if board is not None and session is not None:
            session.remove_listener(board)
            board.close(session.history.last())
    _finish(session, out, n_samples, log_csv, session.step)
    return session


def _train(session: Session, steps: int, schedule: list[Scheduled], bar: Any,
           log: TextIO | None) -> None:
    pending = list(schedule)
    while True:
        while pending and pending[0].step <= session.step:
            session.apply(pending.pop(0).changes)
        if session.step >= steps:
            break
        target = min(steps, pending[0].step) if pending else steps
        last = session.step
        session.train(target - session.step,
                      callback=lambda st: (bar.update(st - bar.n) if bar else None))
        if bar is None and log is not None and session.step != last:
            log.write(f"step {session.step}/{steps}\n")


def _finish(session: Session, out: Path, n_samples: int, log_csv: _CsvLog, last_step: int) -> None:
    """The outputs of the session's current (checked) state; the log goes in place last."""
    session.remove_listener(log_csv)
    write_outputs(session, out, n_samples)
    log_csv.finish(last_step, session.history.rows)


def _work_reporter(log: TextIO | None) -> Any:
    """Slow one-off work (reading images, training the quality classifier) as a line that
    updates itself on a terminal, or a first and last line in a log."""
    stream = sys.stderr
    tty = stream.isatty()
    state = {"text": None}

    def report(fraction: float, text: str) -> None:
        head = text.split(" (")[0]
        if tty:
            stream.write(f"\r{text} {100 * fraction:3.0f}%" + ("\n" if fraction >= 1 else ""))
            stream.flush()
        elif (fraction >= 1 or state["text"] != head) and log is not None:
            log.write(f"{text}{' done' if fraction >= 1 else '…'}\n")
        state["text"] = head

    return report


def _progress(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="it", desc="training", file=sys.stderr)


def summary(session: Session) -> str:
    last = session.history.last()
    parts = [f"step {session.step}"]
    for k in ("d_loss", "g_loss", "d_real", "d_fake"):
        if k in last:
            parts.append(f"{k} {last[k]:.4f}")
    if session.dataset.is_image:
        q = session.quality_scores(1000)
        if q is not None:
            parts.append(f"FID {q.fid:.1f}, KID {q.kid:.4f}, IS {q.inception:.2f}, "
                         f"{q.classes_seen} classes seen")
        return ", ".join(parts)
    ms = session.mode_stats()
    if ms is not None:
        parts.append(f"modes {ms.captured}/{ms.total}, {100 * ms.high_quality:.1f}% high quality")
    return ", ".join(parts)


__all__ = ["run_headless", "parse_at", "build_config", "Scheduled", "OUTPUTS", "summary",
           "Interrupted"]

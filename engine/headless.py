"""Headless runs: a preset trained for N steps with scripted swaps, written to a folder.

Shared by ``main.py --headless`` and notebooks (``run_headless``). Every user error is a
ValueError whose message is the one line the command line prints.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import config as C
from .checkpoints import atomic_write_bytes
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
    """metrics.csv, written as rows arrive so a long run can be watched (and survives a kill)."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(COLUMNS)

    def __call__(self, rows: np.ndarray) -> None:
        for row in rows:
            self.writer.writerow(format_row(row))
        self.file.flush()

    def close(self) -> None:
        self.file.close()


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
                 progress: bool | None = None, log: TextIO | None = None) -> Session:
    """Train ``cfg`` for ``steps`` iterations, applying ``schedule``, and write the outputs.

    Raises ValueError for bad input (before any training) and TrainingDiverged after
    writing the outputs of the last good state.
    """
    schedule = sorted(schedule or [], key=lambda s: s.step)
    if steps < 0:
        raise ValueError(f"--steps: must be >= 0, got {steps}")
    check_schedule(cfg, schedule, steps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--out: cannot create {out}: {e.strerror or e}") from None
    session = Session(cfg, progress=_work_reporter(log))
    log_csv = _CsvLog(out / "metrics.csv")
    session.add_listener(log_csv)
    bar = _progress(steps, progress)
    try:
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
    except TrainingDiverged:
        write_outputs(session, out, n_samples)
        raise
    finally:
        if bar is not None:
            bar.close()
        session.remove_listener(log_csv)
        log_csv.close()
    write_outputs(session, out, n_samples)
    return session


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
            parts.append(f"FID {q.fid:.1f}, IS {q.inception:.2f}, {q.classes_seen} classes seen")
        return ", ".join(parts)
    ms = session.mode_stats()
    if ms is not None:
        parts.append(f"modes {ms.captured}/{ms.total}, {100 * ms.high_quality:.1f}% high quality")
    return ", ".join(parts)


__all__ = ["run_headless", "parse_at", "build_config", "Scheduled", "OUTPUTS", "summary"]

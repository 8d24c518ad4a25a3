"""Random-swap fuzzer (issue #10): N random sessions x M random changes, outcomes counted.

    python scripts/fuzz_swaps.py --cases 1000                # 1,000 sessions x 6 changes
    python scripts/fuzz_swaps.py --cases 200 --changes 10 --workers 4 --seed 7
    python scripts/fuzz_swaps.py --replay 1234 --changes 6   # one case, every step printed

Not run by CI: the property suite (tests/engine/test_properties.py) is the bounded, shrinking
version of the same search. Each case is reproducible from its seed alone: a random tiny
config (every schema key drawn from its spec, tests/engine/spec_draws.py), then M times: a
refused change (a quarter of the time) or a valid change of 1-3 keys followed by 1-3
training steps, with samples, views and slow metrics now and then, and a save/load round
trip at the end. The checks are the suite's own (``Driver`` in test_properties.py).

Every change ends as one of: ``trained`` (a valid change, then training), ``diverged`` (a
valid change, then TrainingDiverged, then the advised recovery), ``refused`` (an invalid
change refused with the session unchanged) or ``failed`` (anything else: an exception other
than those two, or a broken property). Failures are printed with a line that replays them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

torch.set_num_threads(1)  # tiny networks: threads only add contention

import tests.engine.test_properties as props  # noqa: E402
from tests.engine.spec_draws import RandomSource  # noqa: E402

OUTCOMES = ("trained", "diverged", "refused", "failed")


def run_case(seed: int, changes: int, invalid: float = 0.25, verbose: bool = False
             ) -> tuple[int, Counter, str | None]:
    """(seed, outcome counts, failure report or None) of one case."""
    counts: Counter = Counter()
    log = io.StringIO()
    props.EVENT_SINK = events = []
    src = RandomSource(seed)
    with tempfile.TemporaryDirectory(prefix="gan-fuzz-") as folder:
        d = props.Driver(src, folder)
        out = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(log)
        try:
            with out:
                d.start()
                for _ in range(changes):
                    if src.rnd.random() < invalid:
                        d.apply_invalid()
                        counts["refused"] += 1
                        continue
                    d.apply_valid()
                    mark = len(events)
                    d.train()
                    counts["diverged" if "train: diverged" in events[mark:] else "trained"] += 1
                    look = src.rnd.random()
                    if look < 0.15:
                        d.snapshot()
                    elif look < 0.25:
                        d.metrics()
                    elif look < 0.35:
                        d.sample()
                d.save_and_load()
        except Exception:  # noqa: BLE001 - every unexpected error is a finding
            counts["failed"] += 1
            steps = log.getvalue().strip().splitlines()[-6:]
            report = "\n".join([
                f"case {seed}: {traceback.format_exc().strip().splitlines()[-1][:300]}",
                *(f"    {line[:300]}" for line in steps),
                f"    replay: python scripts/fuzz_swaps.py --replay {seed} --changes {changes}"
                f" --invalid {invalid}"])
            return seed, counts, report
        finally:
            props.EVENT_SINK = None
    return seed, counts, None


def _run(args: tuple[int, int, float]) -> tuple[int, Counter, str | None]:
    return run_case(*args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100, help="random sessions (default 100)")
    ap.add_argument("--changes", type=int, default=6, help="changes per session (default 6)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first case")
    ap.add_argument("--invalid", type=float, default=0.25,
                    help="share of the changes drawn invalid on purpose (default 0.25)")
    ap.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    ap.add_argument("--replay", type=int, metavar="SEED", help="run one case, printing each step")
    a = ap.parse_args(argv)
    if a.replay is not None:
        _, counts, report = run_case(a.replay, a.changes, a.invalid, verbose=True)
        print(dict(counts))
        if report:
            print(report)
        return 1 if report else 0
    jobs = [(a.seed + i, a.changes, a.invalid) for i in range(a.cases)]
    total: Counter = Counter()
    failures: list[str] = []
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if a.workers > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(a.workers))
            results = pool.imap_unordered(_run, jobs)
        else:
            results = map(_run, jobs)
        for done, (_, counts, report) in enumerate(results, 1):
            total.update(counts)
            if report:
                failures.append(report)
                print(report, flush=True)
            if done % 50 == 0 or done == len(jobs):
                print(f"[{done}/{len(jobs)} cases, {time.perf_counter() - start:.0f} s] "
                      + ", ".join(f"{k} {total[k]}" for k in OUTCOMES), flush=True)
    n = sum(total[k] for k in OUTCOMES)
    print(f"\n{a.cases} cases x {a.changes} changes = {n} changes in "
          f"{time.perf_counter() - start:.0f} s: "
          + ", ".join(f"{k} {total[k]}" for k in OUTCOMES)
          + f"; {len(failures)} failing case(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""CLI tests run main.py in subprocesses (OMP_NUM_THREADS=1) and, for cheap cases, in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# in-process runs: tiny networks gain nothing from intra-op threads, and a busy machine
# makes OpenMP's spinning threads slow every step down
torch.set_num_threads(1)


class Cli:
    """``main.main(argv)`` in this process, as a user would meet it."""

    def __init__(self, capsys) -> None:
        self.capsys = capsys

    def __call__(self, *argv) -> tuple[int, str, str]:
        """(exit status, stdout, stderr). An uncaught exception fails the test, which is
        what a traceback would be for a user."""
        import main

        try:
            rc = main.main([str(a) for a in argv])
        except SystemExit as e:  # argparse's own errors
            rc = e.code
        out, err = self.capsys.readouterr()
        return rc, out, err

    def refused(self, *argv, code: int = 2) -> str:
        """The single stderr line of a refused command (no traceback)."""
        rc, out, err = self(*argv)
        assert rc == code, (rc, err)
        assert "Traceback" not in out + err, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
        return lines[0]


import pytest  # noqa: E402


@pytest.fixture
def cli(capsys) -> Cli:
    return Cli(capsys)

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

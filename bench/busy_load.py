"""Busy-loop processes that raise the machine's load average for a benchmark run.

>>> # with busy(4): run the benchmark  (load average climbs towards 4 + the bench itself)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _spin() -> None:
    while True:
        pass


@contextmanager
def busy(processes: int, settle_seconds: float = 0.0) -> Iterator[None]:
    """Run `processes` busy loops for the duration of the block (0: none).

    `settle_seconds`: wait first, so the 1-minute load average has climbed."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_spin, daemon=True) for _ in range(processes)]
    for p in procs:
        p.start()
    try:
        if processes and settle_seconds:
            time.sleep(settle_seconds)
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)


def load_average() -> str:
    """The 1-minute load average and the cores, as the tables print it."""
    return f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"

"""Per-stage figures for long benchmarks: wall, CPU, peak resident memory, load average.

CPU counts this process (all its threads: DuckDB's, SQLite's) plus its child processes
(Spark's JVM), so a stage run by a child is not reported as idle. Peak memory is the
highest resident set of this process and its children during the stage: the kernel's
high-water mark of this process is reset at the start of a stage (`/proc/self/clear_refs`)
and the children are sampled every 0.2 s.

    with Stage("import", rows=1_000_000) as stage:
        ...
    print(stage.figures.wall, stage.figures.peak_gib)
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Figures:
    """What one stage measured."""

    name: str
    rows: int
    wall: float = 0.0
    cpu: float = 0.0
    peak_bytes: int = 0
    load: float = 0.0  # 1-minute load average at the end of the stage
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_gib(self) -> float:
        return self.peak_bytes / 2**30


def _children() -> list[int]:
    """Every descendant of this process (Spark's JVM is a child of the launcher)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident bytes) of one process; zeros when it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / TICK, int(fields[21]) * PAGE


def _self_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class Stage:
    """Context manager measuring one stage; `figures` holds the result."""

    def __init__(self, name: str, rows: int = 0) -> None:
        self.figures = Figures(name, rows)
        self._stop = threading.Event()
        self._peak = 0
        self._seen: set[int] = set()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            kids = {pid: _proc_stat(pid) for pid in _children()}
            own = _proc_stat(os.getpid())[1]
            self._peak = max(self._peak, own + sum(rss for _cpu, rss in kids.values()))
            self._seen |= set(kids)

    def __enter__(self) -> Stage:
        # reset the high-water mark; on kernels without it the sampler's figure stands
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        self._before = {pid: _proc_stat(pid)[0] for pid in _children()}
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        f = self.figures
        f.wall = time.perf_counter() - self._wall
        f.cpu = time.process_time() - self._cpu
        self._stop.set()
        self._thread.join()
        for pid in self._seen | set(self._before) | set(_children()):
            # a child born during the stage started from zero; one that exited is lost
            f.cpu += max(_proc_stat(pid)[0] - self._before.get(pid, 0.0), 0.0)
        f.peak_bytes = max(self._peak, _self_hwm())
        f.load = os.getloadavg()[0]

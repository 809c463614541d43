"""The HiGHS MIP in a background thread, taking better solutions while it runs.

HiGHS releases the GIL while it solves, so a heuristic in the calling thread runs beside
it on the other core. Each better solution the heuristic `offer`s is handed to the MIP
at its next user-solution callback (HiGHS checks it and keeps it if it improves its
incumbent, which tightens its pruning); `incumbent` is the MIP's latest improving
solution, for the heuristic to continue from; `stop` interrupts the MIP (e.g. when the
heuristic reached the bound).

>>> from dtem.optimizer.problem import AssignmentProblem
>>> p = AssignmentProblem.from_arrays(2, [1], [0, 1], [0, 0], [5.0, 3.0], workload=[1, 1])
>>> mip = MipBeside(p, time_limit=5.0)
>>> mip.offer(np.array([0.0, 1.0]))
>>> run = mip.result()
>>> run.status, run.objective
('Optimal', 5.0)
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from dtem.optimizer.highs import HighsRun, highs_run, prepared_highs
from dtem.optimizer.problem import AssignmentProblem, FloatArray


class MipBeside:
    """A running MIP (started on construction) that accepts solutions and a stop."""

    def __init__(
        self,
        problem: AssignmentProblem,
        time_limit: float,
        rel_gap: float = 1e-6,
        start: FloatArray | None = None,
    ) -> None:
        self._highs = prepared_highs(problem, True, time_limit, rel_gap, start=start)
        self._lock = threading.Lock()
        self._offered: FloatArray | None = None
        self._incumbent: FloatArray | None = None
        self._stop = threading.Event()
        self._highs.cbMipUserSolution.subscribe(self._hand_over)
        self._highs.cbMipInterrupt.subscribe(self._interrupt)
        self._highs.cbMipImprovingSolution.subscribe(self._improved)
        self._thread = threading.Thread(target=self._highs.run, name="gap-mip", daemon=True)
        self._thread.start()

    def offer(self, x: FloatArray) -> None:
        """A feasible solution (column values) for the MIP to consider."""
        with self._lock:
            self._offered = x.copy()

    def incumbent(self) -> FloatArray | None:
        """The column values of the MIP's latest improving solution, if any."""
        with self._lock:
            return self._incumbent

    def stop(self) -> None:
        self._stop.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self) -> HighsRun:
        """Wait for the MIP to end and report what it found."""
        self._thread.join()
        return highs_run(self._highs, integer=True)

    def _hand_over(self, event: Any) -> None:
        with self._lock:
            x, self._offered = self._offered, None
        if x is not None:
            event.data_in.setSolution(x)
            event.data_in.user_has_solution = True

    def _improved(self, event: Any) -> None:
        x = np.array(event.data_out.mip_solution, dtype=np.float64)
        with self._lock:
            self._incumbent = x

    def _interrupt(self, event: Any) -> None:
        if self._stop.is_set():
            event.data_in.user_interrupt = True

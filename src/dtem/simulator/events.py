"""A time-ordered queue of the simulation's own events (touches, closes)."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventQueue:
    _heap: list[tuple[float, int, str, Any]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def push(self, minutes: float, kind: str, payload: Any) -> None:
        heapq.heappush(self._heap, (minutes, next(self._seq), kind, payload))

    def pop_until(self, minutes: float) -> list[tuple[float, str, Any]]:
        """Events due before `minutes`, in time order (popped one at a time: handlers may
        push new events that fall due within the same span)."""
        out: list[tuple[float, str, Any]] = []
        while self._heap and self._heap[0][0] < minutes:
            t, _, kind, payload = heapq.heappop(self._heap)
            out.append((t, kind, payload))
        return out

    def next_before(self, minutes: float) -> tuple[float, str, Any] | None:
        if self._heap and self._heap[0][0] < minutes:
            t, _, kind, payload = heapq.heappop(self._heap)
            return t, kind, payload
        return None

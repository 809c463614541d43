"""The tracking API's committer: concurrent deliveries share one unit of work.

A request hands its delivery over and waits. While no group is running, one starts at
once with everything waiting (at most `max_events` messages, and always at least one
delivery), in a worker thread; deliveries that arrive meanwhile wait for the next group.
So a quiet server answers after one delivery's work, and a busy one commits hundreds of
deliveries a second with one policy read, one scoring pass per account and one commit a
group. One group at a time per process: SQLite has one writer anyway, and on
PostgreSQL several processes (`dtem serve` each) commit side by side.

A 200 still means committed: each request is answered after its group's commit, with its
own outcome (`services/signals/group.py`).

Example (inside an endpoint)::

    received = await committer.submit(Delivery(calls, write_key=key))
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from fastapi.concurrency import run_in_threadpool

from dtem.services.signals import Delivery, Outcome, Received

MAX_EVENTS = 2000  # a group's messages: bounds its time (and a hand-raise's wait)

Commit = Callable[[Sequence[Delivery]], list[Outcome]]


class GroupCommitter:
    """Deliveries in, one group at a time through `commit`, each answered with its outcome."""

    def __init__(self, commit: Commit, max_events: int = MAX_EVENTS) -> None:
        self.commit = commit
        self.max_events = max_events
        self.waiting: deque[tuple[Delivery, asyncio.Future[Outcome]]] = deque()
        self.running: asyncio.Task[None] | None = None

    async def submit(self, delivery: Delivery) -> Received:
        """Wait until `delivery` is committed; its `Received`, or raise what refused it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self.waiting.append((delivery, done))
        if self.running is None or self.running.done() or self.running.get_loop() is not loop:
            self.running = loop.create_task(self._drain())
        outcome = await asyncio.shield(done)  # a client gone still gets its group committed
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _drain(self) -> None:
        while self.waiting:
            group = self._next_group()
            try:
                outcomes = await run_in_threadpool(self.commit, [d for d, _ in group])
            except Exception as exc:  # every request of the group answers it
                outcomes = [exc] * len(group)
            for (_, done), outcome in zip(group, outcomes, strict=True):
                if not done.done():
                    done.set_result(outcome)

    def _next_group(self) -> list[tuple[Delivery, asyncio.Future[Outcome]]]:
        group = [self.waiting.popleft()]
        size = group[0][0].size
        while self.waiting and size + self.waiting[0][0].size <= self.max_events:
            size += self.waiting[0][0].size
            group.append(self.waiting.popleft())
        return group

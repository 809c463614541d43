"""The background worker: a list of async tasks sharing one stop event.

Today one task consumes signals from NATS JetStream; periodic jobs (the daily review)
join with `every(seconds, job)`. Each task returns when `stop` is set.

Example::

    stop = asyncio.Event()
    tasks = [SignalConsumer(container, BrokerSettings()).run, every(3600, hourly_job)]
    asyncio.run(run_tasks(tasks, stop))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg

from dtem.adapters.broker.nats import BrokerSettings, SignalInbox, deliveries
from dtem.bootstrap import Container
from dtem.domain.clock import Clock
from dtem.services import signals
from dtem.services.signals.messages import parse_message

Task = Callable[[asyncio.Event], Coroutine[Any, Any, object]]
log = logging.getLogger("dtem.worker")


async def run_tasks(tasks: list[Task], stop: asyncio.Event) -> list[object]:
    """Run every task until `stop` is set; the first failure stops the others."""
    async with asyncio.TaskGroup() as group:
        running = [group.create_task(task(stop)) for task in tasks]
    return [t.result() for t in running]


def every(seconds: float, job: Callable[[], object]) -> Task:
    """A task that runs the blocking `job` in a thread every `seconds` until stopped."""

    async def loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(job)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    return loop


def stops_all(task: Task) -> Task:
    """Wrap a task so that when it ends (idle timeout, message limit) every task stops."""

    async def run(stop: asyncio.Event) -> object:
        try:
            return await task(stop)
        finally:
            stop.set()

    return run


def daily(next_at: Callable[[], datetime], clock: Clock, job: Callable[[], object]) -> Task:
    """A task that sleeps until `next_at()` (read afresh each time), runs `job`, repeats.

    Used for the daily review at the policy's hour: a policy change moves the next run.
    """

    async def loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            wait = (next_at() - clock()).total_seconds()
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.0))
            except TimeoutError:
                await asyncio.to_thread(job)

    return loop


@dataclass
class ConsumerStats:
    """What a consumer run did."""

    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    retried: int = 0


class SignalConsumer:
    """Consume signal messages: store them, then ack; dead-letter what cannot be stored.

    `max_messages` and `idle_timeout` (seconds without a message) end a run early (tests,
    one-off drains); otherwise it runs until `stop` is set.
    """

    def __init__(
        self,
        container: Container,
        broker: BrokerSettings,
        *,
        batch: int = 100,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self.c, self.broker, self.batch = container, broker, batch
        self.max_messages, self.idle_timeout = max_messages, idle_timeout
        self.stats = ConsumerStats()

    async def run(self, stop: asyncio.Event) -> ConsumerStats:
        inbox = SignalInbox(self.broker)
        await inbox.connect()
        idle_since = time.monotonic()
        try:
            while not stop.is_set() and not self._enough():
                want = self.batch
                if self.max_messages is not None:
                    want = min(want, self.max_messages - self.stats.messages)
                msgs = await inbox.fetch(want, timeout=1.0)
                if msgs:
                    await self.handle(inbox, msgs)
                    idle_since = time.monotonic()
                elif self._idle_for(idle_since):
                    break
        finally:
            await inbox.close()
        return self.stats

    def _idle_for(self, since: float) -> bool:
        return self.idle_timeout is not None and time.monotonic() - since >= self.idle_timeout

    def _enough(self) -> bool:
        return self.max_messages is not None and self.stats.messages >= self.max_messages

    async def handle(self, inbox: SignalInbox, msgs: list[Msg]) -> None:
        """Store a fetched batch in one unit of work; on failure, retry message by message."""
        self.stats.messages += len(msgs)
        parsed: list[tuple[Msg, signals.Message]] = []
        for msg in msgs:
            try:
                parsed.append((msg, parse_message(msg.data)))
            except ValueError as exc:
                await self._dead(inbox, msg, f"unparseable: {exc}")
        if not parsed:
            return
        try:
            refused = await self._store([m for _, m in parsed])
        except Exception as exc:  # one bad message must not hold back the others
            log.warning("batch of %d failed (%s); storing one by one", len(parsed), exc)
            for msg, message in parsed:
                await self._one(inbox, msg, message)
            return
        for i, (msg, _) in enumerate(parsed):
            if i in refused:  # committed without it: it can never be stored as it is
                await self._dead(inbox, msg, f"refused: {refused[i]}")
            else:
                await msg.ack()

    async def _one(self, inbox: SignalInbox, msg: Msg, message: signals.Message) -> None:
        try:
            refused = await self._store([message])
        except Exception as exc:
            if deliveries(msg) >= self.broker.max_deliver:
                await self._dead(inbox, msg, f"failed {deliveries(msg)} times: {exc}")
            else:
                self.stats.retried += 1
                await msg.nak(delay=min(0.5 * 2.0 ** deliveries(msg), 60.0))  # back off
            return
        if refused:
            await self._dead(inbox, msg, f"refused: {refused[0]}")
        else:
            await msg.ack()

    async def _store(self, messages: list[signals.Message]) -> dict[int, str]:
        """Store in one unit of work; the reasons of the messages refused, by position."""
        got = await asyncio.to_thread(
            signals.receive_calls,
            self.c.ledger,
            self.c.clock,
            messages,
            self.c.pipeline,
            via="nats",
        )
        self.stats.stored += got.accepted
        self.stats.duplicates += len(got.result.duplicates)
        return {r.index: "; ".join(r.errors) for r in got.refused}

    async def _dead(self, inbox: SignalInbox, msg: Msg, reason: str) -> None:
        log.warning("dead letter from %s: %s", msg.subject, reason)
        self.stats.dead_letters += 1
        await inbox.dead_letter(msg, reason)

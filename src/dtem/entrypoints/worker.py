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
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg

from dtem.adapters.broker.nats import BrokerSettings, SignalInbox, deliveries
from dtem.bootstrap import Container
from dtem.domain.clock import Clock
from dtem.services import signals
from dtem.services.signals.envelope import Envelope, parse_envelope

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
    events: int = 0  # events the messages carried (stored, duplicates and refused)


class SignalConsumer:
    """Consume signal messages: store them, then ack; dead-letter what cannot be stored.

    A message carries one event or a batch of them (`dtem.services.signals.envelope`);
    the messages of one fetch are stored in one unit of work (more than `max_events`
    events: in several), while the next fetch is read. An event of a batch that is
    refused goes to the dead letters alone, the rest of its message is stored.
    `max_messages` and `idle_timeout` (seconds without a message) end a run early
    (tests, one-off drains); otherwise it runs until `stop`.
    """

    def __init__(
        self,
        container: Container,
        broker: BrokerSettings,
        *,
        batch: int = 100,
        max_events: int = 10_000,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self.c, self.broker, self.batch, self.max_events = container, broker, batch, max_events
        self.max_messages, self.idle_timeout = max_messages, idle_timeout
        self.stats = ConsumerStats()

    async def run(self, stop: asyncio.Event) -> ConsumerStats:
        inbox = SignalInbox(self.broker)
        await inbox.connect()
        idle_since = time.monotonic()
        storing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set() and not self._enough():
                msgs = await inbox.fetch(self._want(), timeout=1.0)
                if msgs:
                    groups = await self.read(inbox, msgs)
                    if storing is not None:  # one unit of work at a time, in order
                        await storing
                    storing = asyncio.create_task(self.handle_all(inbox, groups))
                    idle_since = time.monotonic()
                elif self._idle_for(idle_since):
                    break
            if storing is not None:
                await storing
        finally:
            if storing is not None and not storing.done():
                storing.cancel()
            await inbox.close()
        return self.stats

    def _want(self) -> int:
        if self.max_messages is None:
            return self.batch
        return min(self.batch, self.max_messages - self.stats.messages)

    def _idle_for(self, since: float) -> bool:
        return self.idle_timeout is not None and time.monotonic() - since >= self.idle_timeout

    def _enough(self) -> bool:
        return self.max_messages is not None and self.stats.messages >= self.max_messages

    async def read(self, inbox: SignalInbox, msgs: list[Msg]) -> list[Fetched]:
        """The messages' events, in groups of at most `max_events` (a message is never
        split); a message that is no event and no batch goes to the dead letters."""
        self.stats.messages += len(msgs)
        groups = [Fetched()]
        for msg in msgs:
            try:
                envelope = parse_envelope(msg.data)
            except ValueError as exc:
                await self._dead(inbox, msg, f"unparseable: {exc}")
                continue
            if groups[-1].msgs and len(groups[-1].events) + len(envelope.events) > self.max_events:
                groups.append(Fetched())
            groups[-1].add(msg, envelope)
            self.stats.events += len(envelope.events) + len(envelope.rejected)
        return groups

    async def handle_all(self, inbox: SignalInbox, groups: list[Fetched]) -> None:
        for fetched in groups:
            await self.handle(inbox, fetched)

    async def handle(self, inbox: SignalInbox, fetched: Fetched) -> None:
        """Store fetched events in one unit of work; on failure, retry message by message."""
        if not fetched.msgs:
            return
        try:
            refused = await self._store(fetched.events) if fetched.events else {}
        except Exception as exc:  # one bad message must not hold back the others
            log.warning("batch of %d failed (%s); storing one by one", len(fetched.msgs), exc)
            for msg, envelope in zip(fetched.msgs, fetched.envelopes, strict=True):
                await self._one(inbox, msg, envelope)
            return
        for msg, envelope, reasons in fetched.settled(refused):
            await self._settle(inbox, msg, envelope, reasons)

    async def _one(self, inbox: SignalInbox, msg: Msg, envelope: Envelope) -> None:
        try:
            refused = await self._store(envelope.events) if envelope.events else {}
        except Exception as exc:
            if deliveries(msg) >= self.broker.max_deliver:
                await self._dead(inbox, msg, f"failed {deliveries(msg)} times: {exc}")
            else:
                self.stats.retried += 1
                await msg.nak(delay=min(0.5 * 2.0 ** deliveries(msg), 60.0))  # back off
            return
        reasons = {envelope.positions[i]: reason for i, reason in refused.items()}
        await self._settle(inbox, msg, envelope, reasons)

    async def _settle(
        self, inbox: SignalInbox, msg: Msg, envelope: Envelope, reasons: dict[int, str]
    ) -> None:
        """After the commit: dead-letter what was refused (an event alone), ack the rest."""
        for r in envelope.rejected:
            reasons[r.index] = f"unparseable: {'; '.join(r.errors)}"
        if reasons and envelope.items is None:  # one event: the message is the event
            await self._dead(inbox, msg, f"refused: {reasons[0]}")
            return
        items = envelope.items or []
        for position, reason in sorted(reasons.items()):
            why = reason if reason.startswith("unparseable: ") else f"refused: {reason}"
            log.warning("dead letter from %s, event %d: %s", msg.subject, position, why)
            self.stats.dead_letters += 1
            body = json.dumps(items[position]).encode()
            await inbox.publish_dead_letter(msg, why, body, event_index=position)
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


@dataclass
class Fetched:
    """The messages of one fetch and their events, flattened for one unit of work."""

    msgs: list[Msg] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    events: list[signals.Message] = field(default_factory=list)
    owners: list[tuple[int, int]] = field(default_factory=list)  # (message, position)

    def add(self, msg: Msg, envelope: Envelope) -> None:
        m = len(self.msgs)
        self.msgs.append(msg)
        self.envelopes.append(envelope)
        self.events.extend(envelope.events)
        self.owners.extend((m, p) for p in envelope.positions)

    def settled(self, refused: dict[int, str]) -> list[tuple[Msg, Envelope, dict[int, str]]]:
        """Each message with its refused events' reasons, by position in the message."""
        reasons: list[dict[int, str]] = [{} for _ in self.msgs]
        for i, reason in refused.items():
            m, position = self.owners[i]
            reasons[m][position] = reason
        return list(zip(self.msgs, self.envelopes, reasons, strict=True))

"""NATS JetStream: a durable pull consumer of signal messages, and their dead letters.

The stream (default `DTEM_SIGNALS` on `dtem.signals.>`) is created when missing; so is a
stream holding the dead-letter subject, so a dead letter is kept, not just published.
Each message is acked by the caller only after its signal is committed; one that
cannot be processed is redelivered at most `max_deliver` times.

Example::

    inbox = SignalInbox(BrokerSettings(url="nats://127.0.0.1:4222"))
    await inbox.connect()
    for msg in await inbox.fetch(100, timeout=1.0): ...
"""

from __future__ import annotations

from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from dtem.adapters.broker.settings import BrokerSettings

__all__ = [
    "INDEX_HEADER",
    "REASON_HEADER",
    "BrokerSettings",
    "SignalInbox",
    "deliveries",
    "ensure_stream",
]

REASON_HEADER = "Dtem-Dlq-Reason"
INDEX_HEADER = "Dtem-Dlq-Event-Index"  # position of a dead event in its message's batch


class SignalInbox:
    """The durable consumer of one stream, plus its dead-letter publisher."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def connect(self) -> None:
        s = self.settings
        self._nc = await nats.connect(s.url, connect_timeout=5, max_reconnect_attempts=-1)
        self._js = self._nc.jetstream()
        await ensure_stream(self._js, s.stream, s.subject)
        await ensure_stream(self._js, s.dlq_stream, s.dlq_subject)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, max_deliver=s.max_deliver, ack_wait=s.ack_wait_s
        )
        self._sub = await self._js.pull_subscribe(
            s.subject, durable=s.durable, stream=s.stream, config=config
        )

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to `batch` messages; an empty list when none came within `timeout` seconds."""
        assert self._sub is not None, "connect() first"
        try:
            return list(await self._sub.fetch(batch, timeout=timeout))
        except TimeoutError:  # nats raises its own subclass or asyncio's, by path
            return []

    async def dead_letter(self, msg: Msg, reason: str) -> None:
        """Keep the original payload on the dead-letter subject with the reason, then ack."""
        await self.publish_dead_letter(msg, reason, msg.data)
        await msg.ack()

    async def publish_dead_letter(
        self, msg: Msg, reason: str, body: bytes, event_index: int | None = None
    ) -> None:
        """Keep `body` (the message, or one event of its batch) as a dead letter of `msg`.

        The caller acks `msg` (once the rest of its batch is committed).
        """
        assert self._js is not None, "connect() first"
        headers = {
            REASON_HEADER: " ".join(reason.split())[:1000],  # one header line
            "Dtem-Dlq-Subject": msg.subject,
            "Dtem-Dlq-Deliveries": str(deliveries(msg)),
        }
        if event_index is not None:
            headers[INDEX_HEADER] = str(event_index)
        await self._js.publish(self.settings.dlq_subject, body, headers=headers)

    async def close(self) -> None:
        if self._nc is not None:
            # every fetched message is acked or nak'd by now; drain() would wait up to
            # 30 s for the server to expire the last pull request
            await self._nc.close()
            self._nc = None


async def ensure_stream(js: JetStreamContext, name: str, subject: str) -> None:
    """Create the stream on `subject` unless it exists."""
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(name=name, subjects=[subject])


def deliveries(msg: Msg) -> int:
    """How many times JetStream has delivered this message (1 the first time)."""
    meta: Any = msg.metadata
    return int(meta.num_delivered)

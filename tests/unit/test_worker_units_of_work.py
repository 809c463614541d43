"""The worker groups a fetch's events into units of work of at most `max_events`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, cast

from dtem.adapters.broker.nats import BrokerSettings, SignalInbox
from dtem.bootstrap import Container
from dtem.entrypoints.worker import SignalConsumer

ROW = {"domain": "acme.com", "type": "hiring", "occurred_at": "2027-01-04T09:00:00Z"}


@dataclass
class FetchedMessage:
    data: bytes


def test_a_fetch_is_split_into_units_of_work_of_at_most_max_events_never_inside_a_message() -> None:
    consumer = SignalConsumer(cast(Container, None), BrokerSettings(), max_events=3)
    bodies: list[Any] = [[ROW] * 2, [ROW] * 2, ROW, [ROW] * 5]
    msgs = [FetchedMessage(json.dumps(b).encode()) for b in bodies]
    groups = asyncio.run(consumer.read(cast(SignalInbox, None), cast(Any, msgs)))
    assert [len(g.events) for g in groups] == [2, 3, 5]
    assert [[m.data for m in g.msgs] for g in groups] == [
        [msgs[0].data],
        [msgs[1].data, msgs[2].data],
        [msgs[3].data],
    ]
    assert (consumer.stats.messages, consumer.stats.events) == (4, 10)

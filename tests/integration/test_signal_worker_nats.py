"""`dtem worker` against the real NATS JetStream: store then ack, dedupe, dead letters.

Each test uses its own stream, subjects and durable name, so parallel runs don't collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import nats
import pytest

from dtem.adapters.broker.nats import INDEX_HEADER, REASON_HEADER, BrokerSettings
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.ports import LedgerTx
from dtem.entrypoints.worker import SignalConsumer, run_tasks
from dtem.services import governance
from dtem.services.governance import ActivePolicy
from dtem.services.scoring import Scored
from dtem.services.signals import reports
from dtem.services.signals.ingest import Committed
from dtem.services.signals.stages import score_committed

NATS_URL = os.environ.get("DTEM_TEST_NATS_URL")
pytestmark = [
    pytest.mark.nats,
    pytest.mark.skipif(not NATS_URL, reason="DTEM_TEST_NATS_URL not set"),
]


@pytest.fixture
def broker() -> Iterator[BrokerSettings]:
    tag = uuid.uuid4().hex[:10]
    settings = BrokerSettings(
        url=NATS_URL or "",
        stream=f"T_{tag}",
        subject=f"t{tag}.signals.>",
        durable=f"w{tag}",
        dlq_subject=f"t{tag}.dlq",
        max_deliver=2,
    )
    yield settings
    asyncio.run(_drop_streams(settings))


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    c = build(Settings(), f"sqlite:///{tmp_path}/worker.db")
    governance.ensure_policy(c.ledger, c.clock)
    yield c
    c.engine.dispose()


async def _drop_streams(s: BrokerSettings) -> None:
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    for name in (s.stream, s.dlq_stream):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
    await nc.close()


async def _publish(s: BrokerSettings, payloads: Sequence[bytes]) -> None:
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    for p in payloads:
        await js.publish(s.subject.replace(">", "web"), p)
    await nc.close()


def _run(consumer: SignalConsumer, s: BrokerSettings, payloads: Sequence[bytes]) -> None:
    async def go() -> None:
        # the consumer creates the stream; publish once it is there
        task = asyncio.create_task(run_tasks([consumer.run], asyncio.Event()))
        await asyncio.sleep(1.0)
        await _publish(s, payloads)
        await task

    asyncio.run(go())


async def _dead_letters(s: BrokerSettings) -> list[tuple[bytes, dict[str, str]]]:
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(s.dlq_subject, durable="reader", stream=s.dlq_stream)
    try:
        msgs = await sub.fetch(10, timeout=2)
    except TimeoutError:
        msgs = []
    await nc.close()
    return [(m.data, dict(m.headers or {})) for m in msgs]


def _track(message_id: str, **kw: Any) -> bytes:
    body = {"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": message_id}
    return json.dumps(body | kw).encode()


def test_worker_stores_segment_calls_and_signal_rows_once(
    container: Container, broker: BrokerSettings
) -> None:
    row = {"domain": "acme.com", "type": "hiring", "occurred_at": "2027-01-04T09:00:00Z"}
    payloads = [_track("m1"), _track("m1"), json.dumps(row).encode(), json.dumps(row).encode()]
    consumer = SignalConsumer(container, broker, max_messages=4, idle_timeout=20)
    _run(consumer, broker, payloads)
    assert (consumer.stats.stored, consumer.stats.duplicates) == (2, 2)
    stats = reports.signal_stats(container.ledger)
    assert stats.by_type == {"hand_raise": 1, "hiring": 1}
    assert _dead_letters_of(broker) == []


def test_unparseable_message_goes_to_dead_letters_with_reason(
    container: Container, broker: BrokerSettings
) -> None:
    payloads = [b"{not json", json.dumps({"type": "track", "event": "x"}).encode(), _track("ok")]
    consumer = SignalConsumer(container, broker, max_messages=3, idle_timeout=20)
    _run(consumer, broker, payloads)
    dead = _dead_letters_of(broker)
    assert [body for body, _ in dead] == payloads[:2]
    assert "not JSON" in dead[0][1][REASON_HEADER]
    assert "userId or anonymousId is required" in dead[1][1][REASON_HEADER]
    assert consumer.stats.stored == 1
    # acked: a second run on the same durable consumer finds nothing left
    again = SignalConsumer(container, broker, idle_timeout=2)
    asyncio.run(run_tasks([again.run], asyncio.Event()))
    assert again.stats.messages == 0


def test_message_failing_every_delivery_is_dead_lettered_after_max_deliver(
    container: Container, broker: BrokerSettings
) -> None:
    def fail_on_poison(tx: LedgerTx, batch: Committed, active: ActivePolicy) -> Scored:
        if any(r.event_id == "poison" for r in batch.stored):
            raise RuntimeError("scoring exploded")
        return score_committed(tx, batch, active)

    poisoned = replace(container, pipeline=replace(container.pipeline, score=fail_on_poison))
    consumer = SignalConsumer(poisoned, broker, idle_timeout=4)
    _run(consumer, broker, [_track("poison"), _track("fine")])
    dead = _dead_letters_of(broker)
    assert [json.loads(body)["messageId"] for body, _ in dead] == ["poison"]
    assert "failed 2 times: scoring exploded" in dead[0][1][REASON_HEADER]
    assert reports.signal_stats(container.ledger).total == 1  # "fine" only


def _dead_letters_of(s: BrokerSettings) -> list[tuple[bytes, dict[str, str]]]:
    return asyncio.run(_dead_letters(s))


def test_a_value_over_its_cap_is_dead_lettered_and_the_rest_of_the_batch_stored(
    container: Container, broker: BrokerSettings
) -> None:
    payloads = [_track("huge", properties={"value": 1e308}), _track("fine")]
    consumer = SignalConsumer(container, broker, max_messages=2, idle_timeout=20)
    _run(consumer, broker, payloads)
    dead = _dead_letters_of(broker)
    assert [json.loads(body)["messageId"] for body, _ in dead] == ["huge"]
    assert "refused: properties.value: 1e+308 is above 1e+06" in dead[0][1][REASON_HEADER]
    assert (consumer.stats.stored, reports.signal_stats(container.ledger).total) == (1, 1)


def test_a_batched_message_stores_its_events_and_dead_letters_only_the_bad_ones(
    container: Container, broker: BrokerSettings
) -> None:
    row = {"domain": "acme.com", "type": "hiring", "occurred_at": "2027-01-04T09:00:00Z"}
    huge = {**json.loads(_track("huge")), "properties": {"value": 1e308}}
    items = [json.loads(_track("a")), {"type": "track", "event": "x"}, row, huge]
    segment = {"batch": [json.loads(_track("b")), json.loads(_track("a"))]}
    payloads = [json.dumps(items).encode(), json.dumps(segment).encode()]
    consumer = SignalConsumer(container, broker, max_messages=2, idle_timeout=20)
    _run(consumer, broker, payloads)
    assert (consumer.stats.events, consumer.stats.stored, consumer.stats.duplicates) == (6, 3, 1)
    dead = _dead_letters_of(broker)
    assert [(json.loads(body), h[INDEX_HEADER]) for body, h in dead] == [
        (items[1], "1"),
        (huge, "3"),
    ]
    assert "unparseable: userId or anonymousId is required" in dead[0][1][REASON_HEADER]
    assert "refused: properties.value: 1e+308 is above" in dead[1][1][REASON_HEADER]
    assert reports.signal_stats(container.ledger).total == 3
    again = SignalConsumer(container, broker, idle_timeout=2)  # both messages were acked
    asyncio.run(run_tasks([again.run], asyncio.Event()))
    assert again.stats.messages == 0


def test_a_batch_of_only_bad_events_dead_letters_each_and_acks_its_message(
    container: Container, broker: BrokerSettings
) -> None:
    items = [{"type": "track", "event": "x"}, {"domain": "acme.com"}]
    consumer = SignalConsumer(container, broker, max_messages=1, idle_timeout=20)
    _run(consumer, broker, [json.dumps(items).encode()])
    dead = _dead_letters_of(broker)
    assert [(json.loads(body), h[INDEX_HEADER]) for body, h in dead] == [
        (items[0], "0"),
        (items[1], "1"),
    ]
    assert (consumer.stats.stored, consumer.stats.dead_letters) == (0, 2)
    again = SignalConsumer(container, broker, idle_timeout=2)
    asyncio.run(run_tasks([again.run], asyncio.Event()))
    assert again.stats.messages == 0
